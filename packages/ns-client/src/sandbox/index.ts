import { randomBytes } from 'node:crypto';
import type { EventEmitter } from 'node:events';
import { isIP } from 'node:net';
import type { NsCallRecord } from '../resources/subscriptions.js';
import { Deliverer, type DeliverySettings, type QueuedCallLegs } from './deliveries.js';
import { FaultList, type SandboxFault } from './faults.js';
import type { OAuthSettings } from './routes/shared.js';
import { SandboxServer } from './server.js';
import {
  SandboxState,
  type SandboxAnswerRule,
  type SandboxCall,
  type SandboxCallState,
  type SandboxDelivery,
  type SandboxDialRule,
  type SandboxEvents,
  type SandboxMessage,
  type SandboxRequest,
  type SandboxSubscription,
  type SandboxUser,
} from './state.js';

export { SANDBOX_ROUTE_NAMES, type SandboxFault, type SandboxRouteName } from './faults.js';
export {
  BODY_SCHEMAS,
  SUBSCRIPTION_MODELS,
  USER_SCOPES,
  validateBody,
  type BodySchema,
  type FieldRule,
  type FieldType,
  type SchemaName,
} from './schemas.js';
export { MAX_BODY_BYTES } from './body.js';
export {
  dialRuleId,
  MAX_RECORDED_REQUESTS,
  type SandboxAnswerRule,
  type SandboxCall,
  type SandboxCallState,
  type SandboxDelivery,
  type SandboxDeliveryAttempt,
  type SandboxDialRule,
  type SandboxEvents,
  type SandboxMessage,
  type SandboxProvisionEvent,
  type SandboxRequest,
  type SandboxSnapshot,
  type SandboxSubscription,
  type SandboxSubscriptionEvent,
  type SandboxUser,
} from './state.js';

export interface NsSandboxOAuthOptions {
  clientId: string;
  clientSecret: string;
  username: string;
  password: string;
  /** Access-token lifetime; default 3600. */
  expiresInSeconds?: number;
  /** true: `/ns-api/v2/tokens` answers 404 "No Route Found", as on an older cluster. */
  legacyEndpointOnly?: boolean;
}

/**
 * How the sandbox delivers to a subscription's `post-url`. NetSapiens documents no retry policy, only
 * that failed posts count as errors; these defaults retry a few times within seconds. Tests set short
 * waits.
 */
export interface NsSandboxDeliveryOptions {
  /** How many times a failed post (no answer, or a status above 302) is sent again; default 3. */
  retries?: number;
  /** The wait before the first retry, in ms, doubled before each further one; default 1000 (1 s, 2 s, 4 s). */
  backoffMs?: number;
  /** The most one post may take, answer included, in ms; default 5000. */
  timeoutMs?: number;
}

/**
 * A call for `simulateCall`: from outside the domain (through a carrier gateway) to one of its users.
 * Invalid options throw `TypeError`.
 */
export interface SimulateCallOptions {
  /**
   * The domain the call comes into. Every active subscription of model `call` (full records) or
   * `call_origid` (the shorter ones) for this domain or `*`, and for the user `to` or `*`, receives it.
   */
  domain: string;
  /**
   * The caller. E.164 (`+18135551234`) arrives as digits with the country code (`18135551234`) in
   * `orig_from_user`, `orig_from_uri` (`sip:18135551234@…`) and `ani`; anything else as it is.
   */
  from: string;
  /** The caller's name (CNAM), `orig_from_name`; default empty, as for many calls from outside. */
  fromName?: string;
  /** The user whose phone rings: `term_user`. */
  to: string;
  /** What the caller dialled, e.g. the DID `19295550100`: `orig_to_user`, `dnis`; default `to`. */
  dialed?: string;
  /** Whether someone answers: ringing → answered → ended; `false` is a missed call, ringing → ended. Default `true`. */
  answer?: boolean;
  /** The call's `orig_callid`; default a random carrier-style Call-ID. */
  callId?: string;
  /**
   * Which states are delivered, in which order; each must be a state of this call. A state may repeat
   * (a redelivery: the identical record again) or come late: `['ringing', 'ended', 'ringing']`,
   * `['ended', 'answered']`. Default: each state once, in order.
   */
  order?: SandboxCallState[];
  /**
   * The time between the call's state changes, in ms: the records' times are this far apart, and each
   * delivery starts this long after the previous one ended. Default 0.
   */
  stepMs?: number;
}

/** What `simulateCall` resolves to, once every delivery has succeeded or given up. */
export interface SimulatedCall {
  /** The records' `orig_callid`. */
  callId: string;
  /** Each state's record as a `call` subscription receives it (`answered` only for an answered call). */
  records: { ringing: NsCallRecord; answered?: NsCallRecord; ended: NsCallRecord };
  /** One per state delivered and subscription, in the order sent, each with its attempts' statuses; empty when no subscription matched. */
  deliveries: SandboxDelivery[];
}

export interface NsSandboxOptions {
  /** Default 0: an ephemeral port. */
  port?: number;
  /** Default `127.0.0.1`. */
  host?: string;
  /** The API key accepted as a bearer token; default: a random 32-character token. */
  token?: string;
  /** Enables the OAuth token endpoints. */
  oauth?: NsSandboxOAuthOptions;
  /**
   * Default true: a user created through v2 gets a default `*` answer rule, as NetSapiens v2 does.
   * false reproduces clusters where it is missing.
   */
  autoCreateAnswerRule?: boolean;
  /** Retries and timeouts of deliveries to subscriptions. */
  deliveries?: NsSandboxDeliveryOptions;
  /**
   * Off by default. When set, each queued call accepted (and not failed for a bare queue) is followed by
   * its leg to the destination, as NetSapiens reports it to the queue domain's `call` subscriptions:
   * ringing → answered → ended, or ringing → ended unanswered (see `QueuedCallLegsOptions`).
   */
  queuedCallLegs?: QueuedCallLegsOptions;
}

/** How the sandbox plays the legs of queued calls to subscriptions (`NsSandboxOptions.queuedCallLegs`). */
export interface QueuedCallLegsOptions {
  /** Whether the destination answers: a boolean for every call, or asked per destination (E.164 as queued). Default true. */
  answer?: boolean | ((destination: string) => boolean);
  /** How long after the queued call's answer the destination starts ringing, in ms. Default 50. */
  delayMs?: number;
  /** The time between the leg's states, in ms (as `SimulateCallOptions.stepMs`). Default 50. */
  stepMs?: number;
}

/** A running sandbox. The collections are snapshots: each read returns fresh copies. */
export interface NsSandbox {
  /** `http://127.0.0.1:PORT`, without a trailing slash. */
  readonly url: string;
  readonly token: string;
  /** Queued calls received, oldest first. */
  readonly calls: readonly SandboxCall[];
  /** SMS received, oldest first. */
  readonly messages: readonly SandboxMessage[];
  readonly users: readonly SandboxUser[];
  readonly dialRules: readonly SandboxDialRule[];
  readonly answerRules: readonly SandboxAnswerRule[];
  /** Event subscriptions, oldest first, deleted ones gone, expired ones kept (they receive nothing). */
  readonly subscriptions: readonly SandboxSubscription[];
  /** Deliveries to subscriptions, oldest first, each with its attempts so far. */
  readonly deliveries: readonly SandboxDelivery[];
  /** Every request to the NetSapiens routes (not the `/_sandbox` control endpoints), oldest first. */
  readonly requests: readonly SandboxRequest[];
  /** `call`, `message`, `provision`, `request`, `subscription` and `delivery`, for live demo pages. */
  readonly events: EventEmitter<SandboxEvents>;
  /**
   * Simulates a call into a domain, as NetSapiens reports it to `call` subscriptions: one delivery
   * per state (ringing, answered, ended; or ringing, ended when missed) to every matching active
   * subscription, each a POST of a one-record JSON array to its `post-url`, retried on failure (see
   * `NsSandboxDeliveryOptions`). Resolves once every delivery has succeeded or given up; a failed
   * delivery does not reject.
   *
   * @example
   * ```ts
   * const call = await sandbox.simulateCall({ domain: 'example.com', from: '+18135551234', fromName: 'Dana Reyes', to: '2000' });
   * call.deliveries.map((delivery) => `${delivery.state} → ${delivery.attempts.map((attempt) => attempt.status).join(', ')}`);
   * // [ 'ringing → 200', 'answered → 200', 'ended → 200' ]
   * ```
   */
  simulateCall(options: SimulateCallOptions): Promise<SimulatedCall>;
  /**
   * Delivers `records` as they are (a JSON array) to one subscription, active or not, with the same
   * retries: to redeliver a record, or send records out of order or several in one post. Throws
   * `TypeError` for an unknown subscription or records that are not objects.
   */
  deliver(subscriptionId: string, records: readonly NsCallRecord[]): Promise<SandboxDelivery>;
  inject(fault: SandboxFault): void;
  clearFaults(): void;
  /** Forgets calls, messages, provisioning, subscriptions, deliveries (stopping those under way), requests, faults and issued OAuth tokens. */
  reset(): void;
  /** Every issued OAuth access token becomes invalid (its next use answers 401); refresh tokens stay valid. */
  expireAccessTokens(): void;
  /** Every issued refresh token becomes invalid (a refresh answers 401; a password login still works). */
  revokeRefreshTokens(): void;
  /** Closes the server and destroys open connections; deliveries under way stop. */
  close(): Promise<void>;
}

function requireText(value: unknown, name: string): string {
  if (typeof value !== 'string' || value.trim() === '') throw new TypeError(`${name} must be a non-empty string`);
  return value;
}

function deliverySettings(options: NsSandboxDeliveryOptions = {}): DeliverySettings {
  const { retries = 3, backoffMs = 1000, timeoutMs = 5000 } = options;
  if (!Number.isInteger(retries) || retries < 0) throw new TypeError('deliveries.retries must be a whole number ≥ 0');
  if (typeof backoffMs !== 'number' || !Number.isFinite(backoffMs) || backoffMs < 0) {
    throw new TypeError('deliveries.backoffMs must be a non-negative number');
  }
  if (typeof timeoutMs !== 'number' || !Number.isFinite(timeoutMs) || timeoutMs <= 0) {
    throw new TypeError('deliveries.timeoutMs must be a positive number');
  }
  return { retries, backoffMs, timeoutMs };
}

function queuedCallLegs(options: QueuedCallLegsOptions | undefined): QueuedCallLegs | undefined {
  if (options === undefined) return undefined;
  const { answer = true, delayMs = 50, stepMs = 50 } = options;
  if (typeof answer !== 'boolean' && typeof answer !== 'function')
    throw new TypeError('queuedCallLegs.answer must be a boolean or a function');
  for (const [name, value] of [
    ['delayMs', delayMs],
    ['stepMs', stepMs],
  ] as const) {
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0)
      throw new TypeError(`queuedCallLegs.${name} must be a non-negative number`);
  }
  return { answer, delayMs, stepMs };
}

function oauthSettings(oauth: NsSandboxOAuthOptions | undefined): OAuthSettings | undefined {
  if (oauth === undefined) return undefined;
  const expiresInSeconds = oauth.expiresInSeconds ?? 3600;
  if (typeof expiresInSeconds !== 'number' || !Number.isFinite(expiresInSeconds) || expiresInSeconds <= 0) {
    throw new TypeError('oauth.expiresInSeconds must be a positive number');
  }
  return {
    clientId: requireText(oauth.clientId, 'oauth.clientId'),
    clientSecret: requireText(oauth.clientSecret, 'oauth.clientSecret'),
    username: requireText(oauth.username, 'oauth.username'),
    password: requireText(oauth.password, 'oauth.password'),
    expiresInSeconds,
    legacyEndpointOnly: oauth.legacyEndpointOnly === true,
  };
}

/** Starts a local HTTP server that answers like a NetSapiens portal's API. */
export async function startNsSandbox(options: NsSandboxOptions = {}): Promise<NsSandbox> {
  const port = options.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new TypeError('port must be a whole number from 0 to 65535');
  const host = requireText(options.host ?? '127.0.0.1', 'host');
  const token = options.token === undefined ? randomBytes(16).toString('hex') : requireText(options.token, 'token');
  // The bearer value is one header token: whitespace inside could never be presented.
  if (/\s/.test(token)) throw new TypeError('token must not contain whitespace');
  const settings = { oauth: oauthSettings(options.oauth), autoCreateAnswerRule: options.autoCreateAnswerRule !== false };

  const state = new SandboxState();
  const faults = new FaultList();
  const deliverer = new Deliverer(state, deliverySettings(options.deliveries));
  const reset = () => {
    deliverer.stopAll();
    state.reset();
    faults.clear();
  };
  const legs = queuedCallLegs(options.queuedCallLegs);
  if (legs) state.events.on('call', (call) => void deliverer.simulateQueuedCallLeg(call, legs));
  const server = new SandboxServer({ state, faults, deliverer, settings, reset }, token);
  const address = await server.listen(port, host);
  const url = `http://${isIP(host) === 6 ? `[${host}]` : host}:${address.port}`;

  return {
    url,
    token,
    get calls() {
      return state.calls;
    },
    get messages() {
      return state.messages;
    },
    get users() {
      return state.users;
    },
    get dialRules() {
      return state.dialRules;
    },
    get answerRules() {
      return state.answerRules;
    },
    get subscriptions() {
      return state.subscriptions;
    },
    get deliveries() {
      return state.deliveries;
    },
    get requests() {
      return state.requests;
    },
    events: state.events,
    simulateCall: (call) => deliverer.simulateCall(call),
    // A TypeError becomes a rejection, as from simulateCall.
    deliver: async (subscriptionId, records) => deliverer.deliver(subscriptionId, records),
    inject: (fault) => faults.inject(fault),
    clearFaults: () => faults.clear(),
    reset,
    expireAccessTokens: () => state.expireAccessTokens(),
    revokeRefreshTokens: () => state.revokeRefreshTokens(),
    close: () => {
      deliverer.close();
      return server.close();
    },
  };
}
