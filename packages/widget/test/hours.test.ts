// Opening hours: what the button and its dialog say while the id's line is closed, from GET
// /widget-config and from a 409 `closed`. The browsers run in Europe/Paris (web-test-runner.config.mjs):
// the visitor's zone, which the businesses here are not in unless a test says so.
import { expect } from '@esm-bundle/chai';
import '../src/call-us-button.js';
import type { CallUsButton } from '../src/call-us-button.js';
import {
  ENDPOINT,
  cleanup,
  clearRequests,
  nextEvent,
  track,
  nodeName,
  open,
  part,
  requests,
  statusText,
  submit,
  waitFor,
} from './helpers.js';

/** Thursday 26 November 2026, 14:00 UTC: 09:00 in New York, 15:00 in Paris. */
const THURSDAY = Date.UTC(2026, 10, 26, 14);
const hoursId = (state: string, at: number, zone: string): string => `hours:${state}:${at}:${zone}`;

const noteOf = (host: CallUsButton): string | undefined => host.shadowRoot?.querySelector('[part~="closed-note"]')?.textContent?.trim();

/** A button for `id`, once its config has been applied (the `call-us-hours` it fires). */
async function closedFixture(id: string, attributes: Record<string, string> = {}): Promise<{ host: CallUsButton; detail: unknown }> {
  const host = document.createElement('call-us-button');
  const heard = nextEvent(host, 'call-us-hours');
  for (const [name, value] of Object.entries({ endpoint: ENDPOINT, 'config-id': id, ...attributes })) host.setAttribute(name, value);
  document.body.append(track(host));
  const event = await heard;
  await host.updateComplete;
  return { host, detail: event.detail };
}

describe('opening hours', () => {
  beforeEach(clearRequests);
  afterEach(cleanup);

  it("a closed line: the button says so, the dialog says when it opens in the visitor's time and the business's, and takes no number", async () => {
    const { host, detail } = await closedFixture(hoursId('closed', THURSDAY, 'America/New_York'));
    expect(detail).to.deep.equal({ open: false, nextOpen: '2026-11-26T14:00:00.000Z', timeZone: 'America/New_York' });
    expect(noteOf(host)).to.equal('Closed now');
    expect(part(host, 'button').textContent?.replace(/\s+/g, ' ').trim()).to.equal('Call us Closed now');
    const dialog = await open(host);
    expect(statusText(host)).to.equal(
      "We're closed right now. We open again on Thursday, November 26 at 3:00 PM your time (Thursday, 9:00 AM Eastern Time).",
    );
    // Read when the dialog opens: the status is what describes it.
    expect(dialog.getAttribute('aria-describedby')).to.equal('status');
    expect(host.shadowRoot?.getElementById('status')).to.equal(part(host, 'status'));
    for (const gone of ['input', 'submit', 'country']) expect(host.shadowRoot?.querySelector(`[part~="${gone}"]`), gone).to.equal(null);
    expect(part(host, 'cancel').textContent?.trim()).to.equal('Close');
    expect(nodeName(host.shadowRoot?.activeElement)).to.equal('button[part=cancel]');
    expect((await requests()).filter((request) => request.method === 'POST')).to.deep.equal([]);
  });

  it("names no zone when the business is in the visitor's", async () => {
    const { host } = await closedFixture(hoursId('closed', THURSDAY, 'Europe/Paris'));
    await open(host);
    expect(statusText(host)).to.equal("We're closed right now. We open again on Thursday, November 26 at 3:00 PM.");
  });

  it('names no zone when another zone shows the same time (Europe/Madrid for a visitor in Paris)', async () => {
    const { host } = await closedFixture(hoursId('closed', THURSDAY, 'Europe/Madrid'));
    await open(host);
    expect(statusText(host)).to.equal("We're closed right now. We open again on Thursday, November 26 at 3:00 PM.");
  });

  it("names the business's day too when it is another day there (Friday 01:00 in Paris is Thursday evening in Los Angeles)", async () => {
    const { host } = await closedFixture(hoursId('closed', Date.UTC(2026, 10, 27, 0), 'America/Los_Angeles'));
    await open(host);
    expect(statusText(host)).to.equal(
      "We're closed right now. We open again on Friday, November 27 at 1:00 AM your time (Thursday, 4:00 PM Pacific Time).",
    );
  });

  it('names a zone without a generic name by its specific one (UTC: not "GMT+00:00")', async () => {
    const { host } = await closedFixture(hoursId('closed', THURSDAY, 'UTC'));
    await open(host);
    expect(statusText(host)).to.equal(
      "We're closed right now. We open again on Thursday, November 26 at 3:00 PM your time (Thursday, 2:00 PM Coordinated Universal Time).",
    );
  });

  it('says to try later when the server gives no opening time', async () => {
    const { host, detail } = await closedFixture(hoursId('closed-long', THURSDAY, 'America/New_York'));
    expect(detail).to.deep.equal({ open: false, nextOpen: null, timeZone: 'America/New_York' });
    await open(host);
    expect(statusText(host)).to.equal("We're closed right now. Please try again later.");
  });

  it('speaks Spanish and French, dates included', async () => {
    const { host: es } = await closedFixture(hoursId('closed', THURSDAY, 'America/New_York'), { lang: 'es' });
    expect(noteOf(es)).to.equal('Cerrado ahora');
    await open(es);
    expect(statusText(es)).to.match(
      /^En este momento estamos cerrados\. Volvemos a abrir el jueves, 26 de noviembre, 15:00, su hora local \(jueves, 9:00 .+\)\.$/,
    );
    cleanup();
    const { host: fr } = await closedFixture(hoursId('closed', THURSDAY, 'America/New_York'), { lang: 'fr-CA' });
    expect(noteOf(fr)).to.equal('Fermé pour le moment');
    await open(fr);
    // fr-CA writes hours as "15 h 00"; zone names vary with the browser's CLDR version.
    expect(statusText(fr)).to.match(
      /^Nous sommes fermés pour le moment\. Nous rouvrons le jeudi 26 novembre à 15 h 00, heure locale \(jeudi 09 h 00 heure .+\)\.$/,
    );
  });

  it('an open line with hours shows the form, and says so in call-us-hours', async () => {
    const { host, detail } = await closedFixture(hoursId('late', THURSDAY, 'America/New_York'));
    expect(detail).to.deep.equal({ open: true, nextOpen: null, timeZone: 'America/New_York' });
    expect(noteOf(host)).to.equal(undefined);
    await open(host);
    expect(nodeName(host.shadowRoot?.activeElement)).to.equal('input[part=input]');
  });

  it('a request that finds the line closed (409 closed) turns the dialog to its closed state, announced, with focus on Close', async () => {
    const { host } = await closedFixture(hoursId('late', THURSDAY, 'America/New_York'));
    await open(host);
    const error = nextEvent(host, 'call-us-error');
    const hours = nextEvent(host, 'call-us-hours');
    await submit(host, '813 555 1234');
    const expected =
      "We're closed right now. We open again on Thursday, November 26 at 3:00 PM your time (Thursday, 9:00 AM Eastern Time).";
    expect((await error).detail).to.deep.equal({ message: expected, status: 409, code: 'closed' });
    expect((await hours).detail).to.deep.equal({ open: false, nextOpen: '2026-11-26T14:00:00.000Z', timeZone: 'America/New_York' });
    await host.updateComplete;
    const status = part(host, 'status');
    expect(status.getAttribute('role')).to.equal('status');
    expect(statusText(host)).to.equal(expected);
    expect(host.shadowRoot?.querySelector('[part~="input"]')).to.equal(null);
    await waitFor(() => nodeName(host.shadowRoot?.activeElement) === 'button[part=cancel]', 'focus on Close');
    expect(noteOf(host)).to.equal('Closed now');
  });

  it('asks again when the line is due to open, and shows the form from then on', async () => {
    const opens = Date.now() + 1_200;
    const { host } = await closedFixture(hoursId('opens', opens, 'America/New_York'));
    expect(noteOf(host)).to.equal('Closed now');
    const reopened = await nextEvent(host, 'call-us-hours');
    expect(reopened.detail).to.deep.equal({ open: true, nextOpen: null, timeZone: 'America/New_York' });
    expect(Date.now()).to.be.at.least(opens);
    await host.updateComplete;
    expect(noteOf(host)).to.equal(undefined);
    expect((await requests()).filter((request) => request.path === '/widget-config')).to.have.length(2);
    await open(host);
    expect(nodeName(host.shadowRoot?.activeElement)).to.equal('input[part=input]');
  });

  it("believes the server over a visitor's clock running ahead: closed until it says open, asking every 2 s at most", async () => {
    // Closed "until a minute ago" by the visitor's clock: the server still says closed.
    const { host } = await closedFixture(hoursId('closed', Date.now() - 60_000, 'America/New_York'));
    const first = performance.now();
    expect(noteOf(host)).to.equal('Closed now');
    await open(host);
    expect(statusText(host)).to.match(/^We're closed right now\. We open again on /);
    expect(host.shadowRoot?.querySelector('[part~="input"]')).to.equal(null);
    await nextEvent(host, 'call-us-hours');
    expect(performance.now() - first).to.be.at.least(1_900);
    expect(noteOf(host)).to.equal('Closed now');
  });

  it('stops waiting for the opening once removed', async () => {
    const { host } = await closedFixture(hoursId('opens', Date.now() + 300, 'America/New_York'));
    host.remove();
    // It would have asked again 2 s after its first answer.
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    expect((await requests()).filter((request) => request.path === '/widget-config')).to.have.length(1);
  });
});
