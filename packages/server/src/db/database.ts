// The one database interface the server uses, over PostgreSQL (`pg`) or embedded PGlite.
//
// Why plain parameterized SQL and no query builder or ORM: both engines speak the same PostgreSQL, so
// one SQL text runs on either, and what this milestone needs from SQL (ON CONFLICT upserts, keyset
// pagination, advisory locks, LISTEN/NOTIFY, partial indexes) is PostgreSQL itself, which a portable
// builder would hide. The candidates that support both engines were checked: Kysely 0.29 needs Node 22
// and its PGlite dialect stops at PGlite 0.4; Drizzle supports both but its migrations are SQL files read
// at run time (a copy step into dist/) and its typed schema would be a second description of the tables.

/** Which engine a `Database` runs on. */
export type Engine = 'postgres' | 'pglite';

/**
 * What a query parameter may be. JSON goes in as text (`JSON.stringify(value)`, with `$1::jsonb` in the
 * SQL): `pg` would send a JS array as a PostgreSQL array, not as JSON. Arrays are for array columns (`text[]`).
 */
export type SqlValue = string | number | boolean | Date | null | readonly string[] | readonly number[];

export interface QueryResult<Row> {
  rows: Row[];
  /** Rows returned, or changed by an INSERT, UPDATE or DELETE. */
  rowCount: number;
}

/** What queries run on: the database itself, or one transaction (`Database.transaction`). */
export interface Queryable {
  /**
   * One statement, its parameters as `$1`, `$2`…. Rows read the same on both engines: `bigint` as a
   * number (an exact one: a value past 2^53 fails the query), `timestamptz` as a `Date`, `jsonb` parsed,
   * arrays as arrays. A failed statement rejects with PostgreSQL's SQLSTATE in `code` (`23505` for a
   * unique violation) on both engines.
   */
  query<Row = Record<string, unknown>>(sql: string, params?: readonly SqlValue[]): Promise<QueryResult<Row>>;
  /** Several statements, without parameters: for migrations. */
  exec(sql: string): Promise<void>;
  /**
   * NOTIFY `channel` (a lower-case SQL identifier). Inside a transaction it is delivered at commit, and
   * not at all after a rollback. A signal, not a message queue: keep the payload small (PostgreSQL caps it
   * at 8000 bytes) and let listeners read the truth from the tables.
   */
  notify(channel: string, payload?: string): Promise<void>;
}

export interface ListenOptions {
  /**
   * PostgreSQL only: the listening connection was lost and is back. Notifications sent meanwhile were
   * not delivered, so read again from the database what they would have signalled.
   */
  onReconnect?: () => void;
}

export interface Database extends Queryable {
  readonly engine: Engine;
  /**
   * Runs `run` in a transaction: committed when it resolves, rolled back when it throws (the error is
   * rethrown). Queries in `run` go through `tx`: the database's own methods refuse to run from inside it
   * (on PGlite, which runs one transaction at a time, they would wait for it forever).
   */
  transaction<T>(run: (tx: Queryable) => Promise<T>): Promise<T>;
  /**
   * Calls `handler` with each notification's payload on `channel`, from any connection — with
   * PostgreSQL, from every instance sharing the database. Resolves to the function that stops it, once
   * listening (while PostgreSQL is unreachable: once registered; it listens from the reconnection).
   */
  listen(channel: string, handler: (payload: string) => void, options?: ListenOptions): Promise<() => Promise<void>>;
  /** Whether the database can be reached now, for `/health`; PGlite, in this process, always can. */
  ready(): boolean;
  /** Closes every connection (PGlite: the database), once however often it is called; waits for queries in flight. */
  close(): Promise<void>;
}

/** The database could not be opened at start-up; the message says which (`DATABASE_URL` with its password hidden, or the folder) and why. */
export class DatabaseUnavailableError extends Error {
  override name = 'DatabaseUnavailableError';
}

const CHANNEL = /^[a-z_][a-z0-9_]{0,62}$/;

/** Channels are written into LISTEN/UNLISTEN as identifiers, so only plain lower-case names are allowed. */
export function checkChannel(channel: string): string {
  if (!CHANNEL.test(channel))
    throw new TypeError(`Invalid notification channel ${JSON.stringify(channel)}: use a lower-case SQL identifier`);
  return channel;
}

/** `bigint` (int8) as an exact JS number, the same on both engines. */
export function parseBigint(text: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value)) throw new RangeError(`bigint ${text} is beyond what a JS number holds exactly`);
  return value;
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
