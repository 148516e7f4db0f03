/**
 * The live stream `<call-popup>` reads: `GET {endpoint}/api/call-stream?token=…` (Server-Sent Events),
 * reopened with a fresh token and backoff after any failure, resuming after the last event seen.
 */

/** A call as the stream's `call` events carry it (the server's `GET /api/calls` shape). */
export interface CallPopupCall {
  /** Beckon's id of the call. */
  id: string;
  /** The phone system's id of the call. */
  session_id: string;
  from_number: string | null;
  /** The caller's name as the phone system gave it. */
  from_name: string | null;
  to_number: string | null;
  direction: 'inbound' | 'outbound';
  status: 'ringing' | 'answered' | 'missed' | 'voicemail' | 'ended';
  /** When the call started, ISO 8601. */
  timestamp: string;
  /** The matched customer's id in the system it was imported from; null when the caller matched none. */
  customer_id: string | null;
  customer_name: string | null;
  customer_email: string | null;
  /** The customer's page in that system, when known. */
  customer_url: string | null;
  /** The Beckon id (config id) the call belongs to. */
  tenant: string;
  /** The phone system, such as `netsapiens`. */
  provider: string;
}

const STATUSES: ReadonlySet<string> = new Set(['ringing', 'answered', 'missed', 'voicemail', 'ended']);

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

/** The call in a `call` event's data (`{"type":"call","call":{…}}`), or undefined when it is not one. */
export function parseCallEvent(data: string): CallPopupCall | undefined {
  let body: unknown;
  try {
    body = JSON.parse(data);
  } catch {
    return undefined;
  }
  if (!isRecord(body) || body.type !== 'call' || !isRecord(body.call)) return undefined;
  const call = body.call;
  if (typeof call.id !== 'string' || typeof call.status !== 'string' || !STATUSES.has(call.status)) return undefined;
  const text = (key: string): string | null => {
    const value = call[key];
    return typeof value === 'string' && value.trim() ? value : null;
  };
  return {
    id: call.id,
    session_id: text('session_id') ?? '',
    from_number: text('from_number'),
    from_name: text('from_name'),
    to_number: text('to_number'),
    direction: call.direction === 'outbound' ? 'outbound' : 'inbound',
    status: call.status as CallPopupCall['status'],
    timestamp: text('timestamp') ?? '',
    customer_id: text('customer_id'),
    customer_name: text('customer_name'),
    customer_email: text('customer_email'),
    customer_url: text('customer_url'),
    tenant: text('tenant') ?? '',
    provider: text('provider') ?? '',
  };
}

export interface CallStreamOptions {
  /** Base URL of the Beckon server. */
  endpoint: string;
  /** A fresh stream token, asked for before every connection (tokens are short-lived). */
  token: () => string | Promise<string>;
  /** Each call event, in order. */
  onCall: (call: CallPopupCall) => void;
  /** The event id to resume after, for a stream that replaces an earlier one. */
  lastEventId?: string;
}

/** The first retry waits about this long; each failure in a row doubles it, up to `MAX_DELAY_MS`. */
const BASE_DELAY_MS = 1_000;
const MAX_DELAY_MS = 30_000;

/**
 * One logical connection to the stream. Any failure (a refused token, a network error, the server
 * closing the stream) closes the `EventSource` instead of letting it reconnect on its own, because its
 * own reconnection would reuse a token that may have expired: the next attempt asks `token` again and
 * passes `last_event_id` explicitly, as a new `EventSource` does not send `Last-Event-ID`.
 */
export class CallStream {
  /** The id of the last event received (`connected` or `call`): where the next connection resumes. */
  lastEventId: string;
  private source: EventSource | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  /** Failures since the server last said `connected`. */
  private failures = 0;
  private closed = false;

  constructor(private readonly options: CallStreamOptions) {
    this.lastEventId = options.lastEventId ?? '';
    void this.open();
  }

  /** Stops for good: closes the connection and cancels any pending retry. */
  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.source?.close();
    this.source = undefined;
  }

  private async open(): Promise<void> {
    let token: string;
    try {
      token = await this.options.token();
    } catch {
      this.retry();
      return;
    }
    if (this.closed) return;
    if (typeof token !== 'string' || !token) {
      this.retry();
      return;
    }
    const url = new URL(`${this.options.endpoint.replace(/\/+$/, '')}/api/call-stream`, document.baseURI);
    url.searchParams.set('token', token);
    if (this.lastEventId) url.searchParams.set('last_event_id', this.lastEventId);
    const source = new EventSource(url);
    this.source = source;
    source.addEventListener('connected', (event: MessageEvent<string>) => {
      this.failures = 0;
      // Where this stream starts: a reconnection before any call event resumes here, missing nothing.
      if (event.lastEventId) this.lastEventId = event.lastEventId;
    });
    source.addEventListener('call', (event: MessageEvent<string>) => {
      if (event.lastEventId) this.lastEventId = event.lastEventId;
      const call = parseCallEvent(event.data);
      if (call) this.options.onCall(call);
    });
    source.addEventListener('error', () => {
      source.close();
      if (this.source === source) this.retry();
    });
  }

  /** Schedules the next attempt: exponential backoff with jitter, so many pages do not return at once. */
  private retry(): void {
    if (this.closed) return;
    this.source = undefined;
    const ceiling = Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** this.failures);
    this.failures += 1;
    this.timer = setTimeout(() => void this.open(), ceiling / 2 + Math.random() * (ceiling / 2));
  }
}
