import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { closeRedis, untilReady, watchState } from '../redis.js';
import { entryBatch, offThreadChecks, type Checks, type EntryBatch } from './off-thread.js';
import { checkTenants, tenantSchema, type TenantConfig, type Tenants } from './schema.js';
import { TenantStoreBusyError, type TenantChange, type TenantStore } from './store.js';

export interface RedisTenantStoreOptions {
  /**
   * A connection for reads; not closed by the store. The store opens two of its own: one for pub/sub, and
   * one for its WATCH/MULTI updates — a transaction anyone else runs on a shared connection (the rate
   * limiters do) would clear the WATCH and turn an update into a blind overwrite.
   */
  redis: Redis;
  logger: Logger;
  /** Namespace of every key, so several deployments can share one Redis. Default `beckon:`. */
  prefix?: string;
}

/**
 * The keys: one string per id holding its JSON (so concurrent updates to different ids never conflict),
 * a set of the ids, a channel announcing each change (an id, or `*` for "reload everything"), and a
 * marker saying "this Redis holds Beckon's config" (a random value, new with every bulk write). Without
 * the marker, a Redis facing instances that hold ids has lost its data: restarted without persistence,
 * or flushed. With it, Redis is the truth: an id absent there was removed on purpose.
 */
export function redisKeys(prefix = 'beckon:') {
  return {
    ids: `${prefix}tenant-ids`,
    tenant: (id: string) => `${prefix}tenant:${id}`,
    changes: `${prefix}tenant-changes`,
    marker: `${prefix}config-epoch`,
  };
}

/**
 * `stale` from the moment this instance may have missed a change (its subscription dropped, or reading a
 * change failed) until a full reload started afterwards succeeds; `fresh` otherwise.
 */
export type ConfigState = 'fresh' | 'stale';

/** How often an update is retried when another instance changed the same id between read and write. */
const MAX_ATTEMPTS = 20;

/** A failed full reload is retried after this long, doubling up to `RELOAD_RETRY_MAX_MS`. */
const RELOAD_RETRY_FIRST_MS = 100;
const RELOAD_RETRY_MAX_MS = 2_000;

const newMarker = () => randomUUID();

/**
 * Per-id config in Redis, for several instances. Every instance serves from an in-memory copy, loaded
 * at start and refreshed by pub/sub on every change (and in full after a reconnect, for changes it
 * missed, retried until it succeeds), so requests never wait on Redis and keep being served through an
 * outage. Updates are optimistic transactions (WATCH/MULTI) on the id's key, so concurrent form posts
 * never lose a field. A Redis that lost its data is re-seeded from the memory of the first instance to
 * notice, so neither an update nor a reload shrinks anyone's config to what Redis happens to hold.
 */
export async function openRedisTenantStore(options: RedisTenantStoreOptions): Promise<TenantStore & { state(): ConfigState }> {
  const store = new RedisTenantStore(options);
  await store.open();
  return store;
}

class RedisTenantStore implements TenantStore {
  readonly #redis: Redis;
  readonly #subscriber: Redis;
  readonly #writer: Redis;
  readonly #logger: Logger;
  readonly #keys: ReturnType<typeof redisKeys>;
  #tenants: Tenants = Object.create(null) as Tenants;
  /** In-process updates run one after another: WATCH belongs to the connection, not to a call. */
  #writes: Promise<unknown> = Promise.resolve();
  #connectedOnce = false;
  /** Aborted by `close`: ends the reload's retries. */
  readonly #closing = new AbortController();
  /** The full reload in progress, with its retries. */
  #reloading: Promise<void> | undefined;
  /** A reload was asked for: the one in progress reads once more, since it may have read before the change. */
  #reloadAgain = false;
  /** How many times this copy may have missed a change; a reload clears `stale` only if none happened meanwhile. */
  #misses = 0;
  #stale = false;
  /** Full reads are checked in a worker thread: at 100 000 ids, on the main thread they would stall requests. */
  readonly #checks: Checks = offThreadChecks();
  /** Ids whose change was applied while a full reload read: applied again after it, which may have read before. */
  #changedDuringReload: Set<string> | undefined;

  constructor(options: RedisTenantStoreOptions) {
    this.#redis = options.redis;
    this.#logger = options.logger.child({ store: 'redis' });
    this.#keys = redisKeys(options.prefix);
    this.#subscriber = this.#redis.duplicate({ lazyConnect: true });
    this.#writer = this.#redis.duplicate({ lazyConnect: true });
    watchState(this.#subscriber, this.#logger);
    watchState(this.#writer, this.#logger);
  }

  async open(): Promise<void> {
    this.#subscriber.on('message', (_channel: string, id: string) => (id === '*' ? this.#reload() : void this.#refresh(id)));
    // Changes published while the subscription is down are missed: reload them all once it is back.
    this.#subscriber.on('close', () => {
      if (this.#connectedOnce) this.#missed();
    });
    this.#subscriber.on('ready', () => {
      if (this.#connectedOnce) this.#reload();
      this.#connectedOnce = true;
    });
    try {
      await Promise.all([this.#subscriber.connect(), this.#writer.connect()]);
      await this.#subscriber.subscribe(this.#keys.changes);
      this.#checks.warm();
      const { marker, tenants } = await this.#readAll();
      // Written by a version without the marker: adopted, so that a loss of it later is noticed.
      if (marker == null && Object.keys(tenants).length > 0) await this.#writer.set(this.#keys.marker, newMarker(), 'NX');
      this.#tenants = tenants;
    } catch (error) {
      await Promise.all([closeRedis(this.#subscriber), closeRedis(this.#writer)]);
      throw error;
    }
    this.#logger.info({ ids: this.size() }, 'config loaded from Redis');
  }

  get(id: string): TenantConfig | undefined {
    return Object.hasOwn(this.#tenants, id) ? this.#tenants[id] : undefined;
  }

  size(): number {
    return Object.keys(this.#tenants).length;
  }

  ids(): string[] {
    return Object.keys(this.#tenants);
  }

  state(): ConfigState {
    return this.#stale ? 'stale' : 'fresh';
  }

  update(id: string, change: TenantChange): Promise<TenantConfig> {
    return this.#serialized(() => this.#write(id, change));
  }

  async close(): Promise<void> {
    this.#closing.abort();
    await this.#checks.stop();
    await this.#reloading;
    await this.#writes;
    await Promise.all([closeRedis(this.#subscriber), closeRedis(this.#writer)]);
  }

  /** Runs `task` on the writer connection after everything queued there before it. */
  #serialized<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#writes.then(task);
    this.#writes = run.catch(() => undefined);
    return run;
  }

  async #write(id: string, change: TenantChange): Promise<TenantConfig> {
    const key = this.#keys.tenant(id);
    /** What the change itself threw (an invalid config): passed on as is, never mistaken for an outage. */
    let refused: unknown;
    try {
      for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt += 1) {
        // The marker too: Redis losing its data between this read and the write aborts the write, which
        // would otherwise be the only entry in an empty Redis.
        await this.#writer.watch(key, this.#keys.marker);
        const [stored, marker] = await this.#writer.mget(key, this.#keys.marker);
        if (marker == null && this.size() > 0) {
          // Redis lost its data: this copy goes back first, so the change applies to the entry as it was.
          await this.#writer.unwatch();
          await this.#reseed();
          continue;
        }
        // A value that is not valid JSON (a hand edit gone wrong) is started afresh, like a new id.
        const current = stored == null ? undefined : tenantSchema.safeParse(parseJson(stored));
        let next: TenantConfig;
        try {
          next = tenantSchema.parse(change(current?.success ? (current.data as TenantConfig) : undefined)) as TenantConfig;
        } catch (error) {
          refused = error;
          await this.#writer.unwatch();
          throw error;
        }
        const transaction = this.#writer.multi().set(key, JSON.stringify(next)).sadd(this.#keys.ids, id);
        // Nothing in Redis and nothing here: a new deployment, whose first write marks Redis as the holder.
        if (marker == null) transaction.set(this.#keys.marker, newMarker());
        const committed = await transaction.publish(this.#keys.changes, id).exec();
        // null: another instance wrote this id after our WATCH; read it again and re-apply the change.
        if (committed !== null) {
          this.#tenants[id] = next;
          return next;
        }
        await sleep(Math.random() * 5 * attempt);
      }
      throw new TenantStoreBusyError(`the config of ${id} kept changing under this update; try again`);
    } catch (error) {
      if (error === refused || error instanceof TenantStoreBusyError) throw error;
      this.#logger.error({ reason: (error as Error).message, id }, 'config update failed: Redis unavailable');
      throw new TenantStoreBusyError('the config store (Redis) is unavailable; try again', { cause: error });
    }
  }

  /**
   * Redis lost its data (restarted without persistence, or flushed) while this instance holds ids: puts
   * them back, unless another instance did first (the marker is back). Entries written since are kept.
   * Runs on the writer connection, inside the update queue.
   */
  async #reseed(): Promise<void> {
    await this.#writer.watch(this.#keys.marker);
    if ((await this.#writer.exists(this.#keys.marker)) === 1 || this.size() === 0) {
      await this.#writer.unwatch();
      return;
    }
    const transaction = this.#writer.multi();
    for (const [id, config] of Object.entries(this.#tenants))
      transaction.set(this.#keys.tenant(id), JSON.stringify(config), 'NX').sadd(this.#keys.ids, id);
    const results = await transaction.set(this.#keys.marker, newMarker()).publish(this.#keys.changes, '*').exec();
    // null: another instance set the marker first; what it put back is Redis's config now.
    if (results === null) return;
    const failed = results.find(([error]) => error);
    if (failed) throw failed[0];
    this.#logger.error({ ids: this.size() }, "Redis lost its config: re-seeded it from this instance's memory");
  }

  /** Applies one announced change. A failure keeps the copy in service and reloads it all as soon as Redis answers. */
  async #refresh(id: string): Promise<void> {
    try {
      const [stored, marker] = await this.#redis.mget(this.#keys.tenant(id), this.#keys.marker);
      // Redis lost its data since this copy was loaded: the full reload puts it back first.
      if (marker == null && this.size() > 0) {
        this.#reload();
        return;
      }
      const { tenants, rejected } = checkTenants(stored == null ? {} : { [id]: parseJson(stored) });
      for (const { reason } of rejected) this.#logger.error({ id, reason }, 'config entry left out');
      if (tenants[id]) this.#tenants[id] = tenants[id];
      else delete this.#tenants[id];
      this.#changedDuringReload?.add(id);
    } catch (error) {
      this.#logger.error({ reason: (error as Error).message, id }, 'config refresh failed: keeping the copy in memory until a full reload');
      this.#missed();
      this.#reload();
    }
  }

  /** This copy may lack a change from now on. */
  #missed(): void {
    this.#misses += 1;
    this.#stale = true;
  }

  /** Reloads everything: now, or once more after the reload in progress. */
  #reload(): void {
    this.#reloadAgain = true;
    this.#reloading ??= this.#reloadUntilDone().finally(() => {
      this.#reloading = undefined;
    });
  }

  /**
   * Tries until a reload succeeds or the store closes. After a reconnect the read connection may not be
   * back yet (each connection reconnects on its own schedule, and it refuses commands until then): each
   * try waits for it, and a failure is tried again after a pause that doubles up to 2 s.
   */
  async #reloadUntilDone(): Promise<void> {
    const signal = this.#closing.signal;
    let pause = RELOAD_RETRY_FIRST_MS;
    let failures = 0;
    while (this.#reloadAgain && !signal.aborted) {
      this.#reloadAgain = false;
      const misses = this.#misses;
      try {
        await untilReady(this.#redis, signal);
        await this.#reloadOnce();
        if (this.#misses === misses) this.#stale = false;
        pause = RELOAD_RETRY_FIRST_MS;
        failures = 0;
      } catch (error) {
        if (signal.aborted) return;
        // Once per run of failures: Redis answering nothing but errors must not flood the journal.
        if (failures === 0)
          this.#logger.error({ reason: (error as Error).message }, 'config reload failed: serving the copy in memory and retrying');
        failures += 1;
        this.#missed();
        this.#reloadAgain = true;
        await sleep(pause, undefined, { signal }).catch(() => undefined);
        pause = Math.min(pause * 2, RELOAD_RETRY_MAX_MS);
      }
    }
  }

  /** Replaces the copy with what Redis holds, after putting the copy back if Redis lost its data. */
  async #reloadOnce(): Promise<void> {
    const changed = (this.#changedDuringReload = new Set());
    try {
      let { marker, tenants } = await this.#readAll();
      if (marker == null && this.size() > 0) {
        await this.#serialized(() => this.#reseed());
        ({ marker, tenants } = await this.#readAll());
        if (marker == null) throw new Error('Redis lost its config again while it was being re-seeded');
      }
      this.#tenants = tenants;
    } finally {
      this.#changedDuringReload = undefined;
    }
    // Announced while the reload read: the copy just swapped in may predate them.
    for (const id of changed) void this.#refresh(id);
    this.#logger.info({ ids: this.size() }, 'config reloaded from Redis');
  }

  /**
   * Every valid entry, and the marker. Read between two readings of the marker, which every bulk write
   * (an import, a re-seed) changes: data caught half-flushed or half-imported is read again, never taken
   * for the truth.
   */
  async #readAll(): Promise<{ marker: string | null; tenants: Tenants }> {
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt += 1) {
      const marker = await this.#redis.get(this.#keys.marker);
      const { tenants, rejected } = await this.#checks.entries(rawBatches(this.#redis, this.#keys));
      if ((await this.#redis.get(this.#keys.marker)) !== marker) continue;
      for (const { id, reason } of rejected) this.#logger.error({ id, reason }, 'config entry left out');
      return { marker, tenants };
    }
    throw new Error('the config in Redis kept being replaced while it was read');
  }
}

/** Ids read, and their entries fetched, per round trip of a full read: each reply is a short task to parse. */
const READ_BATCH = 1_000;

/**
 * Every id's stored JSON as bytes, a batch at a time (SSCAN, then MGET): a full read at 100 000 ids in
 * replies small enough that none holds up the event loop; the entries go to the worker as they come.
 * SSCAN returns every id present for the whole scan (some twice: the later copy wins); the marker read
 * around the whole catches bulk writes meanwhile, and pub/sub the single changes.
 */
async function* rawBatches(redis: Redis, keys: ReturnType<typeof redisKeys>): AsyncGenerator<EntryBatch> {
  let cursor = '0';
  do {
    const [next, ids] = await redis.sscan(keys.ids, cursor, 'COUNT', READ_BATCH);
    cursor = next;
    if (ids.length === 0) continue;
    const values = await redis.mgetBuffer(ids.map((id) => keys.tenant(id)));
    const batch: [string, Uint8Array][] = [];
    ids.forEach((id, index) => {
      const value = values[index];
      if (value != null) batch.push([id, value]);
    });
    yield entryBatch(batch);
  } while (cursor !== '0');
}

/** Every id's stored JSON, parsed but unchecked: what `export-config` writes out. */
export async function readRawTenants(redis: Redis, keys = redisKeys()): Promise<Record<string, unknown>> {
  const ids = (await redis.smembers(keys.ids)).sort();
  if (ids.length === 0) return {};
  const values = await redis.mget(ids.map((id) => keys.tenant(id)));
  const raw: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  ids.forEach((id, index) => {
    const value = values[index];
    // Unparseable JSON is kept as its text: checking leaves that one id out (and says so), export shows it.
    if (value != null) raw[id] = parseJson(value) ?? value;
  });
  return raw;
}

/**
 * Writes entries to Redis in one transaction and tells every instance to reload. `replace` also removes
 * ids that are not in `tenants`; without it, other ids are kept. Either way it sets a new marker: what
 * Redis holds afterwards is the config, and instances take it as it is (they re-seed only a Redis without one).
 */
export async function writeTenants(redis: Redis, tenants: Tenants, options: { prefix?: string; replace?: boolean } = {}): Promise<void> {
  const keys = redisKeys(options.prefix);
  const transaction = redis.multi();
  if (options.replace) {
    for (const id of await redis.smembers(keys.ids)) if (!Object.hasOwn(tenants, id)) transaction.del(keys.tenant(id)).srem(keys.ids, id);
  }
  for (const [id, config] of Object.entries(tenants)) transaction.set(keys.tenant(id), JSON.stringify(config)).sadd(keys.ids, id);
  transaction.set(keys.marker, newMarker()).publish(keys.changes, '*');
  await transaction.exec();
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
