// Component tests in Debian's Chromium and Firefox ESR against the TypeScript source; `npm test` runs
// them (`wtr`). Chromium is driven by Playwright; Firefox by puppeteer-core over WebDriver BiDi, since
// Playwright cannot drive a stock Firefox. BROWSERS=chromium or BROWSERS=firefox runs one of them.
import { fileURLToPath } from 'node:url';
import { esbuildPlugin } from '@web/dev-server-esbuild';
import { chromeLauncher, puppeteerCore } from '@web/test-runner-chrome';
import { playwrightLauncher } from '@web/test-runner-playwright';
import { chromiumLaunchOptions } from '../../examples/shared/chromium.mjs';
import { beckonStub } from './test/beckon-stub.mjs';
import { callStreamStub } from './test/call-stream-stub.mjs';

/**
 * The visitors' time zone in every test: not the machine's (UTC here), and not the zone of the
 * businesses the hours tests use, so times are shown converted and their zone named.
 */
const env = { ...process.env, TZ: 'Europe/Paris' };

function chromium() {
  return playwrightLauncher({ product: 'chromium', launchOptions: { ...chromiumLaunchOptions(), env } });
}

/** Firefox ESR, with `prefs` on top of the quiet defaults. */
function firefox(prefs = {}) {
  return chromeLauncher({
    // Passing puppeteer-core itself (not letting the launcher default to Chrome) names it Firefox.
    puppeteer: puppeteerCore,
    launchOptions: {
      browser: 'firefox',
      executablePath: process.env.FIREFOX_PATH ?? '/usr/bin/firefox-esr',
      headless: true,
      env,
      // The closed network makes Firefox's own background requests slow and noisy.
      extraPrefsFirefox: {
        'app.update.enabled': false,
        'browser.safebrowsing.malware.enabled': false,
        'browser.safebrowsing.phishing.enabled': false,
        'datareporting.policy.dataSubmissionEnabled': false,
        'extensions.update.enabled': false,
        'network.captive-portal-service.enabled': false,
        'network.connectivity-service.enabled': false,
        ...prefs,
      },
    },
  });
}

const only = process.env.BROWSERS?.split(',');
const pick = (launchers) => launchers.filter((launcher) => !only || only.includes(launcher.name.toLowerCase()));

export default {
  files: ['test/**/*.test.ts', '!test/media/**'],
  nodeResolve: true,
  // One browser page at a time: tests move focus and press real keys, which needs a focused page.
  concurrency: 1,
  testsFinishTimeout: 60_000,
  testFramework: { config: { timeout: 10_000 } },
  middleware: [callStreamStub(), beckonStub()],
  // Lit's development build (what the tests load) announces itself on every page.
  filterBrowserLogs: ({ args }) => !String(args[0]).includes('Lit is in dev mode'),
  plugins: [
    // The package's tsconfig carries experimentalDecorators and useDefineForClassFields: false.
    esbuildPlugin({ ts: true, tsconfig: fileURLToPath(new URL('./tsconfig.json', import.meta.url)) }),
  ],
  browsers: pick([chromium(), firefox()]),
  // Media features Firefox cannot emulate over WebDriver BiDi: it runs these files in a browser
  // launched with the preference instead, Chromium emulates them (test/media-helpers.ts).
  groups: [
    {
      name: 'reduced-motion',
      files: 'test/media/reduced-motion.test.ts',
      browsers: pick([chromium(), firefox({ 'ui.prefersReducedMotion': 1 })]),
    },
    {
      name: 'forced-colors',
      files: 'test/media/forced-colors.test.ts',
      browsers: pick([chromium(), firefox({ 'browser.display.document_color_use': 2 })]),
    },
  ],
};
