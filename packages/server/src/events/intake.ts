import { queuePerDatabase } from '../db/batches.js';
import type { Database, Queryable } from '../db/database.js';
import { storeBatch, type BatchItem } from './batch.js';
import type { CallChange } from './calls.js';

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

/** How often a batch's transaction is run again after PostgreSQL broke a deadlock by failing it. */
const DEADLOCK_RETRIES = 3;

/** PostgreSQL's SQLSTATE for a transaction failed to break a deadlock. */
const DEADLOCK_DETECTED = '40P01';

/** The most items one batch's transaction stores: a bound on its statements' size and its locks. */
const MAX_BATCH_ITEMS = 500;

type Hook = (tx: Queryable) => Promise<void>;

interface Waiting {
  delivery: { provider: string; tenant: string; items: readonly DeliveryItem[] };
  alsoInTransaction: Hook | undefined;
}

/**
 * Stores a verified delivery's items and applies their call changes, all in one transaction: an item is
 * stored with its change applied and marked processed, or (on any failure, the database going away
 * included) nothing of the delivery is, and the provider redelivers it. An item already stored — a
 * redelivery, or the same delivery received by another instance at the same moment — is skipped
 * whole, so nothing is doubled.
 *
 * Deliveries arriving together share a transaction (`BatchQueue`): each statement then serves all of
 * them, so the database's round trips and commits — and the call-events lock, held from the events'
 * insert to the commit — are paid once per batch instead of once per delivery. A batch that fails for
 * good (a delivery with data the database refuses) is run again one delivery at a time, so only that
 * delivery fails; one that fails for now (the database unreachable) fails every delivery in it, each
 * then answered 503 and redelivered.
 */
export function receiveDelivery(
  db: Database,
  delivery: { provider: string; tenant: string; items: readonly DeliveryItem[] },
  /**
   * More work in the same transaction, after the items are stored but before their call events (e.g.
   * queueing the text a missed call calls for): stored with them, or not at all. It may be run again
   * (after a deadlock, or alone after its batch failed), so it must only write through `tx`.
   */
  alsoInTransaction?: Hook,
): Promise<IntakeResult> {
  return intakeQueue(db).add({ delivery, alsoInTransaction });
}

/**
 * Deliveries to one database, from every route of this process, batch together, one batch at a time:
 * those arriving while one is stored form the next. Each batch costs CPU on both sides for its
 * statements and its commit, whatever its size, and the server shares the cores with its database;
 * measured on the bench (2 cores, 2,000 deliveries/s offered, 3 runs each), one batch at a time made
 * batches twice as large and answered with a p99 of 70–91 ms where two overlapping batches took
 * 123–204 ms (four did worse still); with 50 senders it took 1,876–1,928 deliveries/s against
 * 1,653–1,768. The price: a batch waiting for a row lock (another instance storing the same call)
 * holds up this process's intake until it has it.
 */
const intakeQueue = queuePerDatabase<Waiting, IntakeResult>({
  store: async (db, batch) => {
    const outcome = await storeWithRetries(db, batch);
    return batch.map((_, index) => ({ stored: outcome.stored[index]!, events: outcome.events[index]! }));
  },
  concurrency: { postgres: 1, pglite: 1 },
  weight: ({ delivery }) => delivery.items.length,
  maxWeight: MAX_BATCH_ITEMS,
});

async function storeWithRetries(db: Database, batch: readonly Waiting[]) {
  for (let attempt = 0; ; attempt++) {
    try {
      return await storeOnce(db, batch);
    } catch (error) {
      if (attempt >= DEADLOCK_RETRIES || (error as { code?: unknown } | null)?.code !== DEADLOCK_DETECTED) throw error;
    }
  }
}

function storeOnce(db: Database, batch: readonly Waiting[]) {
  const items: BatchItem[] = batch.flatMap(({ delivery }, index) =>
    delivery.items.map((item) => ({
      delivery: index,
      provider: delivery.provider,
      tenant: delivery.tenant,
      dedupeKey: item.dedupeKey,
      body: item.body,
      change: item.change,
    })),
  );
  return db.transaction((tx) =>
    storeBatch(tx, items, batch.length, async () => {
      for (const { alsoInTransaction } of batch) await alsoInTransaction?.(tx);
    }),
  );
}

/**
 * Text PostgreSQL can hold: without NUL (which neither `text` nor `jsonb` takes) and with each lone
 * surrogate (half of a UTF-16 pair, which `jsonb` refuses) replaced by U+FFFD, as a UTF-8 encoder would.
 * A caller name from a carrier is nobody's to fix, and must not cost a call its record.
 */
export function storableText(value: string): string {
  // Nearly every text has neither: one scan answers that, where the two replacements would copy it.
  if (!MAYBE_UNSTORABLE.test(value)) return value;
  return value.replaceAll('\u0000', '').replace(/\p{Cs}/gu, '\uFFFD');
}

/** A NUL or any UTF-16 surrogate, paired or not: a text without one is storable as it is. */
// eslint-disable-next-line no-control-regex -- NUL is what is looked for
const MAYBE_UNSTORABLE = /[\u0000\uD800-\uDFFF]/;
