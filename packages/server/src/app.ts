import type Router from '@koa/router';
import Koa from 'koa';
import type { AppState } from './context.js';
import type { ServerDeps } from './deps.js';
import { errorEnvelope } from './middleware/errors.js';
import { requestContext } from './middleware/request-context.js';
import { createRouter } from './router.js';

export interface AppOptions {
  /** More routes, mounted before Beckon's (the demo page uses this). */
  routers?: Router<AppState>[];
}

/**
 * The Beckon server as a Koa app. It never listens: `main` does, or a test through
 * `http.createServer(app.callback())`. Behind a reverse proxy, `config.trustProxy` hops of
 * `X-Forwarded-For` are believed; otherwise the header is ignored and the socket's address is the client.
 * The whole middleware order is here; `createRouter` repeats the request context and the error envelope
 * so that it also works mounted on its own (they run once either way).
 */
export function createApp(deps: ServerDeps, options: AppOptions = {}): Koa<AppState> {
  const app = new Koa<AppState>({
    proxy: deps.config.trustProxy > 0,
    maxIpsCount: deps.config.trustProxy,
  });
  // Errors are answered and logged by the envelope; Koa's default printer would log them again.
  app.silent = true;
  const router = createRouter(deps);
  app.use(requestContext(deps.logger));
  app.use(errorEnvelope());
  for (const extra of options.routers ?? []) app.use(extra.routes());
  app.use(router.routes());
  // The router answers 501 to a method it does not know (PROPFIND, PURGE…): a 5xx here means our failure,
  // so such a request is a 405 (with Allow) on a path we serve, and a 404 elsewhere.
  app.use(async function unknownMethod(ctx, next) {
    await next();
    if (ctx.status === 501 && ctx.body == null) ctx.status = ctx.response.get('Allow') ? 405 : 404;
  });
  app.use(router.allowedMethods());
  // No route: a 404, which allowedMethods (above) turns into a 405 when the path exists for another method.
  app.use(function notFound(ctx) {
    ctx.status = 404;
  });
  return app;
}
