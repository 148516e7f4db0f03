import test, { type ExecutionContext } from 'ava';
import { checkRingcentralSubscriptions } from '../src/providers/ringcentral/subscribe.js';
import type { Engine } from '../src/index.js';
import { databaseFixture, ENGINES } from './fixtures/databases.js';
import { calls, eventStates, ID, RC_APP, startRcServer, type RcServer } from './fixtures/ringcentral.js';

const fixture = databaseFixture(test);

interface Listed {
  provider: string;
  id: string;
  status: string;
  provider_subscription_id: string | null;
  expires_at: string | null;
  retry_at: string | null;
}

interface Theirs {
  id: string;
  status: string;
  expirationTime: string;
}

async function listed(server: RcServer): Promise<Listed> {
  const { subscriptions } = (await (await server.list()).json()) as { subscriptions: Listed[] };
  return subscriptions.find((row) => row.provider === 'ringcentral')!;
}

const theirs = (server: RcServer) => server.standIn.subscriptions as unknown as Theirs[];
const requestsTo = (server: RcServer, route: string) => server.standIn.requests.filter((request) => request.route === route).length;

async function subscribed(t: ExecutionContext, engine: Engine, options: Parameters<typeof startRcServer>[3] = {}): Promise<RcServer> {
  const server = await startRcServer(t, fixture, engine, options);
  const response = await server.subscribe({ id: ID });
  t.is(response.status, 201, await response.clone().text());
  return server;
}

/** A ringing call from the stand-in reaches Beckon (200) and is recorded. */
async function callGetsThrough(t: ExecutionContext, server: RcServer): Promise<void> {
  const before = (await calls(server.db)).length;
  const results = await server.standIn.incomingCall({ from: '+14165551234', to: '+15879876543' }).ring();
  t.deepEqual(
    results.map((result) => result.status),
    [200],
  );
  t.is((await calls(server.db)).length, before + 1);
}

for (const engine of ENGINES) {
  const engineTest = engine === 'pglite' ? test.serial : test;

  engineTest(`a subscription ending within two days is renewed before it expires, keeping its id (${engine})`, async (t) => {
    // This account grants a day, whatever is asked: the loop must renew it.
    const server = await subscribed(t, engine, { maxExpiresIn: 86_400 });
    const first = await listed(server);
    t.true(Math.abs(Date.parse(first.expires_at!) - (Date.now() + 86_400_000)) < 60_000, 'the expiry RingCentral granted is kept');
    await new Promise((resolve) => setTimeout(resolve, 20));
    t.deepEqual(await checkRingcentralSubscriptions(server.deps()), { [ID]: 'renewed' });
    t.is(requestsTo(server, 'subscription.renew'), 1);
    t.is(requestsTo(server, 'subscription.create'), 1);
    const renewed = await listed(server);
    t.is(renewed.provider_subscription_id, first.provider_subscription_id);
    t.true(Date.parse(renewed.expires_at!) > Date.parse(first.expires_at!));
    t.true(server.harness.logs.some((line) => line.msg === 'ringcentral subscription renewal succeeded'));
    await callGetsThrough(t, server);
  });

  engineTest(`a blacklisted subscription is deleted and replaced, and calls come again (${engine})`, async (t) => {
    const server = await subscribed(t, engine);
    const old = theirs(server)[0]!;
    // Three deliveries in a row fail: RingCentral blacklists the subscription and stops delivering.
    server.standIn.failDeliveries(3);
    const call = server.standIn.incomingCall({ from: '+14165551234', to: '+15879876543' });
    for (let attempt = 0; attempt < 3; attempt += 1) await call.ring();
    t.is(theirs(server)[0]!.status, 'Blacklisted');
    t.deepEqual(await call.ring(), [], 'a blacklisted subscription gets nothing');

    t.deepEqual(await checkRingcentralSubscriptions(server.deps()), { [ID]: 'replaced (blacklisted)' });
    const [replacement, ...more] = theirs(server);
    t.deepEqual(more, [], 'the blacklisted one was deleted');
    t.not(replacement!.id, old.id);
    t.is(replacement!.status, 'Active');
    t.like(await listed(server), { status: 'active', provider_subscription_id: replacement!.id, retry_at: null });
    const warned = server.harness.logs.find((line) => line.msg === 'ringcentral subscription no longer delivers: creating a new one');
    t.regex(String(warned?.reason), /^blacklisted: Delivery failed 3 times/);
    t.true(server.harness.logs.some((line) => line.msg === 'ringcentral subscription replacement succeeded'));
    await callGetsThrough(t, server);
  });

  engineTest(`a subscription RingCentral no longer has (404) is created again, on renewal and on the check (${engine})`, async (t) => {
    const server = await subscribed(t, engine);
    server.standIn.forget(theirs(server)[0]!.id);
    t.deepEqual(await checkRingcentralSubscriptions(server.deps()), { [ID]: 'replaced (gone)' });
    t.is(theirs(server).length, 1);
    await callGetsThrough(t, server);

    // Renewing through the route finds it gone too, and creates it again.
    server.standIn.forget(theirs(server)[0]!.id);
    const response = await server.subscribe({ id: ID });
    t.is(response.status, 201);
    t.like(await response.json(), { action: 'created' });
    t.is(theirs(server).length, 1);
    await callGetsThrough(t, server);
  });

  engineTest(`a restart keeps the subscription: no new one, the same token accepted (${engine})`, async (t) => {
    const server = await subscribed(t, engine);
    const before = await listed(server);
    await callGetsThrough(t, server);
    server.restart();
    t.deepEqual(await checkRingcentralSubscriptions(server.deps()), {});
    t.is(requestsTo(server, 'subscription.create'), 1);
    t.is(requestsTo(server, 'subscription.renew'), 0);
    t.like(await listed(server), { status: 'active', provider_subscription_id: before.provider_subscription_id });
    await callGetsThrough(t, server);
    t.deepEqual(await eventStates(server.db), ['ringing', 'ringing']);
  });

  engineTest(
    `RingCentral refusing: a failed creation is 502 and retried later; a refused renewal keeps the subscription (${engine})`,
    async (t) => {
      const server = await startRcServer(t, fixture, engine);
      server.standIn.inject({ route: 'subscription.create', status: 503 });
      const refused = await server.subscribe({ id: ID });
      t.is(refused.status, 502);
      t.regex(((await refused.json()) as { message: string }).message, /RingCentral did not create the subscription: .*503/);
      const failed = await listed(server);
      t.is(failed.status, 'failed');
      t.true(Date.parse(failed.retry_at!) > Date.now() + 4 * 60_000, 'retried in 5 minutes');
      // The backoff over: the loop creates it.
      await server.db.query("UPDATE subscriptions SET retry_at = now() - interval '1 second'");
      t.deepEqual(await checkRingcentralSubscriptions(server.deps()), { [ID]: 'created' });
      t.is((await listed(server)).status, 'active');

      server.standIn.inject({ route: 'subscription.renew', status: 500 });
      t.is((await server.subscribe({ id: ID })).status, 502);
      t.like(await listed(server), { status: 'active' });
      t.truthy((await listed(server)).retry_at);
      await callGetsThrough(t, server);
    },
  );
}

test('the JWT grant: tokens revoked are got again; wrong credentials are a 502 that names neither the JWT nor the secret', async (t) => {
  const server = await startRcServer(t, fixture, 'pglite');
  t.is((await server.subscribe({ id: ID })).status, 201);
  t.is(requestsTo(server, 'token'), 1);
  server.standIn.revokeTokens();
  t.is((await server.subscribe({ id: ID })).status, 200);
  t.is(requestsTo(server, 'token'), 2, 'logged in again after the 401');

  const wrong = await startRcServer(t, fixture, 'pglite', { jwt: `${RC_APP.jwt}-other` });
  const response = await wrong.subscribe({ id: ID });
  t.is(response.status, 502);
  const { message } = (await response.json()) as { message: string };
  t.regex(message, /login \(JWT grant\) answered 400 \(invalid_grant\)/);
  const logs = wrong.harness.logText();
  for (const secret of [RC_APP.jwt, RC_APP.clientSecret]) {
    t.false(message.includes(secret));
    t.false(logs.includes(secret));
  }
});

test('an access token about to expire is refreshed with the refresh token, not a new JWT login', async (t) => {
  // Tokens of 1 s: the SDK counts them expired at once (it refreshes a minute ahead).
  const server = await startRcServer(t, fixture, 'pglite', { accessTokenSeconds: 1 });
  t.is((await server.subscribe({ id: ID })).status, 201);
  t.is((await server.subscribe({ id: ID })).status, 200);
  const grants = server.standIn.requests.filter((request) => request.route === 'token').map((request) => request.grant);
  t.is(grants[0], 'urn:ietf:params:oauth:grant-type:jwt-bearer');
  t.true(grants.length >= 2);
  t.true(
    grants.slice(1).every((grant) => grant === 'refresh_token'),
    grants.join(', '),
  );
});

test('POST /internal/subscriptions/ringcentral refuses what is not one known id', async (t) => {
  const server = await startRcServer(t, fixture, 'pglite');
  const cases: [unknown, number, RegExp][] = [
    [{}, 400, /Send \{"id"/],
    [{ id: ID, extra: 1 }, 400, /Unknown field\(s\) extra/],
    ['not json', 400, /not valid JSON/],
    [{ id: 'nobody.example' }, 404, /No config has the id/],
  ];
  for (const [body, status, message] of cases) {
    const response = await server.subscribe(body);
    t.is(response.status, status);
    t.regex(((await response.json()) as { message: string }).message, message);
  }
  const anonymous = await fetch(`${server.url}/internal/subscriptions/ringcentral`, { method: 'POST', body: '{}' });
  t.is(anonymous.status, 401);
  t.is(server.standIn.requests.length, 0);
});
