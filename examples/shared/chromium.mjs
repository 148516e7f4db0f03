// Debian's Chromium as every browser test here starts it: headless, and without the background traffic
// that makes it slow on a closed network. Used by browser-harness.mjs, packages/server/test/browser.ts
// and packages/widget/web-test-runner.config.mjs. It sits beside the examples' harness so that an example
// copied out of the repository takes it along; the packages import it only from unpublished test code.

/** Options for Playwright's `chromium.launch()`; CHROMIUM_PATH says where the browser is, if not /usr/bin/chromium. */
export function chromiumLaunchOptions() {
  return {
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: [
      '--headless=new',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-dev-shm-usage',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  };
}
