import test from 'ava';
import {
  createNsClient,
  NsConflictError,
  NsHttpError,
  NsNetworkError,
  NsNotFoundError,
  NsResponseError,
  NsServerError,
  NsUsageError,
  type CreateSubscriptionOptions,
} from '@beckon/ns-client';
import { API_KEY, assertNoSecrets, withPlainServer, withSandbox } from './helpers.js';

const DOMAIN = 'example.com';
/** Shorter than the 32 characters the general scrubbing catches, under a name it does not know: only the post URL rule can cut it. */
const SECRET = 'kT7vQ2mX9pL4wR8zN3bY';
const POST_URL = `https://beckon.example.net/webhooks/netsapiens?id=${DOMAIN}&key=${SECRET}`;
const EXPIRES = new Date('2030-01-02T03:04:05.678Z');
const OPTIONS: CreateSubscriptionOptions = { domain: DOMAIN, model: 'call', postUrl: POST_URL, expires: EXPIRES };
const ROUTE = '/ns-api/v2/subscriptions';

test('subscriptions.create posts the §4.5 fields and resolves to the record with its id', async (t) => {
  const { sandbox, client } = await withSandbox(t);
  const created = await client.subscriptions.create(OPTIONS);
  t.regex(created.id, /^[0-9a-f]{32}$/);
  t.like(created, {
    model: 'call',
    'post-url': POST_URL,
    domain: DOMAIN,
    user: '*',
    'subscription-expires-datetime': '2030-01-02 03:04:05',
    status: 'pending',
  });

  // The wire body, checked against netsapiens.md §4.5 and the v2 spec rather than the sandbox's own rules.
  const [request] = sandbox.requests;
  t.like(request, { method: 'POST', path: ROUTE, route: 'subscriptions.create', status: 200 });
  t.deepEqual(request?.body, {
    model: 'call',
    'post-url': POST_URL,
    domain: DOMAIN,
    user: '*',
    'subscription-geo-support': 'yes',
    'subscription-expires-datetime': '2030-01-02 03:04:05',
  });
  t.is(sandbox.subscriptions[0]?.['post-url'], POST_URL, 'NetSapiens keeps the URL whole, query and all');
});

test('subscriptions.create: user, geo support and preferred server are sent as given; no expiry leaves it to NetSapiens', async (t) => {
  const { sandbox, client } = await withSandbox(t);
  const created = await client.subscriptions.create({
    domain: DOMAIN,
    model: 'call_origid',
    postUrl: 'http://127.0.0.1:9/events',
    user: '2000',
    geoSupport: false,
    preferredServer: 'core1.example.net',
  });
  t.deepEqual(sandbox.requests[0]?.body, {
    model: 'call_origid',
    'post-url': 'http://127.0.0.1:9/events',
    domain: DOMAIN,
    user: '2000',
    'subscription-geo-support': 'no',
    'preferred-server': 'core1.example.net',
  });
  t.regex(created['subscription-expires-datetime'] ?? '', /^20[4-9]\d-\d\d-\d\d \d\d:\d\d:\d\d$/, 'an API key gets 20 years');
});

test('subscriptions.create: an identical active subscription is a 409 NsConflictError, sent once; list finds the existing one', async (t) => {
  const { sandbox, client } = await withSandbox(t);
  const first = await client.subscriptions.create(OPTIONS);
  const error = await t.throwsAsync(client.subscriptions.create(OPTIONS), { instanceOf: NsConflictError });
  t.like(error, { status: 409, nsMessage: 'Subscription already exists', method: 'POST', path: ROUTE });
  t.is(sandbox.requests.length, 2);
  const found = (await client.subscriptions.list({ domain: DOMAIN })).find(
    (subscription) => subscription.model === 'call' && subscription['post-url'] === POST_URL,
  );
  t.is(found?.id, first.id);
  // Another user, or another URL, is another subscription.
  await client.subscriptions.create({ ...OPTIONS, user: '2000' });
  await client.subscriptions.create({ ...OPTIONS, postUrl: `${POST_URL}x` });
  t.is(sandbox.subscriptions.length, 3);
});

test('subscriptions.renew PUTs the new expiry; subscriptions.delete sends {subscription_id, domain}; list filters by domain', async (t) => {
  const { sandbox, client } = await withSandbox(t);
  const { id } = await client.subscriptions.create(OPTIONS);
  const other = await client.subscriptions.create({ ...OPTIONS, domain: 'other.example' });

  await client.subscriptions.renew({ id, expires: new Date('2031-06-30T23:59:59Z') });
  t.like(sandbox.requests.at(-1), { method: 'PUT', path: `${ROUTE}/${id}`, status: 202 });
  t.deepEqual(sandbox.requests.at(-1)?.body, { 'subscription-expires-datetime': '2031-06-30 23:59:59' });

  const listed = await client.subscriptions.list({ domain: DOMAIN });
  t.deepEqual(
    listed.map((subscription) => [subscription.id, subscription['subscription-expires-datetime']]),
    [[id, '2031-06-30 23:59:59']],
  );
  t.is((await client.subscriptions.list()).length, 2);
  t.like(sandbox.requests.at(-1), { method: 'GET', path: ROUTE });

  await client.subscriptions.delete({ id, domain: DOMAIN });
  t.like(sandbox.requests.at(-1), { method: 'DELETE', path: `${ROUTE}/${id}`, status: 202 });
  t.deepEqual(sandbox.requests.at(-1)?.body, { subscription_id: id, domain: DOMAIN });
  t.deepEqual(
    sandbox.subscriptions.map((subscription) => subscription.id),
    [other.id],
  );

  // Gone: a renewal or a second delete is a 404 the caller can act on.
  await t.throwsAsync(client.subscriptions.delete({ id, domain: DOMAIN }), { instanceOf: NsNotFoundError });
  await t.throwsAsync(client.subscriptions.renew({ id, expires: EXPIRES }), { instanceOf: NsNotFoundError });
});

test('subscriptions.create is never retried once sent; renew, delete and list are, after a 503', async (t) => {
  const { sandbox, client } = await withSandbox(t);
  sandbox.inject({ route: 'subscriptions.create', status: 503 });
  await t.throwsAsync(client.subscriptions.create(OPTIONS), { instanceOf: NsServerError });
  sandbox.inject({ route: 'subscriptions.create', drop: true });
  await t.throwsAsync(client.subscriptions.create(OPTIONS), { instanceOf: NsNetworkError });
  t.deepEqual(
    sandbox.requests.map((request) => request.status),
    [503, null],
  );
  t.is(sandbox.subscriptions.length, 0);

  const { id } = await client.subscriptions.create(OPTIONS);
  for (const route of ['subscriptions.update', 'subscriptions.delete', 'subscriptions.list'] as const) {
    sandbox.inject({ route, status: 503 });
  }
  await client.subscriptions.renew({ id, expires: EXPIRES });
  t.is((await client.subscriptions.list()).length, 1);
  await client.subscriptions.delete({ id, domain: DOMAIN });
  t.deepEqual(
    sandbox.requests.slice(3).map((request) => `${request.method} ${request.status}`),
    ['PUT 503', 'PUT 202', 'GET 503', 'GET 200', 'DELETE 503', 'DELETE 202'],
  );
});

test('subscriptions: arguments NetSapiens could not use are refused before sending, and the message never repeats the URL', async (t) => {
  const { sandbox, client } = await withSandbox(t);
  const refused = [
    client.subscriptions.create({ ...OPTIONS, postUrl: `ftp://beckon.example.net/?key=${SECRET}` }),
    client.subscriptions.create({ ...OPTIONS, postUrl: `beckon.example.net/?key=${SECRET}` }),
    client.subscriptions.create({ ...OPTIONS, postUrl: ' ' }),
    client.subscriptions.create({ ...OPTIONS, domain: '' }),
    client.subscriptions.create({ ...OPTIONS, user: '' }),
    client.subscriptions.create({ ...OPTIONS, expires: new Date('not a date') }),
    client.subscriptions.renew({ id: 'abc', expires: '2030-01-01 00:00:00' as unknown as Date }),
    client.subscriptions.renew({ id: '', expires: EXPIRES }),
    client.subscriptions.delete({ id: 'abc', domain: '' }),
    client.subscriptions.list({ domain: ' ' }),
  ];
  for (const call of refused) {
    const error = await t.throwsAsync(call, { instanceOf: NsUsageError });
    t.false(error?.message.includes(SECRET) ?? true, error?.message);
  }
  t.is(sandbox.requests.length, 0);
});

test('subscriptions: an answer without an id, or a list of something else, is an NsResponseError', async (t) => {
  const { sandbox, client } = await withSandbox(t);
  sandbox.inject({ route: 'subscriptions.create', status: 202, body: { code: 202, message: 'Accepted' } });
  const error = await t.throwsAsync(client.subscriptions.create(OPTIONS), { instanceOf: NsResponseError });
  t.is(error?.problem, 'JSON without a subscription id');
  sandbox.inject({ route: 'subscriptions.list', status: 200, body: [{ model: 'call' }] });
  const listError = await t.throwsAsync(client.subscriptions.list(), { instanceOf: NsResponseError });
  t.is(listError?.problem, 'JSON that is not a list of subscriptions');
});

test('regression: the post URL never reaches an error: NetSapiens echoing it in a JSON error', async (t) => {
  const { sandbox, client } = await withSandbox(t);
  sandbox.inject({
    route: 'subscriptions.create',
    status: 400,
    body: { code: 400, message: `post-url ${POST_URL} could not be reached`, 'post-url': POST_URL, request: { key: SECRET } },
  });
  const error = await t.throwsAsync(client.subscriptions.create(OPTIONS), { instanceOf: NsHttpError });
  assertNoSecrets(t, error, [SECRET, POST_URL]);
  t.false(JSON.stringify(error?.body).includes(SECRET));
  t.is(error?.nsMessage, 'post-url [redacted] could not be reached');
  t.like(error?.body, { code: 400, 'post-url': '[redacted]', request: { key: '[redacted]' } });
  t.is(error?.message, 'NetSapiens answered 400 to POST /ns-api/v2/subscriptions: post-url [redacted] could not be reached');
});

test('regression: the post URL never reaches an error: echoed PHP-escaped, percent-encoded, or in an HTML page', async (t) => {
  const escaped = POST_URL.replace(/\//g, '\\/');
  const bodies = [
    ['application/json', `{"code":409,"message":"Subscription already exists","post-url":"${escaped}"}`],
    ['application/json', `{"code":400,"message":"bad post-url ${encodeURIComponent(POST_URL)}"}`],
    ['text/html', `<html><body>Bad request for ${POST_URL}<br>key=${SECRET}</body></html>`],
  ] as const;
  let index = 0;
  const server = await withPlainServer(t, (_request, response) => {
    const [type, body] = bodies[index++] ?? bodies[0];
    response.writeHead(type === 'text/html' ? 502 : Number(/"code":(\d+)/.exec(body)?.[1]), { 'content-type': type });
    response.end(body);
  });
  const client = createNsClient({ baseUrl: server.url, auth: { token: API_KEY }, retries: 0 });
  for (const expected of [NsConflictError, NsHttpError, NsServerError]) {
    const error = await t.throwsAsync(client.subscriptions.create(OPTIONS), { instanceOf: expected });
    assertNoSecrets(t, error, [SECRET, POST_URL, API_KEY]);
    t.false(JSON.stringify(error?.body).includes(SECRET));
  }
  t.is(server.requests.length, 3, 'each sent once');
});
