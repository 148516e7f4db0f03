import type { Database } from '../db/database.js';
import { CALL_EVENTS_CHANNEL, lockCallEvents } from './calls.js';

/**
 * Matches a call to a customer after it was stored (a lookup answered later): the call gets
 * `customer_id` unless it has one by now, and that is a call event — the call's state as it is, at the
 * time of the match — announced like any other, so streams show the match. Returns the event's id, or
 * undefined when the call was matched meanwhile (or is gone). A short transaction: whatever found the
 * customer (an HTTP lookup) must have run before, never inside it.
 */
export function matchCallLater(db: Database, callId: number, customerId: number): Promise<number | undefined> {
  return db.transaction(async (tx) => {
    // First, as every writer of call events does: ids commit in order, and no row lock is held while waiting.
    await lockCallEvents(tx);
    const { rows } = await tx.query<{ tenant: string; state: string }>(
      'UPDATE calls SET customer_id = $2, updated_at = now() WHERE id = $1 AND customer_id IS NULL RETURNING tenant, state',
      [callId, customerId],
    );
    const call = rows[0];
    if (!call) return undefined;
    const event = await tx.query<{ id: number }>(
      'INSERT INTO call_events (call_id, tenant, state, at) VALUES ($1, $2, $3, now()) RETURNING id',
      [callId, call.tenant, call.state],
    );
    const eventId = event.rows[0]!.id;
    await tx.notify(CALL_EVENTS_CHANNEL, String(eventId));
    return eventId;
  });
}
