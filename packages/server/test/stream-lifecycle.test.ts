// The live stream's life around the routes: the real start() and its shutdown, heartbeats, and the bus
// making up for notifications PostgreSQL could not deliver while its LISTEN connection was lost.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { createApp, createLogger, loadConfig, migrate, start, type Database } from '../src/index.js';
import { callStreamRoute, createCallEventBus, type CallStreamOptions } from '../src/api/call-stream.js';
import { issueStreamToken } from '../src/api/stream-tokens.js';
import { recordCallChange } from '../src/events/calls.js';
import { newRouter } from '../src/router.js';
import { copyEmptyPglite } from '../../../examples/shared/pglite-template.mjs';
import { API_TENANTS } from './fixtures/api.js';
import { databaseFixture } from './fixtures/databases.js';
import { openSse } from './fixtures/sse.js';
import { eventually, SECRET, serveForTest, startHarness } from './helpers.js';

const fixture = databaseFixture(test);
const quiet = createLogger('silent');

/** An app seeing every id, and a stream token for it, straight in the database. */
async function streamToken(db: Database): Promise<string> {
  const { rows } = await db.query<{ id: string }>("INSERT INTO apps (name) VALUES ('Popup') RETURNING id");
  return (await issueStreamToken(db, rows[0]!.id)).token;
}

function ringing(db: Database, providerCallId: string) {
  return recordCallChange(db, {
    tenant: 'a.com-x',
    provider: 'netsapiens',
    providerCallId,
    direction: 'inbound',
    signal: 'ringing',
    at: new Date(),
    fromNumber: '+18135551234',
  });
}

async function migrated(t: ExecutionContext, engine: 'pglite' | 'postgres'): Promise<Database> {
  const { db } = await fixture.open(t, engine);
  await migrate(db, { logger: quiet });
  return db;
}

test('on the real server, a stream outlives the request timeouts, and the shutdown ends it instead of waiting for it', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'beckon-stream-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await copyEmptyPglite(join(dir, 'pglite'));
  await writeFile(join(dir, 'domains.json'), JSON.stringify(API_TENANTS));
  const config = loadConfig({
    NS_API_BASE: 'http://127.0.0.1:9',
    NS_TOKEN: 'token',
    UPDATE_SECRET: SECRET,
    DOMAINS_FILE: join(dir, 'domains.json'),
    DATA_DIR: dir,
    PORT: '0',
    // A stream is one long response: the limits on receiving a request must not cut it.
    HEADERS_TIMEOUT_MS: '300',
    REQUEST_TIMEOUT_MS: '500',
  });
  const running = await start({ config, logger: quiet });
  t.teardown(() => running.close(1_000));
  const stream = await openSse(`${running.url}/api/call-stream?token=${await streamToken(running.deps.db!)}`);
  t.is(stream.response.status, 200);
  t.teardown(() => stream.close());
  await stream.next();
  t.is((await stream.next())?.event, 'connected');
  await new Promise((resolve) => setTimeout(resolve, 2_500));
  const { eventId } = await ringing(running.deps.db!, 'after-the-timeouts');
  t.is((await stream.calls(1))[0]!.id, String(eventId));

  const started = Date.now();
  await running.close(10_000);
  const took = Date.now() - started;
  t.true(took < 3_000, `closed in ${took} ms, not at the 10 s cut-off`);
  t.is(await stream.next(), undefined, 'the stream ended');
});

/** PostgreSQL, its bus, and an app serving the stream route with `options` (a short heartbeat or lifetime). */
async function streamServer(t: ExecutionContext, options: Partial<CallStreamOptions>) {
  const db = options.db ?? (await migrated(t, 'postgres'));
  const harness = await startHarness({ tenants: API_TENANTS });
  t.teardown(() => harness.close());
  const bus = createCallEventBus(db, quiet);
  t.teardown(() => bus.close());
  const router = newRouter();
  router.get('/api/call-stream', callStreamRoute({ db, bus, ...options }));
  const { url } = await serveForTest(t, createApp({ ...harness.deps, db }, { routers: [router] }).callback());
  /** Opens a stream with `token` and reads up to its `connected` event. */
  const open = async (token: string) => {
    const stream = await openSse(`${url}/api/call-stream?token=${token}`);
    t.teardown(() => stream.close());
    await stream.next();
    t.is((await stream.next())?.event, 'connected');
    return stream;
  };
  return { db, bus, open };
}

test('an idle stream gets a heartbeat comment (every 15 s by default; 50 ms here)', async (t) => {
  const { db, open } = await streamServer(t, { heartbeatMs: 50 });
  const stream = await open(await streamToken(db));
  t.deepEqual(await stream.next(1_000), { comment: 'heartbeat' });
  t.deepEqual(await stream.next(1_000), { comment: 'heartbeat' });
});

test('a stream ends after its maximum lifetime (an hour by default), so its client reconnects with a new token', async (t) => {
  const { db, bus, open } = await streamServer(t, { maxStreamMs: 300 });
  const stream = await open(await streamToken(db));
  t.is(await stream.next(10_000), undefined, 'the server ended the stream');
  t.true(await eventually(() => bus.size === 0));
});

test("a deleted app's open streams end at the next heartbeat; other apps' streams stay", async (t) => {
  const { db, open } = await streamServer(t, { heartbeatMs: 50 });
  const newApp = async (name: string) => {
    const { rows } = await db.query<{ id: string }>('INSERT INTO apps (name) VALUES ($1) RETURNING id', [name]);
    return { appId: rows[0]!.id, token: (await issueStreamToken(db, rows[0]!.id)).token };
  };
  const [doomed, kept] = [await newApp('Leaked'), await newApp('Kept')];
  const [gone, stays] = [await open(doomed.token), await open(kept.token)];
  await db.query('DELETE FROM apps WHERE id = $1', [doomed.appId]);
  let next = await gone.next(10_000);
  while (next?.comment === 'heartbeat') next = await gone.next(10_000);
  t.is(next, undefined, 'the deleted app’s stream ended');
  const { eventId } = await ringing(db, 'after-the-deletion');
  t.is((await stays.calls(1))[0]!.id, String(eventId), 'the other app’s stream is still live');
});

test("regression: a stream opened while the heartbeat's check of deleted apps is running is not ended with them", async (t) => {
  const base = await migrated(t, 'postgres');
  // The check's query is held until the second stream is open: the window a real check leaves by chance.
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  let checking = false;
  const db: Database = {
    ...base,
    query: async (sql, params) => {
      if (sql.startsWith('SELECT id FROM apps')) {
        checking = true;
        await held;
      }
      return base.query(sql, params);
    },
  };
  const { open } = await streamServer(t, { heartbeatMs: 50, db });
  const newApp = async (name: string) => {
    const { rows } = await base.query<{ id: string }>('INSERT INTO apps (name) VALUES ($1) RETURNING id', [name]);
    return (await issueStreamToken(base, rows[0]!.id)).token;
  };
  await open(await newApp('First'));
  t.true(await eventually(() => checking, 5_000), 'the check of deleted apps started');
  const second = await open(await newApp('Second'));
  release();
  const { eventId } = await ringing(base, 'after-the-check');
  t.is((await second.calls(1, 10_000))[0]!.id, String(eventId), 'the stream opened meanwhile is still live');
});

test("PostgreSQL: an event committed while the bus's LISTEN connection was lost reaches the stream once it is back", async (t) => {
  const db = await migrated(t, 'postgres');
  const harness = await startHarness({ tenants: API_TENANTS });
  t.teardown(() => harness.close());
  const bus = createCallEventBus(db, quiet);
  t.teardown(() => bus.close());
  const { url } = await serveForTest(t, createApp({ ...harness.deps, db, callEvents: bus }).callback());
  const stream = await openSse(`${url}/api/call-stream?token=${await streamToken(db)}`);
  t.teardown(() => stream.close());
  await stream.next();
  t.is((await stream.next())?.event, 'connected');

  // The listener reconnects within a fraction of a second: on a loaded machine it may be back before the
  // commit, and then the notification is not lost. Cut it again until one is.
  let lost = 0;
  for (let attempt = 0; attempt < 10 && lost === 0; attempt += 1) {
    const cut = await db.query(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND query ILIKE 'LISTEN%'",
    );
    t.is(cut.rowCount, 1, 'the listening connection, cut');
    t.true(await eventually(() => !db.ready(), 2_000), 'the loss is noticed');
    const { eventId } = await ringing(db, `while-away-${attempt}`);
    // Committed while nobody listened: its notification is lost, and only the reconnection's read brings it.
    if (!db.ready()) lost += 1;
    t.is((await stream.calls(1))[0]!.id, String(eventId));
    await eventually(() => db.ready(), 5_000);
  }
  t.is(lost, 1, 'an event was committed while the listener was away');
});
