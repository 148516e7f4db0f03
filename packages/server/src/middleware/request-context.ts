import { randomUUID } from 'node:crypto';
import type { Middleware } from 'koa';
import type { Logger } from 'pino';
import type { AppState } from '../context.js';
import { clientAddress } from '../guards/limits.js';
import { maskPhonesIn } from '../logging.js';

const INCOMING_ID = /^[A-Za-z0-9._:-]{8,128}$/;

/**
 * Gives each request an id (a caller's `X-Request-Id` when well-formed) and a child logger, and logs
 * one line when it ends. The line has the path only: queries can hold phone numbers (`NmsAni`).
 */
export function requestContext(logger: Logger): Middleware<AppState> {
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
