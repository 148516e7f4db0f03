import { randomBytes } from 'node:crypto';
import { watch, type FSWatcher } from 'node:fs';
import { open, readdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
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
 * missing file keeps the last good copy in service, and a form post then writes from that copy. Updates
 * take a lock file shared with any other process using the same file, re-read it, and replace it
 * atomically (temp file, fsync, rename), so concurrent form posts — in this process or another — never
 * lose each other's fields, and a crash mid-write never leaves a half-written file.
 */
export async function openFileTenantStore(options: FileTenantStoreOptions): Promise<TenantStore> {
  const store = new FileTenantStore(options);
  await store.load();
  store.watch();
  return store;
}

class FileTenantStore implements TenantStore {
  readonly #path: string;
  readonly #lockPath: string;
  readonly #logger: Logger;
  readonly #lockTimeoutMs: number;
  readonly #staleLockMs: number;
  #tenants: Tenants = Object.create(null) as Tenants;
  #lastText: string | undefined;
  #watcher: FSWatcher | undefined;
  #reloadTimer: NodeJS.Timeout | undefined;
  /** Counts the texts put in service, so that a reload can tell its read was overtaken by a write. */
  #generation = 0;
  /** In-process writes run one after another; the lock file orders them against other processes. */
  #writes: Promise<unknown> = Promise.resolve();

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
    return Object.keys(this.#tenants).length;
  }

  /** The first read: a file that exists but cannot be parsed stops start-up, with the reason. */
  async load(): Promise<void> {
    // The directory is watched and written to (lock, temp files): without it nothing could be saved.
    const folder = await stat(dirname(this.#path)).catch(() => undefined);
    if (!folder?.isDirectory()) throw new Error(`${dirname(this.#path)} (the folder of DOMAINS_FILE) does not exist`);
    const bytes = await this.#read();
    if (bytes === undefined) {
      this.#logger.warn('config file not found: starting with no ids (the first form post creates it)');
      return;
    }
    try {
      this.#accept(bytes.toString('utf8'));
    } catch (error) {
      throw new Error(`${this.#path} cannot be used: ${(error as Error).message}`, { cause: error });
    }
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

  update(id: string, change: TenantChange): Promise<TenantConfig> {
    const write = this.#writes.then(() => this.#locked(() => this.#write(id, change)));
    this.#writes = write.catch(() => undefined);
    return write;
  }

  async close(): Promise<void> {
    this.#watcher?.close();
    clearTimeout(this.#reloadTimer);
    await this.#writes;
  }

  async #reload(): Promise<void> {
    let bytes: Buffer | undefined;
    for (;;) {
      const generation = this.#generation;
      try {
        bytes = await this.#read();
      } catch (error) {
        this.#logger.error({ err: error }, 'config file unreadable: keeping the last good config');
        return;
      }
      // A write of ours put a newer text in service while we read: ours may be older (the reload would
      // bring a saved update's old value back, for good if the write's own reload had already run).
      if (generation === this.#generation) break;
    }
    if (bytes === undefined) {
      // Moved away, as some editors do while saving: its next version is picked up when it appears.
      if (this.#lastText !== undefined) this.#logger.warn('config file is missing: keeping the last good config');
      return;
    }
    const text = bytes.toString('utf8');
    if (text === this.#lastText) return;
    try {
      this.#accept(text);
      this.#logger.info({ ids: this.size() }, 'config reloaded');
    } catch (error) {
      this.#logger.error({ reason: (error as Error).message }, 'config file is broken: keeping the last good config');
    }
  }

  /** Parses the file's text and puts it in service; throws when the file is not a JSON object. */
  #accept(text: string): void {
    const { tenants, rejected } = parseTenants(text);
    for (const { id, reason } of rejected) this.#logger.error({ id, reason }, 'config entry left out');
    this.#tenants = tenants;
    this.#lastText = text;
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
      if (this.#lastText !== undefined) this.#logger.error('config file is missing: writing from the last good config');
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
    this.#accept(text);
    return next;
  }

  /** The last text put in service, whole: entries left out of service too, which may be in no other copy. */
  #lastGood(): Record<string, unknown> {
    return this.#lastText === undefined ? {} : jsonObject(this.#lastText);
  }

  /** Writes the whole file beside the old one and renames it over: readers see the old or the new, never half. */
  async #replace(text: string): Promise<void> {
    const temp = `${this.#path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    const handle = await open(temp, 'w', 0o600);
    try {
      await handle.writeFile(text);
      await handle.sync();
    } finally {
      await handle.close();
    }
    try {
      await rename(temp, this.#path);
    } catch (error) {
      await unlink(temp).catch(() => undefined);
      throw error;
    }
  }

  async #locked<T>(run: () => Promise<T>): Promise<T> {
    const deadline = Date.now() + this.#lockTimeoutMs;
    let tookOver = false;
    for (;;) {
      try {
        const handle = await open(this.#lockPath, 'wx', 0o600);
        await handle.writeFile(String(process.pid));
        await handle.close();
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      if (await this.#lockIsStale()) {
        await unlink(this.#lockPath).catch(() => undefined);
        tookOver = true;
        continue;
      }
      if (Date.now() > deadline) throw new TenantStoreBusyError('the config file is locked by another process; try again');
      await sleep(5 + Math.random() * 20);
    }
    try {
      if (tookOver) await this.#removeDeadTemps();
      return await run();
    } finally {
      await unlink(this.#lockPath).catch(() => undefined);
    }
  }

  /** A writer that died mid-write left its temp file (`domains.json.<pid>.<hex>.tmp`): remove those of dead processes. */
  async #removeDeadTemps(): Promise<void> {
    const prefix = `${basename(this.#path)}.`;
    const names = await readdir(dirname(this.#path)).catch(() => [] as string[]);
    for (const name of names) {
      const pid = name.startsWith(prefix) && name.endsWith('.tmp') ? Number(name.slice(prefix.length).split('.')[0]) : NaN;
      if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid || isAlive(pid)) continue;
      await unlink(resolve(dirname(this.#path), name)).catch(() => undefined);
      this.#logger.warn({ file: name }, 'removed a temp file left by a writer that died');
    }
  }

  /**
   * Left by a process that died (a SIGKILL mid-write), or held far longer than any write takes. A lock
   * that vanished while we looked is not stale: it was released, and unlinking the path now would
   * remove the next holder's lock.
   */
  async #lockIsStale(): Promise<boolean> {
    try {
      const [info, owner] = await Promise.all([stat(this.#lockPath), readFile(this.#lockPath, 'utf8')]);
      if (Date.now() - info.mtimeMs > this.#staleLockMs) return true;
      const pid = Number(owner);
      // Created but its pid not written yet: give the owner a moment.
      if (!Number.isInteger(pid) || pid <= 0) return Date.now() - info.mtimeMs > 1_000;
      process.kill(pid, 0);
      return false;
    } catch (error) {
      return (error as NodeJS.ErrnoException).code === 'ESRCH';
    }
  }
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
