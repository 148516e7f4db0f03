import type { NsClient } from '@beckon/ns-client';
import type { Logger } from 'pino';
import type { CallEventBus } from './api/call-stream.js';
import type { BackgroundTasks } from './background.js';
import type { CallbackEventBus } from './callbacks/status-stream.js';
import type { ServerConfig } from './config.js';
import type { CustomerLookupOptions } from './customers/lookup.js';
import type { Database } from './db/database.js';
import type { Limits } from './guards/limits.js';
import type { Metrics } from './metrics/metrics.js';
import type { BotCheck } from './guards/turnstile.js';
import type { DialpadClient } from './providers/dialpad/client.js';
import type { RingCentralClient } from './providers/ringcentral/client.js';
import type { TwilioClient } from './providers/twilio/client.js';
import type { ConfigState } from './tenants/redis-store.js';
import type { TenantStore } from './tenants/store.js';

/** Everything the routes need, built once by `main` (or by a host app) and passed in: no globals. */
export interface ServerDeps {
  config: Pick<ServerConfig, 'updateSecret' | 'trustProxy' | 'provisionEmail'> &
    Partial<
      Pick<
        ServerConfig,
        | 'provisionApplication'
        | 'nsApiBase'
        | 'webresponderSecret'
        | 'internalApiSecret'
        | 'apiKeyGraceHours'
        | 'streams'
        | 'twilio'
        | 'textBackWindowSeconds'
        | 'limits'
        | 'dialpad'
        | 'metrics'
      >
    > & {
      /** Where the public reaches this server (resolved: `PUBLIC_URL`, or the listening address). */
      publicUrl: string;
    };
  /** `subscriptions` is optional for host apps wiring their own client: without it, `/internal/subscriptions/netsapiens` is not mounted. */
  ns: Pick<NsClient, 'queuedCalls' | 'messages' | 'provisionWebresponder'> & Partial<Pick<NsClient, 'subscriptions'>>;
  /** Per-id config. The Redis store also says whether its copy may lack changes made elsewhere, for `/health`. */
  tenants: TenantStore & { state?(): ConfigState };
  limits: Limits;
  /** Verifies Turnstile tokens for ids with `require_turnstile`; absent when `TURNSTILE_SECRET_KEY` is not set. */
  botCheck?: BotCheck;
  /**
   * The Twilio account's REST client (click-to-call of ids with `provider: "twilio"`, the texts' outbox);
   * absent when `TWILIO_ACCOUNT_SID` and `TWILIO_AUTH_TOKEN` are not set.
   */
  twilio?: TwilioClient;
  /** Dialpad's REST client (creating webhooks and subscriptions); absent when `DIALPAD_API_KEY` is not set. */
  dialpad?: DialpadClient;
  /**
   * RingCentral's client (subscriptions of ids to the JWT user's calls); absent when the `RINGCENTRAL_*`
   * settings are not set: then `/internal/subscriptions/ringcentral` is not mounted. The webhook itself
   * needs only the database.
   */
  ringcentral?: RingCentralClient;
  /** Redis, when `REDIS_URL` is set: its state for `/health`, and closing it. */
  redis?: { ready(): boolean; close(): Promise<void> };
  /**
   * Calls, call events, apps, keys, customers, subscriptions: opened and migrated by `createDeps`, closed
   * by `closeDeps`. Optional so that a host app wiring its own dependencies for today's routes
   * (click-to-call, text-back, the forms, the widget) needs no database; the routes that read or write
   * one are mounted only when it is there.
   */
  db?: Database;
  /**
   * The live streams' bus (`GET /api/call-stream`), one per process: made by `createDeps`, closed (ending
   * the open streams) by `closeDeps`. Without it, the stream route makes its own.
   */
  callEvents?: CallEventBus;
  /**
   * The callback status streams' bus (`GET /click-to-call/:callback_id/events`), one per process: made by
   * `createDeps`, closed by `closeDeps`. Without it, the route makes its own.
   */
  callbackEvents?: CallbackEventBus;
  /** What "now" is for bookings and their placement; default the system clock (tests move it). */
  clock?: () => Date;
  logger: Logger;
  background: BackgroundTasks;
  /** Prometheus metrics (`GET /metrics`): made by `createDeps`; without them nothing is counted. */
  metrics?: Metrics;
  /** `stopping` turns `/ready` to 503 while the server drains (set by `start`'s close), so a load balancer stops sending. */
  lifecycle?: { stopping: boolean };
  /** The customer lookup's limits (`customer_lookup_url`), when not its defaults: 1 s, 16 KiB, cached 5 minutes, 10 000 answers. */
  customerLookup?: Pick<CustomerLookupOptions, 'timeoutMs' | 'maxBytes' | 'ttlMs' | 'maxEntries'>;
}
