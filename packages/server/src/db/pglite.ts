import { mkdir } from 'node:fs/promises';
import { PGlite, types, type Results, type Transaction } from '@electric-sql/pglite';
import {
  checkChannel,
  DatabaseUnavailableError,
  parseBigint,
  type Database,
  type Queryable,
  type QueryResult,
  type SqlValue,
} from './database.js';
import { FolderLockedError, lockFolder } from './folder-lock.js';
import { TransactionScope } from './transaction-scope.js';

export interface PgliteOptions {
  /** The database's folder, created when missing (`DATA_DIR/pglite`). */
  dir: string;
}

/**
 * Embedded PostgreSQL (PGlite, compiled to WebAssembly) in `dir`: nothing to install, for `npm start`
 * and one-box deployments. It is this process's database: PGlite has no server and no lock of its own,
 * so `dir.lock` keeps a second process (another instance, `beckon-server migrate` while the server
 * runs) from opening it too and corrupting it. It runs one query or transaction at a time, and
 * notifications reach only this process. Several instances need PostgreSQL.
 */
export async function openPglite(options: PgliteOptions): Promise<Database> {
  const { dir } = options;
  let unlock: () => Promise<void>;
  try {
    await mkdir(dir, { recursive: true });
    unlock = await lockFolder(`${dir}.lock`);
  } catch (error) {
    if (error instanceof FolderLockedError) {
      throw new DatabaseUnavailableError(
        `The database in ${dir} (DATA_DIR) is in use by ${error.pid === process.pid ? 'this process' : `process ${error.pid}`}: ` +
          'the embedded database serves one process. Stop that one, or share a PostgreSQL server (DATABASE_URL) between them.',
      );
    }
    throw new DatabaseUnavailableError(`The database folder ${dir} (DATA_DIR) cannot be used: ${(error as Error).message}`);
  }
  let db: PGlite;
  try {
    db = await PGlite.create(dir, { parsers: { [types.INT8]: parseBigint } });
  } catch (error) {
    await unlock();
    throw new DatabaseUnavailableError(`The database in ${dir} (DATA_DIR) cannot be opened: ${(error as Error).message}`);
  }
  const scope = new TransactionScope();
  let closing: Promise<void> | undefined;

  return {
    engine: 'pglite',
    query: async <Row>(sql: string, params: readonly SqlValue[] = []) => {
      scope.refuseInside();
      return resultOf(await db.query<Row>(sql, [...params]));
    },
    exec: async (sql) => {
      scope.refuseInside();
      await db.exec(sql);
    },
    notify: async (channel, payload = '') => {
      scope.refuseInside();
      await db.query('SELECT pg_notify($1, $2)', [checkChannel(channel), payload]);
    },
    transaction: async (work) => {
      scope.refuseInside();
      return db.transaction((tx) => scope.run((open) => work(transactionOn(tx, open))));
    },
    async listen(channel, handler) {
      scope.refuseInside();
      return db.listen(checkChannel(channel), handler);
    },
    ready: () => !db.closed,
    close: () =>
      (closing ??= (async () => {
        await db.close();
        await unlock();
      })()),
  };
}

function transactionOn(tx: Transaction, open: () => boolean): Queryable {
  const checked = () => {
    if (!open() || tx.closed) throw new Error('This transaction has finished: its queryable cannot be used any more');
  };
  return {
    query: async <Row>(sql: string, params: readonly SqlValue[] = []) => {
      checked();
      return resultOf(await tx.query<Row>(sql, [...params]));
    },
    exec: async (sql) => {
      checked();
      await tx.exec(sql);
    },
    notify: async (channel, payload = '') => {
      checked();
      await tx.query('SELECT pg_notify($1, $2)', [checkChannel(channel), payload]);
    },
  };
}

/** `rowCount` as `pg` gives it: the rows a SELECT returned or an INSERT, UPDATE or DELETE changed. */
function resultOf<Row>(result: Results<Row>): QueryResult<Row> {
  return { rows: result.rows, rowCount: result.rowCount ?? result.affectedRows ?? result.rows.length };
}
