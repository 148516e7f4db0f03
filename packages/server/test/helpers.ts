import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createNsClient } from '@beckon/ns-client';
import { startNsSandbox, type NsSandbox, type NsSandboxOptions } from '@beckon/ns-client/sandbox';
import {
  BackgroundTasks,
  createApp,
  createLogger,
  createMemoryLimits,
  createTwilioClient,
  Metrics,
  openFileTenantStore,
  startTwilioStandIn,
  type ServerConfig,
  type ServerDeps,
  type Tenants,
  type TwilioStandIn,
} from '../src/index.js';

export const SECRET = 'test-update-secret-0123456789';

export const TENANTS: Tenants = {
  'example.com-sales': {
    api_domain: 'example.com',
    queue: '9002@example.com',
    branding: { button_text: 'Call us', button_color: '#ff9900', company_name: 'Example Co', logo_url: '' },
  },
  'example.com-sms': {
    api_domain: 'example.com',
    user: '2000',
    ns_system_user: '8001',
    from_number: '19295550100',
    message: 'Our hours are Mon-Fri 9am-5pm.',
  },
};

/** The Twilio account of a harness started with `twilio: true`: the stand-in's, and what signs its webhooks. */
export const TWILIO_ACCOUNT_SID = `AC${'a1'.repeat(16)}`;
export const TWILIO_AUTH_TOKEN = 'f0'.repeat(16);

export interface HarnessOptions {
  tenants?: Tenants;
  limits?: Partial<ServerConfig['limits']>;
  trustProxy?: number;
  nsTimeoutMs?: number;
  textBackWindowSeconds?: number;
  sandbox?: NsSandboxOptions;
  botCheck?: ServerDeps['botCheck'];
  /** PROVISION_DIAL_RULE_APPLICATION. */
  provisionApplication?: string;
  /** NS_API_BASE as configured (the client still talks to the sandbox). */
  nsApiBase?: string;
  /** The database (opened and migrated by the test, which closes it); without one, the routes that need it are not mounted. */
  db?: ServerDeps['db'];
  /** PUBLIC_URL; `'self'` uses the address the server listens on (for browser tests). Default `http://beckon.test`. */
  publicUrl?: string;
  /**
   * A Twilio stand-in (`harness.twilio`), and the Twilio settings pointing at it (`TWILIO_ACCOUNT_SID`,
   * `TWILIO_AUTH_TOKEN`): Twilio's webhooks are mounted and `deps.twilio` places calls through it.
   */
  twilio?: boolean;
  /** METRICS_TOKEN: `GET /metrics` is mounted behind it, over the harness's own metrics. */
  metricsToken?: string;
}

export interface LogLine {
  level: number;
  msg: string;
  [field: string]: unknown;
}

export interface Harness {
  /** The Beckon server, e.g. `http://127.0.0.1:PORT`. */
  url: string;
  sandbox: NsSandbox;
  /** With `twilio: true`. */
  twilio?: TwilioStandIn;
  deps: ServerDeps;
  domainsFile: string;
  /** Every log line the server wrote, parsed. */
  logs: LogLine[];
  /** All log output as one string, to look for what must never appear. */
  logText(): string;
  post(path: string, body: unknown, headers?: Record<string, string>): Promise<Response>;
  close(): Promise<void>;
}

/** A real Beckon app on port 0, wired to a real NS sandbox and a temporary domains.json. */
export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const sandbox = await startNsSandbox(options.sandbox);
  const twilio = options.twilio ? await startTwilioStandIn({ accountSid: TWILIO_ACCOUNT_SID, authToken: TWILIO_AUTH_TOKEN }) : undefined;
  const dir = await mkdtemp(join(tmpdir(), 'beckon-test-'));
  const domainsFile = join(dir, 'domains.json');
  await writeFile(domainsFile, JSON.stringify(options.tenants ?? TENANTS, null, 2));

  const logs: LogLine[] = [];
  let raw = '';
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      raw += chunk.toString();
      for (const line of chunk.toString().split('\n').filter(Boolean)) logs.push(JSON.parse(line) as LogLine);
      done();
    },
  });
  const logger = createLogger('debug', sink);
  // Listen first, so that PUBLIC_URL can be the real address when a browser needs to reach it.
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const config = {
    publicUrl: options.publicUrl === 'self' ? url : (options.publicUrl ?? 'http://beckon.test'),
    updateSecret: SECRET,
    trustProxy: options.trustProxy ?? 0,
    provisionEmail: 'ops@example.com',
    provisionApplication: options.provisionApplication,
    nsApiBase: options.nsApiBase,
    twilio: twilio && { accountSid: TWILIO_ACCOUNT_SID, authToken: TWILIO_AUTH_TOKEN, apiBase: twilio.url },
    metrics: { token: options.metricsToken, port: undefined },
  };
  const deps: ServerDeps = {
    config,
    ns: createNsClient({ baseUrl: sandbox.url, auth: { token: sandbox.token }, timeoutMs: options.nsTimeoutMs ?? 2_000 }),
    tenants: await openFileTenantStore({ path: domainsFile, logger }),
    limits: createMemoryLimits({
      limits: {
        ipPerMinute: 100,
        idPerHour: 100,
        numberPerHour: 100,
        numbersPerVisitorPerHour: 100,
        visitorBlockSeconds: 86_400,
        textsPerIdPerHour: 100,
        webresponderPerMinute: 1_000,
        ...options.limits,
      },
      textBackWindowSeconds: options.textBackWindowSeconds ?? 600,
    }),
    botCheck: options.botCheck,
    twilio: twilio && createTwilioClient({ accountSid: TWILIO_ACCOUNT_SID, authToken: TWILIO_AUTH_TOKEN, baseUrl: twilio.url }),
    db: options.db,
    logger,
    background: new BackgroundTasks(logger),
    metrics: new Metrics(),
  };
  server.on('request', createApp(deps).callback());

  return {
    url,
    sandbox,
    twilio,
    deps,
    domainsFile,
    logs,
    logText: () => raw,
    post: (path, body, headers = {}) =>
      fetch(url + path, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      }),
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await deps.background.drain(5_000);
      await deps.tenants.close();
      await sandbox.close();
      await twilio?.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * `handler` on a real HTTP server on 127.0.0.1, port 0, closed with its connections when the test ends
 * (or before, by `close`): for stand-ins (an ordinary web site, siteverify) and for apps a test builds itself.
 */
export async function serveForTest(
  t: { teardown(fn: () => Promise<void>): void },
  handler: RequestListener,
): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const close = () => {
    server.closeAllConnections();
    // Already closed (by the test itself) is closed all the same.
    return new Promise<void>((resolve) => server.close(() => resolve()));
  };
  t.teardown(close);
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close };
}

/** A temporary folder and a NetSapiens sandbox, both gone when the test ends: what a test of real server processes starts from. */
export async function folderWithSandbox(
  t: { teardown(fn: () => Promise<void>): void },
  prefix: string,
): Promise<{ dir: string; sandbox: NsSandbox }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  const sandbox = await startNsSandbox();
  t.teardown(async () => {
    await sandbox.close();
    await rm(dir, { recursive: true, force: true });
  });
  return { dir, sandbox };
}

export { eventually } from './eventually.js';
