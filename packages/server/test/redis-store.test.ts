import { execFileSync } from 'node:child_process';
import { Writable } from 'node:stream';
import test, { type ExecutionContext } from 'ava';
import { Redis } from 'ioredis';
import { connectRedis, createLogger, openRedisTenantStore, type TenantChange } from '../src/index.js';
import { readRawTenants, redisKeys, writeTenants } from '../src/tenants/redis-store.js';
import { eventually } from './eventually.js';
import { startRedis, type RedisServer } from './fixtures/redis.js';
import { TENANTS, type LogLine } from './helpers.js';

// The Redis store in this process, several instances of it on one real redis-server: what happens when
// Redis loses its data. Whole beckon-server processes are in redis.test.ts.

const LOST = "Redis lost its config: re-seeded it from this instance's memory";

interface Setup {
  redis: RedisServer;
  /** The test's own connection: imports, flushes, reads what Redis holds. */
  admin: Redis;
  logs: LogLine[];
  /** Opens one more instance's store. */
  open(): ReturnType<typeof openRedisTenantStore>;
}

async function setup(t: ExecutionContext, tenants = TENANTS): Promise<Setup> {
  const redis = await startRedis();
  const admin = new Redis(redis.url);
  const closing: (() => Promise<unknown>)[] = [];
  t.teardown(async () => {
    for (const close of closing.reverse()) await close();
    admin.disconnect();
    await redis.kill();
  });
  if (Object.keys(tenants).length > 0) await writeTenants(admin, tenants);
  const logs: LogLine[] = [];
  const logger = createLogger(
    'info',
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString().split('\n').filter(Boolean)) logs.push(JSON.parse(line) as LogLine);
        done();
      },
    }),
  );
  const open = async () => {
    const connection = await connectRedis(redis.url, { logger });
    closing.push(() => connection.quit());
    const store = await openRedisTenantStore({ redis: connection, logger });
    closing.push(() => store.close());
    return store;
  };
  return { redis, admin, logs, open };
}

/** What the click-to-call form does to an id: its fields over whatever the entry holds. */
const buttonText =
  (text: string): TenantChange =>
  (current) => ({ ...current, api_domain: current?.api_domain ?? 'example.com', branding: { ...current?.branding, button_text: text } });

const lost = (logs: LogLine[]) => logs.filter((line) => line.msg === LOST);

test('an update after Redis lost its data applies to the entry this instance holds, and re-seeds every id', async (t) => {
  const { admin, logs, open } = await setup(t);
  const [a, b] = [await open(), await open()];
  await admin.flushall();

  const saved = await a.update('example.com-sales', buttonText('After the flush'));
  t.like(saved, { queue: '9002@example.com', branding: { button_text: 'After the flush', company_name: 'Example Co' } });
  const held = await readRawTenants(admin);
  t.deepEqual(Object.keys(held), ['example.com-sales', 'example.com-sms']);
  t.deepEqual(held['example.com-sales'], saved);
  t.deepEqual(held['example.com-sms'], TENANTS['example.com-sms']);
  t.true(await eventually(() => b.get('example.com-sales')?.branding?.button_text === 'After the flush', 10_000));
  t.like(b.get('example.com-sales'), { queue: '9002@example.com' });
  t.deepEqual(b.get('example.com-sms'), TENANTS['example.com-sms']);
  t.like(lost(logs), [{ level: 50, ids: 2 }]);
  t.is(lost(logs).length, 1);
});

test("Redis flushed between an update's read and its write: the update is retried on the re-seeded config, never written alone", async (t) => {
  const { redis, admin, open } = await setup(t);
  const a = await open();
  let flushed = false;
  await a.update('example.net-new', (current) => {
    // In the middle of the transaction, after the read: blocking, so the flush lands before the write is sent.
    if (!flushed) execFileSync('redis-cli', ['-p', String(redis.port), 'FLUSHALL']);
    flushed = true;
    return { ...current, api_domain: 'example.net', queue: '7001@example.net' };
  });
  t.deepEqual(Object.keys(await readRawTenants(admin)), ['example.com-sales', 'example.com-sms', 'example.net-new']);
});

test('two instances finding Redis empty re-seed it once, and both their updates land', async (t) => {
  const { admin, logs, open } = await setup(t);
  const [a, b] = [await open(), await open()];
  await admin.flushall();

  await Promise.all([
    a.update('example.com-sales', buttonText('From A')),
    b.update('example.com-sms', (current) => ({ ...current!, message: 'From B' })),
  ]);
  const held = await readRawTenants(admin);
  t.like(held['example.com-sales'], { queue: '9002@example.com', branding: { button_text: 'From A', company_name: 'Example Co' } });
  t.like(held['example.com-sms'], { from_number: '19295550100', message: 'From B' });
  t.is(lost(logs).length, 1);
});

test('a change announced in a Redis that lost its data makes the instances put their copy back first', async (t) => {
  const { admin, logs, open } = await setup(t);
  const [a, b] = [await open(), await open()];
  await admin.flushall();
  // A writer that knows nothing of the marker (an older version, a hand edit): one entry, announced.
  const keys = redisKeys();
  const added = { api_domain: 'example.net', queue: '7001@example.net' };
  await admin
    .multi()
    .set(keys.tenant('example.net-new'), JSON.stringify(added))
    .sadd(keys.ids, 'example.net-new')
    .publish(keys.changes, 'example.net-new')
    .exec();

  const everyId = ['example.com-sales', 'example.com-sms', 'example.net-new'];
  t.true(await eventually(async () => Object.keys(await readRawTenants(admin)).length === 3, 10_000));
  t.deepEqual(Object.keys(await readRawTenants(admin)), everyId);
  t.true(await eventually(() => [a, b].every((store) => everyId.every((id) => store.get(id))), 10_000));
  t.like(a.get('example.com-sales'), { queue: '9002@example.com' });
  t.is(lost(logs).length, 1);
});

test('a fresh Redis is marked by its first write, and one written before the marker existed is adopted at open', async (t) => {
  const marker = redisKeys().marker;
  const fresh = await setup(t, {});
  const empty = await fresh.open();
  t.is(await fresh.admin.exists(marker), 0);
  await empty.update('example.com-sales', buttonText('First'));
  t.is(await fresh.admin.exists(marker), 1);
  t.deepEqual(lost(fresh.logs), [], 'an empty instance on an empty Redis is a new deployment, not a loss');

  // Written by a version without the marker: its ids are Beckon's config, not leftovers of a loss.
  const older = await setup(t, {});
  const keys = redisKeys();
  await older.admin
    .multi()
    .set(keys.tenant('example.com-sms'), JSON.stringify(TENANTS['example.com-sms']))
    .sadd(keys.ids, 'example.com-sms')
    .exec();
  const store = await older.open();
  t.is(await older.admin.exists(marker), 1);
  await store.update('example.com-sales', buttonText('Second'));
  t.deepEqual(lost(older.logs), []);
});

test('a Redis holding the marker is the truth: ids import-config --replace removed are dropped, not re-seeded', async (t) => {
  const { admin, logs, open } = await setup(t);
  const [a, b] = [await open(), await open()];
  await writeTenants(admin, { 'example.com-sales': TENANTS['example.com-sales']! }, { replace: true });
  t.true(await eventually(() => a.get('example.com-sms') === undefined && b.get('example.com-sms') === undefined, 10_000));
  await a.update('example.com-sales', buttonText('After the import'));
  t.deepEqual(Object.keys(await readRawTenants(admin)), ['example.com-sales']);
  t.deepEqual(lost(logs), []);
});

test("closing the store ends a reload's retries at once", async (t) => {
  const { admin, logs, open } = await setup(t);
  const store = await open();
  // A reload that keeps failing (SMEMBERS answers WRONGTYPE), started by the subscription's return.
  const { ids } = redisKeys();
  await admin.multi().del(ids).set(ids, 'not a set').exec();
  await admin.client('KILL', 'TYPE', 'PUBSUB');
  t.true(await eventually(() => logs.some((line) => line.msg === 'config reload failed: serving the copy in memory and retrying')));
  t.is(store.state(), 'stale');

  const started = Date.now();
  await store.close();
  t.true(Date.now() - started < 2_000, `closed after ${Date.now() - started} ms`);
});

test('a full reload reads thousands of ids in batches off the main thread: every valid one served, the invalid ones left out and logged', async (t) => {
  const { admin, logs, open } = await setup(t);
  const store = await open();
  // More ids than one batch of SSCAN and MGET holds, twice over, plus an entry that breaks the schema and one that is not JSON.
  const many = Object.fromEntries(Array.from({ length: 2_500 }, (_, index) => [`bulk${index}.com-x`, { api_domain: `bulk${index}.com` }]));
  await writeTenants(admin, many, { replace: true });
  const { ids, tenant } = redisKeys();
  await admin
    .multi()
    .set(tenant('bad.com-x'), JSON.stringify({ api_domain: 'bad domain' }))
    .sadd(ids, 'bad.com-x')
    .exec();
  await admin.multi().set(tenant('text.com-x'), '{ not json').sadd(ids, 'text.com-x').publish(redisKeys().changes, '*').exec();
  t.true(await eventually(() => store.size() === 2_500 && logs.filter((line) => line.msg === 'config entry left out').length >= 2, 10_000));
  t.is(store.get('bulk2499.com-x')?.api_domain, 'bulk2499.com');
  t.is(store.get('example.com-sales'), undefined, 'replaced by the import');
  t.is(store.get('bad.com-x'), undefined);
  t.is(store.get('text.com-x'), undefined);
  const leftOut = new Set(logs.filter((line) => line.msg === 'config entry left out').map((line) => line.id));
  t.deepEqual([...leftOut].sort(), ['bad.com-x', 'text.com-x']);
});
