import test from 'ava';
import { NsRateLimitError, NsServerError, type NsClient, type NsRetryHookInfo } from '@beckon/ns-client';
import { oauthSandbox, rejection, withSandbox } from './helpers.js';

const DOMAIN = 'example.com';
const SMS = { domain: DOMAIN, user: '1001', fromNumber: '19294873999', destination: '18135551234', message: 'hello' };

/** A client whose retries are recorded, against its own sandbox. */
async function setup(t: Parameters<typeof withSandbox>[0], retries = 2) {
  const retryInfos: NsRetryHookInfo[] = [];
  const { sandbox, client } = await withSandbox(t, { client: { retries, hooks: { onRetry: (info) => void retryInfos.push(info) } } });
  return { sandbox, client, retryInfos };
}

// Without Retry-After the first retry waits 50–100 ms: waits of 2 s and more are NetSapiens' own.
test('a GET answered 429 with Retry-After in seconds is retried once that time has passed', async (t) => {
  const { sandbox, client, retryInfos } = await setup(t);
  sandbox.inject({ route: 'dialrules.list', status: 429, retryAfter: 2 });
  const started = Date.now();
  t.deepEqual(await client.dialRules.list({ domain: DOMAIN }), []);
  const elapsed = Date.now() - started;
  t.true(elapsed >= 1900, `retried after ${elapsed} ms`);
  t.deepEqual(
    sandbox.requests.map((request) => request.status),
    [429, 200],
  );
  t.like(retryInfos, [{ reason: 'status 429', delayMs: 2000, retryAfter: true, attempt: 1 }]);
});

test('a Retry-After given as an HTTP date is waited out too', async (t) => {
  const { sandbox, client, retryInfos } = await setup(t);
  // HTTP dates count whole seconds: 3 s ahead is at least 2 s once rounded down.
  sandbox.inject({ route: 'dialrules.list', status: 429, retryAfter: new Date(Date.now() + 3000).toUTCString() });
  t.deepEqual(await client.dialRules.list({ domain: DOMAIN }), []);
  t.deepEqual(
    sandbox.requests.map((request) => request.status),
    [429, 200],
  );
  t.true((retryInfos[0]?.delayMs ?? 0) >= 1000, `waited ${retryInfos[0]?.delayMs} ms`);
  t.true(retryInfos[0]?.retryAfter);
});

test('a Retry-After longer than 30 s fails the GET at once with the 429, rather than hang', async (t) => {
  const { sandbox, client, retryInfos } = await setup(t);
  sandbox.inject({ route: 'dialrules.list', status: 429, retryAfter: 120 });
  const started = Date.now();
  const error = await rejection(client.dialRules.list({ domain: DOMAIN }));
  const elapsed = Date.now() - started;
  t.true(error instanceof NsRateLimitError, String(error));
  t.like(error, { status: 429, retryAfterMs: 120_000, method: 'GET' });
  t.true(elapsed < 5000, `took ${elapsed} ms`);
  t.is(sandbox.requests.length, 1);
  t.deepEqual(retryInfos, []);
});

for (const [name, send] of [
  ['messages.sendSms', (client: NsClient) => client.messages.sendSms(SMS)],
  ['queuedCalls.create', (client: NsClient) => client.queuedCalls.create({ queue: '9002@example.com', destination: '+18135551234' })],
] as const) {
  test(`a POST (${name}) answered 429 is never retried, even with a short Retry-After`, async (t) => {
    const { sandbox, client, retryInfos } = await setup(t);
    const route = name === 'messages.sendSms' ? 'messages.send' : 'queuedcall.create';
    sandbox.inject({ route, status: 429, retryAfter: 1 });
    const error = await rejection(send(client));
    t.true(error instanceof NsRateLimitError, String(error));
    t.like(error, { status: 429, retryAfterMs: 1000, method: 'POST' });
    t.is(sandbox.requests.length, 1);
    t.is(sandbox.messages.length + sandbox.calls.length, 0);
    t.deepEqual(retryInfos, []);
  });
}

test('a 429 without a readable Retry-After is retried with the usual backoff; retryAfterMs is undefined', async (t) => {
  const { sandbox, client, retryInfos } = await setup(t, 1);
  sandbox.inject({ route: 'dialrules.list', status: 429 });
  sandbox.inject({ route: 'dialrules.list', status: 429, retryAfter: 'soon' });
  const error = await rejection(client.dialRules.list({ domain: DOMAIN }));
  t.true(error instanceof NsRateLimitError);
  t.is((error as NsRateLimitError).retryAfterMs, undefined);
  t.deepEqual(
    retryInfos.map((info) => [info.reason, info.retryAfter, info.delayMs <= 100]),
    [['status 429', false, true]],
  );
  t.is(sandbox.requests.length, 2);
});

test('429s count against retries: the last one is thrown', async (t) => {
  const { sandbox, client } = await setup(t, 2);
  sandbox.inject({ route: 'dialrules.list', status: 429, retryAfter: 0, times: Infinity });
  const error = await rejection(client.dialRules.list({ domain: DOMAIN }));
  t.true(error instanceof NsRateLimitError);
  t.like(error, { retryAfterMs: 0 });
  t.is(sandbox.requests.length, 3);
});

test('a Retry-After on a 503 is honoured the same way', async (t) => {
  const { sandbox, client, retryInfos } = await setup(t);
  sandbox.inject({ route: 'dialrules.list', status: 503, retryAfter: 2 });
  t.deepEqual(await client.dialRules.list({ domain: DOMAIN }), []);
  t.like(retryInfos, [{ reason: 'status 503', delayMs: 2000, retryAfter: true }]);

  sandbox.inject({ route: 'dialrules.list', status: 503, retryAfter: 3600 });
  const error = await rejection(client.dialRules.list({ domain: DOMAIN }));
  t.true(error instanceof NsServerError, 'an hour is too long: it fails at once');
  t.is(retryInfos.length, 1);
});

test('an OAuth login answered 429 is not retried (a POST), and its error keeps retryAfterMs', async (t) => {
  const { sandbox, client } = await withSandbox(t, { sandbox: { oauth: oauthSandbox() } });
  sandbox.inject({ route: 'tokens', status: 429, retryAfter: 7 });
  const error = await rejection(client.dialRules.list({ domain: DOMAIN }));
  t.true(error instanceof NsRateLimitError, String(error));
  t.like(error, { status: 429, retryAfterMs: 7000, method: 'POST', path: '/ns-api/v2/tokens' });
  t.is(sandbox.requests.length, 1);
});
