/**
 * The records a `call` (or `call_origid`) subscription receives for one simulated call: an inbound call
 * from outside the domain (through a carrier gateway) ringing one user. The field set and its order are
 * those of a `call` record captured from a live cluster; the values for an inbound call are inferred
 * from it (the capture was an outbound call), so a receiver should rely on the fields
 * `NsCallRecord` types and tolerate the rest.
 */
import { randomBytes, randomInt } from 'node:crypto';
import type { NsCallRecord } from '../resources/subscriptions.js';
import type { SandboxCallState } from './state.js';

/** A simulated call, its options checked and its ids chosen. */
export interface CallStory {
  domain: string;
  /** The caller's user part: digits with the country code, or what was given when not E.164. */
  fromUser: string;
  fromName: string;
  to: string;
  dialed: string;
  answer: boolean;
  callId: string;
  /** The call's first moment; the later states follow `stepMs` apart. */
  startedAt: number;
  stepMs: number;
}

/** The record of each state of one call. */
export interface CallRecords {
  ringing: NsCallRecord;
  answered?: NsCallRecord;
  ended: NsCallRecord;
}

/** Documentation addresses (RFC 5737): the carrier gateway the call comes from, and the phone that rings. */
const CARRIER_IP = '192.0.2.10';
const PHONE_IP = '198.51.100.20';
/** The core server's name, as `hostname` and in the request URI. */
const HOSTNAME = 'core1.ns-sandbox.invalid';
/** NetSapiens' `time_answer` before an answer. */
export const NO_TIME = '0000-00-00 00:00:00';

/** The fields a `call_origid` subscription receives, in its order (from a captured delivery). */
const ORIGID_FIELDS = [
  'orig_callid',
  'orig_from_uri',
  'orig_from_name',
  'orig_to_user',
  'orig_user',
  'orig_domain',
  'by_user',
  'by_domain',
  'term_user',
  'term_domain',
  'term_to_uri',
  'orig_call_info',
  'term_call_info',
  'time_answer',
  'time_start',
  'remove',
] as const;

/** NetSapiens' `YYYY-MM-DD HH:MM:SS`, in UTC. */
export function nsDateTime(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
}

/** A carrier-style SIP Call-ID. */
export function newCallId(): string {
  return `${randomBytes(16).toString('hex')}@${CARRIER_IP}`;
}

function legTag(): string {
  return randomBytes(16).toString('base64url').slice(0, 22);
}

/** Each state's record; a state's record is built once, so that a redelivery repeats it exactly. */
export function callRecords(story: CallStory): CallRecords {
  // The session id is the start time's digits and a counter, and the terminating leg's id starts with it.
  const stamp = nsDateTime(story.startedAt).replace(/\D/g, '');
  const sessionId = `${stamp}${String(randomInt(0, 1_000_000)).padStart(6, '0')}`;
  const ids = {
    sessionId,
    origLegTag: legTag(),
    termLegTag: legTag(),
    termCallId: `${sessionId}-${randomBytes(16).toString('hex')}`,
  };
  const answerAt = story.startedAt + story.stepMs;
  const endAt = story.startedAt + story.stepMs * (story.answer ? 2 : 1);
  const record = (state: SandboxCallState, at: number, answered: boolean): NsCallRecord => {
    const { fromUser, fromName, to, dialed, domain } = story;
    const info = answered ? 'active' : 'alerting';
    const start = nsDateTime(story.startedAt);
    const now = nsDateTime(at);
    return {
      hostname: HOSTNAME,
      sessionId: ids.sessionId,
      orig_callid: story.callId,
      orig_leg_tag: ids.origLegTag,
      orig_ip: CARRIER_IP,
      orig_match: `sip:*@${CARRIER_IP}`,
      orig_sub: '',
      orig_domain: '*',
      orig_own_sub: '',
      orig_own_domain: '*',
      orig_type: 'gateway',
      orig_group: '',
      orig_site: '',
      orig_territory: '',
      orig_from_uri: `sip:${fromUser}@${CARRIER_IP}`,
      orig_logi_uri: `sip:${fromUser}@${CARRIER_IP}`,
      orig_from_name: fromName,
      orig_from_user: fromUser,
      orig_from_host: CARRIER_IP,
      orig_req_uri: `sip:${dialed}@${HOSTNAME}`,
      orig_req_user: dialed,
      orig_req_host: HOSTNAME,
      orig_to_uri: `sip:${dialed}@${HOSTNAME}`,
      orig_to_user: dialed,
      orig_to_host: HOSTNAME,
      by_action: '',
      by_sub: '',
      by_domain: '',
      by_type: '',
      by_group: '',
      by_site: '',
      by_territory: '',
      by_uri: '',
      by_callid: '',
      term_callid: ids.termCallId,
      term_leg_tag: ids.termLegTag,
      term_ip: PHONE_IP,
      term_match: `sip:${to}@${domain}`,
      term_sub: to,
      term_domain: domain,
      term_own_sub: to,
      term_own_domain: domain,
      term_type: 'device',
      term_group: '',
      term_site: '',
      term_territory: '',
      term_to_uri: `sip:${to}@${domain}`,
      term_logi_uri: `sip:${to}@${domain}`,
      time_start: start,
      time_answer: answered ? nsDateTime(answerAt) : NO_TIME,
      orig_id: fromUser,
      term_id: to,
      by_id: '',
      orig_call_info: info,
      term_call_info: info,
      route_to: `sip:${dialed}@*`,
      route_class: '0',
      media: 'PCMU',
      pac: '',
      action: 'nop',
      action_parameter: '',
      action_by: '',
      notes: '',
      time_refresh: now,
      ts: now,
      term_uri: `sip:${to}@${PHONE_IP}`,
      dnis: dialed,
      orig_name: fromName,
      ani: fromUser,
      orig_user: '',
      term_user: to,
      time_begin: start,
      acr_id: `${story.callId}_${ids.termCallId}_${to}`,
      ...(state === 'ended' ? { remove: 'yes' } : {}),
    };
  };
  return {
    ringing: record('ringing', story.startedAt, false),
    ...(story.answer ? { answered: record('answered', answerAt, true) } : {}),
    // The last record repeats the leg's last state, with remove: "yes".
    ended: record('ended', endAt, story.answer),
  };
}

/** A queued call NetSapiens originates: from the queue (`EXT@DOMAIN`) out through a carrier gateway to `destination`. */
export interface QueuedCallStory {
  domain: string;
  /** The queue's extension: the originating user. */
  queue: string;
  /** The number called, digits with the country code (as v2 writes numbers). */
  destination: string;
  answer: boolean;
  callId: string;
  startedAt: number;
  stepMs: number;
}

/**
 * Each state's record of a queued call's leg to the destination, as a `call` subscription of the domain
 * receives it: the inbound records' field set, turned around — the originating side is the queue (a user
 * of the domain, so `orig_user` is set, as for any call a domain's user places), the terminating side the
 * gateway the destination is reached through.
 */
export function queuedCallRecords(story: QueuedCallStory): CallRecords {
  const { domain, queue, destination } = story;
  const base = callRecords({
    domain,
    fromUser: queue,
    fromName: '',
    to: destination,
    dialed: destination,
    answer: story.answer,
    callId: story.callId,
    startedAt: story.startedAt,
    stepMs: story.stepMs,
  });
  const outbound = (record: NsCallRecord): NsCallRecord => ({
    ...record,
    orig_ip: PHONE_IP,
    orig_match: `sip:${queue}@${domain}`,
    orig_sub: queue,
    orig_domain: domain,
    orig_own_sub: queue,
    orig_own_domain: domain,
    orig_type: 'device',
    orig_from_uri: `sip:${queue}@${domain}`,
    orig_logi_uri: `sip:${queue}@${domain}`,
    orig_from_host: domain,
    orig_user: queue,
    term_ip: CARRIER_IP,
    term_match: `sip:*@${CARRIER_IP}`,
    term_sub: '',
    term_domain: '*',
    term_own_sub: '',
    term_own_domain: '*',
    term_type: 'gateway',
    term_to_uri: `sip:${destination}@${CARRIER_IP}`,
    term_logi_uri: `sip:${destination}@${CARRIER_IP}`,
    term_uri: `sip:${destination}@${CARRIER_IP}`,
    term_user: destination,
    ani: queue,
    orig_id: queue,
    route_to: `sip:${destination}@${CARRIER_IP}`,
  });
  return {
    ringing: outbound(base.ringing),
    ...(base.answered ? { answered: outbound(base.answered) } : {}),
    ended: outbound(base.ended),
  };
}

/** The shorter record a `call_origid` subscription receives. */
export function origidRecord(record: NsCallRecord): NsCallRecord {
  const short: Record<string, unknown> = {};
  for (const field of ORIGID_FIELDS) {
    if (field in record) short[field] = record[field];
    else if (field === 'by_user') short[field] = '';
  }
  return short as NsCallRecord;
}
