import test, { type ExecutionContext } from 'ava';
import { newSubscriptionSecret, settleSubscription, startSubscription } from '../src/events/subscriptions.js';
import { PRESENCE_FILTER } from '../src/providers/ringcentral/subscribe.js';
import type { Database, Engine } from '../src/index.js';
import { databaseFixture, ENGINES } from './fixtures/databases.js';
import { calls, deliveryCount, eventStates, ID, startRcServer, type RcServer } from './fixtures/ringcentral.js';

const fixture = databaseFixture(test);

/** Gives ID a RingCentral subscription whose verification token the test knows. */
async function knownToken(db: Database, id = ID): Promise<string> {
  const { token, hash } = newSubscriptionSecret();
  await startSubscription(db, 'ringcentral', id, hash);
  await settleSubscription(db, 'ringcentral', id, { status: 'active', providerSubscriptionId: 'sub-known', expiresAt: null });
  return token;
}

async function started(t: ExecutionContext, engine: Engine): Promise<RcServer & { token: string }> {
  const server = await startRcServer(t, fixture, engine);
  return { ...server, token: await knownToken(server.db) };
}

/** Seed 002's curl example, with its call's status and session. */
const simplified = (telephonyStatus: string, sessionId = 'test-session-123') => ({
  event: '/restapi/v1.0/account/~/extension/~/presence',
  body: {
    telephonyStatus,
    sessionId,
    from: { phoneNumber: '+14165551234', name: 'Test Caller' },
    to: { phoneNumber: '+15879876543' },
    direction: 'Inbound',
  },
});

for (const engine of ENGINES) {
  // Each PGlite holds the process's event loop while it starts: one at a time, PostgreSQL's concurrently.
  const engineTest = engine === 'pglite' ? test.serial : test;

  engineTest(
    `subscribing makes RingCentral's presence notifications calls: ringing → answered → ended, then a missed one; redelivery changes nothing (${engine})`,
    async (t) => {
      const server = await startRcServer(t, fixture, engine);
      const response = await server.subscribe({ id: ID });
      t.is(response.status, 201, await response.clone().text());
      const body = (await response.json()) as { action: string; expires_at: string };
      t.is(body.action, 'created');
      const [subscription, ...more] = server.standIn.subscriptions as {
        id: string;
        eventFilters: string[];
        deliveryMode: { address: string };
      }[];
      t.deepEqual(more, []);
      t.deepEqual(subscription!.eventFilters, [PRESENCE_FILTER]);
      t.is(subscription!.deliveryMode.address, `${server.url}/webhooks/ringcentral?id=${ID}`);
      // The handshake reached Beckon before the subscription existed, and stored nothing.
      t.is(await deliveryCount(server.db), 0);
      const listed = (await (await server.list()).json()) as { subscriptions: Record<string, unknown>[] };
      t.like(listed.subscriptions[0], { provider: 'ringcentral', id: ID, status: 'active', provider_subscription_id: subscription!.id });
      t.false(JSON.stringify(listed).includes('secret'), 'no secret or hash is shown');

      const call = server.standIn.incomingCall({ from: '+14165551234', fromName: 'Dana Reyes', to: '+15879876543' });
      const rang = await call.ring();
      t.deepEqual(
        rang.map((result) => result.status),
        [200],
      );
      t.like((await calls(server.db))[0], {
        provider: 'ringcentral',
        provider_call_id: call.telephonySessionId,
        tenant: ID,
        direction: 'inbound',
        state: 'ringing',
        from_number: '+14165551234',
        from_name: 'Dana Reyes',
        to_number: '+15879876543',
      });
      await call.answer();
      await call.hangUp();
      t.deepEqual(await eventStates(server.db), ['ringing', 'answered', 'ended']);

      const missed = server.standIn.incomingCall({ from: '+14165550000', to: '+15879876543' });
      await missed.ring();
      const [hungUp] = await missed.hangUp();
      t.deepEqual(await eventStates(server.db), ['ringing', 'answered', 'ended', 'ringing', 'missed']);

      // RingCentral sends the same notification again: stored once, no event.
      const before = await deliveryCount(server.db);
      const again = await server.standIn.redeliver(hungUp!.uuid);
      t.is(again.status, 200);
      t.like(JSON.parse(again.body), { status: 'ok', stored: 0, events: 0 });
      t.is(await deliveryCount(server.db), before);
      t.deepEqual(await eventStates(server.db), ['ringing', 'answered', 'ended', 'ringing', 'missed']);
    },
  );

  engineTest(`a notification without the subscription's Verification-Token is a 401 and stores nothing (${engine})`, async (t) => {
    const server = await started(t, engine);
    const refusals = [
      await server.post(simplified('Ringing')),
      await server.post(simplified('Ringing'), { 'verification-token': `${server.token.slice(0, -1)}x` }),
      await server.post(simplified('Ringing'), { 'verification-token': server.token }, 'example.com-sms'),
      await server.post(simplified('Ringing'), { 'verification-token': server.token }, 'bad id\u0000'),
    ];
    for (const refusal of refusals) {
      t.is(refusal.status, 401);
      t.regex(((await refusal.json()) as { message: string }).message, /Verification-Token/);
    }
    t.is(await deliveryCount(server.db), 0);
    t.deepEqual(await calls(server.db), []);

    const accepted = await server.post(simplified('Ringing'), { 'verification-token': server.token });
    t.is(accepted.status, 200);
    t.deepEqual(await eventStates(server.db), ['ringing']);
  });

  engineTest(`seed 002's simplified body: ringing with the caller's name, then a call over unanswered is missed (${engine})`, async (t) => {
    const server = await started(t, engine);
    const { rows } = await server.db.query<{ id: number }>(
      "INSERT INTO customers (tenant, external_id, name, phone_e164) VALUES ($1, 'crm-1', 'Sarah Customer', '+14165551234') RETURNING id",
      [ID],
    );
    const headers = { 'verification-token': server.token };
    t.is((await server.post(simplified('Ringing'), headers)).status, 200);
    t.like((await calls(server.db))[0], {
      provider_call_id: 'test-session-123',
      state: 'ringing',
      from_number: '+14165551234',
      from_name: 'Test Caller',
      to_number: '+15879876543',
      customer_id: rows[0]!.id,
    });
    // Without a uuid, the same body again is the same delivery.
    t.like(await (await server.post(simplified('Ringing'), headers)).json(), { status: 'ok', stored: 0, events: 0 });
    t.is((await server.post(simplified('NoCall'), headers)).status, 200);
    t.deepEqual(await eventStates(server.db), ['ringing', 'missed']);
  });

  engineTest(
    `telephony session notifications from the stand-in: Proceeding → Voicemail, and Answered → Disconnected (${engine})`,
    async (t) => {
      const server = await startRcServer(t, fixture, engine);
      const token = await knownToken(server.db);
      // A subscription to telephony sessions (Beckon asks for presence; an operator may add this filter).
      const created = await server.deps().ringcentral.subscriptions.create({
        eventFilters: ['/restapi/v1.0/account/~/extension/~/telephony/sessions'],
        address: `${server.url}/webhooks/ringcentral?id=${ID}`,
        verificationToken: token,
        expiresIn: 3_600,
      });
      t.is(created.status, 'Active');

      const toVoicemail = server.standIn.incomingCall({
        from: '+14165551234',
        fromName: 'Vee Mail',
        to: '+15879876543',
        shape: 'telephony',
      });
      await toVoicemail.ring();
      await toVoicemail.voicemail();
      await toVoicemail.hangUp();
      const answered = server.standIn.incomingCall({ from: '103', to: '102', shape: 'telephony' });
      await answered.ring();
      await answered.answer();
      await answered.hangUp();
      t.deepEqual(await eventStates(server.db), ['ringing', 'voicemail', 'ringing', 'answered', 'ended']);
      const [first, second] = await calls(server.db);
      t.like(first, {
        provider_call_id: toVoicemail.telephonySessionId,
        state: 'voicemail',
        from_name: 'Vee Mail',
        from_number: '+14165551234',
      });
      // Extensions are kept as given: no customer can match them.
      t.like(second, { provider_call_id: answered.telephonySessionId, state: 'ended', from_number: '103', to_number: '102' });
    },
  );

  engineTest(`bodies that are no notification are refused with a message, nothing stored (${engine})`, async (t) => {
    const server = await started(t, engine);
    const headers = { 'verification-token': server.token };
    const cases: [Response, number, RegExp][] = [
      [await server.post('{"uuid": "1", "body": ', headers), 400, /not valid JSON/],
      [await server.post([simplified('Ringing')], headers), 400, /"body" object/],
      [await server.post({ uuid: 'x', body: 'Ringing' }, headers), 400, /"body" object/],
      [await server.post({ body: { x: 'a'.repeat(70_000) } }, headers), 413, /larger than 65536/],
      [await server.post('', headers), 400, /as JSON/],
      [
        await fetch(`${server.url}/webhooks/ringcentral?id=${ID}`, {
          method: 'POST',
          headers: { ...headers, 'content-type': 'text/plain' },
          body: '{}',
        }),
        415,
        /application\/json/,
      ],
    ];
    const crowd = Array.from({ length: 51 }, (_, index) => ({ telephonySessionId: `s-${index}`, telephonyStatus: 'Ringing' }));
    cases.push([await server.post({ uuid: 'crowd', body: { activeCalls: crowd } }, headers), 413, /reports 51 calls: at most 50/]);
    let nested: unknown = 'deep';
    for (let level = 0; level < 40; level += 1) nested = { nested };
    cases.push([await server.post({ uuid: 'deep', body: nested }, headers), 400, /nested more than 32/]);
    for (const [response, status, message] of cases) {
      t.is(response.status, status);
      t.regex(((await response.json()) as { message: string }).message, message);
    }
    t.is(await deliveryCount(server.db), 0);
  });
}

test('the creation handshake is echoed at once without a token or an id, and stores nothing', async (t) => {
  const server = await startRcServer(t, fixture, 'pglite');
  for (const path of ['/webhooks/ringcentral', `/webhooks/ringcentral?id=${ID}`]) {
    const response = await fetch(server.url + path, {
      method: 'POST',
      headers: { 'validation-token': 'c2b6a5c8-47e6-4d9e-9f0e-1b2f3a4d5e6f' },
    });
    t.is(response.status, 200);
    t.is(response.headers.get('validation-token'), 'c2b6a5c8-47e6-4d9e-9f0e-1b2f3a4d5e6f');
    t.true((await response.text()).length < 100);
  }
  const odd = await fetch(`${server.url}/webhooks/ringcentral`, { method: 'POST', headers: { 'validation-token': 'a b' } });
  t.is(odd.status, 400);
  t.is(await deliveryCount(server.db), 0);
});

test('notifications are not logged with their token or phone numbers', async (t) => {
  const server = await started(t, 'pglite');
  await server.post(simplified('Ringing'), { 'verification-token': server.token });
  await server.post(simplified('Ringing'), { 'verification-token': 'wrong' });
  const logs = server.harness.logText();
  t.false(logs.includes(server.token));
  t.false(logs.includes('4165551234'));
  t.true(server.harness.logs.some((line) => line.msg === 'ringcentral notification refused: missing or wrong Verification-Token'));
});
