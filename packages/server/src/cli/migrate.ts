import { loadDatabaseConfig } from '../config.js';
import { migrate } from '../db/migrate.js';
import { describeDatabase, openDatabase } from '../db/open.js';
import { createLogger } from '../logging.js';

/**
 * `beckon-server migrate`: applies the migrations the database lacks (what start-up does too), says
 * which, and exits. Needs only `DATABASE_URL` or `DATA_DIR`. With the embedded database, stop the
 * server first: the database serves one process at a time.
 */
export async function migrateCommand(): Promise<void> {
  try {
    const config = loadDatabaseConfig(process.env);
    const logger = createLogger('silent');
    const db = await openDatabase(config, { logger });
    try {
      const { applied, version } = await migrate(db, { logger });
      for (const migration of applied) process.stdout.write(`Applied migration ${migration.version} (${migration.name}).\n`);
      const where = describeDatabase(config).replace(/^The /, 'the ');
      process.stdout.write(`${applied.length === 0 ? 'Nothing to do: ' : ''}${where} is at schema version ${version}.\n`);
    } finally {
      await db.close();
    }
  } catch (error) {
    process.stderr.write(`beckon-server migrate failed.\n${(error as Error).message}\n`);
    process.exitCode = 1;
  }
}
