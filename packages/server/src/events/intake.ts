import type { Database, Queryable } from '../db/database.js';
import { moveCall, recordCallEvents, type CallChange, type PendingCallEvent } from './calls.js';

/** One item of a verified delivery: stored as it came, and what it says about a call when it says something. */
export interface DeliveryItem {
  /** The provider's own identity of this item (`orig_callid` + state, an event id…): a redelivery has the same. */
  dedupeKey: string;
  /** The item as received, stored raw. */
  body: unknown;
  /** The call change it carries, normalized; undefined for an item Beckon keeps but does not act on. */
  change?: Omit<CallChange, 'tenant' | 'provider' | 'deliveryId'> | undefined;
}

export interface IntakeResult {
  /** Items stored now; the rest were already stored (redeliveries). */
  stored: number;
  /** The call events recorded, in order. */
  events: number[];
}

/** How often a delivery's transaction is run again after PostgreSQL broke a deadlock by failing it. */
const DEADLOCK_RETRIES = 3;

/**
 * Stores a verified delivery's items and applies their call changes, all in one transaction: an item is
 * stored with its change applied and marked processed, or (on any failure, the database going away
 * included) nothing of the delivery is, and the provider redelivers it. An item already stored — a
 * redelivery, or the same delivery received by another instance at the same moment — is skipped
 * whole, so nothing is doubled.
 *
 * Concurrent deliveries run side by side until their call events: the rows come first, under their own
 * locks, and the events last (`recordCallEvents`), under the one lock that keeps event ids committing in
 * order. Two deliveries of the same items in opposite orders can deadlock (rare: a provider resending
 * a batch regrouped); PostgreSQL then fails one after a second, and it is run again here. Items are
 * kept in the order they came (sorting them would avoid that, but reorder calls stored together).
 */
export async function receiveDelivery(
  db: Database,
  delivery: { provider: string; tenant: string; items: readonly DeliveryItem[] },
  /**
   * More work in the same transaction, after the items are stored but before their call events (e.g.
   * queueing the text a missed call calls for): stored with them, or not at all. It may be run again
   * (after a deadlock), so it must only write through `tx`.
   */
  alsoInTransaction?: (tx: Queryable) => Promise<void>,
): Promise<IntakeResult> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await storeDelivery(db, delivery, alsoInTransaction);
    } catch (error) {
      if (attempt >= DEADLOCK_RETRIES || (error as { code?: unknown } | null)?.code !== DEADLOCK_DETECTED) throw error;
    }
  }
}

/** PostgreSQL's SQLSTATE for a transaction failed to break a deadlock. */
const DEADLOCK_DETECTED = '40P01';

function storeDelivery(
  db: Database,
  delivery: { provider: string; tenant: string; items: readonly DeliveryItem[] },
  alsoInTransaction?: (tx: Queryable) => Promise<void>,
): Promise<IntakeResult> {
  const { provider, tenant, items } = delivery;
  return db.transaction(async (tx) => {
    let stored = 0;
    const pending: PendingCallEvent[] = [];
    for (const item of items) {
      // Stored as processed: it is, once this transaction commits. A concurrent transaction inserting
      // the same key makes this one wait for it, then skip.
      const inserted = await tx.query<{ id: number }>(
        `INSERT INTO deliveries (provider, tenant, dedupe_key, body, processed_at, attempts) VALUES ($1, $2, $3, $4::jsonb, now(), 1)
         ON CONFLICT (provider, tenant, dedupe_key) DO NOTHING RETURNING id`,
        [provider, tenant, item.dedupeKey, JSON.stringify(item.body)],
      );
      const deliveryId = inserted.rows[0]?.id;
      if (deliveryId === undefined) continue;
      stored += 1;
      if (item.change) {
        const { event } = await moveCall(tx, { ...item.change, tenant, provider, deliveryId });
        if (event) pending.push(event);
      }
    }
    await alsoInTransaction?.(tx);
    return { stored, events: await recordCallEvents(tx, pending) };
  });
}

/**
 * SQLSTATE classes of a fault that a later attempt may not meet: 08 connection, 40 serialization or
 * deadlock, 53 insufficient resources, 57 operator intervention (a server shutting down), 55 an object
 * in use. Data (22), integrity (23) or syntax (42) errors are Beckon's own bugs and stay 500s.
 */
const TRANSIENT_CLASSES = new Set(['08', '40', '53', '55', '57']);

/**
 * Whether a failed database step failed for now rather than for good: the server unreachable or going
 * away (errors without a SQLSTATE: a refused or cut connection, a pool timeout, a closed PGlite) or a
 * transient SQLSTATE. A provider is then told to deliver again later (503) rather than that Beckon is
 * broken (500); both store nothing.
 */
export function failedForNow(error: unknown): boolean {
  if (error instanceof TypeError || error instanceof RangeError || error instanceof SyntaxError) return false;
  const code = (error as { code?: unknown } | null)?.code;
  // SQLSTATEs are five digits and capitals; Node's system codes (EPIPE, ECONNRESET) start with E, which no SQLSTATE class does.
  if (typeof code === 'string' && /^[0-9A-DF-Z][0-9A-Z]{4}$/.test(code)) return TRANSIENT_CLASSES.has(code.slice(0, 2));
  return true;
}

/**
 * Text PostgreSQL can hold: without NUL (which neither `text` nor `jsonb` takes) and with each lone
 * surrogate (half of a UTF-16 pair, which `jsonb` refuses) replaced by U+FFFD, as a UTF-8 encoder would.
 * A caller name from a carrier is nobody's to fix, and must not cost a call its record.
 */
export function storableText(value: string): string {
  return value.replaceAll('\u0000', '').replace(/\p{Cs}/gu, '\uFFFD');
}
