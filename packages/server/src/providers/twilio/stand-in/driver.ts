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
import { API_VERSION, rfc2822, segmentCount, twilioSid } from './resources.js';
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
  target: {
    url: string;
    sentTo: string;
    method: 'GET' | 'POST';
    params: Record<string, string>;
    timeoutMs: number;
    emptyIsFine: boolean;
    /** A status callback: Twilio reads only the answer's status, never its body. */
    bodyIgnored?: boolean;
  },
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
    const read = target.bodyIgnored
      ? answer.status >= 200 && answer.status <= 299
        ? {}
        : { problem: `11200 HTTP retrieval failure: status ${answer.status}` }
      : readAnswer(answer, target.emptyIsFine);
    return { ...exchange, status: answer.status, contentType: answer.contentType, body: answer.body, ...read };
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

/** How the phone of a call Beckon placed answers: picked up, or not (`busy`, `no-answer`, `failed`). */
export const LEG_OUTCOMES = ['answered', 'busy', 'no-answer', 'failed'] as const;
export type LegOutcome = (typeof LEG_OUTCOMES)[number];

/** A call created through the Calls API, as the stand-in recorded it: what the driver needs to play it. */
export interface CreatedCall {
  sid: string;
  to: string;
  from: string;
  twiml: string | null;
  statusCallback: string | null;
  statusCallbackEvents: readonly string[];
  /** `StatusCallbackMethod`, default POST. */
  params: Readonly<Record<string, string | readonly string[]>>;
}

export interface PlayCreatedCallOptions extends TwilioAccount {
  call: CreatedCall;
  /** How the called phone (`To`: the business, for Beckon's click-to-call) answers. */
  answer: LegOutcome;
  /** How each `<Number>` of the inline TwiML's `<Dial>` answers, once `To` answered. Default `answered`. */
  dialed?: LegOutcome;
  /** How long a connected leg talks, in seconds (`CallDuration`); default 42. */
  talkSeconds?: number;
  /**
   * Beckon's `PUBLIC_URL`, as the callback URLs carry it, and where this process reaches Beckon: a
   * callback URL under `publicUrl` is sent to `beckonUrl` (signed over the URL as written, as Twilio
   * signs it). Default: each URL is requested as it is.
   */
  publicUrl?: string;
  beckonUrl?: string;
  timeoutMs?: number;
}

/** A status callback Twilio sent for a leg, and Beckon's answer. */
export interface TwilioStatusCallback extends TwilioWebhookExchange {
  /** `parent` for the created call's own leg, `dialed` for a `<Dial><Number>` leg. */
  leg: 'parent' | 'dialed';
}

export interface TwilioPlayedCall {
  callSid: string;
  /** The `<Dial><Number>` legs rung (none when `To` did not answer or the TwiML dials nobody), with their SIDs. */
  dialed: { number: string; callSid: string; callerId: string }[];
  /** Every status callback sent, in the order sent. */
  statusCallbacks: TwilioStatusCallback[];
}

/** The `CallStatus` a leg reports at each progress event, given how it ends; undefined when that event never happens to it. */
function callStatusAt(event: string, outcome: LegOutcome): string | undefined {
  switch (event) {
    case 'initiated':
      return 'initiated';
    // A busy line and a failed call never ring.
    case 'ringing':
      return outcome === 'answered' || outcome === 'no-answer' ? 'ringing' : undefined;
    case 'answered':
      return outcome === 'answered' ? 'in-progress' : undefined;
    case 'completed':
      return outcome === 'answered' ? 'completed' : outcome;
    default:
      return undefined;
  }
}

const PROGRESS_EVENTS = ['initiated', 'ringing', 'answered', 'completed'] as const;

/** The progress events asked for (`StatusCallbackEvent`, space-separated in TwiML; `completed` alone when none are named). */
function requestedEvents(values: readonly string[]): Set<string> {
  const named = values.flatMap((value) => value.split(/[\s,]+/)).filter((value) => value !== '');
  return new Set(named.length > 0 ? named : ['completed']);
}

/**
 * Plays a call Beckon created through the Calls API with inline TwiML (Beckon's Twilio click-to-call):
 * `To` answers or not; when it answers, each `<Number>` of the TwiML's `<Dial>` is rung and answers or
 * not. Each leg's status callbacks are sent as Twilio sends them (https://www.twilio.com/docs/voice/twiml/number#statuscallbackevent,
 * https://www.twilio.com/docs/voice/api/call-resource#statuscallbackevent): for each event it asked
 * for (`initiated`, `ringing`, `answered`, `completed`; `completed` alone by default), a signed form with
 * `CallSid`, `CallStatus` (`initiated`, `ringing`, `in-progress`, then `completed`, `busy`, `no-answer`
 * or `failed`), `CallbackSource=call-progress-events`, `SequenceNumber`, `Timestamp`, and for a dialed
 * leg `ParentCallSid` and `Direction=outbound-dial`. The created call's own end comes last, after its
 * `<Dial>` ended. Throws `TypeError` for invalid options; an answer Twilio could not use is reported in
 * each exchange's `problem`.
 */
export async function playCreatedCall(options: PlayCreatedCallOptions): Promise<TwilioPlayedCall> {
  const { call, answer, dialed: dialedOutcome = 'answered', accountSid, authToken } = options;
  if (!LEG_OUTCOMES.includes(answer)) throw new TypeError(`answer must be one of: ${LEG_OUTCOMES.join(', ')}`);
  if (!LEG_OUTCOMES.includes(dialedOutcome)) throw new TypeError(`dialed must be one of: ${LEG_OUTCOMES.join(', ')}`);
  const talkSeconds = options.talkSeconds ?? 42;
  if (!Number.isInteger(talkSeconds) || talkSeconds < 0) throw new TypeError('talkSeconds must be a whole number ≥ 0');
  const timeoutMs = options.timeoutMs ?? TWILIO_WEBHOOK_TIMEOUT_MS;
  const publicBase = options.publicUrl === undefined ? undefined : absoluteHttpUrl(options.publicUrl, 'publicUrl').href.replace(/\/+$/, '');
  const beckonBase = options.beckonUrl === undefined ? undefined : absoluteHttpUrl(options.beckonUrl, 'beckonUrl').href.replace(/\/+$/, '');
  const toReachable = (url: string): string => {
    if (publicBase === undefined || beckonBase === undefined || !url.startsWith(publicBase)) return url;
    const rest = url.slice(publicBase.length);
    return rest === '' || /^[/?#]/.test(rest) ? beckonBase + rest : url;
  };
  const account = { accountSid, authToken };
  const statusCallbacks: TwilioStatusCallback[] = [];

  /** Sends a leg's status callback for `event` when it asked for it and the event happens to it. */
  const report = async (
    leg: TwilioStatusCallback['leg'],
    target: { url: string | undefined; method: 'GET' | 'POST'; events: Set<string>; sequence: { next: number } },
    event: (typeof PROGRESS_EVENTS)[number],
    outcome: LegOutcome,
    params: Record<string, string>,
  ): Promise<void> => {
    const callStatus = callStatusAt(event, outcome);
    if (target.url === undefined || !target.events.has(event) || callStatus === undefined) return;
    const talked = event === 'completed' && outcome === 'answered';
    const exchange = await sendWebhook(account, {
      url: target.url,
      sentTo: toReachable(target.url),
      method: target.method,
      params: {
        ...params,
        CallStatus: callStatus,
        CallbackSource: 'call-progress-events',
        SequenceNumber: String(target.sequence.next++),
        Timestamp: rfc2822(new Date()),
        ...(event === 'completed'
          ? { CallDuration: String(talked ? talkSeconds : 0), Duration: String(talked ? Math.ceil(talkSeconds / 60) : 0) }
          : {}),
      },
      timeoutMs,
      emptyIsFine: true,
      bodyIgnored: true,
    });
    statusCallbacks.push({ ...exchange, leg });
  };

  const first = (name: string): string | undefined => {
    const value = call.params[name];
    return typeof value === 'string' ? value : value?.[0];
  };
  const parent = {
    url: call.statusCallback ?? undefined,
    method: first('StatusCallbackMethod')?.toUpperCase() === 'GET' ? ('GET' as const) : ('POST' as const),
    events: requestedEvents(call.statusCallbackEvents),
    sequence: { next: 0 },
  };
  const parentParams: Record<string, string> = {
    AccountSid: accountSid,
    ApiVersion: API_VERSION,
    CallSid: call.sid,
    Called: call.to,
    Caller: call.from,
    Direction: 'outbound-api',
    From: call.from,
    To: call.to,
  };
  for (const event of ['initiated', 'ringing', 'answered'] as const) await report('parent', parent, event, answer, parentParams);

  const dialed: TwilioPlayedCall['dialed'] = [];
  const dial = answer === 'answered' && call.twiml ? parseTwiml(call.twiml).children.find((verb) => verb.name === 'Dial') : undefined;
  if (dial) {
    const callerId = dial.attributes.callerId ?? call.from;
    for (const noun of dial.children.filter((child) => child.name === 'Number')) {
      const leg = { number: noun.text, callSid: twilioSid('CA'), callerId };
      dialed.push(leg);
      const target = {
        url: noun.attributes.statusCallback,
        method: noun.attributes.statusCallbackMethod?.toUpperCase() === 'GET' ? ('GET' as const) : ('POST' as const),
        events: requestedEvents(noun.attributes.statusCallbackEvent === undefined ? [] : [noun.attributes.statusCallbackEvent]),
        sequence: { next: 0 },
      };
      const legParams: Record<string, string> = {
        AccountSid: accountSid,
        ApiVersion: API_VERSION,
        CallSid: leg.callSid,
        Called: leg.number,
        Caller: callerId,
        Direction: 'outbound-dial',
        From: callerId,
        ParentCallSid: call.sid,
        To: leg.number,
      };
      for (const event of PROGRESS_EVENTS) await report('dialed', target, event, dialedOutcome, legParams);
    }
  }
  await report('parent', parent, 'completed', answer, parentParams);
  return { callSid: call.sid, dialed, statusCallbacks };
}
