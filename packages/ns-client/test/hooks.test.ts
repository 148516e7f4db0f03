import { inspect } from 'node:util';
import test from 'ava';
import {
  createNsClient,
  NsConflictError,
  NsUsageError,
  type NsHooks,
  type NsRequestHookInfo,
  type NsResponseHookInfo,
  type NsRetryHookInfo,
} from '@beckon/ns-client';
import { API_KEY, closedUrl, OAUTH, oauthSandbox, rejection, sleep, startTokenSpy, withSandbox } from './helpers.js';

const DOMAIN = 'example.com';
const LIST_PATH = '/ns-api/v2/domains/example.com/dialplans/example.com/dialrules';
const CALL = { queue: '9002@example.com', destination: '+18135551234' };

type Event =
  ({ hook: 'onRequest' } & NsRequestHookInfo) | ({ hook: 'onResponse' } & NsResponseHookInfo) | ({ hook: 'onRetry' } & NsRetryHookInfo);

/** Hooks that record every call, in order. */
function recorder(): { hooks: NsHooks; events: Event[] } {
  const events: Event[] = [];
  return {
    events,
    hooks: {
      onRequest: (info) => void events.push({ hook: 'onRequest', ...info }),
      onResponse: (info) => void events.push({ hook: 'onResponse', ...info }),
      onRetry: (info) => void events.push({ hook: 'onRetry', ...info }),
    },
  };
}

test('each attempt is reported: onRequest, onResponse with its status and duration, onRetry with the wait and why', async (t) => {
  const { hooks, events } = recorder();
  const { sandbox, client } = await withSandbox(t, { client: { hooks } });
  sandbox.inject({ route: 'dialrules.list', status: 503 });
  await client.dialRules.list({ domain: DOMAIN });

  t.deepEqual(
    events.map(({ hook, method, path, attempt }) => [hook, method, path, attempt]),
    [
      ['onRequest', 'GET', LIST_PATH, 1],
      ['onResponse', 'GET', LIST_PATH, 1],
      ['onRetry', 'GET', LIST_PATH, 1],
      ['onRequest', 'GET', LIST_PATH, 2],
      ['onResponse', 'GET', LIST_PATH, 2],
    ],
  );
  t.like(events[1], { status: 503, error: undefined });
  t.like(events[2], { reason: 'status 503', retryAfter: false });
  t.like(events[4], { status: 200, error: undefined });
  const retry = events[2] as NsRetryHookInfo;
  t.true(Number.isInteger(retry.delayMs) && retry.delayMs >= 50 && retry.delayMs <= 100, `delayMs ${retry.delayMs}`);
  for (const event of [events[1], events[4]] as NsResponseHookInfo[]) {
    t.true(Number.isInteger(event.durationMs) && event.durationMs >= 0, `durationMs ${event.durationMs}`);
  }
});

test('an attempt without an answer is reported with why: timeout, a reset, a refused connection', async (t) => {
  const { hooks, events } = recorder();
  const { sandbox, newClient } = await withSandbox(t);
  const client = newClient({ hooks, timeoutMs: 200, retries: 0 });
  sandbox.inject({ route: 'dialrules.list', delayMs: 2000 });
  await rejection(client.dialRules.list({ domain: DOMAIN }));
  sandbox.inject({ route: 'queuedcall.create', drop: true });
  await rejection(client.queuedCalls.create(CALL));
  const outcomes = events.filter((event) => event.hook === 'onResponse').map((event) => [event.method, event.status, event.error]);
  t.deepEqual(outcomes, [
    ['GET', undefined, 'timeout'],
    ['POST', undefined, 'ECONNRESET'],
  ]);
  t.true((events[1] as NsResponseHookInfo).durationMs >= 150, 'the timeout took its 200 ms');

  // A POST refused before connecting is retried: onRetry says so.
  const refused = recorder();
  const offline = createNsClient({ baseUrl: await closedUrl(), auth: { token: API_KEY }, retries: 1, hooks: refused.hooks });
  await rejection(offline.queuedCalls.create(CALL));
  t.deepEqual(
    refused.events.map((event) => [event.hook, event.attempt, 'error' in event ? event.error : 'reason' in event ? event.reason : '']),
    [
      ['onRequest', 1, ''],
      ['onResponse', 1, 'ECONNREFUSED'],
      ['onRetry', 1, 'ECONNREFUSED'],
      ['onRequest', 2, ''],
      ['onResponse', 2, 'ECONNREFUSED'],
    ],
  );
});

test('a hook that throws or rejects does not break the call; the first failure is reported once as a warning', async (t) => {
  const warnings: Error[] = [];
  const onWarning = (warning: Error) => {
    if (warning.name === 'NsHookWarning') warnings.push(warning);
  };
  process.on('warning', onWarning);
  t.teardown(() => process.off('warning', onWarning));

  const { sandbox, newClient } = await withSandbox(t);
  let calls = 0;
  const client = newClient({
    hooks: {
      onRequest: () => {
        calls += 1;
        throw new TypeError('logger is not ready');
      },
      onResponse: async () => {
        calls += 1;
        throw new Error('the log sink is closed');
      },
      onRetry: () => {
        calls += 1;
        throw new Error('metrics are down');
      },
    },
  });
  sandbox.inject({ route: 'dialrules.list', status: 503 });
  t.deepEqual(await client.dialRules.list({ domain: DOMAIN }), []);
  await client.queuedCalls.create(CALL);
  sandbox.inject({ route: 'users.create', status: 409 });
  const conflict = await rejection(client.users.create({ domain: DOMAIN, user: '8001', firstName: 'A', lastName: 'B', email: 'a@b.c' }));
  t.true(conflict instanceof NsConflictError, 'the call’s own error, not the hook’s');
  t.is(calls, 9, 'every hook was called: 5 times for the retried list, twice for the call, twice for the 409');
  t.is(sandbox.calls.length, 1);

  await sleep(100); // warnings are emitted on the next tick
  t.is(warnings.length, 1);
  t.regex(warnings[0]?.message ?? '', /the onRequest hook failed \(TypeError: logger is not ready\); the request went on/);
});

test('createNsClient refuses hooks that are not functions', (t) => {
  const base = { baseUrl: 'https://ucportal.example.net', auth: { token: API_KEY } };
  for (const hooks of ['log', { onRequest: 'log' }, { onRetry: 42 }]) {
    t.throws(() => createNsClient({ ...base, hooks: hooks as NsHooks }), { instanceOf: NsUsageError }, JSON.stringify(hooks));
  }
  t.notThrows(() => createNsClient({ ...base, hooks: {} }));
});

/** Long enough to be found verbatim, in a name the general scrubbing does not know. */
const POST_URL_SECRET = 'hK4tR8nW2xQ6vB9z';

test('no hook ever sees a secret: token, password, client secret, access and refresh tokens, a post-url secret', async (t) => {
  const oauth = recorder();
  const { sandbox } = await withSandbox(t, { sandbox: { oauth: oauthSandbox() } });
  const spy = await startTokenSpy(t, sandbox.url);
  const client = createNsClient({ baseUrl: spy.url, auth: { ...OAUTH }, hooks: oauth.hooks, timeoutMs: 2000 });
  const postUrl = `https://beckon.example.net/webhooks/netsapiens?id=${DOMAIN}&key=${POST_URL_SECRET}`;

  await client.dialRules.list({ domain: DOMAIN }); // password login
  sandbox.expireAccessTokens();
  await client.dialRules.list({ domain: DOMAIN }); // 401, refresh, sent again
  sandbox.expireAccessTokens();
  sandbox.revokeRefreshTokens();
  await client.queuedCalls.create(CALL); // 401, refresh refused, password login, sent again
  await client.subscriptions.create({ domain: DOMAIN, model: 'call', postUrl });
  // Error answers that echo what was sent.
  sandbox.inject({ route: 'subscriptions.create', status: 400, body: { code: 400, message: `bad post-url ${postUrl}` } });
  await rejection(client.subscriptions.create({ domain: DOMAIN, model: 'call', postUrl }));
  sandbox.inject({ route: 'dialrules.list', status: 503, times: 2, body: { code: 503, password: OAUTH.password } });
  await client.dialRules.list({ domain: DOMAIN });

  const apiKey = recorder();
  const { sandbox: other, newClient } = await withSandbox(t);
  other.inject({ route: 'dialrules.list', status: 429, retryAfter: 0, body: { code: 429, message: `slow down, Bearer ${API_KEY}` } });
  await newClient({ hooks: apiKey.hooks }).dialRules.list({ domain: DOMAIN });

  const events = [...oauth.events, ...apiKey.events];
  const paths = new Set(events.map((event) => event.path));
  t.true(paths.has('/ns-api/v2/tokens'), 'the token requests were reported too');
  t.true(paths.has('/ns-api/'), 'the legacy path, without its query');
  t.true(events.some((event) => event.hook === 'onRetry'));
  t.true(spy.tokens.size >= 4, 'access and refresh tokens were issued and used');
  const secrets = [API_KEY, OAUTH.password, OAUTH.clientSecret, POST_URL_SECRET, ...spy.tokens];
  const allowed = {
    onRequest: ['attempt', 'hook', 'method', 'path'],
    onResponse: ['attempt', 'durationMs', 'error', 'hook', 'method', 'path', 'status'],
    onRetry: ['attempt', 'delayMs', 'hook', 'method', 'path', 'reason', 'retryAfter'],
  };
  for (const event of events) {
    t.deepEqual(Object.keys(event).sort(), allowed[event.hook], 'nothing but these fields');
    const text = inspect(event, { depth: Infinity, showHidden: true });
    for (const secret of secrets) t.false(text.includes(secret), `${event.hook} ${event.path} holds a secret`);
  }
});
