import { spawn } from 'node:child_process';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import test from 'ava';
import {
  createLogger,
  DatabaseUnavailableError,
  migrate,
  MIGRATIONS,
  openDatabase,
  openMigratedDatabase,
  UnknownMigrationError,
  type Database,
  type Migration,
} from '../src/index.js';
import { pgliteDir } from '../src/db/open.js';
import { databaseFixture, ENGINES } from './fixtures/databases.js';

const fixture = databaseFixture(test);
const quiet = createLogger('silent');

const TABLES = [
  'api_keys',
  'apps',
  'call_events',
  'callback_events',
  'callbacks',
  'calls',
  'customers',
  'deliveries',
  'dialpad_subscriptions',
  'dialpad_webhooks',
  'event_webhook_cursor',
  'event_webhook_deliveries',
  'messages',
  'schema_migrations',
  'stream_tokens',
  'subscriptions',
  'text_opt_outs',
  'texts',
  'voicemails',
];

/** A call row with what the schema requires, and `overrides`. */
async function insertCall(db: Pick<Database, 'query'>, overrides: Record<string, string> = {}): Promise<number> {
  const call = { tenant: 'example.com-sales', provider: 'netsapiens', provider_call_id: 'call-1', state: 'ringing', ...overrides };
  const { rows } = await db.query<{ id: number }>(
    `INSERT INTO calls (tenant, provider, provider_call_id, direction, state, started_at)
     VALUES ($1, $2, $3, 'inbound', $4, now()) RETURNING id`,
    [call.tenant, call.provider, call.provider_call_id, call.state],
  );
  return rows[0]!.id;
}

/** PostgreSQL's SQLSTATEs, which both engines give as the error's `code`. */
const UNIQUE_VIOLATION = { code: '23505' };
const CHECK_VIOLATION = { code: '23514' };

for (const engine of ENGINES) {
  test(`migrations apply to an empty database, and running them again changes nothing (${engine})`, async (t) => {
    const { db } = await fixture.open(t, engine);
    const first = await migrate(db, { logger: quiet });
    t.deepEqual(
      first.applied.map((migration) => migration.version),
      MIGRATIONS.map((migration) => migration.version),
    );
    t.is(first.version, MIGRATIONS.at(-1)!.version);
    const { rows: tables } = await db.query<{ table_name: string }>(
      "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name",
    );
    t.deepEqual(
      tables.map((row) => row.table_name),
      TABLES,
    );
    const { rows: recorded } = await db.query<{ version: number; name: string; applied_at: Date }>(
      'SELECT version, name, applied_at FROM schema_migrations ORDER BY version',
    );
    t.deepEqual(
      recorded.map(({ version, name }) => ({ version, name })),
      MIGRATIONS.map(({ version, name }) => ({ version, name })),
    );
    t.true(recorded[0]!.applied_at instanceof Date);

    const again = await migrate(db, { logger: quiet });
    t.deepEqual(again, { applied: [], version: first.version });
    t.is((await db.query('SELECT * FROM schema_migrations')).rowCount, MIGRATIONS.length);
  });

  test(`rows read the same on both engines: bigint as a number, timestamptz as a Date, jsonb parsed, arrays, uuid (${engine})`, async (t) => {
    const { db } = await fixture.open(t, engine);
    await migrate(db, { logger: quiet });
    const body = { calls: [{ orig_callid: 'abc', state: 'ringing' }], nested: { n: 1.5, yes: true, none: null } };
    const inserted = await db.query<{ id: number; received_at: Date; body: unknown }>(
      `INSERT INTO deliveries (provider, tenant, dedupe_key, body) VALUES ('netsapiens', 'example.com-sales', 'abc:ringing', $1::jsonb)
       RETURNING id, received_at, body`,
      [JSON.stringify(body)],
    );
    t.is(inserted.rowCount, 1);
    const row = inserted.rows[0]!;
    t.is(typeof row.id, 'number');
    t.true(row.received_at instanceof Date);
    t.deepEqual(row.body, body);

    const app = await db.query<{ id: string; ids: string[]; created_at: Date }>(
      'INSERT INTO apps (name, ids) VALUES ($1, $2) RETURNING id, ids, created_at',
      ['CRM', ['example.com-sales', 'example.com-sms']],
    );
    t.regex(app.rows[0]!.id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    t.deepEqual(app.rows[0]!.ids, ['example.com-sales', 'example.com-sms']);
    const everyId = await db.query<{ ids: string[] | null }>('INSERT INTO apps (name) VALUES ($1) RETURNING ids', ['All']);
    t.is(everyId.rows[0]!.ids, null);

    const at = new Date('2026-03-01T12:34:56.789Z');
    const callId = await insertCall(db);
    await db.query('UPDATE calls SET answered_at = $1 WHERE id = $2', [at, callId]);
    const read = await db.query<{ answered_at: Date; count: number; big: number }>(
      'SELECT answered_at, (SELECT count(*) FROM calls) AS count, 9007199254740991::bigint AS big FROM calls WHERE id = $1',
      [callId],
    );
    t.deepEqual(read.rows, [{ answered_at: at, count: 1, big: Number.MAX_SAFE_INTEGER }]);
    await t.throwsAsync(db.query('SELECT 9007199254740993::bigint AS too_big'), { message: /beyond what a JS number holds/ });

    t.is((await db.query('UPDATE calls SET from_name = $1 WHERE tenant = $2', ['Ada', 'nobody'])).rowCount, 0);
    t.is((await db.query('UPDATE calls SET from_name = $1 WHERE id = $2', ['Ada', callId])).rowCount, 1);
    t.is((await db.query('SELECT * FROM apps')).rowCount, 2);
    await t.throwsAsync(db.query('SELECT 1; SELECT 2'), undefined, 'one statement per query, on both engines');
  });

  test(`the schema's constraints refuse what the rules forbid, with PostgreSQL's codes (${engine})`, async (t) => {
    const { db } = await fixture.open(t, engine);
    await migrate(db, { logger: quiet });
    const delivery = (tenant: string, key: string) =>
      db.query(`INSERT INTO deliveries (provider, tenant, dedupe_key, body) VALUES ('netsapiens', $1, $2, '{}'::jsonb)`, [tenant, key]);
    await delivery('example.com-sales', 'abc:ringing');
    await t.throwsAsync(delivery('example.com-sales', 'abc:ringing'), UNIQUE_VIOLATION, 'a redelivery is refused by its dedupe key');
    await delivery('example.com-sms', 'abc:ringing');
    t.pass('the same delivery to another id is its own');
    const deduped = await db.query(
      `INSERT INTO deliveries (provider, tenant, dedupe_key, body) VALUES ('netsapiens', 'example.com-sales', 'abc:ringing', '{}'::jsonb)
       ON CONFLICT (provider, tenant, dedupe_key) DO NOTHING RETURNING id`,
    );
    t.is(deduped.rowCount, 0, 'ON CONFLICT names the dedupe key');

    const callId = await insertCall(db);
    await t.throwsAsync(insertCall(db), UNIQUE_VIOLATION, 'one row per (tenant, provider, provider call id)');
    await insertCall(db, { tenant: 'example.com-sms' });
    await insertCall(db, { provider: 'twilio' });
    await t.throwsAsync(insertCall(db, { provider_call_id: 'call-2', state: 'on-hold' }), CHECK_VIOLATION);
    await t.throwsAsync(db.query("UPDATE calls SET direction = 'sideways' WHERE id = $1", [callId]), CHECK_VIOLATION);

    const event = () =>
      db.query<{ id: number }>(
        "INSERT INTO call_events (call_id, tenant, state, at) VALUES ($1, 'example.com-sales', 'ringing', now()) RETURNING id",
        [callId],
      );
    const ids: number[] = [];
    for (let index = 0; index < 5; index += 1) ids.push((await event()).rows[0]!.id);
    t.deepEqual(
      ids,
      [...ids].sort((a, b) => a - b),
      'event ids only grow',
    );
    t.is(new Set(ids).size, 5);

    await t.throwsAsync(db.query('INSERT INTO apps (name, ids) VALUES ($1, $2)', ['None', []]), CHECK_VIOLATION);
    await t.throwsAsync(db.query('INSERT INTO apps (name) VALUES ($1)', ['']), CHECK_VIOLATION);
    const customer = (phone: string) =>
      db.query("INSERT INTO customers (tenant, external_id, phone_e164) VALUES ('example.com-sales', $1, $2)", [phone, phone]);
    await customer('+18135551234');
    await t.throwsAsync(customer('8135551234'), CHECK_VIOLATION, 'phone_e164 is E.164');
    await t.throwsAsync(customer('+18135551234'), UNIQUE_VIOLATION, 'external_id is unique per tenant');

    const { rows: apps } = await db.query<{ id: string }>("INSERT INTO apps (name) VALUES ('CRM') RETURNING id");
    const key = (id: string) => db.query("INSERT INTO api_keys (id, app_id, hash) VALUES ($1, $2, 'hash')", [id, apps[0]!.id]);
    await key('bk_one');
    await t.throwsAsync(key('bk_one'), UNIQUE_VIOLATION);
    await db.query('DELETE FROM apps WHERE id = $1', [apps[0]!.id]);
    t.is((await db.query('SELECT * FROM api_keys')).rowCount, 0, "an app's keys go with it");

    const subscription = (tenant: string) =>
      db.query("INSERT INTO subscriptions (tenant, provider, secret_hash, status) VALUES ($1, 'netsapiens', 'hash', 'active')", [tenant]);
    await subscription('example.com-sales');
    await t.throwsAsync(subscription('example.com-sales'), UNIQUE_VIOLATION, 'one subscription per id and provider');
  });

  test(`a transaction commits when its work resolves and rolls back when it throws (${engine})`, async (t) => {
    const { db } = await fixture.open(t, engine);
    await migrate(db, { logger: quiet });
    const committed = await db.transaction(async (tx) => {
      await insertCall(tx, { provider_call_id: 'kept' });
      return 'done';
    });
    t.is(committed, 'done');
    const failure = new Error('normalization failed');
    const thrown = await t.throwsAsync(
      db.transaction(async (tx) => {
        await insertCall(tx, { provider_call_id: 'dropped' });
        t.is((await tx.query("SELECT * FROM calls WHERE provider_call_id = 'dropped'")).rowCount, 1, 'seen inside');
        throw failure;
      }),
    );
    t.is(thrown, failure, 'the error is rethrown as it was');
    const { rows } = await db.query<{ provider_call_id: string }>('SELECT provider_call_id FROM calls ORDER BY id');
    t.deepEqual(
      rows.map((row) => row.provider_call_id),
      ['kept'],
    );

    // A failed statement rolls the whole transaction back, the statements before it included.
    await t.throwsAsync(
      db.transaction(async (tx) => {
        await insertCall(tx, { provider_call_id: 'before' });
        await insertCall(tx, { provider_call_id: 'kept' });
      }),
      UNIQUE_VIOLATION,
    );
    t.is((await db.query("SELECT * FROM calls WHERE provider_call_id = 'before'")).rowCount, 0);

    // The database itself refuses queries from inside one of its transactions (PGlite would wait forever).
    await t.throwsAsync(
      db.transaction(async () => {
        await db.query('SELECT 1');
      }),
      { message: /use the transaction's own queryable/ },
    );
    let escaped: Parameters<Parameters<Database['transaction']>[0]>[0] | undefined;
    await db.transaction(async (tx) => {
      escaped = tx;
    });
    await t.throwsAsync(escaped!.query('SELECT 1'), { message: /transaction has finished/ });
    t.is((await db.query('SELECT 1 AS one')).rows[0]?.one, 1, 'the database works as before');
  });

  test(`LISTEN/NOTIFY: a notification reaches its listeners, one sent in a transaction only when it commits (${engine})`, async (t) => {
    const { db } = await fixture.open(t, engine);
    const heard: string[] = [];
    const others: string[] = [];
    const stop = await db.listen('call_events', (payload) => heard.push(payload));
    await db.listen('other_channel', (payload) => others.push(payload));
    const until = async (count: number) => {
      for (let waited = 0; heard.length < count && waited < 5_000; waited += 10) await new Promise((resolve) => setTimeout(resolve, 10));
    };

    await db.notify('call_events', '1');
    await until(1);
    t.deepEqual(heard, ['1']);

    await db.transaction(async (tx) => {
      await tx.notify('call_events', '2');
      await new Promise((resolve) => setTimeout(resolve, 100));
      t.deepEqual(heard, ['1'], 'not before the commit');
    });
    await until(2);
    t.deepEqual(heard, ['1', '2']);

    await t.throwsAsync(
      db.transaction(async (tx) => {
        await tx.notify('call_events', 'rolled back');
        throw new Error('abort');
      }),
    );
    await db.notify('call_events', '3');
    await until(3);
    t.deepEqual(heard, ['1', '2', '3'], 'a rolled-back notification is never delivered');
    t.deepEqual(others, [], 'channels are apart');

    await stop();
    await db.notify('call_events', '4');
    await db.notify('other_channel', 'still here');
    for (let waited = 0; others.length === 0 && waited < 5_000; waited += 10) await new Promise((resolve) => setTimeout(resolve, 10));
    t.deepEqual(others, ['still here']);
    t.deepEqual(heard, ['1', '2', '3'], 'nothing after unlisten');

    await t.throwsAsync(
      db.listen('Robert"; DROP TABLE calls; --', () => undefined),
      { message: /Invalid notification channel/ },
    );
    await t.throwsAsync(db.notify('no spaces allowed'), { message: /Invalid notification channel/ });
  });

  test(`a database that records a migration this code does not know refuses to start (${engine})`, async (t) => {
    const { db, settings } = await fixture.open(t, engine);
    await migrate(db, { logger: quiet });
    await db.query("INSERT INTO schema_migrations (version, name) VALUES (999, 'from-the-future')");
    const error = await t.throwsAsync(migrate(db, { logger: quiet }), { instanceOf: UnknownMigrationError });
    t.regex(error.message, /migration 999 \(from-the-future\), which this beckon-server does not know: a newer version migrated it/);
    await db.close();
    await t.throwsAsync(openMigratedDatabase(settings, { logger: quiet }), { instanceOf: UnknownMigrationError });
    // A migration recorded under another name is another schema's, too.
    const renamed: Migration[] = MIGRATIONS.map((migration) => ({ ...migration, name: `${migration.name}-renamed` }));
    const reopened = await openDatabase(settings, { logger: quiet });
    t.teardown(() => reopened.close());
    await reopened.query('DELETE FROM schema_migrations WHERE version = 999');
    await t.throwsAsync(migrate(reopened, { logger: quiet, migrations: renamed }), {
      instanceOf: UnknownMigrationError,
      message: /migration 1 is "call-events", this beckon-server's is "call-events-renamed"/,
    });
  });

  test(`a migration that fails leaves nothing of itself and is not recorded (${engine})`, async (t) => {
    const { db } = await fixture.open(t, engine);
    const migrations: Migration[] = [
      { version: 1, name: 'good', sql: 'CREATE TABLE good (id integer)' },
      { version: 2, name: 'bad', sql: 'CREATE TABLE half (id integer); SELECT no_such_function()' },
    ];
    await t.throwsAsync(migrate(db, { logger: quiet, migrations }), { message: /no_such_function/ });
    const { rows } = await db.query<{ version: number }>('SELECT version FROM schema_migrations');
    t.deepEqual(rows, [{ version: 1 }], 'the good one stays applied');
    t.is((await db.query("SELECT * FROM information_schema.tables WHERE table_name = 'half'")).rowCount, 0);
  });
}

test('PostgreSQL: a connection cut in the middle of a transaction fails that transaction, and the process carries on', async (t) => {
  const settings = await fixture.settings(t, 'postgres');
  const [db, admin] = await Promise.all([openDatabase(settings, { logger: quiet }), openDatabase(settings, { logger: quiet })]);
  t.teardown(async () => {
    await db.close();
    await admin.close();
  });
  // The backend is terminated between two statements, while the connection is checked out and idle: the
  // pool does not listen to it then, and its 'error' crashed the process before the fix.
  const cut = db.transaction(async (tx) => {
    const { rows } = await tx.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    await admin.query('SELECT pg_terminate_backend($1)', [rows[0]!.pid]);
    await new Promise((resolve) => setTimeout(resolve, 200));
    await tx.query('SELECT 1');
  });
  await t.throwsAsync(cut);
  t.deepEqual((await db.query<{ one: number }>('SELECT 1 AS one')).rows, [{ one: 1 }], 'the pool gives a working connection next');
});

test('two migrators on one PostgreSQL apply each migration exactly once', async (t) => {
  const settings = await fixture.settings(t, 'postgres');
  const [one, two] = await Promise.all([openDatabase(settings, { logger: quiet }), openDatabase(settings, { logger: quiet })]);
  t.teardown(async () => {
    await one.close();
    await two.close();
  });
  // Not idempotent on purpose (a second CREATE TABLE would fail), and slow enough for the two to overlap.
  const migrations: Migration[] = [1, 2, 3].map((version) => ({
    version,
    name: `step-${version}`,
    sql: `CREATE TABLE step_${version} (id integer); SELECT pg_sleep(0.1);`,
  }));
  const [first, second] = await Promise.all([migrate(one, { logger: quiet, migrations }), migrate(two, { logger: quiet, migrations })]);
  const applied = [...first.applied, ...second.applied].map((migration) => migration.version).sort();
  t.deepEqual(applied, [1, 2, 3], 'each once, by one or the other');
  t.deepEqual([first.version, second.version], [3, 3]);
  const { rows } = await one.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version');
  t.deepEqual(
    rows.map((row) => row.version),
    [1, 2, 3],
  );

  // And the real migrations, by two more instances starting together.
  const fresh = await fixture.settings(t, 'postgres');
  const both = await Promise.all([openMigratedDatabase(fresh, { logger: quiet }), openMigratedDatabase(fresh, { logger: quiet })]);
  t.teardown(() => Promise.all(both.map((db) => db.close())).then(() => undefined));
  t.is((await both[0].query('SELECT * FROM schema_migrations')).rowCount, MIGRATIONS.length);
});

test('the embedded database serves one process: a second open is refused while the first holds it; a dead holder’s lock is taken over', async (t) => {
  const { db, settings } = await fixture.open(t, 'pglite');
  const second = await t.throwsAsync(openDatabase(settings, { logger: quiet }), { instanceOf: DatabaseUnavailableError });
  t.regex(second.message, /is in use by this process: the embedded database serves one process/);
  t.true(second.message.includes(pgliteDir(settings.dataDir)));
  await db.close();

  const lock = `${pgliteDir(settings.dataDir)}.lock`;
  // A live process's lock: this one's parent stands in for another beckon-server.
  await writeFile(lock, `${process.ppid}\nsomeone-else\n`);
  const held = await t.throwsAsync(openDatabase(settings, { logger: quiet }), { instanceOf: DatabaseUnavailableError });
  t.regex(held.message, new RegExp(`in use by process ${process.ppid}: .*share a PostgreSQL server \\(DATABASE_URL\\)`));

  // A lock left by a process that is gone (a crash): taken over.
  const gone = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
  const pid = gone.pid!;
  await new Promise((resolve) => gone.once('exit', resolve));
  await writeFile(lock, `${pid}\nleft-by-a-crash\n`);
  const reopened = await openDatabase(settings, { logger: quiet });
  t.is((await readFile(lock, 'utf8')).split('\n')[0], String(process.pid));
  await reopened.close();
  await t.throwsAsync(readFile(lock, 'utf8'), { code: 'ENOENT' }, 'closing gives the lock back');
});

test('migrations are numbered 1, 2, 3… and named after their files', async (t) => {
  const files = (await readdir(new URL('../src/db/migrations/', import.meta.url))).filter((name) => /^\d{4}-/.test(name)).sort();
  t.deepEqual(
    MIGRATIONS.map((migration) => migration.version),
    MIGRATIONS.map((_, index) => index + 1),
  );
  t.deepEqual(
    MIGRATIONS.map((migration) => `${String(migration.version).padStart(4, '0')}-${migration.name}.ts`),
    files,
  );
});
