import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createNsClient } from '@beckon/ns-client';
import type Router from '@koa/router';
import { createCallEventBus } from './api/call-stream.js';
import { createApp } from './app.js';
import type { AppState } from './context.js';
import { BackgroundTasks } from './background.js';
import { ConfigError, isLocalOnly, type ServerConfig } from './config.js';
import { openMigratedDatabase } from './db/open.js';
import type { ServerDeps } from './deps.js';
import { createMemoryLimits, createRedisLimits } from './guards/limits.js';
import { createTurnstileCheck } from './guards/turnstile.js';
import { Metrics } from './metrics/metrics.js';
import { serveMetrics } from './metrics/serve.js';
import { createLogger, type Logger } from './logging.js';
import { startEventRelay } from './actions/event-webhooks.js';
import { startTextSender } from './actions/texts.js';
import { createCallbackEventBus } from './callbacks/status-stream.js';
import { startCallbacks } from './callbacks/worker.js';
import { createDialpadClient } from './providers/dialpad/client.js';
import { startDialpadProcessor } from './providers/dialpad/intake.js';
import { createTwilioClient } from './providers/twilio/client.js';
import { withSingleNumberId } from './providers/twilio/single-number.js';
import { startRenewals } from './providers/netsapiens/subscribe.js';
import { createRingCentralClient } from './providers/ringcentral/client.js';
import { startRingcentralRenewals } from './providers/ringcentral/subscribe.js';
import { closeRedis, connectRedis, RedisUnavailableError } from './redis.js';
import { openFileTenantStore } from './tenants/file-store.js';
import { openRedisTenantStore } from './tenants/redis-store.js';

export interface StartOptions {
  config: ServerConfig;
  logger?: Logger;
  /** More routes, mounted before Beckon's. */
  routers?: Router<AppState>[];
}

export interface RunningServer {
  /** Where it listens, e.g. `http://127.0.0.1:5100`. */
  url: string;
  server: Server;
  deps: ServerDeps;
  /** Where `METRICS_PORT` serves the metrics (`http://127.0.0.1:<port>/metrics`); undefined without it. */
  metricsUrl?: string;
  /**
   * Stops accepting connections, lets requests in flight and then background texts finish, and closes
   * the store — all within `graceMs` (default 10 s, inside systemd's usual stop timeout).
   */
  close(graceMs?: number): Promise<void>;
}

/**
 * Wires Beckon's dependencies from a validated config: the database (PostgreSQL or the embedded one,
 * migrated); the NetSapiens client, and Twilio's when `TWILIO_*` are set; the file store and in-memory
 * limits, or with `REDIS_URL` both in Redis; the background tasks. For host apps mounting `createRouter`;
 * `start` uses it too. Close with `closeDeps`.
 */
export async function createDeps(config: ServerConfig, options: { publicUrl?: string; logger?: Logger } = {}): Promise<ServerDeps> {
  const logger = options.logger ?? createLogger(config.logLevel, undefined, config.logFormat);
  // PUBLIC_URL wins; `options.publicUrl` is the fallback a host that knows its address passes.
  const publicUrl = config.publicUrl ?? options.publicUrl;
  if (!publicUrl) throw new ConfigError(['PUBLIC_URL is required here: set it, or pass createDeps() a publicUrl']);
  const background = new BackgroundTasks(logger);
  // Counted only when something reads them (METRICS_TOKEN or METRICS_PORT): otherwise no collectors or
  // event-loop monitor run, and no request pays for a histogram nobody scrapes.
  const served = config.metrics.token !== undefined || config.metrics.port !== undefined;
  const metrics = served ? new Metrics({ backgroundDropped: () => background.dropped }) : undefined;
  const common = {
    config: { ...config, publicUrl },
    ns: createNsClient({
      baseUrl: config.nsApiBase,
      auth: { token: config.nsToken },
      timeoutMs: config.nsTimeoutMs,
      hooks: metrics && {
        onResponse: ({ status, error }) =>
          metrics.providerRequest('netsapiens', status === undefined ? (error ?? 'network') : `${Math.floor(status / 100)}xx`),
      },
    }),
    botCheck: config.turnstile && createTurnstileCheck({ ...config.turnstile, logger }),
    twilio:
      config.twilio &&
      createTwilioClient({ accountSid: config.twilio.accountSid, authToken: config.twilio.authToken, baseUrl: config.twilio.apiBase }),
    dialpad: config.dialpad.apiKey ? createDialpadClient({ apiKey: config.dialpad.apiKey, baseUrl: config.dialpad.apiBase }) : undefined,
    ringcentral: config.ringcentral && createRingCentralClient(config.ringcentral),
    logger,
    background,
    ...(metrics && { metrics }),
    lifecycle: { stopping: false },
  };
  const stores = await openStores(config, logger);
  if (config.twilio?.single) stores.tenants = withSingleNumberId(stores.tenants, config.twilio.single);
  try {
    const db = await openMigratedDatabase(config, { logger });
    return { ...common, ...stores, db, callEvents: createCallEventBus(db, logger), callbackEvents: createCallbackEventBus(db, logger) };
  } catch (error) {
    await stores.tenants.close();
    await stores.redis?.close();
    throw error;
  }
}

/** The per-id config and the limits: from the file and in memory, or with `REDIS_URL` both in Redis. */
async function openStores(config: ServerConfig, logger: Logger): Promise<Pick<ServerDeps, 'tenants' | 'limits' | 'redis'>> {
  if (!config.redis) {
    return { tenants: await openFileTenantStore({ path: config.domainsFile, logger }), limits: createMemoryLimits(config) };
  }
  // Several instances: limits, text-back dedupe and per-id config shared through Redis.
  const { prefix } = config.redis;
  const redis = await connectRedis(config.redis.url, { logger });
  try {
    return {
      tenants: await openRedisTenantStore({ redis, logger, prefix }),
      limits: createRedisLimits(config, redis, prefix),
      redis: { ready: () => redis.status === 'ready', close: () => closeRedis(redis) },
    };
  } catch (error) {
    await closeRedis(redis);
    throw new RedisUnavailableError(`Redis (REDIS_URL) could not be used: ${(error as Error).message}`, { cause: error });
  }
}

/** Ends the live streams, lets background texts finish (until `deadline`, a timestamp) and closes the store (and Redis), then the database. */
export async function closeDeps(deps: ServerDeps, deadline = Date.now() + 10_000): Promise<void> {
  await deps.callEvents?.close();
  await deps.callbackEvents?.close();
  await deps.background.drain(Math.max(0, deadline - Date.now()));
  await deps.tenants.close();
  await deps.redis?.close();
  await deps.db?.close();
}

/** Wires the dependencies from a validated config and listens. */
export async function start({
  config,
  logger = createLogger(config.logLevel, undefined, config.logFormat),
  routers,
}: StartOptions): Promise<RunningServer> {
  // Listen before wiring the app: without PUBLIC_URL, the public URL is the address actually bound (PORT may be 0).
  const { maxConnections, headersTimeoutMs, requestTimeoutMs } = config.http;
  const server = createServer({
    // Slow-loris protection: a client gets this long to send its headers and its whole request. Node
    // enforces both only when it checks its connections (every 30 s by default, so a slow client held a
    // socket for up to a minute): check every second instead.
    headersTimeout: headersTimeoutMs,
    requestTimeout: requestTimeoutMs,
    connectionsCheckingInterval: 1_000,
  });
  // Past this, new connections are closed at once: idle sockets cannot use up the process's descriptors.
  server.maxConnections = maxConnections;
  // Said once a minute at most while it lasts: an operator seeing NetSapiens' deliveries refused must find why.
  let lastDropLog = 0;
  server.on('drop', () => {
    if (Date.now() - lastDropLog < 60_000) return;
    lastDropLog = Date.now();
    logger.warn({ maxConnections }, 'MAX_CONNECTIONS reached: new connections are closed at once until some end');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}`;
  // Until wired (Redis may take a moment to connect), say so rather than leave requests hanging.
  const starting = (_request: IncomingMessage, response: ServerResponse) => {
    response.writeHead(503, { 'content-type': 'application/json; charset=utf-8', 'retry-after': '1' });
    response.end(JSON.stringify({ status: 'error', message: 'Starting up; try again in a moment.' }));
  };
  server.on('request', starting);
  let deps: ServerDeps;
  try {
    deps = await createDeps(config, { publicUrl: url, logger });
  } catch (error) {
    server.close();
    throw error;
  }
  server.off('request', starting);
  server.on('request', createApp(deps, { routers }).callback());
  // METRICS_PORT: the metrics on a loopback port of their own, for a scraper on this machine.
  const metricsServer =
    config.metrics.port !== undefined && deps.metrics ? await serveMetrics(deps.metrics, config.metrics.port, logger) : undefined;
  if (metricsServer) logger.info({ url: metricsServer.url }, 'metrics served on loopback (METRICS_PORT)');
  // NetSapiens subscriptions are renewed before they expire, by whichever instance claims each first.
  const { db, ns } = deps;
  const stopRenewals =
    db && ns.subscriptions
      ? startRenewals({ db, ns: { subscriptions: ns.subscriptions }, tenants: deps.tenants, publicUrl: deps.config.publicUrl, logger })
      : async () => undefined;
  // RingCentral subscriptions likewise, and replaced when RingCentral blacklisted them or lost them.
  const { ringcentral } = deps;
  const stopRingcentral =
    db && ringcentral
      ? startRingcentralRenewals({ db, ringcentral, tenants: deps.tenants, publicUrl: deps.config.publicUrl, logger })
      : async () => undefined;
  // Every instance relays call events to the ids' event_webhooks; the outbox keeps them from sending one twice.
  const relay = db
    ? startEventRelay({ db, tenants: deps.tenants, logger, ...(deps.callEvents ? { bus: deps.callEvents } : {}) })
    : undefined;
  // Texts (the Twilio missed-call text-back) go out from the database's outbox, whichever instance queued them.
  const { twilio } = deps;
  const texts =
    db && twilio
      ? startTextSender({
          db,
          logger,
          ...(deps.callEvents ? { bus: deps.callEvents } : {}),
          ...(deps.metrics ? { metrics: deps.metrics } : {}),
          senders: { twilio: async (text) => ({ providerMessageId: (await twilio.sendSms(text)).sid }) },
        })
      : undefined;
  // Dialpad deliveries whose normalization failed (or was cut short by a restart) are taken up again from their stored row.
  const dialpadDeliveries = db ? startDialpadProcessor({ db, tenants: deps.tenants, logger }) : undefined;
  // Booked callbacks are placed at their time by whichever instance claims each, and every placed one follows its call's events.
  const callbacks = startCallbacks(deps);
  if (!config.publicUrl && isLocalOnly(url) && !isLocalOnly(config.nsApiBase)) {
    logger.warn(
      { publicUrl: url },
      'PUBLIC_URL is not set: widgets and NetSapiens would be sent to an address only this machine can reach; /update-sms will not provision',
    );
  }
  logger.info(
    { url, publicUrl: deps.config.publicUrl, ids: deps.tenants.size(), trustProxy: config.trustProxy },
    'beckon-server listening',
  );

  let closing: Promise<void> | undefined;
  const close = (graceMs = 10_000) =>
    (closing ??= (async () => {
      const deadline = Date.now() + graceMs;
      // /ready answers 503 from now on, on the connections still open: a load balancer stops sending.
      if (deps.lifecycle) deps.lifecycle.stopping = true;
      metricsServer?.server.close();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // Live streams never finish on their own: end them, or the server would wait for them until the cut-off.
      void deps.callEvents?.close();
      void deps.callbackEvents?.close();
      // Not only the connections idle now: each one whose request finishes during the grace period too,
      // or a client's keep-alive would hold the shutdown up to the cut-off.
      server.closeIdleConnections();
      const idle = setInterval(() => server.closeIdleConnections(), 50);
      const cutOff = setTimeout(() => server.closeAllConnections(), graceMs);
      cutOff.unref();
      await closed;
      clearInterval(idle);
      clearTimeout(cutOff);
      await stopRenewals();
      await stopRingcentral();
      await relay?.close();
      await texts?.close();
      await dialpadDeliveries?.close();
      await callbacks?.close();
      await closeDeps(deps, deadline);
      logger.info('beckon-server stopped');
    })());
  return { url, server, deps, close, ...(metricsServer && { metricsUrl: metricsServer.url }) };
}
