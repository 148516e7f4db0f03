/**
 * Twilio's side of a phone call and of a text, played against a Beckon server: the signed webhooks
 * Twilio sends when a call comes in to a Twilio number (and, when Beckon answers with
 * `<Dial action=…>`, when the forwarded leg ends) and when a text comes in. Tests use it to run the
 * missed-call flow end to end; a demo can use it to ring a running server.
 *
 * What it sends follows Twilio's Voice and Messaging webhooks (https://www.twilio.com/docs/voice/twiml#request-parameters,
 * https://www.twilio.com/docs/voice/twiml/dial#action, providers.md A1 and A4): form-encoded POSTs
 * (or a GET when the Dial says `method="GET"`), every one signed with the auth token over the URL
 * Twilio believes it requests. It reads each answer as Twilio would: a 2xx, an XML content type and a
 * `<Response>` document, or the error Twilio would log (11200, 12300, 12100).
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { signTwilioRequest, TWILIO_SIGNATURE_HEADER } from '../signature.js';
import { API_VERSION, segmentCount, twilioSid } from './resources.js';
import { parseTwiml, TwimlParseError, type TwimlElement } from './twiml.js';

/** How a `<Dial>`'s forwarded leg ended (`DialCallStatus`); `answered` is the conference case. */
export const DIAL_CALL_STATUSES = ['completed', 'answered', 'busy', 'no-answer', 'failed', 'canceled'] as const;
export type DialCallStatus = (typeof DIAL_CALL_STATUSES)[number];

/** Twilio waits this long for an answer by default before it gives up on a webhook (providers.md A2). */
export const TWILIO_WEBHOOK_TIMEOUT_MS = 15_000;
/** The most of an answer read: TwiML is small, and a runaway answer must not fill a test's memory. */
const MAX_ANSWER_BYTES = 1_048_576;

/** The account whose auth token signs the webhooks: the one Beckon verifies with (`TWILIO_AUTH_TOKEN`). */
export interface TwilioAccount {
  accountSid: string;
  authToken: string;
}

/** One webhook the driver sent, and what came back. */
export interface TwilioWebhookExchange {
  /** The URL signed: the one Twilio believes it requests (under `PUBLIC_URL`). */
  url: string;
  /** Where it was sent: the same URL as this process reaches Beckon. */
  sentTo: string;
  method: 'GET' | 'POST';
  params: Record<string, string>;
  /** The `X-Twilio-Signature` sent. */
  signature: string;
  /** The answer's status; null when none came (connection refused, timed out). */
  status: number | null;
  contentType: string | null;
  /** The answer's body as text ('' when none came). */
  body: string;
  /** The answer read as TwiML, when it was a `<Response>` document. */
  twiml?: TwimlElement;
  /** Why Twilio could not act on the answer, with its error code (e.g. `11200 HTTP retrieval failure: status 403`). */
  problem?: string;
}

/** The `<Dial>` of Beckon's answer, as Twilio carried it out. */
export interface TwilioDial {
  /** The numbers rung: the `<Number>`s, or the Dial's own text. */
  numbers: string[];
  /** The `action` attribute as written (relative or absolute); undefined when the Dial has none. */
  action?: string;
  method: 'GET' | 'POST';
  /** The `timeout` attribute, in seconds; undefined when not given (Twilio's default is 30). */
  timeout?: number;
  callerId?: string;
  /** The forwarded leg's SID (`DialCallSid`). */
  dialCallSid: string;
  dialCallStatus: DialCallStatus;
}

export interface TwilioPlacedCall {
  /** The call's `CallSid`: `CA` and 32 hex digits. */
  callSid: string;
  /** The incoming-call webhook (`CallStatus=ringing`) and Beckon's answer. */
  voice: TwilioWebhookExchange;
  /** The answer's first `<Dial>`; undefined when it had none (or was no TwiML). */
  dial?: TwilioDial;
  /** The `<Dial action>` callback and its answer; undefined when there was no Dial with an action. */
  action?: TwilioWebhookExchange;
}

export interface PlaceTwilioCallOptions extends TwilioAccount {
  /**
   * Where this process reaches Beckon's Voice URL, e.g. `${beckon}/webhooks/twilio/call`: the incoming
   * call is POSTed there.
   */
  voiceUrl: string;
  /**
   * The Voice URL as configured in Twilio's console, which Twilio signs: `${PUBLIC_URL}/webhooks/twilio/call`.
   * A relative `<Dial action>` resolves against it, as Twilio resolves it against the document's URL.
   * Default `voiceUrl` (Beckon's PUBLIC_URL is then its own address).
   */
  signingUrl?: string;
  /** The caller (`From`): E.164, or what Twilio sends for a hidden number (`+266696687`, `anonymous`). */
  from: string;
  /** The Twilio number called (`To`). */
  to: string;
  /** How the forwarded leg ends when Beckon's answer dials: answered and hung up later (`completed`), or missed. */
  dialCallStatus: DialCallStatus;
  /** How long the forwarded leg talked, in seconds, for a `completed`/`answered` Dial (`DialCallDuration`); default 42. */
  talkSeconds?: number;
  /** Default: a new `CA…` SID. Give one to redeliver a call's webhooks. */
  callSid?: string;
  /** More parameters, or other values, for every webhook of the call (`CallerName`, `FromCity`, …). */
  extraParams?: Record<string, string>;
  /** How long each webhook may take, answer included; default 15 s, as Twilio. */
  timeoutMs?: number;
}

export interface SendTwilioSmsOptions extends TwilioAccount {
  /** Where this process reaches Beckon's Messaging URL, e.g. `${beckon}/webhooks/twilio/sms`. */
  smsUrl: string;
  /** The Messaging URL as configured in Twilio's console (`${PUBLIC_URL}/webhooks/twilio/sms`), which Twilio signs; default `smsUrl`. */
  signingUrl?: string;
  /** The texter. */
  from: string;
  /** The Twilio number texted. */
  to: string;
  /** The text, e.g. `STOP` or `START`. */
  body: string;
  /** Default: a new `SM…` SID. */
  messageSid?: string;
  extraParams?: Record<string, string>;
  timeoutMs?: number;
}

export interface TwilioInboundSms {
  messageSid: string;
  /** The incoming-message webhook and Beckon's answer (an empty answer is fine: no reply is sent). */
  webhook: TwilioWebhookExchange;
}

interface HttpAnswer {
  status: number;
  contentType: string | null;
  body: string;
}

function absoluteHttpUrl(value: string, name: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new TypeError(`${name} must be an absolute http(s) URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TypeError(`${name} must be an absolute http(s) URL`);
  return url;
}

/** One request with a fresh connection, as each Twilio webhook is; rejects on no answer within `timeoutMs`. */
function send(
  url: string,
  method: 'GET' | 'POST',
  headers: Record<string, string>,
  body: string | undefined,
  timeoutMs: number,
): Promise<HttpAnswer> {
  const request = url.startsWith('https:') ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const outgoing = request(url, { method, headers, agent: false, signal: AbortSignal.timeout(timeoutMs) }, (incoming) => {
      const chunks: Buffer[] = [];
      let size = 0;
      incoming.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_ANSWER_BYTES) incoming.destroy(new Error(`the answer is larger than ${MAX_ANSWER_BYTES} bytes`));
        else chunks.push(chunk);
      });
      incoming.on('error', reject);
      incoming.on('end', () =>
        resolve({
          status: incoming.statusCode ?? 0,
          contentType: incoming.headers['content-type'] ?? null,
          body: Buffer.concat(chunks).toString('utf8'),
        }),
      );
    });
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}

/** What Twilio makes of an answer; `emptyIsFine` for Messaging, where an empty answer means "no reply". */
function readAnswer(answer: HttpAnswer, emptyIsFine: boolean): Pick<TwilioWebhookExchange, 'twiml' | 'problem'> {
  if (answer.status < 200 || answer.status > 299) return { problem: `11200 HTTP retrieval failure: status ${answer.status}` };
  if (emptyIsFine && answer.body.trim() === '') return {};
  if (!/xml/i.test(answer.contentType ?? '')) return { problem: `12300 Invalid Content-Type: ${answer.contentType ?? 'none'}` };
  try {
    return { twiml: parseTwiml(answer.body) };
  } catch (problem) {
    if (problem instanceof TwimlParseError) return { problem: `12100 Document parse failure: ${problem.message}` };
    throw problem;
  }
}

async function sendWebhook(
  account: TwilioAccount,
  target: { url: string; sentTo: string; method: 'GET' | 'POST'; params: Record<string, string>; timeoutMs: number; emptyIsFine: boolean },
): Promise<TwilioWebhookExchange> {
  const { method, params } = target;
  // A GET carries the parameters in the query, and the signature covers that URL alone.
  const query = new URLSearchParams(params).toString();
  const withQuery = (url: string) => (method === 'GET' ? `${url}${url.includes('?') ? '&' : '?'}${query}` : url);
  const url = withQuery(target.url);
  const sentTo = withQuery(target.sentTo);
  const signature = signTwilioRequest(account.authToken, url, method === 'POST' ? params : {});
  const headers: Record<string, string> = { [TWILIO_SIGNATURE_HEADER]: signature, 'user-agent': 'TwilioProxy/1.1', accept: '*/*' };
  if (method === 'POST') headers['content-type'] = 'application/x-www-form-urlencoded';
  const exchange = { url, sentTo, method, params, signature };
  try {
    const answer = await send(sentTo, method, headers, method === 'POST' ? query : undefined, target.timeoutMs);
    return {
      ...exchange,
      status: answer.status,
      contentType: answer.contentType,
      body: answer.body,
      ...readAnswer(answer, target.emptyIsFine),
    };
  } catch (problem) {
    const reason = problem instanceof Error ? problem.message : String(problem);
    return { ...exchange, status: null, contentType: null, body: '', problem: `11200 HTTP retrieval failure: ${reason}` };
  }
}

/**
 * Maps a URL Twilio would request (under the signing URL's base) to where this process reaches it: the
 * signing URL and the reachable URL name the same route, so the common tail of their paths is dropped
 * (cut at a `/`), and what remains of each is the public base and the reachable base. A URL under
 * neither is requested as it is, as Twilio would.
 */
function reachable(signingUrl: URL, sentTo: URL): (url: string) => string {
  const signingPath = signingUrl.pathname;
  const actualPath = sentTo.pathname;
  let sameEnd = 0;
  while (
    sameEnd < signingPath.length &&
    sameEnd < actualPath.length &&
    signingPath[signingPath.length - 1 - sameEnd] === actualPath[actualPath.length - 1 - sameEnd]
  ) {
    sameEnd += 1;
  }
  const boundary = signingPath.slice(signingPath.length - sameEnd).indexOf('/');
  const routeLength = boundary < 0 ? 0 : sameEnd - boundary;
  const publicBase = signingUrl.origin + signingPath.slice(0, signingPath.length - routeLength);
  const reachableBase = sentTo.origin + actualPath.slice(0, actualPath.length - routeLength);
  return (url) => {
    const rest = url.slice(publicBase.length);
    return url.startsWith(publicBase) && (rest === '' || /^[/?#]/.test(rest)) ? reachableBase + rest : url;
  };
}

/** `US` for a North American number, as Twilio fills `FromCountry`/`ToCountry`; '' when it cannot tell. */
function countryOf(number: string): string {
  return /^\+1\d{10}$/.test(number) ? 'US' : '';
}

/** The place fields Twilio sends for a party (city, state, zip: empty for most mobiles), and the country. */
function placeOf(prefix: string, number: string): Record<string, string> {
  return { [`${prefix}City`]: '', [`${prefix}Country`]: countryOf(number), [`${prefix}State`]: '', [`${prefix}Zip`]: '' };
}

function findDial(twiml: TwimlElement | undefined): TwimlElement | undefined {
  return twiml?.children.find((verb) => verb.name === 'Dial');
}

function dialMethod(dial: TwimlElement): 'GET' | 'POST' {
  return dial.attributes.method?.toUpperCase() === 'GET' ? 'GET' : 'POST';
}

/**
 * Plays an incoming call to a Twilio number whose Voice URL is Beckon's: POSTs the signed
 * `CallStatus=ringing` webhook, reads the TwiML answer, and when it is a `<Dial action=…>`, lets the
 * forwarded leg end with `dialCallStatus` and sends the signed action callback Twilio sends then
 * (`DialCallStatus`, `DialCallSid`, `DialCallDuration`, with the call's own parameters). Resolves with
 * every exchange; an answer Twilio could not use is reported in `problem`, never thrown. Throws
 * `TypeError` for invalid options.
 *
 * @example
 * ```ts
 * const call = await placeTwilioCall({ accountSid, authToken, voiceUrl: `${beckon}/webhooks/twilio/call`,
 *   signingUrl: 'https://beckon.example.com/webhooks/twilio/call', from: '+18135551234', to: '+18135550100', dialCallStatus: 'no-answer' });
 * call.dial?.numbers; // [ '+18135550199' ]
 * call.action?.status; // 200
 * ```
 */
export async function placeTwilioCall(options: PlaceTwilioCallOptions): Promise<TwilioPlacedCall> {
  const { accountSid, authToken, from, to, dialCallStatus, extraParams = {} } = options;
  const { voiceUrl, signingUrl = voiceUrl } = options;
  // Parsed, hence normalised as a resolved action URL is, to map the action onto Beckon's reachable address.
  const toReachable = reachable(absoluteHttpUrl(signingUrl, 'signingUrl'), absoluteHttpUrl(voiceUrl, 'voiceUrl'));
  if (!DIAL_CALL_STATUSES.includes(dialCallStatus)) throw new TypeError(`dialCallStatus must be one of: ${DIAL_CALL_STATUSES.join(', ')}`);
  const talkSeconds = options.talkSeconds ?? 42;
  if (!Number.isInteger(talkSeconds) || talkSeconds < 0) throw new TypeError('talkSeconds must be a whole number ≥ 0');
  const timeoutMs = options.timeoutMs ?? TWILIO_WEBHOOK_TIMEOUT_MS;
  const callSid = options.callSid ?? twilioSid('CA');
  const account = { accountSid, authToken };

  const callParams: Record<string, string> = {
    AccountSid: accountSid,
    ApiVersion: API_VERSION,
    CallSid: callSid,
    CallStatus: 'ringing',
    Called: to,
    ...placeOf('Called', to),
    Caller: from,
    ...placeOf('Caller', from),
    Direction: 'inbound',
    From: from,
    ...placeOf('From', from),
    To: to,
    ...placeOf('To', to),
    ...extraParams,
  };
  const voice = await sendWebhook(account, {
    url: signingUrl,
    sentTo: voiceUrl,
    method: 'POST',
    params: callParams,
    timeoutMs,
    emptyIsFine: false,
  });
  const dialElement = findDial(voice.twiml);
  if (!dialElement) return { callSid, voice };

  const numbers = dialElement.children.filter((noun) => noun.name === 'Number').map((noun) => noun.text);
  const timeout = Number.parseInt(dialElement.attributes.timeout ?? '', 10);
  const { action: actionAttribute, callerId } = dialElement.attributes;
  const dial: TwilioDial = {
    numbers: numbers.length > 0 ? numbers : dialElement.text === '' ? [] : [dialElement.text],
    ...(actionAttribute !== undefined ? { action: actionAttribute } : {}),
    method: dialMethod(dialElement),
    ...(Number.isInteger(timeout) ? { timeout } : {}),
    ...(callerId !== undefined ? { callerId } : {}),
    dialCallSid: twilioSid('CA'),
    dialCallStatus,
  };
  // Without an action Twilio goes on with the document's next verb: nothing more is requested.
  if (actionAttribute === undefined) return { callSid, voice, dial };

  const talked = dialCallStatus === 'completed' || dialCallStatus === 'answered';
  const actionParams: Record<string, string> = {
    ...callParams,
    // The caller hanging up while it rang ends the call itself; otherwise the call goes on with the action's TwiML.
    CallStatus: dialCallStatus === 'canceled' ? 'completed' : 'in-progress',
    DialBridged: String(talked),
    DialCallDuration: String(talked ? talkSeconds : 0),
    DialCallSid: dial.dialCallSid,
    DialCallStatus: dialCallStatus,
  };
  const actionUrl = new URL(actionAttribute, signingUrl).href;
  const action = await sendWebhook(account, {
    url: actionUrl,
    sentTo: toReachable(actionUrl),
    method: dial.method,
    params: actionParams,
    timeoutMs,
    emptyIsFine: false,
  });
  return { callSid, voice, dial, action };
}

/**
 * Plays a text to a Twilio number whose Messaging URL is Beckon's (a `STOP` or `START`, say): POSTs the
 * signed incoming-message webhook and reads the answer, which may be empty (no reply). Throws
 * `TypeError` for invalid options.
 */
export async function sendTwilioSms(options: SendTwilioSmsOptions): Promise<TwilioInboundSms> {
  const { accountSid, authToken, from, to, body, extraParams = {} } = options;
  const { smsUrl, signingUrl = smsUrl } = options;
  absoluteHttpUrl(smsUrl, 'smsUrl');
  absoluteHttpUrl(signingUrl, 'signingUrl');
  const messageSid = options.messageSid ?? twilioSid('SM');
  const params: Record<string, string> = {
    AccountSid: accountSid,
    ApiVersion: API_VERSION,
    Body: body,
    From: from,
    ...placeOf('From', from),
    MessageSid: messageSid,
    NumMedia: '0',
    NumSegments: String(segmentCount(body)),
    SmsMessageSid: messageSid,
    SmsSid: messageSid,
    SmsStatus: 'received',
    To: to,
    ...placeOf('To', to),
    ...extraParams,
  };
  const webhook = await sendWebhook(
    { accountSid, authToken },
    {
      url: signingUrl,
      sentTo: smsUrl,
      method: 'POST',
      params,
      timeoutMs: options.timeoutMs ?? TWILIO_WEBHOOK_TIMEOUT_MS,
      emptyIsFine: true,
    },
  );
  return { messageSid, webhook };
}
