import cors from '@koa/cors';
import Router from '@koa/router';
import type { AppState } from './context.js';
import type { ServerDeps } from './deps.js';
import { parseBody } from './middleware/body.js';
import { errorEnvelope } from './middleware/errors.js';
import { requestContext } from './middleware/request-context.js';
import { clickToCall } from './routes/click-to-call.js';
import { requireSecret, updateDomain, updateSms } from './routes/forms.js';
import { health } from './routes/health.js';
import { webresponder } from './routes/webresponder.js';
import { widgetBundleRoute, widgetConfigRoute, widgetLoader } from './routes/widget.js';
import { loadWidgetBundle, type WidgetBundle } from './widget-bundle.js';

/**
 * Every Beckon route, with the middleware each one runs, in one screen. Mount it in any Koa app
 * (`app.use(router.routes()).use(router.allowedMethods())`); `createApp` does exactly that (and shows
 * the whole middleware order). The widget bundle is read once, here, from `@beckon/widget` unless given.
 */
export function createRouter(deps: ServerDeps, bundle: WidgetBundle | undefined = loadWidgetBundle()): Router<AppState> {
  // Every embed would load a 503: say so once, at start, rather than let it pass unseen.
  if (!bundle) deps.logger.warn('the widget bundle is missing (@beckon/widget/cdn): run `npm run build`; /widget.js embeds will not load');
  const router = new Router<AppState>();
  router.use(requestContext(deps.logger), errorEnvelope());

  // The widget posts from customers' pages. Any origin may ask (the preflight carries no id to check);
  // the route itself refuses origins an id does not list.
  const widgetCors = cors({
    origin: (ctx) => ctx.get('Origin'),
    allowMethods: ['POST', 'OPTIONS'],
    allowHeaders: ['Content-Type'],
    maxAge: 600,
  });
  router.options('/click-to-call', widgetCors);
  router.post('/click-to-call', widgetCors, parseBody({ accept: ['json'], limit: 4_096 }), clickToCall(deps));

  router.get('/widget.js', widgetLoader(deps, bundle));
  router.get('/widget-config', widgetConfigRoute(deps));
  router.get('/widget/call-us-button.js', widgetBundleRoute(bundle, (files) => files.esm));
  router.get('/widget/call-us-button.iife.js', widgetBundleRoute(bundle, (files) => files.iife));
  router.get('/webresponder', webresponder(deps));
  router.post('/webresponder', webresponder(deps));

  const form = [parseBody({ accept: ['form', 'multipart', 'json'], limit: 65_536 }), requireSecret(deps)] as const;
  router.post('/update-domain', ...form, updateDomain(deps));
  router.post('/update-sms', ...form, updateSms(deps));

  router.get('/health', health(deps));
  return router;
}
