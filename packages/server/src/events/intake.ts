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

/**
 * Batches in flight at once per database. PostgreSQL: a few, so one batch's round trips overlap
 * another's (their call events still commit one at a time, under the lock), leaving most of the pool
 * to the API and the streams. PGlite runs one transaction at a time anyway.
 */
const CONCURRENT_BATCHES = { postgres: 4, pglite: 1 } as const;

type Hook = (tx: Queryable) => Promise<void>;

interface Waiting {
  delivery: { provider: string; tenant: string; items: readonly DeliveryItem[] };
  alsoInTransaction: Hook | undefined;
  resolve: (result: IntakeResult) => void;
  reject: (error: unknown) => void;
}

/**
 * Stores a verified delivery's items and applies their call changes, all in one transaction: an item is
 * stored with its change applied and marked processed, or (on any failure, the database going away
 * included) nothing of the delivery is, and the provider redelivers it. An item already stored — a
 * redelivery, or the same delivery received by another instance at the same moment — is skipped
 * whole, so nothing is doubled.
 *
 * Deliveries arriving together share a transaction (`IntakeQueue`): each statement then serves all of
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
  let queue = queues.get(db);
  if (!queue) queues.set(db, (queue = new IntakeQueue(db)));
  return queue.receive(delivery, alsoInTransaction);
}

/** Each database's queue: deliveries to one database, from every route of this process, batch together. */
const queues = new WeakMap<Database, IntakeQueue>();

/**
 * Gathers deliveries while earlier batches are in flight, and stores each gathering as one batch as soon
 * as a slot frees up: at low rates every delivery is a batch of its own and waits for nothing; under
 * load, batches grow with the load instead of deliveries queueing for the database one by one.
 */
class IntakeQueue {
  readonly #db: Database;
  readonly #slots: number;
  #waiting: Waiting[] = [];
  #running = 0;

  constructor(db: Database) {
    this.#db = db;
    this.#slots = CONCURRENT_BATCHES[db.engine];
  }

  receive(delivery: Waiting['delivery'], alsoInTransaction: Hook | undefined): Promise<IntakeResult> {
    return new Promise((resolve, reject) => {
      this.#waiting.push({ delivery, alsoInTransaction, resolve, reject });
      this.#next();
    });
  }

  #next(): void {
    while (this.#running < this.#slots && this.#waiting.length > 0) {
      let items = 0;
      let count = 0;
      // At least one delivery, however large; then as many as fit.
      while (count < this.#waiting.length && (count === 0 || items + this.#waiting[count]!.delivery.items.length <= MAX_BATCH_ITEMS)) {
        items += this.#waiting[count]!.delivery.items.length;
        count += 1;
      }
      const batch = this.#waiting.splice(0, count);
      this.#running += 1;
      void this.#store(batch).finally(() => {
        this.#running -= 1;
        this.#next();
      });
    }
  }

  async #store(batch: Waiting[]): Promise<void> {
    try {
      const outcome = await storeWithRetries(this.#db, batch);
      batch.forEach((waiting, index) => waiting.resolve({ stored: outcome.stored[index]!, events: outcome.events[index]! }));
    } catch (error) {
      if (batch.length === 1 || failedForNow(error)) {
        for (const waiting of batch) waiting.reject(error);
        return;
      }
      // One delivery's data failed the batch: each alone, so only that one fails.
      await Promise.all(batch.map((waiting) => this.#store([waiting])));
    }
  }
}

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
