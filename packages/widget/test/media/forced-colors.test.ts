// Forced-colours mode (Windows High Contrast and the like). Firefox runs this file in a browser launched
// with colours forced (web-test-runner.config.mjs), Chromium emulates it.
import { expect } from '@esm-bundle/chai';
import { sendKeys } from '@web/test-runner-commands';
import '../../src/call-us-button.js';
import { ENDPOINT, cleanup, fixture, open, part, submit, waitFor } from '../helpers.js';
import { useMedia } from '../media-helpers.js';

describe('forced-colors: active', () => {
  beforeEach(() => useMedia({ forcedColors: 'active' }));
  afterEach(cleanup);

  it('<call-us-button>: the buttons keep a visible edge and focus keeps its ring', async () => {
    (document.activeElement as HTMLElement | null)?.blur();
    const host = await fixture({ 'button-color': '#0b57d0' });
    await sendKeys({ press: 'Tab' });
    await sendKeys({ press: 'Enter' });
    await waitFor(() => part<HTMLDialogElement>(host, 'dialog').open, 'the dialog to open');
    for (const name of ['button', 'submit', 'cancel']) {
      const style = getComputedStyle(part(host, name));
      expect(style.borderTopStyle, `${name} border`).to.not.equal('none');
      expect(parseFloat(style.borderTopWidth), `${name} border width`).to.be.at.least(1);
      expect(style.borderTopColor, `${name} border colour`).to.not.match(/rgba\(\d+, \d+, \d+, 0\)/);
    }
    await sendKeys({ press: 'Tab' });
    const submitStyle = getComputedStyle(part(host, 'submit'));
    expect(submitStyle.outlineStyle).to.equal('solid');
    expect(submitStyle.outlineColor).to.not.match(/rgba\(\d+, \d+, \d+, 0\)/);
  });

  it('<call-us-button>: "Call me later", the slot picker and "Cancel the call" keep a visible edge', async () => {
    const host = await fixture({ endpoint: ENDPOINT, 'config-id': 'book' });
    await open(host);
    await waitFor(() => !!host.shadowRoot?.querySelector('[part~="later"]'), 'the "Call me later" button');
    const edged = (name: string): void => {
      const style = getComputedStyle(part(host, name));
      expect(style.borderTopStyle, `${name} border`).to.not.equal('none');
      expect(parseFloat(style.borderTopWidth), `${name} border width`).to.be.at.least(1);
      expect(style.borderTopColor, `${name} border colour`).to.not.match(/rgba\(\d+, \d+, \d+, 0\)/);
    };
    edged('later');
    part(host, 'later').click();
    await waitFor(() => !!host.shadowRoot?.querySelector('[part~="slot"]'), 'the times to book');
    edged('slot');
    await submit(host, '813 555 1234');
    await waitFor(() => !!host.shadowRoot?.querySelector('[part~="cancel-booking"]'), 'the booking');
    edged('cancel-booking');
  });
});
