import { NsHttpError, NsUsageError } from './errors.js';
import type { Credentials } from './auth.js';
import type { NsRequestOptions } from './client.js';
import type { NsRequest, NsResponse, Send } from './transport.js';

/**
 * `ns.request`: any other NetSapiens endpoint, with the same authentication (an OAuth token is renewed
 * once after a 401), errors, retry policy, hooks and request options as the methods; what every
 * resource method calls. It resolves to an `NsResponse` for a 2xx answer. Any other status, a 3xx
 * included (redirects are not followed), is an `NsHttpError`; a 2xx whose body is not JSON is an
 * `NsResponseError` whatever `expect` says.
 *
 * @example
 * ```ts
 * const { status, body } = await ns.request<{ total: number }>(
 *   { method: 'GET', path: nsPath`/ns-api/v2/domains/${domain}/users/count` },
 *   { timeoutMs: 2_000 },
 * );
 * ```
 */
export type NsRequester = <T = unknown>(request: NsRequest, options?: NsRequestOptions) => Promise<NsResponse<T>>;

export function createRequester(send: Send, credentials: Credentials): NsRequester {
  return async function request<T>(request: NsRequest, options?: NsRequestOptions): Promise<NsResponse<T>> {
    const call = requestOptions(options);
    const token = await unlessAborted(() => credentials.token(), call.signal);
    // Aborted while waiting for a token: `send` sends nothing once the signal is aborted, and throws
    // the NsAbortError that names this request.
    if (token === undefined) return send<T>(request, undefined, call);
    try {
      return await send<T>(request, token, call);
    } catch (error) {
      if (!(error instanceof NsHttpError && error.status === 401)) throw error;
      // NetSapiens refused the token before acting on the request, so even a POST is safe to send
      // once more, with a renewed token. A second 401 is final.
      const renewed = await unlessAborted(() => credentials.renew(token), call.signal);
      if (renewed === undefined && !call.signal?.aborted) throw error;
      return send<T>(request, renewed, call);
    }
  };
}

/** Checks a call's options before anything is sent: `NsUsageError` for what cannot be used. */
export function requestOptions(options: NsRequestOptions | undefined): NsRequestOptions {
  if (options === undefined) return {};
  if (typeof options !== 'object' || options === null) throw new NsUsageError('request options must be an object');
  const { signal, timeoutMs } = options;
  if (timeoutMs !== undefined && (typeof timeoutMs !== 'number' || !Number.isFinite(timeoutMs) || timeoutMs <= 0)) {
    throw new NsUsageError('timeoutMs must be a positive number');
  }
  if (signal !== undefined && !isAbortSignal(signal)) throw new NsUsageError('signal must be an AbortSignal');
  return { ...(signal !== undefined ? { signal } : {}), ...(timeoutMs !== undefined ? { timeoutMs } : {}) };
}

function isAbortSignal(value: unknown): value is AbortSignal {
  const signal = value as Partial<AbortSignal> | null;
  return (
    typeof signal === 'object' && signal !== null && typeof signal.aborted === 'boolean' && typeof signal.addEventListener === 'function'
  );
}

/**
 * What `get` resolves to, or `undefined` as soon as `signal` aborts (at once, without calling `get`, when
 * it is aborted already). A login or refresh is shared by every call waiting for a token, so one
 * caller's abort only stops its own wait; the promise left behind keeps a handler, so that its failure
 * is not an unhandled rejection.
 */
async function unlessAborted<T>(get: () => Promise<T>, signal: AbortSignal | undefined): Promise<T | undefined> {
  if (!signal) return get();
  if (signal.aborted) return undefined;
  const promise = get();
  promise.catch(() => undefined);
  let stop: (() => void) | undefined;
  const abort = new Promise<undefined>((resolve) => {
    stop = () => resolve(undefined);
    signal.addEventListener('abort', stop, { once: true });
  });
  try {
    return await Promise.race([promise, abort]);
  } finally {
    if (stop) signal.removeEventListener('abort', stop);
  }
}
