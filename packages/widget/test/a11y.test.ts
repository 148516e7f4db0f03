// Accessibility audit: axe-core (WCAG 2.0/2.1/2.2 A and AA rules, plus best practices) against the
// element in every state a visitor can reach, and explicit checks for what axe cannot judge: 44 px
// targets, a visible keyboard focus ring, text contrast on random button colours and reflow at 320 px.
// Reduced motion and forced-colours mode are in test/media/.
import { expect } from '@esm-bundle/chai';
import { sendKeys, setViewport } from '@web/test-runner-commands';
// axe's browser build is a UMD script: as a module it defines `window.axe` (it has no ES exports).
import 'axe-core/axe.min.js';
import type { AxeResults, Result, RunOptions } from 'axe-core';
import type { CallUsButton } from '../src/call-us-button.js';
import '../src/call-us-button.js';
import {
  ENDPOINT,
  cleanup,
  clearRequests,
  contrast,
  fixture,
  nextEvent,
  nodeName,
  open,
  part,
  rgb,
  submit,
  track,
  waitFor,
} from './helpers.js';

const axe = (window as unknown as { axe: typeof import('axe-core') }).axe;

const TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'];

/**
 * The element inside a small but complete page region: a `<main>` landmark with an `<h1>`, so the
 * best-practice rules about landmarks and heading order judge the element, not the bare test page.
 */
async function place(attributes: Record<string, string> = {}, lang?: string): Promise<{ host: CallUsButton; region: HTMLElement }> {
  const region = track(document.createElement('main'));
  if (lang) region.lang = lang;
  const title = document.createElement('h1');
  title.textContent = 'Plumbing in Tampa';
  region.append(title);
  document.body.append(region);
  const host = await fixture(attributes, region);
  return { host, region };
}

/** `id [impact] target: help` for each failing node, one line each. */
function describeViolations(violations: Result[]): string[] {
  return violations.flatMap((violation) =>
    violation.nodes.map((node) => {
      // color-contrast and a few others say what they measured; that is most of a diagnosis.
      const data = [...node.any, ...node.all, ...node.none].map((check) => check.data).find((value) => value && typeof value === 'object');
      return `${violation.id} [${violation.impact ?? node.impact ?? '?'}] ${JSON.stringify(node.target)}: ${violation.help}${data ? ` ${JSON.stringify(data)}` : ''} (${violation.helpUrl})`;
    }),
  );
}

async function run(region: HTMLElement, options: RunOptions = {}): Promise<AxeResults> {
  return axe.run(region, { runOnly: { type: 'tag', values: TAGS }, ...options });
}

/**
 * Waits for the element's CSS animations and transitions (the dialog fades in over 160 ms) to end:
 * axe measures what is painted, and a half-transparent dialog is neither what a visitor reads nor a
 * fair test (at opacity 0 axe even skips the text as invisible).
 */
async function settled(region: HTMLElement): Promise<void> {
  const roots = [...region.querySelectorAll('call-us-button')].map((host) => host.shadowRoot).filter((root) => root !== null);
  await Promise.all(roots.flatMap((root) => root.getAnimations()).map((animation) => animation.finished));
}

/**
 * Runs axe over `region` and fails with every violation spelt out when there is any. Results axe could
 * not decide ("needs review", such as contrast it cannot measure) fail too: none occur today, and a
 * new one would otherwise pass silently.
 */
async function audit(region: HTMLElement, state: string): Promise<void> {
  await settled(region);
  const { violations, incomplete } = await run(region, { resultTypes: ['violations', 'incomplete'] });
  const lines = [...describeViolations(violations), ...describeViolations(incomplete).map((line) => `needs review: ${line}`)];
  expect(lines, `axe violations (${state}):\n${lines.join('\n')}\n`).to.deep.equal([]);
}

const LIGHT = ['#ffffff', '#fffffe', '#f8f9fa', '#ffd60a', '#00ff00', '#ff0'];
const DARK = ['#000000', '#010101', '#0b0b0b', '#1a1a2e', '#00008b', '#300'];
/** Luminance near 0.18, where black and white contrast least (both about 4.6:1). */
const MIDDLE = ['#767676', '#777777', '#808080', '#3c9'];
/** Values that are not hex colours: ignored, so the default colours apply. */
const HOSTILE = [
  'red; background-image: url(https://evil.example/x)',
  '#ggg',
  'javascript:alert(1)',
  '"><img src=x>',
  '#12345',
  'transparent',
];

describe('accessibility audit (axe-core)', () => {
  beforeEach(clearRequests);
  afterEach(cleanup);

  it('axe sees inside the open shadow root (so a clean audit means something)', async () => {
    const { host, region } = await place({ endpoint: ENDPOINT, 'config-id': 'plain' });
    await open(host);
    await settled(region);
    const results = await run(region, { runOnly: { type: 'rule', values: ['label', 'button-name', 'color-contrast'] } });
    // axe addresses a node in a shadow root as [host selector, selector inside the root].
    const inShadow = results.passes
      .flatMap((rule) => rule.nodes.map((node) => `${rule.id} ${JSON.stringify(node.target)}`))
      .filter((line) => line.includes('","'));
    const judged = (rule: string, selector: string): boolean =>
      inShadow.some((line) => line.startsWith(`${rule} `) && line.includes(selector));
    expect(judged('label', '#phone'), inShadow.join('\n')).to.equal(true);
    expect(judged('button-name', 'submit'), inShadow.join('\n')).to.equal(true);
    // The dialog's text was measured, not skipped as invisible (as it would be mid-fade at opacity 0).
    for (const selector of ['#heading', '#description', 'label', 'submit', 'cancel']) {
      expect(judged('color-contrast', selector), `color-contrast judged ${selector}:\n${inShadow.join('\n')}`).to.equal(true);
    }
    expect(results.incomplete.map((rule) => rule.id)).to.deep.equal([]);

    // And it reports a problem planted there: the phone field loses its label.
    const label = host.shadowRoot?.querySelector('label');
    label?.removeAttribute('for');
    try {
      const broken = await run(region, { runOnly: { type: 'rule', values: ['label'] }, resultTypes: ['violations'] });
      expect(describeViolations(broken.violations).join('\n')).to.include('#phone');
    } finally {
      label?.setAttribute('for', 'phone');
    }
  });

  it('closed', async () => {
    const { region } = await place({ endpoint: ENDPOINT, 'config-id': 'plain' });
    await audit(region, 'closed');
  });

  it('a line closed by its opening hours: the button with its note, the dialog saying when it opens', async () => {
    const { host, region } = await place({
      endpoint: ENDPOINT,
      'config-id': `hours:closed:${Date.UTC(2026, 10, 26, 14)}:America/New_York`,
    });
    await waitFor(() => !!host.shadowRoot?.querySelector('[part~="closed-note"]'), 'the closed note');
    await audit(region, 'line closed, dialog closed');
    await open(host);
    await audit(region, 'line closed, dialog open');
  });

  it('booking a time: the slot picker on a closed line, a refusal, the booking, its cancellation', async () => {
    const { host, region } = await place({
      endpoint: ENDPOINT,
      'config-id': `book-hours:closed:${Date.UTC(2026, 10, 26, 14)}:America/New_York`,
    });
    await waitFor(() => !!host.shadowRoot?.querySelector('[part~="slot"]'), 'the times to book');
    await open(host);
    await audit(region, 'slot picker');
    await submit(host, '813 555 9999');
    await waitFor(() => host.shadowRoot?.querySelector('[part~="status"]')?.textContent?.includes('already') === true, 'the refusal');
    await audit(region, 'booking refused');
    await submit(host, '813 555 1234');
    await waitFor(() => !!host.shadowRoot?.querySelector('[part~="cancel-booking"]'), 'the booking');
    await audit(region, 'booked');
    part(host, 'cancel-booking').click();
    await waitFor(() => !host.shadowRoot?.querySelector('[part~="cancel-booking"]'), 'the cancellation');
    await audit(region, 'cancelled');
  });

  it('"Call me later" on an open line, and the live status of a call now', async () => {
    const { host, region } = await place({ endpoint: ENDPOINT, 'config-id': 'book' });
    await open(host);
    await waitFor(() => !!host.shadowRoot?.querySelector('[part~="later"]'), 'the "Call me later" button');
    await audit(region, 'open, with "Call me later"');
    cleanup();
    const call = `call-${Math.random().toString(36).slice(2)}`;
    const live = await place({ endpoint: ENDPOINT, 'config-id': `live:${call}` });
    await open(live.host);
    await submit(live.host, '813 555 1234');
    const statusHeard = nextEvent(live.host, 'call-us-status');
    await waitFor(() => live.host.shadowRoot?.querySelector('[part~="status"]')?.textContent?.includes('calling') === true, 'success');
    // The stream may open a moment after the answer: send until the element hears it.
    const sending = setInterval(() => void fetch(`/stub/live/${call}/status`, { method: 'POST', body: '{"status":"ringing"}' }), 100);
    try {
      await statusHeard;
    } finally {
      clearInterval(sending);
    }
    await live.host.updateComplete;
    await audit(live.region, 'live status: ringing');
  });

  it('the country picker, with a number refused for the picked country', async () => {
    const { host, region } = await place({ endpoint: ENDPOINT, 'config-id': 'abroad' });
    await waitFor(() => !!host.shadowRoot?.querySelector('[part~="input"][placeholder]'), 'the countries');
    await open(host);
    await audit(region, 'country picker');
    await submit(host, '06');
    await host.updateComplete;
    await audit(region, 'country picker, number refused');
  });

  it('open, with the phone field focused', async () => {
    const { host, region } = await place({ endpoint: ENDPOINT, 'config-id': 'plain' });
    await open(host);
    await audit(region, 'open');
  });

  it('open with company name and logo', async () => {
    const { host, region } = await place({
      'company-name': 'Acme Plumbing',
      'logo-url': `${location.origin}/stub/logo.svg`,
      'button-text': 'Ring Acme',
    });
    await open(host);
    const logo = part<HTMLImageElement>(host, 'logo');
    await waitFor(() => logo.complete, 'the logo to load');
    await audit(region, 'open, branded');
  });

  it('inline validation error', async () => {
    const { host, region } = await place({ endpoint: ENDPOINT, 'config-id': 'plain' });
    await open(host);
    await submit(host, '555');
    await host.updateComplete;
    expect(part(host, 'error').hidden).to.equal(false);
    await audit(region, 'invalid number');
  });

  it('sending (submit disabled, status polite)', async () => {
    const { host, region } = await place({ endpoint: ENDPOINT, 'config-id': 'slow' });
    await open(host);
    const success = nextEvent(host, 'call-us-success');
    await submit(host, '813 555 1234');
    await host.updateComplete;
    expect(part<HTMLButtonElement>(host, 'submit').disabled).to.equal(true);
    await audit(region, 'sending');
    await success;
  });

  it('success', async () => {
    const { host, region } = await place({ endpoint: ENDPOINT, 'config-id': 'plain' });
    await open(host);
    const success = nextEvent(host, 'call-us-success');
    await submit(host, '813 555 1234');
    await success;
    await host.updateComplete;
    await audit(region, 'success');
  });

  for (const [id, phone, what] of [
    ['plain', '1 900 555 1234', "the server's message"],
    ['busy', '813 555 1234', '429'],
    ['drop', '813 555 1234', 'network failure'],
  ] as const) {
    it(`error (${what})`, async () => {
      const { host, region } = await place({ endpoint: ENDPOINT, 'config-id': id });
      await open(host);
      const error = nextEvent(host, 'call-us-error');
      await submit(host, phone);
      await error;
      await host.updateComplete;
      await audit(region, `error: ${what}`);
    });
  }

  for (const [kind, colours] of [
    ['very light', LIGHT],
    ['very dark', DARK],
    ['mid-luminance', MIDDLE],
    ['hostile', HOSTILE],
  ] as const) {
    it(`button-color: ${kind} values, closed and open`, async () => {
      for (const colour of colours) {
        const { host, region } = await place({ 'button-color': colour });
        await audit(region, `button-color ${colour}, closed`);
        await open(host);
        await audit(region, `button-color ${colour}, open`);
        cleanup();
      }
    });
  }

  for (const lang of ['es', 'fr', 'es-MX', 'fr-CA']) {
    it(`${lang}: closed, open, invalid number and error`, async () => {
      const { host, region } = await place({ endpoint: ENDPOINT, 'config-id': 'busy' }, lang);
      await audit(region, `${lang}, closed`);
      await open(host);
      await audit(region, `${lang}, open`);
      await submit(host, '12');
      await host.updateComplete;
      await audit(region, `${lang}, invalid number`);
      const error = nextEvent(host, 'call-us-error');
      await submit(host, '813 555 1234');
      await error;
      await host.updateComplete;
      await audit(region, `${lang}, error`);
    });
  }

  it('an unsupported page language (English, marked as such)', async () => {
    const { host, region } = await place({}, 'de');
    await audit(region, 'de, closed');
    await open(host);
    await audit(region, 'de, open');
  });
});

describe('accessibility checks axe cannot make', () => {
  afterEach(async () => {
    cleanup();
    await setViewport({ width: 800, height: 600 });
  });

  it('button, submit and cancel (and the field) are at least 44×44 CSS px, in every language', async () => {
    for (const lang of ['en', 'es', 'fr']) {
      // One-character labels are the worst case for width.
      const { host } = await place({ 'button-text': '?' }, lang);
      host.strings = { submit: 'O', cancel: 'X' };
      await open(host);
      await host.updateComplete;
      for (const name of ['button', 'submit', 'cancel', 'input']) {
        const box = part(host, name).getBoundingClientRect();
        expect(box.width, `${lang} ${name} width`).to.be.at.least(44);
        expect(box.height, `${lang} ${name} height`).to.be.at.least(44);
      }
      cleanup();
    }
  });

  it('keyboard focus is visible on every control: a solid ring of ≥ 2 px that contrasts ≥ 3:1', async () => {
    for (const colour of ['#ffffff', '#000000', '#1f1f1f', '#0b57d0', '#ffd60a']) {
      (document.activeElement as HTMLElement | null)?.blur();
      const { host } = await place({ 'button-color': colour });
      const checkRing = async (name: string): Promise<void> => {
        const element = part(host, name);
        // The inner ring fades in with the button's box-shadow transition: judge it once it is drawn.
        await Promise.all(element.getAnimations().map((animation) => animation.finished));
        expect(nodeName(host.shadowRoot?.activeElement), `${colour}: focus on ${name}`).to.equal(nodeName(element));
        expect(element.matches(':focus-visible'), `${colour}: ${name} matches :focus-visible`).to.equal(true);
        const style = getComputedStyle(element);
        expect(style.outlineStyle, `${colour}: ${name} outline style`).to.equal('solid');
        expect(parseFloat(style.outlineWidth), `${colour}: ${name} outline width`).to.be.at.least(2);
        // The dark outer ring sits on the page (white here) or the dialog surface; the light inner ring
        // (box-shadow) sits on the control itself, so one of the two stands out from any button colour.
        const outer = contrast(style.outlineColor, 'rgb(255, 255, 255)');
        expect(outer, `${colour}: ${name} outer ring ${style.outlineColor} against white`).to.be.at.least(3);
        expect(style.boxShadow, `${colour}: ${name} inner ring`).to.not.equal('none');
        const inner = /rgba?\([^)]*\)/.exec(style.boxShadow)?.[0] ?? '';
        const background = style.backgroundColor;
        const best = Math.max(contrast(inner, background), contrast(style.outlineColor, background));
        expect(best, `${colour}: ${name} ring (${style.outlineColor} / ${inner}) against ${background}`).to.be.at.least(3);
      };

      await sendKeys({ press: 'Tab' });
      await checkRing('button');
      await sendKeys({ press: 'Enter' });
      await waitFor(() => part<HTMLDialogElement>(host, 'dialog').open, 'the dialog to open');
      await checkRing('input');
      await sendKeys({ press: 'Tab' });
      await checkRing('submit');
      await sendKeys({ press: 'Tab' });
      await checkRing('cancel');
      await sendKeys({ press: 'Escape' });
      await waitFor(() => !part<HTMLDialogElement>(host, 'dialog').open, 'the dialog to close');
      cleanup();
    }
  });

  it('text on the button and the submit button contrasts ≥ 4.5:1 on 20 random button colours (rendered colours)', async () => {
    // A seeded generator: the seed is in every message, so a failure can be replayed.
    const seed = Math.floor(Math.random() * 2 ** 32);
    let state = seed;
    const next = (): number => {
      state = (state + 0x6d2b79f5) | 0;
      let t = Math.imul(state ^ (state >>> 15), 1 | state);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
    };
    const colours = Array.from(
      { length: 20 },
      () =>
        `#${Math.floor(next() * 0x1000000)
          .toString(16)
          .padStart(6, '0')}`,
    );
    for (const colour of colours) {
      const { host } = await place({ 'button-color': colour });
      await open(host);
      for (const name of ['button', 'submit']) {
        const style = getComputedStyle(part(host, name));
        const [r, g, b] = rgb(style.backgroundColor);
        expect(
          `#${[r, g, b].map((channel) => channel.toString(16).padStart(2, '0')).join('')}`,
          `seed ${seed}: ${name} background`,
        ).to.equal(colour);
        const ratio = contrast(style.color, style.backgroundColor);
        expect(ratio, `seed ${seed}: ${name} text ${style.color} on ${style.backgroundColor} is ${ratio.toFixed(2)}:1`).to.be.at.least(4.5);
      }
      cleanup();
    }
  });

  it('reflows at 320 CSS px wide (WCAG 1.4.10): the dialog fits, nothing scrolls sideways, targets stay 44 px', async () => {
    await setViewport({ width: 320, height: 640 });
    for (const lang of ['en', 'es', 'fr']) {
      const { host } = await place(
        { endpoint: ENDPOINT, 'config-id': 'busy', 'company-name': 'Plomería y Calefacción Hermanos Rodríguez' },
        lang,
      );
      const dialog = await open(host);
      await submit(host, '12');
      await host.updateComplete;
      await settled(host.parentElement as HTMLElement);
      const box = dialog.getBoundingClientRect();
      expect(box.left, `${lang}: dialog left`).to.be.at.least(0);
      expect(box.right, `${lang}: dialog right`).to.be.at.most(320);
      expect(dialog.scrollWidth, `${lang}: dialog scrolls sideways`).to.be.at.most(dialog.clientWidth);
      for (const name of ['button', 'input', 'error', 'submit', 'cancel']) {
        const element = part(host, name);
        const rect = element.getBoundingClientRect();
        expect(rect.right, `${lang}: ${name} right edge`).to.be.at.most(box.right);
        expect(element.scrollWidth, `${lang}: ${name} clips its text`).to.be.at.most(element.clientWidth + 1);
        if (name !== 'error') expect(Math.min(rect.width, rect.height), `${lang}: ${name} target`).to.be.at.least(44);
      }
      cleanup();
    }
  });

  it('reflows at 320 CSS px wide with the country picker, and with a closed line', async () => {
    await setViewport({ width: 320, height: 640 });
    for (const lang of ['en', 'es', 'fr']) {
      const closed = `hours:closed:${Date.UTC(2026, 10, 26, 14)}:America/New_York`;
      for (const [id, names] of [
        ['abroad', ['button', 'country', 'input', 'submit', 'cancel']],
        [closed, ['button', 'closed-note', 'status', 'cancel']],
        [`book-${closed}`, ['button', 'slot', 'input', 'submit', 'cancel']],
      ] as const) {
        const { host } = await place({ endpoint: ENDPOINT, 'config-id': id }, lang);
        await waitFor(() => !!host.shadowRoot?.querySelector(`[part~="${names[1]}"]`), `${id}: its config`);
        const dialog = await open(host);
        await settled(host.parentElement as HTMLElement);
        const box = dialog.getBoundingClientRect();
        expect(box.right, `${lang} ${id}: dialog right`).to.be.at.most(320);
        expect(dialog.scrollWidth, `${lang} ${id}: dialog scrolls sideways`).to.be.at.most(dialog.clientWidth);
        for (const name of names) {
          const element = part(host, name);
          const rect = element.getBoundingClientRect();
          expect(rect.right, `${lang} ${id}: ${name} right edge`).to.be.at.most(
            name === 'button' || name === 'closed-note' ? 320 : box.right,
          );
          expect(element.scrollWidth, `${lang} ${id}: ${name} clips its text`).to.be.at.most(element.clientWidth + 1);
          if (name !== 'status' && name !== 'closed-note')
            expect(Math.min(rect.width, rect.height), `${lang} ${id}: ${name} target`).to.be.at.least(44);
        }
        cleanup();
      }
    }
  });
});
