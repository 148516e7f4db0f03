import { redactJson, redactSecrets } from './redact.js';

/**
 * The errors this client throws. Every one extends `NsError`, so one `instanceof` check catches them
 * all; the subclasses say what went wrong. None of them carries a token, a password or a client
 * secret: `cause` is a scrubbed copy of the underlying error, never the HTTP library's own object
 * (which holds the request's headers), and what NetSapiens sent back is scrubbed of anything that
 * looks like a credential.
 */

/** What kind of request failed, for logs: no query string, no credentials. */
export interface NsRequestInfo {
  method: string;
  /** The path requested, e.g. `/ns-api/v2/domains/example.com/users`. */
  path: string;
}

export class NsError extends Error {
  override name = 'NsError';
}

/** The client was called with options or arguments it cannot send; nothing reached NetSapiens. */
export class NsUsageError extends NsError {
  override name = 'NsUsageError';
}

/** A request was made and failed: which one, for logs (no query string, no credentials). */
export class NsRequestError extends NsError {
  override name = 'NsRequestError';
  readonly method: string;
  /** The path requested, e.g. `/ns-api/v2/domains/example.com/users`. */
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
 * NetSapiens answered with a status outside 2xx. The statuses a caller handles differently have a
 * subclass of their own (`httpErrorFor` is the one place that maps them); any other is an `NsHttpError`.
 */
export class NsHttpError extends NsRequestError {
  override name = 'NsHttpError';
  readonly status: number;
  /** NetSapiens' own error code, when its body had one (usually equal to `status`). */
  readonly nsCode: number | undefined;
  /** NetSapiens' own `message`, when its body had one (e.g. `UID already exists.`): scrubbed, at most 200 characters. */
  readonly nsMessage: string | undefined;
  /** The parsed JSON body, or the text when it was not JSON (cut to 2 KB); scrubbed of credentials. */
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

/** 429: NetSapiens asks for fewer requests. */
export class NsRateLimitError extends NsHttpError {
  override name = 'NsRateLimitError';
}

/** 5xx: NetSapiens (or a proxy in front of it) failed. An idempotent request was already retried. */
export class NsServerError extends NsHttpError {
  override name = 'NsServerError';
}

/** The one place a status becomes an error class. */
export function httpErrorFor(request: NsRequestInfo, status: number, body: unknown, options?: ErrorOptions): NsHttpError {
  const Class =
    status === 401 || status === 403 ? NsAuthError
    : status === 404 ? NsNotFoundError
    : status === 409 ? NsConflictError
    : status === 429 ? NsRateLimitError
    : status >= 500 ? NsServerError
    : NsHttpError;
  return new Class(request, status, body, options);
}

/**
 * A 2xx answer that is not NetSapiens': an HTML page, a body that is not JSON, or JSON of the wrong
 * shape. Usually `baseUrl` points at another web server. The request may still have been acted on,
 * if it did reach NetSapiens; it is never retried. The body is not kept.
 */
export class NsResponseError extends NsRequestError {
  override name = 'NsResponseError';
  readonly status: number;
  /** What was wrong, e.g. `an HTML page, not NetSapiens' JSON: is baseUrl right?` */
  readonly problem: string;

  constructor(request: NsRequestInfo, status: number, problem: string, options?: ErrorOptions) {
    super(request, `NetSapiens answered ${status} to ${request.method} ${request.path} with ${problem}`, options);
    this.status = status;
    this.problem = problem;
  }
}

/**
 * The answer was longer than `maxResponseBytes`: the client stopped reading it and closed the
 * connection. The request may have been acted on. Neither the body nor a part of it is kept.
 */
export class NsResponseTooLargeError extends NsRequestError {
  override name = 'NsResponseTooLargeError';
  readonly maxBytes: number;

  constructor(request: NsRequestInfo, maxBytes: number, options?: ErrorOptions) {
    super(request, `NetSapiens answered ${request.method} ${request.path} with more than ${maxBytes} bytes (maxResponseBytes): it was not read further`, options);
    this.maxBytes = maxBytes;
  }
}

/** No complete answer arrived within the client's timeout. The request may still have been acted on. */
export class NsTimeoutError extends NsRequestError {
  override name = 'NsTimeoutError';
  readonly timeoutMs: number;

  constructor(request: NsRequestInfo, timeoutMs: number, options?: ErrorOptions) {
    super(request, `NetSapiens did not answer ${request.method} ${request.path} within ${timeoutMs} ms`, options);
    this.timeoutMs = timeoutMs;
  }
}

/** The connection failed (refused, reset, DNS…). `code` is the system error code, e.g. `ECONNRESET`. */
export class NsNetworkError extends NsRequestError {
  override name = 'NsNetworkError';
  readonly code: string | undefined;

  constructor(request: NsRequestInfo, code: string | undefined, options?: ErrorOptions) {
    super(request, `Could not reach NetSapiens for ${request.method} ${request.path}${code ? ` (${code})` : ''}`, options);
    this.code = code;
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
