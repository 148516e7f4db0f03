import { expect } from '@esm-bundle/chai';
import { sendKeys } from '@web/test-runner-commands';
import type { CallUsButton } from '../src/call-us-button.js';
import '../src/call-us-button.js';
import { ENDPOINT, cleanup, clearRequests, fixture, nextEvent, nodeName, part, statusText, waitFor } from './helpers.js';

/** The element focused inside `host`'s shadow root, if focus is in there at all. */
const focused = (host: CallUsButton): string => nodeName(document.activeElement === host ? host.shadowRoot?.activeElement : null);

describe('keyboard only', () => {
  beforeEach(async () => {
    await clearRequests();
    // Start from the top of the page so the first Tab lands on the element's button.
    (document.activeElement as HTMLElement | null)?.blur();
  });
  afterEach(cleanup);

  it('Tab, Enter, type, Enter, Escape: the whole flow, with focus where it belongs', async () => {
    const element = await fixture({ endpoint: ENDPOINT, 'config-id': 'plain' });
    const button = part<HTMLButtonElement>(element, 'button');
    const dialog = part<HTMLDialogElement>(element, 'dialog');
    const input = part<HTMLInputElement>(element, 'input');

    await sendKeys({ press: 'Tab' });
    expect(focused(element)).to.equal('button[part=button]');
    const ring = getComputedStyle(button);
    expect(button.matches(':focus-visible')).to.equal(true);
    expect(ring.outlineStyle).to.equal('solid');
    expect(parseFloat(ring.outlineWidth)).to.be.at.least(2);

    const opened = nextEvent(element, 'call-us-open');
    await sendKeys({ press: 'Enter' });
    await opened;
    expect(dialog.open).to.equal(true);
    expect(dialog.matches(':modal')).to.equal(true);
    // Focus moves once the open dialog has rendered, which a loaded Firefox may do a frame after the event.
    await waitFor(() => focused(element) === 'input[part=input]', 'focus on the input');

    await sendKeys({ type: '813 555 1234' });
    expect(input.value).to.equal('813 555 1234');
    const success = nextEvent(element, 'call-us-success');
    await sendKeys({ press: 'Enter' });
    expect((await success).detail.phoneNumber).to.equal('813 555 1234');
    await element.updateComplete;
    expect(statusText(element)).to.equal("We're calling you now.");

    const closed = nextEvent(element, 'call-us-close');
    await sendKeys({ press: 'Escape' });
    await closed;
    expect(dialog.open).to.equal(false);
    await waitFor(() => focused(element) === 'button[part=button]', 'focus back on the button');
  });

  it('Space opens too, and Tab walks input → submit → cancel; Enter on cancel closes', async () => {
    const element = await fixture({ endpoint: ENDPOINT, 'config-id': 'plain' });
    await sendKeys({ press: 'Tab' });
    // ' ', not 'Space': puppeteer's WebDriver BiDi keyboard (Firefox) knows the key only by its character.
    await sendKeys({ press: ' ' });
    await waitFor(() => part<HTMLDialogElement>(element, 'dialog').open, 'the dialog to open');
    expect(focused(element)).to.equal('input[part=input]');
    await sendKeys({ press: 'Tab' });
    expect(focused(element)).to.equal('button[part=submit]');
    await sendKeys({ press: 'Tab' });
    expect(focused(element)).to.equal('button[part=cancel]');
    await sendKeys({ press: 'Enter' });
    await waitFor(() => !part<HTMLDialogElement>(element, 'dialog').open, 'the dialog to close');
    await waitFor(() => focused(element) === 'button[part=button]', 'focus back on the button');
  });

  it('Enter on an implausible number keeps focus in the field and explains why', async () => {
    const element = await fixture({ endpoint: ENDPOINT, 'config-id': 'plain' });
    await sendKeys({ press: 'Tab' });
    await sendKeys({ press: 'Enter' });
    await waitFor(() => part<HTMLDialogElement>(element, 'dialog').open, 'the dialog to open');
    await sendKeys({ type: '555' });
    await sendKeys({ press: 'Enter' });
    await element.updateComplete;
    const input = part<HTMLInputElement>(element, 'input');
    expect(input.getAttribute('aria-invalid')).to.equal('true');
    expect(focused(element)).to.equal('input[part=input]');
    expect(part(element, 'error').hidden).to.equal(false);
  });

  it('the country picker: Shift+Tab from the field reaches it, arrows pick, Tab goes back to the field', async () => {
    const element = await fixture({ endpoint: ENDPOINT, 'config-id': 'abroad' });
    await waitFor(() => !!element.shadowRoot?.querySelector('[part~="input"][placeholder]'), 'the countries');
    await sendKeys({ press: 'Tab' });
    await sendKeys({ press: 'Enter' });
    await waitFor(() => part<HTMLDialogElement>(element, 'dialog').open, 'the dialog to open');
    // The field takes focus first, even with the picker before it: the default country is usually right.
    expect(focused(element)).to.equal('input[part=input]');
    await sendKeys({ down: 'Shift' });
    await sendKeys({ press: 'Tab' });
    await sendKeys({ up: 'Shift' });
    expect(focused(element)).to.equal('select[part=country]');
    await sendKeys({ press: 'ArrowDown' });
    await waitFor(() => part<HTMLInputElement>(element, 'input').placeholder === '0450 00 12 34', 'Belgium picked');
    await sendKeys({ press: 'Tab' });
    expect(focused(element)).to.equal('input[part=input]');
    await sendKeys({ type: '0450 00 12 34' });
    const submitted = nextEvent(element, 'call-us-submit');
    await sendKeys({ press: 'Enter' });
    expect((await submitted).detail).to.deep.equal({ phoneNumber: '0450 00 12 34', country: 'BE' });
  });
});
