import cors from '@koa/cors';
import Router from '@koa/router';
import type { Middleware } from 'koa';
import { requireAppKey } from './api/api-keys.js';
import { createAppRoute, deleteAppRoute, listAppsRoute, rotateKeyRoute } from './api/apps.js';
import { upsertCustomersRoute } from './api/customers.js';
import { activeCallsRoute, listCallsRoute } from './api/calls.js';
import { listMessagesRoute } from './api/messages.js';
import { listVoicemailsRoute } from './api/voicemails.js';
import { callStreamRoute, createCallEventBus } from './api/call-stream.js';
import { requireBearer, requireInternalSecret } from './api/internal-auth.js';
import { createStreamTokenRoute } from './api/stream-tokens.js';
import { databaseOutage } from './api/unavailable.js';
import type { AppState } from './context.js';
import { createCustomerLookup } from './customers/lookup.js';
import type { ServerDeps } from './deps.js';
import { parseBody } from './middleware/body.js';
import { errorEnvelope } from './middleware/errors.js';
import { metricsRoute } from './metrics/serve.js';
import { requestContext } from './middleware/request-context.js';
import { createWebhookRoute, listWebhooksRoute, subscribeDialpadRoute } from './providers/dialpad/admin.js';
import { dialpadWebhook } from './providers/dialpad/intake.js';
import { createSecretBox } from './providers/dialpad/secrets.js';
import { listDialpadSubscriptions } from './providers/dialpad/store.js';
import { netsapiensWebhook } from './providers/netsapiens/intake.js';
import { listSubscriptionsRoute, subscribeRoute } from './providers/netsapiens/subscribe.js';
import { ringcentralWebhook } from './providers/ringcentral/intake.js';
import { ringcentralSubscribeRoute } from './providers/ringcentral/subscribe.js';
import {
  twilioCallWebhook,
  twilioClickToCallStatusWebhook,
  twilioDialStatusWebhook,
  twilioSmsWebhook,
} from './providers/twilio/webhooks.js';
import { DIAL_STATUS_PATH } from './providers/twilio/originate.js';
import { cancelRoute, slotsRoute } from './callbacks/routes.js';
import { callbackStatusRoute, createCallbackEventBus } from './callbacks/status-stream.js';
import { clickToCall } from './routes/click-to-call.js';
import { requireSecret, updateDomain, updateSms } from './routes/forms.js';
import { health, ready } from './routes/health.js';
import { webresponder } from './routes/webresponder.js';
import { widgetBundleRoute, widgetConfigRoute, widgetLoader } from './routes/widget.js';
import { loadWidgetBundle, type WidgetBundle } from './widget-bundle.js';

/** A router for Beckon's routes (typed state, so no route needs a cast). */
export function newRouter(): Router<AppState> {
  return new Router<AppState>();
}

/**
 * Beckon's routes, to mount in another Koa app (`app.use(router.routes()).use(router.allowedMethods())`):
 * each request they answer gets Beckon's request id, log line and JSON error envelope; requests for
 * other paths are left to the host. The widget bundle is read once, here, from `@beckon/widget` unless given.
 */
export function createRouter(deps: ServerDeps, bundle?: WidgetBundle): Router<AppState> {
  const router = newRouter();
  router.use(requestContext(deps.logger, deps.metrics), errorEnvelope());
  return addRoutes(router, deps, bundle);
}

/**
 * Every Beckon route, with the middleware each one runs, in one screen. `createApp` mounts them under its
 * own request context and envelope; `createRouter` under the router's.
 */
export function addRoutes(
  router: Router<AppState>,
  deps: ServerDeps,
  bundle: WidgetBundle | undefined = loadWidgetBundle(),
): Router<AppState> {
  // Every embed would load a 503: say so once, at start, rather than let it pass unseen.
  if (!bundle) deps.logger.warn('the widget bundle is missing (@beckon/widget/cdn): run `npm run build`; /widget.js embeds will not load');

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
  // Booking callbacks: the open slots (public, like /widget-config), cancelling (from the widget's page,
  // its origin checked by the route like click-to-call's), and the live status (the token is the credential).
  router.get('/click-to-call/slots', slotsRoute(deps));
  if (deps.db) {
    const cancelCors = cors({
      origin: (ctx) => ctx.get('Origin'),
      allowMethods: ['DELETE', 'OPTIONS'],
      allowHeaders: ['Content-Type'],
      maxAge: 600,
    });
    router.options('/click-to-call/:callback_id', cancelCors);
    router.delete('/click-to-call/:callback_id', cancelCors, cancelRoute(deps));
    const callbackBus = deps.callbackEvents ?? createCallbackEventBus(deps.db, deps.logger);
    router.get(
      '/click-to-call/:callback_id/events',
      callbackStatusRoute({ db: deps.db, bus: callbackBus, now: () => deps.clock?.() ?? new Date() }),
    );
  }

  router.get('/widget.js', widgetLoader(deps, bundle));
  router.get('/widget-config', widgetConfigRoute(deps));
  router.get(
    '/widget/call-us-button.js',
    widgetBundleRoute(bundle, (files) => files.esm),
  );
  router.get(
    '/widget/call-us-button.iife.js',
    widgetBundleRoute(bundle, (files) => files.iife),
  );
  router.get(
    '/widget/call-popup.js',
    widgetBundleRoute(bundle, (files) => files.popup),
  );
  // The bundles' source maps, where their `//# sourceMappingURL` comments point (for browsers' devtools).
  router.get(
    '/widget/call-us-button.js.map',
    widgetBundleRoute(bundle, (files) => files.maps.esm),
  );
  router.get(
    '/widget/call-us-button.iife.js.map',
    widgetBundleRoute(bundle, (files) => files.maps.iife),
  );
  router.get(
    '/widget/call-popup.js.map',
    widgetBundleRoute(bundle, (files) => files.maps.popup),
  );
  router.get('/webresponder', webresponder(deps));
  router.post('/webresponder', webresponder(deps));

  const form = [parseBody({ accept: ['form', 'multipart', 'json'], limit: 65_536 }), requireSecret(deps)] as const;
  router.post('/update-domain', ...form, updateDomain(deps));
  router.post('/update-sms', ...form, updateSms(deps));

  router.get('/health', health(deps));
  router.get('/ready', ready(deps));
  // Prometheus metrics: only with METRICS_TOKEN (or on METRICS_PORT, see start.ts); otherwise a 404 like any unknown path.
  const metricsToken = deps.config.metrics?.token;
  if (metricsToken && deps.metrics) {
    const scraper = requireBearer(metricsToken, { variable: 'METRICS_TOKEN', what: 'the metrics token', realm: 'beckon-metrics' });
    router.get('/metrics', scraper, metricsRoute(deps.metrics));
  }

  // The Dialpad webhook secrets Beckon creates are sealed with a key derived from INTERNAL_API_SECRET.
  const dialpadSecrets = deps.config.internalApiSecret ? createSecretBox(deps.config.internalApiSecret) : undefined;

  // Provider webhooks: only with a database, where each delivery is stored before it is answered.
  if (deps.db) {
    const lookup = createCustomerLookup({
      ...deps.customerLookup,
      db: deps.db,
      tenants: deps.tenants,
      logger: deps.logger,
      background: deps.background,
    });
    router.post('/webhooks/netsapiens', netsapiensWebhook({ db: deps.db, tenants: deps.tenants, lookup }));
    // Dialpad's JWTs: verified with DIALPAD_WEBHOOK_SECRET or the secret of a webhook created below.
    const { dialpad } = deps.config;
    router.post(
      '/webhooks/dialpad',
      dialpadWebhook({
        db: deps.db,
        tenants: deps.tenants,
        secrets: dialpadSecrets,
        fallback: dialpad?.webhookSecret && dialpad.defaultId ? { secret: dialpad.webhookSecret, tenant: dialpad.defaultId } : undefined,
        background: deps.background,
      }),
    );
    router.post('/webhooks/ringcentral', ringcentralWebhook({ db: deps.db, tenants: deps.tenants, lookup }));
  }

  // Twilio's webhooks: with the account's settings (TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN), whose token signs them.
  const { twilio } = deps.config;
  if (twilio) {
    const twilioDeps = {
      db: deps.db,
      tenants: deps.tenants,
      authToken: twilio.authToken,
      publicUrl: deps.config.publicUrl,
      textPolicy: {
        windowSeconds: deps.config.textBackWindowSeconds ?? 600,
        perIdPerHour: deps.config.limits?.textsPerIdPerHour ?? 60,
      },
      now: () => deps.clock?.() ?? new Date(),
    };
    router.post('/webhooks/twilio/call', twilioCallWebhook(twilioDeps));
    router.post('/webhooks/twilio/call/status/:callSid', twilioDialStatusWebhook(twilioDeps));
    router.post('/webhooks/twilio/sms', twilioSmsWebhook(twilioDeps));
    // A Twilio click-to-call's progress (its legs' status callbacks), for the callback's live status.
    router.post(DIAL_STATUS_PATH, twilioClickToCallStatusWebhook(twilioDeps));
  }

  // Admin routes (/internal/*): only with INTERNAL_API_SECRET set and a database; otherwise these paths do
  // not exist (404, like any unknown path). Each runs `admin` first, before its body is read. On these
  // and on /api/*, `outage` turns a database that cannot be reached now into a 503 with Retry-After.
  const { db } = deps;
  const outage = databaseOutage();
  // Keys, phone numbers, customers: no cache on the way may keep an answer of /internal/* or /api/*, errors included.
  const noStore: Middleware<AppState> = (ctx, next) => {
    ctx.set('Cache-Control', 'no-store');
    return next();
  };
  if (deps.config.internalApiSecret && db) {
    const admin = requireInternalSecret(deps.config.internalApiSecret);
    router.post('/internal/apps', noStore, admin, outage, createAppRoute({ db, tenants: deps.tenants }));
    router.get('/internal/apps', noStore, admin, outage, listAppsRoute({ db }));
    router.delete('/internal/apps/:app_id', noStore, admin, outage, deleteAppRoute({ db }));
    router.post('/internal/apps/:app_id/api-key', noStore, admin, outage, rotateKeyRoute({ db, graceHours: deps.config.apiKeyGraceHours }));
    router.post('/internal/customers', noStore, admin, outage, upsertCustomersRoute({ db, tenants: deps.tenants }));
    router.get('/internal/subscriptions', noStore, admin, outage, listSubscriptionsRoute({ db, others: [listDialpadSubscriptions] }));
    router.get('/internal/webhooks', noStore, admin, outage, listWebhooksRoute({ db }));
    if (deps.dialpad && dialpadSecrets) {
      const dialpadAdmin = {
        db,
        tenants: deps.tenants,
        client: deps.dialpad,
        secrets: dialpadSecrets,
        publicUrl: deps.config.publicUrl,
        defaultId: deps.config.dialpad?.defaultId,
      };
      router.post('/internal/webhooks/create', noStore, admin, outage, createWebhookRoute(dialpadAdmin));
      router.post('/internal/subscriptions/dialpad', noStore, admin, outage, subscribeDialpadRoute(dialpadAdmin));
    }
    const { subscriptions } = deps.ns;
    const { publicUrl } = deps.config;
    if (subscriptions) {
      const subscribe = subscribeRoute({ db, ns: { subscriptions }, tenants: deps.tenants, publicUrl, logger: deps.logger });
      router.post('/internal/subscriptions/netsapiens', noStore, admin, outage, subscribe);
    }
    const { ringcentral } = deps;
    if (ringcentral) {
      const subscribe = ringcentralSubscribeRoute({ db, ringcentral, tenants: deps.tenants, publicUrl, logger: deps.logger });
      router.post('/internal/subscriptions/ringcentral', noStore, admin, outage, subscribe);
    }
  }

  // Reading calls with an app's key (/api/*): only with a database.
  if (db) {
    const appKey = requireAppKey(db);
    router.get('/api/calls', noStore, outage, appKey, listCallsRoute(db));
    router.get('/api/active-calls', noStore, outage, appKey, activeCallsRoute(db));
    router.get('/api/messages', noStore, outage, appKey, listMessagesRoute(db));
    router.get('/api/voicemails', noStore, outage, appKey, listVoicemailsRoute(db));
    // The live stream: a browser opens it with a short-lived token its page's backend got with the app key.
    // Deps without a bus (`createDeps` makes one) get one here, which listens from the first stream on.
    router.post('/api/stream-tokens', noStore, outage, appKey, createStreamTokenRoute(db));
    const bus = deps.callEvents ?? createCallEventBus(db, deps.logger);
    const { streams } = deps.config;
    router.get(
      '/api/call-stream',
      outage,
      callStreamRoute({ db, bus, maxStreams: streams?.max, maxStreamsPerApp: streams?.perApp, metrics: deps.metrics }),
    );
  }
  return router;
}
