// An existing Koa app — its own middleware and routes — with Beckon's routes mounted in it.
// `server.mjs` runs it; the test builds it against a NetSapiens sandbox.
import Router from '@koa/router';
import Koa from 'koa';
import { createRouter } from '@beckon/server';

/**
 * The host app, given Beckon's dependencies (`createDeps(config, { publicUrl })` from `@beckon/server`).
 * Nothing here listens: `server.mjs` does (and the test, on port 0).
 */
export function createHostApp(deps) {
  // Behind a reverse proxy, believe X-Forwarded-For from exactly TRUST_PROXY hops, as beckon-server does:
  // Beckon's rate limits key on ctx.ip.
  const app = new Koa({ proxy: deps.config.trustProxy > 0, maxIpsCount: deps.config.trustProxy });

  // The host's own middleware. It wraps every request, Beckon's included.
  app.use(async function responseTime(ctx, next) {
    const started = performance.now();
    await next();
    ctx.set('X-Response-Time', `${(performance.now() - started).toFixed(1)}ms`);
  });

  // The host's own routes.
  const site = new Router();
  site.get('/', (ctx) => {
    ctx.body = 'Welcome to Example Co. Want a call back? Use the button on any page.';
  });
  site.get('/about', (ctx) => {
    ctx.body = { company: 'Example Co', founded: 1999 };
  });
  app.use(site.routes()).use(site.allowedMethods());

  // Beckon: /click-to-call, /widget.js, /widget-config, /widget/*, /webresponder, /update-domain,
  // /update-sms and /health. The router brings its own request ids and JSON error envelope; it does not
  // touch requests for other paths, so mount it wherever you like.
  const beckon = createRouter(deps);
  app.use(beckon.routes()).use(beckon.allowedMethods());

  // Anything else falls through to Koa's own 404.
  return app;
}
