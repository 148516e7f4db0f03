import { expect } from '@esm-bundle/chai';
import { emulateMedia } from '@web/test-runner-commands';

export interface Media {
  reducedMotion?: 'reduce' | 'no-preference';
  forcedColors?: 'active' | 'none';
}

/**
 * Puts the page in these media states and fails unless it is in them. Playwright's Chromium emulates
 * them; Firefox driven over WebDriver BiDi cannot (puppeteer's emulation is CDP only), so the files
 * under test/media/ run in a Firefox launched with the matching preferences (web-test-runner.config.mjs).
 */
export async function useMedia(media: Media): Promise<void> {
  // Asking puppeteer's Firefox would fail, with a stack trace in the runner's output.
  if (!navigator.userAgent.includes('Firefox')) await emulateMedia(media);
  if (media.reducedMotion) {
    expect(
      matchMedia(`(prefers-reduced-motion: ${media.reducedMotion})`).matches,
      `prefers-reduced-motion: ${media.reducedMotion}`,
    ).to.equal(true);
  }
  if (media.forcedColors) {
    expect(matchMedia(`(forced-colors: ${media.forcedColors})`).matches, `forced-colors: ${media.forcedColors}`).to.equal(true);
  }
}
