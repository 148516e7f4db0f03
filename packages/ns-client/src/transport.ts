import { randomUUID } from 'node:crypto';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';
import { got, HTTPError, RequestError, TimeoutError, type Got, type Progress, type Response } from 'got';
import type { NsHooks, NsRequestOptions } from './client.js';
import {
  httpErrorFor,
  NsAbortError,
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
  /** How many times an idempotent request is retried after a network error, a timeout, a 429 or a 5xx. */
  retries: number;
  userAgent: string;
  /** The most an answer may hold, counted as it arrives (decompressed), error answers included. */
  maxResponseBytes: number;
  hooks?: NsHooks;
}

/**
 * Sends one request; `bearer` is the token to present, if any; `call` is the caller's signal and
 * timeout, already checked. Throws only `NsError`s; with an aborted signal, sends nothing and throws
 * `NsAbortError`.
 */
export type Send = <T = unknown>(request: NsRequest, bearer?: string, call?: NsRequestOptions) => Promise<NsResponse<T>>;

const IDEMPOTENT = new Set<string>(['GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS']);
const RETRY_STATUSES = new Set([429, 500, 502, 503, 504]);
/** Statuses whose `Retry-After` says when to come back (RFC 9110 §10.2.3, RFC 6585 §4). */
const RETRY_AFTER_STATUSES = new Set([429, 503]);
/**
 * The longest `Retry-After` the client waits out. A longer one fails the call at once with the 429 (or
 * 503): hanging a caller for minutes is worse than telling it NetSapiens is busy.
 */
const MAX_RETRY_AFTER_MS = 30_000;
const RETRY_ERROR_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ENOTFOUND', 'ENETUNREACH', 'EAI_AGAIN', 'ETIMEDOUT']);
/** Failures that happen before a single byte is sent: even a POST cannot have reached NetSapiens. */
const NEVER_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ENETUNREACH']);
/** Media types worth naming in an error; anything else in the header is not repeated. */
const MEDIA_TYPE = /^[a-z0-9.+-]{1,40}\/[a-z0-9.+-]{1,60}$/;
/** A page that declares itself HTML, whatever its Content-Type says. */
const HTML_START = /^\s*<(?:!doctype\s+html|html|head|body)\b/i;
const WRONG_BASE = 'is baseUrl right?';

/** When and why to try again, from `retryPlan`. */
export interface RetryPlan {
  delayMs: number;
  /** `status 503`, `timeout`, `ECONNREFUSED`…, as `onRetry` reports it. */
  reason: string;
  /** Whether the delay is NetSapiens' `Retry-After`. */
  retryAfter: boolean;
}

/**
 * The retry policy, in one place: whether and when to try `method` again after its attempt number
 * `attempt` failed with `error`, or undefined to give up. Idempotent requests are retried with jittered
 * exponential backoff after network errors, timeouts, 429 and 5xx; a `Retry-After` on a 429 or 503 is
 * waited out (at least), unless it is longer than `MAX_RETRY_AFTER_MS`, which ends the call. A POST is
 * retried only when the connection was never established: once NetSapiens may have seen it, a retry
 * could ring a visitor twice (a 429 included: the cluster may have acted before refusing more).
 */
export function retryPlan(method: HttpMethod, attempt: number, retries: number, error: unknown): RetryPlan | undefined {
  if (attempt > retries || !(error instanceof RequestError)) return undefined;
  const idempotent = IDEMPOTENT.has(method);
  const status = error.response?.statusCode;
  let reason: string | undefined;
  if (status !== undefined) reason = idempotent && RETRY_STATUSES.has(status) ? `status ${status}` : undefined;
  else if (error instanceof TimeoutError) reason = idempotent ? 'timeout' : undefined;
  else reason = (idempotent ? RETRY_ERROR_CODES : NEVER_SENT_CODES).has(error.code) ? error.code : undefined;
  if (reason === undefined) return undefined;
  const base = Math.min(100 * 2 ** (attempt - 1), 2000);
  const backoff = Math.round(base / 2 + Math.random() * (base / 2));
  const waitFor =
    status !== undefined && RETRY_AFTER_STATUSES.has(status) ? retryAfterMs(error.response?.headers['retry-after']) : undefined;
  if (waitFor === undefined) return { delayMs: backoff, reason, retryAfter: false };
  if (waitFor > MAX_RETRY_AFTER_MS) return undefined;
  return waitFor >= backoff ? { delayMs: waitFor, reason, retryAfter: true } : { delayMs: backoff, reason, retryAfter: false };
}

/**
 * A `Retry-After` value in ms from now: whole seconds, or an HTTP date (a past one is 0). Undefined when
 * absent or unreadable, and then the client's own backoff applies.
 */
export function retryAfterMs(header: string | string[] | undefined): number | undefined {
  const value = (Array.isArray(header) ? header[0] : header)?.trim();
  if (!value) return undefined;
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  // An HTTP date starts with the day's name; Date.parse alone would take `1.5` for a date in 2001.
  const at = /^[A-Za-z]{3}/.test(value) ? Date.parse(value) : Number.NaN;
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

/**
 * How long an idle connection is kept for the next request. Node's own global agent keeps them 5 s; a
 * server that closes an idle connection first makes the next POST on it fail (never retried: it may
 * have arrived), so this stays well under the few seconds' keep-alive common web servers allow.
 */
const IDLE_SOCKET_MS = 4_000;
/**
 * The most connections one client keeps open to NetSapiens at once; requests beyond wait for one to be
 * free (the wait counts toward their timeout). Enough for thousands of calls a second on keep-alive and
 * for a server's texts in flight (at most 1 000) to drain through a slow SMS API within that timeout;
 * few enough that a burst cannot open thousands of connections to a phone system.
 */
const MAX_SOCKETS = 256;

export function createTransport(options: TransportOptions): Send {
  // One pool for the client's life: connections are reused across requests (no handshake per call), and
  // bounded, so a burst of calls queues for a connection instead of opening hundreds to NetSapiens.
  const pool = { keepAlive: true, maxSockets: MAX_SOCKETS, timeout: IDLE_SOCKET_MS, scheduling: 'lifo' } as const;
  const http: Got = got.extend({
    agent: { http: new HttpAgent(pool), https: new HttpsAgent(pool) },
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
  const hook = hookCaller(options.hooks);

  return async function send<T>(request: NsRequest, bearer?: string, call: NsRequestOptions = {}): Promise<NsResponse<T>> {
    const url = resolveUrl(options.baseUrl, request.path, request.query);
    const info: NsRequestInfo = { method: request.method, path: url.pathname };
    const { signal } = call;
    const timeoutMs = call.timeoutMs ?? options.timeoutMs;
    const aborted = () => new NsAbortError(info, { cause: signal?.reason });
    if (signal?.aborted) throw aborted();
    const headers: Record<string, string> = bearer ? { authorization: `Bearer ${bearer}` } : {};
    const secrets = [bearer ?? '', ...(request.secrets ?? [])].filter((secret) => secret !== '');
    const multipart = request.multipart ? encodeMultipart(request.multipart) : undefined;
    if (multipart) headers['content-type'] = multipart.contentType;
    /** One attempt: the answer, or got's error (a too-large answer is already ours). */
    const attempt = async (): Promise<Response<string>> => {
      const pending = http(url, {
        method: request.method,
        headers,
        timeout: { request: timeoutMs },
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
      // Cancelling destroys the request and its socket. got's own `signal` option is not used: it turns an
      // `AbortSignal.timeout()` into its TimeoutError, which would be retried as NetSapiens' slowness.
      const cancel = () => pending.cancel();
      signal?.addEventListener('abort', cancel, { once: true });
      if (signal?.aborted) cancel();
      try {
        return (await pending) as Response<string>;
      } catch (error) {
        throw tooLarge ? new NsResponseTooLargeError(info, options.maxResponseBytes) : error;
      } finally {
        signal?.removeEventListener('abort', cancel);
      }
    };
    let status: number;
    let text: string;
    let contentType: string | undefined;
    try {
      let response: Response<string> | undefined;
      for (let attempts = 1; !response; attempts += 1) {
        if (signal?.aborted) throw aborted();
        const at = { method: request.method, path: info.path, attempt: attempts };
        hook('onRequest', { ...at });
        const started = performance.now();
        const durationMs = () => Math.round(performance.now() - started);
        try {
          response = await attempt();
          hook('onResponse', { ...at, status: response.statusCode, error: undefined, durationMs: durationMs() });
        } catch (error) {
          if (signal?.aborted) {
            hook('onResponse', { ...at, status: undefined, error: 'aborted', durationMs: durationMs() });
            throw aborted();
          }
          hook('onResponse', { ...at, ...attemptOutcome(error), durationMs: durationMs() });
          const plan = retryPlan(request.method, attempts, options.retries, error);
          if (plan === undefined) throw error;
          hook('onRetry', { ...at, ...plan });
          try {
            await sleep(plan.delayMs, undefined, { signal });
          } catch {
            throw aborted();
          }
        }
      }
      status = response.statusCode;
      text = response.body;
      contentType = response.headers['content-type'];
    } catch (error) {
      if (error instanceof NsError) throw error;
      throw toNsError(error, info, timeoutMs, secrets);
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

/** How an attempt that threw ended, for `onResponse`: the status NetSapiens answered, or a word for why none came. */
function attemptOutcome(error: unknown): { status: number | undefined; error: string | undefined } {
  if (error instanceof NsResponseTooLargeError) return { status: undefined, error: 'too-large' };
  if (error instanceof HTTPError) return { status: error.response.statusCode, error: undefined };
  if (error instanceof TimeoutError) return { status: undefined, error: 'timeout' };
  const code = error instanceof RequestError ? error.code : undefined;
  return { status: undefined, error: code && /^[A-Z][A-Z0-9_]*$/.test(code) ? code : 'network' };
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | null)?.then === 'function';
}

type HookInfo = { [Name in keyof NsHooks]-?: Parameters<NonNullable<NsHooks[Name]>>[0] };

/**
 * Calls the caller's hooks without letting them break a request: the first hook failure of a client (a
 * throw, or a promise that rejects) is reported as a process warning; later ones are caught silently.
 */
function hookCaller(hooks: NsHooks | undefined): <Name extends keyof NsHooks>(name: Name, info: HookInfo[Name]) => void {
  let reported = false;
  const report = (name: string, problem: unknown) => {
    if (reported) return;
    reported = true;
    const what = problem instanceof Error ? `${problem.name}: ${problem.message}` : String(problem);
    process.emitWarning(
      `@beckon/ns-client: the ${name} hook failed (${what.slice(0, 200)}); the request went on. Later hook failures of this client are not reported.`,
      { type: 'NsHookWarning' },
    );
  };
  return (name, info) => {
    const hook = hooks?.[name] as ((info: HookInfo[typeof name]) => unknown) | undefined;
    if (!hook) return;
    try {
      const result = hook.call(hooks, info);
      if (isThenable(result)) result.then(undefined, (problem: unknown) => report(name, problem));
    } catch (problem) {
      report(name, problem);
    }
  };
}

/**
 * A `multipart/form-data` body of string fields, encoded straight into a Buffer as the HTML standard (and
 * `new Response(FormData)`) encodes it: names escaped (`"`, CR, LF as `%22`, `%0D`, `%0A`), every line
 * break in a name or value sent as CRLF. Encoded up front rather than streamed: a Buffer can be sent again
 * (a POST refused before connecting is retried), and it costs a fraction of going through `FormData`.
 */
export function encodeMultipart(fields: Record<string, string>): { body: Buffer; contentType: string } {
  const entries = Object.entries(fields).map(([name, value]) => [escapeName(crlf(name)), crlf(value)] as const);
  let boundary = newBoundary();
  // 122 random bits make a clash all but impossible; the check makes it impossible.
  while (entries.some(([name, value]) => name.includes(boundary) || value.includes(boundary))) boundary = newBoundary();
  let text = '';
  for (const [name, value] of entries) text += `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`;
  text += `--${boundary}--\r\n`;
  return { body: Buffer.from(text, 'utf8'), contentType: `multipart/form-data; boundary=${boundary}` };
}

function newBoundary(): string {
  return `----beckon-${randomUUID()}`;
}

function crlf(text: string): string {
  return text.replace(/\r\n|\r|\n/g, '\r\n');
}

function escapeName(name: string): string {
  return name.replace(/\n/g, '%0A').replace(/\r/g, '%0D').replace(/"/g, '%22');
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
    const { statusCode, headers, body } = error.response;
    return httpErrorFor(info, statusCode, errorBody(String(body ?? ''), secrets), {
      cause,
      retryAfterMs: retryAfterMs(headers['retry-after']),
    });
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
