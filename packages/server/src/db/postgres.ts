import { Client, Pool, TypeOverrides, type ClientConfig, type PoolClient, type QueryConfig } from 'pg';
import type { Logger } from 'pino';
import {
  checkChannel,
  DatabaseUnavailableError,
  parseBigint,
  type Database,
  type ListenOptions,
  type Queryable,
  type QueryResult,
  type SqlValue,
} from './database.js';
import { TransactionScope } from './transaction-scope.js';

/** PostgreSQL's type OID of `bigint`. */
const INT8 = 20;

/** The URL with its password replaced, fit for logs and error messages. */
export function redactDatabaseUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.href;
  } catch {
    return 'postgres://(unparseable URL)';
  }
}

export interface PostgresOptions {
  /** `postgres://` or `postgresql://` (`DATABASE_URL`); `?sslmode=…` and the other libpq parameters `pg` knows apply. */
  url: string;
  logger: Logger;
  /** How long a connection may take to open, or a query wait for a free one. Default 5 s. */
  connectTimeoutMs?: number;
  /** Connections in the pool, besides the one that listens. Default 10. */
  maxConnections?: number;
}

/**
 * PostgreSQL through a `pg` pool, plus one connection of its own for LISTEN that reconnects (at most
 * every 2 s) and listens again. Opening it connects that one, so an unreachable server stops start-up
 * here, with `DATABASE_URL` named and its password hidden.
 */
export async function openPostgres(options: PostgresOptions): Promise<Database> {
  const where = redactDatabaseUrl(options.url);
  const logger = options.logger.child({ database: where });
  const hide = hider(options.url);
  const types = new TypeOverrides();
  types.setTypeParser(INT8, parseBigint);
  const settings: ClientConfig = {
    connectionString: options.url,
    types,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 5_000,
    keepAlive: true,
    application_name: 'beckon-server',
  };
  const listener = new Listener(settings, logger, hide);
  try {
    await listener.start();
  } catch (error) {
    throw new DatabaseUnavailableError(`PostgreSQL at ${where} (DATABASE_URL) is unreachable: ${hide((error as Error).message)}`);
  }
  const pool = new Pool({ ...settings, max: options.maxConnections ?? 10 });
  // A pooled connection that fails while idle is dropped by the pool; without a listener it would crash the process.
  pool.on('error', (error) => logger.warn({ reason: hide(error.message) }, 'an idle database connection failed'));
  const scope = new TransactionScope();
  let closing: Promise<void> | undefined;
  const run = <Row>(client: Pool | PoolClient, sql: string, params: readonly SqlValue[] = []) => queryOn<Row>(client, sql, params);

  return {
    engine: 'postgres',
    query: async (sql, params) => {
      scope.refuseInside();
      return run(pool, sql, params);
    },
    exec: async (sql) => {
      scope.refuseInside();
      await pool.query(sql);
    },
    notify: async (channel, payload = '') => {
      scope.refuseInside();
      await run(pool, 'SELECT pg_notify($1, $2)', [checkChannel(channel), payload]);
    },
    async transaction(work) {
      scope.refuseInside();
      const client = await pool.connect();
      // A connection lost while checked out emits 'error' (its query fails too): the pool listens only
      // while a connection is idle, so without this a database going away mid-transaction would crash
      // the process.
      // A connection whose rollback failed (or that was lost) is in an unknown state: it is closed rather than reused.
      let broken: Error | undefined;
      const lost = (error: Error) => (broken = error);
      client.on('error', lost);
      try {
        await client.query('BEGIN');
        const result = await scope.run((open) => work(transactionOn(client, open)));
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch((rollbackError: Error) => (broken = rollbackError));
        throw error;
      } finally {
        client.off('error', lost);
        client.release(broken);
      }
    },
    listen: async (channel, handler, listenOptions) => {
      scope.refuseInside();
      return listener.add(checkChannel(channel), handler, listenOptions);
    },
    ready: () => listener.connected,
    close: () =>
      (closing ??= (async () => {
        await listener.close();
        await pool.end();
      })()),
  };
}

function transactionOn(client: PoolClient, open: () => boolean): Queryable {
  const checked = () => {
    if (!open()) throw new Error('This transaction has finished: its queryable cannot be used any more');
  };
  return {
    query: async (sql, params = []) => {
      checked();
      return queryOn(client, sql, params);
    },
    exec: async (sql) => {
      checked();
      await client.query(sql);
    },
    notify: async (channel, payload = '') => {
      checked();
      await queryOn(client, 'SELECT pg_notify($1, $2)', [checkChannel(channel), payload]);
    },
  };
}

/** The extended protocol always, as PGlite uses: one statement per query on both engines. */
async function queryOn<Row>(client: Pool | PoolClient, sql: string, params: readonly SqlValue[]): Promise<QueryResult<Row>> {
  const config: QueryConfig & { queryMode: 'extended' } = { text: sql, values: [...params], queryMode: 'extended' };
  const result = await client.query(config);
  return { rows: result.rows as Row[], rowCount: result.rowCount ?? result.rows.length };
}

/** Replaces the URL's password (as written and decoded) in a message, in case a driver ever repeats it. */
function hider(url: string): (message: string) => string {
  let secrets: string[] = [];
  try {
    const { password } = new URL(url);
    if (password) secrets = [...new Set([password, decodeURIComponent(password)])];
  } catch {
    // config.ts only lets parseable URLs through
  }
  return (message) => secrets.reduce((text, secret) => text.replaceAll(secret, '***'), message);
}

type Handler = (payload: string) => void;

/**
 * The LISTEN connection. Handlers are kept per channel; after a lost connection it reconnects with a
 * growing delay (200 ms steps, at most 2 s), LISTENs to every channel again and tells `onReconnect`
 * subscribers, since notifications sent meanwhile are gone. One log line per outage, not per retry.
 */
class Listener {
  readonly #handlers = new Map<string, Set<Handler>>();
  readonly #reconnected = new Set<() => void>();
  #client: Client | undefined;
  #attempt = 0;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(
    private readonly settings: ClientConfig,
    private readonly logger: Logger,
    private readonly hide: (message: string) => string,
  ) {}

  get connected(): boolean {
    return this.#client !== undefined;
  }

  start(): Promise<void> {
    return this.#connect();
  }

  async add(channel: string, handler: Handler, options: ListenOptions = {}): Promise<() => Promise<void>> {
    const handlers = this.#handlers.get(channel) ?? new Set();
    const first = handlers.size === 0;
    handlers.add(handler);
    this.#handlers.set(channel, handlers);
    const onReconnect = options.onReconnect;
    if (onReconnect) this.#reconnected.add(onReconnect);
    // While the connection is down, the reconnection LISTENs to it (and onReconnect says so).
    if (first && this.#client) await this.#client.query(`LISTEN ${channel}`).catch(() => undefined);
    return async () => {
      if (onReconnect) this.#reconnected.delete(onReconnect);
      if (!handlers.delete(handler) || handlers.size > 0) return;
      this.#handlers.delete(channel);
      await this.#client?.query(`UNLISTEN ${channel}`).catch(() => undefined);
    };
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    const client = this.#client;
    this.#client = undefined;
    await client?.end().catch(() => undefined);
  }

  async #connect(): Promise<void> {
    const client = new Client(this.settings);
    let lost = false;
    const onLost = (reason: string) => {
      if (lost) return;
      lost = true;
      if (this.#client === client) this.#lost(client, reason);
    };
    client.on('error', (error) => onLost(this.hide(error.message)));
    client.on('end', () => onLost('connection closed'));
    client.on('notification', ({ channel, payload }) => this.#deliver(channel, payload ?? ''));
    try {
      await client.connect();
      for (const channel of this.#handlers.keys()) await client.query(`LISTEN ${channel}`);
      if (lost) throw new Error('connection closed');
    } catch (error) {
      await client.end().catch(() => undefined);
      throw error;
    }
    if (this.#closed) {
      await client.end().catch(() => undefined);
      return;
    }
    this.#client = client;
  }

  #lost(client: Client, reason: string): void {
    this.#client = undefined;
    this.logger.error({ reason }, 'the database is unreachable: reconnecting');
    client.end().catch(() => undefined);
    this.#attempt = 0;
    this.#retry();
  }

  #retry(): void {
    if (this.#closed) return;
    this.#attempt += 1;
    this.#timer = setTimeout(
      () => {
        this.#connect().then(
          () => {
            if (this.#closed) return;
            this.logger.warn('the database is back');
            for (const onReconnect of this.#reconnected) this.#safely(onReconnect);
          },
          () => this.#retry(),
        );
      },
      Math.min(this.#attempt * 200, 2_000),
    );
  }

  #deliver(channel: string, payload: string): void {
    for (const handler of this.#handlers.get(channel) ?? []) this.#safely(() => handler(payload));
  }

  /** One failing handler must not keep the others from hearing. */
  #safely(call: () => void): void {
    try {
      call();
    } catch (error) {
      this.logger.error({ err: error }, 'a database notification handler failed');
    }
  }
}
