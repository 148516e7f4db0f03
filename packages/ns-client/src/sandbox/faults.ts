/** The routes a fault (and the request log) can name. */
export const SANDBOX_ROUTE_NAMES = [
  'tokens',
  'queuedcall.create',
  'queuedcall.createV2',
  'messages.send',
  'users.create',
  'users.get',
  'dialrules.list',
  'dialrules.get',
  'dialrules.create',
  'dialrules.update',
  'answerrules.list',
  'answerrules.update',
  'answerrules.create',
  'subscriptions.create',
  'subscriptions.list',
  'subscriptions.get',
  'subscriptions.update',
  'subscriptions.delete',
] as const;

export type SandboxRouteName = (typeof SANDBOX_ROUTE_NAMES)[number];

function isSandboxRouteName(value: unknown): value is SandboxRouteName {
  return typeof value === 'string' && (SANDBOX_ROUTE_NAMES as readonly string[]).includes(value);
}

export interface SandboxFault {
  /** A named route, or a RegExp tested against the request's pathname (as sent, still percent-encoded). */
  route: SandboxRouteName | RegExp;
  /** Only requests with this method (any case); default: any method. */
  method?: string;
  /** How many matching requests the fault applies to; default 1. `Infinity` keeps it until cleared. */
  times?: number;
  /** Answer this status instead of handling the request. */
  status?: number;
  /** The JSON body sent with `status`; default `{code: status, message: <reason phrase>}`. */
  body?: unknown;
  /**
   * Sent with `status` as the `Retry-After` header: a whole number of seconds (`120`), or a string sent
   * as it is, such as an HTTP date (`new Date(Date.now() + 60_000).toUTCString()`) or a malformed value
   * for a test. Without it no `Retry-After` is sent: NetSapiens does not document one on its 429s.
   */
  retryAfter?: number | string;
  /** Wait this long first; without `status` or `drop` the request is then handled normally. */
  delayMs?: number;
  /** Destroy the connection without answering and without handling the request. */
  drop?: boolean;
}

/** What the server does with a faulted request. */
export type FaultAction = Pick<SandboxFault, 'status' | 'body' | 'retryAfter' | 'delayMs' | 'drop'>;

interface ArmedFault {
  route: SandboxRouteName | RegExp;
  method: string | undefined;
  remaining: number;
  action: FaultAction;
}

/** Checks a fault and copies what is needed, so that later changes to the caller's object have no effect. */
function arm(fault: SandboxFault): ArmedFault {
  if (typeof fault !== 'object' || fault === null) throw new TypeError('A fault must be an object');
  const { route, method, times = 1, status, body, retryAfter, delayMs, drop } = fault;
  if (!(route instanceof RegExp) && !isSandboxRouteName(route)) {
    throw new TypeError(`fault.route must be a RegExp or one of: ${SANDBOX_ROUTE_NAMES.join(', ')}`);
  }
  if (method !== undefined && (typeof method !== 'string' || method === '')) throw new TypeError('fault.method must be a non-empty string');
  if (typeof times !== 'number' || !(times >= 1) || (Number.isFinite(times) && !Number.isInteger(times))) {
    throw new TypeError('fault.times must be a whole number of at least 1 (or Infinity)');
  }
  if (status !== undefined && (!Number.isInteger(status) || status < 200 || status > 599)) {
    throw new TypeError('fault.status must be an HTTP status from 200 to 599');
  }
  if (delayMs !== undefined && (typeof delayMs !== 'number' || !Number.isFinite(delayMs) || delayMs < 0)) {
    throw new TypeError('fault.delayMs must be a non-negative number of milliseconds');
  }
  if (drop !== undefined && typeof drop !== 'boolean') throw new TypeError('fault.drop must be a boolean');
  if (status === undefined && delayMs === undefined && drop !== true) {
    throw new TypeError('A fault needs status, delayMs or drop');
  }
  if (status !== undefined && drop === true) throw new TypeError('A fault cannot both answer a status and drop the connection');
  if (body !== undefined && status === undefined) throw new TypeError('fault.body needs fault.status');
  if (retryAfter !== undefined) {
    if (status === undefined) throw new TypeError('fault.retryAfter needs fault.status');
    const seconds = typeof retryAfter === 'number' && Number.isSafeInteger(retryAfter) && retryAfter >= 0;
    // A header value cannot hold a line break; anything else is sent as given.
    const text = typeof retryAfter === 'string' && retryAfter.trim() !== '' && !/[\r\n]/.test(retryAfter);
    if (!seconds && !text) throw new TypeError('fault.retryAfter must be a whole number of seconds ≥ 0 or a non-empty one-line string');
  }
  // A global or sticky RegExp keeps state between test() calls; a plain copy matches the same way each time.
  const pattern = route instanceof RegExp ? new RegExp(route.source, route.flags.replace(/[gy]/g, '')) : route;
  const action: FaultAction = {
    ...(status !== undefined ? { status } : {}),
    ...(body !== undefined ? { body: jsonCopy(body) } : {}),
    ...(retryAfter !== undefined ? { retryAfter } : {}),
    ...(delayMs !== undefined ? { delayMs } : {}),
    ...(drop ? { drop } : {}),
  };
  return { route: pattern, method: method?.toUpperCase(), remaining: times, action };
}

/** The body is copied as JSON now: it is sent as JSON later, and must not change in between. */
function jsonCopy(body: unknown): unknown {
  let text: string | undefined;
  try {
    text = JSON.stringify(body);
  } catch {
    text = undefined;
  }
  if (text === undefined) throw new TypeError('fault.body must be JSON-serialisable');
  return JSON.parse(text) as unknown;
}

export class FaultList {
  #faults: ArmedFault[] = [];

  inject(fault: SandboxFault): void {
    this.#faults.push(arm(fault));
  }

  clear(): void {
    this.#faults = [];
  }

  /** The first armed fault matching this request, used up by one; undefined when none matches. */
  take(method: string, pathname: string, route: SandboxRouteName | null): FaultAction | undefined {
    const index = this.#faults.findIndex(
      (fault) =>
        (fault.method === undefined || fault.method === method.toUpperCase()) &&
        (fault.route instanceof RegExp ? fault.route.test(pathname) : fault.route === route),
    );
    const fault = this.#faults[index];
    if (!fault) return undefined;
    fault.remaining -= 1;
    if (fault.remaining <= 0) this.#faults.splice(index, 1);
    return fault.action;
  }
}
