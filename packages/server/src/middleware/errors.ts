import type { Middleware } from 'koa';
import type { AppState } from '../context.js';

/**
 * An error whose message is meant for the caller (a person can act on it): status, message, headers
 * such as `Retry-After`, and for errors a visitor sees, a stable `code` the widget shows in the
 * visitor's language (the message is English).
 */
export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
    readonly code?: string,
  ) {
    super(message);
  }
}

interface KoaHttpError {
  status?: unknown;
  expose?: unknown;
  message?: unknown;
}

/**
 * The one JSON error envelope, `{"status":"error","message"}`. An `ApiError` says what to do; anything
 * else is a 500 that says only that something failed, with the request id to quote, while the detail
 * goes to the log.
 */
export function errorEnvelope(): Middleware<AppState> {
  return async function errorEnvelope(ctx, next) {
    try {
      await next();
      // Statuses set without a body (a 405 from the router's allowedMethods) get the envelope too.
      if (ctx.status >= 400 && ctx.body == null) {
        const allow = ctx.response.get('Allow');
        const message = ctx.status === 404 ? `There is no ${ctx.method} ${ctx.path} here` : allow ? `${ctx.method} is not accepted here; use ${allow}` : `Request failed (${ctx.status})`;
        ctx.body = { status: 'error', message };
      }
    } catch (error) {
      const { status, message, headers } = describe(error);
      const code = error instanceof ApiError ? error.code : undefined;
      const unexpected = !(error instanceof ApiError);
      if (unexpected) ctx.state.log.error({ err: error }, 'request failed');
      ctx.status = status;
      if (status < 500) ctx.state.refusal = message;
      ctx.set(headers);
      ctx.body = { status: 'error', message: unexpected && status >= 500 ? `${message} (request ${ctx.state.requestId})` : message, ...(code ? { code } : {}) };
    }
  };
}

function describe(error: unknown): { status: number; message: string; headers: Record<string, string> } {
  if (error instanceof ApiError) return { status: error.status, message: error.message, headers: error.headers };
  // Errors from Koa itself and from ctx.throw: exposed ones are meant for the client.
  const httpError = error as KoaHttpError;
  if (typeof httpError?.status === 'number' && httpError.status >= 400 && httpError.status < 500 && httpError.expose) {
    return { status: httpError.status, message: String(httpError.message), headers: {} };
  }
  return { status: 500, message: 'Something went wrong on our side', headers: {} };
}
