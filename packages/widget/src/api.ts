/** The two requests the element makes to a Beckon server. Neither sends cookies or other credentials. */

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

/** How a click-to-call request ended. */
export type CallOutcome = { ok: true } | CallFailure;

/** The config only decorates and informs the button: give up soon and keep the defaults. */
const BRANDING_TIMEOUT_MS = 8_000;
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

/** `GET {endpoint}/widget-config?id=`: undefined on any failure, since all of it is optional. */
export async function fetchConfig(endpoint: string, id: string): Promise<WidgetConfig | undefined> {
  try {
    const response = await fetch(url(endpoint, `/widget-config?id=${encodeURIComponent(id)}`), {
      credentials: 'omit',
      signal: AbortSignal.timeout(BRANDING_TIMEOUT_MS),
    });
    if (!response.ok) return undefined;
    const body: unknown = await response.json();
    if (!isRecord(body)) return undefined;
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
    };
  } catch {
    return undefined;
  }
}

/**
 * `POST {endpoint}/click-to-call {id, phone_number}`. Success is a 2xx answer `{"status":"ok"}`; an
 * error keeps the server's `message` from its `{"status":"error","message"}` envelope when there is one,
 * and the `next_open` of a 409 `closed`.
 */
export async function requestCall(endpoint: string, id: string, phoneNumber: string, turnstileToken?: string): Promise<CallOutcome> {
  let response: Response;
  try {
    response = await fetch(url(endpoint, '/click-to-call'), {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(
        turnstileToken ? { id, phone_number: phoneNumber, turnstile_token: turnstileToken } : { id, phone_number: phoneNumber },
      ),
      credentials: 'omit',
      signal: AbortSignal.timeout(CALL_TIMEOUT_MS),
    });
  } catch {
    return { ok: false };
  }
  const body: unknown = await response.json().catch(() => undefined);
  if (response.ok && isRecord(body) && body.status === 'ok') return { ok: true };
  const envelope = isRecord(body) && body.status === 'error' ? body : {};
  const message = typeof envelope.message === 'string' && envelope.message.trim() ? envelope.message : undefined;
  const code = typeof envelope.code === 'string' ? envelope.code : undefined;
  return { ok: false, status: response.status, message, code, nextOpen: date(envelope.next_open) };
}
