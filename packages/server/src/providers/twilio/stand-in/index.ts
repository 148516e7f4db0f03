/**
 * A Twilio stand-in for tests and demos, shaped like the NetSapiens sandbox (`startNsSandbox`): a local
 * HTTP server speaking the part of Twilio's REST API Beckon uses (sending a text, placing a call), with
 * recorded requests and injected faults, and a driver playing Twilio's side of incoming calls and texts
 * against a Beckon server. Point `TWILIO_API_BASE` at `standIn.url`.
 */
import type { EventEmitter } from 'node:events';
import { isIP } from 'node:net';
import {
  placeTwilioCall,
  playCreatedCall,
  sendTwilioSms,
  type PlayCreatedCallOptions,
  type TwilioPlayedCall,
  type PlaceTwilioCallOptions,
  type SendTwilioSmsOptions,
  type TwilioInboundSms,
  type TwilioPlacedCall,
} from './driver.js';
import { FaultList, type TwilioStandInFault } from './faults.js';
import { StandInServer } from './server.js';
import {
  StandInState,
  type TwilioStandInCall,
  type TwilioStandInEvents,
  type TwilioStandInMessage,
  type TwilioStandInRequest,
} from './state.js';

export {
  DIAL_CALL_STATUSES,
  LEG_OUTCOMES,
  placeTwilioCall,
  playCreatedCall,
  sendTwilioSms,
  TWILIO_WEBHOOK_TIMEOUT_MS,
  type DialCallStatus,
  type PlaceTwilioCallOptions,
  type SendTwilioSmsOptions,
  type TwilioAccount,
  type TwilioDial,
  type CreatedCall,
  type LegOutcome,
  type PlayCreatedCallOptions,
  type TwilioInboundSms,
  type TwilioPlacedCall,
  type TwilioPlayedCall,
  type TwilioStatusCallback,
  type TwilioWebhookExchange,
} from './driver.js';
export { TWILIO_STAND_IN_ROUTES, type TwilioStandInFault, type TwilioStandInRoute } from './faults.js';
export type { TwilioCallResource, TwilioCallStatus, TwilioMessageResource, TwilioMessageStatus } from './resources.js';
export { MAX_BODY_CHARACTERS, type TwilioErrorBody } from './rules.js';
export { MAX_BODY_BYTES } from './server.js';
export {
  MAX_RECORDED,
  type TwilioStandInCall,
  type TwilioStandInEvents,
  type TwilioStandInMessage,
  type TwilioStandInRequest,
} from './state.js';
export { parseTwiml, TwimlParseError, type TwimlElement } from './twiml.js';

/** The AccountSid shape of Twilio's API paths (`^AC[0-9a-fA-F]{32}$` in twilio-oai). */
const ACCOUNT_SID = /^AC[0-9a-fA-F]{32}$/;

export interface TwilioStandInOptions {
  /** The account's SID, `AC` and 32 hex digits: the Basic-auth user and the `{AccountSid}` of the paths. */
  accountSid: string;
  /** The account's auth token: the Basic-auth password, and the key the driver signs webhooks with. */
  authToken: string;
  /** Default 0: a free port. */
  port?: number;
  /** Default `127.0.0.1`. */
  host?: string;
}

/** The driver's options without the account: the stand-in's own account signs. */
export type StandInCallOptions = Omit<PlaceTwilioCallOptions, 'accountSid' | 'authToken'>;
export type StandInSmsOptions = Omit<SendTwilioSmsOptions, 'accountSid' | 'authToken'>;
/** `playCreatedCall`'s options for a call this stand-in created: the call is named by its SID. */
export type StandInPlayOptions = Omit<PlayCreatedCallOptions, 'accountSid' | 'authToken' | 'call'>;

/** A running stand-in. The lists are copies, oldest first, at most `MAX_RECORDED` each. */
export interface TwilioStandIn {
  /** `http://127.0.0.1:PORT`, no trailing slash: the `TWILIO_API_BASE` to give Beckon. */
  readonly url: string;
  readonly accountSid: string;
  /** Every request received, with its parameters and the status answered. */
  readonly requests: readonly TwilioStandInRequest[];
  /** Texts created (`POST …/Messages.json` answered 201). */
  readonly messages: readonly TwilioStandInMessage[];
  /** Calls created (`POST …/Calls.json` answered 201). */
  readonly calls: readonly TwilioStandInCall[];
  /** `request`, `message` and `call` as they happen, for live demo pages. */
  readonly events: EventEmitter<TwilioStandInEvents>;
  /** Makes the next matching requests fail, wait or go unanswered (see `TwilioStandInFault`). Throws `TypeError` for an invalid fault. */
  inject(fault: TwilioStandInFault): void;
  clearFaults(): void;
  /** Forgets requests, messages, calls and faults. */
  reset(): void;
  /** Closes the server and its connections; delayed requests are dropped. */
  close(): Promise<void>;
  /** `placeTwilioCall`, signed with this account's auth token. */
  placeCall(options: StandInCallOptions): Promise<TwilioPlacedCall>;
  /** `sendTwilioSms`, signed with this account's auth token. */
  sendSms(options: StandInSmsOptions): Promise<TwilioInboundSms>;
  /**
   * `playCreatedCall` for a call this stand-in created (`calls`), signed with this account's auth token:
   * the called phone answers or not, the inline TwiML's `<Dial><Number>` legs ring, and the status
   * callbacks go out. Throws `TypeError` for a SID it did not create.
   */
  playCall(callSid: string, options: StandInPlayOptions): Promise<TwilioPlayedCall>;
}

/**
 * Starts a local server answering like Twilio's REST API for one account.
 *
 * @example
 * ```ts
 * const twilio = await startTwilioStandIn({ accountSid: 'AC' + '0'.repeat(32), authToken: 'test-auth-token' });
 * // TWILIO_API_BASE=twilio.url … then, after a missed call:
 * twilio.messages.map((message) => `${message.to}: ${message.body}`);
 * ```
 */
export async function startTwilioStandIn(options: TwilioStandInOptions): Promise<TwilioStandIn> {
  const { accountSid, authToken, port = 0, host = '127.0.0.1' } = options;
  if (typeof accountSid !== 'string' || !ACCOUNT_SID.test(accountSid))
    throw new TypeError('accountSid must be "AC" followed by 32 hex digits');
  if (typeof authToken !== 'string' || authToken === '') throw new TypeError('authToken must be a non-empty string');
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new TypeError('port must be a whole number from 0 to 65535');

  const state = new StandInState();
  const faults = new FaultList();
  const server = new StandInServer({ accountSid, authToken, state, faults });
  const address = await server.listen(port, host);
  const account = { accountSid, authToken };

  return {
    url: `http://${isIP(host) === 6 ? `[${host}]` : host}:${address.port}`,
    accountSid,
    get requests() {
      return state.requests;
    },
    get messages() {
      return state.messages;
    },
    get calls() {
      return state.calls;
    },
    events: state.events,
    inject: (fault) => faults.inject(fault),
    clearFaults: () => faults.clear(),
    reset: () => {
      state.reset();
      faults.clear();
    },
    close: () => server.close(),
    placeCall: (call) => placeTwilioCall({ ...call, ...account }),
    sendSms: (sms) => sendTwilioSms({ ...sms, ...account }),
    playCall: (callSid, play) => {
      const call = state.calls.find((created) => created.sid === callSid);
      if (!call) return Promise.reject(new TypeError(`The stand-in created no call ${callSid}`));
      return playCreatedCall({ ...play, call, ...account });
    },
  };
}
