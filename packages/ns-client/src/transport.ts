import { setTimeout as sleep } from 'node:timers/promises';
import { got, HTTPError, RequestError, TimeoutError, type Got, type Progress, type Response } from 'got';
import {
  httpErrorFor,
  NsError,
  NsNetworkError,
  NsResponseError,
  NsResponseTooLargeError,
  NsTimeoutError,
  type NsRequestInfo,
} from './errors.js';
import { resolveUrl } from './path.js';
import { REDACTED } from './redact.js';

/** The methods `request` sends. Only POST has effects that forbid a retry once it may have arrived. */
export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

/** One request to NetSapiens, described independently of the HTTP library: what `request` takes. */
export interface NsRequest {
  method: HttpMethod;
  /** A path built with `nsPath`, starting with `/ns-api`; it is appended to `baseUrl`. */
  path: string;
  /** Query parameters. */
  query?: Record<string, string>;
  /** A JSON body (the v2 API). */
  json?: unknown;
  /** A `multipart/form-data` body (the legacy API), encoded before sending so that it can be sent again. */
  multipart?: Record<string, string>;
  /** An `application/x-www-form-urlencoded` body (the legacy OAuth endpoint). */
  form?: Record<string, string>;
  /**
   * Checks the parsed body of a 2xx answer (`undefined` when empty) and returns what is wrong with it,
   * e.g. `'JSON that is not a list'`, which becomes an `NsResponseError` (`…with JSON that is not a
   * list`), or `undefined` when it is what the endpoint answers. Whatever it says, a 2xx body must be
   * empty or JSON.
   */
  expect?: (body: unknown) => string | undefined;
  /**
   * Values this request carries that must never come back in an error, such as a secret in a URL
   * the body hands NetSapiens: each one is cut from an error answer's body (`[redacted]`), raw and
   * inside JSON strings, as the bearer token is, before the general scrubbing. Empty strings are
   * ignored; a short value would cut ordinary words, so pass only what is worth hiding.
   */
  secrets?: readonly string[];
}

/** A 2xx answer, as `request` resolves. */
export interface NsResponse<T = unknown> {
  /** The 2xx status. */
  status: number;
  /** The parsed JSON, or `undefined` for an empty body. */
  body: T;
}

export interface TransportOptions {
  baseUrl: URL;
  timeoutMs: number;
  /** How many times an idempotent request is retried after a network error, a timeout or a 5xx. */
  retries: number;
  userAgent: string;
  /** The most an answer may hold, counted as it arrives (decompressed), error answers included. */
  maxResponseBytes: number;
}

/** Sends one request; `bearer` is the token to present, if any. Throws only `NsError`s. */
export type Send = <T = unknown>(request: NsRequest, bearer?: string) => Promise<NsResponse<T>>;

const IDEMPOTENT = new Set<string>(['GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS']);
const RETRY_STATUSES = new Set([500, 502, 503, 504]);
const RETRY_ERROR_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ENOTFOUND', 'ENETUNREACH', 'EAI_AGAIN', 'ETIMEDOUT']);
/** Failures that happen before a single byte is sent: even a POST cannot have reached NetSapiens. */
const NEVER_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ENETUNREACH']);
/** Media types worth naming in an error; anything else in the header is not repeated. */
const MEDIA_TYPE = /^[a-z0-9.+-]{1,40}\/[a-z0-9.+-]{1,60}$/;
/** A page that declares itself HTML, whatever its Content-Type says. */
const HTML_START = /^\s*<(?:!doctype\s+html|html|head|body)\b/i;
const WRONG_BASE = 'is baseUrl right?';

/**
 * The retry policy, in one place: how long to wait before trying `method` again after its attempt
 * number `attempt` failed with `error`, or undefined to give up. Idempotent requests are retried with
 * jittered exponential backoff after network errors, timeouts and 5xx. A POST is retried only when the
 * connection was never established: once NetSapiens may have seen it, a retry could ring a visitor twice.
 */
export function retryDelay(method: HttpMethod, attempt: number, retries: number, error: unknown): number | undefined {
  if (attempt > retries || !(error instanceof RequestError)) return undefined;
  const idempotent = IDEMPOTENT.has(method);
  const status = error.response?.statusCode;
  let retry: boolean;
  if (status !== undefined) retry = idempotent && RETRY_STATUSES.has(status);
  else if (error instanceof TimeoutError) retry = idempotent;
  else retry = (idempotent ? RETRY_ERROR_CODES : NEVER_SENT_CODES).has(error.code);
  if (!retry) return undefined;
  const base = Math.min(100 * 2 ** (attempt - 1), 2000);
  return base / 2 + Math.random() * (base / 2);
}

export function createTransport(options: TransportOptions): Send {
  const http: Got = got.extend({
    timeout: { request: options.timeoutMs },
    // `send` retries, not got: got 14 (the last to run on Node 20) retrying a request whose connection
    // was refused fails on Node 24 with ERR_SOCKET_CLOSED_BEFORE_CONNECTION, outside its retry logic, so
    // the retry never happens and the error loses its code.
    retry: { limit: 0 },
    // A redirect could take the request (and its bearer token) away from baseUrl.
    followRedirect: false,
    responseType: 'text',
    headers: { 'user-agent': options.userAgent, accept: 'application/json' },
  });

  return async function send<T>(request: NsRequest, bearer?: string): Promise<NsResponse<T>> {
    const url = resolveUrl(options.baseUrl, request.path, request.query);
    const info: NsRequestInfo = { method: request.method, path: url.pathname };
    const headers: Record<string, string> = bearer ? { authorization: `Bearer ${bearer}` } : {};
    const secrets = [bearer ?? '', ...(request.secrets ?? [])].filter((secret) => secret !== '');
    const multipart = request.multipart ? await encodeMultipart(request.multipart) : undefined;
    if (multipart) headers['content-type'] = multipart.contentType;
    /** One attempt: the answer, or got's error (a too-large answer is already ours). */
    const attempt = async (): Promise<Response<string>> => {
      const pending = http(url, {
        method: request.method,
        headers,
        ...(request.json !== undefined ? { json: request.json } : {}),
        ...(request.form ? { form: request.form } : {}),
        ...(multipart ? { body: multipart.body } : {}),
      });
      // Counted while the answer streams in: got reports each chunk (after decompression) and the
      // announced length up front, so an answer too long is cut off before it is held in memory.
      let tooLarge = false;
      // `on` hands back the request itself, awaited below.
      void pending.on('downloadProgress', ({ transferred, total }: Progress) => {
        if (transferred <= options.maxResponseBytes && (total ?? 0) <= options.maxResponseBytes) return;
        tooLarge = true;
        pending.cancel();
      });
      return (await pending.catch((error: unknown) => {
        throw tooLarge ? new NsResponseTooLargeError(info, options.maxResponseBytes) : error;
      })) as Response<string>;
    };
    let status: number;
    let text: string;
    let contentType: string | undefined;
    try {
      let response: Response<string> | undefined;
      for (let attempts = 1; !response; attempts += 1) {
        try {
          response = await attempt();
        } catch (error) {
          const delay = retryDelay(request.method, attempts, options.retries, error);
          if (delay === undefined) throw error;
          await sleep(delay);
        }
      }
      status = response.statusCode;
      text = response.body;
      contentType = response.headers['content-type'];
    } catch (error) {
      if (error instanceof NsError) throw error;
      throw toNsError(error, info, options.timeoutMs, secrets);
    }
    // Redirects are not followed, so got hands a 3xx over as it is: not success either.
    if (status < 200 || status > 299) throw httpErrorFor(info, status, errorBody(text, secrets));
    const answer = parseAnswer(text, contentType);
    if ('problem' in answer) throw new NsResponseError(info, status, answer.problem);
    const problem = request.expect?.(answer.body);
    if (problem !== undefined) throw new NsResponseError(info, status, problem);
    return { status, body: answer.body as T };
  };
}

/**
 * Encodes the form up front. Handed a `FormData`, got streams it from a one-shot generator, so a retry
 * (a POST refused before connecting) has no body left and fails with ERR_SOCKET_CLOSED_BEFORE_CONNECTION;
 * a Buffer can be sent again.
 */
async function encodeMultipart(fields: Record<string, string>): Promise<{ body: Buffer; contentType: string }> {
  const form = new FormData();
  for (const [name, value] of Object.entries(fields)) form.append(name, value);
  const encoded = new Response(form);
  const contentType = encoded.headers.get('content-type');
  if (!contentType) throw new NsError('FormData encoding produced no content-type');
  return { body: Buffer.from(await encoded.arrayBuffer()), contentType };
}

/**
 * A 2xx answer: empty, or JSON. NetSapiens sends nothing else, so anything else — an HTML page from
 * another web server, a body cut short by a proxy — is not success. The Content-Type alone decides
 * nothing: the legacy API is PHP, which labels even an empty 202 text/html unless told otherwise.
 */
function parseAnswer(text: string, contentType: string | undefined): { body: unknown } | { problem: string } {
  if (text.trim() === '') return { body: undefined };
  try {
    return { body: JSON.parse(text) as unknown };
  } catch {
    return { problem: notJson(text, contentType) };
  }
}

function notJson(text: string, contentType: string | undefined): string {
  const type = (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  if (type.includes('html') || HTML_START.test(text)) return `an HTML page, not NetSapiens' JSON: ${WRONG_BASE}`;
  if (type.includes('json') || /^\s*[[{]/.test(text)) return 'JSON that is cut off or malformed';
  return MEDIA_TYPE.test(type) ? `a body of type ${type}, not NetSapiens' JSON: ${WRONG_BASE}` : `a body that is not JSON: ${WRONG_BASE}`;
}

/**
 * An error answer's body: JSON when it parses, else the text (which NsHttpError scrubs and cuts). An
 * error page may echo the request: the token presented and the request's `secrets` go first, whatever
 * they look like, from the text and again from the parsed JSON's strings (where escapes such as PHP's
 * `\/` are undone).
 */
function errorBody(text: string, secrets: readonly string[]): unknown {
  const safe = cut(text, secrets);
  if (safe === '') return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(safe) as unknown;
  } catch {
    return safe;
  }
  return cutJson(parsed, secrets);
}

function cut(text: string, secrets: readonly string[]): string {
  return secrets.reduce((safe, secret) => safe.split(secret).join(REDACTED), text);
}

function cutJson(value: unknown, secrets: readonly string[]): unknown {
  if (typeof value === 'string') return cut(value, secrets);
  if (Array.isArray(value)) return value.map((item) => cutJson(item, secrets));
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(Object.entries(value).map(([name, item]) => [cut(name, secrets), cutJson(item, secrets)]));
}

/**
 * Maps got's errors onto ours. The original is not kept as `cause`: got's errors hold the request
 * options, headers included, and so the bearer token. `cause` is a plain copy of name, code and message.
 */
function toNsError(error: unknown, info: NsRequestInfo, timeoutMs: number, secrets: readonly string[]): NsError {
  const cause = scrubbed(error);
  if (error instanceof HTTPError) {
    return httpErrorFor(info, error.response.statusCode, errorBody(String(error.response.body ?? ''), secrets), { cause });
  }
  if (error instanceof TimeoutError) return new NsTimeoutError(info, timeoutMs, { cause });
  const code = error instanceof RequestError ? error.code : undefined;
  return new NsNetworkError(info, code, { cause });
}

function scrubbed(error: unknown): Error {
  if (!(error instanceof Error)) return new Error(String(error));
  const copy = new Error(error.message);
  copy.name = error.name;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') Object.assign(copy, { code });
  return copy;
}
