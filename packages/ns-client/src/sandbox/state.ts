import { randomBytes, randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { NsCallRecord } from '../resources/subscriptions.js';
import type { SandboxRouteName } from './faults.js';

/** A queued call the sandbox received (legacy `queuedcall` object or the v2 route). */
export interface SandboxCall {
  id: string;
  /** When it arrived (ISO 8601). */
  at: string;
  api: 'v1' | 'v2';
  /** `EXT@DOMAIN`; for v2, built from the path as `${callqueue}@${domain}`. */
  queue: string;
  destination: string;
  uid?: string;
  /** The queue's domain, when the queue names one. */
  domain?: string;
  /** `failed` is what a real cluster does silently (it still answers 202): see `reason`. */
  status: 'queued' | 'failed';
  reason?: string;
}

export interface SandboxMessage {
  id: string;
  at: string;
  domain: string;
  user: string;
  /** Absent for `POST …/users/{user}/messages`, which has no session. */
  sessionId?: string;
  type: string;
  message: string;
  destination: string | string[];
  fromNumber?: string;
}

/** A user as NetSapiens returns it: the kebab-case fields sent at creation, plus `domain` and `user`. */
export interface SandboxUser {
  domain: string;
  user: string;
  'name-first-name': string;
  'name-last-name': string;
  'email-address': string;
  'user-scope': string;
  [field: string]: unknown;
}

/** A dial rule: every field sent (unknown ones too, for inspection) plus where it lives and its id. */
export interface SandboxDialRule {
  domain: string;
  dialplan: string;
  /** The rule's id: base64 of `sip:${match}@*`. */
  dialrule: string;
  'dial-rule-dial-plan': string;
  'dial-rule-matching-to-uri': string;
  'dial-rule-translation-destination-user': string;
  enabled: string;
  [field: string]: unknown;
}

/** What creates an answer rule (the sandbox adds its `order`). */
export interface NewAnswerRule {
  domain: string;
  user: string;
  'time-frame': string;
  enabled: string;
  [field: string]: unknown;
}

/** An answer rule: `enabled` plus feature objects such as `forward-always: {enabled, parameters}`. */
export interface SandboxAnswerRule extends NewAnswerRule {
  /** Priority among the user's time frames; `*` (the default rule) is 99. */
  order: number;
}

/** One request the sandbox received. Never holds the Authorization header or a secret. */
export interface SandboxRequest {
  id: number;
  at: string;
  method: string;
  /** The pathname as sent (still percent-encoded). */
  path: string;
  /** Query parameters; values of secret-looking names are `[redacted]`. */
  query: Record<string, string>;
  route: SandboxRouteName | null;
  /** The status answered; null while the request is being handled, or when no answer was sent (dropped by a fault, sandbox closed). */
  status: number | null;
  /** Whether an injected fault applied to this request. */
  fault: boolean;
  /** Whether it carried a valid bearer token (the API key or a live OAuth access token). */
  authorized: boolean;
  /** The parsed body; absent for token endpoints, empty or unreadable bodies. Secret-looking fields are `[redacted]`. */
  body?: unknown;
}

/**
 * An event subscription as NetSapiens keeps and returns it: the fields sent (unknown ones too) and
 * NetSapiens' own. `post-url` is kept whole, secret included: it is where deliveries go.
 */
export interface SandboxSubscription {
  /** 32 hex characters. */
  id: string;
  model: string;
  'post-url': string;
  /** Default `*`. */
  domain: string;
  /** Default `*`. */
  user: string;
  /** Default `*`. */
  reseller: string;
  'user-scope': string;
  'subscription-geo-support': string;
  'preferred-server': string;
  'current-active-server': string;
  /** `pending` until a delivery succeeds, then `active`; `error` after a failed attempt, until one succeeds. */
  status: 'pending' | 'active' | 'error';
  /** Delivery attempts that failed (no answer, or a status above 302). */
  'error-count': number;
  /** Delivery attempts, failed ones included. */
  'posts-count': number;
  /** `YYYY-MM-DD HH:MM:SS`, UTC. */
  'subscription-creation-datetime': string;
  /** `YYYY-MM-DD HH:MM:SS`, UTC; 20 years after creation when none was sent. */
  'subscription-expires-datetime': string;
  [field: string]: unknown;
}

/** A call's states, in the order they happen: `ended` is the record with `remove: 'yes'`. */
export type SandboxCallState = 'ringing' | 'answered' | 'ended';

/** One POST of a delivery to its subscription's `post-url`. */
export interface SandboxDeliveryAttempt {
  /** 1 for the first try, 2 for the first retry, … */
  attempt: number;
  /** When it was sent (ISO 8601). */
  at: string;
  /** The status the receiver answered; null when it did not (refused, reset, timed out, aborted). */
  status: number | null;
  /** Why there was no status: a system error code (`ECONNREFUSED`, `ECONNRESET`), `timeout` or `aborted`. */
  error?: string;
  /** Whether it counts as delivered: a status from 200 to 302, as NetSapiens counts errors above 302. */
  ok: boolean;
}

/**
 * A JSON array of records the sandbox sent, or is sending, to one subscription's `post-url`, with
 * every attempt. The URL itself is not repeated here: see the subscription.
 */
export interface SandboxDelivery {
  /** Increasing from 1, in the order deliveries started. */
  id: number;
  /** When the first attempt was sent (ISO 8601). */
  at: string;
  subscriptionId: string;
  /** The subscription's model: `call` sends full records, `call_origid` the shorter ones. */
  model: string;
  /** For `simulateCall`: which of the call's states the records carry. */
  state?: SandboxCallState;
  /** The array POSTed. */
  records: NsCallRecord[];
  attempts: SandboxDeliveryAttempt[];
  /**
   * `sending` while attempts remain, `delivered` once one is `ok`, `failed` when every attempt failed
   * or the sandbox was reset or closed meanwhile.
   */
  outcome: 'sending' | 'delivered' | 'failed';
}

export type SandboxSubscriptionEvent = { action: 'create' | 'update' | 'delete'; record: SandboxSubscription };

export type SandboxProvisionEvent =
  | { kind: 'user'; action: 'create'; record: SandboxUser }
  | { kind: 'dialRule'; action: 'create' | 'update'; record: SandboxDialRule }
  | { kind: 'answerRule'; action: 'create' | 'update'; record: SandboxAnswerRule };

export type SandboxEvents = {
  call: [call: SandboxCall];
  message: [message: SandboxMessage];
  provision: [event: SandboxProvisionEvent];
  request: [request: SandboxRequest];
  /** A subscription was created, updated (a renewal, or its counters after a delivery attempt) or deleted. */
  subscription: [event: SandboxSubscriptionEvent];
  /** A delivery attempt ended (or the delivery gave up): the delivery with its attempts so far. */
  delivery: [delivery: SandboxDelivery];
};

export interface SandboxSnapshot {
  calls: SandboxCall[];
  messages: SandboxMessage[];
  users: SandboxUser[];
  dialRules: SandboxDialRule[];
  answerRules: SandboxAnswerRule[];
  subscriptions: SandboxSubscription[];
  deliveries: SandboxDelivery[];
}

export interface TokenGrant {
  accessToken: string;
  refreshToken: string;
  expiresInSeconds: number;
}

/** A long-running demo must not grow without bound: the oldest requests, and the oldest deliveries, are forgotten past this. */
export const MAX_RECORDED_REQUESTS = 10_000;

const DEFAULT_TIME_FRAME = '*';
const DEFAULT_RULE_ORDER = 99;

/** NetSapiens' rule id: its own example `c2lwOjYxMUAq` is base64 of `sip:611@*`. */
export function dialRuleId(match: string): string {
  return Buffer.from(`sip:${match}@*`, 'utf8').toString('base64');
}

function key(...parts: string[]): string {
  return JSON.stringify(parts);
}

function newToken(): string {
  // 24 random bytes are 32 base64url characters, with no padding to escape anywhere.
  return randomBytes(24).toString('base64url');
}

/** The in-memory NetSapiens: provisioning, traffic received, and issued OAuth tokens. */
export class SandboxState {
  readonly events = new EventEmitter<SandboxEvents>();
  #calls: SandboxCall[] = [];
  #messages: SandboxMessage[] = [];
  #users = new Map<string, SandboxUser>();
  #dialRules = new Map<string, SandboxDialRule>();
  #answerRules = new Map<string, SandboxAnswerRule>();
  #requests: SandboxRequest[] = [];
  #nextRequestId = 1;
  #subscriptions = new Map<string, SandboxSubscription>();
  #deliveries: SandboxDelivery[] = [];
  #nextDeliveryId = 1;
  /** Access token → expiry (epoch ms). */
  #accessTokens = new Map<string, number>();
  #refreshTokens = new Set<string>();

  constructor() {
    // Live demo pages add one listener per connected browser.
    this.events.setMaxListeners(100);
  }

  // Copies on the way out: neither a reader nor a listener can change the sandbox's state.
  get calls(): SandboxCall[] {
    return structuredClone(this.#calls);
  }
  get messages(): SandboxMessage[] {
    return structuredClone(this.#messages);
  }
  get users(): SandboxUser[] {
    return structuredClone([...this.#users.values()]);
  }
  get dialRules(): SandboxDialRule[] {
    return structuredClone([...this.#dialRules.values()]);
  }
  get answerRules(): SandboxAnswerRule[] {
    return structuredClone([...this.#answerRules.values()]);
  }
  get requests(): SandboxRequest[] {
    return structuredClone(this.#requests);
  }
  get subscriptions(): SandboxSubscription[] {
    return structuredClone([...this.#subscriptions.values()]);
  }
  get deliveries(): SandboxDelivery[] {
    return structuredClone(this.#deliveries);
  }

  snapshot(): SandboxSnapshot {
    return {
      calls: this.calls,
      messages: this.messages,
      users: this.users,
      dialRules: this.dialRules,
      answerRules: this.answerRules,
      subscriptions: this.subscriptions,
      deliveries: this.deliveries,
    };
  }

  addCall(fields: Omit<SandboxCall, 'id' | 'at'>): SandboxCall {
    const call: SandboxCall = { id: randomUUID(), at: new Date().toISOString(), ...fields };
    this.#calls.push(call);
    this.events.emit('call', structuredClone(call));
    return structuredClone(call);
  }

  addMessage(fields: Omit<SandboxMessage, 'id' | 'at'>): SandboxMessage {
    const message: SandboxMessage = { id: randomUUID(), at: new Date().toISOString(), ...fields };
    this.#messages.push(message);
    this.events.emit('message', structuredClone(message));
    return structuredClone(message);
  }

  getUser(domain: string, user: string): SandboxUser | undefined {
    const found = this.#users.get(key(domain, user));
    return found && structuredClone(found);
  }

  hasUser(domain: string, user: string): boolean {
    return this.#users.has(key(domain, user));
  }

  /** Stores a new user; the caller has checked that it does not exist yet. */
  createUser(record: SandboxUser, withDefaultAnswerRule: boolean): SandboxUser {
    const user = structuredClone(record);
    this.#users.set(key(user.domain, user.user), user);
    const created = this.#announce({ kind: 'user', action: 'create', record: user });
    if (withDefaultAnswerRule) {
      // What NS v2 creates for a new user: the default time frame, enabled, nothing forwarded.
      const off = () => ({ enabled: 'no', parameters: [] });
      this.createAnswerRule({
        domain: user.domain,
        user: user.user,
        'time-frame': DEFAULT_TIME_FRAME,
        enabled: 'yes',
        'do-not-disturb': off(),
        'forward-always': off(),
        'forward-on-busy': off(),
        'forward-no-answer': off(),
        'forward-when-unregistered': off(),
      });
    }
    return created;
  }

  listDialRules(domain: string, dialplan: string): SandboxDialRule[] {
    return this.dialRules.filter((rule) => rule.domain === domain && rule.dialplan === dialplan);
  }

  getDialRule(domain: string, dialplan: string, dialrule: string): SandboxDialRule | undefined {
    const found = this.#dialRules.get(key(domain, dialplan, dialrule));
    return found && structuredClone(found);
  }

  createDialRule(record: SandboxDialRule): SandboxDialRule {
    const rule = structuredClone(record);
    this.#dialRules.set(key(rule.domain, rule.dialplan, rule.dialrule), rule);
    return this.#announce({ kind: 'dialRule', action: 'create', record: rule });
  }

  /** Merges `changes` into an existing rule; undefined when there is no such rule. */
  updateDialRule(domain: string, dialplan: string, dialrule: string, changes: Record<string, unknown>): SandboxDialRule | undefined {
    const rule = this.#dialRules.get(key(domain, dialplan, dialrule));
    if (!rule) return undefined;
    Object.assign(rule, structuredClone(changes));
    return this.#announce({ kind: 'dialRule', action: 'update', record: rule });
  }

  listAnswerRules(domain: string, user: string): SandboxAnswerRule[] {
    return this.answerRules.filter((rule) => rule.domain === domain && rule.user === user).sort((a, b) => a.order - b.order);
  }

  getAnswerRule(domain: string, user: string, timeFrame: string): SandboxAnswerRule | undefined {
    const found = this.#answerRules.get(key(domain, user, timeFrame));
    return found && structuredClone(found);
  }

  /** Stores a new rule and gives it its priority; the caller has checked that it does not exist yet. */
  createAnswerRule(fields: NewAnswerRule): SandboxAnswerRule {
    let order = DEFAULT_RULE_ORDER;
    if (fields['time-frame'] !== DEFAULT_TIME_FRAME) {
      // NS puts a new time frame after the user's others, and always before the default one.
      const others = this.listAnswerRules(fields.domain, fields.user).filter((rule) => rule['time-frame'] !== DEFAULT_TIME_FRAME);
      order = others.reduce((highest, rule) => Math.max(highest, rule.order + 1), 0);
    }
    const rule: SandboxAnswerRule = { ...structuredClone(fields), order };
    this.#answerRules.set(key(rule.domain, rule.user, rule['time-frame']), rule);
    return this.#announce({ kind: 'answerRule', action: 'create', record: rule });
  }

  updateAnswerRule(domain: string, user: string, timeFrame: string, changes: Record<string, unknown>): SandboxAnswerRule | undefined {
    const rule = this.#answerRules.get(key(domain, user, timeFrame));
    if (!rule) return undefined;
    Object.assign(rule, structuredClone(changes));
    return this.#announce({ kind: 'answerRule', action: 'update', record: rule });
  }

  /** Tells listeners about a provisioning change; they and the caller each get their own copy of the record. */
  #announce<E extends SandboxProvisionEvent>(event: E): E['record'] {
    this.events.emit('provision', structuredClone(event));
    return structuredClone(event.record);
  }

  getSubscription(id: string): SandboxSubscription | undefined {
    const found = this.#subscriptions.get(id);
    return found && structuredClone(found);
  }

  createSubscription(record: SandboxSubscription): SandboxSubscription {
    const subscription = structuredClone(record);
    this.#subscriptions.set(subscription.id, subscription);
    return this.#announceSubscription('create', subscription);
  }

  /** Merges `changes` into a subscription; undefined when there is no such subscription. */
  updateSubscription(id: string, changes: Partial<SandboxSubscription>): SandboxSubscription | undefined {
    const subscription = this.#subscriptions.get(id);
    if (!subscription) return undefined;
    Object.assign(subscription, structuredClone(changes));
    return this.#announceSubscription('update', subscription);
  }

  deleteSubscription(id: string): SandboxSubscription | undefined {
    const subscription = this.#subscriptions.get(id);
    if (!subscription) return undefined;
    this.#subscriptions.delete(id);
    return this.#announceSubscription('delete', subscription);
  }

  /** Counts a delivery attempt against its subscription, as NetSapiens' `posts-count`, `error-count` and `status` do. */
  countAttempt(id: string, ok: boolean): void {
    const subscription = this.#subscriptions.get(id);
    if (!subscription) return;
    this.updateSubscription(id, {
      'posts-count': subscription['posts-count'] + 1,
      'error-count': subscription['error-count'] + (ok ? 0 : 1),
      status: ok ? 'active' : 'error',
    });
  }

  #announceSubscription(action: SandboxSubscriptionEvent['action'], record: SandboxSubscription): SandboxSubscription {
    this.events.emit('subscription', structuredClone({ action, record }));
    return structuredClone(record);
  }

  /** Logs a delivery about to be sent (no attempts yet) and returns a copy, with its id. */
  startDelivery(fields: Pick<SandboxDelivery, 'subscriptionId' | 'model' | 'state' | 'records'>): SandboxDelivery {
    const delivery: SandboxDelivery = {
      id: this.#nextDeliveryId++,
      at: new Date().toISOString(),
      ...structuredClone(fields),
      attempts: [],
      outcome: 'sending',
    };
    if (delivery.state === undefined) delete delivery.state;
    this.#deliveries.push(delivery);
    if (this.#deliveries.length > MAX_RECORDED_REQUESTS) this.#deliveries.splice(0, this.#deliveries.length - MAX_RECORDED_REQUESTS);
    return structuredClone(delivery);
  }

  /** Adds an attempt and, when the delivery is over, its outcome; announces it. Returns a copy (undefined when forgotten meanwhile). */
  recordAttempt(id: number, attempt: SandboxDeliveryAttempt | undefined, outcome: SandboxDelivery['outcome']): SandboxDelivery | undefined {
    const delivery = this.#deliveries.find((candidate) => candidate.id === id);
    if (!delivery) return undefined;
    if (attempt) delivery.attempts.push(structuredClone(attempt));
    delivery.outcome = outcome;
    this.events.emit('delivery', structuredClone(delivery));
    return structuredClone(delivery);
  }

  /**
   * Logs a request as it arrives (status null until `answerRequest`): a slow answer must not hide
   * that NetSapiens already received the request.
   */
  recordRequest(fields: Omit<SandboxRequest, 'id' | 'status'>): number {
    const request: SandboxRequest = { id: this.#nextRequestId++, ...fields, status: null };
    this.#requests.push(request);
    if (this.#requests.length > MAX_RECORDED_REQUESTS) this.#requests.splice(0, this.#requests.length - MAX_RECORDED_REQUESTS);
    return request.id;
  }

  /** Sets the status answered (null: dropped or never answered) and announces the request. */
  answerRequest(id: number, status: number | null): void {
    const request = this.#requests.find((candidate) => candidate.id === id);
    // A request forgotten meanwhile (reset, or pushed out of the log) is not announced either.
    if (!request) return;
    request.status = status;
    this.events.emit('request', structuredClone(request));
  }

  issueTokens(expiresInSeconds: number): TokenGrant {
    const accessToken = newToken();
    const refreshToken = newToken();
    this.#accessTokens.set(accessToken, Date.now() + expiresInSeconds * 1000);
    this.#refreshTokens.add(refreshToken);
    return { accessToken, refreshToken, expiresInSeconds };
  }

  isLiveAccessToken(token: string): boolean {
    const expiresAt = this.#accessTokens.get(token);
    if (expiresAt === undefined) return false;
    if (Date.now() < expiresAt) return true;
    this.#accessTokens.delete(token);
    return false;
  }

  /** Uses up a refresh token (they are single-use); false when it is unknown, used or revoked. */
  consumeRefreshToken(token: string): boolean {
    return this.#refreshTokens.delete(token);
  }

  expireAccessTokens(): void {
    this.#accessTokens.clear();
  }

  revokeRefreshTokens(): void {
    this.#refreshTokens.clear();
  }

  reset(): void {
    this.#calls = [];
    this.#messages = [];
    this.#users.clear();
    this.#dialRules.clear();
    this.#answerRules.clear();
    this.#requests = [];
    this.#subscriptions.clear();
    this.#deliveries = [];
    this.#accessTokens.clear();
    this.#refreshTokens.clear();
  }
}
