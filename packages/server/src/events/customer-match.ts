import type { Database } from '../db/database.js';
import { recordCallEvents } from './calls.js';
import type { CallState } from './states.js';

/**
 * Matches a call to a customer after it was stored (a lookup answered later): the call gets
 * `customer_id` unless it has one by now, and that is a call event — the call's state as it is, at the
 * time of the match — announced like any other, so streams show the match. Returns the event's id, or
 * undefined when the call was matched meanwhile (or is gone). A short transaction: whatever found the
 * customer (an HTTP lookup) must have run before, never inside it.
 */
export function matchCallLater(db: Database, callId: number, customerId: number): Promise<number | undefined> {
  return db.transaction(async (tx) => {
    const { rows } = await tx.query<{ tenant: string; state: CallState; at: Date }>(
      'UPDATE calls SET customer_id = $2, updated_at = now() WHERE id = $1 AND customer_id IS NULL RETURNING tenant, state, now() AS at',
      [callId, customerId],
    );
    const call = rows[0];
    if (!call) return undefined;
    // Last, after the call's row is written, as every writer of call events does (see recordCallEvents).
    const [eventId] = await recordCallEvents(tx, [{ callId, tenant: call.tenant, state: call.state, at: call.at, deliveryId: null }]);
    return eventId;
  });
}
