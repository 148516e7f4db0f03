import type { Queryable } from '../db/database.js';
import { recordCallEvents, type CallChange, type PendingCallEvent } from './calls.js';
import { nextState, type CallState } from './states.js';

/**
 * Set-based storing of several verified deliveries in one transaction: each step is one statement for
 * the whole batch, whatever its size — the delivery rows, the calls' row locks, the new calls, the
 * calls' updates, the call events — so a batch of fifty deliveries costs the round trips of one. What is
 * stored is exactly what storing the deliveries one after another would store (`moveCall` and
 * `recordCallEvents` in `calls.ts`, which the other writers use): the rows are the truth the tests read.
 *
 * Rows go in as one JSON parameter read with `jsonb_to_recordset`: both engines take it, and unlike
 * arrays per column it carries nulls and keeps each row's fields together.
 */

/** One item of a batch, and where it came from. */
export interface BatchItem {
  /** Index of its delivery in the batch. */
  delivery: number;
  provider: string;
  tenant: string;
  dedupeKey: string;
  body: unknown;
  change?: Omit<CallChange, 'tenant' | 'provider' | 'deliveryId'> | undefined;
}

/** What storing the batch did, per delivery. */
export interface BatchOutcome {
  stored: number[];
  events: number[][];
}

/** A stored item with a change to apply, in the batch's order. */
interface StoredChange {
  delivery: number;
  deliveryId: number;
  change: CallChange;
}

interface LockedCall {
  id: number;
  /** Undefined for a call this batch inserted, whose first change is still to be recorded as its first move. */
  state: CallState | undefined;
  key: string;
}

/** A call's identity as one string, for maps (the parts cannot contain the separator's pair: JSON). */
const callKey = (tenant: string, provider: string, providerCallId: string) => JSON.stringify([tenant, provider, providerCallId]);

/**
 * Stores the items' delivery rows; an item already stored (a redelivery; or an earlier item of this
 * batch with the same key) is skipped. Resolves to each stored item's delivery id, by index in `items`.
 */
async function insertDeliveries(tx: Queryable, items: readonly BatchItem[]): Promise<Map<number, number>> {
  const rows = items.map((item, index) => ({
    n: index,
    provider: item.provider,
    tenant: item.tenant,
    dedupe_key: item.dedupeKey,
    body: item.body,
  }));
  // Inserted in the batch's order (`ORDER BY n`): of two items with one key, the first is stored.
  const inserted = await tx.query<{ id: number; provider: string; tenant: string; dedupe_key: string }>(
    `INSERT INTO deliveries (provider, tenant, dedupe_key, body, processed_at, attempts)
     SELECT provider, tenant, dedupe_key, body, now(), 1
       FROM jsonb_to_recordset($1::jsonb) AS item(n int, provider text, tenant text, dedupe_key text, body jsonb) ORDER BY n
     ON CONFLICT (provider, tenant, dedupe_key) DO NOTHING RETURNING id, provider, tenant, dedupe_key`,
    [JSON.stringify(rows)],
  );
  const idByKey = new Map(inserted.rows.map((row) => [callKey(row.tenant, row.provider, row.dedupe_key), row.id]));
  const stored = new Map<number, number>();
  items.forEach((item, index) => {
    const key = callKey(item.tenant, item.provider, item.dedupeKey);
    const id = idByKey.get(key);
    if (id === undefined) return;
    stored.set(index, id);
    // Taken by the first item with this key: a second one in the batch is a redelivery.
    idByKey.delete(key);
  });
  return stored;
}

/** Locks the existing calls among `keys` (in the given order) and reads their state. */
async function lockCalls(tx: Queryable, keys: readonly { tenant: string; provider: string; call_id: string }[]): Promise<LockedCall[]> {
  if (keys.length === 0) return [];
  // A lateral index lookup per key, locked in the keys' order: a join the planner could turn into a
  // scan of every call, and an order that would lock against another batch's.
  const { rows } = await tx.query<{ id: number; state: CallState; tenant: string; provider: string; provider_call_id: string }>(
    `SELECT c.id, c.state, c.tenant, c.provider, c.provider_call_id
       FROM jsonb_to_recordset($1::jsonb) AS k(n int, tenant text, provider text, call_id text)
       CROSS JOIN LATERAL (
         SELECT id, state, tenant, provider, provider_call_id FROM calls
          WHERE tenant = k.tenant AND provider = k.provider AND provider_call_id = k.call_id FOR UPDATE
       ) c
      ORDER BY k.n`,
    [JSON.stringify(keys.map((key, n) => ({ n, ...key })))],
  );
  return rows.map((row) => ({ id: row.id, state: row.state, key: callKey(row.tenant, row.provider, row.provider_call_id) }));
}

/** The customer match of `moveCall`, for a row of a recordset with `tenant` and `from_e164`. */
const CUSTOMER_OF = (row: string) =>
  `(SELECT id FROM customers WHERE tenant = ${row}.tenant AND phone_e164 = ${row}.from_e164 ORDER BY id LIMIT 1)`;

/** A change's fields as `moveCall` writes them when it moves the call to `state`. */
function movedFields(change: CallChange, state: CallState) {
  return {
    answered_at: state === 'answered' ? (change.answeredAt ?? change.at) : (change.answeredAt ?? null),
    ended_at: state === 'ringing' || state === 'answered' ? null : change.at,
    from_number: change.fromNumber ?? null,
    from_name: change.fromName ?? null,
    to_number: change.toNumber ?? null,
    from_e164: change.fromE164 ?? null,
  };
}

/**
 * Inserts the calls first seen in this batch, each from its first change; resolves to the rows
 * inserted. A call another transaction inserted meanwhile is not (this statement waited for that one
 * to commit): the caller locks it as an existing call.
 */
async function insertCalls(tx: Queryable, firsts: readonly { change: CallChange; state: CallState }[]): Promise<LockedCall[]> {
  if (firsts.length === 0) return [];
  const rows = firsts.map(({ change, state }, n) => ({
    n,
    tenant: change.tenant,
    provider: change.provider,
    provider_call_id: change.providerCallId,
    direction: change.direction,
    state,
    started_at: change.startedAt ?? change.at,
    ...movedFields(change, state),
  }));
  const { rows: inserted } = await tx.query<{ id: number; state: CallState; tenant: string; provider: string; provider_call_id: string }>(
    `INSERT INTO calls (tenant, provider, provider_call_id, direction, from_number, from_name, to_number, state,
       started_at, answered_at, ended_at, customer_id)
     SELECT r.tenant, r.provider, r.provider_call_id, r.direction, r.from_number, r.from_name, r.to_number, r.state,
       r.started_at, r.answered_at, r.ended_at, ${CUSTOMER_OF('r')}
       FROM jsonb_to_recordset($1::jsonb) AS r(n int, tenant text, provider text, provider_call_id text, direction text,
         from_number text, from_name text, to_number text, state text, started_at timestamptz, answered_at timestamptz,
         ended_at timestamptz, from_e164 text)
      ORDER BY r.n
     ON CONFLICT (tenant, provider, provider_call_id) DO NOTHING RETURNING id, state, tenant, provider, provider_call_id`,
    [JSON.stringify(rows)],
  );
  return inserted.map((row) => ({ id: row.id, state: row.state, key: callKey(row.tenant, row.provider, row.provider_call_id) }));
}

/** What one call's later changes in the batch fill in: the first value each field is given, as `moveCall`'s COALESCEs keep. */
interface CallUpdate {
  id: number;
  /** The call's tenant: its customers are the ones matched. */
  tenant: string;
  state: CallState;
  answered_at: Date | null;
  ended_at: Date | null;
  from_number: string | null;
  from_name: string | null;
  to_number: string | null;
  from_e164: string | null;
}

async function updateCalls(tx: Queryable, updates: readonly CallUpdate[]): Promise<void> {
  if (updates.length === 0) return;
  // The ids again as an array, which the planner sizes: joined only with the recordset (which it guesses
  // at 100 rows), it chose to read every call and hash-join them — 2.3 ms at 4 000 calls, a full scan of
  // the table per batch, growing with it. `id = ANY(…)` makes it look each one up by its key.
  await tx.query(
    `UPDATE calls SET state = u.state, answered_at = COALESCE(calls.answered_at, u.answered_at), ended_at = COALESCE(calls.ended_at, u.ended_at),
       from_number = COALESCE(calls.from_number, u.from_number), from_name = COALESCE(calls.from_name, u.from_name),
       to_number = COALESCE(calls.to_number, u.to_number), customer_id = COALESCE(calls.customer_id, ${CUSTOMER_OF('u')}),
       updated_at = now()
     FROM jsonb_to_recordset($1::jsonb) AS u(id bigint, tenant text, state text, answered_at timestamptz, ended_at timestamptz,
       from_number text, from_name text, to_number text, from_e164 text)
     WHERE calls.id = u.id AND calls.id = ANY($2::bigint[])`,
    [JSON.stringify(updates), updates.map((update) => update.id)],
  );
}

/**
 * Applies the stored items' changes to their calls, in the batch's order, as `moveCall` one after
 * another would: each call locked (or inserted) once, moved only forward, its fields filled in; one
 * pending call event per forward move, in order.
 */
async function applyChanges(tx: Queryable, changes: readonly StoredChange[]): Promise<(PendingCallEvent & { delivery: number })[]> {
  if (changes.length === 0) return [];
  // Each call's identity once, in a fixed order (another batch locking the same calls takes them in
  // the same order, so the two wait rather than deadlock).
  const keyed = new Map<string, { tenant: string; provider: string; call_id: string }>();
  for (const { change } of changes) {
    keyed.set(callKey(change.tenant, change.provider, change.providerCallId), {
      tenant: change.tenant,
      provider: change.provider,
      call_id: change.providerCallId,
    });
  }
  const order = [...keyed.keys()].sort();
  const calls = new Map<string, LockedCall>();
  const remember = (locked: readonly LockedCall[]) => {
    for (const call of locked) calls.set(call.key, call);
  };
  remember(
    await lockCalls(
      tx,
      order.map((key) => keyed.get(key)!),
    ),
  );

  const events: (PendingCallEvent & { delivery: number })[] = [];
  const updates = new Map<number, CallUpdate>();
  // Two turns at most: the second locks the calls a concurrent transaction inserted first.
  for (let turn = 0; turn < 3; turn++) {
    const missing = changes.filter(({ change }) => !calls.has(callKey(change.tenant, change.provider, change.providerCallId)));
    if (missing.length === 0) break;
    const firsts = new Map<string, { change: CallChange; state: CallState }>();
    for (const { change } of missing) {
      const key = callKey(change.tenant, change.provider, change.providerCallId);
      // A call not seen before takes any signal's state: its first change always moves it.
      if (!firsts.has(key)) firsts.set(key, { change, state: nextState(undefined, change.signal, change.answeredAt !== undefined)! });
    }
    // In the order they came, not sorted: a call's id is its place in the listing among calls stored
    // in the same transaction (they share `created_at`).
    // Inserted calls are new: their first change is recorded below as a move from nothing.
    remember((await insertCalls(tx, [...firsts.values()])).map((call) => ({ ...call, state: undefined })));
    const lost = [...firsts.keys()].filter((key) => !calls.has(key));
    remember(
      await lockCalls(
        tx,
        lost.sort().map((key) => keyed.get(key)!),
      ),
    );
  }

  for (const { delivery, deliveryId, change } of changes) {
    const call = calls.get(callKey(change.tenant, change.provider, change.providerCallId));
    if (!call) throw new Error(`call ${change.providerCallId} of ${change.tenant} was neither found nor inserted`);
    const isNew = call.state === undefined;
    const state = nextState(call.state, change.signal, change.answeredAt !== undefined);
    if (!state) continue;
    call.state = state;
    events.push({ callId: call.id, tenant: change.tenant, state, at: change.at, deliveryId, delivery });
    // The insert wrote the first change's fields; later moves fill in what is still missing.
    if (isNew) continue;
    const fields = movedFields(change, state);
    const update = updates.get(call.id);
    if (!update) {
      updates.set(call.id, { id: call.id, tenant: change.tenant, state, ...fields });
      continue;
    }
    update.state = state;
    for (const name of ['answered_at', 'ended_at', 'from_number', 'from_name', 'to_number', 'from_e164'] as const)
      (update as unknown as Record<string, unknown>)[name] ??= fields[name];
  }
  await updateCalls(tx, [...updates.values()]);
  return events;
}

/**
 * Stores a batch's items and applies their changes; `beforeEvents` runs after every row is written and
 * before the call events (whose lock must come last). Resolves to what each delivery stored.
 */
export async function storeBatch(
  tx: Queryable,
  items: readonly BatchItem[],
  deliveries: number,
  beforeEvents: () => Promise<void>,
): Promise<BatchOutcome> {
  const stored = await insertDeliveries(tx, items);
  const outcome: BatchOutcome = {
    stored: Array.from({ length: deliveries }, () => 0),
    events: Array.from({ length: deliveries }, () => []),
  };
  const changes: StoredChange[] = [];
  items.forEach((item, index) => {
    const deliveryId = stored.get(index);
    if (deliveryId === undefined) return;
    outcome.stored[item.delivery]! += 1;
    if (item.change)
      changes.push({ delivery: item.delivery, deliveryId, change: { ...item.change, tenant: item.tenant, provider: item.provider } });
  });
  const pending = await applyChanges(tx, changes);
  await beforeEvents();
  const ids = await recordCallEvents(tx, pending);
  pending.forEach((event, index) => outcome.events[event.delivery]!.push(ids[index]!));
  return outcome;
}
