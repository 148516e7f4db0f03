/** The requests the element makes to a Beckon server. None sends cookies or other credentials. */

/** Branding for a config id, as `GET /widget-config` gives it; every field may be missing. */
export interface WidgetBranding {
  buttonText?: string;
  buttonColor?: string;
  companyName?: string;
  logoUrl?: string;
}

/** Whether the id's line takes calls now, for an id with opening hours. */
export interface LineHours {
  open: boolean;
  /** When a closed line opens; missing while open, or when it stays closed beyond the server's look-ahead. */
  nextOpen?: Date;
  /** The zone the hours are read in (IANA), when the server said. */
  timeZone?: string;
}

/** A country the id calls, with what it takes to dial a national number there. */
export interface DialCountry {
  /** ISO 3166 code: `FR`. */
  code: string;
  /** Without `+`: `33`. */
  callingCode: string;
  /** A national number there, for a placeholder: `06 12 34 56 78`. */
  example?: string;
  /** The digits a national number has there, its national prefix aside. */
  lengths: number[];
}

/** What `GET /widget-config` says of an id: branding, and, when the id has them, its hours and countries. */
export interface WidgetConfig {
  branding: WidgetBranding;
  hours?: LineHours;
  countries?: DialCountry[];
  /** Whether the id takes bookings (`POST /click-to-call` with `scheduled_at`). */
  scheduling: boolean;
}

/**
 * How a failed click-to-call request ended: `status` is missing when no HTTP answer arrived, `message`
 * when the answer had none to show, and `code` when the server gave none. `nextOpen` comes with the
 * `closed` code.
 */
export interface CallFailure {
  ok: false;
  status?: number;
  message?: string;
  code?: string;
  nextOpen?: Date;
}

/**
 * An accepted click-to-call request. `callbackId` and `statusToken` open the call's live status (an
 * older server gives neither); a booking also has `scheduledAt` and the `cancelToken` that cancels it.
 */
export interface CallAccepted {
  ok: true;
  callbackId?: string;
  statusToken?: string;
  /** The booked time (ISO 8601, UTC), as the server wrote it. */
  scheduledAt?: string;
  cancelToken?: string;
}

/** How a click-to-call request (or a cancellation) ended. */
export type CallOutcome = CallAccepted | CallFailure;

/** The next times an id takes bookings at, as `GET /click-to-call/slots` lists them. */
export interface CallSlots {
  /** The business's zone (IANA). */
  timeZone?: string;
  /** UTC instants (ISO 8601) as the server wrote them, so a booking sends one back unchanged. */
  slots: string[];
}

/** The config and the bookable times only inform the dialog: give up soon and keep the defaults. */
const INFO_TIMEOUT_MS = 8_000;
/** Long enough for the phone system to accept the call; the request is never retried. */
const CALL_TIMEOUT_MS = 20_000;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

/** A date from the server's ISO 8601 text; undefined for anything else. */
function date(value: unknown): Date | undefined {
  const parsed = typeof value === 'string' ? new Date(value) : undefined;
  return parsed && !isNaN(parsed.getTime()) ? parsed : undefined;
}

function country(value: unknown): DialCountry[] {
  if (!isRecord(value)) return [];
  const { code, calling_code: callingCode, example, lengths } = value;
  if (typeof code !== 'string' || !/^[A-Z]{2}$/.test(code) || typeof callingCode !== 'string' || !/^\d{1,3}$/.test(callingCode)) return [];
  return [
    {
      code,
      callingCode,
      example: typeof example === 'string' ? example : undefined,
      lengths: Array.isArray(lengths) ? lengths.filter((length): length is number => typeof length === 'number') : [],
    },
  ];
}

function url(endpoint: string, path: string): string {
  return `${endpoint.replace(/\/+$/, '')}${path}`;
}

/** `GET {endpoint}{path}`: the JSON object answered, else undefined (on any failure). */
async function getRecord(endpoint: string, path: string): Promise<Record<string, unknown> | undefined> {
  try {
    const response = await fetch(url(endpoint, path), { credentials: 'omit', signal: AbortSignal.timeout(INFO_TIMEOUT_MS) });
    const body: unknown = await response.json();
    return response.ok && isRecord(body) ? body : undefined;
  } catch {
    return undefined;
  }
}

/** `GET {endpoint}/widget-config?id=`: undefined on any failure, since all of it is optional. */
export async function fetchConfig(endpoint: string, id: string): Promise<WidgetConfig | undefined> {
  const body = await getRecord(endpoint, `/widget-config?id=${encodeURIComponent(id)}`);
  if (!body) return undefined;
  const text = (key: keyof WidgetBranding): string | undefined => {
    const value = body[key];
    return typeof value === 'string' && value.trim() ? value : undefined;
  };
  const countries = Array.isArray(body.countries) ? body.countries.flatMap(country) : [];
  return {
    branding: {
      buttonText: text('buttonText'),
      buttonColor: text('buttonColor'),
      companyName: text('companyName'),
      logoUrl: text('logoUrl'),
    },
    hours:
      typeof body.open === 'boolean'
        ? { open: body.open, nextOpen: date(body.next_open), timeZone: typeof body.timezone === 'string' ? body.timezone : undefined }
        : undefined,
    countries: countries.length > 0 ? countries : undefined,
    scheduling: body.scheduling === true,
  };
}

/** `GET {endpoint}/click-to-call/slots?id=`: undefined on any failure. */
export async function fetchSlots(endpoint: string, id: string): Promise<CallSlots | undefined> {
  const body = await getRecord(endpoint, `/click-to-call/slots?id=${encodeURIComponent(id)}`);
  if (!Array.isArray(body?.slots)) return undefined;
  return {
    timeZone: typeof body.timezone === 'string' ? body.timezone : undefined,
    slots: body.slots.filter((slot): slot is string => date(slot) !== undefined),
  };
}

/**
 * `POST {endpoint}/click-to-call {id, phone_number}`, with `scheduled_at` to book a time. Success is a
 * 2xx answer `{"status":"ok"}` (or `"scheduled"`, a booking); an error keeps the server's `message` from
 * its `{"status":"error","message"}` envelope when there is one, and the `next_open` of a 409 `closed`.
 */
export function requestCall(
  endpoint: string,
  id: string,
  phoneNumber: string,
  turnstileToken?: string,
  scheduledAt?: string,
): Promise<CallOutcome> {
  const body: Record<string, string> = { id, phone_number: phoneNumber };
  if (turnstileToken) body.turnstile_token = turnstileToken;
  if (scheduledAt) body.scheduled_at = scheduledAt;
  return send(url(endpoint, '/click-to-call'), 'POST', body);
}

/**
 * A requested call's URL with its token: `{endpoint}/click-to-call/:callback_id?token=` (DELETE cancels
 * a booking), or with `/events`, its live status stream (Server-Sent Events).
 */
export function callUrl(endpoint: string, callbackId: string, token: string, events = ''): string {
  return url(endpoint, `/click-to-call/${encodeURIComponent(callbackId)}${events}?token=${encodeURIComponent(token)}`);
}

/** `DELETE {endpoint}/click-to-call/:callback_id?token=`: cancels a booking. */
export function cancelCall(endpoint: string, callbackId: string, cancelToken: string): Promise<CallOutcome> {
  return send(callUrl(endpoint, callbackId, cancelToken), 'DELETE');
}

/** A JSON request answered in the server's shapes: an accepted call, or the error envelope. */
async function send(target: string, method: string, fields?: Record<string, string>): Promise<CallOutcome> {
  let response: Response;
  try {
    response = await fetch(target, {
      method,
      ...(fields ? { headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(fields) } : {}),
      credentials: 'omit',
      signal: AbortSignal.timeout(CALL_TIMEOUT_MS),
    });
  } catch {
    return { ok: false };
  }
  const body: unknown = await response.json().catch(() => undefined);
  const field = (key: string): string | undefined => {
    const value = isRecord(body) ? body[key] : undefined;
    return typeof value === 'string' && value.trim() ? value : undefined;
  };
  const status = field('status');
  if (response.ok && (status === 'ok' || status === 'scheduled' || status === 'cancelled')) {
    return {
      ok: true,
      callbackId: field('callback_id'),
      statusToken: field('status_token'),
      scheduledAt: field('scheduled_at'),
      cancelToken: field('cancel_token'),
    };
  }
  const error = status === 'error';
  return {
    ok: false,
    status: response.status,
    message: error ? field('message') : undefined,
    code: error ? field('code') : undefined,
    nextOpen: error ? date(field('next_open')) : undefined,
  };
}
