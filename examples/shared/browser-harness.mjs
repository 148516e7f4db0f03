// What the test needs around the example: a NetSapiens sandbox, a real Beckon server wired to it
// (as beckon-server wires itself), and Debian's Chromium. Only published package names are imported.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startNsSandbox } from '@beckon/ns-client/sandbox';
import { loadConfig, start } from '@beckon/server';
import { chromium } from 'playwright-core';
import { chromiumLaunchOptions } from './chromium.mjs';
import { copyEmptyPglite } from './pglite-template.mjs';

/** The demo's id (packages/server/domains.example.json), so index.html works unchanged against `npm start`. */
export const CONFIG_ID = 'example.com-sales';
export const DOMAINS = {
  [CONFIG_ID]: {
    api_domain: 'example.com',
    queue: '9002@example.com',
    branding: { button_text: 'Call me back', button_color: '#1a73e8', company_name: 'Example Co', logo_url: '' },
  },
};

/**
 * A NetSapiens sandbox and a Beckon server on port 0 against it, configured through `loadConfig` and
 * `start` as `beckon-server` is. PUBLIC_URL is left unset, so the server's public URL — what the loader
 * gives the element as its endpoint — is the address it listens on. Everything is torn down with `t`.
 */
export async function startBeckon(t) {
  const sandbox = await startNsSandbox();
  t.teardown(() => sandbox.close());
  const dir = await mkdtemp(join(tmpdir(), 'beckon-example-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const domainsFile = join(dir, 'domains.json');
  await writeFile(domainsFile, JSON.stringify(DOMAINS, null, 2));
  await copyEmptyPglite(join(dir, 'pglite'));

  const config = loadConfig({
    NS_API_BASE: sandbox.url,
    NS_TOKEN: sandbox.token,
    UPDATE_SECRET: randomBytes(24).toString('base64url'),
    DOMAINS_FILE: domainsFile,
    DATA_DIR: dir,
    HOST: '127.0.0.1',
    PORT: '0',
    LOG_LEVEL: 'silent',
  });
  const server = await start({ config });
  t.teardown(() => server.close(5_000));
  return { url: server.url, sandbox };
}

/** Debian's Chromium, launched as every browser test in the repository launches it, closed with `t`. */
export async function launchChromium(t) {
  const browser = await chromium.launch(chromiumLaunchOptions());
  t.teardown(() => browser.close());
  return browser;
}

/** A new page that records console errors and uncaught exceptions, which a clean run must not have. */
export async function openPage(browser) {
  const page = await browser.newPage();
  const problems = [];
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(message.text());
  });
  page.on('pageerror', (error) => problems.push(error.message));
  return { page, problems };
}
