// The worker side of off-thread.ts: reads, parses and validates config away from the event loop that serves
// requests, with the same schema module as everything else, and hands back plain validated entries in
// batches (each one a short task for the main thread to take in). One job at a time, each tagged with its
// number.
import { createHash } from 'node:crypto';
import { readlinkSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { constants, setPriority } from 'node:os';
import { isMainThread, parentPort } from 'node:worker_threads';
import type { CheckJob, CheckMessage, Tagged } from './off-thread.js';
import { checkTenants, parseEntries, type ParsedTenants, type TenantConfig } from './schema.js';

/**
 * From this size on, a check takes long enough (about 20 ms of CPU per MB) to take a core from the event
 * loop that serves requests, on a machine with few: the thread then takes the lowest priority, so that it
 * gets what the process's other threads and the machine's other work leave (at 100 000 ids, with the bench
 * loading both cores: an event-loop delay of at most 10.7–15.0 ms in 4 runs during the change, against
 * 12.3–24.3 at the middle priority, 10, and up to 30 at the process's). For good: without privilege a
 * thread can lower its priority but never raise it again. Smaller configs keep the process's priority, so
 * a busy machine can never starve their reloads; a large one's edit waits for spare CPU, as it should.
 */
const LARGE_CONFIG_BYTES = 4_000_000;
let yielded = false;

/**
 * On Linux a thread's id is a process id to setpriority, which then sets that thread's priority alone;
 * elsewhere (or when not allowed) the check keeps the process's priority.
 */
function yieldToTheEventLoopWhenLarge(bytes: number): void {
  // Only ever the worker's thread: imported anywhere else, this would slow the event loop itself.
  if (yielded || bytes < LARGE_CONFIG_BYTES || isMainThread) return;
  yielded = true;
  try {
    const thread = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (Number.isInteger(thread) && thread > 0) setPriority(thread, constants.priority.PRIORITY_LOW);
  } catch {
    // Not Linux, or not allowed.
  }
}

/** Entries per message: a batch of 100 takes the main thread a few milliseconds to take in on a busy machine. */
const BATCH = 100;

type Post = (message: CheckMessage, transfer?: ArrayBuffer[]) => void;

/**
 * Waits for the main thread to have taken in a job's batch. Without it the batches queue up while the main
 * thread is busy, and Node delivers every queued message in one go: 100 000 entries at once, the very stall
 * this worker is for.
 */
const taken = new Map<number, () => void>();
const untilTaken = (number: number) => new Promise<void>((resolve) => taken.set(number, resolve));

/**
 * At most this many entries changed or removed since the caller's copy are sent as changes to apply in
 * place (a millisecond of the main thread's time); more, and the whole new copy is sent.
 */
const MAX_CHANGES = 10_000;

/**
 * The last file checked: a digest of each entry's JSON text by id, with the reason it was left out if it
 * was, and the job that checked it. A later check of the same file, for a caller that holds that job's outcome (`base`),
 * checks against the schema only the entries whose text changed, and sends only those, with the ids
 * removed. An edit to one id of 100 000 then costs the main thread one entry, not a new copy of every one
 * (and the collections a new copy's garbage brings), and this thread a parse and each entry's text, not
 * a schema check of every entry: about half the time, and so half as long competing with the event loop
 * for the machine's cores. Digests (SHA-256), not the texts: kept from one check to the next, the texts
 * of 100 000 entries (tens of MB) made the stall worse, not better.
 */
let remembered: { path: string; number: number; entries: Map<string, Verdict> } | undefined;

/** An entry as last read: its JSON text's digest, and why it was left out (none: it is in service). */
interface Verdict {
  digest: string;
  reason?: string;
}

/** Entries' JSON texts by id, as they arrive in batches, per job number. */
const arriving = new Map<number, Record<string, unknown>>();
/** The bytes of entries received so far, per job number (a Redis reload's size, as it arrives). */
const receivedBytes = new Map<number, number>();
const decoder = new TextDecoder();

async function run(number: number, job: CheckJob, post: Post): Promise<void> {
  if (job.kind === 'taken') return;
  let parsed: ParsedTenants;
  let file: { bytes: Buffer; digest: string } | undefined;
  let changes: { changed: string[]; removed: string[] } | undefined;
  if (job.kind === 'file') {
    let bytes: Buffer;
    try {
      bytes = await readFile(job.path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return post({ type: 'missing' });
      return post({ type: 'unreadable', reason: (error as Error).message });
    }
    yieldToTheEventLoopWhenLarge(bytes.byteLength);
    const digest = createHash('sha256').update(bytes).digest('hex');
    if (digest === job.unlessDigest) return post({ type: 'unchanged' });
    let data: Record<string, unknown>;
    try {
      data = parseEntries(bytes.toString('utf8'));
    } catch (error) {
      return post({ type: 'broken', reason: (error as Error).message });
    }
    file = { bytes, digest };
    const previous = remembered?.path === job.path && remembered.number === job.base ? remembered.entries : undefined;
    const checked = checkSince(data, previous);
    ({ parsed, changes } = checked);
    remembered = { path: job.path, number, entries: checked.entries };
    if (job.remember) return post({ type: 'remembered', digest });
  } else {
    let values = arriving.get(number);
    if (!values) arriving.set(number, (values = Object.create(null) as Record<string, unknown>));
    const { ids, lengths, bytes } = job.values;
    const received = (receivedBytes.get(number) ?? 0) + bytes.byteLength;
    receivedBytes.set(number, received);
    yieldToTheEventLoopWhenLarge(received);
    let offset = 0;
    for (const [index, id] of ids.entries()) {
      const length = lengths[index] ?? 0;
      const text = decoder.decode(bytes.subarray(offset, offset + length));
      offset += length;
      // Unparseable JSON is kept as its text: checking leaves that one id out, and says why.
      values[id] = parseJson(text) ?? text;
    }
    if (!job.last) return;
    arriving.delete(number);
    receivedBytes.delete(number);
    if (job.cancelled) return;
    parsed = checkTenants(values);
  }
  const entries = changes ? changes.changed.map((id): [string, TenantConfig] => [id, parsed.tenants[id]!]) : Object.entries(parsed.tenants);
  for (let start = 0; start < entries.length; start += BATCH) {
    const next = untilTaken(number);
    post({ type: 'entries', entries: entries.slice(start, start + BATCH) });
    await next;
  }
  if (!file) return post({ type: 'done', rejected: parsed.rejected });
  // The file's bytes move to the main thread rather than being copied, when they own their memory.
  const { bytes, digest } = file;
  const own = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer;
  post(
    { type: 'done', rejected: parsed.rejected, file: { bytes, digest }, ...(changes && { removed: changes.removed }) },
    own ? [bytes.buffer as ArrayBuffer] : [],
  );
}

/**
 * Checks the file's entries: with `previous` (the verdicts of the copy the caller holds), only those whose
 * text changed since, giving the ids to put in service anew and those to take out (gone, or now left out);
 * without it, or when more changed than can be applied in place, every entry, for a whole new copy.
 */
function checkSince(
  data: Record<string, unknown>,
  previous: Map<string, Verdict> | undefined,
): { parsed: ParsedTenants; changes?: { changed: string[]; removed: string[] }; entries: Map<string, Verdict> } {
  const digests = new Map<string, string>();
  for (const id of Object.keys(data)) digests.set(id, createHash('sha256').update(JSON.stringify(data[id])).digest('base64'));
  const verdicts = (checked: ParsedTenants, kept: Map<string, Verdict> | undefined) => {
    const reasons = new Map(checked.rejected.map(({ id, reason }) => [id, reason]));
    const entries = new Map<string, Verdict>();
    for (const [id, digest] of digests) {
      const reason = kept?.get(id)?.digest === digest ? kept.get(id)!.reason : reasons.get(id);
      entries.set(id, reason === undefined ? { digest } : { digest, reason });
    }
    return entries;
  };
  if (previous) {
    const edited: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
    let count = 0;
    for (const [id, digest] of digests) {
      if (previous.get(id)?.digest === digest) continue;
      edited[id] = data[id];
      count += 1;
    }
    const inService = (id: string) => previous.has(id) && previous.get(id)!.reason === undefined;
    const gone = [...previous.keys()].filter((id) => !digests.has(id) && inService(id));
    // Decided before checking, so that a large edit is checked once, whole: what is sent and removed can
    // only be among the entries edited or gone.
    if (count + gone.length <= MAX_CHANGES) {
      const checked = checkTenants(edited);
      const entries = verdicts(checked, previous);
      // Edited into an entry the schema refuses: out of service, as a whole reload would leave it.
      const removed = [...gone, ...checked.rejected.map(({ id }) => id).filter(inService)];
      const rejected = [...entries].flatMap(([id, { reason }]) => (reason === undefined ? [] : [{ id, reason }]));
      return { parsed: { tenants: checked.tenants, rejected }, changes: { changed: Object.keys(checked.tenants), removed }, entries };
    }
  }
  const parsed = checkTenants(data);
  return { parsed, entries: verdicts(parsed, undefined) };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** Jobs run one after another: the store asks for one at a time, and batches of two jobs must not mix. */
let queue: Promise<void> = Promise.resolve();
parentPort?.on('message', ({ job, number }: Tagged<CheckJob>) => {
  // Not queued behind the job it unblocks.
  if (job.kind === 'taken') {
    taken.get(number)?.();
    taken.delete(number);
    return;
  }
  const post: Post = (message, transfer = []) => parentPort?.postMessage({ number, job: message } satisfies Tagged<CheckMessage>, transfer);
  queue = queue.then(() =>
    run(number, job, post).catch((error: unknown) => post({ type: 'unreadable', reason: (error as Error).message })),
  );
});
