// <call-popup>'s accessibility: axe-core (WCAG 2.x A/AA and best practices) over every state an agent
// sees, and what axe cannot judge: 44 px targets, a visible focus ring, reduced motion, reflow at 320 px.
import { expect } from '@esm-bundle/chai';
import { sendKeys, setViewport } from '@web/test-runner-commands';
// axe's browser build is a UMD script: as a module it defines `window.axe` (it has no ES exports).
import 'axe-core/axe.min.js';
import type { Result } from 'axe-core';
import type { CallPopup } from '../src/call-popup.js';
import '../src/call-popup.js';
import { cleanup, contrast, nodeName, track } from './helpers.js';
import { useMedia } from './media-helpers.js';
import { newChannel, popupFixture, ringing, toasts, waitForToasts, type Channel } from './popup-helpers.js';

const axe = (window as unknown as { axe: typeof import('axe-core') }).axe;

const TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'];

/** The element in a small complete page: a `<main>` with an `<h1>`, so landmark rules judge the element. */
async function place(
  lang?: string,
  attributes: Record<string, string> = {},
): Promise<{ host: CallPopup; region: HTMLElement; channel: Channel }> {
  const region = track(document.createElement('main'));
  if (lang) region.lang = lang;
  const title = document.createElement('h1');
  title.textContent = 'Support desk';
  region.append(title);
  document.body.append(region);
  const channel = newChannel();
  const host = await popupFixture(channel, attributes, region);
  return { host, region, channel };
}

function describeViolations(violations: Result[]): string[] {
  return violations.flatMap((violation) =>
    violation.nodes.map((node) => `${violation.id} [${violation.impact ?? '?'}] ${JSON.stringify(node.target)}: ${violation.help}`),
  );
}

/** Runs axe once the toasts' entrance animations ended; violations and "needs review" both fail. */
async function audit(host: CallPopup, region: HTMLElement, state: string): Promise<void> {
  await Promise.all((host.shadowRoot?.getAnimations() ?? []).map((animation) => animation.finished));
  const { violations, incomplete } = await axe.run(region, {
    runOnly: { type: 'tag', values: TAGS },
    resultTypes: ['violations', 'incomplete'],
  });
  const lines = [...describeViolations(violations), ...describeViolations(incomplete).map((line) => `needs review: ${line}`)];
  expect(lines, `axe violations (${state}):\n${lines.join('\n')}\n`).to.deep.equal([]);
}

/** A stack of three: a known customer with a link, a new caller, and a caller with neither name nor number. */
async function fill(channel: Channel, host: CallPopup, already = 0): Promise<void> {
  await channel.send(ringing('1'));
  await channel.send(ringing('2', { customer_name: null, customer_email: null, customer_url: null }));
  await channel.send(ringing('3', { from_name: null, from_number: null, customer_url: null }));
  await waitForToasts(host, already + 3);
}

describe('<call-popup> accessibility audit (axe-core)', () => {
  afterEach(cleanup);

  it('axe judges the toasts inside the shadow root', async () => {
    const { host, region, channel } = await place();
    await channel.send(ringing('1'));
    await waitForToasts(host, 1);
    await Promise.all((host.shadowRoot?.getAnimations() ?? []).map((animation) => animation.finished));
    const results = await axe.run(region, { runOnly: { type: 'rule', values: ['color-contrast', 'button-name', 'link-name'] } });
    const judged = results.passes.flatMap((rule) => rule.nodes.map((node) => `${rule.id} ${JSON.stringify(node.target)}`));
    // axe addresses a node in a shadow root as [host selector, selector inside the root].
    for (const [rule, part] of [
      ['button-name', '"button"'],
      ['link-name', '"a"'],
      ['color-contrast', '"#caller-0"'],
      ['color-contrast', '"a"'],
      ['color-contrast', '"button"'],
    ]) {
      expect(
        judged.some((line) => line.startsWith(`${rule} `) && line.includes(`"call-popup",${part ?? ''}`)),
        `${rule} judged ${part}:\n${judged.join('\n')}`,
      ).to.equal(true);
    }
  });

  it('empty (no calls yet)', async () => {
    const { host, region } = await place();
    await audit(host, region, 'empty');
  });

  it('one toast, then a stack of four', async () => {
    const { host, region, channel } = await place();
    await channel.send(ringing('0'));
    await waitForToasts(host, 1);
    await audit(host, region, 'one toast');
    await fill(channel, host, 1);
    await audit(host, region, 'four toasts');
  });

  for (const lang of ['es', 'fr', 'de']) {
    it(`${lang}: a stack of three`, async () => {
      const { host, region, channel } = await place(lang);
      await fill(channel, host);
      await audit(host, region, lang);
    });
  }

  it('the live region is polite and holds the toasts; nothing in it is focused on arrival', async () => {
    const { host, channel } = await place();
    const stack = host.shadowRoot?.querySelector('[part~="stack"]');
    expect(stack?.getAttribute('role')).to.equal('status');
    expect(stack?.getAttribute('aria-live')).to.equal('polite');
    await fill(channel, host);
    expect(toasts(host).every((toast) => stack?.contains(toast))).to.equal(true);
    expect(host.shadowRoot?.activeElement ?? null).to.equal(null);
  });
});

describe('<call-popup> accessibility checks axe cannot make', () => {
  afterEach(async () => {
    cleanup();
    await setViewport({ width: 800, height: 600 });
  });

  it('View customer and Dismiss are at least 44×44 CSS px, with one-character labels', async () => {
    const { host, channel } = await place();
    host.strings = { viewCustomer: 'V', dismiss: 'X' };
    await channel.send(ringing('1'));
    const [toast] = await waitForToasts(host, 1);
    for (const name of ['view', 'dismiss']) {
      const box = toast?.querySelector(`[part~="${name}"]`)?.getBoundingClientRect();
      expect(box?.width, `${name} width`).to.be.at.least(44);
      expect(box?.height, `${name} height`).to.be.at.least(44);
    }
  });

  it('keyboard focus is visible on View customer and Dismiss: a solid ring that contrasts ≥ 3:1', async () => {
    const { host, channel } = await place(undefined, { 'auto-dismiss': '0' });
    await channel.send(ringing('1'));
    await waitForToasts(host, 1);
    const before = track(document.createElement('button'));
    before.textContent = 'Before';
    document.body.prepend(before);
    before.focus();
    for (const name of ['view', 'dismiss']) {
      await sendKeys({ press: 'Tab' });
      const element = host.shadowRoot?.activeElement as HTMLElement | null;
      expect(nodeName(element)).to.include(`[part=${name}]`);
      await Promise.all((element?.getAnimations() ?? []).map((animation) => animation.finished));
      const style = getComputedStyle(element as HTMLElement);
      expect(element?.matches(':focus-visible')).to.equal(true);
      expect(style.outlineStyle).to.equal('solid');
      expect(parseFloat(style.outlineWidth)).to.be.at.least(2);
      expect(contrast(style.outlineColor, 'rgb(255, 255, 255)'), `${name} ring against the toast`).to.be.at.least(3);
    }
  });

  it('toasts animate in when the visitor does not ask for reduced motion (reduce: test/media/)', async () => {
    await useMedia({ reducedMotion: 'no-preference' });
    const { host, channel } = await place();
    await channel.send(ringing('1'));
    await waitForToasts(host, 1);
    expect(host.shadowRoot?.getAnimations().length, 'the animation exists when motion is fine').to.be.greaterThan(0);
  });

  it('reflows at 320 CSS px wide: toasts fit the viewport, a long unbroken name wraps', async () => {
    await setViewport({ width: 320, height: 640 });
    const { host, channel } = await place();
    await channel.send(ringing('1', { from_name: 'W'.repeat(80), customer_email: `${'x'.repeat(60)}@example.com` }));
    const [toast] = await waitForToasts(host, 1);
    const box = toast?.getBoundingClientRect();
    expect(box?.left, 'left edge').to.be.at.least(0);
    expect(box?.right, 'right edge').to.be.at.most(320);
    expect(document.documentElement.scrollWidth).to.be.at.most(320);
  });
});
