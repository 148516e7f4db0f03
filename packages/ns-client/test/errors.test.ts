import test from 'ava';
import { startNsSandbox } from '@beckon/ns-client/sandbox';
import {
  createNsClient,
  NsAuthError,
  NsConflictError,
  NsError,
  NsHttpError,
  NsNetworkError,
  NsNotFoundError,
  NsRateLimitError,
  NsRequestError,
  NsServerError,
  NsTimeoutError,
  NsUsageError,
  type NsClient,
} from '@beckon/ns-client';
import { API_KEY, assertNoSecrets, closedUrl, rejection, sleep, waitFor, withPlainServer, withSandbox } from './helpers.js';

const DOMAIN = 'example.com';
const SMS = { domain: DOMAIN, user: '1001', fromNumber: '19294873999', destination: '18135551234', message: 'hello' };
const CALL = { queue: '9002@example.com', destination: '+18135551234' };

test('every error is an NsError, and NsHttpError carries status, nsCode, nsMessage, method and path', async (t) => {
  const { sandbox, client } = await withSandbox(t);
  sandbox.inject({ route: 'messages.send', status: 400, body: { code: 400, message: 'destination is not an SMS number' } });
  const error = await t.throwsAsync(client.messages.sendSms(SMS), { instanceOf: NsHttpError });
  t.true(error instanceof NsError);
  t.is(error?.name, 'NsHttpError');
  t.is(error?.status, 400);
  t.is(error?.nsCode, 400);
  t.is(error?.nsMessage, 'destination is not an SMS number');
  t.is(error?.method, 'POST');
  t.regex(error?.path ?? '', /^\/ns-api\/v2\/domains\/example\.com\/users\/1001\/messagesessions\/[A-Za-z0-9_]{32,}\/messages$/);
  t.deepEqual(error?.body, { code: 400, message: 'destination is not an SMS number' });
});

test('an NsHttpError without NetSapiens fields keeps the status and the text body', async (t) => {
  const { sandbox, client } = await withSandbox(t);
  sandbox.inject({ route: 'users.create', status: 409, body: 'conflict, in plain words' });
  const error = await t.throwsAsync(client.users.create({ domain: DOMAIN, user: '8001', firstName: 'A', lastName: 'B', email: 'a@b.c' }), {
    instanceOf: NsHttpError,
  });
  t.like(error, { status: 409, nsCode: undefined, nsMessage: undefined, body: 'conflict, in plain words' });
  t.true(error instanceof NsConflictError);
  t.is(error?.message, 'NetSapiens answered 409 to POST /ns-api/v2/domains/example.com/users');
});

test('a 404 "No Route Found" is an NsHttpError like any other', async (t) => {
  const { client } = await withSandbox(t);
  const error = await t.throwsAsync(client.request({ method: 'DELETE', path: '/ns-api/v2/nowhere' }), { instanceOf: NsHttpError });
  t.like(error, { status: 404, nsCode: 404, nsMessage: 'No Route Found', method: 'DELETE', path: '/ns-api/v2/nowhere' });
  t.true(error instanceof NsNotFoundError);
});

test('each status a caller handles differently has its class, all NsHttpErrors with the request they answer', async (t) => {
  const { sandbox, client } = await withSandbox(t);
  const cases = [
    [401, NsAuthError],
    [403, NsAuthError],
    [404, NsNotFoundError],
    [409, NsConflictError],
    [429, NsRateLimitError],
    [500, NsServerError],
    [503, NsServerError],
    [400, NsHttpError],
    [422, NsHttpError],
  ] as const;
  for (const [status, Class] of cases) {
    sandbox.inject({ route: 'messages.send', status, body: { code: status, message: `status ${status}` } });
    const error = await t.throwsAsync(client.messages.sendSms(SMS), { instanceOf: Class }, String(status));
    t.is(error?.constructor, Class, String(status));
    t.true(error instanceof NsHttpError && error instanceof NsRequestError, String(status));
    t.like(error, { status, nsCode: status, method: 'POST' }, String(status));
  }
  const usage = await t.throwsAsync(client.messages.sendSms({ ...SMS, user: '' }), { instanceOf: NsUsageError });
  t.false(usage instanceof NsRequestError, 'nothing was requested: no method or path');
});

test('the query string stays out of error paths', async (t) => {
  const { sandbox, client } = await withSandbox(t);
  sandbox.inject({ route: 'queuedcall.create', status: 400 });
  const error = await t.throwsAsync(client.queuedCalls.create(CALL), { instanceOf: NsHttpError });
  t.is(error?.path, '/ns-api/');
  t.false(error?.message.includes('queuedcall'));
});

test('a GET is retried after a 503', async (t) => {
  const { sandbox, client } = await withSandbox(t);
  sandbox.inject({ route: 'dialrules.list', status: 503 });
  t.deepEqual(await client.dialRules.list({ domain: DOMAIN }), []);
  t.deepEqual(
    sandbox.requests.map((request) => [request.route, request.status, request.fault]),
    [
      ['dialrules.list', 503, true],
      ['dialrules.list', 200, false],
    ],
  );
});

test('a GET is retried after a dropped connection', async (t) => {
  const { sandbox, client } = await withSandbox(t);
  sandbox.inject({ route: 'dialrules.list', drop: true });
  t.deepEqual(await client.dialRules.list({ domain: DOMAIN }), []);
  t.deepEqual(
    sandbox.requests.map((request) => [request.route, request.status]),
    [
      ['dialrules.list', null],
      ['dialrules.list', 200],
    ],
  );
});

test('a GET gives up after `retries` retries, and a 4xx is not retried', async (t) => {
  const { sandbox, client, newClient } = await withSandbox(t);
  sandbox.inject({ route: 'dialrules.list', status: 502, times: Infinity });
  const error = await t.throwsAsync(client.dialRules.list({ domain: DOMAIN }), { instanceOf: NsHttpError });
  t.is(error?.status, 502);
  t.is(sandbox.requests.length, 3);

  await t.throwsAsync(newClient({ retries: 0 }).dialRules.list({ domain: DOMAIN }), { instanceOf: NsHttpError });
  t.is(sandbox.requests.length, 4);

  sandbox.clearFaults();
  sandbox.inject({ route: 'dialrules.list', status: 400, times: Infinity });
  await t.throwsAsync(client.dialRules.list({ domain: DOMAIN }), { instanceOf: NsHttpError });
  t.is(sandbox.requests.length, 5);
});

test('a PUT (idempotent) is retried after a 500', async (t) => {
  const { sandbox, client } = await withSandbox(t);
  await client.users.create({ domain: DOMAIN, user: '8001', firstName: 'A', lastName: 'B', email: 'a@b.c' });
  sandbox.inject({ route: 'answerrules.update', status: 500 });
  await client.answerRules.update({ domain: DOMAIN, user: '8001', forwardAlways: { enabled: true, to: ['x'] } });
  t.deepEqual(
    sandbox.requests.filter((request) => request.route === 'answerrules.update').map((request) => request.status),
    [500, 202],
  );
});

for (const [name, send] of [
  ['queuedCalls.create', (client: NsClient) => client.queuedCalls.create(CALL)],
  ['messages.sendSms', (client: NsClient) => client.messages.sendSms(SMS)],
] as const) {
  const route = name === 'queuedCalls.create' ? 'queuedcall.create' : 'messages.send';

  // Each fault applies once: had the client retried, the retry would have succeeded instead of throwing.
  test(`a POST (${name}) is not retried after a 503`, async (t) => {
    const { sandbox, client } = await withSandbox(t);
    sandbox.inject({ route, status: 503 });
    const error = await t.throwsAsync(send(client), { instanceOf: NsHttpError });
    t.is(error?.status, 503);
    t.is(sandbox.requests.length, 1);
    t.is(sandbox.calls.length + sandbox.messages.length, 0);
  });

  test(`a POST (${name}) is not retried after a dropped connection`, async (t) => {
    const { sandbox, client } = await withSandbox(t);
    sandbox.inject({ route, drop: true });
    const error = await t.throwsAsync(send(client), { instanceOf: NsNetworkError });
    t.is(error?.code, 'ECONNRESET');
    t.is(error?.method, 'POST');
    t.is(sandbox.requests.length, 1);
    t.is(sandbox.requests[0]?.status, null);
  });

  test(`a POST (${name}) is not retried after a timeout, though NetSapiens acted on it`, async (t) => {
    const { sandbox, client } = await withSandbox(t, { client: { timeoutMs: 150 } });
    sandbox.inject({ route, delayMs: 400 });
    const error = await t.throwsAsync(send(client), { instanceOf: NsTimeoutError });
    t.is(error?.timeoutMs, 150);
    // The sandbox carries the request out once its delay is over; give a retry time to show up too.
    t.true(await waitFor(() => sandbox.calls.length + sandbox.messages.length === 1));
    await sleep(100);
    t.deepEqual(
      sandbox.requests.map((request) => request.status),
      [202],
    );
    // Why a timed-out POST must not be sent again: the first one was carried out.
    t.is(sandbox.calls.length + sandbox.messages.length, 1);
  });

  test(`a POST (${name}) refused before connecting (ECONNREFUSED) is retried, and ends in NsNetworkError`, async (t) => {
    const baseUrl = await closedUrl();
    const client = createNsClient({ baseUrl, auth: { token: API_KEY }, retries: 2 });
    const started = Date.now();
    const error = await rejection(send(client));
    const elapsed = Date.now() - started;
    t.true(error instanceof NsNetworkError);
    t.is((error as NsNetworkError).code, 'ECONNREFUSED');
    // Two retries wait at least 50 + 100 ms (jittered backoff); without them this takes a few ms.
    t.true(elapsed >= 140, `took ${elapsed} ms`);
  });
}

test('a multipart POST retried after ECONNREFUSED arrives whole once the portal is back', async (t) => {
  const baseUrl = await closedUrl();
  const port = Number(new URL(baseUrl).port);
  const client = createNsClient({ baseUrl, auth: { token: API_KEY }, retries: 5 });
  const call = client.queuedCalls.create(CALL);
  // The first attempt is refused within a few ms; the first retry waits at least 50 ms.
  await sleep(20);
  const sandbox = await startNsSandbox({ port, token: API_KEY });
  t.teardown(() => sandbox.close());
  await call;
  t.is(sandbox.requests.length, 1);
  t.deepEqual(sandbox.requests[0]?.body, {
    format: 'json',
    uid: '9002@example.com',
    queue: '9002@example.com',
    destination: '+18135551234',
  });
  t.like(sandbox.calls[0], { queue: '9002@example.com', status: 'queued' });
});

test('timeoutMs: 200 against a 4 s delay fails with NsTimeoutError well before 4 s', async (t) => {
  const { sandbox, client } = await withSandbox(t, { client: { timeoutMs: 200, retries: 0 } });
  sandbox.inject({ route: 'dialrules.list', delayMs: 4000 });
  sandbox.inject({ route: 'messages.send', delayMs: 4000 });
  for (const send of [() => client.dialRules.list({ domain: DOMAIN }), () => client.messages.sendSms(SMS)]) {
    const started = Date.now();
    const error = await t.throwsAsync(send(), { instanceOf: NsTimeoutError });
    const elapsed = Date.now() - started;
    // Well before 4 s, with room for a busy machine.
    t.true(elapsed >= 190 && elapsed < 2_000, `took ${elapsed} ms`);
    t.like(error, { timeoutMs: 200 });
    t.regex(error?.message ?? '', /did not answer (GET|POST) \/ns-api\/v2\/.+ within 200 ms/);
  }
});

test('a timed-out GET is retried', async (t) => {
  const { sandbox, client } = await withSandbox(t, { client: { timeoutMs: 200 } });
  sandbox.inject({ route: 'dialrules.list', delayMs: 1000 });
  t.deepEqual(await client.dialRules.list({ domain: DOMAIN }), []);
  t.true(sandbox.requests.some((request) => request.route === 'dialrules.list' && request.status === 200));
});

test('an API key that NetSapiens refuses is a 401 NsHttpError, sent once', async (t) => {
  const { sandbox, newClient } = await withSandbox(t);
  const error = await t.throwsAsync(newClient({ auth: { token: 'wrong-key-0123456789abcdef' } }).dialRules.list({ domain: DOMAIN }), {
    instanceOf: NsHttpError,
  });
  t.like(error, { status: 401, method: 'GET' });
  t.deepEqual(
    sandbox.requests.map((request) => [request.status, request.authorized]),
    [[401, false]],
  );
});

test('no API key in any error', async (t) => {
  const { sandbox, client, newClient } = await withSandbox(t);
  const secrets = [API_KEY];
  const errors: unknown[] = [];

  sandbox.inject({ route: 'messages.send', status: 400 });
  errors.push(await rejection(client.messages.sendSms(SMS)));
  sandbox.inject({ route: 'dialrules.list', status: 503, times: Infinity });
  errors.push(await rejection(client.dialRules.list({ domain: DOMAIN })));
  sandbox.clearFaults();
  sandbox.inject({ route: 'queuedcall.create', drop: true });
  errors.push(await rejection(client.queuedCalls.create(CALL)));
  sandbox.inject({ route: 'queuedcall.create', delayMs: 2000 });
  errors.push(await rejection(newClient({ timeoutMs: 300 }).queuedCalls.create(CALL)));
  errors.push(await rejection(client.queuedCalls.create({ ...CALL, destination: 'nope' })));
  errors.push(await rejection(createNsClient({ baseUrl: await closedUrl(), auth: { token: API_KEY }, retries: 0 }).messages.sendSms(SMS)));
  // A refused key is a secret too, and NetSapiens saw it.
  const wrongKey = 'wrong-key-7c1e9a3f5b2d8e4a';
  errors.push(await rejection(newClient({ auth: { token: wrongKey } }).messages.sendSms(SMS)));

  t.deepEqual(
    errors.map((error) => (error as Error).name),
    ['NsHttpError', 'NsServerError', 'NsNetworkError', 'NsTimeoutError', 'NsUsageError', 'NsNetworkError', 'NsAuthError'],
  );
  for (const error of errors) assertNoSecrets(t, error, [...secrets, wrongKey]);
});

test('usage errors are NsError too, and name the problem', async (t) => {
  const { client } = await withSandbox(t);
  const error = await t.throwsAsync(client.messages.sendSms({ ...SMS, destination: '555-1234' }), { instanceOf: NsUsageError });
  t.true(error instanceof NsError);
  t.is(error?.message, 'destination must be a phone number with its country code, e.g. +18135551234');
});

// Credentials as NetSapiens (or a proxy in front of it) might echo them back in an error.
const ECHOED = {
  jwt: 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMDAwQGV4YW1wbGUuY29tIn0.c2lnbmF0dXJlLW9mLXRoZS10b2tlbg',
  refreshToken: 'Zr8QmT2vXk9LpW4nB7yC1dF6gH3jK5sA',
  password: 'correct-horse-battery-staple',
  clientSecret: 'cs_live_horse_battery',
  opaque: 'A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8',
  hex: '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08',
} as const;

const ECHO_MESSAGE =
  `Invalid request. Authorization: Bearer ${API_KEY}; access_token=${ECHOED.jwt}&refresh_token=${ECHOED.refreshToken} ` +
  `{"password":"${ECHOED.password}","client_secret": "${ECHOED.clientSecret}"} apikey: ${ECHOED.opaque} session ${ECHOED.hex} ` +
  `Basic dXNlcjpjb3JyZWN0LWhvcnNlLWJhdHRlcnktc3RhcGxl. ${'Please check the request and try again. '.repeat(12)}`;

test('regression: NetSapiens error text is capped and scrubbed: a JSON body that echoes a token', async (t) => {
  const { sandbox, client } = await withSandbox(t);
  sandbox.inject({
    route: 'messages.send',
    status: 400,
    body: { code: 400, message: ECHO_MESSAGE, request: { password: ECHOED.password, token: API_KEY } },
  });
  const error = await t.throwsAsync(client.messages.sendSms(SMS), { instanceOf: NsHttpError });
  const secrets = [API_KEY, ...Object.values(ECHOED), 'dXNlcjpjb3JyZWN0LWhvcnNlLWJhdHRlcnktc3RhcGxl'];
  assertNoSecrets(t, error, secrets);
  for (const secret of secrets) t.false(JSON.stringify(error?.body).includes(secret), 'body');
  t.true((error?.nsMessage ?? '').length <= 200, `nsMessage has ${error?.nsMessage?.length} characters`);
  t.true(
    error?.nsMessage?.startsWith(
      'Invalid request. Authorization: Bearer [redacted]; access_token=[redacted]&refresh_token=[redacted] {"password":"[redacted]"',
    ),
    error?.nsMessage,
  );
  t.is(error?.message, `NetSapiens answered 400 to POST ${error?.path}: ${error?.nsMessage}`);
  t.like(error?.body, { code: 400, request: { password: '[redacted]', token: '[redacted]' } });
});

test('regression: NetSapiens error text is capped and scrubbed: a non-JSON body that echoes a token', async (t) => {
  const server = await withPlainServer(t, (_request, response) => {
    response.writeHead(502, { 'content-type': 'text/html' });
    response.end(`<html><body><h1>502 Bad Gateway</h1><pre>${ECHO_MESSAGE}</pre>${'<p>padding</p>'.repeat(300)}</body></html>`);
  });
  const client = createNsClient({ baseUrl: server.url, auth: { token: API_KEY }, retries: 0 });
  const error = await t.throwsAsync(client.dialRules.list({ domain: DOMAIN }), { instanceOf: NsHttpError });
  assertNoSecrets(t, error, [API_KEY, ...Object.values(ECHOED)]);
  t.is(typeof error?.body, 'string');
  t.true((error?.body as string).length <= 2048);
  t.regex(error?.body as string, /Authorization: Bearer \[redacted\]; access_token=\[redacted\]/);
  t.is(error?.nsMessage, undefined);
});

test('scrubbing leaves ordinary NetSapiens messages alone', async (t) => {
  const { sandbox, client } = await withSandbox(t);
  const messages = [
    'UID already exists.',
    'dial-rule-translation-destination-user is required',
    'Invalid token',
    'User 8001 not found in domain example.com',
    'messagesession must be at least 32 characters of [A-Za-z0-9_]',
  ];
  for (const message of messages) {
    sandbox.inject({ route: 'messages.send', status: 400, body: { code: 400, message } });
    const error = await t.throwsAsync(client.messages.sendSms(SMS), { instanceOf: NsHttpError });
    t.is(error?.nsMessage, message);
  }
});
