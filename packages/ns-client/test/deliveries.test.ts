import type { IncomingHttpHeaders } from 'node:http';
import test, { type ExecutionContext } from 'ava';
import type { NsCallRecord } from '@beckon/ns-client';
import { type NsSandbox, type NsSandboxOptions, type SandboxDelivery } from '@beckon/ns-client/sandbox';
import { closedUrl, listenForTest, sleep, waitFor, withSandbox } from './helpers.js';

const DOMAIN = 'example.com';
const TOKEN = 'tok_9XqL2vB7nM4cK8wZ1rT6yP3s';
const CALL = { domain: DOMAIN, from: '+18135551234', fromName: 'Dana Reyes', to: '2000', dialed: '19295550100' } as const;
/** Short waits: the defaults (1 s, 2 s, 4 s) are for demos. */
const FAST: NsSandboxOptions = { deliveries: { retries: 3, backoffMs: 10, timeoutMs: 1000 } };

interface Received {
  method: string;
  /** Path and query, as sent. */
  url: string;
  headers: IncomingHttpHeaders;
  body: unknown;
}

interface Receiver {
  url: string;
  /** The post URL, with its secret in the query. */
  postUrl: string;
  received: Received[];
}

/**
 * A webhook receiver on port 0 for this test: it records each POST and answers the next of `statuses`
 * (then 200), or never answers (`'hang'`).
 */
async function withReceiver(t: ExecutionContext, statuses: (number | 'hang')[] = []): Promise<Receiver> {
  const received: Received[] = [];
  const url = await listenForTest(t, (request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      received.push({ method: request.method ?? '', url: request.url ?? '', headers: request.headers, body: JSON.parse(text) as unknown });
      const status = statuses.shift() ?? 200;
      if (status === 'hang') return;
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end('{"ok":true}');
    });
  });
  return { url, postUrl: `${url}/webhooks/netsapiens?id=${DOMAIN}-calls&token=${TOKEN}`, received };
}

async function subscribe(sandbox: NsSandbox, client: Awaited<ReturnType<typeof withSandbox>>['client'], postUrl: string, extra = {}) {
  const { id } = await client.subscriptions.create({ domain: DOMAIN, model: 'call', postUrl, ...extra });
  return sandbox.subscriptions.find((subscription) => subscription.id === id)!;
}

const statuses = (delivery: SandboxDelivery | undefined) => delivery?.attempts.map((attempt) => attempt.status ?? attempt.error);

test('simulateCall: an answered call reaches the post URL as three JSON arrays: ringing, answered, ended', async (t) => {
  const { sandbox, client } = await withSandbox(t, { sandbox: FAST });
  const receiver = await withReceiver(t);
  const subscription = await subscribe(sandbox, client, receiver.postUrl);
  const seen: string[] = [];
  sandbox.events.on('delivery', (delivery) => seen.push(`${delivery.state ?? '-'} ${delivery.outcome}`));

  const call = await sandbox.simulateCall(CALL);

  t.is(receiver.received.length, 3);
  for (const post of receiver.received) {
    t.is(post.method, 'POST');
    t.is(post.url, `/webhooks/netsapiens?id=${DOMAIN}-calls&token=${TOKEN}`, 'the query, token included, arrives intact');
    t.is(post.headers['content-type'], 'application/json');
    t.true(Array.isArray(post.body));
    t.is((post.body as unknown[]).length, 1);
  }
  const [ringing, answered, ended] = receiver.received.map((post) => (post.body as NsCallRecord[])[0]);
  t.deepEqual([ringing, answered, ended], [call.records.ringing, call.records.answered, call.records.ended]);
  t.like(ringing, {
    orig_callid: call.callId,
    orig_from_uri: 'sip:18135551234@192.0.2.10',
    orig_from_user: '18135551234',
    orig_from_name: 'Dana Reyes',
    orig_to_user: '19295550100',
    orig_user: '',
    term_user: '2000',
    term_domain: DOMAIN,
    term_call_info: 'alerting',
    time_answer: '0000-00-00 00:00:00',
  });
  t.false('remove' in (ringing ?? {}));
  t.like(answered, { orig_callid: call.callId, term_call_info: 'active', orig_call_info: 'active' });
  t.regex(answered?.time_answer ?? '', /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
  t.like(ended, { orig_callid: call.callId, term_call_info: 'active', time_answer: answered?.time_answer, remove: 'yes' });
  t.is(ringing?.time_start, ended?.time_start);

  t.deepEqual(
    call.deliveries.map((delivery) => [delivery.subscriptionId, delivery.state, delivery.outcome, statuses(delivery)]),
    [
      [subscription.id, 'ringing', 'delivered', [200]],
      [subscription.id, 'answered', 'delivered', [200]],
      [subscription.id, 'ended', 'delivered', [200]],
    ],
  );
  t.deepEqual(sandbox.deliveries, call.deliveries);
  t.deepEqual(seen, ['ringing delivered', 'answered delivered', 'ended delivered']);
  t.like(sandbox.subscriptions[0], { status: 'active', 'posts-count': 3, 'error-count': 0 });
});

test('simulateCall: a missed call is ringing, then ended without an answer', async (t) => {
  const { sandbox, client } = await withSandbox(t, { sandbox: FAST });
  const receiver = await withReceiver(t);
  await subscribe(sandbox, client, receiver.postUrl);
  const call = await sandbox.simulateCall({ ...CALL, answer: false });
  t.is(call.records.answered, undefined);
  t.deepEqual(
    receiver.received.map((post) => {
      const [record] = post.body as NsCallRecord[];
      return [record?.term_call_info, record?.time_answer, record?.remove];
    }),
    [
      ['alerting', '0000-00-00 00:00:00', undefined],
      ['alerting', '0000-00-00 00:00:00', 'yes'],
    ],
  );
});

test('deliveries: a 503 is retried with backoff until the receiver takes it; the subscription counts the errors', async (t) => {
  const { sandbox, client } = await withSandbox(t, { sandbox: { deliveries: { retries: 3, backoffMs: 40 } } });
  const receiver = await withReceiver(t, [503, 503]);
  await subscribe(sandbox, client, receiver.postUrl);
  const started = Date.now();
  const call = await sandbox.simulateCall({ ...CALL, order: ['ringing'] });
  t.true(Date.now() - started >= 40 + 80, 'waited 40 ms, then 80 ms');
  const [delivery] = call.deliveries;
  t.deepEqual(statuses(delivery), [503, 503, 200]);
  t.deepEqual(
    delivery?.attempts.map((attempt) => [attempt.attempt, attempt.ok]),
    [
      [1, false],
      [2, false],
      [3, true],
    ],
  );
  t.is(delivery?.outcome, 'delivered');
  t.is(receiver.received.length, 3);
  t.deepEqual(receiver.received[0]?.body, receiver.received[2]?.body, 'each attempt sends the same array');
  t.like(sandbox.subscriptions[0], { status: 'active', 'posts-count': 3, 'error-count': 2 });
});

test('deliveries: after retries the delivery fails without rejecting; no answer, a refused connection and a timeout are failures too', async (t) => {
  // A timeout long enough for a loaded machine's local round trip, short enough for the test.
  const { sandbox, client } = await withSandbox(t, { sandbox: { deliveries: { retries: 1, backoffMs: 5, timeoutMs: 700 } } });
  const failing = await withReceiver(t, [500, 500]);
  const hanging = await withReceiver(t, ['hang', 'hang']);
  await subscribe(sandbox, client, failing.postUrl);
  await subscribe(sandbox, client, hanging.postUrl);
  await subscribe(sandbox, client, `${await closedUrl()}/webhooks/netsapiens?token=${TOKEN}`);

  const call = await sandbox.simulateCall({ ...CALL, order: ['ringing'] });
  t.deepEqual(
    call.deliveries.map((delivery) => [delivery.outcome, statuses(delivery)]),
    [
      ['failed', [500, 500]],
      ['failed', ['timeout', 'timeout']],
      ['failed', ['ECONNREFUSED', 'ECONNREFUSED']],
    ],
  );
  t.deepEqual(
    sandbox.subscriptions.map((subscription) => [subscription.status, subscription['error-count']]),
    [
      ['error', 2],
      ['error', 2],
      ['error', 2],
    ],
  );
  // A status up to 302 is not an error to NetSapiens.
  const redirecting = await withReceiver(t, [302]);
  const subscription = await subscribe(sandbox, client, redirecting.postUrl);
  t.deepEqual(statuses(await sandbox.deliver(subscription.id, [call.records.ringing])), [302]);
});

test('redelivery and out-of-order delivery: order repeats a record exactly and can send a state late', async (t) => {
  const { sandbox, client } = await withSandbox(t, { sandbox: FAST });
  const receiver = await withReceiver(t);
  const subscription = await subscribe(sandbox, client, receiver.postUrl);
  const call = await sandbox.simulateCall({ ...CALL, order: ['ringing', 'ringing', 'ended', 'answered', 'ringing'] });
  const records = receiver.received.map((post) => (post.body as NsCallRecord[])[0]);
  t.deepEqual(records, [call.records.ringing, call.records.ringing, call.records.ended, call.records.answered, call.records.ringing]);
  t.deepEqual(
    call.deliveries.map((delivery) => delivery.state),
    ['ringing', 'ringing', 'ended', 'answered', 'ringing'],
  );

  // deliver() sends any records as they are: here two in one array, ended first.
  const delivery = await sandbox.deliver(subscription.id, [call.records.ended, call.records.ringing]);
  t.deepEqual(receiver.received.at(-1)?.body, [call.records.ended, call.records.ringing]);
  t.like(delivery, { subscriptionId: subscription.id, model: 'call', outcome: 'delivered' });
  t.false('state' in delivery);

  await t.throwsAsync(sandbox.deliver('nope', [call.records.ended]), { instanceOf: TypeError });
  await t.throwsAsync(sandbox.deliver(subscription.id, ['text'] as unknown as NsCallRecord[]), { instanceOf: TypeError });
  await t.throwsAsync(sandbox.simulateCall({ ...CALL, answer: false, order: ['answered'] }), { instanceOf: TypeError });
  await t.throwsAsync(sandbox.simulateCall({ ...CALL, from: '' }), { instanceOf: TypeError });
});

test('simulateCall reaches only the active call subscriptions of its domain and user; call_origid gets the shorter record', async (t) => {
  const { sandbox, client } = await withSandbox(t, { sandbox: FAST });
  const receiver = await withReceiver(t);
  const url = (name: string) => `${receiver.url}/${name}?token=${TOKEN}`;
  await subscribe(sandbox, client, url('domain'));
  await subscribe(sandbox, client, url('user'), { user: '2000' });
  await subscribe(sandbox, client, url('origid'), { model: 'call_origid' });
  await subscribe(sandbox, client, url('all'), { domain: '*' });
  await subscribe(sandbox, client, url('other-user'), { user: '2001' });
  await subscribe(sandbox, client, url('other-domain'), { domain: 'other.example' });
  await subscribe(sandbox, client, url('cdr'), { model: 'cdr' });
  await subscribe(sandbox, client, url('expired'), { expires: new Date(Date.now() - 1000) });
  const deleted = await subscribe(sandbox, client, url('deleted'));
  await client.subscriptions.delete({ id: deleted.id, domain: DOMAIN });

  const call = await sandbox.simulateCall({ ...CALL, order: ['ringing'] });
  t.deepEqual(receiver.received.map((post) => new URL(post.url, receiver.url).pathname).sort(), ['/all', '/domain', '/origid', '/user']);
  const origid = receiver.received.find((post) => post.url.startsWith('/origid'));
  t.deepEqual(origid?.body, [
    {
      orig_callid: call.callId,
      orig_from_uri: 'sip:18135551234@192.0.2.10',
      orig_from_name: 'Dana Reyes',
      orig_to_user: '19295550100',
      orig_user: '',
      orig_domain: '*',
      by_user: '',
      by_domain: '',
      term_user: '2000',
      term_domain: DOMAIN,
      term_to_uri: `sip:2000@${DOMAIN}`,
      orig_call_info: 'alerting',
      term_call_info: 'alerting',
      time_answer: '0000-00-00 00:00:00',
      time_start: call.records.ringing.time_start,
    },
  ]);
  t.is(sandbox.deliveries.find((delivery) => delivery.model === 'call_origid')?.records.length, 1);
});

test('control endpoints: simulate a call and deliver records over HTTP; state holds subscriptions and deliveries', async (t) => {
  const { sandbox, client } = await withSandbox(t, { sandbox: FAST });
  const receiver = await withReceiver(t);
  const subscription = await subscribe(sandbox, client, receiver.postUrl);
  const control = async (path: string, body: unknown) => {
    const response = await fetch(`${sandbox.url}/_sandbox${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };

  const simulated = await control('/calls/simulate', { ...CALL, answer: false, callId: 'call-1@192.0.2.10' });
  t.is(simulated.status, 200);
  t.like(simulated.body, { callId: 'call-1@192.0.2.10' });
  t.deepEqual(
    (simulated.body.deliveries as SandboxDelivery[]).map((delivery) => [delivery.state, statuses(delivery)]),
    [
      ['ringing', [200]],
      ['ended', [200]],
    ],
  );
  t.is(receiver.received.length, 2);

  const records = (simulated.body.records as { ended: NsCallRecord }).ended;
  const delivered = await control(`/subscriptions/${subscription.id}/deliver`, { records: [records] });
  t.is(delivered.status, 200);
  t.like(delivered.body, { subscriptionId: subscription.id, outcome: 'delivered' });
  t.deepEqual(receiver.received.at(-1)?.body, [records]);

  t.deepEqual((await control('/calls/simulate', { ...CALL, stepMs: -1 })).body, {
    code: 400,
    message: 'stepMs must be a non-negative number',
  });
  t.is((await control('/calls/simulate', { domain: DOMAIN })).status, 400);
  t.is((await control('/subscriptions/nope/deliver', { records: [] })).status, 404);
  t.is((await control(`/subscriptions/${subscription.id}/deliver`, { records: 'x' })).status, 400);

  const state = (await (await fetch(`${sandbox.url}/_sandbox/state`)).json()) as { subscriptions: unknown[]; deliveries: unknown[] };
  t.deepEqual(state.subscriptions, sandbox.subscriptions);
  t.deepEqual(state.deliveries, sandbox.deliveries);
  t.is(sandbox.deliveries.length, 3);
  t.true(
    sandbox.requests.every((request) => !request.path.startsWith('/_sandbox')),
    'control requests are not logged',
  );
});

test('stepMs paces the deliveries and spaces the records’ times', async (t) => {
  const { sandbox, client } = await withSandbox(t, { sandbox: FAST });
  const receiver = await withReceiver(t);
  await subscribe(sandbox, client, receiver.postUrl);
  const started = Date.now();
  const call = await sandbox.simulateCall({ ...CALL, stepMs: 1000 });
  t.true(Date.now() - started >= 2000);
  const seconds = (time: string | undefined) => Date.parse(`${time?.replace(' ', 'T')}Z`) / 1000;
  t.is(seconds(call.records.answered?.time_answer) - seconds(call.records.ringing.time_start), 1);
  t.is(seconds(call.records.ended.ts as string) - seconds(call.records.ringing.time_start), 2);
});

test('reset() and close() stop deliveries under way', async (t) => {
  const { sandbox, client } = await withSandbox(t, { sandbox: { deliveries: { retries: 5, backoffMs: 10_000 } } });
  const receiver = await withReceiver(t, [503]);
  await subscribe(sandbox, client, receiver.postUrl);
  const pending = sandbox.simulateCall(CALL);
  // The first attempt's 503 is in: the delivery now waits 10 s before its retry.
  t.true(await waitFor(() => sandbox.deliveries[0]?.attempts.length === 1));
  const started = Date.now();
  sandbox.reset();
  const call = await pending;
  t.true(Date.now() - started < 5_000, 'reset cut the 10 s wait short');
  t.deepEqual(
    call.deliveries.map((delivery) => [delivery.outcome, statuses(delivery)]),
    [['failed', [503]]],
  );
  t.deepEqual([sandbox.subscriptions, sandbox.deliveries], [[], []]);
  t.is(receiver.received.length, 1, 'nothing more was sent');

  await subscribe(sandbox, client, receiver.postUrl);
  const held = sandbox.simulateCall({ ...CALL, stepMs: 10_000 });
  t.true(await waitFor(() => sandbox.deliveries[0]?.outcome === 'delivered'));
  await sandbox.close();
  t.is((await held).deliveries.length, 1, 'the next state was never sent');
});

test('queuedCallLegs: a queued call is followed by its leg to the destination, ringing → answered → ended, from the queue out', async (t) => {
  const { sandbox, client } = await withSandbox(t, {
    sandbox: { ...FAST, queuedCallLegs: { answer: (destination) => destination !== '+18135550000', delayMs: 0, stepMs: 0 } },
  });
  const receiver = await withReceiver(t);
  await subscribe(sandbox, client, receiver.postUrl);

  await client.queuedCalls.create({ queue: '9002', domain: DOMAIN, destination: '+18135551234' });
  t.true(await waitFor(() => receiver.received.length === 3));
  const [ringing, answered, ended] = receiver.received.map((post) => (post.body as NsCallRecord[])[0]);
  const leg = {
    orig_user: '9002',
    orig_domain: DOMAIN,
    orig_from_uri: `sip:9002@${DOMAIN}`,
    orig_to_user: '18135551234',
    term_user: '18135551234',
    term_type: 'gateway',
  };
  t.like(ringing, { ...leg, term_call_info: 'alerting', time_answer: '0000-00-00 00:00:00' });
  t.like(answered, { ...leg, term_call_info: 'active' });
  t.like(ended, { ...leg, remove: 'yes' });
  t.is(new Set([ringing?.orig_callid, answered?.orig_callid, ended?.orig_callid]).size, 1);

  await client.queuedCalls.create({ queue: '9002', domain: DOMAIN, destination: '+18135550000' });
  t.true(await waitFor(() => receiver.received.length === 5));
  const unanswered = receiver.received.slice(3).map((post) => (post.body as NsCallRecord[])[0]);
  t.like(unanswered, [{ term_call_info: 'alerting' }, { remove: 'yes', time_answer: '0000-00-00 00:00:00' }]);
});

test('queuedCallLegs: off by default, and a bare queue (a call that fails inside NetSapiens) has no legs', async (t) => {
  const plain = await withSandbox(t, { sandbox: FAST });
  const receiver = await withReceiver(t);
  await subscribe(plain.sandbox, plain.client, receiver.postUrl);
  await plain.client.queuedCalls.create({ queue: '9002', domain: DOMAIN, destination: '+18135551234' });

  const legs = await withSandbox(t, { sandbox: { ...FAST, queuedCallLegs: { delayMs: 0, stepMs: 0 } } });
  const other = await withReceiver(t);
  await subscribe(legs.sandbox, legs.client, other.postUrl);
  // The legacy API with a bare extension: answered 202, but the call fails silently.
  const form = new FormData();
  for (const [name, value] of Object.entries({ format: 'json', uid: '9002', queue: '9002', destination: '+18135551234' }))
    form.append(name, value);
  const bare = await fetch(`${legs.sandbox.url}/ns-api/?object=queuedcall&action=create`, {
    method: 'POST',
    headers: { authorization: `Bearer ${legs.sandbox.token}` },
    body: form,
  });
  t.is(bare.status, 202);
  await sleep(200);
  t.is(receiver.received.length, 0);
  t.is(other.received.length, 0);
  t.true(legs.sandbox.calls.every((call) => call.status === 'failed'));
});
