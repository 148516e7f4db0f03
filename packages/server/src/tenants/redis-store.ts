import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { closeRedis, watchState } from '../redis.js';
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
 * a set of the ids, and a channel announcing each change (an id, or `*` for "reload everything").
 */
export function redisKeys(prefix = 'beckon:') {
  return {
    ids: `${prefix}tenant-ids`,
    tenant: (id: string) => `${prefix}tenant:${id}`,
    changes: `${prefix}tenant-changes`,
  };
}

/** How often an update is retried when another instance changed the same id between read and write. */
const MAX_ATTEMPTS = 20;

/**
 * Per-id config in Redis, for several instances. Every instance serves from an in-memory copy, loaded
 * at start and refreshed by pub/sub on every change (and in full after a reconnect, for changes it
 * missed), so requests never wait on Redis and keep being served through an outage. Updates are
 * optimistic transactions (WATCH/MULTI) on the id's key, so concurrent form posts never lose a field.
 */
export async function openRedisTenantStore(options: RedisTenantStoreOptions): Promise<TenantStore> {
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
    this.#subscriber.on('message', (_channel: string, id: string) => void this.#refresh(id));
    // After a reconnect, changes published while this instance was away were missed: reload them all.
    this.#subscriber.on('ready', () => {
      if (this.#connectedOnce) void this.#refresh('*');
      this.#connectedOnce = true;
    });
    try {
      await Promise.all([this.#subscriber.connect(), this.#writer.connect()]);
      await this.#subscriber.subscribe(this.#keys.changes);
      this.#tenants = await this.#readAll();
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

  update(id: string, change: TenantChange): Promise<TenantConfig> {
    const write = this.#writes.then(() => this.#write(id, change));
    this.#writes = write.catch(() => undefined);
    return write;
  }

  async close(): Promise<void> {
    await this.#writes;
    await Promise.all([closeRedis(this.#subscriber), closeRedis(this.#writer)]);
  }

  async #write(id: string, change: TenantChange): Promise<TenantConfig> {
    const key = this.#keys.tenant(id);
    /** What the change itself threw (an invalid config): passed on as is, never mistaken for an outage. */
    let refused: unknown;
    try {
      for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt += 1) {
        await this.#writer.watch(key);
        const stored = await this.#writer.get(key);
        // A value that is not valid JSON (a hand edit gone wrong) is started afresh, like a new id.
        const current = stored === null ? undefined : tenantSchema.safeParse(parseJson(stored));
        let next: TenantConfig;
        try {
          next = tenantSchema.parse(change(current?.success ? (current.data as TenantConfig) : undefined)) as TenantConfig;
        } catch (error) {
          refused = error;
          await this.#writer.unwatch();
          throw error;
        }
        const committed = await this.#writer
          .multi()
          .set(key, JSON.stringify(next))
          .sadd(this.#keys.ids, id)
          .publish(this.#keys.changes, id)
          .exec();
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

  /** Applies one announced change (or `*`: everything). A failure keeps the copy in service as it is. */
  async #refresh(id: string): Promise<void> {
    try {
      if (id === '*') {
        const tenants = await this.#readAll();
        if (Object.keys(tenants).length === 0 && this.size() > 0) {
          // A Redis restarted without persistence comes back empty: wiping every customer would be worse.
          this.#logger.error({ ids: this.size() }, 'Redis holds no config: keeping the copy in memory (run beckon-server import-config)');
          return;
        }
        this.#tenants = tenants;
        this.#logger.info({ ids: this.size() }, 'config reloaded from Redis');
        return;
      }
      const stored = await this.#redis.get(this.#keys.tenant(id));
      const { tenants, rejected } = checkTenants(stored === null ? {} : { [id]: parseJson(stored) });
      for (const { reason } of rejected) this.#logger.error({ id, reason }, 'config entry left out');
      if (tenants[id]) this.#tenants[id] = tenants[id];
      else delete this.#tenants[id];
    } catch (error) {
      this.#logger.error({ reason: (error as Error).message, id }, 'config refresh failed: keeping the copy in memory');
    }
  }

  async #readAll(): Promise<Tenants> {
    const raw = await readRawTenants(this.#redis, this.#keys);
    const { tenants, rejected } = checkTenants(raw);
    for (const { id, reason } of rejected) this.#logger.error({ id, reason }, 'config entry left out');
    return tenants;
  }
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
 * ids that are not in `tenants`; without it, other ids are kept.
 */
export async function writeTenants(redis: Redis, tenants: Tenants, options: { prefix?: string; replace?: boolean } = {}): Promise<void> {
  const keys = redisKeys(options.prefix);
  const transaction = redis.multi();
  if (options.replace) {
    for (const id of await redis.smembers(keys.ids)) if (!Object.hasOwn(tenants, id)) transaction.del(keys.tenant(id)).srem(keys.ids, id);
  }
  for (const [id, config] of Object.entries(tenants)) transaction.set(keys.tenant(id), JSON.stringify(config)).sadd(keys.ids, id);
  transaction.publish(keys.changes, '*');
  await transaction.exec();
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
