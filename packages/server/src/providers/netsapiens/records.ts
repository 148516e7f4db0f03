import type { NsCallRecord } from '@beckon/ns-client';
import type { CountryCode } from 'libphonenumber-js/max';
import type { DeliveryItem } from '../../events/intake.js';
import { e164, partyNumber } from '../../events/phone.js';
import type { CallSignal } from '../../events/states.js';
import { storableText } from '../../events/intake.js';

export const PROVIDER = 'netsapiens';

/** The longest `orig_callid` taken: NetSapiens' are well under 100 characters; the dedupe key holds it. */
const MAX_CALL_ID = 256;
/** Caller names (CNAM) are 15 characters on the wire; anything longer is cut. */
const MAX_NAME = 100;
/**
 * The most records one delivery may hold. NetSapiens posts a few at a time; a delivery is one transaction
 * holding the call-events lock every id's deliveries wait on, so its size is what bounds that wait.
 */
export const MAX_RECORDS = 500;
/** How deep a record may nest (the record itself is level 1): NetSapiens' values are all strings. */
const MAX_DEPTH = 16;

/** A body that is not a delivery of call records: the answer's status, and a message a person can act on. */
export interface DeliveryProblem {
  status: 400 | 413;
  problem: string;
}

/** A delivery's records as they can be stored, and the positions of those that cannot (skipped, not refused). */
export interface CallRecords {
  records: NsCallRecord[];
  /** Positions (0-based) of records nested deeper than a record can be stored. */
  skipped: number[];
}

/**
 * Checks a delivery's body: a JSON array of at most `MAX_RECORDS` call records, each an object with an
 * `orig_callid`. Anything else refuses the whole delivery. The records are made storable (`storable`);
 * one nested too deep to store is skipped rather than refused, so that it does not hold back the rest.
 */
export function parseCallRecords(body: unknown): CallRecords | DeliveryProblem {
  const refused = (problem: string): DeliveryProblem => ({ status: 400, problem });
  if (!Array.isArray(body)) return refused('The body must be a JSON array of NetSapiens call records');
  if (body.length > MAX_RECORDS) {
    return { status: 413, problem: `The delivery holds ${body.length} records: send at most ${MAX_RECORDS} records per delivery` };
  }
  for (const [index, record] of body.entries()) {
    if (record === null || typeof record !== 'object' || Array.isArray(record)) {
      return refused(`Record ${index} is not an object: the body must be a JSON array of NetSapiens call records`);
    }
    const id = (record as { orig_callid?: unknown }).orig_callid;
    if (typeof id !== 'string' || storableText(id).trim() === '' || id.length > MAX_CALL_ID) {
      return refused(`Record ${index} has no orig_callid (a string of at most ${MAX_CALL_ID} characters)`);
    }
  }
  const result: CallRecords = { records: [], skipped: [] };
  for (const [index, record] of body.entries()) {
    if (nestsWithin(record, MAX_DEPTH)) result.records.push(storable(record) as NsCallRecord);
    else result.skipped.push(index);
  }
  return result;
}

/** Why a skipped record was skipped, for the log line. */
export const SKIPPED_REASON = `nested more than ${MAX_DEPTH} levels deep`;

/** Whether `value` holds no array or object more than `levels` deep (`value` itself is level 1). */
function nestsWithin(value: unknown, levels: number): boolean {
  if (value === null || typeof value !== 'object') return true;
  if (levels === 0) return false;
  return Object.values(value).every((item) => nestsWithin(item, levels - 1));
}

/** A copy of a parsed JSON value with `storableText` applied to every string, keys included. */
function storable(value: unknown): unknown {
  if (typeof value === 'string') return storableText(value);
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map(storable);
  // fromEntries defines own properties: a `__proto__` key stays a key.
  return Object.fromEntries(Object.entries(value).map(([key, item]) => [storableText(key), storable(item)]));
}

/** A field's text, when it is a non-empty string (every value of a record is one; anything else is ignored). */
function text(record: NsCallRecord, field: string): string | undefined {
  const value = record[field];
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
}

/**
 * NetSapiens' `YYYY-MM-DD HH:MM:SS` (read as UTC: the zone is not given) or an ISO time; undefined for
 * its "not yet" (`0000-00-00 00:00:00`) and anything unreadable.
 */
export function nsTime(value: string | undefined): Date | undefined {
  if (!value || value.startsWith('0000')) return undefined;
  const match = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2}(?:\.\d+)?)(Z|[+-]\d{2}:?\d{2})?$/.exec(value.trim());
  if (!match) return undefined;
  const date = new Date(`${match[1]}T${match[2]}${match[3] ?? 'Z'}`);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

/** The user part of `sip:+18135551234@example.com` (or the value itself when it is no URI). */
function uriUser(uri: string | undefined): string | undefined {
  if (!uri) return undefined;
  const user = uri
    .replace(/^sips?:/i, '')
    .split('@')[0]
    ?.split(';')[0];
  return user === undefined || user === '' ? undefined : user;
}

/**
 * What a record says of its call: `remove: "yes"` (the leg is gone) first, then `term_call_info`
 * (`alerting` while ringing, `active` once answered). A leg gone after an answer (`active`, or an answer
 * time) ends the call; a leg gone unanswered is `missed` — which changes nothing once another leg of the
 * call (a ring group, a queue) has answered. Other values (a held leg, a new state) are kept in the
 * dedupe key and stored, but change nothing.
 */
function recordState(record: NsCallRecord): { key: string; signal: CallSignal | undefined } {
  const info = text(record, 'term_call_info')?.toLowerCase() ?? '';
  if (text(record, 'remove')?.toLowerCase() === 'yes') {
    const answered = info === 'active' || nsTime(text(record, 'time_answer')) !== undefined;
    return { key: 'remove', signal: answered ? 'ended' : 'missed' };
  }
  if (info === 'alerting') return { key: 'alerting', signal: 'ringing' };
  if (info === 'active') return { key: 'active', signal: 'answered' };
  return { key: `other:${info.slice(0, 32)}`, signal: undefined };
}

/**
 * A call or leg id in the dedupe key, whose parts `:` separates: `%` and `:` are escaped as `%25` and
 * `%3A`, so that `a:b` + `alerting` and `a` + `b:alerting` are two keys. An id with neither (NetSapiens'
 * own ids) keeps the key it had before the escaping.
 */
function keyPart(id: string): string {
  return id.replaceAll('%', '%25').replaceAll(':', '%3A');
}

/**
 * One NetSapiens call record as a delivery item: deduplicated by `orig_callid`, the leg (`term_callid`)
 * and its state (a redelivery, or the same state of the same leg sent again, is the same item), stored
 * as `parseCallRecords` gave it, and normalized into a change of the call (`orig_callid`: one call however
 * many phones ring). `country` reads numbers without a country code (the id's default); `receivedAt`
 * dates what the record does not (the end of a call).
 */
export function callRecordItem(record: NsCallRecord, country: CountryCode, receivedAt: Date): DeliveryItem {
  const callId = record.orig_callid.trim();
  const { key, signal } = recordState(record);
  const leg = text(record, 'term_callid')?.slice(0, MAX_CALL_ID) ?? '';
  const item: DeliveryItem = { dedupeKey: `${keyPart(callId)}:${keyPart(leg)}:${key}`, body: record };
  if (!signal) return item;
  const startedAt = nsTime(text(record, 'time_start'));
  const answeredAt = nsTime(text(record, 'time_answer'));
  const rawFrom = uriUser(text(record, 'orig_from_uri')) ?? text(record, 'orig_from_user');
  const at = signal === 'ringing' ? (startedAt ?? receivedAt) : signal === 'answered' ? (answeredAt ?? receivedAt) : receivedAt;
  item.change = {
    providerCallId: callId,
    // A call placed by one of the domain's users carries that user in orig_user; one from outside does not.
    direction: text(record, 'orig_user') ? 'outbound' : 'inbound',
    signal,
    at,
    startedAt,
    answeredAt,
    fromNumber: partyNumber(rawFrom, country),
    fromE164: e164(rawFrom, country),
    fromName: text(record, 'orig_from_name')?.slice(0, MAX_NAME),
    toNumber: partyNumber(text(record, 'orig_to_user') ?? text(record, 'term_user'), country),
  };
  return item;
}
