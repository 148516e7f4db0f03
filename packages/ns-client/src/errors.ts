import { redactJson, redactSecrets } from './redact.js';

/** Which request failed, for logs: no query string, no credentials. */
export interface NsRequestInfo {
  /** `GET`, `POST`, `PUT` or `DELETE`. */
  method: string;
  /**
   * The path requested, without the query: `/ns-api/v2/domains/example.com/users`, or `/ns-api/` for
   * the legacy API.
   */
  path: string;
}

/**
 * The base of every error the client throws, so one `instanceof` check catches them all; the
 * subclasses say what went wrong.
 *
 * ```
 * NsError                          every error the client throws (extends Error)
 * ├── NsUsageError                 the call could not be made as given; nothing was sent
 * └── NsRequestError               a request was made (or, aborted, was to be made) and failed: method, path
 *     ├── NsHttpError              NetSapiens answered with a status outside 2xx: status, nsCode, nsMessage, body
 *     │   ├── NsAuthError          401, 403: the token is wrong, expired, or lacks the right
 *     │   ├── NsNotFoundError      404
 *     │   ├── NsConflictError      409: it exists already (UID already exists.)
 *     │   ├── NsRateLimitError     429: retryAfterMs (an idempotent request was already retried)
 *     │   └── NsServerError        5xx (an idempotent request was already retried)
 *     ├── NsResponseError          a 2xx answer that is not NetSapiens' (an HTML page, not JSON, the wrong shape)
 *     ├── NsResponseTooLargeError  the answer was longer than maxResponseBytes
 *     ├── NsTimeoutError           no complete answer within timeoutMs
 *     ├── NsNetworkError           the connection failed: code (ECONNREFUSED, ECONNRESET, …)
 *     └── NsAbortError             the caller's signal stopped the call: cause is the signal's reason
 * ```
 *
 * None of them carries a token, a password or a client secret: `cause`, when set, is a fresh `Error`
 * copying the underlying error's `name`, `message` and `code`, never the HTTP library's own object
 * (which holds the request's headers), and what NetSapiens sent back is scrubbed of anything that
 * looks like a credential (see "Credentials in errors" in docs/ns-client.md). The one exception is
 * `NsAbortError`, whose `cause` is the caller's own `signal.reason`.
 *
 * @example
 * ```ts
 * try {
 *   await ns.users.create({ domain, user: '8001', firstName: 'A', lastName: 'B', email });
 * } catch (error) {
 *   if (!(error instanceof NsConflictError)) throw error; // a 409: the user is there already
 * }
 * ```
 */
export class NsError extends Error {
  override name = 'NsError';
}

/**
 * The client was called with options or arguments it cannot send; nothing reached NetSapiens. The
 * message says what is wrong, e.g. `destination must be a phone number with its country code, e.g. +18135551234`.
 */
export class NsUsageError extends NsError {
  override name = 'NsUsageError';
}

/**
 * A request was made and failed, or was to be made and was aborted: which one, for logs (no query
 * string, no credentials). The base of `NsHttpError`, `NsResponseError`, `NsResponseTooLargeError`,
 * `NsTimeoutError`, `NsNetworkError` and `NsAbortError`; never thrown itself.
 */
export class NsRequestError extends NsError {
  override name = 'NsRequestError';
  /** `GET`, `POST`, `PUT` or `DELETE`. */
  readonly method: string;
  /** The path requested, without the query (the legacy API's shows as `/ns-api/`). */
  readonly path: string;

  constructor(request: NsRequestInfo, message: string, options?: ErrorOptions) {
    super(message, options);
    this.method = request.method;
    this.path = request.path;
  }
}

/** How much of NetSapiens' `message` is kept: it ends up in logs and in form replies. */
const NS_MESSAGE_CHARS = 200;
/** How much of a body that is not JSON (a proxy's error page, say) is kept. */
const BODY_EXCERPT_CHARS = 2048;

/**
 * NetSapiens answered with a status outside 2xx (a 3xx included: redirects are not followed). The
 * statuses a caller handles differently have a subclass of their own, whose `name` is the subclass's:
 * `NsAuthError` (401, 403), `NsNotFoundError` (404), `NsConflictError` (409), `NsRateLimitError`
 * (429), `NsServerError` (5xx); any other status is an `NsHttpError` itself. (`httpErrorFor` is the
 * one place that maps them.)
 *
 * Message: `NetSapiens answered 409 to POST /ns-api/v2/domains/example.com/users: UID already exists.`
 *
 * What NetSapiens sends back in an error can echo the request, and `nsMessage` reaches logs and form
 * replies, so `nsMessage`, `message` and `body` are scrubbed of credentials before they are kept
 * (see "Credentials in errors" in docs/ns-client.md), and only then cut.
 */
export class NsHttpError extends NsRequestError {
  override name = 'NsHttpError';
  /** The HTTP status NetSapiens answered. */
  readonly status: number;
  /** NetSapiens' own error code, when its body had one (usually equal to `status`). */
  readonly nsCode: number | undefined;
  /** NetSapiens' own `message`, when its body had one (e.g. `UID already exists.`): scrubbed, at most 200 characters. */
  readonly nsMessage: string | undefined;
  /** The parsed JSON body (scrubbed), or the text when it was not JSON (scrubbed, then cut to 2 KB); `undefined` when empty. */
  readonly body: unknown;

  constructor(request: NsRequestInfo, status: number, body: unknown, options?: ErrorOptions) {
    // Scrubbed before being cut, so that no prefix of a credential survives at the cut.
    const safeBody = typeof body === 'string' ? redactSecrets(body).slice(0, BODY_EXCERPT_CHARS) : redactJson(body);
    const { code, message } = nsErrorFields(safeBody);
    super(request, `NetSapiens answered ${status} to ${request.method} ${request.path}${message ? `: ${message}` : ''}`, options);
    this.status = status;
    this.nsCode = code;
    this.nsMessage = message;
    this.body = safeBody;
  }
}

/** 401 or 403: the token is wrong, expired, or lacks the right for this request. */
export class NsAuthError extends NsHttpError {
  override name = 'NsAuthError';
}

/** 404: the domain, user, rule… named in the path does not exist. */
export class NsNotFoundError extends NsHttpError {
  override name = 'NsNotFoundError';
}

/** 409: what the request creates exists already (e.g. `UID already exists.`). */
export class NsConflictError extends NsHttpError {
  override name = 'NsConflictError';
}

/**
 * 429: NetSapiens asks for fewer requests. An idempotent request was already retried, after waiting out
 * the `Retry-After` NetSapiens sent (if it asked for more than 30 s, the call failed at once instead).
 * A POST is never retried on a 429: the cluster may have acted on it before refusing more.
 */
export class NsRateLimitError extends NsHttpError {
  override name = 'NsRateLimitError';
  /**
   * How long NetSapiens asked the client to wait, in ms from its answer, from the `Retry-After` header
   * (seconds or an HTTP date); `undefined` when it sent none, or one the client could not read.
   */
  readonly retryAfterMs: number | undefined;

  constructor(request: NsRequestInfo, status: number, body: unknown, options?: ErrorOptions & { retryAfterMs?: number | undefined }) {
    super(request, status, body, options);
    this.retryAfterMs = options?.retryAfterMs;
  }
}

/**
 * 5xx: NetSapiens (or a proxy in front of it) failed. An idempotent request was already retried (after
 * a 503's `Retry-After`, when it asked for 30 s or less; a longer one fails the call at once).
 */
export class NsServerError extends NsHttpError {
  override name = 'NsServerError';
}

/** What `httpErrorFor` takes besides the status and body: the `Retry-After` read from the answer, for a 429. */
export interface HttpErrorOptions extends ErrorOptions {
  retryAfterMs?: number | undefined;
}

/** The one place a status becomes an error class. */
export function httpErrorFor(request: NsRequestInfo, status: number, body: unknown, options?: HttpErrorOptions): NsHttpError {
  const Class =
    status === 401 || status === 403
      ? NsAuthError
      : status === 404
        ? NsNotFoundError
        : status === 409
          ? NsConflictError
          : status === 429
            ? NsRateLimitError
            : status >= 500
              ? NsServerError
              : NsHttpError;
  return new Class(request, status, body, options);
}

/**
 * A 2xx answer that is not NetSapiens': an HTML page, a body that is not JSON, or JSON of the wrong
 * shape. Usually `baseUrl` points at another web server. The request may still have been acted on,
 * if it did reach NetSapiens; it is never retried (the same server would answer the same way). The
 * body is not kept.
 *
 * A 2xx is success only when its body is empty (white space counts as empty) or JSON, of the shape the
 * endpoint answers where it has one: an object (or nothing) for a write, an object for a read of one
 * record, an array for a list, an object with an `access_token` from a token endpoint (`request` takes
 * an `expect` function for its own check). The `Content-Type` header alone decides nothing: the legacy
 * API is PHP, which labels even an empty 202 `text/html` unless told otherwise, so a body that parses
 * as JSON is read whatever its label says.
 *
 * Message: `NetSapiens answered 200 to POST /ns-api/ with an HTML page, not NetSapiens' JSON: is baseUrl right?`
 */
export class NsResponseError extends NsRequestError {
  override name = 'NsResponseError';
  /** The 2xx status NetSapiens answered. */
  readonly status: number;
  /**
   * What was wrong: `an HTML page, not NetSapiens' JSON: is baseUrl right?`, `JSON that is cut off or
   * malformed`, `a body of type text/plain, not NetSapiens' JSON: is baseUrl right?`, `JSON that is not
   * an object`, `JSON that is not a list`, `an empty body, not a list`, `JSON without an access_token`,
   * or what a `request`'s `expect` returned.
   */
  readonly problem: string;

  constructor(request: NsRequestInfo, status: number, problem: string, options?: ErrorOptions) {
    super(request, `NetSapiens answered ${status} to ${request.method} ${request.path} with ${problem}`, options);
    this.status = status;
    this.problem = problem;
  }
}

/**
 * The answer was longer than `maxResponseBytes`: the client stopped reading it and closed the
 * connection. The request may have been acted on; it is never retried. Neither the body nor a part of
 * it is kept.
 *
 * Message: `NetSapiens answered GET /ns-api/v2/… with more than 1048576 bytes (maxResponseBytes): it was not read further`
 */
export class NsResponseTooLargeError extends NsRequestError {
  override name = 'NsResponseTooLargeError';
  /** The `maxResponseBytes` in force. */
  readonly maxBytes: number;

  constructor(request: NsRequestInfo, maxBytes: number, options?: ErrorOptions) {
    super(
      request,
      `NetSapiens answered ${request.method} ${request.path} with more than ${maxBytes} bytes (maxResponseBytes): it was not read further`,
      options,
    );
    this.maxBytes = maxBytes;
  }
}

/**
 * No complete answer arrived within the client's `timeoutMs`. The request may still have been acted
 * on: a timed-out POST is not retried.
 *
 * Message: `NetSapiens did not answer POST /ns-api/ within 10000 ms`
 */
export class NsTimeoutError extends NsRequestError {
  override name = 'NsTimeoutError';
  /** The `timeoutMs` in force. */
  readonly timeoutMs: number;

  constructor(request: NsRequestInfo, timeoutMs: number, options?: ErrorOptions) {
    super(request, `NetSapiens did not answer ${request.method} ${request.path} within ${timeoutMs} ms`, options);
    this.timeoutMs = timeoutMs;
  }
}

/**
 * The connection failed (refused, reset, DNS…). Other than a refused connection, this does not mean
 * nothing happened: the request may have reached NetSapiens and been carried out.
 *
 * Message: `Could not reach NetSapiens for GET /ns-api/v2/… (ECONNREFUSED)`
 */
export class NsNetworkError extends NsRequestError {
  override name = 'NsNetworkError';
  /** The system error code (`ECONNREFUSED`, `ECONNRESET`, …), when there was one. */
  readonly code: string | undefined;

  constructor(request: NsRequestInfo, code: string | undefined, options?: ErrorOptions) {
    super(request, `Could not reach NetSapiens for ${request.method} ${request.path}${code ? ` (${code})` : ''}`, options);
    this.code = code;
  }
}

/**
 * The call was stopped by the caller's `signal` (see `NsRequestOptions`): while waiting for NetSapiens
 * (the connection was closed), for a retry, or for a login; or before anything was sent, when the signal
 * was already aborted. It is never retried. A POST aborted once sent may still have been carried out,
 * as after a timeout.
 *
 * The call rejects with this error rather than with `signal.reason` itself, which is kept as `cause`
 * (by default a `DOMException` named `AbortError`; `TimeoutError` from `AbortSignal.timeout()`): every
 * method keeps rejecting only with `NsError`s, so one `instanceof NsError` check still catches all; an
 * `AbortSignal.timeout()` firing is not mistaken for the client's own `NsTimeoutError`; and the method
 * and path are there for logs.
 *
 * Message: `POST /ns-api/ to NetSapiens was aborted`
 */
export class NsAbortError extends NsRequestError {
  override name = 'NsAbortError';

  constructor(request: NsRequestInfo, options?: ErrorOptions) {
    super(request, `${request.method} ${request.path} to NetSapiens was aborted`, options);
  }
}

function nsErrorFields(body: unknown): { code: number | undefined; message: string | undefined } {
  if (body === null || typeof body !== 'object') return { code: undefined, message: undefined };
  const record = body as Record<string, unknown>;
  return {
    code: typeof record.code === 'number' ? record.code : undefined,
    message: typeof record.message === 'string' ? record.message.slice(0, NS_MESSAGE_CHARS) : undefined,
  };
}
