// Call events under real `beckon-server` processes: two processes on one PostgreSQL (a delivery to one
// reaches a live stream on the other), and a restart on either engine (calls, API keys, the NetSapiens
// subscription and its post-url, and the stream's replay survive it). NetSapiens is the sandbox; its
// deliveries reach the processes through a stand-in for the reverse proxy, so that one post-url
// (PUBLIC_URL) serves whichever process is behind it, as it does in production.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { startNsSandbox, type NsSandbox } from '@beckon/ns-client/sandbox';
import type { CallView } from '../src/api/call-view.js';
import { pgliteDir } from '../src/db/open.js';
import { databaseFixture, emptyDataDir, ENGINES } from './fixtures/databases.js';
import { ID } from './fixtures/netsapiens.js';
import { openSse, type SseEvent } from './fixtures/sse.js';
import { eventually, SECRET, serveForTest, TENANTS } from './helpers.js';
import { staleBuild, startServerProcess, type ServerProcess } from './server-process.js';

const databases = databaseFixture(test);
const INTERNAL_SECRET = 'internal-api-secret-for-process-tests-0123456789';
// Generous: other test files run at the same time, and an embedded database's first start takes seconds.
const START_MS = 120_000;
const EVENT_MS = 30_000;

/** A call as the sandbox places it into example.com, to user 2000 through its DID. */
const CALL = { domain: 'example.com', from: '+18135551234', fromName: 'Dana Reyes', to: '2000', dialed: '19295550100' };

interface Setup {
  sandbox: NsSandbox;
  /** PUBLIC_URL: forwards every request to the process `behind` it. */
  proxy: { url: string; behind?: ServerProcess };
  /** Starts a `beckon-server` on `database` (DATA_DIR or DATABASE_URL), killed after the test if still running. */
  start(database: Record<string, string>): Promise<ServerProcess>;
}

/** A folder with domains.json, a NetSapiens sandbox that does not retry (a refused delivery shows at once), and the proxy. */
async function setUp(t: ExecutionContext): Promise<Setup> {
  const dir = await mkdtemp(join(tmpdir(), 'beckon-processes-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'domains.json');
  await writeFile(file, JSON.stringify(TENANTS, null, 2));
  const sandbox = await startNsSandbox({ deliveries: { retries: 0, timeoutMs: EVENT_MS } });
  t.teardown(() => sandbox.close());
  const proxy: Setup['proxy'] = { url: '' };
  proxy.url = (
    await serveForTest(t, (request, response) => {
      if (!proxy.behind) return void response.writeHead(502).end();
      const upstream = httpRequest(
        new URL(request.url ?? '/', proxy.behind.url),
        { method: request.method, headers: request.headers },
        (answer) => {
          response.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(response);
        },
      );
      upstream.on('error', () => (response.headersSent ? response.destroy() : response.writeHead(502).end()));
      request.pipe(upstream);
    })
  ).url;
  const env = {
    NS_API_BASE: sandbox.url,
    NS_TOKEN: sandbox.token,
    NS_TIMEOUT_MS: '20000',
    UPDATE_SECRET: SECRET,
    DOMAINS_FILE: file,
    INTERNAL_API_SECRET: INTERNAL_SECRET,
    PUBLIC_URL: proxy.url,
  };
  return {
    sandbox,
    proxy,
    async start(database) {
      const running = await startServerProcess({ ...env, ...database }, dir, START_MS);
      t.teardown(() => running.kill());
      return running;
    },
  };
}

/** An admin request (`/internal/*`) with the internal secret. */
function internal(server: ServerProcess, path: string, body?: unknown): Promise<Response> {
  return fetch(server.url + path, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { authorization: `Bearer ${INTERNAL_SECRET}`, 'content-type': 'application/json' },
    body: body === undefined ? null : JSON.stringify(body),
  });
}

async function createApp(server: ServerProcess): Promise<{ appId: string; key: string }> {
  const response = await internal(server, '/internal/apps', { name: 'Popup', ids: [ID] });
  if (response.status !== 201) throw new Error(`POST /internal/apps: ${response.status} ${await response.text()}`);
  const body = (await response.json()) as { app_id: string; api_key: string };
  return { appId: body.app_id, key: body.api_key };
}

async function subscriptions(server: ServerProcess): Promise<Record<string, unknown>[]> {
  const response = await internal(server, '/internal/subscriptions');
  if (response.status !== 200) throw new Error(`GET /internal/subscriptions: ${response.status}`);
  return ((await response.json()) as { subscriptions: Record<string, unknown>[] }).subscriptions;
}

/** GET /api/calls with an app's key: the status, and the calls when it is a 200. */
async function listCalls(server: ServerProcess, key: string): Promise<{ status: number; calls?: CallView[] }> {
  const response = await fetch(`${server.url}/api/calls`, { headers: { 'x-app-api-key': key } });
  if (response.status !== 200) return { status: response.status };
  return { status: 200, calls: ((await response.json()) as { calls: CallView[] }).calls };
}

/** A stream on `server` for the app with `key` (its token issued there), `query` added; closed after the test. */
async function openStream(t: ExecutionContext, server: ServerProcess, key: string, query = '', headers?: Record<string, string>) {
  const response = await fetch(`${server.url}/api/stream-tokens`, { method: 'POST', headers: { 'x-app-api-key': key } });
  if (response.status !== 201) throw new Error(`POST /api/stream-tokens: ${response.status}`);
  const { token } = (await response.json()) as { token: string };
  const stream = await openSse(`${server.url}/api/call-stream?token=${token}${query}`, headers);
  t.teardown(() => stream.close());
  t.is(stream.response.status, 200);
  t.truthy((await stream.next(EVENT_MS))?.retry, 'retry: first');
  t.is((await stream.next(EVENT_MS))?.event, 'connected', 'then event: connected');
  return stream;
}

const callOf = (event: SseEvent) => (JSON.parse(event.data!) as { call: CallView }).call;

/** The process's request log lines for the NetSapiens webhook (each is written once its answer is sent). */
const webhookPosts = (server: ServerProcess) =>
  server.logs.filter((line) => line.msg === 'request' && line.path === '/webhooks/netsapiens');

const statuses = (deliveries: readonly { attempts: readonly { status: number | null }[] }[]) =>
  deliveries.map((delivery) => delivery.attempts.map((attempt) => attempt.status));

/** SIGTERM, as systemd stops it: the process finishes what is in flight and exits 0. */
async function stop(t: ExecutionContext, server: ServerProcess): Promise<void> {
  server.child.kill('SIGTERM');
  t.deepEqual(await server.exited, { code: 0, signal: null }, `exits 0 on SIGTERM: ${server.stderr()}`);
}

test('two beckon-server processes on one PostgreSQL: a call delivered to one reaches a live stream on the other; redelivered to the other, it is still one call, each event once', async (t) => {
  t.timeout(4 * START_MS);
  const stale = staleBuild();
  if (stale) return t.fail(stale);
  const { databaseUrl } = await databases.settings(t, 'postgres');
  const setup = await setUp(t);
  const [a, b] = await Promise.all([setup.start({ DATABASE_URL: databaseUrl! }), setup.start({ DATABASE_URL: databaseUrl! })]);
  setup.proxy.behind = a;

  // The app is made on A, the id subscribed through A; the stream token is issued by B, the stream opened on B.
  const { key } = await createApp(a);
  const subscribed = await internal(a, '/internal/subscriptions/netsapiens', { id: ID });
  t.is(subscribed.status, 201, await subscribed.clone().text());
  const [subscription] = setup.sandbox.subscriptions;
  const stream = await openStream(t, b, key);

  const call = await setup.sandbox.simulateCall(CALL);
  t.deepEqual(statuses(call.deliveries), [[200], [200], [200]], 'A took the three deliveries');
  const events = await stream.calls(3, EVENT_MS);
  t.deepEqual(
    events.map((event) => [callOf(event).session_id, callOf(event).status]),
    [
      [call.callId, 'ringing'],
      [call.callId, 'answered'],
      [call.callId, 'ended'],
    ],
    "B's stream got each change, in order",
  );
  t.true(await eventually(() => webhookPosts(a).length === 3, EVENT_MS), 'the deliveries went to A');
  t.is(webhookPosts(b).length, 0, '…and none to B: the events crossed over through the database');

  // NetSapiens sends the same three records again (a retry, geo-redundancy), and they reach B this time.
  setup.proxy.behind = b;
  const again = [];
  for (const record of [call.records.ringing, call.records.answered!, call.records.ended]) {
    again.push(await setup.sandbox.deliver(subscription!.id, [record]));
  }
  t.deepEqual(statuses(again), [[200], [200], [200]], 'B accepts the redeliveries');
  t.true(await eventually(() => webhookPosts(b).length === 3, EVENT_MS), 'the redeliveries went to B');

  // A second call, after the redeliveries: the next event on the stream is its, so the redeliveries sent none.
  const next = await setup.sandbox.simulateCall({ ...CALL, from: '+18135550000', fromName: '', answer: false, order: ['ringing'] });
  t.deepEqual(statuses(next.deliveries), [[200]]);
  const [following] = await stream.calls(1, EVENT_MS);
  t.is(callOf(following!).session_id, next.callId, 'nothing came between the first call’s end and the second call');
  t.true(Number(following!.id) > Number(events[2]!.id));

  const listed = await listCalls(b, key);
  t.is(listed.status, 200);
  t.deepEqual(
    listed.calls?.map((listedCall) => [listedCall.session_id, listedCall.status]),
    [
      [next.callId, 'ringing'],
      [call.callId, 'ended'],
    ],
    'B lists the first call once, ended',
  );
  t.false(
    [a, b].some((server) => server.logs.some((line) => line.level >= 50)),
    'nothing logged at error level',
  );
});

for (const engine of ENGINES) {
  test(`a restart keeps calls, both API keys of a rotation, the subscription and its post-url, and the stream's replay (${engine})`, async (t) => {
    t.timeout(4 * START_MS);
    const stale = staleBuild();
    if (stale) return t.fail(stale);
    const database: Record<string, string> =
      engine === 'pglite' ? { DATA_DIR: await emptyDataDir(t) } : { DATABASE_URL: (await databases.settings(t, 'postgres')).databaseUrl! };
    const setup = await setUp(t);
    const before = await setup.start(database);
    setup.proxy.behind = before;

    const { appId, key: first } = await createApp(before);
    const rotation = await internal(before, `/internal/apps/${appId}/api-key`, {});
    t.is(rotation.status, 200);
    const { api_key: second } = (await rotation.json()) as { api_key: string };
    const subscribed = await internal(before, '/internal/subscriptions/netsapiens', { id: ID });
    t.is(subscribed.status, 201, await subscribed.clone().text());
    const subscribedBefore = await subscriptions(before);
    t.like(subscribedBefore, [{ provider: 'netsapiens', id: ID, status: 'active' }]);
    const [subscription] = setup.sandbox.subscriptions;

    // The call rings and is answered before the restart; it ends after it.
    const live = await openStream(t, before, second);
    const call = await setup.sandbox.simulateCall({ ...CALL, order: ['ringing', 'answered'] });
    t.deepEqual(statuses(call.deliveries), [[200], [200]]);
    const [ringing, answered] = await live.calls(2, EVENT_MS);
    t.is(callOf(answered!).status, 'answered');
    live.close();
    const listedBefore = await listCalls(before, first);
    t.deepEqual(
      listedBefore.calls?.map((listed) => [listed.session_id, listed.status]),
      [[call.callId, 'answered']],
    );

    await stop(t, before);
    const after = await setup.start(database);
    setup.proxy.behind = after;

    for (const [name, key] of [
      ['the key rotated away, in its grace period', first],
      ['the new key', second],
    ] as const) {
      t.deepEqual(await listCalls(after, key), listedBefore, `${name} lists the call as before`);
    }
    t.deepEqual(await subscriptions(after), subscribedBefore, 'the subscription: same status, same expiry');

    // NetSapiens still posts to the post-url it was given before the restart, with its token.
    const ended = await setup.sandbox.deliver(subscription!.id, [call.records.ended]);
    t.deepEqual(statuses([ended]), [[200]], 'the old post-url and token are accepted');
    const listedAfter = await listCalls(after, second);
    t.deepEqual(
      listedAfter.calls?.map((listed) => [listed.session_id, listed.status]),
      [[call.callId, 'ended']],
      'the delivery was recorded on the same call',
    );

    const fromAnswered = await openStream(t, after, first, `&last_event_id=${answered!.id}`);
    const [replayed] = await fromAnswered.calls(1, EVENT_MS);
    t.is(callOf(replayed!).status, 'ended', '?last_event_id= of the last event before the restart: only the end');
    t.true(Number(replayed!.id) > Number(answered!.id));
    const fromRinging = await openStream(t, after, second, '', { 'last-event-id': ringing!.id! });
    t.deepEqual(
      (await fromRinging.calls(2, EVENT_MS)).map((event) => [event.id, callOf(event).status]),
      [
        [answered!.id, 'answered'],
        [replayed!.id, 'ended'],
      ],
      'Last-Event-ID of the first event: the ones after it, the restart in between',
    );
    t.false(
      [before, after].some((server) => server.logs.some((line) => line.level >= 50)),
      'nothing logged at error level',
    );
  });
}

test('a second beckon-server on a DATA_DIR another one is using does not start, naming that process; the first goes on serving', async (t) => {
  t.timeout(3 * START_MS);
  const stale = staleBuild();
  if (stale) return t.fail(stale);
  const database = { DATA_DIR: await emptyDataDir(t) };
  const setup = await setUp(t);
  const first = await setup.start(database);
  const refused = await t.throwsAsync(setup.start(database));
  t.regex(refused.message, /exited \(1\) before listening: beckon-server cannot start\./);
  t.true(refused.message.includes(`is in use by process ${first.child.pid}: the embedded database serves one process`), refused.message);
  t.is(
    (await readFile(`${pgliteDir(database.DATA_DIR)}.lock`, 'utf8')).split('\n')[0],
    String(first.child.pid),
    'the lock is still the first’s',
  );
  const health = await fetch(`${first.url}/health`);
  t.is(health.status, 200);
  await stop(t, first);
});
