import type Router from '@koa/router';
import Koa from 'koa';
import type { AppState } from './context.js';
import type { ServerDeps } from './deps.js';
import { HttpError } from './http-error.js';
import { errorEnvelope } from './middleware/errors.js';
import { requestContext } from './middleware/request-context.js';
import { addRoutes, newRouter } from './router.js';

export interface AppOptions {
  /** More routes, mounted before Beckon's (the demo page uses this). */
  routers?: Router<AppState>[];
}

/**
 * The Beckon server as a Koa app. It never listens: `main` does, or a test through
 * `http.createServer(app.callback())`. Behind a reverse proxy, `config.trustProxy` hops of
 * `X-Forwarded-For` are believed; otherwise the header is ignored and the socket's address is the client.
 *
 * The whole middleware order, once: the request context outermost (its log line reports the status the
 * envelope chose), the error envelope, the routes (each with its own CORS, body parser and secret check,
 * see `router.ts`), and last what answers a request no route took.
 */
export function createApp(deps: ServerDeps, options: AppOptions = {}): Koa<AppState> {
  const app = new Koa<AppState>({
    proxy: deps.config.trustProxy > 0,
    maxIpsCount: deps.config.trustProxy,
  });
  // Errors are answered and logged by the envelope; Koa's default printer would log them again.
  app.silent = true;
  const router = addRoutes(newRouter(), deps);
  app.use(requestContext(deps.logger, deps.metrics));
  app.use(errorEnvelope());
  for (const extra of options.routers ?? []) app.use(extra.routes());
  app.use(router.routes());
  app.use(unrouted(router));
  return app;
}

/**
 * A request no route answered: on a path Beckon serves, another method is a 405 naming the ones it takes
 * (OPTIONS lists them), and an unknown method too (a 5xx would mean our failure); elsewhere a 404. Both
 * are thrown to the envelope, like every other refusal. (`allowedMethods({ throw: true })` would do the
 * same, but its error factories are not told which methods the path takes, and `Allow` must say.)
 */
function unrouted(router: Router<AppState>): Koa.Middleware<AppState> {
  return function unrouted(ctx) {
    const allowed = [...new Set(router.match(ctx.path, ctx.method).path.flatMap((layer) => layer.methods))];
    if (allowed.length === 0) throw new HttpError(404, `There is no ${ctx.method} ${ctx.path} here`);
    const allow = allowed.join(', ');
    ctx.set('Allow', allow);
    if (ctx.method === 'OPTIONS') {
      ctx.status = 200;
      ctx.body = '';
      return;
    }
    throw new HttpError(405, `${ctx.method} is not accepted here; use ${allow}`, { headers: { Allow: allow } });
  };
}
