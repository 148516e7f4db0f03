import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createNsClient } from '@beckon/ns-client';
import { createApp } from './app.js';
import { BackgroundTasks } from './background.js';
import type { ServerConfig } from './config.js';
import type { ServerDeps } from './deps.js';
import { createMemoryLimits } from './guards/limits.js';
import { createLogger, type Logger } from './logging.js';
import { openFileTenantStore } from './tenants/file-store.js';

export interface StartOptions {
  config: ServerConfig;
  logger?: Logger;
}

export interface RunningServer {
  /** Where it listens, e.g. `http://127.0.0.1:5100`. */
  url: string;
  server: Server;
  deps: ServerDeps;
  /** Stops accepting connections, lets requests in flight and background texts finish (up to `graceMs`), closes the store. */
  close(graceMs?: number): Promise<void>;
}

/** Wires the dependencies from a validated config and listens. */
export async function start({ config, logger = createLogger(config.logLevel) }: StartOptions): Promise<RunningServer> {
  const tenants = await openFileTenantStore({ path: config.domainsFile, logger });
  const deps: ServerDeps = {
    config,
    ns: createNsClient({ baseUrl: config.nsApiBase, auth: { token: config.nsToken }, timeoutMs: config.nsTimeoutMs }),
    tenants,
    limits: createMemoryLimits(config),
    logger,
    background: new BackgroundTasks(logger),
  };
  const server = createServer(createApp(deps).callback());
  // Slow-loris protection: a client gets this long to send its headers and its whole request.
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
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
  logger.info({ url, publicUrl: config.publicUrl, ids: tenants.size(), trustProxy: config.trustProxy }, 'beckon-server listening');

  let closing: Promise<void> | undefined;
  const close = (graceMs = 10_000) =>
    (closing ??= (async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const deadline = setTimeout(() => server.closeAllConnections(), graceMs);
      deadline.unref();
      await closed;
      clearTimeout(deadline);
      await deps.background.drain(graceMs);
      await tenants.close();
      logger.info('beckon-server stopped');
    })());
  return { url, server, deps, close };
}
