import { createHash, randomBytes } from 'node:crypto';
import { watch, type BigIntStats, type FSWatcher } from 'node:fs';
import { open, readdir, readFile, rename, stat, unlink, writeFile, type FileHandle } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import { offThreadChecks, type Checks } from './off-thread.js';
import { parseTenants, tenantSchema, type TenantConfig, type Tenants } from './schema.js';
import { TenantStoreBusyError, type TenantChange, type TenantStore } from './store.js';

export interface FileTenantStoreOptions {
  /** The `domains.json` file. It need not exist yet: the first update creates it. */
  path: string;
  logger: Logger;
  /** How long an update waits for another process's lock before giving up. Default 5 s. */
  lockTimeoutMs?: number;
  /** A lock older than this is taken to be left by a crashed process. Default 10 s. */
  staleLockMs?: number;
}

/**
 * `domains.json` as a store. The file is read once and again only when it changes on disk; a broken or
 * missing file keeps the last good copy in service, and a form post then writes from that copy. Start-up
 * reads it on the main thread (nothing is served yet; the time is logged); every later read is parsed and
 * validated in a worker thread (at the lowest priority for a large file), and what changed is applied in one go (or, for a
 * large change, a new copy built in small steps and swapped in whole), so a change never stalls requests. Updates
 * take a lock file shared with any other process using the same file, re-read it, and replace it
 * atomically (temp file, fsync, rename), so concurrent form posts — in this process or another — never
 * lose each other's fields, and a crash mid-write never leaves a half-written file.
 */
export async function openFileTenantStore(options: FileTenantStoreOptions): Promise<TenantStore> {
  const store = new FileTenantStore(options);
  await store.load();
  store.watch();
  store.warm();
  return store;
}

class FileTenantStore implements TenantStore {
  readonly #path: string;
  readonly #lockPath: string;
  readonly #logger: Logger;
  readonly #lockTimeoutMs: number;
  readonly #staleLockMs: number;
  #tenants: Tenants = Object.create(null) as Tenants;
  /** How many ids `#tenants` holds, kept rather than counted: 100 000 keys take milliseconds to count. */
  #size = 0;
  /** The last text put in service, as read or written: a form post writes from it when the file is broken or gone. */
  #lastBytes: Buffer | undefined;
  /** Its SHA-256, when known: a reload that reads the same bytes again has nothing to do. */
  #lastDigest: string | undefined;
  #watcher: FSWatcher | undefined;
  #reloadTimer: NodeJS.Timeout | undefined;
  /** Counts the copies put in service, so that a reload can tell its read was overtaken by a write. */
  #generation = 0;
  /**
   * The worker's check whose outcome `#tenants` is, nothing written since: the next check may then send
   * only the entries that changed, applied in place (see check-worker.ts).
   */
  #heldJob: number | undefined;
  readonly #checks: Checks = offThreadChecks();
  /** The reload in progress (one at a time), and whether another must follow it. */
  #reloading: Promise<void> | undefined;
  #reloadAgain = false;
  #closed = false;
  /** In-process writes run one after another; the lock file orders them against other processes. */
  #writes: Promise<unknown> = Promise.resolve();
  /** What this store wrote into the lock file while it holds it: tells its lock from another process's. */
  #held: string | undefined;

  constructor(options: FileTenantStoreOptions) {
    this.#path = resolve(options.path);
    this.#lockPath = `${this.#path}.lock`;
    this.#logger = options.logger.child({ store: 'file', file: this.#path });
    this.#lockTimeoutMs = options.lockTimeoutMs ?? 5_000;
    this.#staleLockMs = options.staleLockMs ?? 10_000;
  }

  get(id: string): TenantConfig | undefined {
    return Object.hasOwn(this.#tenants, id) ? this.#tenants[id] : undefined;
  }

  size(): number {
    return this.#size;
  }

  ids(): string[] {
    return Object.keys(this.#tenants);
  }

  /** The first read: a file that exists but cannot be parsed stops start-up, with the reason. */
  async load(): Promise<void> {
    // The directory is watched and written to (lock, temp files): without it nothing could be saved.
    const folder = await stat(dirname(this.#path)).catch(() => undefined);
    if (!folder?.isDirectory()) throw new Error(`${dirname(this.#path)} (the folder of DOMAINS_FILE) does not exist`);
    const started = performance.now();
    const bytes = await this.#read();
    if (bytes === undefined) {
      this.#logger.warn('config file not found: starting with no ids (the first form post creates it)');
      return;
    }
    let parsed;
    try {
      parsed = parseTenants(bytes.toString('utf8'));
    } catch (error) {
      throw new Error(`${this.#path} cannot be used: ${(error as Error).message}`, { cause: error });
    }
    this.#accept({ ...parsed, size: Object.keys(parsed.tenants).length, bytes, digest: createHash('sha256').update(bytes).digest('hex') });
    this.#logger.info({ ids: this.size(), ms: Math.round(performance.now() - started) }, 'config loaded');
  }

  /**
   * Starts the worker that reads later changes, so that the first one does not wait for it to load, and
   * has it remember the file read at start-up: the first change is then sent as changes too. Kept only if
   * the worker read the same bytes and nothing was put in service meanwhile.
   */
  warm(): void {
    this.#checks.warm();
    if (this.#lastDigest === undefined) return;
    const generation = this.#generation;
    void this.#checks
      .remember(this.#path)
      .then((remembered) => {
        if (remembered && generation === this.#generation && remembered.digest === this.#lastDigest) this.#heldJob = remembered.job;
      })
      // Stopped or failed: the next change is sent whole.
      .catch(() => undefined);
  }

  watch(): void {
    // The directory is watched, not the file: an atomic replace gives the path a new inode.
    const file = basename(this.#path);
    this.#watcher = watch(dirname(this.#path), { persistent: false }, (_event, name) => {
      if (name !== null && name !== file) return;
      clearTimeout(this.#reloadTimer);
      this.#reloadTimer = setTimeout(() => void this.#reload(), 20);
    });
    this.#watcher.on('error', (error) => this.#logger.error({ err: error }, 'config file watch failed'));
  }

  async update(id: string, change: TenantChange): Promise<TenantConfig> {
    const write = this.#writes.then(() => this.#locked(() => this.#write(id, change)));
    this.#writes = write.catch(() => undefined);
    const next = await write;
    // The file written holds every other writer's entries as read under the lock: the whole copy follows
    // it, read off the main thread (the entry written is in service already).
    void this.#reload(true);
    return next;
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#watcher?.close();
    clearTimeout(this.#reloadTimer);
    await this.#writes;
    await this.#checks.stop();
    await this.#reloading?.catch(() => undefined);
  }

  /**
   * Reads the file again (in a worker) and puts it in service, once the reload in progress, if any, is
   * done: it may have read before the change that asked for this one. `whole`: even if its bytes are the
   * ones last put in service (after a write of ours, whose copy holds only the entry written).
   */
  #reload(whole = false): Promise<void> {
    this.#reloadAgain = true;
    this.#reloadWhole ||= whole;
    this.#reloading ??= this.#reloadUntilDone().finally(() => {
      this.#reloading = undefined;
    });
    return this.#reloading;
  }

  #reloadWhole = false;

  async #reloadUntilDone(): Promise<void> {
    while (this.#reloadAgain && !this.#closed) {
      this.#reloadAgain = false;
      const whole = this.#reloadWhole;
      this.#reloadWhole = false;
      try {
        await this.#reloadOnce(whole);
      } catch (error) {
        if (this.#closed) return;
        this.#logger.error({ reason: (error as Error).message }, 'config reload failed: keeping the last good config');
      }
    }
  }

  async #reloadOnce(whole: boolean): Promise<void> {
    let check;
    for (;;) {
      const generation = this.#generation;
      check = await this.#checks.file(this.#path, whole ? undefined : this.#lastDigest, whole ? undefined : this.#heldJob);
      // A write of ours put a newer copy in service while the worker read: its read may be older (the
      // reload would bring a saved update's old value back, for good if the write's own reload had run).
      if (generation === this.#generation) break;
      whole = true;
    }
    switch (check.kind) {
      case 'unchanged':
        return;
      case 'missing':
        // Moved away, as some editors do while saving: its next version is picked up when it appears.
        if (this.#lastBytes !== undefined) this.#logger.warn('config file is missing: keeping the last good config');
        return;
      case 'unreadable':
        this.#logger.error({ reason: check.reason }, 'config file unreadable: keeping the last good config');
        return;
      case 'broken':
        this.#logger.error({ reason: check.reason }, 'config file is broken: keeping the last good config');
        return;
      case 'checked':
        this.#accept(check);
        this.#logger.info({ ids: this.size() }, 'config reloaded');
    }
  }

  /**
   * Puts a checked copy of the file in service: whole, or (`removed` given) as the entries changed since
   * the copy in service and the ids removed, applied in place in one go, so no request sees half of it.
   */
  #accept(checked: {
    tenants: Tenants;
    size: number;
    rejected: { id: string; reason: string }[];
    bytes: Buffer;
    digest: string;
    job?: number;
    removed?: string[];
  }): void {
    for (const { id, reason } of checked.rejected) this.#logger.error({ id, reason }, 'config entry left out');
    if (checked.removed) {
      for (const id of checked.removed) {
        if (Object.hasOwn(this.#tenants, id)) this.#size -= 1;
        delete this.#tenants[id];
      }
      for (const id in checked.tenants) {
        if (!Object.hasOwn(this.#tenants, id)) this.#size += 1;
        this.#tenants[id] = checked.tenants[id]!;
      }
    } else {
      this.#tenants = checked.tenants;
      this.#size = checked.size;
    }
    this.#heldJob = checked.job;
    this.#lastBytes = checked.bytes;
    this.#lastDigest = checked.digest;
    this.#generation += 1;
  }

  async #read(): Promise<Buffer | undefined> {
    try {
      return await readFile(this.#path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  async #write(id: string, change: TenantChange): Promise<TenantConfig> {
    // Another process may have written since our last read: start from what is on disk now.
    const onDisk = await this.#read();
    let all: Record<string, unknown>;
    if (onDisk === undefined) {
      // Gone after it was read (moved away mid-edit, deleted by mistake): starting from empty would drop
      // every other id. Never read: a fresh deployment, and this post creates the file.
      if (this.#lastBytes !== undefined) this.#logger.error('config file is missing: writing from the last good config');
      all = this.#lastGood();
    } else {
      try {
        all = jsonObject(onDisk.toString('utf8'));
      } catch (error) {
        // A hand edit broke the file. Keep it beside for the operator (byte for byte, as private as the
        // file, never over an earlier copy), and write from the last good copy.
        const kept = `${this.#path}.broken-${Date.now()}`;
        await writeFile(kept, onDisk, { flag: 'wx', mode: 0o600 });
        this.#logger.error({ reason: (error as Error).message, kept }, 'config file was broken: writing from the last good config');
        all = this.#lastGood();
      }
    }
    const current = Object.hasOwn(all, id) ? tenantSchema.safeParse(all[id]) : undefined;
    const next = tenantSchema.parse(change(current?.success ? (current.data as TenantConfig) : undefined)) as TenantConfig;
    all[id] = next;
    const text = `${JSON.stringify(all, null, 2)}\n`;
    await this.#replace(text);
    // Served at once; the rest of the file written follows in `update`, read off the main thread.
    if (!Object.hasOwn(this.#tenants, id)) this.#size += 1;
    this.#tenants[id] = next;
    this.#lastBytes = Buffer.from(text, 'utf8');
    this.#lastDigest = undefined;
    this.#heldJob = undefined;
    this.#generation += 1;
    return next;
  }

  /** The last text put in service, whole: entries left out of service too, which may be in no other copy. */
  #lastGood(): Record<string, unknown> {
    return this.#lastBytes === undefined ? {} : jsonObject(this.#lastBytes.toString('utf8'));
  }

  /** Writes the whole file beside the old one and renames it over: readers see the old or the new, never half. */
  async #replace(text: string): Promise<void> {
    const temp = this.#tempPath();
    const handle = await open(temp, 'w', 0o600);
    try {
      await handle.writeFile(text);
      await handle.sync();
    } finally {
      await handle.close();
    }
    try {
      // Held past the stale time (a frozen process, a hung fsync), our lock may have been taken over:
      // renaming now could undo the new holder's write.
      if (!(await this.#holdsLock())) {
        this.#logger.error('the config file lock was taken over while this write ran: the write was dropped');
        throw new TenantStoreBusyError('the config file lock was taken over by another process; try again');
      }
      await rename(temp, this.#path);
    } catch (error) {
      await unlink(temp).catch(() => undefined);
      throw error;
    }
  }

  /** `domains.json.<pid>.<hex>.tmp`: the pid tells whether a writer that left one behind is still running. */
  #tempPath(): string {
    return `${this.#path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  }

  /**
   * Runs `run` holding `domains.json.lock`, which orders writes between processes: a file created
   * exclusively (O_EXCL), holding its owner's pid and a random token. A lock whose owner died, or older
   * than staleLockMs, is taken over (see #takeOver).
   */
  async #locked<T>(run: () => Promise<T>): Promise<T> {
    const deadline = Date.now() + this.#lockTimeoutMs;
    let tookOverFrom: Holder | undefined;
    for (;;) {
      this.#held = await this.#create(this.#lockPath);
      if (this.#held !== undefined) break;
      const holder = await this.#inspect(this.#lockPath);
      if (holder?.stale) {
        this.#held = await this.#takeOver(this.#lockPath, holder);
        if (this.#held !== undefined) {
          tookOverFrom = holder;
          break;
        }
      }
      if (Date.now() > deadline) throw new TenantStoreBusyError('the config file is locked by another process; try again');
      await sleep(5 + Math.random() * 20);
    }
    try {
      if (tookOverFrom !== undefined) {
        this.#logger.warn(
          { owner: tookOverFrom.pid },
          'took over the config file lock of a process that died or held it past the stale time',
        );
        await this.#removeLeftovers();
      }
      return await run();
    } finally {
      await this.#removeIfOurs(this.#lockPath, this.#held);
      this.#held = undefined;
    }
  }

  /**
   * Replaces `file` — the lock, or a claim left by a taker that died — with a file of ours, if it is still
   * the very file judged stale. Returns what we wrote into it, or undefined when it is not ours to take.
   *
   * Why two takers cannot both win, nor one remove the fresh lock of another ("is it stale? then unlink
   * it" can: a slow taker unlinks the lock a faster one just created, and two writers run at once):
   * - A taker first creates, exclusively, a claim named after the key of the file it judged stale (its
   *   inode, modification time and content, which holds a random token: a file created later never has the
   *   same key). One process at a time holds a given claim.
   * - Holding it, the taker checks the file still has that key and renames a file of its own over it. A file
   *   with that key changes only by its owner (dead) or by the claim's holder, so the check still holds at
   *   the rename: the rename replaces the stale file and nothing else, and never leaves the path free for a
   *   third process in between.
   * - A loser finds the claim taken (and waits), or gets it once the winner is done and finds the key
   *   changed (and waits).
   * - A taker killed while holding a claim leaves it with a dead pid: the claim is taken over the same way.
   * No lock file can tell an owner frozen past staleLockMs from a dead one: such an owner finds before its
   * rename that the lock is no longer its own, and drops its write (#replace).
   */
  async #takeOver(file: string, judged: Holder): Promise<string | undefined> {
    const claim = `${this.#lockPath}.takeover-${judged.key}`;
    let claimed = await this.#create(claim);
    if (claimed === undefined) {
      const claimant = await this.#inspect(claim);
      if (!claimant?.stale) return undefined;
      claimed = await this.#takeOver(claim, claimant);
      if (claimed === undefined) return undefined;
    }
    try {
      if ((await this.#inspect(file))?.key !== judged.key) return undefined;
      const ours = ownerText();
      const temp = this.#tempPath();
      await writeFile(temp, ours, { flag: 'wx', mode: 0o600 });
      try {
        await rename(temp, file);
      } catch (error) {
        await unlink(temp).catch(() => undefined);
        throw error;
      }
      return ours;
    } finally {
      await this.#removeIfOurs(claim, claimed);
    }
  }

  /** Creates `file` exclusively, holding our pid and a fresh token; returns that text, or undefined when the file exists. */
  async #create(file: string): Promise<string | undefined> {
    const text = ownerText();
    try {
      await writeFile(file, text, { flag: 'wx', mode: 0o600 });
      return text;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') return undefined;
      throw error;
    }
  }

  /**
   * A lock or claim file as it is now, or undefined when it is gone. Stale: left by a process that died
   * (a SIGKILL mid-write), or held far longer than any write takes. Read through one handle, so that the
   * key and the content belong to the same file.
   */
  async #inspect(file: string): Promise<Holder | undefined> {
    let handle: FileHandle;
    try {
      handle = await open(file, 'r');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    try {
      const info = await handle.stat({ bigint: true });
      const content = await handle.readFile('utf8');
      const age = Date.now() - Number(info.mtimeMs);
      const pid = Number(content.split('\n', 1)[0]);
      const known = Number.isInteger(pid) && pid > 0;
      // Created but its pid not written yet: give the owner a moment.
      const stale = age > this.#staleLockMs || (known ? !isAlive(pid) : age > 1_000);
      return { key: lockKey(info, content), pid: known ? pid : undefined, stale };
    } finally {
      await handle.close();
    }
  }

  async #holdsLock(): Promise<boolean> {
    return this.#held !== undefined && (await readFile(this.#lockPath, 'utf8').catch(() => undefined)) === this.#held;
  }

  /** Removes `file` if it still holds what we wrote into it: one taken over from us is another's now. */
  async #removeIfOurs(file: string, text: string | undefined): Promise<void> {
    if (text === undefined || (await readFile(file, 'utf8').catch(() => undefined)) !== text) return;
    await unlink(file).catch(() => undefined);
  }

  /**
   * After a takeover: the temp files of writers that died mid-write, and claims left by takers that died.
   * A claim names one lock file; now that we hold the lock, all but claims on ours are obsolete (a taker
   * still holding one finds the key changed and gives up).
   */
  async #removeLeftovers(): Promise<void> {
    const dir = dirname(this.#path);
    const temps = `${basename(this.#path)}.`;
    const claims = `${basename(this.#lockPath)}.takeover-`;
    const ours = (await this.#inspect(this.#lockPath))?.key;
    for (const name of await readdir(dir).catch(() => [] as string[])) {
      if (name.startsWith(claims)) {
        if (name === `${claims}${ours}`) continue;
        await unlink(resolve(dir, name)).catch(() => undefined);
        this.#logger.warn({ file: name }, 'removed an obsolete lock takeover claim');
        continue;
      }
      const pid = name.startsWith(temps) && name.endsWith('.tmp') ? Number(name.slice(temps.length).split('.')[0]) : NaN;
      if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid || isAlive(pid)) continue;
      await unlink(resolve(dir, name)).catch(() => undefined);
      this.#logger.warn({ file: name }, 'removed a temp file left by a writer that died');
    }
  }
}

/** A lock or takeover claim file, as read by #inspect. */
interface Holder {
  key: string;
  /** The owner's pid, when the file holds one. */
  pid: number | undefined;
  stale: boolean;
}

/**
 * Names one lock or claim file as it is now: its inode, modification time and content (ours hold a random
 * token), so that no file created later has the same key. Takeover claims are named after it.
 */
export function lockKey(info: BigIntStats, content: string): string {
  return createHash('sha256').update(`${info.ino}:${info.mtimeNs}:${content}`).digest('hex').slice(0, 32);
}

/** What a lock or claim of this process holds: the pid first (as an operator's `echo $$ > domains.json.lock` does), then a token no other file has. */
function ownerText(): string {
  return `${process.pid}\n${randomBytes(16).toString('hex')}\n`;
}

/** The file's JSON, which must be an object keyed by id. */
function jsonObject(text: string): Record<string, unknown> {
  const parsed: unknown = JSON.parse(text);
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not a JSON object');
  return parsed as Record<string, unknown>;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}
