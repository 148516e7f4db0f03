import type { Database, Queryable } from '../db/database.js';
import { nextState, type CallSignal, type CallState } from './states.js';

/** The channel each committed call event is announced on, its id as the payload. A signal only: listeners read the event from the table. */
export const CALL_EVENTS_CHANNEL = 'call_events';

/**
 * Taken (per transaction) before a call row is locked or an event inserted: call event ids are handed
 * out at insert, so concurrent writers must commit them in id order, or a stream replaying from
 * `Last-Event-ID` could skip one committed late. Taking it first, before any row lock, also keeps two
 * transactions from each holding what the other waits for. (An arbitrary constant: "call" in ASCII.)
 */
const CALL_EVENTS_LOCK = 0x63616c6c;

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
  await lockCallEvents(tx);
  const existing = await tx.query<CallRow>(
    'SELECT id, state, customer_id FROM calls WHERE tenant = $1 AND provider = $2 AND provider_call_id = $3 FOR UPDATE',
    [change.tenant, change.provider, change.providerCallId],
  );
  const call = existing.rows[0];
  const state = nextState(call?.state, change.signal, change.answeredAt !== undefined);
  if (!state) return { callId: call!.id, state: call!.state, eventId: undefined };
  const customerId = call?.customer_id ?? (await matchCustomer(tx, change.tenant, change.fromE164));
  const answeredAt = state === 'answered' ? (change.answeredAt ?? change.at) : change.answeredAt;
  const endedAt = state === 'ringing' || state === 'answered' ? null : change.at;
  let callId: number;
  if (call) {
    // Fields a first delivery may have lacked are filled in; what is known is kept.
    await tx.query(
      `UPDATE calls SET state = $2, answered_at = COALESCE(answered_at, $3), ended_at = COALESCE(ended_at, $4),
         from_number = COALESCE(from_number, $5), from_name = COALESCE(from_name, $6), to_number = COALESCE(to_number, $7),
         customer_id = $8, updated_at = now()
       WHERE id = $1`,
      [
        call.id,
        state,
        answeredAt ?? null,
        endedAt,
        change.fromNumber ?? null,
        change.fromName ?? null,
        change.toNumber ?? null,
        customerId,
      ],
    );
    callId = call.id;
  } else {
    const inserted = await tx.query<{ id: number }>(
      `INSERT INTO calls (tenant, provider, provider_call_id, direction, from_number, from_name, to_number, state,
         started_at, answered_at, ended_at, customer_id)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id`,
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
        customerId,
      ],
    );
    callId = inserted.rows[0]!.id;
  }
  const event = await tx.query<{ id: number }>(
    'INSERT INTO call_events (call_id, tenant, state, at, delivery_id) VALUES ($1, $2, $3, $4, $5) RETURNING id',
    [callId, change.tenant, state, change.at, change.deliveryId ?? null],
  );
  const eventId = event.rows[0]!.id;
  await tx.notify(CALL_EVENTS_CHANNEL, String(eventId));
  return { callId, state, eventId };
}

/**
 * Takes the call-events lock for the rest of the transaction (again is harmless). A transaction that
 * will record events must take it before any other lock it could wait on — a call row, or a unique key
 * another transaction is inserting — or two of them could each wait for the other.
 */
export async function lockCallEvents(tx: Queryable): Promise<void> {
  await tx.query('SELECT pg_advisory_xact_lock($1)', [CALL_EVENTS_LOCK]);
}

/** The tenant's customer with this number (the first added, when several share it). */
async function matchCustomer(tx: Queryable, tenant: string, phone: string | undefined): Promise<number | null> {
  if (!phone) return null;
  const { rows } = await tx.query<{ id: number }>('SELECT id FROM customers WHERE tenant = $1 AND phone_e164 = $2 ORDER BY id LIMIT 1', [
    tenant,
    phone,
  ]);
  return rows[0]?.id ?? null;
}
