import type { Middleware } from 'koa';
import type { AppState } from '../context.js';
import { HttpError } from '../http-error.js';

/** What Koa itself throws (`ctx.throw`, a body it cannot read): `expose` marks a message meant for the client. */
interface KoaHttpError {
  status?: unknown;
  expose?: unknown;
  message?: unknown;
}

/**
 * The one JSON error envelope, `{"status":"error","message","code"?}`. An `HttpError` says what to do;
 * anything else is a 500 that says only that something failed, with the request id to quote, while the
 * detail goes to the log.
 */
export function errorEnvelope(): Middleware<AppState> {
  return async function errorEnvelope(ctx, next) {
    try {
      await next();
    } catch (error) {
      const { status, message, headers, code } = describe(error);
      if (status >= 500 && !(error instanceof HttpError)) {
        ctx.state.log.error({ err: error }, 'request failed');
        ctx.body = { status: 'error', message: `${message} (request ${ctx.state.requestId})` };
      } else {
        ctx.body = { status: 'error', message, ...(code ? { code } : {}) };
      }
      ctx.status = status;
      if (status < 500) ctx.state.refusal = message;
      ctx.set(headers);
    }
  };
}

function describe(error: unknown): { status: number; message: string; headers: Record<string, string>; code?: string | undefined } {
  if (error instanceof HttpError) return { status: error.status, message: error.message, headers: error.headers, code: error.code };
  const koaError = error as KoaHttpError;
  if (typeof koaError?.status === 'number' && koaError.status >= 400 && koaError.status < 500 && koaError.expose) {
    return { status: koaError.status, message: String(koaError.message), headers: {} };
  }
  return { status: 500, message: 'Something went wrong on our side', headers: {} };
}
