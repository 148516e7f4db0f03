import test, { type ExecutionContext } from 'ava';
import { createNsClient } from '@beckon/ns-client';
import { startNsSandbox, type NsSandbox } from '@beckon/ns-client/sandbox';
import { createLogger, migrate, openDatabase, placementFor, startCallbackWorker, type Database, type TenantConfig } from '../src/index.js';
import { bookCallback } from '../src/callbacks/store.js';
import { databaseFixture, ENGINES, type DatabaseSettings } from './fixtures/databases.js';
import { eventually as eventuallyWithin, TENANTS } from './helpers.js';

/**
 * The placement worker on real databases and the NS sandbox, with a clock the test moves: bookings placed
 * at their time by exactly one of two instances, after a restart, late ones placed or missed, and a
 * NetSapiens 5xx tried once more a minute later and never doubled.
 */

const databases = databaseFixture(test);
const ID = 'example.com-sales';
const AT = new Date('2026-11-26T15:00:00Z');
const BOOKED_AT = new Date('2026-11-25T15:00:00Z');

/** The one clock of a test: every instance reads it. */
function clock(start: Date) {
  let now = start;
  return {
    now: () => now,
    set(instant: Date) {
      now = instant;
    },
    advance(ms: number) {
      now = new Date(now.getTime() + ms);
    },
  };
}

async function withSandbox(t: ExecutionContext): Promise<NsSandbox> {
  const sandbox = await startNsSandbox();
  t.teardown(() => sandbox.close());
  return sandbox;
}

/** One instance: its own connection to the database, its worker, the sandbox as NetSapiens. */
function instance(t: ExecutionContext, db: Database, sandbox: NsSandbox, now: () => Date, tenants: Record<string, TenantConfig> = TENANTS) {
  const ns = createNsClient({ baseUrl: sandbox.url, auth: { token: sandbox.token }, timeoutMs: 15_000 });
  const worker = startCallbackWorker({
    db,
    tenants: { get: (id) => tenants[id] },
    placementFor: (tenant) => placementFor({ ns }, tenant),
    logger: createLogger('silent'),
    now,
    pollMs: 20,
  });
  t.teardown(() => worker.close());
  return worker;
}

async function openMigrated(t: ExecutionContext, settings: DatabaseSettings): Promise<Database> {
  const db = await openDatabase(settings, { logger: createLogger('silent') });
  t.teardown(() => db.close());
  await migrate(db, { logger: createLogger('silent') });
  return db;
}

async function book(db: Database, phone: string, scheduledAt = AT) {
  const booked = await bookCallback(db, { tenant: ID, provider: 'netsapiens', phone, scheduledAt }, BOOKED_AT);
  if (booked === 'already_booked') throw new Error('already booked');
  return booked.callbackId;
}

async function statuses(db: Database, callbackId: string): Promise<string[]> {
  const { rows } = await db.query<{ status: string }>('SELECT status FROM callback_events WHERE callback_id = $1 ORDER BY id', [
    callbackId,
  ]);
  return rows.map((row) => row.status);
}

/** Several PGlite databases start at once in this file: on a loaded machine a round can take seconds. */
const eventually = (check: () => boolean | Promise<boolean>) => eventuallyWithin(check, 20_000);

/** Lets the workers run a few more rounds: what did not happen by then is not going to. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 300));

test('postgres: a booking is placed at its time by exactly one of two instances sharing the database', async (t) => {
  const sandbox = await withSandbox(t);
  const settings = await databases.settings(t, 'postgres');
  const first = await openMigrated(t, settings);
  const second = await openMigrated(t, settings);
  const time = clock(new Date(AT.getTime() - 60_000));
  const ids = await Promise.all(
    ['+18135550001', '+18135550002', '+18135550003', '+18135550004', '+18135550005'].map((phone) => book(first, phone)),
  );
  const workers = [instance(t, first, sandbox, time.now), instance(t, second, sandbox, time.now)];
  await settle();
  t.is(sandbox.calls.length, 0, 'nothing is placed before its time');

  time.set(AT);
  for (const worker of workers) worker.wake();
  t.true(await eventually(() => sandbox.calls.length === 5));
  await settle();
  t.is(sandbox.calls.length, 5, 'each booking once');
  t.true(await eventually(async () => (await Promise.all(ids.map((id) => statuses(first, id)))).every((list) => list.length === 2)));
  t.deepEqual(sandbox.calls.map((call) => call.destination).sort(), [
    '+18135550001',
    '+18135550002',
    '+18135550003',
    '+18135550004',
    '+18135550005',
  ]);
  for (const id of ids) t.deepEqual(await statuses(first, id), ['scheduled', 'queued']);
});

for (const engine of ENGINES) {
  test(`${engine}: a booking made before a restart is placed by the instance that starts after it`, async (t) => {
    const sandbox = await withSandbox(t);
    const settings = await databases.settings(t, engine);
    const time = clock(new Date(AT.getTime() - 60_000));
    const before = await openDatabase(settings, { logger: createLogger('silent') });
    await migrate(before, { logger: createLogger('silent') });
    const id = await book(before, '+18135551234');
    const worker = instance(t, before, sandbox, time.now);
    await settle();
    await worker.close();
    await before.close();
    t.is(sandbox.calls.length, 0);

    // Down past the booking's time, back up five minutes after it: still placed.
    time.set(new Date(AT.getTime() + 5 * 60_000));
    const after = await openMigrated(t, settings);
    instance(t, after, sandbox, time.now);
    t.true(await eventually(() => sandbox.calls.length === 1));
    t.like(sandbox.calls[0], { queue: '9002@example.com', destination: '+18135551234' });
    t.true(await eventually(async () => (await statuses(after, id)).length === 2));
    t.deepEqual(await statuses(after, id), ['scheduled', 'queued']);
  });

  test(`${engine}: after downtime, a booking under 15 minutes late is placed at once, one 15 minutes late or more is missed`, async (t) => {
    const sandbox = await withSandbox(t);
    const db = await openMigrated(t, await databases.settings(t, engine));
    const time = clock(new Date(AT.getTime() + 15 * 60_000));
    const missed = await book(db, '+18135550001', AT);
    const justInTime = await book(db, '+18135550002', new Date(AT.getTime() + 60_001));
    instance(t, db, sandbox, time.now);
    t.true(await eventually(async () => (await statuses(db, missed)).length === 2 && (await statuses(db, justInTime)).length === 2));
    t.deepEqual(await statuses(db, missed), ['scheduled', 'missed']);
    t.deepEqual(await statuses(db, justInTime), ['scheduled', 'queued']);
    t.deepEqual(
      sandbox.calls.map((call) => call.destination),
      ['+18135550002'],
    );
  });

  test(`${engine}: a NetSapiens 5xx is tried once more a minute later, and the call is placed once`, async (t) => {
    const sandbox = await withSandbox(t);
    const db = await openMigrated(t, await databases.settings(t, engine));
    const time = clock(AT);
    sandbox.inject({ route: 'queuedcall.create', status: 503 });
    const id = await book(db, '+18135551234');
    instance(t, db, sandbox, time.now);
    const attempts = () => sandbox.requests.filter((request) => request.route === 'queuedcall.create').length;
    t.true(
      await eventually(async () => (await db.query(`SELECT 1 FROM callbacks WHERE status = 'scheduled' AND attempts = 1`)).rowCount === 1),
    );
    await settle();
    t.is(attempts(), 1, 'no retry before the minute is up');
    const { rows } = await db.query<{ status: string; attempts: number; due_at: Date; last_error: string }>(
      'SELECT status, attempts, due_at, last_error FROM callbacks',
    );
    t.like(rows[0], { status: 'scheduled', attempts: 1, last_error: 'NsServerError' });
    t.is(rows[0]!.due_at.getTime(), AT.getTime() + 60_000);

    time.advance(60_000);
    t.true(await eventually(() => sandbox.calls.length === 1));
    await settle();
    t.is(attempts(), 2);
    t.is(sandbox.calls.length, 1);
    t.true(await eventually(async () => (await statuses(db, id)).length === 2));
    t.deepEqual(await statuses(db, id), ['scheduled', 'queued']);
  });
}

test('pglite: two 5xx fail the booking after the one retry; a 4xx fails it at once', async (t) => {
  const sandbox = await withSandbox(t);
  const db = await openMigrated(t, await databases.settings(t, 'pglite'));
  const time = clock(AT);
  sandbox.inject({ route: 'queuedcall.create', status: 500, times: 2 });
  const twice = await book(db, '+18135550001');
  instance(t, db, sandbox, time.now);
  const attempts = () => sandbox.requests.filter((request) => request.route === 'queuedcall.create').length;
  // Moved on only once the retry is due a minute after the failure (as the worker's clock had it then).
  t.true(
    await eventually(async () => (await db.query(`SELECT 1 FROM callbacks WHERE status = 'scheduled' AND attempts = 1`)).rowCount === 1),
  );
  time.advance(60_000);
  t.true(await eventually(async () => (await statuses(db, twice)).includes('failed')));
  await settle();
  time.advance(10 * 60_000);
  await settle();
  t.is(attempts(), 2, 'tried twice, never a third time');
  t.deepEqual(await statuses(db, twice), ['scheduled', 'failed']);

  sandbox.inject({ route: 'queuedcall.create', status: 400 });
  const refused = await book(db, '+18135550002', new Date(time.now().getTime() + 60_000));
  time.advance(60_000);
  t.true(await eventually(async () => (await statuses(db, refused)).includes('failed')));
  time.advance(5 * 60_000);
  await settle();
  t.is(attempts(), 3, 'a 4xx is not tried again');
  t.is(sandbox.calls.length, 0);
});

test('pglite: an id removed (or left without a queue) since the booking fails it rather than placing it', async (t) => {
  const sandbox = await withSandbox(t);
  const db = await openMigrated(t, await databases.settings(t, 'pglite'));
  const id = await book(db, '+18135551234');
  instance(t, db, sandbox, () => AT, { [ID]: { api_domain: 'example.com' } });
  t.true(await eventually(async () => (await statuses(db, id)).includes('failed')));
  t.is(sandbox.requests.length, 0);
});

test('pglite: a claim whose instance stopped mid-placement is marked failed, not placed again', async (t) => {
  const sandbox = await withSandbox(t);
  const db = await openMigrated(t, await databases.settings(t, 'pglite'));
  const id = await book(db, '+18135551234');
  // What an instance leaves behind when it stops between claiming and recording the outcome.
  await db.query(`UPDATE callbacks SET status = 'placing', attempts = 1, locked_until = $1 WHERE id = $2`, [
    new Date(AT.getTime() + 120_000),
    id,
  ]);
  const time = clock(AT);
  instance(t, db, sandbox, time.now);
  await settle();
  t.deepEqual(await statuses(db, id), ['scheduled'], 'the lease still holds');
  time.advance(121_000);
  t.true(await eventually(async () => (await statuses(db, id)).includes('failed')));
  t.is(sandbox.requests.length, 0);
});
