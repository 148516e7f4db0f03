import { createCredentials, type NsAuth } from './auth.js';
import { NsUsageError } from './errors.js';
import { parseBaseUrl } from './path.js';
import { provisionWebresponder, type ProvisionResult, type ProvisionWebresponderOptions } from './provision.js';
import { createRequester, type NsRequester } from './request.js';
import { answerRulesResource, type AnswerRules } from './resources/answer-rules.js';
import { dialRulesResource, type DialRules } from './resources/dial-rules.js';
import { messagesResource, type Messages } from './resources/messages.js';
import { queuedCallsResource, type QueuedCalls } from './resources/queued-calls.js';
import { subscriptionsResource, type Subscriptions } from './resources/subscriptions.js';
import { usersResource, type Users } from './resources/users.js';
import { createTransport, type HttpMethod } from './transport.js';

/** What `createNsClient` takes: where the portal is and how to authenticate; the rest has defaults. */
export interface NsClientOptions {
  /**
   * The portal's origin, `http:` or `https:`: `https://ucportal.example.net`, or a sandbox's `url`. A
   * path prefix is kept (`https://host/portal`) and trailing slashes are dropped. A user name or
   * password, a query or a fragment in it is refused. Do not add `/ns-api`: every method adds it.
   */
  baseUrl: string;
  /** An API key (`{ token }`) or OAuth password-grant credentials: see `NsAuth`. */
  auth: NsAuth;
  /**
   * The most one attempt may take, in ms, from sending the request to having the whole response. A
   * positive number; default `DEFAULT_TIMEOUT_MS` (10 000).
   */
  timeoutMs?: number;
  /**
   * How many times a failed request may be sent again: an idempotent one after a network error, a
   * timeout or a 5xx, a POST only when it never left (see "Retries and timeouts" in docs/ns-client.md).
   * A whole number ≥ 0; default 2; `0` disables retries.
   */
  retries?: number;
  /**
   * The most one answer may hold, in bytes, error answers included, counted as it arrives and after
   * decompression. An answer that announces more in its `Content-Length`, or sends more, is cut off
   * there (the connection is closed) and thrown as `NsResponseTooLargeError`. A whole number > 0;
   * default `DEFAULT_MAX_RESPONSE_BYTES` (1 MiB).
   */
  maxResponseBytes?: number;
  /** Sent as `User-Agent`; default `beckon-ns-client`. */
  userAgent?: string;
  /**
   * Functions told about each attempt, for logs and metrics: see `NsHooks`. They see the method, the
   * path and numbers, never a header, a query or a body.
   */
  hooks?: NsHooks;
}

/**
 * What every method takes as its last argument, for that one call.
 *
 * @example
 * ```ts
 * const controller = new AbortController();
 * setTimeout(() => controller.abort(), 5_000);
 * await ns.dialRules.list({ domain: 'example.com' }, { signal: controller.signal, timeoutMs: 2_000 });
 * ```
 */
export interface NsRequestOptions {
  /**
   * Stops the call: it rejects at once with `NsAbortError` (whose `cause` is `signal.reason`), whether
   * it is waiting for NetSapiens (the connection is closed), for a retry or for a login, and nothing
   * more is sent or retried. A signal already aborted sends nothing. A POST aborted once sent may still
   * have been carried out, as after a timeout. An abort does not stop a login or token refresh that
   * other calls share: this call only stops waiting for it.
   */
  signal?: AbortSignal;
  /**
   * The most one attempt of this call may take, in ms, instead of the client's `timeoutMs`. A positive
   * number. It bounds each attempt, not the call: bound a whole call, retries included, with `signal`
   * (`AbortSignal.timeout(ms)`). Token requests keep the client's `timeoutMs`.
   */
  timeoutMs?: number;
}

/**
 * Functions the client calls as it works, to log or count requests. Each is told about one attempt:
 * a retry is a new attempt of the same call, and a call sent again after an OAuth renewal (a 401)
 * starts again at attempt 1. OAuth token requests (`POST /ns-api/v2/tokens`) are reported like any other.
 *
 * What they are given never holds a secret: the method, the path without its query (as in errors; the
 * legacy API's path is `/ns-api/`), numbers, and short words; never a header, a query, a body or
 * an error's text.
 *
 * Hooks are called synchronously and their return value is ignored (a promise is not awaited). A hook
 * that throws, or returns a promise that rejects, does not change the call: the error is caught, and the
 * first one of a client is reported with `process.emitWarning` (type `NsHookWarning`); later ones are
 * ignored, so that a broken logger cannot flood the process.
 *
 * @example
 * ```ts
 * const ns = createNsClient({
 *   baseUrl,
 *   auth,
 *   hooks: {
 *     onResponse: ({ method, path, attempt, status, error, durationMs }) =>
 *       logger.info({ method, path, attempt, status, error, durationMs }, 'netsapiens'),
 *     onRetry: ({ method, path, reason, delayMs }) => logger.warn({ method, path, reason, delayMs }, 'netsapiens retry'),
 *   },
 * });
 * ```
 */
export interface NsHooks {
  /** An attempt is about to be sent. */
  onRequest?(info: NsRequestHookInfo): void;
  /** An attempt has ended: NetSapiens answered (`status`), or it failed without an answer (`error`). */
  onResponse?(info: NsResponseHookInfo): void;
  /** An attempt failed and another will be sent after `delayMs`. Called after that attempt's `onResponse`. */
  onRetry?(info: NsRetryHookInfo): void;
}

/** What `onRequest` is told, and what every hook is told. */
export interface NsRequestHookInfo {
  /** `GET`, `POST`, `PUT` or `DELETE`. */
  method: HttpMethod;
  /** The path requested, without the query: `/ns-api/v2/domains/example.com/users`. */
  path: string;
  /** 1 for the first attempt, 2 for the first retry, and so on. */
  attempt: number;
}

/** What `onResponse` is told. */
export interface NsResponseHookInfo extends NsRequestHookInfo {
  /** The HTTP status NetSapiens answered, any status; `undefined` when no answer came. */
  status: number | undefined;
  /**
   * Why no answer came: `timeout`, `aborted`, `too-large` (`maxResponseBytes`; the status is not
   * reported then), or the network error's code (`ECONNREFUSED`, `ECONNRESET`, …; `network` when it has
   * none). `undefined` when NetSapiens answered.
   */
  error: string | undefined;
  /** From sending the attempt to its end, in whole ms. */
  durationMs: number;
}

/** What `onRetry` is told: `attempt` is the attempt that failed; attempt `attempt + 1` follows. */
export interface NsRetryHookInfo extends NsRequestHookInfo {
  /** What failed: `status 503`, `status 429`, `timeout`, or the network error's code (`ECONNREFUSED`, …). */
  reason: string;
  /** How long the client waits before the next attempt, in whole ms. */
  delayMs: number;
  /** Whether `delayMs` comes from NetSapiens' `Retry-After` header rather than the client's own backoff. */
  retryAfter: boolean;
}

/**
 * A NetSapiens client, from `createNsClient`: one namespace per kind of resource, the web-responder
 * provisioning that combines three of them, and `request` for any other endpoint.
 *
 * Every method returns a promise and rejects only with an `NsError` subclass (`provisionWebresponder`
 * reports NetSapiens' failures in its result instead). Each method checks its arguments before sending
 * anything: a missing or blank required string, a number without its country code, a bad queue or
 * path segment is an `NsUsageError`, and NetSapiens never sees the request. Unless noted, a method
 * resolves to `undefined` on any 2xx answer of the expected shape. Requests carry
 * `Accept: application/json`; redirects are never followed.
 *
 * Every method takes an `NsRequestOptions` as its last, optional argument: a `signal` to abort the call
 * (it then rejects with `NsAbortError`) and a `timeoutMs` for this call's attempts. For
 * `provisionWebresponder` they apply to each of its requests, and an abort rejects the whole run
 * instead of failing a step.
 */
export interface NsClient {
  /** Calls that ring a number and bridge the answered call into a call queue. */
  queuedCalls: QueuedCalls;
  /** SMS through v2 message sessions. */
  messages: Messages;
  /** Creating and reading users. */
  users: Users;
  /** A dial plan's rules. */
  dialRules: DialRules;
  /** A user's answer rules. */
  answerRules: AnswerRules;
  /** Event subscriptions: NetSapiens posting call records (and other events) to a URL. */
  subscriptions: Subscriptions;
  /**
   * Makes calls to a system user reach a web-responder URL, which is what Beckon's `/update-sms` does
   * for each SMS id. Three steps, in order, each run even when an earlier one failed, except that the
   * answer rule of a user that is not provably a web-responder system user is never touched:
   *
   * 1. **`user`**: `users.create` with `firstName: 'Web'`, `lastName: 'Responder'`,
   *    `scope: 'Simple User'` and `serviceCode: 'system-webresponder'`. When that does not answer 2xx
   *    (a 409, or a failure that may have created it all the same), `users.get` reads the user back:
   *    with service code `system-webresponder` it is ours (`exists` after a 409); with any other
   *    service code, or none, it is someone's extension and all three steps are `refused`. Statuses:
   *    `created`, `exists`, `refused`, `failed`.
   * 2. **`dialRule`**: `dialRules.list`, looking for a rule whose `dial-rule-matching-to-uri` is
   *    `webresponder{systemUser}` (also recognised written as `sip:webresponder{systemUser}@*`). One with
   *    the same `dial-rule-parameter` (the `webhookUrl`) and `dial-rule-application` is left alone
   *    (`exists`); one that differs is updated (`updated`) with destination user and host `[*]`, the
   *    application, the URL and a description; none is created (`created`; a 409 or an "already exists"
   *    answer counts as `exists`). A 404 from the list counts as an empty plan.
   * 3. **`answerRule`**: `answerRules.update` of time frame `*`: enabled, forwarding always to
   *    `webresponder{systemUser}` (`updated`); when that answers 404 (a user without a default rule),
   *    `answerRules.create` with the same fields (`created`). Only for a user created now or read back
   *    with the web-responder service code: when the read fails or finds no user, the step is
   *    `failed` with an `error` starting `not attempted:` and nothing is sent.
   *
   * **`refused`**: `systemUser` names an existing user whose service code is not
   * `system-webresponder`, most likely a person's extension. Forwarding its answer rule to the web
   * responder would stop that phone ringing, so nothing is changed (no answer rule, no dial rule) and
   * each step reads `{ status: 'refused', error: 'user 2000 exists and is not a web-responder system
   * user (service code: none): its answer rule was left alone; choose another systemUser' }` (the
   * service code is quoted when there is one). Choose an unused extension for `systemUser`.
   *
   * Running it again is safe: a second run reports `exists`, `exists`, `updated` and creates nothing
   * new (its requests: `users.create` → 409, `users.get`, `dialrules.list`, `answerrules.update`); a
   * changed `webhookUrl` updates the rule in place. A rule whose application differs from
   * `application` is rewritten to it (see `DEFAULT_WEB_APPLICATION`).
   *
   * A step that fails with an `NsError` becomes `{ status: 'failed', error: <the error's message> }`
   * and the remaining steps still run: the method does not reject for NetSapiens' failures. It rejects
   * with `NsUsageError`, before sending anything, when `domain`, `systemUser`, `webhookUrl` or `email`
   * is blank or `webhookUrl` is not http(s).
   *
   * @example
   * ```ts
   * const result = await ns.provisionWebresponder({
   *   domain: 'example.com',
   *   systemUser: '8001',
   *   webhookUrl: 'https://beckon.example.net/webresponder?id=example.com-sms',
   *   email: 'ops@example.com',
   * });
   * // { user: { status: 'created' }, dialRule: { status: 'created' }, answerRule: { status: 'updated' } }
   * ```
   */
  provisionWebresponder(options: ProvisionWebresponderOptions, requestOptions?: NsRequestOptions): Promise<ProvisionResult>;
  /** Any other NetSapiens endpoint, authenticated and with the same errors and retry policy: see `NsRequester`. */
  request: NsRequester;
}

/** The default `timeoutMs`: 10 s for one attempt. */
export const DEFAULT_TIMEOUT_MS = 10_000;
/**
 * The default `maxResponseBytes`, 1 MiB. NetSapiens' answers to this client are small: `{code, message}`, a token, one user (a few KB). The
 * largest is a dial plan's rule list, about 1 KB a rule, so 1 MiB holds some thousand rules while
 * bounding what a wrong or hostile server can make the process hold per request. Raise it for bigger
 * dial plans, or for `request` calls that list more.
 */
export const DEFAULT_MAX_RESPONSE_BYTES = 1024 * 1024;

/**
 * Creates a client. The options are checked at once: a bad `baseUrl`, `timeoutMs`, `retries`,
 * `maxResponseBytes`, `auth` or `hooks` throws `NsUsageError` synchronously. Nothing is sent until the first
 * method call (an OAuth client logs in then).
 *
 * @example
 * ```ts
 * const ns = createNsClient({ baseUrl: 'https://ucportal.example.net', auth: { token: process.env.NS_TOKEN! } });
 * await ns.queuedCalls.create({ queue: '9002@example.com', destination: '+1 (813) 555-1234' });
 * ```
 */
export function createNsClient(options: NsClientOptions): NsClient {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new NsUsageError('timeoutMs must be a positive number');
  const retries = options.retries ?? 2;
  if (!Number.isInteger(retries) || retries < 0) throw new NsUsageError('retries must be a whole number ≥ 0');
  const maxResponseBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
  if (!Number.isSafeInteger(maxResponseBytes) || maxResponseBytes <= 0)
    throw new NsUsageError('maxResponseBytes must be a whole number of bytes > 0');
  const send = createTransport({
    baseUrl: parseBaseUrl(options.baseUrl),
    timeoutMs,
    retries,
    maxResponseBytes,
    userAgent: options.userAgent ?? 'beckon-ns-client',
    hooks: checkHooks(options.hooks),
  });
  const request = createRequester(send, createCredentials(options.auth, send));
  const resources = {
    queuedCalls: queuedCallsResource(request),
    messages: messagesResource(request),
    users: usersResource(request),
    dialRules: dialRulesResource(request),
    answerRules: answerRulesResource(request),
    subscriptions: subscriptionsResource(request),
  };
  return {
    ...resources,
    provisionWebresponder: (provision, requestOptions) => provisionWebresponder(resources, provision, requestOptions),
    request,
  };
}

const HOOK_NAMES = ['onRequest', 'onResponse', 'onRetry'] as const;

function checkHooks(hooks: NsHooks | undefined): NsHooks | undefined {
  if (hooks === undefined) return undefined;
  if (typeof hooks !== 'object' || hooks === null) throw new NsUsageError('hooks must be an object of functions');
  for (const name of HOOK_NAMES) {
    const hook: unknown = hooks[name];
    if (hook !== undefined && typeof hook !== 'function') throw new NsUsageError(`hooks.${name} must be a function`);
  }
  return hooks;
}
