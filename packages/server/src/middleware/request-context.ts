import { randomUUID } from 'node:crypto';
import type { Middleware } from 'koa';
import type { Logger } from 'pino';
import type { AppState } from '../context.js';
import { clientAddress } from '../guards/limits.js';
import { maskPhonesIn } from '../logging.js';
import type { Metrics } from '../metrics/metrics.js';

const INCOMING_ID = /^[A-Za-z0-9._:-]{8,128}$/;
/** Methods counted by name in the metrics; any other is `other`, so made-up methods cannot add series. */
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/**
 * Gives each request an id (a caller's `X-Request-Id` when well-formed) and a child logger, and logs
 * one line when it ends. The line has the path only: queries can hold phone numbers (`NmsAni`).
 */
export function requestContext(logger: Logger, metrics?: Metrics): Middleware<AppState> {
  return async function requestContext(ctx, next) {
    const incoming = ctx.get('X-Request-Id');
    const requestId = INCOMING_ID.test(incoming) ? incoming : randomUUID();
    ctx.state.requestId = requestId;
    ctx.state.log = logger.child({ requestId });
    ctx.set('X-Request-Id', requestId);
    const started = performance.now();
    // Read now: once the client has gone, the request has no socket and `ctx.ip` would throw.
    const ip = clientAddress(ctx.ip);
    try {
      await next();
    } finally {
      // The route's pattern, never the path itself: paths hold ids and call SIDs, and each would be a series of its own.
      const route = (ctx as { _matchedRoute?: unknown })._matchedRoute;
      metrics?.request(
        typeof route === 'string' ? route : 'unmatched',
        METHODS.has(ctx.method) ? ctx.method : 'other',
        ctx.status,
        (performance.now() - started) / 1000,
      );
      ctx.state.log.info(
        {
          method: ctx.method,
          path: ctx.path,
          status: ctx.status,
          ms: Math.round(performance.now() - started),
          ip,
          // A refusal may quote what was sent: a customer's phone, say.
          reason: ctx.state.refusal === undefined ? undefined : maskPhonesIn(ctx.state.refusal),
        },
        'request',
      );
    }
  };
}
