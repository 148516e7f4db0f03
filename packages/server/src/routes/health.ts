import type { Middleware } from 'koa';

/** `GET /health`: the process is up and serving. */
export function health(): Middleware {
  return function health(ctx) {
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { status: 'ok' };
  };
}
