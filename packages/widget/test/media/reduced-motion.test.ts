// Under prefers-reduced-motion: reduce, nothing of either element moves. Firefox runs this file in a
// browser launched with that preference (web-test-runner.config.mjs), Chromium emulates it.
import { expect } from '@esm-bundle/chai';
import '../../src/call-popup.js';
import '../../src/call-us-button.js';
import { ENDPOINT, cleanup, fixture, nodeName, open, part } from '../helpers.js';
import { useMedia } from '../media-helpers.js';
import { newChannel, popupFixture, ringing, waitForToasts } from '../popup-helpers.js';

describe('prefers-reduced-motion: reduce', () => {
  beforeEach(() => useMedia({ reducedMotion: 'reduce' }));
  afterEach(cleanup);

  it('<call-us-button>: nothing in or around the dialog moves', async () => {
    const host = await fixture({ endpoint: ENDPOINT, 'config-id': 'plain' });
    const dialog = await open(host);
    const durations = (style: CSSStyleDeclaration): number[] =>
      [style.transitionDuration, style.animationDuration, style.transitionDelay, style.animationDelay]
        .flatMap((list) => list.split(','))
        .map((value) => parseFloat(value) * (value.trim().endsWith('ms') ? 1 : 1000));
    const elements: [string, CSSStyleDeclaration][] = [
      ['host', getComputedStyle(host)],
      ['dialog', getComputedStyle(dialog)],
      ['dialog::backdrop', getComputedStyle(dialog, '::backdrop')],
      ...[...dialog.querySelectorAll('*'), part(host, 'button')].map((element): [string, CSSStyleDeclaration] => [
        nodeName(element),
        getComputedStyle(element),
      ]),
    ];
    for (const [name, style] of elements) {
      expect(
        durations(style).every((ms) => ms === 0),
        `${name}: transition ${style.transitionDuration}, animation ${style.animationName} ${style.animationDuration}`,
      ).to.equal(true);
    }
    expect(getComputedStyle(dialog).animationName).to.equal('none');
    expect(dialog.getAnimations({ subtree: true }).length).to.equal(0);
  });

  it('<call-us-button>: the dialog opens without animation and the buttons have no transition', async () => {
    const element = await fixture();
    const dialog = await open(element);
    expect(getComputedStyle(dialog).animationName).to.equal('none');
    expect(getComputedStyle(part(element, 'button')).transitionDuration).to.equal('0s');
    expect(getComputedStyle(part(element, 'submit')).transitionDuration).to.equal('0s');
  });

  it('<call-popup>: toasts appear without animation', async () => {
    const channel = newChannel();
    const popup = await popupFixture(channel);
    await channel.send(ringing('1'));
    const [toast] = await waitForToasts(popup, 1);
    expect(getComputedStyle(toast as HTMLElement).animationName).to.equal('none');
    expect(popup.shadowRoot?.getAnimations().length).to.equal(0);
  });
});
