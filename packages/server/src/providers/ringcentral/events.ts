import { createHash } from 'node:crypto';
import type { CountryCode } from 'libphonenumber-js/max';
import { storableText, type DeliveryItem } from '../../events/intake.js';
import { e164, partyNumber } from '../../events/phone.js';
import type { CallSignal } from '../../events/states.js';

export const PROVIDER = 'ringcentral';

/** The longest call id taken (RingCentral's telephony session ids are ~45 characters); the dedupe key holds it. */
const MAX_ID = 256;
/** Caller names longer than this are cut. */
const MAX_NAME = 100;
/** How deep a notification may nest: RingCentral's go five or six levels; deeper is no notification of theirs. */
const MAX_DEPTH = 32;
/**
 * The most calls (or parties) one notification may report: presence lists the latest 7 active calls. A
 * notification is one transaction holding the call-events lock every id's deliveries wait on, so its
 * size is what bounds that wait.
 */
export const MAX_CALLS = 50;

/**
 * What a RingCentral status says of a call, for the three shapes Beckon reads (detailed presence's
 * `telephonyStatus`, a telephony session party's `status.code`, seed 002's simplified body), compared
 * lower-cased. A held or parked call was answered; `NoCall`, `Disconnected` and `Gone` only say the call
 * is over, which is `missed` or `ended` depending on whether it was answered (`over`). Anything else
 * (a fax, a new status) is stored and changes nothing.
 */
const SIGNALS: Readonly<Record<string, CallSignal>> = {
  ringing: 'ringing',
  setup: 'ringing',
  proceeding: 'ringing',
  callconnected: 'answered',
  answered: 'answered',
  onhold: 'answered',
  hold: 'answered',
  parkedcall: 'answered',
  parked: 'answered',
  voicemail: 'voicemail',
  nocall: 'over',
  disconnected: 'over',
  gone: 'over',
};

export function signalOf(status: string | undefined): CallSignal | undefined {
  return status === undefined ? undefined : SIGNALS[status.toLowerCase()];
}

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json => value !== null && typeof value === 'object' && !Array.isArray(value);

function text(value: unknown, max = MAX_ID): string | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value !== 'string') return undefined;
  const trimmed = value.trim();
  return trimmed === '' ? undefined : trimmed.slice(0, max);
}

/** A party as presence gives it (a plain string) or as telephony sessions and seed 002 do (`{phoneNumber, name}`). */
function party(value: unknown): { number: string | undefined; name: string | undefined } {
  if (isObject(value)) return { number: text(value.phoneNumber, 64), name: text(value.name, MAX_NAME) };
  return { number: text(value, 64), name: undefined };
}

function time(value: unknown): Date | undefined {
  if (typeof value !== 'string') return undefined;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

/** `%` and `:` escaped, so that the parts of a dedupe key cannot run into each other. */
function keyPart(id: string): string {
  return id.replaceAll('%', '%25').replaceAll(':', '%3A');
}

/** Whether `value` holds nothing nested more than `levels` deep (`value` itself is level 1). */
function nestsWithin(value: unknown, levels: number): boolean {
  if (value === null || typeof value !== 'object') return true;
  if (levels === 0) return false;
  return Object.values(value).every((item) => nestsWithin(item, levels - 1));
}

/** A copy of a parsed JSON value with every string (keys too) as PostgreSQL can hold it. */
function storable(value: unknown): unknown {
  if (typeof value === 'string') return storableText(value);
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map(storable);
  return Object.fromEntries(Object.entries(value).map(([key, item]) => [storableText(key), storable(item)]));
}

/** One call's report inside a notification, before normalizing. */
interface CallReport {
  /** `presence`, `party` or `simple`: part of the dedupe key. */
  kind: string;
  callId: string | undefined;
  /** The leg within the call (an active call's `id`, a party's `id`), so that two legs' reports are two items. */
  leg: string;
  status: string | undefined;
  direction: unknown;
  from: unknown;
  fromName: unknown;
  to: unknown;
  startTime: unknown;
  body: unknown;
}

/** A body that is not a RingCentral notification: refused whole with this status and message. */
export interface NotificationProblem {
  status: 400 | 413;
  problem: string;
}

/**
 * A verified notification as delivery items: the notification itself (keyed by its `uuid`, so a
 * redelivery is skipped whole; without one, by its content), then one item per call it reports —
 * detailed presence's `activeCalls[]`, a telephony session's `parties[]`, or seed 002's simplified body
 * (`telephonyStatus`, `sessionId`, `from.phoneNumber`…) — keyed by call, leg and status, so that the
 * same status of the same call told again (presence repeats its active calls in every notification)
 * changes nothing. A call is identified by its `telephonySessionId` (else `sessionId`), which presence
 * and telephony sessions share. `country` reads numbers without a country code; `receivedAt` dates a
 * notification without a time.
 */
export function notificationItems(envelope: unknown, country: CountryCode, receivedAt: Date): DeliveryItem[] | NotificationProblem {
  if (!isObject(envelope) || !isObject(envelope.body)) {
    return { status: 400, problem: 'Send a RingCentral notification: a JSON object with a "body" object (and uuid, event, timestamp)' };
  }
  if (!nestsWithin(envelope, MAX_DEPTH)) return { status: 400, problem: `The notification is nested more than ${MAX_DEPTH} levels deep` };
  const stored = storable(envelope) as Json;
  const body = stored.body as Json;
  const uuid = text(stored.uuid);
  const notificationKey = uuid
    ? `notification:${keyPart(uuid)}`
    : `content:${createHash('sha256').update(JSON.stringify(stored)).digest('hex')}`;
  const items: DeliveryItem[] = [{ dedupeKey: notificationKey, body: stored }];
  const at = time(body.eventTime) ?? time(stored.timestamp) ?? receivedAt;
  const reports = callReports(body);
  if (reports.length > MAX_CALLS) {
    return { status: 413, problem: `The notification reports ${reports.length} calls: at most ${MAX_CALLS} are taken per notification` };
  }
  for (const report of reports) {
    const item = callItem(report, { uuid, at, country });
    if (item) items.push(item);
  }
  return items;
}

function callReports(body: Json): CallReport[] {
  if (Array.isArray(body.activeCalls)) {
    return body.activeCalls.filter(isObject).map((call) => ({
      kind: 'presence',
      callId: text(call.telephonySessionId) ?? text(call.sessionId),
      leg: text(call.id) ?? text(call.partyId) ?? '',
      status: text(call.telephonyStatus, 32),
      direction: call.direction,
      from: call.from,
      fromName: call.fromName,
      to: call.to,
      startTime: call.startTime,
      body: call,
    }));
  }
  if (Array.isArray(body.parties)) {
    const callId = text(body.telephonySessionId) ?? text(body.sessionId);
    return body.parties.filter(isObject).map((party) => ({
      kind: 'party',
      callId,
      leg: text(party.id) ?? '',
      status: isObject(party.status) ? text(party.status.code, 32) : undefined,
      direction: party.direction,
      from: party.from,
      fromName: undefined,
      to: party.to,
      startTime: undefined,
      body: party,
    }));
  }
  if (typeof body.telephonyStatus === 'string') {
    return [
      {
        kind: 'simple',
        callId: text(body.telephonySessionId) ?? text(body.sessionId),
        leg: '',
        status: text(body.telephonyStatus, 32),
        direction: body.direction,
        from: body.from,
        fromName: body.fromName,
        to: body.to,
        startTime: body.startTime,
        body,
      },
    ];
  }
  return [];
}

function callItem(
  report: CallReport,
  { uuid, at, country }: { uuid: string | undefined; at: Date; country: CountryCode },
): DeliveryItem | undefined {
  const { callId, status } = report;
  if (!callId || !status) return undefined;
  const signal = signalOf(status);
  const item: DeliveryItem = {
    dedupeKey: `${report.kind}:${keyPart(callId)}:${keyPart(report.leg)}:${status.toLowerCase()}`,
    body: { notification: uuid ?? null, call: report.body },
  };
  if (!signal) return item;
  const from = party(report.from);
  const to = party(report.to);
  item.change = {
    providerCallId: callId,
    direction: typeof report.direction === 'string' && report.direction.toLowerCase() === 'outbound' ? 'outbound' : 'inbound',
    signal,
    at,
    startedAt: time(report.startTime),
    fromNumber: partyNumber(from.number, country),
    fromE164: e164(from.number, country),
    fromName: text(report.fromName, MAX_NAME) ?? from.name,
    toNumber: partyNumber(to.number, country),
  };
  return item;
}
