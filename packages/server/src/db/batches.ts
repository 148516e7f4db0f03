import { failedForNow, type Database, type Engine } from './database.js';

/** How a `BatchQueue` stores its items. */
export interface BatchQueueOptions<Item, Result> {
  /**
   * Stores a batch (one or more items, in arrival order) and returns each item's result, in the same
   * order; all or nothing, so that a batch failing for good can be stored again item by item.
   */
  store: (db: Database, batch: readonly Item[]) => Promise<readonly Result[]>;
  /** Batches in flight at once, per engine: PGlite runs one statement at a time anyway. */
  concurrency: Readonly<Record<Engine, number>>;
  /** How much of a batch an item takes (default 1): a batch holds at least one item, then as many as fit in `maxWeight`. */
  weight?: (item: Item) => number;
  maxWeight: number;
}

/** An item waiting for its batch, with its caller's promise. */
type Waiting<Item, Result> = { item: Item; resolve: (result: Result) => void; reject: (error: unknown) => void };

/**
 * Gathers work for one database while earlier batches are in flight, and stores each gathering as one
 * batch as soon as a slot frees up: at low rates every item is a batch of its own and waits for nothing;
 * under load, batches grow with the load, and a statement's cost (a round trip, a commit, a lock) is paid
 * once per batch instead of once per item.
 *
 * A batch that fails for good (one item's data the database refuses) is stored again one item at a time,
 * so only that item fails; one that fails for now (`failedForNow`: the database unreachable) fails every
 * item in it.
 */
export class BatchQueue<Item, Result> {
  readonly #db: Database;
  readonly #options: BatchQueueOptions<Item, Result>;
  readonly #slots: number;
  #waiting: Array<Waiting<Item, Result>> = [];
  #running = 0;

  constructor(db: Database, options: BatchQueueOptions<Item, Result>) {
    this.#db = db;
    this.#options = options;
    this.#slots = options.concurrency[db.engine];
  }

  /** Stores `item` with whatever else is waiting: resolves with its result once its batch is stored. */
  add(item: Item): Promise<Result> {
    return new Promise((resolve, reject) => {
      this.#waiting.push({ item, resolve, reject });
      this.#next();
    });
  }

  #next(): void {
    const { weight = () => 1, maxWeight } = this.#options;
    while (this.#running < this.#slots && this.#waiting.length > 0) {
      let total = 0;
      let count = 0;
      while (count < this.#waiting.length && (count === 0 || total + weight(this.#waiting[count]!.item) <= maxWeight)) {
        total += weight(this.#waiting[count]!.item);
        count += 1;
      }
      const batch = this.#waiting.splice(0, count);
      this.#running += 1;
      void this.#store(batch).finally(() => {
        this.#running -= 1;
        // After this turn's I/O callbacks, which may bring more work: a PGlite statement runs on this
        // thread, so nothing could arrive while it ran, and the next batch taken at once would be of one.
        setImmediate(() => this.#next());
      });
    }
  }

  async #store(batch: Array<Waiting<Item, Result>>): Promise<void> {
    try {
      const results = await this.#options.store(
        this.#db,
        batch.map(({ item }) => item),
      );
      batch.forEach((waiting, index) => waiting.resolve(results[index]!));
    } catch (error) {
      if (batch.length === 1 || failedForNow(error)) {
        for (const waiting of batch) waiting.reject(error);
        return;
      }
      await Promise.all(batch.map((waiting) => this.#store([waiting])));
    }
  }
}

/**
 * One queue per database, made on first use: work for the same database from every route of this
 * process batches together.
 */
export function queuePerDatabase<Item, Result>(options: BatchQueueOptions<Item, Result>): (db: Database) => BatchQueue<Item, Result> {
  const queues = new WeakMap<Database, BatchQueue<Item, Result>>();
  return (db) => {
    let queue = queues.get(db);
    if (!queue) queues.set(db, (queue = new BatchQueue(db, options)));
    return queue;
  };
}
