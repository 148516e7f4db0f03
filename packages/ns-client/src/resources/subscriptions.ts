import { listReply, recordReply, writeReply } from '../answers.js';
import { requireText } from '../args.js';
import { NsUsageError } from '../errors.js';
import { nsPath } from '../path.js';
import type { NsRequestOptions } from '../client.js';
import type { NsRequester } from '../request.js';

/** What a subscription sends, one model per subscription: NetSapiens' v2 `model` values. */
export type SubscriptionModel =
  | 'agent'
  | 'auditlog'
  | 'auditlog_lite'
  | 'call'
  | 'call_origid'
  | 'cdr'
  | 'message'
  | 'messagesession'
  | 'subscriber'
  | 'presence'
  | 'voicemail';

/** What `subscriptions.create` takes; each field's wire name is given beside it. */
export interface CreateSubscriptionOptions {
  /** The domain whose events are sent: `domain`. `*` is every domain, which needs a Super User token. */
  domain: string;
  /**
   * What is sent: `model`. `call` posts a `NsCallRecord` for each call leg of the domain whenever
   * its state changes (ringing, answered, gone); `call_origid` posts a shorter record per call.
   */
  model: SubscriptionModel;
  /**
   * Where NetSapiens POSTs the events, `http:` or `https:`: `post-url`. NetSapiens signs nothing, so
   * the receiver can only know a delivery is genuine from a secret in this URL (a query parameter).
   * The client never lets it reach an error: the URL and each value of its query of 8 characters or
   * more are cut from any error body that echoes them, and no error message holds a request body.
   */
  postUrl: string;
  /** Whose events: `user`. Default `*`, every user of the domain, which is what a domain-wide call subscription wants. */
  user?: string;
  /**
   * When the subscription ends: `subscription-expires-datetime`, sent as `YYYY-MM-DD HH:MM:SS` in UTC
   * (NetSapiens' own docs give the format, not the zone). Without it NetSapiens picks the expiry of
   * the token used, or 20 years from now for an API key. Renew before it passes: an expired
   * subscription stops sending and is removed some time later.
   */
  expires?: Date;
  /**
   * `subscription-geo-support`: `yes` (the default, and NetSapiens' v2 default) lets the
   * subscription move between a cluster's servers, each event sent once; `no` sends from one server.
   */
  geoSupport?: boolean;
  /** The server that should send the events while it is up: `preferred-server` (a host name). */
  preferredServer?: string;
}

/** What `subscriptions.renew` takes. */
export interface RenewSubscriptionOptions {
  /** The subscription's id, from `create` or `list`. */
  id: string;
  /** The new end: `subscription-expires-datetime`, sent as `YYYY-MM-DD HH:MM:SS` in UTC. */
  expires: Date;
}

/** What `subscriptions.delete` takes; both are sent in the body as `subscription_id` and `domain`. */
export interface DeleteSubscriptionOptions {
  /** The subscription's id (in the path and as `subscription_id`). */
  id: string;
  /** The subscription's domain. */
  domain: string;
}

/** What `subscriptions.list` takes. */
export interface ListSubscriptionsOptions {
  /** Only the subscriptions whose `domain` is this one (compared exactly; `*` finds the all-domain ones). */
  domain?: string;
}

/**
 * A subscription as NetSapiens returns it: kebab-case fields, a few typed, the rest `unknown`. Its
 * `post-url` holds the receiver's secret: do not log a record as it is.
 */
export interface NsSubscription {
  /** The subscription's id: 32 hex characters on a real cluster. */
  id: string;
  model?: string;
  'post-url'?: string;
  domain?: string;
  user?: string;
  reseller?: string;
  'subscription-geo-support'?: string;
  /** `YYYY-MM-DD HH:MM:SS`. */
  'subscription-creation-datetime'?: string;
  /** `YYYY-MM-DD HH:MM:SS`. */
  'subscription-expires-datetime'?: string;
  'preferred-server'?: string;
  'current-active-server'?: string;
  /** `pending` until a first post succeeds, `active`, or `error` after failed posts. */
  status?: 'pending' | 'active' | 'error' | (string & {});
  /** Posts that failed: no connection, a timeout, or a status above 302. */
  'error-count'?: number;
  /** Posts attempted, failed ones included. */
  'posts-count'?: number;
  [field: string]: unknown;
}

/**
 * One call leg as a `call` subscription delivers it: NetSapiens POSTs a JSON array of these to the
 * `post-url` (`Content-Type: application/json`) whenever a leg's state changes. Every value is a
 * string. The fields typed here are those a receiver needs; the record holds some 60 more
 * (`orig_*`, `by_*` and `term_*` ids, `hostname`, `media`, `acr_id`, …), and a `call_origid`
 * subscription sends only a subset. Times are `YYYY-MM-DD HH:MM:SS`; `time_answer` is
 * `0000-00-00 00:00:00` until the call is answered.
 *
 * A leg goes `term_call_info: 'alerting'` (ringing) → `'active'` (answered, `time_answer` set), and
 * its last record carries `remove: 'yes'`; a call that was never answered goes from `alerting`
 * straight to `remove: 'yes'`. Deliveries can repeat and arrive out of order: key them by
 * `orig_callid` and state, and only ever move a call forward.
 */
export interface NsCallRecord {
  /** The call's id from its originating side: the same on every record of the call. */
  orig_callid: string;
  /** The terminating leg's id. */
  term_callid?: string;
  /** The caller: `sip:18135551234@…`, or an extension for an internal call. */
  orig_from_uri?: string;
  /** The caller's user part (a number or an extension). */
  orig_from_user?: string;
  /** The caller's name (CNAM), often empty. */
  orig_from_name?: string;
  /** What the caller dialled (a DID or an extension). */
  orig_to_user?: string;
  /** The calling user when the call starts inside the domain; empty for a call from outside. */
  orig_user?: string;
  orig_domain?: string;
  /** The user whose phone rings or answered. */
  term_user?: string;
  term_domain?: string;
  /** `alerting` while it rings, `active` once answered. */
  term_call_info?: 'alerting' | 'active' | (string & {});
  orig_call_info?: string;
  /** When the call started. */
  time_start?: string;
  /** When it was answered; `0000-00-00 00:00:00` until then. */
  time_answer?: string;
  /** `yes` on the leg's last record: the call (leg) is gone. Absent before. */
  remove?: 'yes' | (string & {});
  [field: string]: unknown;
}

/** `ns.subscriptions`: event subscriptions, NetSapiens pushing events to a URL (`/ns-api/v2/subscriptions`). */
export interface Subscriptions {
  /**
   * Creates a subscription: `POST /ns-api/v2/subscriptions`, JSON `{ model, 'post-url', domain, user,
   * 'subscription-geo-support', 'subscription-expires-datetime'?, 'preferred-server'? }`, and resolves
   * to the record NetSapiens answers (200), whose `id` `renew` and `delete` take. An identical
   * subscription that is still active is an `NsConflictError` (409, `Subscription already exists`):
   * `list` finds it. An answer without an `id` is an `NsResponseError`; the subscription may exist all
   * the same. Never retried once it may have reached NetSapiens.
   *
   * @example
   * ```ts
   * const { id } = await ns.subscriptions.create({
   *   domain: 'example.com',
   *   model: 'call',
   *   postUrl: `https://beckon.example.net/webhooks/netsapiens?id=example.com&token=${secret}`,
   *   expires: new Date(Date.now() + 7 * 24 * 3600 * 1000),
   * });
   * ```
   */
  create(options: CreateSubscriptionOptions, requestOptions?: NsRequestOptions): Promise<NsSubscription>;
  /**
   * Moves a subscription's end: `PUT /ns-api/v2/subscriptions/{id}`, JSON
   * `{ 'subscription-expires-datetime' }`. One that does not exist (any more) is an `NsNotFoundError`
   * (404): create it again.
   */
  renew(options: RenewSubscriptionOptions, requestOptions?: NsRequestOptions): Promise<void>;
  /**
   * Deletes a subscription: `DELETE /ns-api/v2/subscriptions/{id}` with the JSON body
   * `{ subscription_id, domain }`. One that does not exist is an `NsNotFoundError` (404), which a
   * caller tidying up may treat as done.
   */
  delete(options: DeleteSubscriptionOptions, requestOptions?: NsRequestOptions): Promise<void>;
  /**
   * Lists the subscriptions the token may see: `GET /ns-api/v2/subscriptions` (NetSapiens' released
   * route; the per-domain one is marked "developing"), keeping those of `domain` when given. A 2xx
   * that is not a JSON array of records with an `id` is an `NsResponseError`.
   *
   * @example
   * ```ts
   * const mine = (await ns.subscriptions.list({ domain: 'example.com' })).filter(
   *   (subscription) => subscription.model === 'call' && subscription['post-url']?.startsWith('https://beckon.example.net/'),
   * );
   * ```
   */
  list(options?: ListSubscriptionsOptions, requestOptions?: NsRequestOptions): Promise<NsSubscription[]>;
}

const ROUTE = '/ns-api/v2/subscriptions';
/** Shorter query values are ids and flags, not secrets; cutting them would garble ordinary text. */
const MIN_SECRET_CHARS = 8;

/** NetSapiens' `YYYY-MM-DD HH:MM:SS`, in UTC. */
function nsDateTime(value: unknown, field: string): string {
  if (!(value instanceof Date) || Number.isNaN(value.getTime())) throw new NsUsageError(`${field} must be a valid Date`);
  return value.toISOString().slice(0, 19).replace('T', ' ');
}

/** Checks the post URL without ever repeating it: an error message must not carry its secret. */
function parsePostUrl(value: unknown): URL {
  const text = requireText(value, 'postUrl');
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new NsUsageError('postUrl must be an absolute http(s) URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new NsUsageError('postUrl must be an absolute http(s) URL');
  return url;
}

/** What an error body must not repeat: the URL (as given and normalised), its query, and each longer query value, raw and encoded. */
function postUrlSecrets(postUrl: string, url: URL): string[] {
  const secrets = new Set([postUrl, url.href, url.search.slice(1), url.password]);
  for (const part of url.search.slice(1).split('&')) {
    const raw = part.slice(part.indexOf('=') + 1);
    let decoded = raw;
    try {
      decoded = decodeURIComponent(raw.replace(/\+/g, ' '));
    } catch {
      // A malformed escape: the raw value is still cut.
    }
    for (const value of [raw, decoded, encodeURIComponent(decoded)]) secrets.add(value);
  }
  return [...secrets].filter((secret) => secret.length >= MIN_SECRET_CHARS);
}

function subscriptionReply(body: unknown): string | undefined {
  return recordReply(body) ?? (typeof (body as { id?: unknown }).id === 'string' ? undefined : 'JSON without a subscription id');
}

function subscriptionListReply(body: unknown): string | undefined {
  const problem = listReply(body);
  if (problem) return problem;
  return (body as unknown[]).every((item) => recordReply(item) === undefined && typeof (item as { id?: unknown }).id === 'string')
    ? undefined
    : 'JSON that is not a list of subscriptions';
}

export function subscriptionsResource(request: NsRequester): Subscriptions {
  return {
    async create(options, requestOptions) {
      const domain = requireText(options.domain, 'domain');
      const model = requireText(options.model, 'model');
      const url = parsePostUrl(options.postUrl);
      const json: Record<string, string> = {
        model,
        'post-url': options.postUrl,
        domain,
        user: options.user === undefined ? '*' : requireText(options.user, 'user'),
        'subscription-geo-support': options.geoSupport === false ? 'no' : 'yes',
      };
      if (options.expires !== undefined) json['subscription-expires-datetime'] = nsDateTime(options.expires, 'expires');
      if (options.preferredServer !== undefined) json['preferred-server'] = requireText(options.preferredServer, 'preferredServer');
      const { body } = await request<NsSubscription>(
        {
          method: 'POST',
          path: ROUTE,
          json,
          expect: subscriptionReply,
          secrets: postUrlSecrets(options.postUrl, url),
        },
        requestOptions,
      );
      return body;
    },

    async renew(options, requestOptions) {
      const id = requireText(options.id, 'id');
      await request(
        {
          method: 'PUT',
          path: nsPath`/ns-api/v2/subscriptions/${id}`,
          json: { 'subscription-expires-datetime': nsDateTime(options.expires, 'expires') },
          expect: writeReply,
        },
        requestOptions,
      );
    },

    async delete(options, requestOptions) {
      const id = requireText(options.id, 'id');
      const domain = requireText(options.domain, 'domain');
      await request(
        {
          method: 'DELETE',
          path: nsPath`/ns-api/v2/subscriptions/${id}`,
          json: { subscription_id: id, domain },
          expect: writeReply,
        },
        requestOptions,
      );
    },

    async list(options = {}, requestOptions) {
      const domain = options.domain === undefined ? undefined : requireText(options.domain, 'domain');
      const { body } = await request<NsSubscription[]>({ method: 'GET', path: ROUTE, expect: subscriptionListReply }, requestOptions);
      return domain === undefined ? body : body.filter((subscription) => subscription.domain === domain);
    },
  };
}
