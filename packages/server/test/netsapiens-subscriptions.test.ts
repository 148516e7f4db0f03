import type { RequestListener } from 'node:http';
import test, { type ExecutionContext } from 'ava';
import { createApp, createLogger, migrate, type Database, type Engine } from '../src/index.js';
import { newSubscriptionSecret, startSubscription } from '../src/events/subscriptions.js';
import { renewDueSubscriptions, type SubscribeDeps } from '../src/providers/netsapiens/subscribe.js';
import { databaseFixture, ENGINES } from './fixtures/databases.js';
import { ID } from './fixtures/netsapiens.js';
import { serveForTest, startHarness, TENANTS, type Harness } from './helpers.js';

const fixture = databaseFixture(test);
const INTERNAL_SECRET = 'internal-api-secret-for-subscription-tests';

interface Server {
  url: string;
  db: Database;
  harness: Harness;
  subscribe(body: unknown, secret?: string): Promise<Response>;
  list(): Promise<Response>;
}

/**
 * A Beckon app with a database and INTERNAL_API_SECRET, whose PUBLIC_URL is its own address, so that the
 * NS sandbox delivers to it; the sandbox does not retry (a refused delivery is final at once).
 */
async function startServer(t: ExecutionContext, engine: Engine): Promise<Server> {
  const { db } = await fixture.open(t, engine);
  await migrate(db, { logger: createLogger('silent') });
  const harness = await startHarness({ db, sandbox: { deliveries: { retries: 0, timeoutMs: 5_000 } } });
  t.teardown(() => harness.close());
  // Served first: the app's PUBLIC_URL is the address it gets.
  const routed: { app?: RequestListener } = {};
  const { url } = await serveForTest(t, (request, response) => routed.app!(request, response));
  routed.app = createApp({
    ...harness.deps,
    config: { ...harness.deps.config, publicUrl: url, internalApiSecret: INTERNAL_SECRET },
  }).callback();
  return {
    url,
    db,
    harness,
    subscribe: (body, secret = INTERNAL_SECRET) =>
      fetch(`${url}/internal/subscriptions/netsapiens`, {
        method: 'POST',
        headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      }),
    list: () => fetch(`${url}/internal/subscriptions`, { headers: { authorization: `Bearer ${INTERNAL_SECRET}` } }),
  };
}

const eventStates = async (db: Database) =>
  (await db.query<{ state: string }>('SELECT state FROM call_events ORDER BY id')).rows.map((row) => row.state);

/** The token in a post-url. */
const tokenOf = (postUrl: string) => new URL(postUrl).searchParams.get('token') ?? '';

/** What the renewal loop of an instance sharing this server's database works with. */
const renewalDeps = (server: Server): SubscribeDeps => ({
  db: server.db,
  ns: { subscriptions: server.harness.deps.ns.subscriptions! },
  tenants: server.harness.deps.tenants,
  publicUrl: server.url,
  logger: server.harness.deps.logger,
});

interface Listed {
  status: string;
  provider_subscription_id: string | null;
  retry_at: string | null;
}

/** The one subscription `GET /internal/subscriptions` lists. */
async function listedOne(t: ExecutionContext, server: Server): Promise<Listed> {
  const { subscriptions } = (await (await server.list()).json()) as { subscriptions: Listed[] };
  t.is(subscriptions.length, 1);
  return subscriptions[0]!;
}

/** Whether an ISO time is `minutes` from now, give or take a minute. */
const inMinutes = (iso: string | null, minutes: number) =>
  iso !== null && Math.abs(Date.parse(iso) - (Date.now() + minutes * 60_000)) < 60_000;

/** Brings the id's next retry to now, as if its backoff had passed. */
const backoffOver = (db: Database) => db.query("UPDATE subscriptions SET retry_at = now() - interval '1 second'");

/** Subscribes ID, then has NetSapiens lose the subscription and refuse the next creation: the id is left `failed`. */
async function subscribedThenFailed(t: ExecutionContext, server: Server): Promise<{ postUrl: string }> {
  t.is((await server.subscribe({ id: ID })).status, 201);
  const first = server.harness.sandbox.subscriptions[0]!;
  await server.harness.deps.ns.subscriptions!.delete({ id: first.id, domain: 'example.com' });
  server.harness.sandbox.inject({ route: 'subscriptions.create', status: 503 });
  t.is((await server.subscribe({ id: ID })).status, 502);
  return { postUrl: first['post-url'] };
}

const postEmpty = (postUrl: string) => fetch(postUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '[]' });

for (const engine of ENGINES) {
  // Each PGlite holds the process's event loop while it starts: one at a time, PostgreSQL's concurrently.
  const engineTest = engine === 'pglite' ? test.serial : test;
  engineTest(
    `subscribing an id makes the NS sandbox deliver its calls here: ringing → answered → ended, then a missed call (${engine})`,
    async (t) => {
      const server = await startServer(t, engine);
      const response = await server.subscribe({ id: ID });
      t.is(response.status, 201);
      const body = (await response.json()) as { status: string; id: string; action: string; expires_at: string };
      t.like(body, { status: 'ok', id: ID, action: 'created' });
      const expires = Date.parse(body.expires_at);
      t.true(Math.abs(expires - (Date.now() + 7 * 86_400_000)) < 60_000, 'a week from now');

      const [subscription, ...more] = server.harness.sandbox.subscriptions;
      t.deepEqual(more, []);
      t.like(subscription, { model: 'call', domain: 'example.com', user: '*' });
      const postUrl = new URL(subscription!['post-url']);
      t.is(`${postUrl.origin}${postUrl.pathname}`, `${server.url}/webhooks/netsapiens`);
      t.is(postUrl.searchParams.get('id'), ID);
      t.regex(tokenOf(subscription!['post-url']), /^[A-Za-z0-9_-]{43}$/, '32 random bytes');

      const answered = await server.harness.sandbox.simulateCall({
        domain: 'example.com',
        from: '+18135551234',
        fromName: 'Dana Reyes',
        to: '2000',
        dialed: '19295550100',
      });
      t.deepEqual(
        answered.deliveries.map((delivery) => delivery.attempts.map((attempt) => attempt.status)),
        [[200], [200], [200]],
      );
      const { rows } = await server.db.query<Record<string, unknown>>(
        'SELECT provider_call_id, state, from_number, from_name, to_number, direction FROM calls',
      );
      t.deepEqual(rows, [
        {
          provider_call_id: answered.callId,
          state: 'ended',
          from_number: '+18135551234',
          from_name: 'Dana Reyes',
          to_number: '+19295550100',
          direction: 'inbound',
        },
      ]);

      // A missed call, delivered with a redelivery and a late ringing after its end.
      const missed = await server.harness.sandbox.simulateCall({
        domain: 'example.com',
        from: '+18135550000',
        to: '2000',
        answer: false,
        order: ['ringing', 'ended', 'ended', 'ringing'],
      });
      t.true(missed.deliveries.every((delivery) => delivery.outcome === 'delivered'));
      t.deepEqual(await eventStates(server.db), ['ringing', 'answered', 'ended', 'ringing', 'missed']);
      t.is((await server.db.query('SELECT 1 FROM deliveries')).rowCount, 5, 'each distinct record stored once');

      const logs = server.harness.logText();
      t.false(logs.includes(tokenOf(subscription!['post-url'])), 'the token is never logged');
      t.true(logs.includes('"path":"/webhooks/netsapiens"'), 'the request log has the path');
    },
  );

  engineTest(
    `subscribing again renews in place (same token); NetSapiens having lost it, a new one with a new token (${engine})`,
    async (t) => {
      const server = await startServer(t, engine);
      t.is((await server.subscribe({ id: ID })).status, 201);
      const first = server.harness.sandbox.subscriptions[0]!;
      const renewed = await server.subscribe({ id: ID });
      t.is(renewed.status, 200);
      t.like(await renewed.json(), { action: 'renewed' });
      t.is(server.harness.sandbox.subscriptions.length, 1);
      t.is(server.harness.sandbox.subscriptions[0]!['post-url'], first['post-url'], 'the token is unchanged');

      await server.harness.deps.ns.subscriptions!.delete({ id: first.id, domain: 'example.com' });
      const recreated = await server.subscribe({ id: ID });
      t.is(recreated.status, 201);
      const [second] = server.harness.sandbox.subscriptions;
      t.not(second!.id, first.id);
      t.not(tokenOf(second!['post-url']), tokenOf(first['post-url']), 'a new token with each creation');
      const old = await fetch(first['post-url'], { method: 'POST', headers: { 'content-type': 'application/json' }, body: '[]' });
      t.is(old.status, 401, 'the old token is refused');
      const fresh = await fetch(second!['post-url'], { method: 'POST', headers: { 'content-type': 'application/json' }, body: '[]' });
      t.is(fresh.status, 200);

      const list = await server.list();
      t.is(list.status, 200);
      const text = await list.text();
      const { subscriptions } = JSON.parse(text) as { subscriptions: Record<string, unknown>[] };
      t.is(subscriptions.length, 1);
      t.like(subscriptions[0], { provider: 'netsapiens', id: ID, status: 'active', provider_subscription_id: second!.id });
      t.is(typeof subscriptions[0]!.expires_at, 'string');
      const { rows } = await server.db.query<{ secret_hash: string }>('SELECT secret_hash FROM subscriptions');
      for (const secret of [tokenOf(first['post-url']), tokenOf(second!['post-url']), rows[0]!.secret_hash]) {
        t.false(text.includes(secret), 'no secret, and no hash, in the list');
      }
    },
  );

  engineTest(
    `refusals: no secret 401, bad body or unknown fields 400, unknown id 404, NetSapiens failing 502 and the id left unsubscribed (${engine})`,
    async (t) => {
      const server = await startServer(t, engine);
      t.is((await server.subscribe({ id: ID }, 'wrong-secret')).status, 401);
      t.is((await server.subscribe({ name: ID })).status, 400);
      const unknownFields = await server.subscribe({ id: ID, x: 1, renew: true });
      t.is(unknownFields.status, 400);
      t.like(await unknownFields.json(), { status: 'error', message: 'Unknown field(s) x, renew: send id only' });
      t.is((await server.subscribe('[')).status, 400);
      t.is((await server.subscribe({ id: 'nobody.net-sales' })).status, 404);
      t.deepEqual(server.harness.sandbox.subscriptions, [], 'nothing asked of NetSapiens');

      // Subscribed once; then NetSapiens loses the subscription and refuses a new one.
      t.is((await server.subscribe({ id: ID })).status, 201);
      const first = server.harness.sandbox.subscriptions[0]!;
      await server.harness.deps.ns.subscriptions!.delete({ id: first.id, domain: 'example.com' });
      server.harness.sandbox.inject({ route: 'subscriptions.create', status: 503 });
      const failed = await server.subscribe({ id: ID });
      t.is(failed.status, 502);
      t.regex(((await failed.json()) as { message: string }).message, /NetSapiens did not create the subscription.*503/);
      const { subscriptions } = (await (await server.list()).json()) as { subscriptions: { status: string }[] };
      t.like(subscriptions, [{ status: 'failed' }]);
      t.is(server.harness.sandbox.subscriptions.length, 0);
      const refused = await fetch(first['post-url'], { method: 'POST', headers: { 'content-type': 'application/json' }, body: '[]' });
      t.is(refused.status, 401, 'a failed subscription accepts no deliveries, with the old token or any other');
      t.false(server.harness.logText().includes(tokenOf(first['post-url'])));
    },
  );

  engineTest(
    `a failed subscription is created again by the renewal loop once its backoff is over: 5 minutes, doubling while NetSapiens keeps refusing (${engine})`,
    async (t) => {
      const server = await startServer(t, engine);
      const old = await subscribedThenFailed(t, server);
      const failed = await listedOne(t, server);
      t.is(failed.status, 'failed');
      t.true(inMinutes(failed.retry_at, 5), `the list says when: ${failed.retry_at}`);
      t.deepEqual(await renewDueSubscriptions(renewalDeps(server)), {}, 'not before its time');

      await backoffOver(server.db);
      server.harness.sandbox.inject({ route: 'subscriptions.create', status: 503 });
      t.deepEqual(await renewDueSubscriptions(renewalDeps(server)), { [ID]: 'failed' });
      const again = await listedOne(t, server);
      t.is(again.status, 'failed');
      t.true(inMinutes(again.retry_at, 10), `refused again: twice the wait (${again.retry_at})`);
      t.is(server.harness.sandbox.subscriptions.length, 0);

      await backoffOver(server.db);
      t.deepEqual(await renewDueSubscriptions(renewalDeps(server)), { [ID]: 'created' });
      const [created, ...more] = server.harness.sandbox.subscriptions;
      t.deepEqual(more, []);
      t.like(await listedOne(t, server), { status: 'active', provider_subscription_id: created!.id, retry_at: null });
      t.is((await postEmpty(created!['post-url'])).status, 200, 'deliveries are accepted again');
      t.is((await postEmpty(old.postUrl)).status, 401);
      t.deepEqual(await renewDueSubscriptions(renewalDeps(server)), {}, 'active for a week: nothing more to do');

      const logs = server.harness.logText();
      t.regex(logs, /"id":"example.com-sales","status":"failed","failures":1,"msg":"netsapiens subscription retrying"/);
      t.regex(
        logs,
        /"reason":"NetSapiens did not create the subscription: [^"]*503[^"]*","retryAt":"[^"]+","msg":"netsapiens subscription retry failed"/,
      );
      t.regex(logs, /"action":"created","expiresAt":"[^"]+","msg":"netsapiens subscription retry succeeded"/);
      for (const postUrl of [old.postUrl, created!['post-url']]) t.false(logs.includes(tokenOf(postUrl)), 'no token in the log');
    },
  );

  engineTest(
    `a subscription stuck in pending is created again once 5 minutes old, never while younger (a creation may be under way) (${engine})`,
    async (t) => {
      const server = await startServer(t, engine);
      // What an instance that died between asking NetSapiens and recording its answer leaves behind.
      t.true(await startSubscription(server.db, 'netsapiens', ID, newSubscriptionSecret().hash));
      t.deepEqual(await renewDueSubscriptions(renewalDeps(server)), {}, 'a young pending one is left to its creator');
      const pending = await listedOne(t, server);
      t.is(pending.status, 'pending');
      t.true(inMinutes(pending.retry_at, 5), `the list says when it counts as stuck: ${pending.retry_at}`);

      await server.db.query(
        "UPDATE subscriptions SET updated_at = updated_at - interval '5 minutes', retry_at = retry_at - interval '5 minutes'",
      );
      t.deepEqual(await renewDueSubscriptions(renewalDeps(server)), { [ID]: 'created' });
      const [created] = server.harness.sandbox.subscriptions;
      t.like(await listedOne(t, server), { status: 'active', provider_subscription_id: created!.id, retry_at: null });
      t.is((await postEmpty(created!['post-url'])).status, 200);
      t.regex(server.harness.logText(), /"status":"pending","failures":0,"msg":"netsapiens subscription retrying"/);
    },
  );

  engineTest(
    `a renewal NetSapiens refuses is tried again after the backoff, not at each check; the subscription stays active meanwhile (${engine})`,
    async (t) => {
      const server = await startServer(t, engine);
      t.is((await server.subscribe({ id: ID })).status, 201);
      const [subscription] = server.harness.sandbox.subscriptions;
      await server.db.query("UPDATE subscriptions SET expires_at = now() + interval '1 day'");
      server.harness.sandbox.inject({ route: 'subscriptions.update', status: 403 });
      t.deepEqual(await renewDueSubscriptions(renewalDeps(server)), { [ID]: 'failed' });
      const refused = await listedOne(t, server);
      t.is(refused.status, 'active');
      t.true(inMinutes(refused.retry_at, 5), `the list says when: ${refused.retry_at}`);
      t.deepEqual(await renewDueSubscriptions(renewalDeps(server)), {}, 'the next check leaves it to its backoff');
      t.is((await postEmpty(subscription!['post-url'])).status, 200, 'deliveries still accepted');

      await backoffOver(server.db);
      t.deepEqual(await renewDueSubscriptions(renewalDeps(server)), { [ID]: 'renewed' });
      t.like(await listedOne(t, server), { status: 'active', provider_subscription_id: subscription!.id, retry_at: null });
      t.regex(server.harness.logText(), /"status":"active","failures":1,"msg":"netsapiens subscription retrying"/);
    },
  );

  engineTest(
    `a failed subscription recorded without retry_at (before migration 4, or by an older instance) is retried 5 minutes after its last change (${engine})`,
    async (t) => {
      const server = await startServer(t, engine);
      await server.db.query(
        `INSERT INTO subscriptions (tenant, provider, secret_hash, status, updated_at)
         VALUES ($1, 'netsapiens', 'x', 'failed', now() - interval '1 minute')`,
        [ID],
      );
      t.true(inMinutes((await listedOne(t, server)).retry_at, 4));
      t.deepEqual(await renewDueSubscriptions(renewalDeps(server)), {});
      await server.db.query("UPDATE subscriptions SET updated_at = now() - interval '6 minutes'");
      t.deepEqual(await renewDueSubscriptions(renewalDeps(server)), { [ID]: 'created' });
      t.like(await listedOne(t, server), { status: 'active', retry_at: null });
    },
  );
}

test('a failed subscription is created again once however many instances retry it at the same moment', async (t) => {
  const server = await startServer(t, 'postgres');
  await subscribedThenFailed(t, server);
  await backoffOver(server.db);
  const rounds = await Promise.all([1, 2, 3].map(() => renewDueSubscriptions(renewalDeps(server))));
  t.deepEqual(
    rounds.flatMap((done) => Object.entries(done)),
    [[ID, 'created']],
  );
  t.is(server.harness.sandbox.subscriptions.length, 1, 'NetSapiens was asked once');
  t.is((await postEmpty(server.harness.sandbox.subscriptions[0]!['post-url'])).status, 200);
});

test.serial('two subscription requests for one id at once: one creates, the other is a 409, NetSapiens has one subscription', async (t) => {
  const server = await startServer(t, 'pglite');
  server.harness.sandbox.inject({ route: 'subscriptions.create', delayMs: 300 });
  const answers = await Promise.all([server.subscribe({ id: ID }), server.subscribe({ id: ID })]);
  t.deepEqual(answers.map((answer) => answer.status).sort(), [201, 409]);
  const conflict = answers.find((answer) => answer.status === 409)!;
  t.regex(((await conflict.json()) as { message: string }).message, /being created right now: try again in a minute/);
  t.is(server.harness.sandbox.subscriptions.length, 1);
  const delivered = await fetch(server.harness.sandbox.subscriptions[0]!['post-url'], {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '[]',
  });
  t.is(delivered.status, 200, 'the subscription NetSapiens has carries the stored secret');
});

test('subscriptions ending within two days are renewed, once however many instances try at the same moment', async (t) => {
  const server = await startServer(t, 'postgres');
  t.is((await server.subscribe({ id: ID })).status, 201);
  const renewing = renewalDeps(server);
  t.deepEqual(await renewDueSubscriptions(renewing), {}, 'a week left: nothing to do');
  await server.db.query("UPDATE subscriptions SET expires_at = now() + interval '1 day', updated_at = now() - interval '1 hour'");
  const rounds = await Promise.all([renewDueSubscriptions(renewing), renewDueSubscriptions(renewing), renewDueSubscriptions(renewing)]);
  t.deepEqual(
    rounds.flatMap((done) => Object.entries(done)),
    [[ID, 'renewed']],
  );
  const [subscription] = server.harness.sandbox.subscriptions;
  const expires = Date.parse(`${subscription!['subscription-expires-datetime'].replace(' ', 'T')}Z`);
  t.true(Math.abs(expires - (Date.now() + 7 * 86_400_000)) < 60_000, 'NetSapiens has the new end');
  const { rows } = await server.db.query<{ expires_at: Date }>('SELECT expires_at FROM subscriptions');
  t.true(Math.abs(rows[0]!.expires_at.getTime() - expires) < 1_000);
  t.deepEqual(await renewDueSubscriptions(renewing), {});
});

test.serial('without INTERNAL_API_SECRET the subscription routes do not exist', async (t) => {
  const { db } = await fixture.open(t, 'pglite');
  await migrate(db, { logger: createLogger('silent') });
  const harness = await startHarness({ db, tenants: TENANTS });
  t.teardown(() => harness.close());
  t.is((await harness.post('/internal/subscriptions/netsapiens', { id: ID })).status, 404);
  t.is((await fetch(`${harness.url}/internal/subscriptions`)).status, 404);
});
