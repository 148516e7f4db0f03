import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import test, { type ExecutionContext } from 'ava';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { createLogger, loadConfig, migrate, openDatabase, start } from '../src/index.js';
import { databaseFixture, ENGINES } from './fixtures/databases.js';
import { startPostgres } from './fixtures/postgres.js';
import { freePort } from './fixtures/redis.js';
import { eventually, SECRET } from './helpers.js';

const fixture = databaseFixture(test);
const quiet = createLogger('silent');
const PASSWORD = 's3cret-Pa55:w@rd';
const ENCODED = encodeURIComponent(PASSWORD);

const cli = new URL('./fixtures/cli.ts', import.meta.url).pathname;
const nodeArgs = [`--import=${import.meta.resolve('tsx')}`, '--conditions=@beckon/source', cli];

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `beckon-server` from source, in a temporary folder, with only `env` (and PATH); killed if still running after `timeoutMs`. */
async function runCli(t: ExecutionContext, env: Record<string, string>, args: string[] = [], timeoutMs = 90_000): Promise<Run> {
  const cwd = await mkdtemp(join(tmpdir(), 'beckon-db-cli-'));
  t.teardown(() => rm(cwd, { recursive: true, force: true }));
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...nodeArgs, ...args], { cwd, env: { PATH: process.env.PATH ?? '', ...env } });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    // 'close', not 'exit': 'exit' can come before the last of the child's output has been read (it did
    // on Node 24 in CI, a "cannot start" message lost).
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** What `beckon-server` needs besides the database, in a folder of its own. */
async function serverEnv(t: ExecutionContext): Promise<Record<string, string>> {
  const dir = await mkdtemp(join(tmpdir(), 'beckon-db-env-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return {
    NS_API_BASE: 'http://127.0.0.1:9',
    NS_TOKEN: 'ns-token',
    UPDATE_SECRET: SECRET,
    DOMAINS_FILE: join(dir, 'domains.json'),
    PORT: '0',
  };
}

// Read synchronously: ava wants every test declared before the first await.
const spec = JSON.parse(readFileSync(new URL('../../../docs/http-api.openapi.json', import.meta.url), 'utf8')) as object;
const ajv = new Ajv2020({ strict: false, validateFormats: false });
ajv.addSchema(spec, 'spec');
const validHealth = ajv.compile({ $ref: 'spec#/components/schemas/Health' });

test('an unreachable DATABASE_URL stops beckon-server: "cannot start", the variable named, its password hidden', async (t) => {
  const url = `postgres://beckon:${ENCODED}@127.0.0.1:${await freePort()}/beckon`;
  const result = await runCli(t, { ...(await serverEnv(t)), DATABASE_URL: url });
  t.is(result.code, 1);
  t.regex(result.stderr, /^beckon-server cannot start\.\n/);
  t.true(result.stderr.includes(`PostgreSQL at postgres://beckon:***@127.0.0.1:`), result.stderr);
  t.regex(result.stderr, /\(DATABASE_URL\) is unreachable: .*ECONNREFUSED/);
  for (const secret of [PASSWORD, ENCODED, 's3cret']) t.false(`${result.stdout}${result.stderr}`.includes(secret), secret);
});

test('a DATABASE_URL that is not a postgres:// URL is refused by name, its value not repeated', async (t) => {
  const result = await runCli(t, { ...(await serverEnv(t)), DATABASE_URL: `mysql://beckon:${ENCODED}@db.example.net/beckon` });
  t.is(result.code, 1);
  t.regex(result.stderr, /^beckon-server cannot start\.\n[\s\S]*DATABASE_URL must be a postgres:\/\/ or postgresql:\/\/ URL/);
  t.false(result.stderr.includes('s3cret'));
  t.false(result.stderr.includes('db.example.net'));
});

test('a database migrated by a newer beckon-server stops this one at start, saying so', async (t) => {
  const { db, settings } = await fixture.open(t, 'pglite');
  await migrate(db, { logger: quiet });
  await db.query("INSERT INTO schema_migrations (version, name) VALUES (999, 'from-the-future')");
  await db.close();
  const result = await runCli(t, { ...(await serverEnv(t)), DATA_DIR: settings.dataDir });
  t.is(result.code, 1);
  t.regex(
    result.stderr,
    /^beckon-server cannot start\.\nThe database has migration 999 \(from-the-future\), which this beckon-server does not know/,
  );
});

for (const engine of ENGINES) {
  test(`beckon-server migrate applies what is missing, then has nothing to do (${engine})`, async (t) => {
    const settings = await fixture.settings(t, engine, { password: PASSWORD });
    const env: Record<string, string> = settings.databaseUrl ? { DATABASE_URL: settings.databaseUrl } : { DATA_DIR: settings.dataDir };
    const first = await runCli(t, env, ['migrate']);
    t.is(first.code, 0, first.stderr);
    t.regex(
      first.stdout,
      /^Applied migration 1 \(call-events\)\.\nApplied migration 2 \(stream-tokens\)\.\nApplied migration 3 \(event-webhooks\)\.\nApplied migration 4 \(subscription-retries\)\.\nApplied migration 5 \(texts\)\.\nApplied migration 6 \(dialpad\)\.\nApplied migration 7 \(callbacks\)\.\n/,
    );
    t.regex(
      first.stdout,
      engine === 'postgres' ? /PostgreSQL at postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:\d+\/test_/ : /the embedded database in .*pglite/,
    );
    t.regex(first.stdout, /is at schema version 7\.\n$/);
    t.false(first.stdout.includes('s3cret'));
    const again = await runCli(t, env, ['migrate']);
    t.is(again.code, 0, again.stderr);
    t.regex(again.stdout, /^Nothing to do: .* is at schema version 7\.\n$/);
  });
}

test('beckon-server migrate refuses the embedded database while a server holds it', async (t) => {
  const { settings } = await fixture.open(t, 'pglite');
  const result = await runCli(t, { DATA_DIR: settings.dataDir }, ['migrate']);
  t.is(result.code, 1);
  t.regex(
    result.stderr,
    new RegExp(`^beckon-server migrate failed\\.\\n.*is in use by process ${process.pid}: the embedded database serves one process`),
  );
});

test('with PostgreSQL, /health reports it; an outage is logged once, the LISTEN connection comes back by itself, and the password is never logged', async (t) => {
  // A cluster of its own: this test stops it.
  const cluster = await startPostgres();
  t.teardown(() => cluster.close());
  const databaseUrl = await cluster.createDatabase({ password: PASSWORD });
  const dataDir = await mkdtemp(join(tmpdir(), 'beckon-db-health-'));
  t.teardown(() => rm(dataDir, { recursive: true, force: true }));
  let logText = '';
  const logger = createLogger(
    'debug',
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        logText += chunk.toString();
        done();
      },
    }),
  );
  const config = loadConfig({ ...(await serverEnv(t)), DATABASE_URL: databaseUrl, DATA_DIR: dataDir, HOST: '127.0.0.1' });
  const running = await start({ config, logger });
  t.teardown(() => running.close(1_000));
  const db = running.deps.db!;
  t.is(db.engine, 'postgres');
  const health = async () => {
    const body = (await (await fetch(`${running.url}/health`)).json()) as unknown;
    t.true(validHealth(body), JSON.stringify(validHealth.errors));
    return body;
  };
  t.deepEqual(await health(), { status: 'ok', database: 'ok' });
  const ready = async () => {
    const response = await fetch(`${running.url}/ready`);
    return { status: response.status, body: (await response.json()) as unknown };
  };
  t.deepEqual(await ready(), { status: 200, body: { status: 'ready' } });

  const heard: string[] = [];
  let reconnects = 0;
  await db.listen('call_events', (payload) => heard.push(payload), { onReconnect: () => (reconnects += 1) });

  await cluster.stop();
  t.true(await eventually(() => !db.ready(), 5_000), 'the lost connection is noticed');
  t.deepEqual(await health(), { status: 'degraded', database: 'unavailable' });
  t.deepEqual(
    await ready(),
    { status: 503, body: { status: 'unavailable', database: 'unavailable' } },
    'not ready: send traffic elsewhere',
  );
  await t.throwsAsync(db.query('SELECT 1'));

  await cluster.start();
  t.true(await eventually(() => db.ready(), 10_000), 'reconnected');
  t.is(reconnects, 1, 'listeners are told they may have missed notifications');
  t.deepEqual(await health(), { status: 'ok', database: 'ok' });
  t.deepEqual(await ready(), { status: 200, body: { status: 'ready' } });
  await db.notify('call_events', 'after the outage');
  t.true(await eventually(() => heard.includes('after the outage'), 5_000), 'listening again');

  t.is(logText.split('\n').filter((line) => line.includes('the database is unreachable: reconnecting')).length, 1, 'one line per outage');
  t.true(logText.includes('the database is back'));
  t.true(logText.includes('postgres://postgres:***@127.0.0.1'), 'the address is logged, redacted');
  for (const secret of [PASSWORD, ENCODED, 's3cret']) t.false(logText.includes(secret), secret);
});

test('an unreachable DATABASE_URL fails openDatabase with the password hidden (the error and its message)', async (t) => {
  const url = `postgresql://beckon:${ENCODED}@127.0.0.1:${await freePort()}/beckon`;
  const error = await t.throwsAsync(openDatabase({ databaseUrl: url, dataDir: 'unused' }, { logger: quiet }));
  t.is(error.name, 'DatabaseUnavailableError');
  t.regex(error.message, /^PostgreSQL at postgresql:\/\/beckon:\*\*\*@127\.0\.0\.1:\d+\/beckon \(DATABASE_URL\) is unreachable/);
  const everything = JSON.stringify(error, Object.getOwnPropertyNames(error)) + String(error.stack) + String(error.cause ?? '');
  for (const secret of [PASSWORD, ENCODED, 's3cret']) t.false(everything.includes(secret), secret);
});
