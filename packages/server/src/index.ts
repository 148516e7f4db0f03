// The public API of @beckon/server: build the app or its router, wire its dependencies, run it.
// Everything else is internal and may change between versions.

// The app, and its routes for mounting in another Koa app.
export { createApp, type AppOptions } from './app.js';
export { createRouter } from './router.js';
export type { AppState } from './context.js';

// Running it: configuration, wiring, start and stop.
export { ConfigError, loadConfig, loadDatabaseConfig, TURNSTILE_VERIFY_URL, type ServerConfig } from './config.js';
export { closeDeps, createDeps, start, type RunningServer, type StartOptions } from './start.js';
export type { ServerDeps } from './deps.js';
export { BackgroundTasks } from './background.js';
export { Metrics } from './metrics/metrics.js';
export { createLogger, maskPhone, type Logger } from './logging.js';
export { HttpError, type HttpErrorOptions } from './http-error.js';

// The parts of ServerDeps, for hosts that wire their own.
export { createMemoryLimits, createRedisLimits, type Limits } from './guards/limits.js';
export { createTurnstileCheck, type BotCheck, type BotCheckResult, type TurnstileOptions } from './guards/turnstile.js';
export { checkPhone, DEFAULT_COUNTRIES, type PhoneVerdict } from './guards/phone-policy.js';
export { openFileTenantStore, type FileTenantStoreOptions } from './tenants/file-store.js';
export { openRedisTenantStore, type RedisTenantStoreOptions } from './tenants/redis-store.js';
export { parseTenants, type Branding, type TenantConfig, type Tenants } from './tenants/schema.js';
export { TenantStoreBusyError, type TenantChange, type TenantStore } from './tenants/store.js';
export { connectRedis, RedisUnavailableError } from './redis.js';
export {
  DatabaseUnavailableError,
  type Database,
  type Engine,
  type ListenOptions,
  type Queryable,
  type QueryResult,
  type SqlValue,
} from './db/database.js';
export { describeDatabase, openDatabase, openMigratedDatabase } from './db/open.js';
export { MIGRATIONS, type Migration } from './db/migrations/index.js';
export { loadWidgetBundle, type WidgetAsset, type WidgetBundle } from './widget-bundle.js';

// Actions on call events that `start` runs beside the server; a host with its own wiring starts them itself.
export {
  signEventWebhook,
  startEventRelay,
  type CallEventWebhookPayload,
  type EventRelay,
  type EventRelayOptions,
  type EventWebhook,
} from './actions/event-webhooks.js';

// Dialpad: its REST client, the deliveries' processor, and a stand-in for tests and demos.
export { createDialpadClient, DialpadError, type DialpadClient, type DialpadClientOptions } from './providers/dialpad/client.js';
export { startDialpadProcessor } from './providers/dialpad/intake.js';
export {
  postDialpadToken,
  signDialpadEvent,
  startDialpadStandIn,
  type DialpadStandIn,
  type DialpadStandInFault,
} from './providers/dialpad/stand-in/index.js';
// Twilio: its webhook signatures, its REST client, and a stand-in for tests and demos (no account needed).
export {
  createTwilioClient,
  TwilioError,
  type TwilioClient,
  type TwilioClientOptions,
  type TwilioResource,
} from './providers/twilio/client.js';
export {
  parseTwilioForm,
  signTwilioRequest,
  TWILIO_SIGNATURE_HEADER,
  twilioSigningPayload,
  twilioWebhookUrl,
  verifyTwilioSignature,
  type TwilioParams,
  type TwilioSignatureCheck,
} from './providers/twilio/signature.js';
export {
  DIAL_CALL_STATUSES,
  placeTwilioCall,
  sendTwilioSms,
  startTwilioStandIn,
  type DialCallStatus,
  type PlaceTwilioCallOptions,
  type SendTwilioSmsOptions,
  type TwilioInboundSms,
  type TwilioPlacedCall,
  type TwilioStandIn,
  type TwilioStandInFault,
} from './providers/twilio/stand-in/index.js';
export {
  queueText,
  recordOptOut,
  startTextSender,
  type TextRequest,
  type TextPolicy,
  type TextSender,
  type TextSenderOptions,
} from './actions/texts.js';

// RingCentral: its REST client (subscriptions), the renewal loop a host with its own wiring runs, and a stand-in.
export {
  createRingCentralClient,
  RingCentralError,
  type RingCentralClient,
  type RingCentralClientOptions,
  type RingCentralSubscription,
} from './providers/ringcentral/client.js';
export {
  checkRingcentralSubscriptions,
  startRingcentralRenewals,
  type RingCentralSubscribeDeps,
} from './providers/ringcentral/subscribe.js';
export {
  startRingCentralStandIn,
  type RingCentralStandIn,
  type RingCentralStandInFault,
  type RingCentralStandInOptions,
  type StandInCall as RingCentralStandInCall,
} from './providers/ringcentral/stand-in/index.js';

// What `beckon-server import-config` / `export-config` / `migrate` do, for scripts.
export { exportConfig, importConfig } from './cli/config-transfer.js';
export { migrate, UnknownMigrationError, type MigrateResult } from './db/migrate.js';

// Callbacks: the worker a host with its own wiring runs to place bookings and follow their status (start() runs it).
export { placementFor, type CallPlacement } from './callbacks/placement.js';
export { createCallbackEventBus, type CallbackEventBus } from './callbacks/status-stream.js';
export { startCallbacks, startCallbackWorker, type CallbackWorkerOptions } from './callbacks/worker.js';
