import { readFile } from 'node:fs/promises';
import { extname, resolve } from 'node:path';
import { parse } from 'csv-parse/sync';
import { loadDatabaseConfig, loadRedisConfig } from '../config.js';
import { checkCustomers, CustomerInputError, upsertCustomers, type UpsertResult } from '../customers/upsert.js';
import { openMigratedDatabase } from '../db/open.js';
import { defaultCountry } from '../events/phone.js';
import { createLogger } from '../logging.js';
import { closeRedis, connectRedis } from '../redis.js';
import { readRawTenants, redisKeys } from '../tenants/redis-store.js';
import { checkTenants, ID_PATTERN, parseTenants, type TenantConfig } from '../tenants/schema.js';

/** What a customers file holds, before checking: the customers, and for CSV the line each starts on. */
interface FileCustomers {
  format: 'csv' | 'json';
  customers: unknown;
  lines?: number[];
}

/**
 * `beckon-server import-customers --id <id> FILE`: what `POST /internal/customers` does, from a file and
 * straight into the database (`DATABASE_URL`, or the embedded one in `DATA_DIR`: stop the server
 * first, as it serves one process). The id must be configured (`DOMAINS_FILE`, or Redis with
 * `REDIS_URL`): its default country reads the phones. All or nothing. Returns what was stored.
 */
export async function importCustomers(id: string, file: string, env: NodeJS.ProcessEnv = process.env): Promise<UpsertResult> {
  if (!ID_PATTERN.test(id)) throw new Error(`--id ${JSON.stringify(id)} is not a config id (e.g. example.com-sales)`);
  const tenant = await readTenant(id, env);
  if (!tenant) throw new Error(`No config has the id ${JSON.stringify(id)}`);
  const text = await readFile(resolve(file), 'utf8');
  const read = readCustomers(file, text);
  let rows;
  try {
    rows = await checkCustomers(read.customers, defaultCountry(tenant), 'customers');
  } catch (error) {
    if (!(error instanceof CustomerInputError)) throw error;
    const where =
      error.index === undefined
        ? ''
        : read.format === 'csv'
          ? `row ${error.index + 1} (line ${read.lines?.[error.index] ?? '?'})${error.field ? `, ${error.field}` : ''}: `
          : `[${error.index}]${error.field ? `.${error.field}` : ''}: `;
    throw new Error(`${file}: nothing imported. ${where}${error.index === undefined ? error.message : error.problem}`);
  }
  const db = await openMigratedDatabase(loadDatabaseConfig(env), { logger: createLogger('silent') });
  try {
    return await db.transaction((tx) => upsertCustomers(tx, id, rows));
  } finally {
    await db.close();
  }
}

/** CSV (a header row naming the fields) or a JSON array: by the extension, else by the first character. */
function readCustomers(file: string, text: string): FileCustomers {
  const body = text.replace(/^\uFEFF/, '');
  const extension = extname(file).toLowerCase();
  const json = extension === '.json' || (extension !== '.csv' && /^\s*[[{]/.test(body));
  if (json) {
    try {
      return { format: 'json', customers: JSON.parse(body) };
    } catch (error) {
      throw new Error(`${file}: not valid JSON (${(error as Error).message}); nothing imported`);
    }
  }
  try {
    // CRLF as LF, in quoted fields too (a name stored with \n): csv-parse counts a quoted CRLF as two lines.
    const records = parse(body.replace(/\r\n/g, '\n'), {
      columns: (header: string[]) => header.map((name) => name.trim().toLowerCase()),
      skip_empty_lines: true,
      info: true,
    }) as { record: Record<string, string>; info: { lines: number } }[];
    // `info.lines` is the line a record ends on; a quoted field may have taken it over several.
    const lines = records.map(({ record, info }) => info.lines - Object.values(record).join('').split('\n').length + 1);
    return { format: 'csv', customers: records.map(({ record }) => record), lines };
  } catch (error) {
    throw new Error(`${file}: not valid CSV (${(error as Error).message}); nothing imported`);
  }
}

/** The id's config, from `DOMAINS_FILE` (default ./domains.json) or, with `REDIS_URL`, from Redis. */
async function readTenant(id: string, env: NodeJS.ProcessEnv): Promise<TenantConfig | undefined> {
  if (env.REDIS_URL) {
    const settings = loadRedisConfig(env);
    const redis = await connectRedis(settings.url, { logger: createLogger('silent') });
    try {
      return checkTenants(await readRawTenants(redis, redisKeys(settings.prefix))).tenants[id];
    } finally {
      await closeRedis(redis);
    }
  }
  const path = resolve(env.DOMAINS_FILE || './domains.json');
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new Error(`The configs could not be read from ${path} (DOMAINS_FILE): ${(error as Error).message}`);
  }
  return parseTenants(text).tenants[id];
}

/** `beckon-server import-customers --id <id> FILE`: prints how many were stored. */
export async function importCustomersCommand(id: string, file: string): Promise<void> {
  try {
    const result = await importCustomers(id, file);
    process.stdout.write(
      `Upserted ${result.upserted} ${result.upserted === 1 ? 'customer' : 'customers'} for ${id}: ` +
        `${result.created} new, ${result.updated} updated, ${result.unchanged} unchanged.\n`,
    );
  } catch (error) {
    process.stderr.write(`beckon-server import-customers failed.\n${(error as Error).message}\n`);
    process.exitCode = 1;
  }
}
