import type { Database, Queryable } from '../db/database.js';
import { nextState, type CallSignal, type CallState } from './states.js';

/** The channel each committed call event is announced on, its id as the payload. A signal only: listeners read the event from the table. */
export const CALL_EVENTS_CHANNEL = 'call_events';

/**
 * Taken (per transaction) just before call events are inserted, and held until commit: call event ids
 * are handed out at insert, so concurrent writers must commit them in id order, or a stream replaying
 * from `Last-Event-ID` could skip one committed late. Taken last — after every row lock the
 * transaction needs — so it is held for an insert and the commit only, and its holder never waits for
 * another transaction: none can hold what it still needs. (An arbitrary constant: "call" in ASCII.)
 */
export const CALL_EVENTS_LOCK = 0x63616c6c;

/**
 * The tenant's customer with the caller's number (the first added, when several share it), as a subquery
 * of the statement writing the call: matched in the same round trip. Null for no number (an extension).
 */
const CUSTOMER_WITH_NUMBER = (tenant: string, phone: string) =>
  `(SELECT id FROM customers WHERE tenant = ${tenant} AND phone_e164 = ${phone}::text ORDER BY id LIMIT 1)`;

/** What a provider's delivery says about one call, normalized by its adapter. */
export interface CallChange {
  /** The config id the call belongs to. */
  tenant: string;
  /** The adapter's name (`netsapiens`, …). */
  provider: string;
  /** The provider's id of the call, the same on every delivery about it. */
  providerCallId: string;
  direction: 'inbound' | 'outbound';
  signal: CallSignal;
  /** When it happened, by the provider's clock when it gives one. */
  at: Date;
  /** The caller: E.164 when a phone number, else as the provider gave it (an extension). */
  fromNumber?: string | undefined;
  fromName?: string | undefined;
  /** The caller's number in E.164, to match a customer by; undefined when the caller is not a phone number. */
  fromE164?: string | undefined;
  /** Who was called: E.164 when a phone number, else as given. */
  toNumber?: string | undefined;
  /** When the call started; default `at`. */
  startedAt?: Date | undefined;
  /** When it was answered, when the provider says (also on a later delivery). */
  answeredAt?: Date | undefined;
  /** The stored delivery this change comes from. */
  deliveryId?: number | undefined;
}

/** What `recordCallChange` did. */
export interface CallChangeResult {
  callId: number;
  /** The call's state after the change. */
  state: CallState;
  /** The event recorded, or undefined when the change moved nothing (late or repeated). */
  eventId: number | undefined;
}

interface CallRow {
  id: number;
  state: CallState;
  customer_id: number | null;
}

/**
 * Records one change of a call in its own transaction: the call is created or found by (tenant,
 * provider, provider call id), its state moves only forward, and a forward move is a call event,
 * announced on `CALL_EVENTS_CHANNEL` at commit. A late or repeated change changes nothing and records no event.
 */
export function recordCallChange(db: Database, change: CallChange): Promise<CallChangeResult> {
  return db.transaction((tx) => applyCallChange(tx, change));
}

/** `recordCallChange` inside a transaction the caller holds (`Database.transaction`), such as the one storing the delivery. */
export async function applyCallChange(tx: Queryable, change: CallChange): Promise<CallChangeResult> {
  const moved = await moveCall(tx, change);
  if (!moved.event) return { callId: moved.callId, state: moved.state, eventId: undefined };
  const [eventId] = await recordCallEvents(tx, [moved.event]);
  return { callId: moved.callId, state: moved.state, eventId };
}

/** A call event to record: a call's state after a change, and when it happened. */
export interface PendingCallEvent {
  callId: number;
  tenant: string;
  state: CallState;
  at: Date;
  deliveryId: number | null;
}

/**
 * The row work of a change, under the call row's lock (held to commit): the call created, or moved
 * forward and filled in. Returns the event the move calls for, to be recorded by `recordCallEvents`
 * after every other row of the transaction is written; none when the change moved nothing.
 */
export async function moveCall(
  tx: Queryable,
  change: CallChange,
): Promise<{ callId: number; state: CallState; event: PendingCallEvent | undefined }> {
  // Two turns at most: the second finds the row a concurrent insert was waited for.
  for (let turn = 0; turn < 3; turn++) {
    const existing = await tx.query<CallRow>(
      'SELECT id, state, customer_id FROM calls WHERE tenant = $1 AND provider = $2 AND provider_call_id = $3 FOR UPDATE',
      [change.tenant, change.provider, change.providerCallId],
    );
    const call = existing.rows[0];
    const state = nextState(call?.state, change.signal, change.answeredAt !== undefined);
    if (!state) return { callId: call!.id, state: call!.state, event: undefined };
    const event = (callId: number) => ({ callId, tenant: change.tenant, state, at: change.at, deliveryId: change.deliveryId ?? null });
    const answeredAt = state === 'answered' ? (change.answeredAt ?? change.at) : change.answeredAt;
    const endedAt = state === 'ringing' || state === 'answered' ? null : change.at;
    if (call) {
      // Fields a first delivery may have lacked are filled in; what is known is kept.
      await tx.query(
        `UPDATE calls SET state = $2, answered_at = COALESCE(answered_at, $3), ended_at = COALESCE(ended_at, $4),
           from_number = COALESCE(from_number, $5), from_name = COALESCE(from_name, $6), to_number = COALESCE(to_number, $7),
           customer_id = COALESCE(customer_id, ${CUSTOMER_WITH_NUMBER('calls.tenant', '$8')}), updated_at = now()
         WHERE id = $1`,
        [
          call.id,
          state,
          answeredAt ?? null,
          endedAt,
          change.fromNumber ?? null,
          change.fromName ?? null,
          change.toNumber ?? null,
          change.fromE164 ?? null,
        ],
      );
      return { callId: call.id, state, event: event(call.id) };
    }
    // Another transaction storing the same call's first change makes this insert wait for it: once that
    // one commits, nothing is inserted here and the next turn finds its row (and locks it).
    const inserted = await tx.query<{ id: number }>(
      `INSERT INTO calls (tenant, provider, provider_call_id, direction, from_number, from_name, to_number, state,
         started_at, answered_at, ended_at, customer_id)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, ${CUSTOMER_WITH_NUMBER('$1', '$12')})
       ON CONFLICT (tenant, provider, provider_call_id) DO NOTHING RETURNING id`,
      [
        change.tenant,
        change.provider,
        change.providerCallId,
        change.direction,
        change.fromNumber ?? null,
        change.fromName ?? null,
        change.toNumber ?? null,
        state,
        change.startedAt ?? change.at,
        answeredAt ?? null,
        endedAt,
        change.fromE164 ?? null,
      ],
    );
    const callId = inserted.rows[0]?.id;
    if (callId !== undefined) return { callId, state, event: event(callId) };
  }
  throw new Error(`call ${change.providerCallId} of ${change.tenant} was neither found nor inserted`);
}

/**
 * Records call events, in order, each announced on `CALL_EVENTS_CHANNEL` at commit; resolves to their
 * ids in the same order. One statement: the call-events lock first (see `CALL_EVENTS_LOCK`), then the
 * rows, inserted in order so their ids follow it.
 */
export async function recordCallEvents(tx: Queryable, events: readonly PendingCallEvent[]): Promise<number[]> {
  if (events.length === 0) return [];
  const rows = events.map((event, n) => ({
    n,
    call_id: event.callId,
    tenant: event.tenant,
    state: event.state,
    at: event.at,
    delivery_id: event.deliveryId,
  }));
  const { rows: inserted } = await tx.query<{ id: number }>(
    `WITH locked AS (SELECT pg_advisory_xact_lock($2)),
     event AS (
       INSERT INTO call_events (call_id, tenant, state, at, delivery_id)
       SELECT e.call_id, e.tenant, e.state, e.at, e.delivery_id
         FROM locked, jsonb_to_recordset($1::jsonb) AS e(n int, call_id bigint, tenant text, state text, at timestamptz, delivery_id bigint)
        ORDER BY e.n
       RETURNING id
     )
     SELECT id, pg_notify('${CALL_EVENTS_CHANNEL}', id::text) FROM event ORDER BY id`,
    [JSON.stringify(rows), CALL_EVENTS_LOCK],
  );
  // Ids are handed out as rows are inserted, in the order above: ascending ids are the events in order.
  return inserted.map((row) => row.id);
}
