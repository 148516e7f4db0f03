import type { Logger } from 'pino';
import type { Database } from '../db/database.js';

/** What the bus fans out: anything with the id it was recorded under (ids only grow, and commit in order). */
export interface BusMessage {
  id: number;
}

/** One receiver of the bus's messages, such as an open live stream. */
export interface Subscriber<T> {
  /** Each message read after the subscriber joined, in id order, once. Must not throw or wait. */
  deliver(message: T): void;
  /** The bus is closing (shutdown): stop. */
  end(): void;
}

export interface EventBusOptions<T extends BusMessage> {
  db: Pick<Database, 'listen'>;
  /** The channel each new message's id is announced on (a signal: the message itself is read with `read`). */
  channel: string;
  /** The messages with an id above `after`, in id order, at most `limit`: the database is the truth. */
  read(after: number, limit: number): Promise<T[]>;
  /** The highest id recorded now (0 when none). */
  latest(): Promise<number>;
  logger: Logger;
  /** After a failed read, the next attempt waits this long. Default 1 s. */
  retryMs?: number;
}

/** The bus is closed (the server is shutting down): no new subscribers. */
export class BusClosedError extends Error {
  override name = 'BusClosedError';
}

/** Messages read per query: enough for a burst, small enough not to hold up the other streams. */
const BATCH = 500;

/**
 * One per process: listens on the database's channel (PostgreSQL LISTEN/NOTIFY across instances,
 * in-process with PGlite) and, on each signal, reads the messages after the last one it read — once, in
 * id order, whatever the number of subscribers — and hands each to every subscriber. A burst of
 * notifications is one read; a lost notification is made up by the next read, and a lost LISTEN
 * connection by reading again when it is back (`onReconnect`).
 *
 * It listens from the first subscription on and reads only while someone subscribes: with nobody, it
 * skips what happens and starts again from the latest id when the next subscriber joins.
 */
export class EventBus<T extends BusMessage> {
  readonly #subscribers = new Set<Subscriber<T>>();
  readonly #wakers = new Set<() => void>();
  /** The last id read and delivered. */
  #lastId = 0;
  /** Reads and subscriptions, one at a time, so a subscriber's starting point and the reads agree. */
  #queue: Promise<unknown> = Promise.resolve();
  #listening: Promise<void> | undefined;
  #unlisten: (() => Promise<void>) | undefined;
  #readQueued = false;
  #retry: NodeJS.Timeout | undefined;
  #closing: Promise<void> | undefined;

  constructor(private readonly options: EventBusOptions<T>) {}

  /** How many subscribers there are now. */
  get size(): number {
    return this.#subscribers.size;
  }

  /**
   * Adds `subscriber`; resolves to the id after which it receives every message (what was recorded
   * before is for the caller to read from the database, if it wants it). Rejects with
   * `BusClosedError` once closed, or with the database's error when it cannot listen.
   */
  async subscribe(subscriber: Subscriber<T>): Promise<number> {
    if (this.#closing) throw new BusClosedError('The server is shutting down');
    await this.#listen();
    return this.#serial(async () => {
      if (this.#closing) throw new BusClosedError('The server is shutting down');
      // Nobody was listening, so nothing was read meanwhile: start from now.
      if (this.#subscribers.size === 0) this.#lastId = await this.options.latest();
      this.#subscribers.add(subscriber);
      return this.#lastId;
    });
  }

  /**
   * Calls `wake` on each signal that something new was recorded (or may have been: after a lost LISTEN
   * connection), without reading it: for workers that read the database themselves. A waker costs the
   * bus no read: with wakers alone, it reads nothing. (Workers used to subscribe, so every event was read
   * with its call and customer, and made into a stream frame nobody received: on the bench's intake,
   * about a tenth of PostgreSQL's CPU per delivery.) Resolves to what stops it; rejects with the
   * database's error when it cannot listen.
   */
  async onSignal(wake: () => void): Promise<() => void> {
    if (this.#closing) throw new BusClosedError('The server is shutting down');
    await this.#listen();
    this.#wakers.add(wake);
    return () => this.#wakers.delete(wake);
  }

  /** Removes `subscriber`: it receives nothing more. */
  unsubscribe(subscriber: Subscriber<T>): void {
    this.#subscribers.delete(subscriber);
  }

  /** Ends every subscriber and stops listening; once, however often it is called. */
  close(): Promise<void> {
    return (this.#closing ??= (async () => {
      clearTimeout(this.#retry);
      for (const subscriber of this.#subscribers) this.#safely(() => subscriber.end());
      this.#subscribers.clear();
      this.#wakers.clear();
      await this.#listening?.catch(() => undefined);
      await this.#unlisten?.();
    })());
  }

  #listen(): Promise<void> {
    return (this.#listening ??= this.options.db
      .listen(this.options.channel, () => this.#signal(), { onReconnect: () => this.#signal() })
      .then(
        (unlisten) => {
          this.#unlisten = unlisten;
        },
        (error: unknown) => {
          // The next subscriber tries again.
          this.#listening = undefined;
          throw error;
        },
      ));
  }

  /** Something new was recorded (or may have been): wake the wakers, and read it unless a read is already waiting to run. */
  #signal(): void {
    if (this.#closing) return;
    for (const wake of this.#wakers) this.#safely(wake);
    if (this.#readQueued || this.#subscribers.size === 0) return;
    this.#readQueued = true;
    this.#serial(async () => {
      // Cleared first: a signal arriving during the read may be for a message the read no longer sees.
      this.#readQueued = false;
      await this.#read();
    }).catch((error: unknown) => {
      this.options.logger.warn({ err: error }, 'the live stream could not read new call events: trying again');
      clearTimeout(this.#retry);
      this.#retry = setTimeout(() => this.#signal(), this.options.retryMs ?? 1_000);
    });
  }

  async #read(): Promise<void> {
    for (;;) {
      if (this.#closing || this.#subscribers.size === 0) return;
      const batch = await this.options.read(this.#lastId, BATCH);
      for (const message of batch) {
        this.#lastId = message.id;
        for (const subscriber of this.#subscribers) this.#safely(() => subscriber.deliver(message));
      }
      if (batch.length < BATCH) return;
    }
  }

  #serial<R>(task: () => Promise<R>): Promise<R> {
    const run = this.#queue.then(task);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  /** One failing subscriber or waker must not keep the others from hearing. */
  #safely(call: () => void): void {
    try {
      call();
    } catch (error) {
      this.options.logger.error({ err: error }, 'a live stream subscriber failed');
    }
  }
}
