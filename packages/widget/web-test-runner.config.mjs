// Component tests in Debian's Chromium against the TypeScript source; `npm test` runs them (`wtr`).
import { fileURLToPath } from 'node:url';
import { esbuildPlugin } from '@web/dev-server-esbuild';
import { playwrightLauncher } from '@web/test-runner-playwright';
import { chromiumLaunchOptions } from '../../examples/shared/chromium.mjs';
import { beckonStub } from './test/beckon-stub.mjs';
import { callStreamStub } from './test/call-stream-stub.mjs';

export default {
  files: 'test/**/*.test.ts',
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
  browsers: [
    playwrightLauncher({
      product: 'chromium',
      launchOptions: chromiumLaunchOptions(),
    }),
  ],
};
