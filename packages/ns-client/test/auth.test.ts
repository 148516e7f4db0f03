import test from 'ava';
import { createNsClient, NsHttpError, NsNetworkError, NsResponseError, NsTimeoutError, NsUsageError } from '@beckon/ns-client';
import {
  API_KEY,
  apiRequests,
  assertNoSecrets,
  closedUrl,
  OAUTH,
  oauthSandbox,
  rejection,
  sleep,
  startTokenSpy,
  tokenRequests,
  withSandbox,
} from './helpers.js';

const DOMAIN = 'example.com';
const SMS = { domain: DOMAIN, user: '1001', fromNumber: '19294873999', destination: '18135551234', message: 'hello' };
const list = { domain: DOMAIN };

test('an API key is presented as the bearer token on every request', async (t) => {
  const { sandbox, client } = await withSandbox(t);
  await client.dialRules.list(list);
  await client.messages.sendSms(SMS);
  t.deepEqual(
    sandbox.requests.map((request) => [request.route, request.authorized]),
    [
      ['dialrules.list', true],
      ['messages.send', true],
    ],
  );
});

test('OAuth: a password login on first use, then the access token', async (t) => {
  const { sandbox } = await withSandbox(t, { sandbox: { oauth: oauthSandbox() } });
  const spy = await startTokenSpy(t, sandbox.url);
  const client = createNsClient({ baseUrl: spy.url, auth: { ...OAUTH } });
  t.is(sandbox.requests.length, 0, 'nothing is sent before the first call');

  await client.dialRules.list(list);
  await client.dialRules.list(list);
  t.deepEqual(
    sandbox.requests.map((request) => [request.method, request.path, request.status, request.authorized]),
    [
      ['POST', '/ns-api/v2/tokens', 200, false],
      ['GET', '/ns-api/v2/domains/example.com/dialplans/example.com/dialrules', 200, true],
      ['GET', '/ns-api/v2/domains/example.com/dialplans/example.com/dialrules', 200, true],
    ],
  );
  t.deepEqual(spy.grants, ['password']);
  t.regex(spy.grantContentTypes[0] ?? '', /^application\/json/);
});

test('OAuth: requests started together share one login', async (t) => {
  const { sandbox, client } = await withSandbox(t, { sandbox: { oauth: oauthSandbox() } });
  await Promise.all(Array.from({ length: 6 }, () => client.dialRules.list(list)));
  t.is(tokenRequests(sandbox).length, 1);
  t.is(apiRequests(sandbox).length, 6);
  t.true(apiRequests(sandbox).every((request) => request.authorized && request.status === 200));
});

test('OAuth: the token is refreshed ahead of expiry, once for many concurrent requests', async (t) => {
  const { sandbox } = await withSandbox(t, { sandbox: { oauth: oauthSandbox({ expiresInSeconds: 2 }) } });
  const spy = await startTokenSpy(t, sandbox.url);
  // 1500 ms ahead is capped at half the 2 s lifetime: the refresh is due 1 s after login.
  const client = createNsClient({ baseUrl: spy.url, auth: { ...OAUTH, refreshAheadMs: 1500 } });
  await client.dialRules.list(list);
  await sleep(400);
  await client.dialRules.list(list);
  t.deepEqual(spy.grants, ['password'], 'not refreshed before it is due');

  await sleep(750);
  await Promise.all(Array.from({ length: 5 }, () => client.dialRules.list(list)));
  t.deepEqual(spy.grants, ['password', 'refresh_token']);
  // Refreshed before NetSapiens refused anything: not one request answered 401.
  t.true(sandbox.requests.every((request) => request.status === 200));
  t.is(apiRequests(sandbox).length, 7);
});

test('OAuth: a failed refresh falls back to a fresh password login', async (t) => {
  const { sandbox } = await withSandbox(t, { sandbox: { oauth: oauthSandbox({ expiresInSeconds: 2 }) } });
  const spy = await startTokenSpy(t, sandbox.url);
  const client = createNsClient({ baseUrl: spy.url, auth: { ...OAUTH, refreshAheadMs: 1000 } });
  await client.dialRules.list(list);
  sandbox.revokeRefreshTokens();
  await sleep(1100);
  await client.dialRules.list(list);

  t.deepEqual(spy.grants, ['password', 'refresh_token', 'password']);
  t.deepEqual(
    tokenRequests(sandbox).map((request) => request.status),
    [200, 401, 200],
  );
  t.deepEqual(
    apiRequests(sandbox).map((request) => [request.status, request.authorized]),
    [
      [200, true],
      [200, true],
    ],
  );
});

test('OAuth: a 401 triggers exactly one refresh and one retry, for a POST too', async (t) => {
  const { sandbox } = await withSandbox(t, { sandbox: { oauth: oauthSandbox() } });
  const spy = await startTokenSpy(t, sandbox.url);
  const client = createNsClient({ baseUrl: spy.url, auth: { ...OAUTH } });
  await client.dialRules.list(list);
  sandbox.expireAccessTokens();
  const sent = await client.messages.sendSms(SMS);

  t.deepEqual(spy.grants, ['password', 'refresh_token']);
  t.deepEqual(
    sandbox.requests.map((request) => [request.route ?? request.path, request.status, request.authorized]),
    [
      ['tokens', 200, false],
      ['dialrules.list', 200, true],
      ['messages.send', 401, false],
      ['tokens', 200, false],
      ['messages.send', 202, true],
    ],
  );
  // Refused before it was acted on, the retried POST delivered the text exactly once.
  t.deepEqual(
    sandbox.messages.map((message) => message.sessionId),
    [sent.sessionId],
  );
});

test('OAuth: 401s from concurrent requests share one refresh', async (t) => {
  const { sandbox } = await withSandbox(t, { sandbox: { oauth: oauthSandbox() } });
  const spy = await startTokenSpy(t, sandbox.url);
  const client = createNsClient({ baseUrl: spy.url, auth: { ...OAUTH } });
  await client.dialRules.list(list);
  sandbox.expireAccessTokens();
  await Promise.all(Array.from({ length: 4 }, () => client.dialRules.list(list)));
  t.deepEqual(spy.grants, ['password', 'refresh_token']);
  t.is(apiRequests(sandbox).filter((request) => request.status === 200).length, 5);
});

test('OAuth: a second 401 after renewing is final', async (t) => {
  const { sandbox, client } = await withSandbox(t, { sandbox: { oauth: oauthSandbox() } });
  await client.dialRules.list(list);
  sandbox.inject({ route: 'dialrules.list', status: 401, times: 2 });
  const error = await t.throwsAsync(client.dialRules.list(list), { instanceOf: NsHttpError });
  t.is(error?.status, 401);
  t.deepEqual(
    sandbox.requests.map((request) => request.status),
    [200, 200, 401, 200, 401],
  );
});

test('OAuth: falls back to /ns-api/oauth2/token/ when v2 tokens answers 404, and stays there', async (t) => {
  const { sandbox } = await withSandbox(t, { sandbox: { oauth: oauthSandbox({ legacyEndpointOnly: true }) } });
  const spy = await startTokenSpy(t, sandbox.url);
  const client = createNsClient({ baseUrl: spy.url, auth: { ...OAUTH } });
  await client.dialRules.list(list);
  sandbox.expireAccessTokens();
  await client.dialRules.list(list);

  t.deepEqual(
    sandbox.requests.map((request) => [request.method, request.path, request.status]),
    [
      ['POST', '/ns-api/v2/tokens', 404],
      ['POST', '/ns-api/oauth2/token/', 200],
      ['GET', '/ns-api/v2/domains/example.com/dialplans/example.com/dialrules', 200],
      ['GET', '/ns-api/v2/domains/example.com/dialplans/example.com/dialrules', 401],
      ['POST', '/ns-api/oauth2/token/', 200],
      ['GET', '/ns-api/v2/domains/example.com/dialplans/example.com/dialrules', 200],
    ],
  );
  t.deepEqual(spy.grants, ['password', 'password', 'refresh_token']);
  // The legacy endpoint gets the same grants, form-encoded.
  t.deepEqual(spy.grantContentTypes.slice(1), ['application/x-www-form-urlencoded', 'application/x-www-form-urlencoded']);
});

test('OAuth: refused credentials are an NsHttpError from the token endpoint, and nothing else is sent', async (t) => {
  const { sandbox, newClient } = await withSandbox(t, { sandbox: { oauth: oauthSandbox() } });
  const client = newClient({ auth: { ...OAUTH, password: 'wrong-password-3b8e1f6a2c9d' } });
  const error = await t.throwsAsync(client.messages.sendSms(SMS), { instanceOf: NsHttpError });
  t.like(error, { status: 401, nsCode: 401, nsMessage: 'Invalid credentials', method: 'POST', path: '/ns-api/v2/tokens' });
  t.deepEqual(
    sandbox.requests.map((request) => request.route),
    ['tokens'],
  );
  // The token endpoint's error body is cut down to NetSapiens' code and message.
  t.deepEqual(error?.body, { code: 401, message: 'Invalid credentials' });
});

test('OAuth: a token endpoint without access_token is an NsResponseError', async (t) => {
  const { sandbox, client } = await withSandbox(t, { sandbox: { oauth: oauthSandbox() } });
  sandbox.inject({ route: 'tokens', status: 200, body: { token_type: 'Bearer' } });
  const error = await rejection(client.dialRules.list(list));
  t.true(error instanceof NsResponseError);
  t.like(error, { status: 200, method: 'POST', path: '/ns-api/v2/tokens' });
  t.is((error as Error).message, 'NetSapiens answered 200 to POST /ns-api/v2/tokens with JSON without an access_token');
  t.is(apiRequests(sandbox).length, 0);
});

test('OAuth: a failed login is not cached: the next call logs in again', async (t) => {
  const { sandbox, client } = await withSandbox(t, { sandbox: { oauth: oauthSandbox() } });
  sandbox.inject({ route: 'tokens', status: 503 });
  await t.throwsAsync(client.dialRules.list(list), { instanceOf: NsHttpError });
  await client.dialRules.list(list);
  t.deepEqual(
    sandbox.requests.map((request) => [request.route, request.status]),
    [
      ['tokens', 503],
      ['tokens', 200],
      ['dialrules.list', 200],
    ],
  );
});

test('no OAuth secret in any error', async (t) => {
  const { sandbox } = await withSandbox(t, { sandbox: { oauth: oauthSandbox() } });
  const spy = await startTokenSpy(t, sandbox.url);
  const client = createNsClient({ baseUrl: spy.url, auth: { ...OAUTH } });
  // Its own login must not time out on a busy machine: only the delayed request below should.
  const impatient = createNsClient({ baseUrl: spy.url, auth: { ...OAUTH }, timeoutMs: 1000, retries: 0 });
  await impatient.dialRules.list(list);
  const errors: unknown[] = [];

  sandbox.inject({ route: 'messages.send', status: 400 });
  errors.push(await rejection(client.messages.sendSms(SMS)));
  // A 401 that survives a refresh: both tokens of the session were in play.
  sandbox.expireAccessTokens();
  sandbox.inject({ route: 'messages.send', status: 401, times: 2 });
  errors.push(await rejection(client.messages.sendSms(SMS)));
  sandbox.inject({ route: 'queuedcall.create', drop: true });
  errors.push(await rejection(client.queuedCalls.create({ queue: '9002@example.com', destination: '+18135551234' })));
  sandbox.inject({ route: 'dialrules.list', delayMs: 5000 });
  errors.push(await rejection(impatient.dialRules.list(list)));
  errors.push(await rejection(client.messages.sendSms({ ...SMS, destination: '' })));
  // The token endpoint failing in each way.
  // An endpoint that echoes what was posted in its message, for the refresh and then the login.
  const echo = { code: 400, message: `bad request for ${OAUTH.password} ${OAUTH.clientSecret}` };
  sandbox.inject({ route: 'tokens', status: 400, body: echo, times: 2 });
  sandbox.expireAccessTokens();
  errors.push(await rejection(client.dialRules.list(list)));
  errors.push(
    await rejection(
      createNsClient({ baseUrl: spy.url, auth: { ...OAUTH, clientSecret: 'wrong-secret-8c3a5e7f1d9b' } }).dialRules.list(list),
    ),
  );
  sandbox.inject({ route: 'tokens', drop: true });
  errors.push(await rejection(createNsClient({ baseUrl: spy.url, auth: { ...OAUTH } }).dialRules.list(list)));
  sandbox.inject({ route: 'tokens', delayMs: 2000 });
  errors.push(await rejection(createNsClient({ baseUrl: spy.url, auth: { ...OAUTH }, timeoutMs: 300 }).dialRules.list(list)));
  errors.push(await rejection(createNsClient({ baseUrl: await closedUrl(), auth: { ...OAUTH }, retries: 0 }).dialRules.list(list)));

  t.deepEqual(
    errors.map((error) => (error as Error).name),
    [
      'NsHttpError',
      'NsAuthError',
      'NsNetworkError',
      'NsTimeoutError',
      'NsUsageError',
      'NsHttpError',
      'NsAuthError',
      'NsNetworkError',
      'NsTimeoutError',
      'NsNetworkError',
    ],
  );
  t.true(errors[1] instanceof NsHttpError && errors[1].status === 401);
  t.is(errors[5] instanceof NsHttpError ? errors[5].nsMessage : undefined, 'bad request for [redacted] [redacted]');
  t.true(errors[7] instanceof NsNetworkError && errors[9] instanceof NsNetworkError && errors[8] instanceof NsTimeoutError);
  // At least two logins and a refresh: the spy saw several access and refresh tokens.
  t.true(spy.tokens.size >= 4, `${spy.tokens.size} tokens seen`);
  const secrets = [OAUTH.password, OAUTH.clientSecret, 'wrong-secret-8c3a5e7f1d9b', ...spy.tokens];
  for (const error of errors) assertNoSecrets(t, error, secrets);
});

test('auth must be an API key or complete OAuth credentials', (t) => {
  const baseUrl = 'https://ucportal.example.net';
  t.throws(() => createNsClient({ baseUrl, auth: { token: '' } }), { instanceOf: NsUsageError });
  for (const field of ['clientId', 'clientSecret', 'username', 'password'] as const) {
    t.throws(() => createNsClient({ baseUrl, auth: { ...OAUTH, [field]: '' } }), { instanceOf: NsUsageError }, field);
  }
  t.notThrows(() => createNsClient({ baseUrl, auth: { token: API_KEY } }));
});
