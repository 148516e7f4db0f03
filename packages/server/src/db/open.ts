import { join } from 'node:path';
import type { Logger } from 'pino';
import type { ServerConfig } from '../config.js';
import { DatabaseUnavailableError, type Database } from './database.js';
import { migrate, UnknownMigrationError } from './migrate.js';
import { openPglite } from './pglite.js';
import { openPostgres, redactDatabaseUrl } from './postgres.js';

/** Where the embedded database lives in `DATA_DIR`. */
export function pgliteDir(dataDir: string): string {
  return join(dataDir, 'pglite');
}

/** Which database, for messages: the URL with its password hidden, or the embedded database's folder. */
export function describeDatabase(config: Pick<ServerConfig, 'databaseUrl' | 'dataDir'>): string {
  return config.databaseUrl
    ? `PostgreSQL at ${redactDatabaseUrl(config.databaseUrl)} (DATABASE_URL)`
    : `The embedded database in ${pgliteDir(config.dataDir)} (DATA_DIR)`;
}

/**
 * PostgreSQL when `DATABASE_URL` is set, the embedded PGlite in `DATA_DIR/pglite` otherwise. Rejects
 * with a `DatabaseUnavailableError` naming the setting when it cannot be opened.
 */
export function openDatabase(config: Pick<ServerConfig, 'databaseUrl' | 'dataDir'>, options: { logger: Logger }): Promise<Database> {
  return config.databaseUrl
    ? openPostgres({ url: config.databaseUrl, logger: options.logger })
    : openPglite({ dir: pgliteDir(config.dataDir) });
}

/** `openDatabase`, then `migrate`: what start-up does. A migration that fails closes the database and says which one failed. */
export async function openMigratedDatabase(
  config: Pick<ServerConfig, 'databaseUrl' | 'dataDir'>,
  options: { logger: Logger },
): Promise<Database> {
  const db = await openDatabase(config, options);
  try {
    await migrate(db, options);
  } catch (error) {
    await db.close();
    if (error instanceof UnknownMigrationError) throw error;
    throw new DatabaseUnavailableError(`${describeDatabase(config)} could not be migrated: ${(error as Error).message}`, { cause: error });
  }
  return db;
}
