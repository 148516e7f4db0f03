// Booking a time to be called at: the slot picker (times in the visitor's zone, grouped by day, the
// business's zone named), the booking and its cancellation, the server's refusals, and "Call me later"
// while the line is open. The browsers run in Europe/Paris; the stub's business is in New York, and its
// times straddle the night the US leaves daylight-saving time (see SLOTS in beckon-stub.mjs).
import { expect } from '@esm-bundle/chai';
import { sendKeys } from '@web/test-runner-commands';
import '../src/call-us-button.js';
import type { CallUsButton } from '../src/call-us-button.js';
import {
  ENDPOINT,
  cleanup,
  clearRequests,
  fixture,
  loggedRequest,
  nextEvent,
  nodeName,
  open,
  part,
  requests,
  statusText,
  submit,
  waitFor,
} from './helpers.js';

/** Thursday 26 November 2026, 14:00 UTC. */
const THURSDAY = Date.UTC(2026, 10, 26, 14);
const CLOSED_BOOKABLE = `book-hours:closed:${THURSDAY}:America/New_York`;

const slotPicker = (host: CallUsButton): HTMLSelectElement | null | undefined => host.shadowRoot?.querySelector('[part~="slot"]');
const has = (host: CallUsButton, name: string): boolean => !!host.shadowRoot?.querySelector(`[part~="${name}"]`);
const description = (host: CallUsButton): string | undefined => host.shadowRoot?.getElementById('description')?.textContent ?? undefined;

/** Closes the dialog, as Close does, once the dialog has said so (its `close` event comes a task later). */
async function close(host: CallUsButton): Promise<void> {
  const closed = nextEvent(host, 'call-us-close');
  host.hide();
  await closed;
}
const focused = (host: CallUsButton): string => nodeName(host.shadowRoot?.activeElement);

/** A button for an id that takes bookings, once its times are there to pick. */
async function bookable(id = CLOSED_BOOKABLE): Promise<CallUsButton> {
  const host = await fixture({ endpoint: ENDPOINT, 'config-id': id });
  await waitFor(() => !!slotPicker(host), 'the times to book');
  return host;
}

/** Picks the `index`th time, as a visitor does, and books it for `phone`. */
async function book(host: CallUsButton, index: number, phone: string): Promise<void> {
  const picker = slotPicker(host);
  if (!picker) throw new Error('no slot picker');
  picker.selectedIndex = index;
  picker.dispatchEvent(new Event('change', { bubbles: true }));
  await submit(host, phone);
}

describe('booking a time', () => {
  beforeEach(clearRequests);
  afterEach(cleanup);

  it("lists the times by day in the visitor's zone with the business's named, right across a daylight-saving switch", async () => {
    const host = await bookable();
    await open(host);
    const picker = slotPicker(host);
    const groups = [...(picker?.querySelectorAll('optgroup') ?? [])].map((group) => ({
      day: group.label,
      times: [...group.querySelectorAll('option')].map((option) => [option.value, option.textContent?.trim()]),
    }));
    expect(groups).to.deep.equal([
      {
        day: 'Saturday, October 31',
        times: [
          ['2026-10-31T13:00:00Z', '2:00 PM your time (Saturday, 9:00 AM Eastern Time)'],
          ['2026-10-31T13:15:00Z', '2:15 PM your time (Saturday, 9:15 AM Eastern Time)'],
        ],
      },
      {
        // 1:00 AM twice in New York, an hour apart: daylight time, then standard time.
        day: 'Sunday, November 1',
        times: [
          ['2026-11-01T05:00:00Z', '6:00 AM your time (Sunday, 1:00 AM Eastern Time)'],
          ['2026-11-01T06:00:00Z', '7:00 AM your time (Sunday, 1:00 AM Eastern Time)'],
        ],
      },
      { day: 'Monday, November 2', times: [['2026-11-02T14:00:00Z', '3:00 PM your time (Monday, 9:00 AM Eastern Time)']] },
    ]);
    // Labelled, after the closed line's message; the number field first takes focus, as in a call now.
    expect(host.shadowRoot?.querySelector('label[for="slot"]')?.textContent).to.equal('When should we call?');
    expect(picker?.id).to.equal('slot');
    expect(statusText(host)).to.match(/^We're closed right now\. We open again on Thursday, November 26/);
    expect(focused(host)).to.equal('input[part=input]');
    expect(description(host)).to.equal(undefined);
  });

  it('in Spanish, days and times in Spanish', async () => {
    const host = await fixture({ endpoint: ENDPOINT, 'config-id': CLOSED_BOOKABLE, lang: 'es' });
    await waitFor(() => !!slotPicker(host), 'the times to book');
    expect(slotPicker(host)?.querySelector('optgroup')?.label).to.equal('sábado, 31 de octubre');
    expect(slotPicker(host)?.querySelector('option')?.textContent?.trim()).to.equal('14:00, su hora local (sábado, 9:00 hora oriental)');
  });

  it('books the picked time, shows it with a Cancel button, and cancels it in words', async () => {
    const host = await bookable();
    await open(host);
    const scheduled = nextEvent(host, 'call-us-scheduled');
    await book(host, 1, '813 555 1234');
    const { detail } = await scheduled;
    expect(detail).to.deep.include({ phoneNumber: '813 555 1234', scheduledAt: '2026-10-31T13:15:00Z' });
    expect(detail.callbackId).to.match(/^cb-\d+$/);
    const posted = await loggedRequest((request) => request.method === 'POST');
    expect(JSON.parse(posted.body)).to.deep.equal({
      id: CLOSED_BOOKABLE,
      phone_number: '813 555 1234',
      scheduled_at: '2026-10-31T13:15:00Z',
    });
    await host.updateComplete;
    expect(statusText(host)).to.equal(
      "Booked: we'll call you on Saturday, October 31 at 2:15 PM your time (Saturday, 9:15 AM Eastern Time).",
    );
    for (const gone of ['input', 'submit', 'slot']) expect(has(host, gone), gone).to.equal(false);
    expect(part(host, 'cancel-booking').textContent?.trim()).to.equal('Cancel the call');
    await waitFor(() => focused(host) === 'button[part=cancel]', 'focus on Close');
    expect(part(host, 'cancel').textContent?.trim()).to.equal('Close');

    // The booking outlives the dialog (in memory only: nothing of it in the page's storage).
    await close(host);
    await open(host);
    expect(statusText(host)).to.match(/^Booked: /);
    expect(JSON.stringify({ ...localStorage, ...sessionStorage })).not.to.include(detail.callbackId);

    const cancelled = nextEvent(host, 'call-us-cancelled');
    part(host, 'cancel-booking').click();
    expect((await cancelled).detail).to.deep.equal({ callbackId: detail.callbackId });
    const deleted = await loggedRequest((request) => request.method === 'DELETE');
    expect(deleted.path).to.equal(`/click-to-call/${detail.callbackId}`);
    expect(deleted.query).to.equal(`token=ct-${detail.callbackId}`);
    await host.updateComplete;
    expect(statusText(host)).to.equal('Your call is cancelled.');
    expect(has(host, 'cancel-booking')).to.equal(false);
    await waitFor(() => focused(host) === 'button[part=cancel]', 'focus on Close');

    // Once closed, the dialog offers times again.
    await close(host);
    await open(host);
    await waitFor(() => !!slotPicker(host), 'the times to book');
    expect(has(host, 'input')).to.equal(true);
  });

  it('shows the server refusing the time (400 invalid_schedule) and fetches the times afresh', async () => {
    const host = await bookable();
    await open(host);
    await clearRequests();
    const failed = nextEvent(host, 'call-us-error');
    await book(host, 0, '813 555 7777');
    expect((await failed).detail).to.deep.equal({
      message: 'That time is taken. Please pick another.',
      status: 400,
      code: 'invalid_schedule',
    });
    await host.updateComplete;
    expect(statusText(host)).to.equal('That time is taken. Please pick another.');
    await loggedRequest((request) => request.path === '/click-to-call/slots');
    expect(has(host, 'slot')).to.equal(true);
    expect(has(host, 'cancel-booking')).to.equal(false);
  });

  it('the last time taken on a closed line: the form goes and focus moves to Close', async () => {
    const id = `book-last-${Math.random().toString(36).slice(2)}-hours:closed:${THURSDAY}:America/New_York`;
    const host = await bookable(id);
    await open(host);
    await book(host, 0, '813 555 7777');
    await waitFor(() => !slotPicker(host), 'the times to go');
    await waitFor(() => focused(host) === 'button[part=cancel]', 'focus on Close');
    expect(has(host, 'input')).to.equal(false);
    expect(statusText(host)).to.equal('That time is taken. Please pick another.');
  });

  it('shows a second booking for the number refused (409 already_booked)', async () => {
    const host = await bookable();
    await open(host);
    const failed = nextEvent(host, 'call-us-error');
    await book(host, 0, '813 555 9999');
    expect((await failed).detail).to.deep.equal({ message: 'You already have a call booked.', status: 409, code: 'already_booked' });
    await host.updateComplete;
    expect(statusText(host)).to.equal('You already have a call booked.');
  });

  it('says so when the booking can no longer be cancelled (409 not_pending)', async () => {
    const host = await bookable();
    await open(host);
    const scheduled = nextEvent(host, 'call-us-scheduled');
    await book(host, 0, '813 555 8888');
    await scheduled;
    await host.updateComplete;
    const failed = nextEvent(host, 'call-us-error');
    part(host, 'cancel-booking').click();
    expect((await failed).detail).to.deep.equal({ message: 'This call can no longer be cancelled.', status: 409, code: 'not_pending' });
    await host.updateComplete;
    expect(statusText(host)).to.equal('This call can no longer be cancelled.');
  });

  it('"Call me later" while the line is open: the picker replaces the call now and takes focus', async () => {
    const host = await fixture({ endpoint: ENDPOINT, 'config-id': 'book' });
    await waitFor(() => has(host, 'later'), 'the "Call me later" button');
    await open(host);
    expect(has(host, 'slot')).to.equal(false);
    expect(description(host)).to.equal("Enter your phone number and we'll call you right away.");
    const later = part(host, 'later');
    expect(later.textContent?.trim()).to.equal('Call me later');
    later.click();
    await waitFor(() => has(host, 'slot'), 'the times to book');
    await waitFor(() => focused(host) === 'select[part=slot]', 'focus on the picker');
    expect(has(host, 'later')).to.equal(false);
    expect(description(host)).to.equal(undefined);
    expect(statusText(host)).to.equal('');

    const scheduled = nextEvent(host, 'call-us-scheduled');
    await book(host, 4, '813 555 1234');
    expect((await scheduled).detail.scheduledAt).to.equal('2026-11-02T14:00:00Z');

    // Closing the booked dialog and cancelling later still works; a new visit to an open line offers the call now.
    await close(host);
    await open(host);
    expect(statusText(host)).to.equal("Booked: we'll call you on Monday, November 2 at 3:00 PM your time (Monday, 9:00 AM Eastern Time).");
  });

  it('"Call me later" with no time to book says so and keeps the call now', async () => {
    const host = await fixture({ endpoint: ENDPOINT, 'config-id': 'book-none' });
    await waitFor(() => has(host, 'later'), 'the "Call me later" button');
    await open(host);
    const failed = nextEvent(host, 'call-us-error');
    part(host, 'later').click();
    expect((await failed).detail.message).to.equal('No time is free to book.');
    await host.updateComplete;
    expect(statusText(host)).to.equal('No time is free to book.');
    expect(has(host, 'input')).to.equal(true);
    expect(has(host, 'slot')).to.equal(false);
  });

  it('offers no booking for an id that takes none', async () => {
    const host = await fixture({ endpoint: ENDPOINT, 'config-id': 'plain' });
    await open(host);
    await loggedRequest((request) => request.path === '/widget-config');
    await host.updateComplete;
    expect(has(host, 'later')).to.equal(false);
    expect((await requests()).filter((request) => request.path === '/click-to-call/slots')).to.deep.equal([]);
  });

  it('keyboard only: Tab to "Call me later", Enter, arrows pick a time, Tab to the field, type, Enter books', async () => {
    (document.activeElement as HTMLElement | null)?.blur();
    const host = await fixture({ endpoint: ENDPOINT, 'config-id': 'book' });
    await waitFor(() => has(host, 'later'), 'the "Call me later" button');
    await sendKeys({ press: 'Tab' });
    await sendKeys({ press: 'Enter' });
    await waitFor(() => part<HTMLDialogElement>(host, 'dialog').open, 'the dialog to open');
    expect(focused(host)).to.equal('input[part=input]');
    await sendKeys({ press: 'Tab' });
    await sendKeys({ press: 'Tab' });
    expect(focused(host)).to.equal('button[part=later]');
    await sendKeys({ press: 'Enter' });
    await waitFor(() => focused(host) === 'select[part=slot]', 'focus on the picker');
    await sendKeys({ press: 'ArrowDown' });
    await waitFor(() => slotPicker(host)?.value === '2026-10-31T13:15:00Z', 'the second time picked');
    await sendKeys({ press: 'Tab' });
    expect(focused(host)).to.equal('input[part=input]');
    await sendKeys({ type: '813 555 1234' });
    const scheduled = nextEvent(host, 'call-us-scheduled');
    await sendKeys({ press: 'Enter' });
    expect((await scheduled).detail.scheduledAt).to.equal('2026-10-31T13:15:00Z');
  });
});
