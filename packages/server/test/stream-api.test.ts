// The live stream over real HTTP, on PGlite and PostgreSQL: POST /api/stream-tokens and
// GET /api/call-stream (Server-Sent Events), fed by the process's bus from the database.
import test, { type ExecutionContext } from 'ava';
import { createApp, createLogger, migrate, openDatabase, type Database, type Engine } from '../src/index.js';
import { createCallEventBus, type CallEventBus } from '../src/api/call-stream.js';
import { recordCallChange, type CallChange } from '../src/events/calls.js';
import { API_TENANTS, INTERNAL_SECRET } from './fixtures/api.js';
import { databaseFixture, ENGINES, type DatabaseSettings } from './fixtures/databases.js';
import { openSse, type SseStream } from './fixtures/sse.js';
import { eventually, serveForTest, startHarness } from './helpers.js';

const fixture = databaseFixture(test);
const serial = test.serial.bind(test);
const concurrent = test;
const quiet = createLogger('silent');

interface StreamServer {
  url: string;
  db: Database;
  bus: CallEventBus;
  settings: DatabaseSettings;
  /** A new app (seeing `ids`, or every id) and its key. */
  newApp(ids?: string[]): Promise<string>;
  /** A stream token for the app with `key`. */
  token(key: string): Promise<string>;
  stream(query: string, headers?: Record<string, string>): Promise<SseStream>;
  logText(): string;
}

/** A Beckon app on a migrated database (or, with `settings`, a second instance on the same one), with a bus of its own to count subscribers. */
async function startStreamServer(
  t: ExecutionContext,
  engine: Engine,
  settings?: DatabaseSettings,
  limits?: { max: number; perApp: number },
): Promise<StreamServer> {
  let db: Database;
  if (settings) {
    db = await openDatabase(settings, { logger: quiet });
    t.teardown(() => db.close());
  } else {
    ({ db, settings } = await fixture.open(t, engine));
    await migrate(db, { logger: quiet });
  }
  const harness = await startHarness({ tenants: API_TENANTS });
  t.teardown(() => harness.close());
  const bus = createCallEventBus(db, harness.deps.logger);
  t.teardown(() => bus.close());
  const config = {
    ...harness.deps.config,
    internalApiSecret: INTERNAL_SECRET,
    apiKeyGraceHours: 24,
    ...(limits ? { streams: limits } : {}),
  };
  const { url } = await serveForTest(t, createApp({ ...harness.deps, config, db, callEvents: bus }).callback());
  const streams: SseStream[] = [];
  t.teardown(() => streams.forEach((stream) => stream.close()));
  return {
    url,
    db,
    bus,
    settings,
    logText: () => harness.logText(),
    async newApp(ids) {
      const response = await fetch(`${url}/internal/apps`, {
        method: 'POST',
        headers: { authorization: `Bearer ${INTERNAL_SECRET}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'Popup', ...(ids ? { ids } : {}) }),
      });
      if (response.status !== 201) throw new Error(`POST /internal/apps: ${response.status}`);
      return ((await response.json()) as { api_key: string }).api_key;
    },
    async token(key) {
      const response = await fetch(`${url}/api/stream-tokens`, { method: 'POST', headers: { 'x-app-api-key': key } });
      if (response.status !== 201) throw new Error(`POST /api/stream-tokens: ${response.status}`);
      return ((await response.json()) as { token: string }).token;
    },
    async stream(query, headers) {
      const stream = await openSse(`${url}/api/call-stream${query}`, headers);
      streams.push(stream);
      return stream;
    },
  };
}

let calls = 0;

/** A change of a new call (or of `callId`'s), recorded as the intake would. */
function change(tenant: string, signal: CallChange['signal'] = 'ringing', providerCallId = `stream-call-${(calls += 1)}`): CallChange {
  return {
    tenant,
    provider: 'netsapiens',
    providerCallId,
    direction: 'inbound',
    signal,
    at: new Date('2026-11-25T20:00:00Z'),
    fromNumber: '+18135551234',
    fromE164: '+18135551234',
    fromName: 'Ada Caller',
    toNumber: '+19295550100',
  };
}

async function record(db: Database, tenant: string, signal?: CallChange['signal'], providerCallId?: string): Promise<number> {
  const result = await recordCallChange(db, change(tenant, signal, providerCallId));
  return result.eventId!;
}

/** Reads `connected`, the first thing a stream says (after `retry:`). */
async function connected(t: ExecutionContext, stream: SseStream): Promise<void> {
  t.is(stream.response.status, 200);
  const first = await stream.next();
  t.truthy(first?.retry, 'retry: first');
  t.is((await stream.next())?.event, 'connected', 'then event: connected');
}

const callOf = (event: { data?: string }) => (JSON.parse(event.data!) as { type: string; call: Record<string, unknown> }).call;

for (const engine of ENGINES) {
  // One PGlite at a time: several initialising at once in this process starve each other's tests.
  const test = engine === 'pglite' ? serial : concurrent;
  test(`a stream token: 201 with the token and its expiry 5 minutes on, not cached; no key is a 401 (${engine})`, async (t) => {
    const server = await startStreamServer(t, engine);
    const key = await server.newApp();
    const response = await fetch(`${server.url}/api/stream-tokens`, { method: 'POST', headers: { authorization: `Bearer ${key}` } });
    t.is(response.status, 201);
    t.is(response.headers.get('cache-control'), 'no-store');
    const body = (await response.json()) as { token: string; expires_at: string };
    t.regex(body.token, /^bst_[A-Za-z0-9_-]{43}$/);
    const ttl = Date.parse(body.expires_at) - Date.now();
    t.true(ttl > 290_000 && ttl <= 301_000, `expires in ${ttl} ms`);
    const { rows } = await server.db.query<{ hash: string }>('SELECT hash FROM stream_tokens');
    t.is(rows.length, 1);
    t.false(rows[0]!.hash.includes(body.token.slice(4)), 'only a hash is stored');
    t.is((await fetch(`${server.url}/api/stream-tokens`, { method: 'POST' })).status, 401);
  });

  test(`connected first, then each change of a call as event: call with the call event's id and the call's shape (${engine})`, async (t) => {
    const server = await startStreamServer(t, engine);
    const token = await server.token(await server.newApp());
    const stream = await server.stream(`?token=${token}`, { origin: 'https://crm.example.com' });
    t.is(stream.response.headers.get('content-type'), 'text/event-stream; charset=utf-8');
    t.regex(stream.response.headers.get('cache-control') ?? '', /no-store/);
    t.is(stream.response.headers.get('x-accel-buffering'), 'no');
    t.is(stream.response.headers.get('access-control-allow-origin'), '*');
    t.is(stream.response.headers.get('access-control-allow-credentials'), null);
    t.is(stream.response.headers.get('content-encoding'), null);
    await connected(t, stream);

    const ringing = await record(server.db, 'a.com-x', 'ringing', 'shape-1');
    const answered = await record(server.db, 'a.com-x', 'answered', 'shape-1');
    const [first, second] = await stream.calls(2);
    t.is(first!.id, String(ringing));
    t.is(second!.id, String(answered));
    const { rows } = await server.db.query<{ id: number }>("SELECT id FROM calls WHERE provider_call_id = 'shape-1'");
    t.deepEqual(JSON.parse(first!.data!), {
      type: 'call',
      call: {
        id: String(rows[0]!.id),
        tenant: 'a.com-x',
        provider: 'netsapiens',
        session_id: 'shape-1',
        from_number: '+18135551234',
        from_name: 'Ada Caller',
        to_number: '+19295550100',
        direction: 'inbound',
        status: 'ringing',
        timestamp: '2026-11-25T20:00:00.000Z',
        customer_id: null,
        customer_name: null,
        customer_email: null,
        customer_url: null,
      },
    });
    t.is(callOf(second!).status, 'answered');
  });

  test(`an app with ids ["a.com-x"] never receives b.com-y's calls (${engine})`, async (t) => {
    const server = await startStreamServer(t, engine);
    const onlyA = await server.stream(`?token=${await server.token(await server.newApp(['a.com-x']))}`);
    const every = await server.stream(`?token=${await server.token(await server.newApp())}`);
    await connected(t, onlyA);
    await connected(t, every);
    const b = await record(server.db, 'b.com-y');
    const a = await record(server.db, 'a.com-x');
    t.deepEqual(
      (await every.calls(2)).map((event) => event.id),
      [String(b), String(a)],
    );
    const [seen] = await onlyA.calls(1);
    t.is(seen!.id, String(a), "b.com-y's event, recorded first, was never sent");
    t.is(callOf(seen!).tenant, 'a.com-x');
  });

  test(`replay from Last-Event-ID or ?last_event_id=: exactly the events after it, then live ones, none twice or missed (${engine})`, async (t) => {
    const server = await startStreamServer(t, engine);
    const token = await server.token(await server.newApp(['a.com-x']));
    const before: number[] = [];
    for (let index = 0; index < 4; index += 1) before.push(await record(server.db, index === 2 ? 'b.com-y' : 'a.com-x'));
    const scoped = before.filter((_, index) => index !== 2);

    const byHeader = await server.stream(`?token=${token}&last_event_id=${before[3]}`, { 'last-event-id': String(before[0]) });
    await connected(t, byHeader);
    t.deepEqual(
      (await byHeader.calls(2)).map((event) => Number(event.id)),
      scoped.slice(1),
      'the header wins over the query (an EventSource reconnecting sends it)',
    );
    const byQuery = await server.stream(`?token=${token}&last_event_id=${before[0]}`);
    await connected(t, byQuery);
    t.deepEqual(
      (await byQuery.calls(2)).map((event) => Number(event.id)),
      scoped.slice(1),
    );

    // Events recorded while a stream connects and replays: each arrives once, in order.
    const during = Promise.all(Array.from({ length: 20 }, () => record(server.db, 'a.com-x')));
    const racing = await server.stream(`?token=${token}&last_event_id=${before[0]}`);
    await connected(t, racing);
    const recorded = await during;
    const later = await record(server.db, 'a.com-x');
    const expected = [...scoped.slice(1), ...recorded.sort((x, y) => x - y), later];
    t.deepEqual(
      (await racing.calls(expected.length)).map((event) => Number(event.id)),
      expected,
    );
    t.deepEqual(
      (await byHeader.calls(expected.length - 2)).map((event) => Number(event.id)),
      expected.slice(2),
      'live after the replay',
    );
  });

  test(`a fresh stream starts with the calls in progress (no id: line), a stale or ended one left out; a reconnection replays instead (${engine})`, async (t) => {
    const server = await startStreamServer(t, engine);
    const key = await server.newApp(['a.com-x']);
    await record(server.db, 'a.com-x', 'ringing', 'progress-ringing');
    await record(server.db, 'a.com-x', 'ringing', 'progress-answered');
    await record(server.db, 'b.com-y', 'ringing', 'progress-other-id');
    await record(server.db, 'a.com-x', 'ringing', 'progress-ended');
    await record(server.db, 'a.com-x', 'ended', 'progress-ended');
    await record(server.db, 'a.com-x', 'ringing', 'progress-stale');
    await record(server.db, 'a.com-x', 'answered', 'progress-answered');
    // Its end was never reported: ringing for two hours is not believed.
    await server.db.query("UPDATE calls SET updated_at = now() - interval '2 hours' WHERE provider_call_id = 'progress-stale'");

    const stream = await server.stream(`?token=${await server.token(key)}`);
    t.truthy((await stream.next())?.retry);
    const hello = await stream.next();
    t.is(hello?.event, 'connected');
    const progress = await stream.calls(2);
    t.deepEqual(
      progress.map((event) => [callOf(event).session_id, callOf(event).status, event.id]),
      [
        ['progress-ringing', 'ringing', undefined],
        ['progress-answered', 'answered', undefined],
      ],
      'oldest change first, without an id: the client keeps the connected event id',
    );
    const later = await record(server.db, 'a.com-x', 'ringing', 'progress-later');
    const [live] = await stream.calls(1);
    t.is(live!.id, String(later));

    const again = await server.stream(`?token=${await server.token(key)}&last_event_id=${hello!.id}`);
    await connected(t, again);
    const [replayed] = await again.calls(1);
    t.is(callOf(replayed!).session_id, 'progress-later', 'a reconnection replays what it missed, not the calls in progress');
    t.is(replayed!.id, String(later));

    const active = await fetch(`${server.url}/api/active-calls`, { headers: { 'x-app-api-key': key } });
    t.deepEqual(
      ((await active.json()) as { calls: Array<{ session_id: string }> }).calls.map((call) => call.session_id),
      ['progress-later', 'progress-answered', 'progress-ringing'],
      "/api/active-calls leaves out the ended, the stale and the other id's calls too",
    );
  });

  test(`a stream resuming over a megabyte back, or starting with as many calls in progress, gets all of them: it waits for the client instead of cutting it off (${engine})`, async (t) => {
    // Regression: each wait for the client left a close and an error listener on the response.
    const piledUp: string[] = [];
    const onWarning = (warning: Error) => {
      if (warning.name === 'MaxListenersExceededWarning') piledUp.push(warning.message);
    };
    process.on('warning', onWarning);
    t.teardown(() => process.off('warning', onWarning));
    const server = await startStreamServer(t, engine);
    const key = await server.newApp(['a.com-x']);
    // 600 ringing calls of a customer with a 2 KB page address: each frame over 2 KB, 1.3 MB in all.
    const { rows } = await server.db.query<{ id: number }>(
      `INSERT INTO customers (tenant, external_id, name, url) VALUES ('a.com-x', 'crm-long', 'Long Page Ltd', $1) RETURNING id`,
      [`https://crm.example.com/${'p'.repeat(2_000)}`],
    );
    await server.db.query(
      `WITH new_calls AS (
         INSERT INTO calls (tenant, provider, provider_call_id, direction, from_number, state, started_at, customer_id)
         SELECT 'a.com-x', 'netsapiens', 'bulk-' || n, 'inbound', '+18135551234', 'ringing', now(), $1 FROM generate_series(1, 600) n
         RETURNING id)
       INSERT INTO call_events (call_id, tenant, state, at) SELECT id, 'a.com-x', 'ringing', now() FROM new_calls ORDER BY id`,
      [rows[0]!.id],
    );
    const replayed = await server.stream(`?token=${await server.token(key)}&last_event_id=0`);
    await connected(t, replayed);
    const events = await replayed.calls(600, 30_000);
    t.is(new Set(events.map((event) => event.id)).size, 600, 'every event of the replay, once');

    const fresh = await server.stream(`?token=${await server.token(key)}`);
    await connected(t, fresh);
    const inProgress = await fresh.calls(600, 30_000);
    t.is(new Set(inProgress.map((event) => callOf(event).session_id)).size, 600, 'every call in progress');
    await new Promise((resolve) => setImmediate(resolve));
    t.deepEqual(piledUp, [], 'no listeners pile up on a response while it waits for its client');
  });

  test(`a Last-Event-ID past the newest event (a replaced database) starts afresh: the calls in progress, then live events (${engine})`, async (t) => {
    const server = await startStreamServer(t, engine);
    const key = await server.newApp(['a.com-x']);
    const ringingId = await record(server.db, 'a.com-x', 'ringing', 'past-the-end');
    const stream = await server.stream(`?token=${await server.token(key)}&last_event_id=999999999999`);
    t.truthy((await stream.next())?.retry);
    const hello = await stream.next();
    t.is(hello?.event, 'connected');
    t.is(hello?.id, String(ringingId), 'the stream starts at the newest event, not past it');
    const [inProgress] = await stream.calls(1);
    t.is(callOf(inProgress!).session_id, 'past-the-end');
    const later = await record(server.db, 'a.com-x', 'ringing', 'past-the-end-later');
    t.is((await stream.calls(1))[0]!.id, String(later));
  });

  test(`HEAD with a valid token answers the stream's headers and ends; it holds no stream (${engine})`, async (t) => {
    const server = await startStreamServer(t, engine);
    const token = await server.token(await server.newApp());
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), 10_000);
    const response = await fetch(`${server.url}/api/call-stream?token=${token}`, { method: 'HEAD', signal: controller.signal });
    clearTimeout(timer);
    t.is(response.status, 200);
    t.regex(response.headers.get('content-type') ?? '', /^text\/event-stream/);
    t.is(server.bus.size, 0);
  });

  test(`past MAX_STREAMS_PER_APP an app's next stream is a 429 with Retry-After, other apps still connect; past MAX_STREAMS every app's is (${engine})`, async (t) => {
    const server = await startStreamServer(t, engine, undefined, { max: 3, perApp: 2 });
    const [first, second] = [await server.newApp(), await server.newApp()];
    for (const key of [first, first]) await connected(t, await server.stream(`?token=${await server.token(key)}`));
    const refused = await fetch(`${server.url}/api/call-stream?token=${await server.token(first)}`);
    t.is(refused.status, 429);
    t.truthy(Number(refused.headers.get('retry-after')) >= 1);
    t.is(refused.headers.get('access-control-allow-origin'), '*');
    t.like(await refused.json(), { status: 'error', code: 'too_many_streams' });
    const other = await server.stream(`?token=${await server.token(second)}`);
    await connected(t, other);
    const full = await fetch(`${server.url}/api/call-stream?token=${await server.token(second)}`);
    t.is(full.status, 429, 'the server holds MAX_STREAMS streams');
    t.regex(((await full.json()) as { message: string }).message, /as many live streams/);
    other.close();
    t.true(await eventually(() => server.bus.size === 2));
    await connected(t, await server.stream(`?token=${await server.token(second)}`));
  });

  test(`a missing, made-up, expired or another database's token is a 401 before the stream starts; a bad Last-Event-ID a 400 (${engine})`, async (t) => {
    const server = await startStreamServer(t, engine);
    const other = await startStreamServer(t, engine);
    const foreign = await other.token(await other.newApp());
    const expired = await server.token(await server.newApp());
    await server.db.query("UPDATE stream_tokens SET expires_at = now() - interval '1 second'");
    const valid = await server.token(await server.newApp());
    for (const query of ['', '?token=', `?token=bst_${'A'.repeat(43)}`, `?token=${foreign}`, `?token=${expired}`, `?token=${valid}x`]) {
      const response = await fetch(`${server.url}/api/call-stream${query}`);
      t.is(response.status, 401, query);
      t.is(response.headers.get('access-control-allow-origin'), '*');
      t.regex(response.headers.get('content-type') ?? '', /^application\/json/);
      t.deepEqual(await response.json(), {
        status: 'error',
        message: 'A valid stream token is required: get one from POST /api/stream-tokens (each lasts 5 minutes)',
      });
    }
    const bad = await fetch(`${server.url}/api/call-stream?token=${valid}`, { headers: { 'last-event-id': 'abc' } });
    t.is(bad.status, 400);
    t.is(server.bus.size, 0);
    for (const token of [foreign, expired, valid]) t.false(server.logText().includes(token), 'no token in the log');
  });

  test(`a client that disconnects leaves nothing behind: its subscription ends, the others stay (${engine})`, async (t) => {
    const server = await startStreamServer(t, engine);
    const key = await server.newApp();
    const streams = await Promise.all([1, 2, 3].map(async () => server.stream(`?token=${await server.token(key)}`)));
    for (const stream of streams) await connected(t, stream);
    t.is(server.bus.size, 3);
    streams[0]!.close();
    streams[1]!.close();
    t.true(await eventually(() => server.bus.size === 1), `subscribers left: ${server.bus.size}`);
    const id = await record(server.db, 'a.com-x');
    t.is((await streams[2]!.calls(1))[0]!.id, String(id));
    streams[2]!.close();
    t.true(await eventually(() => server.bus.size === 0));
  });

  test(`closing the bus (the server's shutdown) ends every open stream; a stream asked for afterwards is a 503 (${engine})`, async (t) => {
    const server = await startStreamServer(t, engine);
    const key = await server.newApp();
    const stream = await server.stream(`?token=${await server.token(key)}`);
    await connected(t, stream);
    await server.bus.close();
    t.is(await stream.next(), undefined, 'the stream ended');
    const late = await fetch(`${server.url}/api/call-stream?token=${await server.token(key)}`);
    t.is(late.status, 503);
    t.truthy(late.headers.get('retry-after'));
  });
}

test('two instances on one PostgreSQL: a change recorded through one reaches a stream on the other', async (t) => {
  const first = await startStreamServer(t, 'postgres');
  const second = await startStreamServer(t, 'postgres', first.settings);
  const stream = await second.stream(`?token=${await second.token(await second.newApp(['a.com-x']))}`);
  await connected(t, stream);
  const id = await record(first.db, 'a.com-x');
  const [event] = await stream.calls(1);
  t.is(event!.id, String(id));
  t.is(callOf(event!).tenant, 'a.com-x');
});
