import type { Database, Queryable } from '../db/database.js';
import { applyCallChange, lockCallEvents, type CallChange } from './calls.js';

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

/**
 * Stores a verified delivery's items and applies their call changes, all in one transaction: an item is
 * stored with its change applied and marked processed, or (on any failure, the database going away
 * included) nothing of the delivery is, and the provider redelivers it. An item already stored — a
 * redelivery, or the same delivery received by another instance at the same moment — is skipped
 * whole, so nothing is doubled.
 */
export function receiveDelivery(
  db: Database,
  delivery: { provider: string; tenant: string; items: readonly DeliveryItem[] },
  /** More work in the same transaction, after the items (e.g. queueing the text a missed call calls for): stored with them, or not at all. */
  alsoInTransaction?: (tx: Queryable, result: IntakeResult) => Promise<void>,
): Promise<IntakeResult> {
  const { provider, tenant } = delivery;
  return db.transaction(async (tx) => {
    const result: IntakeResult = { stored: 0, events: [] };
    // First: a redelivery's inserts below wait for a concurrent one's, which must not be waiting for this lock.
    if (delivery.items.some((item) => item.change)) await lockCallEvents(tx);
    for (const item of delivery.items) {
      // A concurrent transaction inserting the same key makes this one wait for it, then skip.
      const inserted = await tx.query<{ id: number }>(
        `INSERT INTO deliveries (provider, tenant, dedupe_key, body) VALUES ($1, $2, $3, $4::jsonb)
         ON CONFLICT (provider, tenant, dedupe_key) DO NOTHING RETURNING id`,
        [provider, tenant, item.dedupeKey, JSON.stringify(item.body)],
      );
      const deliveryId = inserted.rows[0]?.id;
      if (deliveryId === undefined) continue;
      result.stored += 1;
      if (item.change) {
        const { eventId } = await applyCallChange(tx, { ...item.change, tenant, provider, deliveryId });
        if (eventId !== undefined) result.events.push(eventId);
      }
      await tx.query('UPDATE deliveries SET processed_at = now(), attempts = attempts + 1 WHERE id = $1', [deliveryId]);
    }
    await alsoInTransaction?.(tx, result);
    return result;
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
