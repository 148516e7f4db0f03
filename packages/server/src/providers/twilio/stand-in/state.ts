/**
 * What the stand-in remembers: every request, and the messages and calls it created, so a test can
 * assert on exactly what Beckon sent Twilio.
 */
import { EventEmitter } from 'node:events';
import type { TwilioStandInRoute } from './faults.js';
import type { TwilioCallResource, TwilioMessageResource } from './resources.js';
import { allValues, valueOf, type FormParams } from './rules.js';

/** Each list keeps this many entries, dropping the oldest: a long-running demo must not grow without bound. */
export const MAX_RECORDED = 1000;

/** Parameter names whose values are never recorded (a SIP password can be sent with a call). */
const SECRET_NAME = /password|secret|token/i;

export interface TwilioStandInRequest {
  /** When it arrived (ISO 8601). */
  at: string;
  method: string;
  /** The path as sent, still percent-encoded. */
  path: string;
  /** The endpoint it reached; null for any other path. */
  route: TwilioStandInRoute | null;
  /** Whether its Basic credentials were the account's (the credentials themselves are never recorded). */
  authorized: boolean;
  /** Its form parameters, a repeated name with all its values. */
  params: Record<string, string | string[]>;
  /** Whether an injected fault took it. */
  fault: boolean;
  /** The status answered; null while it is under way, or when the connection was closed without one. */
  status: number | null;
  /** The Twilio error code answered, if it was an error. */
  errorCode: number | null;
}

/** A message Twilio accepted (`POST …/Messages.json` answered 201). */
export interface TwilioStandInMessage {
  sid: string;
  to: string;
  from: string | null;
  messagingServiceSid: string | null;
  body: string | null;
  mediaUrls: string[];
  statusCallback: string | null;
  /** Every parameter as sent. */
  params: Record<string, string | string[]>;
  /** The Message resource answered. */
  resource: TwilioMessageResource;
}

/** A call Twilio accepted (`POST …/Calls.json` answered 201). */
export interface TwilioStandInCall {
  sid: string;
  to: string;
  from: string;
  /** The TwiML URL fetched when the call connects. */
  url: string | null;
  /** How `url` is requested (`Method`, default POST). */
  method: string;
  /** Inline TwiML, used instead of fetching a URL. */
  twiml: string | null;
  applicationSid: string | null;
  statusCallback: string | null;
  statusCallbackEvents: string[];
  /** Seconds to ring (`Timeout`); null when not sent as a whole number (Twilio's default is 60). */
  timeout: number | null;
  /** Every parameter as sent. */
  params: Record<string, string | string[]>;
  /** The Call resource answered. */
  resource: TwilioCallResource;
}

export interface TwilioStandInEvents {
  request: [TwilioStandInRequest];
  message: [TwilioStandInMessage];
  call: [TwilioStandInCall];
}

function scrubbed(params: FormParams): Record<string, string | string[]> {
  return Object.fromEntries(
    Object.entries(params).map(([name, value]) => [
      name,
      SECRET_NAME.test(name) ? '[redacted]' : typeof value === 'string' ? value : [...value],
    ]),
  );
}

function keepLast<T>(list: T[], item: T): void {
  list.push(item);
  if (list.length > MAX_RECORDED) list.splice(0, list.length - MAX_RECORDED);
}

export class StandInState {
  readonly events = new EventEmitter<TwilioStandInEvents>();
  #requests: TwilioStandInRequest[] = [];
  #messages: TwilioStandInMessage[] = [];
  #calls: TwilioStandInCall[] = [];

  /** Copies: what a test holds cannot change under it, nor change the stand-in. */
  get requests(): TwilioStandInRequest[] {
    return structuredClone(this.#requests);
  }

  get messages(): TwilioStandInMessage[] {
    return structuredClone(this.#messages);
  }

  get calls(): TwilioStandInCall[] {
    return structuredClone(this.#calls);
  }

  /** Records a request as it arrives; the returned entry is completed by `answered`. */
  recordRequest(entry: Omit<TwilioStandInRequest, 'status' | 'errorCode' | 'params'> & { params: FormParams }): TwilioStandInRequest {
    const request: TwilioStandInRequest = { ...entry, params: scrubbed(entry.params), status: null, errorCode: null };
    keepLast(this.#requests, request);
    return request;
  }

  answered(request: TwilioStandInRequest, status: number | null, errorCode: number | null): void {
    request.status = status;
    request.errorCode = errorCode;
    this.events.emit('request', structuredClone(request));
  }

  recordMessage(params: FormParams, resource: TwilioMessageResource): void {
    const message: TwilioStandInMessage = {
      sid: resource.sid,
      to: resource.to,
      from: resource.from,
      messagingServiceSid: resource.messaging_service_sid,
      body: valueOf(params, 'Body') ?? null,
      mediaUrls: allValues(params, 'MediaUrl').filter((url) => url !== ''),
      statusCallback: valueOf(params, 'StatusCallback') ?? null,
      params: scrubbed(params),
      resource,
    };
    keepLast(this.#messages, message);
    this.events.emit('message', structuredClone(message));
  }

  recordCall(params: FormParams, resource: TwilioCallResource): void {
    const timeout = Number(valueOf(params, 'Timeout'));
    const call: TwilioStandInCall = {
      sid: resource.sid,
      to: resource.to,
      from: resource.from,
      url: valueOf(params, 'Url') ?? null,
      method: (valueOf(params, 'Method') ?? 'POST').toUpperCase(),
      twiml: valueOf(params, 'Twiml') ?? null,
      applicationSid: valueOf(params, 'ApplicationSid') ?? null,
      statusCallback: valueOf(params, 'StatusCallback') ?? null,
      statusCallbackEvents: allValues(params, 'StatusCallbackEvent').filter((event) => event !== ''),
      timeout: Number.isInteger(timeout) ? timeout : null,
      params: scrubbed(params),
      resource,
    };
    keepLast(this.#calls, call);
    this.events.emit('call', structuredClone(call));
  }

  reset(): void {
    this.#requests = [];
    this.#messages = [];
    this.#calls = [];
  }
}
