import { Worker } from 'node:worker_threads';
import type { TenantConfig, Tenants, ParsedTenants } from './schema.js';

/**
 * Reading, parsing and validating every id's config takes the better part of a second at 100 000 ids:
 * done on the main thread, it would stall every request for that long on each change. Here it runs in a
 * worker thread (check-worker.ts, on the same zod schema), which hands the valid entries back in small
 * batches; the new copy is built from them between requests and handed over whole, for the caller to
 * swap in at once.
 */

/**
 * What a worker is asked to check: `domains.json` (unless its SHA-256 is `unlessDigest`), or entries' JSON
 * texts (UTF-8) by id, sent in batches, the last one marked (and `cancelled` when reading them failed).
 * A file check with `base` (the number of the last file job whose outcome the caller holds, unchanged
 * since) may answer with only the entries that changed since, and the ids removed; one with `remember`
 * sends no entries, and only becomes such a base (the caller read the same file itself).
 */
export type CheckJob =
  | { kind: 'file'; path: string; unlessDigest?: string; base?: number; remember?: boolean }
  | { kind: 'entries'; values: EntryBatch; last: boolean; cancelled?: boolean }
  /** The main thread took in the job's last batch of entries: the worker may send the next. */
  | { kind: 'taken' };

/** Entries' JSON texts: the ids, and the texts one after the other in `bytes`, each `lengths[i]` bytes long. */
export interface EntryBatch {
  ids: string[];
  lengths: number[];
  bytes: Uint8Array;
}

/** A batch of one message: one buffer of its own, whatever larger buffers the texts were slices of. */
export function entryBatch(entries: [string, Uint8Array][]): EntryBatch {
  return {
    ids: entries.map(([id]) => id),
    lengths: entries.map(([, bytes]) => bytes.byteLength),
    bytes: Buffer.concat(entries.map(([, bytes]) => bytes)),
  };
}

const NO_ENTRIES: EntryBatch = { ids: [], lengths: [], bytes: new Uint8Array() };

/** What a worker sends back: batches of valid entries, then one closing message. */
export type CheckMessage =
  | { type: 'entries'; entries: [string, TenantConfig][] }
  /** `removed`: the entries sent were only those changed since the job's `base`, and these ids are gone. */
  | { type: 'done'; rejected: ParsedTenants['rejected']; file?: { bytes: Uint8Array; digest: string }; removed?: string[] }
  | { type: 'remembered'; digest: string }
  | { type: 'missing' }
  | { type: 'unchanged' }
  | { type: 'unreadable'; reason: string }
  | { type: 'broken'; reason: string };

/** Valid entries and why the others were left out, with how many are valid (counting 100 000 keys again would cost the main thread). */
export type CountedTenants = ParsedTenants & { size: number };

/**
 * The outcome of checking the file: its valid entries with its bytes and their SHA-256, or why there are
 * none. `job` is the check's number, a `base` for the next; with `removed`, `tenants` holds only the
 * entries changed since the base (and `size` counts them), to apply in place with the removals.
 */
export type FileCheck =
  | (CountedTenants & { kind: 'checked'; bytes: Buffer; digest: string; job: number; removed?: string[] })
  | { kind: 'missing' | 'unchanged' }
  | { kind: 'unreadable' | 'broken'; reason: string };

/** A job or a message, with the number of the job it belongs to. */
export interface Tagged<T> {
  number: number;
  job: T;
}

/**
 * The worker's module. Run from the TypeScript source (the tests, under tsx), the worker registers tsx
 * itself first: on Node 20, tsx's hooks do not reach worker threads.
 */
function startWorker(): Worker {
  const fromSource = import.meta.url.endsWith('.ts');
  const entry = new URL(fromSource ? './check-worker.ts' : './check-worker.js', import.meta.url);
  if (!fromSource) return new Worker(entry);
  // Resolved here: the worker's own code resolves from the process's working directory, which may be anywhere.
  const tsx = import.meta.resolve('tsx/esm/api');
  const boot = `import(${JSON.stringify(tsx)}).then(({ register }) => { register(); return import(${JSON.stringify(entry.href)}); })`;
  return new Worker(boot, { eval: true });
}

/** Checks run in the process's worker thread, started ahead of the first (`warm`) and kept for the next. */
export interface Checks {
  /** Starts the worker now, so that the first change does not wait for it to load. */
  warm(): void;
  /** Ends this owner's checks: one in progress rejects, and no other starts. */
  stop(): Promise<void>;
  file(path: string, unlessDigest?: string, base?: number): Promise<FileCheck>;
  /**
   * Has the worker read the file and remember its entries, sending none: the outcome of the job whose
   * number this resolves to (with the file's digest then) is the caller's own copy, a `base` for the next
   * check. Undefined when the worker could not read or parse it.
   */
  remember(path: string): Promise<{ job: number; digest: string } | undefined>;
  /** Entries' JSON texts by id, in batches as they are read (from Redis): each batch goes to the worker as it comes. */
  entries(batches: AsyncIterable<EntryBatch>): Promise<CountedTenants>;
}

type Closing = Exclude<CheckMessage, { type: 'entries' }>;

interface Pending {
  tenants: Tenants;
  size: number;
  resolve(outcome: { closing: Closing; tenants: Tenants; size: number; number: number }): void;
  reject(error: Error): void;
}

/**
 * One worker for the process, shared by its stores (a server has one; the tests open many): loading it
 * (zod, the schema) costs more than most checks. It never keeps the process alive, and one that died is
 * replaced at the next check.
 */
let shared: Worker | undefined;
const pending = new Map<number, Pending>();
let jobs = 0;

function sharedWorker(): Worker {
  if (shared) return shared;
  const worker = startWorker();
  worker.on('message', ({ number, job: message }: Tagged<CheckMessage>) => {
    const waiting = pending.get(number);
    if (message.type === 'entries') {
      // Acknowledged even when no one waits any more (a store closed, a read given up): the worker waits for it.
      // After whatever else the event loop has to do: the next batch waits for this one.
      setImmediate(() => worker.postMessage({ number, job: { kind: 'taken' } } satisfies Tagged<CheckJob>));
      if (!waiting) return;
      for (const [id, config] of message.entries) waiting.tenants[id] = config;
      waiting.size += message.entries.length;
      return;
    }
    if (!waiting) return;
    pending.delete(number);
    idle();
    waiting.resolve({ closing: message, tenants: waiting.tenants, size: waiting.size, number });
  });
  const fail = (error: Error) => {
    if (shared === worker) shared = undefined;
    for (const waiting of pending.values()) waiting.reject(error);
    pending.clear();
  };
  worker.on('error', fail);
  worker.on('exit', (code) => fail(new Error(`the config check stopped before it was done (exit code ${code})`)));
  // After the listeners: adding a 'message' listener refs the worker again.
  worker.unref();
  shared = worker;
  return worker;
}

/** An idle worker does not keep the process alive; one with a check to finish does (`run` refs it). */
function idle(): void {
  if (pending.size === 0) shared?.unref();
}

export function offThreadChecks(): Checks {
  let stopped = false;
  const mine = new Set<number>();

  /** Starts a job: its outcome, and a function that sends the job's (next) message. */
  const start = () => {
    const number = ++jobs;
    const outcome = new Promise<{ closing: Closing; tenants: Tenants; size: number; number: number }>((resolve, reject) => {
      if (stopped) return reject(new Error('the config checks are stopped'));
      mine.add(number);
      const done = () => mine.delete(number);
      pending.set(number, {
        tenants: Object.create(null) as Tenants,
        size: 0,
        resolve: (result) => (done(), resolve(result)),
        reject: (error) => (done(), reject(error)),
      });
      sharedWorker().ref();
    });
    const send = (job: CheckJob) => {
      if (pending.has(number)) sharedWorker().postMessage({ number, job } satisfies Tagged<CheckJob>);
    };
    /** Gives the job up: the worker drops what it was sent, and the outcome is no one's to wait for. */
    const abandon = () => {
      send({ kind: 'entries', values: NO_ENTRIES, last: true, cancelled: true });
      const waiting = pending.get(number);
      pending.delete(number);
      outcome.catch(() => undefined);
      waiting?.reject(new Error('the config check was given up'));
      idle();
    };
    return { outcome, send, abandon };
  };

  const run = (job: CheckJob) => {
    const { outcome, send } = start();
    send(job);
    return outcome;
  };

  return {
    warm() {
      if (!stopped) sharedWorker();
    },
    stop() {
      stopped = true;
      // The worker may still be reading for us: its answer is dropped.
      for (const number of mine) {
        const waiting = pending.get(number);
        pending.delete(number);
        waiting?.reject(new Error('the config checks are stopped'));
      }
      idle();
      return Promise.resolve();
    },
    async file(path, unlessDigest, base) {
      const { closing, tenants, size, number } = await run({ kind: 'file', path, unlessDigest, base });
      switch (closing.type) {
        case 'done': {
          const { bytes, digest } = closing.file ?? { bytes: new Uint8Array(), digest: '' };
          return {
            kind: 'checked',
            tenants,
            size,
            rejected: closing.rejected,
            bytes: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength),
            digest,
            job: number,
            ...(closing.removed && { removed: closing.removed }),
          };
        }
        case 'remembered':
          throw new Error('the config check remembered a file it was asked to send');
        case 'missing':
        case 'unchanged':
          return { kind: closing.type };
        default:
          return { kind: closing.type, reason: closing.reason };
      }
    },
    async remember(path) {
      const { closing, number } = await run({ kind: 'file', path, remember: true });
      return closing.type === 'remembered' ? { job: number, digest: closing.digest } : undefined;
    },
    async entries(batches) {
      const { outcome, send, abandon } = start();
      try {
        for await (const values of batches) send({ kind: 'entries', values, last: false });
      } catch (error) {
        abandon();
        throw error;
      }
      send({ kind: 'entries', values: NO_ENTRIES, last: true });
      const { closing, tenants, size } = await outcome;
      if (closing.type !== 'done') throw new Error(`the config check failed: ${'reason' in closing ? closing.reason : closing.type}`);
      return { tenants, size, rejected: closing.rejected };
    },
  };
}
