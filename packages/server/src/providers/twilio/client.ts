/**
 * The two Twilio REST calls Beckon makes — send a text (Messages) and place a call (Calls) — over
 * `fetch`, form-encoded with HTTP Basic auth, as Twilio's API v2010 takes them.
 *
 * Why not the `twilio` package: it would bring a large dependency tree (axios among it) for two POSTs,
 * and its errors carry the request's configuration, auth included. Here an error carries Twilio's
 * status, code and message, and never the auth token.
 */

export interface TwilioClientOptions {
  accountSid: string;
  authToken: string;
  /** `https://api.twilio.com`, or a stand-in's URL in tests and the demo. */
  baseUrl: string;
  /** How long one request may take. Default 10 s. */
  timeoutMs?: number;
}

/** Twilio refused the request, or could not be reached. */
export class TwilioError extends Error {
  override name = 'TwilioError';
  constructor(
    message: string,
    /** Twilio's HTTP status; undefined when Twilio did not answer. */
    readonly status: number | undefined,
    /** Twilio's error code (21211: invalid 'To', 21610: the recipient texted STOP…), when it gave one. */
    readonly code: number | undefined,
  ) {
    super(message);
  }

  /** Whether trying again later may succeed: no answer, a timeout, a 429 or a 5xx. A 4xx is final. */
  get retryable(): boolean {
    return this.status === undefined || this.status === 429 || this.status >= 500;
  }
}

export interface TwilioResource {
  /** `SM…` for a message, `CA…` for a call. */
  sid: string;
  status: string;
}

export interface TwilioClient {
  /** `POST /2010-04-01/Accounts/{sid}/Messages.json`. */
  sendSms(message: { to: string; from: string; body: string }): Promise<TwilioResource>;
  /**
   * `POST /2010-04-01/Accounts/{sid}/Calls.json` with inline TwiML for when `to` answers; with
   * `statusCallback`, Twilio posts the call's end (`StatusCallbackEvent=completed`) there.
   */
  createCall(call: { to: string; from: string; twiml: string; statusCallback?: string }): Promise<TwilioResource>;
}

export function createTwilioClient(options: TwilioClientOptions): TwilioClient {
  const base = `${options.baseUrl.replace(/\/+$/, '')}/2010-04-01/Accounts/${encodeURIComponent(options.accountSid)}`;
  const authorization = `Basic ${Buffer.from(`${options.accountSid}:${options.authToken}`).toString('base64')}`;
  const timeoutMs = options.timeoutMs ?? 10_000;

  const post = async (resource: 'Messages' | 'Calls', form: Record<string, string>): Promise<TwilioResource> => {
    let response: Response;
    try {
      response = await fetch(`${base}/${resource}.json`, {
        method: 'POST',
        redirect: 'error',
        signal: AbortSignal.timeout(timeoutMs),
        headers: { authorization, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: new URLSearchParams(form),
      });
    } catch (error) {
      const reason = (error as Error).name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : (error as Error).message;
      throw new TwilioError(`Twilio ${resource} could not be reached: ${reason}`, undefined, undefined);
    }
    const text = await response.text();
    let body: { sid?: unknown; status?: unknown; code?: unknown; message?: unknown } = {};
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      // Not JSON (a proxy's page): the status says enough.
    }
    if (!response.ok) {
      const code = typeof body.code === 'number' ? body.code : undefined;
      const said = typeof body.message === 'string' ? `: ${body.message.slice(0, 300)}` : '';
      throw new TwilioError(`Twilio ${resource} answered ${response.status}${code ? ` (code ${code})` : ''}${said}`, response.status, code);
    }
    if (typeof body.sid !== 'string')
      throw new TwilioError(`Twilio ${resource} answered ${response.status} without a sid`, response.status, undefined);
    return { sid: body.sid, status: typeof body.status === 'string' ? body.status : 'unknown' };
  };

  return {
    sendSms: ({ to, from, body }) => post('Messages', { To: to, From: from, Body: body }),
    createCall: ({ to, from, twiml, statusCallback }) =>
      post('Calls', {
        To: to,
        From: from,
        Twiml: twiml,
        ...(statusCallback ? { StatusCallback: statusCallback, StatusCallbackEvent: 'completed' } : {}),
      }),
  };
}
