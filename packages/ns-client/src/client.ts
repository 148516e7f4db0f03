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
import { createTransport } from './transport.js';

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
  provisionWebresponder(options: ProvisionWebresponderOptions): Promise<ProvisionResult>;
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
 * `maxResponseBytes` or `auth` throws `NsUsageError` synchronously. Nothing is sent until the first
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
    provisionWebresponder: (provision) => provisionWebresponder(resources, provision),
    request,
  };
}
