/** The two requests the element makes to a Beckon server. Neither sends cookies or other credentials. */

/** Branding for a config id, as `GET /widget-config` gives it; every field may be missing. */
export interface WidgetBranding {
  buttonText?: string;
  buttonColor?: string;
  companyName?: string;
  logoUrl?: string;
}

/**
 * How a failed click-to-call request ended: `status` is missing when no HTTP answer arrived, `message`
 * when the answer had none to show, and `code` when the server gave none.
 */
export interface CallFailure {
  ok: false;
  status?: number;
  message?: string;
  code?: string;
}

/** How a click-to-call request ended. */
export type CallOutcome = { ok: true } | CallFailure;

/** Branding only decorates the button: give up soon and keep the defaults. */
const BRANDING_TIMEOUT_MS = 8_000;
/** Long enough for the phone system to accept the call; the request is never retried. */
const CALL_TIMEOUT_MS = 20_000;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

function url(endpoint: string, path: string): string {
  return `${endpoint.replace(/\/+$/, '')}${path}`;
}

/** `GET {endpoint}/widget-config?id=`: undefined on any failure, since branding is optional. */
export async function fetchBranding(endpoint: string, id: string): Promise<WidgetBranding | undefined> {
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
    return { buttonText: text('buttonText'), buttonColor: text('buttonColor'), companyName: text('companyName'), logoUrl: text('logoUrl') };
  } catch {
    return undefined;
  }
}

/**
 * `POST {endpoint}/click-to-call {id, phone_number}`. Success is a 2xx answer `{"status":"ok"}`; an
 * error keeps the server's `message` from its `{"status":"error","message"}` envelope when there is one.
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
  return { ok: false, status: response.status, message, code };
}
