import type { Logger } from 'pino';
import type { Database } from './database.js';
import { MIGRATIONS, type Migration } from './migrations/index.js';

/** The database records a migration this code does not have: another (newer) Beckon migrated it. */
export class UnknownMigrationError extends Error {
  override name = 'UnknownMigrationError';
}

/**
 * Serializes migrators sharing one PostgreSQL: a transaction-scoped advisory lock, taken first by each
 * migration's transaction (the number is "beckon" in ASCII; any fixed key would do).
 */
const MIGRATION_LOCK = 0x6265636b6f6e;

export interface MigrateResult {
  /** The migrations this call applied, in order. */
  applied: Migration[];
  /** The schema version the database is at now. */
  version: number;
}

/**
 * Brings the database up to the code's schema: each migration not yet recorded in `schema_migrations`
 * is applied in its own transaction, and recorded in it. Each transaction first takes an advisory
 * lock and reads what is recorded, so instances starting together on one PostgreSQL apply each
 * migration once (the others wait, then find it done). A recorded migration the code does not know
 * stops it with a `UnknownMigrationError`: this code must not run against a schema it has not seen.
 */
export async function migrate(db: Database, options: { logger: Logger; migrations?: readonly Migration[] }): Promise<MigrateResult> {
  const migrations = options.migrations ?? MIGRATIONS;
  const applied: Migration[] = [];
  for (;;) {
    const next = await db.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
      await tx.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
        version    integer PRIMARY KEY,
        name       text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now()
      )`);
      const { rows } = await tx.query<{ version: number; name: string }>('SELECT version, name FROM schema_migrations ORDER BY version');
      check(rows, migrations);
      const done = new Set(rows.map((row) => row.version));
      const pending = migrations.find((migration) => !done.has(migration.version));
      if (!pending) return undefined;
      await tx.exec(pending.sql);
      await tx.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [pending.version, pending.name]);
      return pending;
    });
    if (!next) break;
    options.logger.info({ migration: next.version, name: next.name }, 'database migration applied');
    applied.push(next);
  }
  return { applied, version: migrations.at(-1)?.version ?? 0 };
}

function check(recorded: { version: number; name: string }[], migrations: readonly Migration[]): void {
  const known = new Map(migrations.map((migration) => [migration.version, migration]));
  for (const { version, name } of recorded) {
    const migration = known.get(version);
    if (!migration) {
      throw new UnknownMigrationError(
        `The database has migration ${version} (${name}), which this beckon-server does not know: a newer version migrated it. ` +
          'Run that version (or newer), or restore the backup taken before the upgrade.',
      );
    }
    if (migration.name !== name) {
      throw new UnknownMigrationError(
        `The database's migration ${version} is "${name}", this beckon-server's is "${migration.name}": ` +
          'the database was migrated by another version. Run that version, or restore a backup.',
      );
    }
  }
}
