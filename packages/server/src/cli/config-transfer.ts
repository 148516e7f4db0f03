import { randomBytes } from 'node:crypto';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { loadRedisConfig } from '../config.js';
import { createLogger } from '../logging.js';
import { closeRedis, connectRedis } from '../redis.js';
import { readRawTenants, redisKeys, writeTenants } from '../tenants/redis-store.js';
import { parseTenants } from '../tenants/schema.js';

/**
 * `beckon-server import-config <file> [--replace]`: puts a `domains.json` into Redis, all or nothing.
 * Every entry is checked first; one invalid entry imports nothing, so a typo never half-migrates.
 * Running instances reload at once. Returns the number of ids imported.
 */
export async function importConfig(file: string, options: { replace?: boolean; env?: NodeJS.ProcessEnv } = {}): Promise<number> {
  const settings = loadRedisConfig(options.env ?? process.env);
  const text = await readFile(resolve(file), 'utf8');
  const { tenants, rejected } = parseTenants(text);
  if (rejected.length > 0) {
    throw new Error(
      `${file}: nothing imported, ${rejected.length} invalid ${rejected.length === 1 ? 'entry' : 'entries'}:\n${rejected.map(({ id, reason }) => `  - ${id}: ${reason}`).join('\n')}`,
    );
  }
  const redis = await connectRedis(settings.url, { logger: createLogger('silent') });
  try {
    await writeTenants(redis, tenants, { prefix: settings.prefix, replace: options.replace });
  } finally {
    await closeRedis(redis);
  }
  return Object.keys(tenants).length;
}

/**
 * `beckon-server export-config [file]`: Redis's configs as a `domains.json` (ids in order), to `file`
 * (written atomically) or to stdout. Returns the JSON text.
 */
export async function exportConfig(file: string | undefined, options: { env?: NodeJS.ProcessEnv } = {}): Promise<string> {
  const settings = loadRedisConfig(options.env ?? process.env);
  const redis = await connectRedis(settings.url, { logger: createLogger('silent') });
  let text: string;
  try {
    text = `${JSON.stringify(await readRawTenants(redis, redisKeys(settings.prefix)), null, 2)}\n`;
  } finally {
    await closeRedis(redis);
  }
  if (file) {
    const target = resolve(file);
    const temp = `${target}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    await writeFile(temp, text, { mode: 0o600 });
    await rename(temp, target);
  }
  return text;
}
