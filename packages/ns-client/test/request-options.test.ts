import type { Socket } from 'node:net';
import test from 'ava';
import {
  createNsClient,
  NsAbortError,
  NsError,
  NsRequestError,
  NsTimeoutError,
  NsUsageError,
  type NsClient,
  type NsRequestOptions,
} from '@beckon/ns-client';
import { API_KEY, apiRequests, listenForTest, oauthSandbox, rejection, sleep, tokenRequests, waitFor, withSandbox } from './helpers.js';

const DOMAIN = 'example.com';
const USER = { domain: DOMAIN, user: '8001' };
const SMS = { domain: DOMAIN, user: '1001', fromNumber: '19294873999', destination: '18135551234', message: 'hello' };
const CALL = { queue: '9002@example.com', destination: '+18135551234' };
const EXPIRES = new Date('2030-01-02T03:04:05Z');
const RULE = { domain: DOMAIN, user: '8001', forwardAlways: { enabled: true, to: ['webresponder8001'] } };
const PROVISION = {
  domain: DOMAIN,
  systemUser: '8001',
  webhookUrl: 'https://beckon.example.net/webresponder?id=abc',
  email: 'ops@example.com',
};

/** Every method of the client, each called with `options` as its last argument. */
const METHODS: Record<string, (client: NsClient, options: NsRequestOptions) => Promise<unknown>> = {
  'queuedCalls.create': (client, options) => client.queuedCalls.create(CALL, options),
  'queuedCalls.createV2': (client, options) => client.queuedCalls.createV2({ ...CALL, queue: '9002', domain: DOMAIN }, options),
  'messages.sendSms': (client, options) => client.messages.sendSms(SMS, options),
  'users.create': (client, options) => client.users.create({ ...USER, firstName: 'A', lastName: 'B', email: 'a@b.c' }, options),
  'users.get': (client, options) => client.users.get(USER, options),
  'dialRules.create': (client, options) => client.dialRules.create({ domain: DOMAIN, match: '611', destinationUser: '611' }, options),
  'dialRules.list': (client, options) => client.dialRules.list({ domain: DOMAIN }, options),
  'dialRules.update': (client, options) => client.dialRules.update({ domain: DOMAIN, dialRule: 'x', destinationUser: '611' }, options),
  'answerRules.update': (client, options) => client.answerRules.update(RULE, options),
  'answerRules.create': (client, options) => client.answerRules.create(RULE, options),
  'subscriptions.create': (client, options) =>
    client.subscriptions.create({ domain: DOMAIN, model: 'call', postUrl: 'https://beckon.example.net/hook', expires: EXPIRES }, options),
  'subscriptions.renew': (client, options) => client.subscriptions.renew({ id: 'a1', expires: EXPIRES }, options),
  'subscriptions.delete': (client, options) => client.subscriptions.delete({ id: 'a1', domain: DOMAIN }, options),
  'subscriptions.list': (client, options) => client.subscriptions.list({ domain: DOMAIN }, options),
  provisionWebresponder: (client, options) => client.provisionWebresponder(PROVISION, options),
  request: (client, options) => client.request({ method: 'GET', path: '/ns-api/v2/domains' }, options),
};

for (const auth of ['an API key', 'OAuth'] as const) {
  test(`a signal already aborted sends nothing, on every method, with ${auth}`, async (t) => {
    const { sandbox, client } = await withSandbox(t, auth === 'OAuth' ? { sandbox: { oauth: oauthSandbox() } } : {});
    const reason = new Error('the visitor left');
    const controller = new AbortController();
    controller.abort(reason);
    for (const [name, call] of Object.entries(METHODS)) {
      const error = await rejection(call(client, { signal: controller.signal }));
      t.true(error instanceof NsAbortError, `${name}: ${String(error)}`);
      t.true(error instanceof NsRequestError && error instanceof NsError, name);
      t.is((error as NsAbortError).cause, reason, name);
    }
    t.deepEqual(sandbox.requests, [], 'not even a login');
  });
}

test('an NsAbortError names the request, and its cause is the default reason when none is given', async (t) => {
  const { client } = await withSandbox(t);
  const error = await rejection(client.users.get(USER, { signal: AbortSignal.abort() }));
  t.true(error instanceof NsAbortError);
  t.like(error, { name: 'NsAbortError', method: 'GET', path: '/ns-api/v2/domains/example.com/users/8001' });
  t.is((error as Error).message, 'GET /ns-api/v2/domains/example.com/users/8001 to NetSapiens was aborted');
  t.is(((error as Error).cause as Error).name, 'AbortError');
});

for (const [method, send] of [
  ['GET', (client: NsClient, signal: AbortSignal) => client.dialRules.list({ domain: DOMAIN }, { signal })],
  ['POST', (client: NsClient, signal: AbortSignal) => client.queuedCalls.create(CALL, { signal })],
] as const) {
  test(`aborting a ${method} that waits for its answer closes the connection and is not retried`, async (t) => {
    const open = new Set<Socket>();
    let arrived = 0;
    const url = await listenForTest(t, (request) => {
      arrived += 1;
      open.add(request.socket);
      request.socket.on('close', () => open.delete(request.socket));
      request.resume(); // read, and never answered
    });
    // Without the abort, this would end in an NsTimeoutError after 8 s.
    const client = createNsClient({ baseUrl: url, auth: { token: API_KEY }, timeoutMs: 8000 });
    const controller = new AbortController();
    const outcome = rejection(send(client, controller.signal));
    t.true(await waitFor(() => arrived === 1, 5000), 'the request arrived');
    const reason = new Error('shutting down');
    controller.abort(reason);
    const started = Date.now();
    const error = await outcome;
    t.true(error instanceof NsAbortError, String(error));
    t.is((error as NsAbortError).cause, reason);
    t.is((error as NsAbortError).method, method);
    t.true(Date.now() - started < 4000, `rejected ${Date.now() - started} ms after the abort`);
    t.true(await waitFor(() => open.size === 0, 4000), 'the connection was closed');
    await sleep(300);
    t.is(arrived, 1, 'not sent again');
  });
}

test('an abort during a retry wait ends the call at once, and nothing more is sent', async (t) => {
  const { sandbox, client } = await withSandbox(t);
  // 20 s to wait before the retry: far longer than the test gives the rejection.
  sandbox.inject({ route: 'dialrules.list', status: 429, retryAfter: 20 });
  const controller = new AbortController();
  const outcome = rejection(client.dialRules.list({ domain: DOMAIN }, { signal: controller.signal }));
  t.true(await waitFor(() => sandbox.requests[0]?.status === 429, 5000));
  await sleep(100);
  controller.abort();
  const started = Date.now();
  const error = await outcome;
  t.true(error instanceof NsAbortError, String(error));
  t.true(Date.now() - started < 5000, `rejected ${Date.now() - started} ms after the abort`);
  await sleep(300);
  t.is(sandbox.requests.length, 1);
});

test('AbortSignal.timeout() is an NsAbortError, not the client timeout, and a GET it stops is not retried', async (t) => {
  const { sandbox, client } = await withSandbox(t, { client: { timeoutMs: 10_000 } });
  sandbox.inject({ route: 'dialrules.list', delayMs: 8000 });
  const error = await rejection(client.dialRules.list({ domain: DOMAIN }, { signal: AbortSignal.timeout(300) }));
  t.true(error instanceof NsAbortError, String(error));
  t.false(error instanceof NsTimeoutError);
  t.is(((error as Error).cause as Error).name, 'TimeoutError');
  await sleep(300);
  t.is(sandbox.requests.length, 1);
});

test('OAuth: an abort stops this call waiting for the login, not the login other calls share', async (t) => {
  const { sandbox, client } = await withSandbox(t, { sandbox: { oauth: oauthSandbox() } });
  sandbox.inject({ route: 'tokens', delayMs: 1500 });
  const controller = new AbortController();
  const aborted = rejection(client.dialRules.list({ domain: DOMAIN }, { signal: controller.signal }));
  const patient = client.dialRules.list({ domain: DOMAIN });
  await sleep(200);
  controller.abort();
  const started = Date.now();
  t.true((await aborted) instanceof NsAbortError);
  t.true(Date.now() - started < 1000, 'it did not wait for the login');
  t.deepEqual(await patient, []);
  t.is(tokenRequests(sandbox).length, 1);
  t.is(apiRequests(sandbox).length, 1, 'the aborted call sent nothing');
});

test('provisionWebresponder: an abort rejects the whole run rather than failing a step', async (t) => {
  const { sandbox, client } = await withSandbox(t);
  sandbox.inject({ route: 'dialrules.list', delayMs: 5000 });
  const controller = new AbortController();
  const outcome = rejection(client.provisionWebresponder(PROVISION, { signal: controller.signal }));
  t.true(await waitFor(() => sandbox.requests.some((request) => request.route === 'dialrules.list'), 5000));
  controller.abort();
  t.true((await outcome) instanceof NsAbortError);
  await sleep(300);
  t.deepEqual(
    sandbox.requests.map((request) => request.route),
    ['users.create', 'dialrules.list'],
    'no dial rule and no answer rule were written',
  );
});

test('a per-call timeoutMs shorter than the client’s applies to that call only', async (t) => {
  const { sandbox, client } = await withSandbox(t, { client: { timeoutMs: 10_000, retries: 0 } });
  sandbox.inject({ route: 'dialrules.list', delayMs: 8000 });
  const started = Date.now();
  const error = await rejection(client.dialRules.list({ domain: DOMAIN }, { timeoutMs: 300 }));
  const elapsed = Date.now() - started;
  t.true(error instanceof NsTimeoutError, String(error));
  t.is((error as NsTimeoutError).timeoutMs, 300);
  t.regex((error as Error).message, /within 300 ms$/);
  // Far below both the 8 s delay and the client's 10 s.
  t.true(elapsed < 4000, `took ${elapsed} ms`);
  t.deepEqual(await client.dialRules.list({ domain: DOMAIN }), [], 'the next call keeps the client’s timeout');
});

test('a per-call timeoutMs longer than the client’s lets a slow answer arrive', async (t) => {
  const { sandbox, client } = await withSandbox(t, { client: { timeoutMs: 300, retries: 0 } });
  sandbox.inject({ route: 'dialrules.list', delayMs: 1500 });
  t.deepEqual(await client.dialRules.list({ domain: DOMAIN }, { timeoutMs: 10_000 }), []);
  sandbox.inject({ route: 'dialrules.list', delayMs: 1500 });
  t.true((await rejection(client.dialRules.list({ domain: DOMAIN }))) instanceof NsTimeoutError, 'without it, the client’s 300 ms');
});

test('request options that cannot be used are an NsUsageError, and nothing is sent', async (t) => {
  const { sandbox, client } = await withSandbox(t);
  const refused = [
    { timeoutMs: 0 },
    { timeoutMs: -1 },
    { timeoutMs: Number.NaN },
    { timeoutMs: '300' },
    { signal: {} },
    { signal: 'stop' },
    null,
  ];
  for (const options of refused) {
    for (const [name, call] of Object.entries(METHODS)) {
      const error = await rejection(call(client, options as NsRequestOptions));
      t.true(error instanceof NsUsageError, `${name} ${JSON.stringify(options)}: ${String(error)}`);
    }
  }
  t.deepEqual(sandbox.requests, []);
});
