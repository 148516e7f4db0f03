import { Redis } from 'ioredis';
import type { Logger } from 'pino';

/** Redis could not be reached at start-up; the message names the address (password hidden) and why. */
export class RedisUnavailableError extends Error {
  override name = 'RedisUnavailableError';
}

/** The URL with any password replaced, fit for logs and error messages. */
export function redactRedisUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.href;
  } catch {
    return 'redis://(unparseable URL)';
  }
}

export interface RedisConnectOptions {
  logger: Logger;
  /** How long the first connection may take before start-up gives up. Default 3 s. */
  connectTimeoutMs?: number;
}

/**
 * A connection that fails fast instead of queueing: while Redis is down, commands reject at once, so
 * the limits fall back to their in-memory insurance and requests are never held waiting. The client
 * keeps reconnecting in the background (at most every 2 s) and logs only when its state changes.
 */
export async function connectRedis(url: string, options: RedisConnectOptions): Promise<Redis> {
  const where = redactRedisUrl(url);
  const logger = options.logger.child({ redis: where });
  const client = new Redis(url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    connectTimeout: options.connectTimeoutMs ?? 3_000,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
  });
  watchState(client, logger);
  try {
    await client.connect();
    await client.ping();
  } catch (error) {
    client.disconnect();
    throw new RedisUnavailableError(`Redis at ${where} (REDIS_URL) is unreachable: ${(error as Error).message}`, { cause: error });
  }
  return client;
}

/** One log line per change between up and down, never one per failed retry. */
export function watchState(client: Redis, logger: Logger): void {
  let up: boolean | undefined;
  const down = (reason: string) => {
    if (up === true) logger.error({ reason }, 'Redis is unavailable: serving from memory');
    up = false;
  };
  client.on('ready', () => {
    if (up === false) logger.warn('Redis is back');
    up = true;
  });
  // Without an 'error' listener, a dropped connection would be an uncaught exception.
  client.on('error', (error: Error) => down(error.message));
  client.on('close', () => down('connection closed'));
}

/**
 * Resolves once the client is ready (at once if it is), or rejects with the signal's reason. A client
 * without an offline queue refuses commands until then, and each connection reconnects on its own schedule.
 */
export function untilReady(client: Redis, signal: AbortSignal): Promise<void> {
  if (client.status === 'ready') return Promise.resolve();
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise((resolve, reject) => {
    const ready = () => {
      signal.removeEventListener('abort', abort);
      resolve();
    };
    const abort = () => {
      client.off('ready', ready);
      reject(signal.reason as Error);
    };
    client.once('ready', ready);
    signal.addEventListener('abort', abort, { once: true });
  });
}

/** Closes without logging the closing as an outage; a Redis that is already gone is simply dropped. */
export async function closeRedis(client: Redis): Promise<void> {
  client.removeAllListeners('close');
  if (client.status === 'ready') await client.quit().catch(() => client.disconnect());
  else client.disconnect();
}
