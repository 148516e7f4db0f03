import type { Middleware } from 'koa';
import type { AppState } from '../context.js';
import { failedForNow } from '../db/database.js';
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

/**
 * A provider webhook's database step: an outage (or a conflict worth retrying) is a 503 with
 * `Retry-After` that says nothing was stored, so the provider delivers again; the cause is logged.
 */
export async function storedOrRedeliver<T>(ctx: { state: AppState }, provider: string, step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (error) {
    if (!failedForNow(error)) throw error;
    ctx.state.log.error({ err: error }, `${provider} delivery not stored: the database is unavailable`);
    throw new HttpError(503, 'The database is unavailable: nothing was stored; deliver again later', {
      headers: { 'Retry-After': String(RETRY_AFTER_SECONDS) },
    });
  }
}
