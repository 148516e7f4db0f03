import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { startNsSandbox, type NsSandbox } from '@beckon/ns-client/sandbox';
import { ConfigError, loadConfig, loadDatabaseConfig, type ServerConfig } from '../../config.js';
import { pgliteDir } from '../../db/open.js';
import { startRingCentralStandIn } from '../../providers/ringcentral/stand-in/index.js';
import { redactDatabaseUrl } from '../../db/postgres.js';
import { webresponderKey, webresponderSignature } from '../../guards/secrets.js';
import { start, type RunningServer } from '../../start.js';
import { cannotStart, stopOnSignals, warnDeprecated } from '../serve.js';
import { DEMO_CALLS_ID, DEMO_CUSTOMER, setUpDemoCalls, type DemoCalls } from './demo-calls.js';
import { demoRoutes } from './demo-routes.js';

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

/**
 * `beckon-server --demo` with no NetSapiens configured (`npm start`): an embedded NS sandbox, a demo
 * config copied into `DATA_DIR` (beside the embedded database), secrets made for the run, and the demo page.
 */
export async function demo(options: { allowRemote: boolean }): Promise<void> {
  const sandbox = await startNsSandbox();
  // RingCentral's stand-in too, with an app and a JWT made for the run: section 4 can ring a RingCentral call.
  const ringcentralApp = {
    clientId: `demo-${randomBytes(8).toString('hex')}`,
    clientSecret: randomBytes(24).toString('base64url'),
    jwt: ['eyJhbGciOiJSUzI1NiJ9', randomBytes(24).toString('base64url'), randomBytes(32).toString('base64url')].join('.'),
  };
  const ringcentral = await startRingCentralStandIn(ringcentralApp);
  const closeStandIns = async () => {
    await sandbox.close();
    await ringcentral.close();
  };
  let config: ServerConfig;
  try {
    config = await demoConfig(sandbox, { ...ringcentralApp, url: ringcentral.url }, options.allowRemote);
  } catch (error) {
    await closeStandIns();
    if (error instanceof ConfigError) return cannotStart(error.message);
    throw error;
  }
  let running: RunningServer | undefined;
  // Section 4's set-up, started once the server listens (it subscribes this server's own URL).
  const incoming: { calls?: Promise<DemoCalls> } = {};
  const signature = (id: string) => webresponderSignature(webresponderKey(config), id);
  const routes = demoRoutes(sandbox, {
    deps: () => running?.deps,
    serverUrl: () => running?.url,
    signature,
    calls: () => incoming.calls,
    ringcentral,
  });
  try {
    running = await start({ config, routers: [routes.router] });
  } catch (error) {
    routes.close();
    await closeStandIns();
    return cannotStart(error instanceof Error ? error.message : String(error));
  }
  const stopping = new AbortController();
  incoming.calls = setUpDemoCalls(running.deps, stopping.signal);
  const { logger } = running.deps;
  incoming.calls.catch((error: Error) => {
    if (!stopping.signal.aborted) logger.error({ reason: error.message }, 'demo: incoming calls not set up');
  });
  printBanner(running, sandbox, ringcentral.url, config, !process.env.UPDATE_SECRET);
  warnDeprecated(running);
  stopOnSignals(running, async () => {
    stopping.abort();
    routes.close();
    await closeStandIns();
  });
}

async function demoConfig(
  sandbox: NsSandbox,
  ringcentral: { clientId: string; clientSecret: string; jwt: string; url: string },
  allowRemote: boolean,
): Promise<ServerConfig> {
  const dataDir = resolve(loadDatabaseConfig(process.env).dataDir);
  const domainsFile = join(dataDir, 'domains.json');
  if (!existsSync(domainsFile)) {
    await mkdir(dataDir, { recursive: true });
    await copyFile(new URL('../../../domains.example.json', import.meta.url), domainsFile);
  }
  const config = loadConfig({
    ...process.env,
    NS_API_BASE: sandbox.url,
    NS_TOKEN: sandbox.token,
    UPDATE_SECRET: process.env.UPDATE_SECRET || randomBytes(24).toString('base64url'),
    DOMAINS_FILE: process.env.DOMAINS_FILE || domainsFile,
    // The stand-in's app, whatever RINGCENTRAL_* the environment holds: the demo reaches no real provider.
    RINGCENTRAL_CLIENT_ID: ringcentral.clientId,
    RINGCENTRAL_CLIENT_SECRET: ringcentral.clientSecret,
    RINGCENTRAL_JWT_TOKEN: ringcentral.jwt,
    RINGCENTRAL_SERVER_URL: ringcentral.url,
  });
  if (!LOOPBACK.has(config.host) && !allowRemote) {
    throw new ConfigError([`demo mode listens on loopback only; HOST=${config.host} needs --allow-remote`]);
  }
  return config;
}

function printBanner(
  running: RunningServer,
  sandbox: NsSandbox,
  ringcentralUrl: string,
  config: ServerConfig,
  secretMadeHere: boolean,
): void {
  // A secret from the environment or .env may be a real one: it is not printed.
  const secret = secretMadeHere ? `${config.updateSecret}  (made for this run)` : '(from UPDATE_SECRET)';
  process.stdout.write(`
  Beckon demo — no NetSapiens account needed
  ──────────────────────────────────────────
  Demo page         ${running.url}/
  Script-tag embed  <script src="${running.deps.config.publicUrl}/widget.js?id=example.com-sales"></script>
  Call popup        ${DEMO_CUSTOMER.name} (${DEMO_CUSTOMER.phone}) calls ${DEMO_CALLS_ID}: section 4 of the demo page
  NS sandbox        ${sandbox.url}  (what it received: ${sandbox.url}/_sandbox/state)
  RingCentral       ${ringcentralUrl}  (a stand-in: section 4 rings a RingCentral call too)
  Config file       ${config.domainsFile}
  Database          ${config.databaseUrl ? redactDatabaseUrl(config.databaseUrl) : `${resolve(pgliteDir(config.dataDir))}  (embedded)`}
  Forms secret      ${secret}

  To use a real NetSapiens cluster, set NS_API_BASE, NS_TOKEN and UPDATE_SECRET
  (in the environment or ./.env) and run beckon-server without --demo.

`);
}
