/**
 * The JSON the stand-in answers a created message or call with: Twilio's Message and Call resources, with
 * the fields of the spec's `api.v2010.account.message` and `api.v2010.account.call` schemas (twilio-oai
 * `spec/json/twilio_api_v2010.json`) and the values a just-created resource has.
 */
import { randomBytes } from 'node:crypto';
import { allValues, valueOf, type FormParams } from './rules.js';

export const API_VERSION = '2010-04-01';

/** A Twilio SID: two letters naming the kind (`SM` message, `CA` call) and 32 lower-case hex digits. */
export function twilioSid(prefix: 'SM' | 'CA'): string {
  return prefix + randomBytes(16).toString('hex');
}

/** Twilio writes times in RFC 2822 with a numeric zone: `Thu, 24 Aug 2023 05:01:45 +0000`. */
export function rfc2822(date: Date): string {
  return date.toUTCString().replace(/GMT$/, '+0000');
}

/** Message statuses (`message_enum_status`). */
export type TwilioMessageStatus =
  | 'queued'
  | 'sending'
  | 'sent'
  | 'failed'
  | 'delivered'
  | 'undelivered'
  | 'receiving'
  | 'received'
  | 'accepted'
  | 'scheduled'
  | 'read'
  | 'partially_delivered'
  | 'canceled';

/** Call statuses (`call_enum_status`). */
export type TwilioCallStatus = 'queued' | 'ringing' | 'in-progress' | 'completed' | 'busy' | 'failed' | 'no-answer' | 'canceled';

/** Twilio's Message resource (`api.v2010.account.message`). */
export interface TwilioMessageResource {
  account_sid: string;
  api_version: string;
  body: string | null;
  date_created: string;
  date_sent: string | null;
  date_updated: string;
  direction: 'inbound' | 'outbound-api' | 'outbound-call' | 'outbound-reply';
  error_code: number | null;
  error_message: string | null;
  from: string | null;
  messaging_service_sid: string | null;
  num_media: string;
  num_segments: string;
  price: string | null;
  price_unit: string | null;
  sid: string;
  status: TwilioMessageStatus;
  subresource_uris: Record<string, string> | null;
  to: string;
  uri: string;
}

/** Twilio's Call resource (`api.v2010.account.call`). */
export interface TwilioCallResource {
  account_sid: string;
  answered_by: string | null;
  api_version: string;
  caller_name: string | null;
  date_created: string;
  date_updated: string;
  direction: string;
  duration: string | null;
  end_time: string | null;
  forwarded_from: string | null;
  from: string;
  from_formatted: string;
  group_sid: string | null;
  parent_call_sid: string | null;
  phone_number_sid: string | null;
  price: string | null;
  price_unit: string | null;
  queue_time: string;
  sid: string;
  start_time: string | null;
  status: TwilioCallStatus;
  subresource_uris: Record<string, string> | null;
  to: string;
  to_formatted: string;
  trunk_sid: string | null;
  uri: string;
}

/** GSM 03.38's default alphabet (one septet each) and its extension table (two septets each: escape + character). */
const GSM_BASIC = new Set(
  '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà',
);
const GSM_EXTENDED = new Set('\f^{}\\[~]|€');

/**
 * How many SMS segments a body takes, as Twilio bills it: GSM-7 bodies fit 160 septets in one segment
 * and 153 per segment beyond; anything else is UCS-2, 70 code units in one and 67 per segment beyond.
 */
export function segmentCount(body: string): number {
  let septets = 0;
  for (const character of body) {
    if (GSM_BASIC.has(character)) septets += 1;
    else if (GSM_EXTENDED.has(character)) septets += 2;
    else {
      const units = body.length;
      return units <= 70 ? 1 : Math.ceil(units / 67);
    }
  }
  return septets <= 160 ? 1 : Math.ceil(septets / 153);
}

/** `(415) 867-5309` for a North American number, as Twilio formats them; anything else as it is. */
function formatted(number: string): string {
  const nanp = /^\+1(\d{3})(\d{3})(\d{4})$/.exec(number);
  return nanp ? `(${nanp[1]}) ${nanp[2]}-${nanp[3]}` : number;
}

export function messageResource(accountSid: string, params: FormParams, now: Date): TwilioMessageResource {
  const sid = twilioSid('SM');
  const body = valueOf(params, 'Body') ?? '';
  const uri = `/${API_VERSION}/Accounts/${accountSid}/Messages/${sid}.json`;
  const at = rfc2822(now);
  return {
    account_sid: accountSid,
    api_version: API_VERSION,
    body,
    date_created: at,
    date_sent: null,
    date_updated: at,
    direction: 'outbound-api',
    error_code: null,
    error_message: null,
    // Sent through a Messaging Service without From, Twilio picks the sender later: `from` is null until then.
    from: valueOf(params, 'From') ?? null,
    messaging_service_sid: valueOf(params, 'MessagingServiceSid') ?? null,
    num_media: String(allValues(params, 'MediaUrl').filter((url) => url !== '').length),
    num_segments: String(segmentCount(body)),
    price: null,
    price_unit: 'USD',
    sid,
    status: 'queued',
    subresource_uris: { media: `/${API_VERSION}/Accounts/${accountSid}/Messages/${sid}/Media.json` },
    to: valueOf(params, 'To') ?? '',
    uri,
  };
}

export function callResource(accountSid: string, params: FormParams, now: Date): TwilioCallResource {
  const sid = twilioSid('CA');
  const base = `/${API_VERSION}/Accounts/${accountSid}/Calls/${sid}`;
  const at = rfc2822(now);
  const to = valueOf(params, 'To') ?? '';
  const from = valueOf(params, 'From') ?? '';
  const subresources = ['notifications', 'recordings', 'payments', 'events', 'siprec', 'streams', 'transcriptions'];
  return {
    account_sid: accountSid,
    answered_by: null,
    api_version: API_VERSION,
    caller_name: null,
    date_created: at,
    date_updated: at,
    direction: 'outbound-api',
    duration: null,
    end_time: null,
    forwarded_from: null,
    from,
    from_formatted: formatted(from),
    group_sid: null,
    parent_call_sid: null,
    phone_number_sid: null,
    price: null,
    price_unit: 'USD',
    queue_time: '0',
    sid,
    start_time: null,
    status: 'queued',
    subresource_uris: Object.fromEntries(
      subresources.map((name) => [name, `${base}/${name.charAt(0).toUpperCase()}${name.slice(1)}.json`]),
    ),
    to,
    to_formatted: formatted(to),
    trunk_sid: null,
    uri: `${base}.json`,
  };
}
