import type { Middleware } from 'koa';
import type { AppState } from '../context.js';
import { failedForNow } from '../events/intake.js';
import { HttpError } from '../http-error.js';

const RETRY_AFTER_SECONDS = 5;

/**
 * Outermost on the `/api/*` and `/internal/*` routes: a database that cannot be reached now (or a
 * transient SQLSTATE) is a 503 with `Retry-After`, so a client tries again rather than report Beckon
 * broken; the cause is logged. Beckon's own bugs stay 500s.
 */
export function databaseOutage(): Middleware<AppState> {
  return async function databaseOutage(ctx, next) {
    try {
      await next();
    } catch (error) {
      if (error instanceof HttpError || !failedForNow(error)) throw error;
      ctx.state.log.error({ err: error }, 'the database is unavailable');
      throw new HttpError(503, 'The database is unavailable; try again in a moment', {
        headers: { 'Retry-After': String(RETRY_AFTER_SECONDS) },
      });
    }
  };
}
