import type { CountryCode } from 'libphonenumber-js/max';
import type { CallChange } from '../../events/calls.js';
import { storableText } from '../../events/intake.js';
import { e164, partyNumber } from '../../events/phone.js';
import type { CallSignal } from '../../events/states.js';

export const PROVIDER = 'dialpad';

/**
 * Dialpad's call states (the subscription's `call_states`) that move a call in Beckon's model. `hangup`
 * is `over`: ended when the call was connected, missed when it never was. The others (hold, recording,
 * transcription, recap…) are stored with their delivery and change nothing.
 */
const SIGNALS: Readonly<Record<string, CallSignal>> = {
  ringing: 'ringing',
  calling: 'ringing',
  connected: 'answered',
  missed: 'missed',
  voicemail: 'voicemail',
  voicemail_uploaded: 'voicemail',
  hangup: 'over',
};

const MAX_ID = 64;
const MAX_NAME = 100;
const MAX_URL = 2_048;
const MAX_TEXT = 10_000;
const MAX_TRANSCRIPTION = 100_000;

export type CallChangeFields = Omit<CallChange, 'tenant' | 'provider' | 'deliveryId'>;

export interface VoicemailFields {
  providerCallId: string;
  fromNumber: string | undefined;
  fromName: string | undefined;
  toNumber: string | undefined;
  recordingUrl: string | undefined;
  transcription: string | undefined;
  leftAt: Date;
}

export interface MessageFields {
  providerMessageId: string;
  direction: 'inbound' | 'outbound';
  fromNumber: string | undefined;
  toNumbers: string[];
  body: string | undefined;
  status: string | undefined;
  sentAt: Date;
}

/** What one Dialpad event says: a change of a call (and a voicemail), a text, or nothing Beckon keeps apart from the delivery. */
export type DialpadEvent =
  | { kind: 'call'; state: string; change: CallChangeFields | undefined; voicemail: VoicemailFields | undefined }
  | { kind: 'sms'; message: MessageFields }
  | { kind: 'other' };

type Payload = Record<string, unknown>;

function text(value: unknown, max = MAX_NAME): string | undefined {
  if (typeof value !== 'string') return undefined;
  const cleaned = storableText(value).trim();
  return cleaned === '' ? undefined : cleaned.slice(0, max);
}

/** An id Dialpad sends as an int64 (a number, or a string of digits in some examples). */
function id(value: unknown): string | undefined {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return String(value);
  if (typeof value === 'string' && /^\d{1,20}$/.test(value.trim())) return value.trim();
  return text(value, MAX_ID);
}

/** Dialpad's times are integer epoch milliseconds; an unreadable one is undefined. */
function time(value: unknown): Date | undefined {
  const ms = typeof value === 'number' ? value : typeof value === 'string' && /^\d{10,16}$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isFinite(ms) || ms <= 0 || ms > 8.64e15) return undefined;
  return new Date(ms);
}

function url(value: unknown): string | undefined {
  const candidate = text(value, MAX_URL + 1);
  return candidate && candidate.length <= MAX_URL && /^https?:\/\/\S+$/i.test(candidate) ? candidate : undefined;
}

function objectField(payload: Payload, name: string): Payload {
  const value = payload[name];
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Payload) : {};
}

function direction(value: unknown): 'inbound' | 'outbound' {
  return value === 'outbound' ? 'outbound' : 'inbound';
}

/**
 * Reads a verified Dialpad event (the JWT's payload). A call event has a `call_id` and a `state`; an SMS
 * event an `id` and a `from_number` or `to_number` and no `call_id`. `country` reads numbers without a
 * country code (the id's default); `receivedAt` dates what the event does not.
 */
export function readDialpadEvent(payload: Payload, country: CountryCode, receivedAt: Date): DialpadEvent {
  const callId = id(payload.call_id);
  const state = text(payload.state, 64);
  if (callId !== undefined && state !== undefined) return callEvent(payload, callId, state.toLowerCase(), country, receivedAt);
  const messageId = id(payload.id);
  if (callId === undefined && messageId !== undefined && (payload.from_number !== undefined || payload.to_number !== undefined)) {
    return { kind: 'sms', message: smsEvent(payload, messageId, country, receivedAt) };
  }
  return { kind: 'other' };
}

function callEvent(payload: Payload, callId: string, state: string, country: CountryCode, receivedAt: Date): DialpadEvent {
  const dir = direction(payload.direction);
  const external = text(payload.external_number, 64);
  const internal = text(payload.internal_number, 64);
  const [rawFrom, rawTo] = dir === 'inbound' ? [external, internal] : [internal, external];
  const fromName = text(objectField(payload, dir === 'inbound' ? 'contact' : 'target').name);
  const at = time(payload.event_timestamp) ?? receivedAt;
  const startedAt = time(payload.date_started);
  const answeredAt = time(payload.date_connected);
  const fromNumber = partyNumber(rawFrom, country);
  const toNumber = partyNumber(rawTo, country);
  const signal = SIGNALS[state];
  const change: CallChangeFields | undefined = signal && {
    providerCallId: callId,
    direction: dir,
    signal,
    at: signal === 'answered' ? (answeredAt ?? at) : signal === 'ringing' ? (time(payload.date_rang) ?? startedAt ?? at) : at,
    startedAt,
    answeredAt,
    fromNumber,
    fromName,
    fromE164: e164(rawFrom, country),
    toNumber,
  };
  const recordingUrl = url(payload.voicemail_link) ?? url(payload.voicemail_share_link);
  const transcription = text(payload.transcription_text, MAX_TRANSCRIPTION);
  const isVoicemail = state === 'voicemail' || state === 'voicemail_uploaded' || recordingUrl !== undefined;
  const voicemail: VoicemailFields | undefined = isVoicemail
    ? {
        providerCallId: callId,
        fromNumber,
        fromName,
        toNumber,
        recordingUrl,
        transcription,
        leftAt: time(payload.date_ended) ?? at,
      }
    : undefined;
  return { kind: 'call', state, change, voicemail };
}

function smsEvent(payload: Payload, messageId: string, country: CountryCode, receivedAt: Date): MessageFields {
  const to = Array.isArray(payload.to_number) ? payload.to_number : [payload.to_number];
  return {
    providerMessageId: messageId,
    direction: direction(payload.direction),
    fromNumber: partyNumber(text(payload.from_number, 64), country),
    toNumbers: to
      .slice(0, 50)
      .map((number) => partyNumber(text(number, 64), country))
      .filter((number): number is string => number !== undefined),
    body: text(payload.text, MAX_TEXT) ?? text(payload.text_content, MAX_TEXT),
    status: text(payload.message_status, 64),
    sentAt: time(payload.created_date) ?? time(payload.event_timestamp) ?? receivedAt,
  };
}
