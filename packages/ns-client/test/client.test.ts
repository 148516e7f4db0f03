import test from 'ava';
import { createNsClient, NsHttpError, nsPath, NsUsageError, type UserScope } from '@beckon/ns-client';
import { apiRequests, rejection, withSandbox } from './helpers.js';

const DOMAIN = 'example.com';
const SESSION_ID = /^[A-Za-z0-9_]{32,}$/;

test('queuedCalls.create posts the legacy multipart fields with an E.164 destination', async (t) => {
  const { sandbox, client } = await withSandbox(t);
  await client.queuedCalls.create({ queue: '9002@example.com', destination: '+1 (813) 555-1234' });

  const [request, ...others] = sandbox.requests;
  t.is(others.length, 0);
  t.like(request, {
    method: 'POST',
    path: '/ns-api/',
    query: { object: 'queuedcall', action: 'create' },
    route: 'queuedcall.create',
    status: 202,
    authorized: true,
  });
  t.deepEqual(request?.body, { format: 'json', uid: '9002@example.com', queue: '9002@example.com', destination: '+18135551234' });
  t.like(sandbox.calls[0], { api: 'v1', queue: '9002@example.com', destination: '+18135551234', status: 'queued' });
});

test('queuedCalls.create completes a bare extension with domain', async (t) => {
  const { sandbox, client } = await withSandbox(t);
  await client.queuedCalls.create({ queue: '9002', domain: DOMAIN, destination: '18135551234' });
  t.like(sandbox.requests[0]?.body, { uid: '9002@example.com', queue: '9002@example.com', destination: '+18135551234' });
  t.like(sandbox.calls[0], { queue: '9002@example.com', status: 'queued' });
});

test('queuedCalls.create refuses a bare extension without domain, and bad queues or numbers, before sending', async (t) => {
  const { sandbox, client } = await withSandbox(t);
  const refused = [
    { queue: '9002', destination: '+18135551234' },
    { queue: '9002@a@b', destination: '+18135551234' },
    { queue: '90 02@example.com', destination: '+18135551234' },
    { queue: '9002@exa/mple.com', destination: '+18135551234' },
    { queue: '', domain: DOMAIN, destination: '+18135551234' },
    { queue: '9002@example.com', destination: '555-1234' },
    { queue: '9002@example.com', destination: '+0123456789' },
    { queue: '9002@example.com', destination: 'call me' },
    { queue: '9002@example.com', destination: '' },
  ];
  for (const options of refused) {
    await t.throwsAsync(client.queuedCalls.create(options), { instanceOf: NsUsageError }, JSON.stringify(options));
  }
  t.is(sandbox.requests.length, 0);
  t.is(sandbox.calls.length, 0);
});

test('queuedCalls.createV2 posts digits to the queue extension path', async (t) => {
  const { sandbox, client } = await withSandbox(t);
  await client.queuedCalls.createV2({ domain: DOMAIN, queue: '9002', destination: '+1 813 555 1234' });
  await client.queuedCalls.createV2({ domain: DOMAIN, queue: '9003@example.com', destination: '18135550000' });

  const requests = sandbox.requests;
  t.deepEqual(
    requests.map((request) => [request.method, request.path, request.route, request.status]),
    [
      ['POST', '/ns-api/v2/domains/example.com/queuedcall/9002', 'queuedcall.createV2', 200],
      ['POST', '/ns-api/v2/domains/example.com/queuedcall/9003', 'queuedcall.createV2', 200],
    ],
  );
  t.deepEqual(requests[0]?.body, { destination: '18135551234' });
  t.like(sandbox.calls[0], { api: 'v2', queue: '9002@example.com', destination: '18135551234', status: 'queued' });
});

test('queuedCalls.createV2 refuses a queue of another domain and a missing domain', async (t) => {
  const { sandbox, client } = await withSandbox(t);
  await t.throwsAsync(client.queuedCalls.createV2({ domain: DOMAIN, queue: '9002@other.com', destination: '+18135551234' }), {
    instanceOf: NsUsageError,
  });
  await t.throwsAsync(client.queuedCalls.createV2({ domain: '', queue: '9002', destination: '+18135551234' }), {
    instanceOf: NsUsageError,
  });
  t.is(sandbox.requests.length, 0);
});

test('messages.sendSms uses a fresh session id per text and digits without +', async (t) => {
  const { sandbox, client } = await withSandbox(t);
  const sms = {
    domain: DOMAIN,
    user: '1001',
    fromNumber: '+1 929 487 3999',
    destination: '+1 (813) 555-1234',
    message: 'Directions: 1 Main St',
  };
  const first = await client.messages.sendSms(sms);
  const second = await client.messages.sendSms(sms);

  t.regex(first.sessionId, SESSION_ID);
  t.regex(second.sessionId, SESSION_ID);
  t.not(first.sessionId, second.sessionId);
  const requests = sandbox.requests;
  t.deepEqual(
    requests.map((request) => request.path),
    [first, second].map(({ sessionId }) => `/ns-api/v2/domains/example.com/users/1001/messagesessions/${sessionId}/messages`),
  );
  t.true(requests.every((request) => request.status === 202 && request.route === 'messages.send'));
  t.deepEqual(requests[0]?.body, {
    type: 'sms',
    message: 'Directions: 1 Main St',
    destination: '18135551234',
    'from-number': '19294873999',
  });
  t.deepEqual(
    sandbox.messages.map((message) => [message.sessionId, message.destination, message.fromNumber]),
    [
      [first.sessionId, '18135551234', '19294873999'],
      [second.sessionId, '18135551234', '19294873999'],
    ],
  );
});

test('messages.sendSms reuses a given session id and refuses a short one', async (t) => {
  const { sandbox, client } = await withSandbox(t);
  const sessionId = 'conversation_0123456789abcdef0123456789';
  const sent = await client.messages.sendSms({
    domain: DOMAIN,
    user: '1001',
    fromNumber: '19294873999',
    destination: '18135551234',
    message: 'hi',
    sessionId,
  });
  t.is(sent.sessionId, sessionId);
  t.is(sandbox.messages[0]?.sessionId, sessionId);

  for (const bad of ['short', `${'a'.repeat(31)}`, `${'a'.repeat(40)}/..`, `${'a'.repeat(40)}-x`]) {
    await t.throwsAsync(
      client.messages.sendSms({
        domain: DOMAIN,
        user: '1001',
        fromNumber: '19294873999',
        destination: '18135551234',
        message: 'hi',
        sessionId: bad,
      }),
      { instanceOf: NsUsageError },
    );
  }
  await t.throwsAsync(
    client.messages.sendSms({ domain: DOMAIN, user: '1001', fromNumber: '19294873999', destination: '18135551234', message: '' }),
    {
      instanceOf: NsUsageError,
    },
  );
  await t.throwsAsync(
    client.messages.sendSms({ domain: DOMAIN, user: '1001', fromNumber: '12', destination: '18135551234', message: 'hi' }),
    {
      instanceOf: NsUsageError,
    },
  );
  t.is(sandbox.requests.length, 1);
});

test('users.create sends the v2 fields and a duplicate is a 409 NsHttpError', async (t) => {
  const { sandbox, client } = await withSandbox(t);
  const user = { domain: DOMAIN, user: '8001', firstName: 'Web', lastName: 'Responder', email: 'ops@example.com' };
  await client.users.create({ ...user, scope: 'Simple User', serviceCode: 'system-webresponder' });

  t.like(sandbox.requests[0], { method: 'POST', path: '/ns-api/v2/domains/example.com/users', route: 'users.create', status: 200 });
  t.deepEqual(sandbox.requests[0]?.body, {
    synchronous: 'yes',
    user: '8001',
    'name-first-name': 'Web',
    'name-last-name': 'Responder',
    'email-address': 'ops@example.com',
    'user-scope': 'Simple User',
    'service-code': 'system-webresponder',
  });
  t.like(sandbox.users[0], { domain: DOMAIN, user: '8001', 'user-scope': 'Simple User', 'service-code': 'system-webresponder' });

  const error = await t.throwsAsync(client.users.create(user), { instanceOf: NsHttpError });
  t.like(error, {
    status: 409,
    nsCode: 409,
    nsMessage: 'UID already exists.',
    method: 'POST',
    path: '/ns-api/v2/domains/example.com/users',
  });
  // The default scope and asynchronous mode reach the wire as NetSapiens spells them.
  t.like(sandbox.requests[1]?.body, { 'user-scope': 'Basic User', synchronous: 'yes' });
  await client.users.create({ ...user, user: '8002', synchronous: false });
  t.like(sandbox.requests[2], { status: 202, body: { synchronous: 'no', user: '8002' } });
});

test('users.get reads one user with its service code; a missing one is a 404 NsHttpError', async (t) => {
  const { sandbox, client } = await withSandbox(t);
  await client.users.create({
    domain: DOMAIN,
    user: '8001',
    firstName: 'Web',
    lastName: 'Responder',
    email: 'ops@example.com',
    serviceCode: 'system-webresponder',
  });
  await client.users.create({ domain: DOMAIN, user: '2000', firstName: 'Dana', lastName: 'Reyes', email: 'dana@example.com' });

  t.like(await client.users.get({ domain: DOMAIN, user: '8001' }), { domain: DOMAIN, user: '8001', 'service-code': 'system-webresponder' });
  const person = await client.users.get({ domain: DOMAIN, user: '2000' });
  t.like(person, { user: '2000', 'user-scope': 'Basic User' });
  t.is(person['service-code'], undefined);
  t.like(sandbox.requests.at(-1), { method: 'GET', path: '/ns-api/v2/domains/example.com/users/2000', route: 'users.get', status: 200 });

  const error = await t.throwsAsync(client.users.get({ domain: DOMAIN, user: '9999' }), { instanceOf: NsHttpError });
  t.like(error, { status: 404, nsMessage: 'User not found', method: 'GET', path: '/ns-api/v2/domains/example.com/users/9999' });
  await t.throwsAsync(client.users.get({ domain: DOMAIN, user: '' }), { instanceOf: NsUsageError });
});

test('users.create: a 400 from NetSapiens carries its code and message', async (t) => {
  const { client } = await withSandbox(t);
  const error = await t.throwsAsync(
    // A scope outside the type, as a JavaScript caller could pass: NetSapiens is the one to refuse it.
    client.users.create({ domain: DOMAIN, user: '8001', firstName: 'A', lastName: 'B', email: 'a@b.c', scope: 'Emperor' as UserScope }),
    { instanceOf: NsHttpError },
  );
  t.is(error?.status, 400);
  t.is(error?.nsCode, 400);
  t.regex(error?.nsMessage ?? '', /user-scope must be one of/);
  t.is(error?.method, 'POST');
  t.is(error?.path, '/ns-api/v2/domains/example.com/users');
  t.regex(error?.message ?? '', /^NetSapiens answered 400 to POST \/ns-api\/v2\/domains\/example\.com\/users: user-scope/);
});

test('dialRules.create, list and update round-trip through the domain dial plan', async (t) => {
  const { sandbox, client } = await withSandbox(t);
  await client.dialRules.create({
    domain: DOMAIN,
    match: 'webresponder8001',
    destinationUser: '[*]',
    destinationHost: '[*]',
    application: 'sip:0@Web-Main',
    parameter: 'https://beckon.example.net/webresponder?id=1',
    description: 'test rule',
  });
  t.like(sandbox.requests[0], { method: 'POST', path: '/ns-api/v2/domains/example.com/dialplans/example.com/dialrules', status: 200 });
  t.deepEqual(sandbox.requests[0]?.body, {
    synchronous: 'yes',
    'dial-rule-matching-to-uri': 'webresponder8001',
    'dail-rule-matching-to-uri': 'webresponder8001',
    'dial-rule-translation-destination-user': '[*]',
    'dial-rule-translation-destination-host': '[*]',
    'dial-rule-application': 'sip:0@Web-Main',
    'dial-rule-parameter': 'https://beckon.example.net/webresponder?id=1',
    'dial-rule-description': 'test rule',
  });

  const rules = await client.dialRules.list({ domain: DOMAIN });
  t.is(rules.length, 1);
  const [rule] = rules;
  t.like(rule, { 'dial-rule-matching-to-uri': 'webresponder8001', 'dial-rule-parameter': 'https://beckon.example.net/webresponder?id=1' });
  t.is(typeof rule?.dialrule, 'string');

  await client.dialRules.update({
    domain: DOMAIN,
    dialRule: rule?.dialrule ?? '',
    destinationUser: '[*]',
    parameter: 'https://beckon.example.net/webresponder?id=2',
    enabled: false,
  });
  const update = sandbox.requests[2];
  t.like(update, { method: 'PUT', route: 'dialrules.update', status: 202 });
  t.is(update?.path, `/ns-api/v2/domains/example.com/dialplans/example.com/dialrules/${encodeURIComponent(rule?.dialrule ?? '')}`);
  // The id goes in the body too (the spec requires it), the match never (a PUT cannot change it).
  t.deepEqual(update?.body, {
    dialrule: rule?.dialrule,
    'dial-rule-translation-destination-user': '[*]',
    'dial-rule-parameter': 'https://beckon.example.net/webresponder?id=2',
    enabled: 'no',
  });
  t.is(sandbox.dialRules.length, 1);
  t.like(sandbox.dialRules[0], { 'dial-rule-parameter': 'https://beckon.example.net/webresponder?id=2', enabled: 'no' });
});

test('dialRules: another dial plan, and a rule id holding / + = still addresses its rule', async (t) => {
  const { sandbox, client } = await withSandbox(t);
  // NetSapiens' ids are base64, so `/`, `+` and `=` occur; each must stay inside its one segment.
  await client.dialRules.create({
    domain: DOMAIN,
    dialPlan: 'Custom Plan',
    match: 'rule????~~',
    destinationUser: '[*]',
    synchronous: false,
  });
  t.like(sandbox.requests[0], {
    path: '/ns-api/v2/domains/example.com/dialplans/Custom%20Plan/dialrules',
    status: 202,
    body: { synchronous: 'no' },
  });
  t.deepEqual(await client.dialRules.list({ domain: DOMAIN }), []);
  const [rule] = await client.dialRules.list({ domain: DOMAIN, dialPlan: 'Custom Plan' });
  const id = rule?.dialrule ?? '';
  t.regex(id, /[/+=]/);
  await client.dialRules.update({ domain: DOMAIN, dialPlan: 'Custom Plan', dialRule: id, destinationUser: '1001' });
  t.like(sandbox.dialRules[0], { dialplan: 'Custom Plan', 'dial-rule-translation-destination-user': '1001' });
  t.false(
    sandbox.requests.some((request) => request.path.includes('/dialrules/') && /[/+=]/.test(request.path.split('/dialrules/')[1] ?? '')),
  );
});

test('dialRules.update of an unknown rule is a 404 NsHttpError', async (t) => {
  const { client } = await withSandbox(t);
  const error = await t.throwsAsync(client.dialRules.update({ domain: DOMAIN, dialRule: 'nope', destinationUser: '[*]' }), {
    instanceOf: NsHttpError,
  });
  t.like(error, {
    status: 404,
    nsCode: 404,
    nsMessage: 'Dial rule not found',
    method: 'PUT',
    path: '/ns-api/v2/domains/example.com/dialplans/example.com/dialrules/nope',
  });
});

test('answerRules.update PUTs the default time frame with forwarding and no is-active', async (t) => {
  const { sandbox, client } = await withSandbox(t);
  await client.users.create({ domain: DOMAIN, user: '8001', firstName: 'Web', lastName: 'Responder', email: 'ops@example.com' });
  await client.answerRules.update({
    domain: DOMAIN,
    user: '8001',
    forwardAlways: { enabled: true, to: ['webresponder8001'] },
    forwardOnBusy: { enabled: false },
  });

  const request = sandbox.requests[1];
  t.like(request, {
    method: 'PUT',
    path: '/ns-api/v2/domains/example.com/users/8001/answerrules/*',
    route: 'answerrules.update',
    status: 202,
  });
  t.deepEqual(request?.body, {
    enabled: 'yes',
    'forward-always': { enabled: 'yes', parameters: ['webresponder8001'] },
    'forward-on-busy': { enabled: 'no', parameters: [] },
  });
  const rule = sandbox.answerRules.find((candidate) => candidate.user === '8001' && candidate['time-frame'] === '*');
  t.deepEqual(rule?.['forward-always'], { enabled: 'yes', parameters: ['webresponder8001'] });

  const error = await t.throwsAsync(client.answerRules.update({ domain: DOMAIN, user: '8001', timeFrame: 'weekends', enabled: false }), {
    instanceOf: NsHttpError,
  });
  t.like(error, {
    status: 404,
    nsMessage: 'Answer rule not found',
    method: 'PUT',
    path: '/ns-api/v2/domains/example.com/users/8001/answerrules/weekends',
  });
});

test('answerRules.create POSTs synchronous, time-frame and enabled', async (t) => {
  const { sandbox, client } = await withSandbox(t, { sandbox: { autoCreateAnswerRule: false } });
  await client.users.create({ domain: DOMAIN, user: '8001', firstName: 'Web', lastName: 'Responder', email: 'ops@example.com' });
  t.is(sandbox.answerRules.length, 0);
  await client.answerRules.create({ domain: DOMAIN, user: '8001', forwardAlways: { enabled: true, to: ['webresponder8001'] } });

  const request = sandbox.requests[1];
  t.like(request, {
    method: 'POST',
    path: '/ns-api/v2/domains/example.com/users/8001/answerrules',
    route: 'answerrules.create',
    status: 200,
  });
  t.deepEqual(request?.body, {
    synchronous: 'yes',
    'time-frame': '*',
    enabled: 'yes',
    'forward-always': { enabled: 'yes', parameters: ['webresponder8001'] },
  });
  t.like(sandbox.answerRules[0], { user: '8001', 'time-frame': '*', enabled: 'yes' });

  const error = await t.throwsAsync(client.answerRules.create({ domain: DOMAIN, user: '8001' }), { instanceOf: NsHttpError });
  t.like(error, { status: 409, method: 'POST', path: '/ns-api/v2/domains/example.com/users/8001/answerrules' });
  const missing = await t.throwsAsync(
    client.answerRules.create({ domain: DOMAIN, user: '9999', timeFrame: 'weekends', synchronous: false }),
    {
      instanceOf: NsHttpError,
    },
  );
  t.like(missing, { status: 404, nsMessage: 'User not found' });
  t.like(sandbox.requests[3]?.body, { synchronous: 'no', 'time-frame': 'weekends' });
});

test('request + nsPath reach other endpoints with the same auth and errors', async (t) => {
  const { client } = await withSandbox(t);
  await client.users.create({ domain: DOMAIN, user: '8001', firstName: 'Web', lastName: 'Responder', email: 'ops@example.com' });
  const { status, body } = await client.request<{ user: string; 'email-address': string }>({
    method: 'GET',
    path: nsPath`/ns-api/v2/domains/${DOMAIN}/users/${'8001'}`,
  });
  t.is(status, 200);
  t.like(body, { user: '8001', 'email-address': 'ops@example.com' });

  const error = await t.throwsAsync(client.request({ method: 'GET', path: nsPath`/ns-api/v2/domains/${DOMAIN}/users/${'9999'}` }), {
    instanceOf: NsHttpError,
  });
  t.like(error, { status: 404, nsMessage: 'User not found', method: 'GET', path: '/ns-api/v2/domains/example.com/users/9999' });
});

test('path safety: hostile names are encoded as one segment, dot segments refused', async (t) => {
  const { sandbox, client } = await withSandbox(t);
  await client.users.create({ domain: '../evil', user: '8001', firstName: 'A', lastName: 'B', email: 'a@b.c' });
  await t.throwsAsync(client.answerRules.update({ domain: DOMAIN, user: 'a/b' }), { instanceOf: NsHttpError });
  t.deepEqual(await client.dialRules.list({ domain: DOMAIN, dialPlan: '%2e%2e?x=1#y' }), []);
  t.deepEqual(
    sandbox.requests.map((request) => request.path),
    [
      '/ns-api/v2/domains/..%2Fevil/users',
      '/ns-api/v2/domains/example.com/users/a%2Fb/answerrules/*',
      '/ns-api/v2/domains/example.com/dialplans/%252e%252e%3Fx%3D1%23y/dialrules',
    ],
  );
  t.deepEqual(sandbox.requests[2]?.query, {});
  // The sandbox decodes the segment back: the name arrived whole, not as a path.
  t.like(sandbox.users[0], { domain: '../evil', user: '8001' });

  for (const name of ['..', '.']) {
    await t.throwsAsync(client.users.create({ domain: name, user: '8001', firstName: 'A', lastName: 'B', email: 'a@b.c' }), {
      instanceOf: NsUsageError,
    });
    await t.throwsAsync(client.answerRules.update({ domain: DOMAIN, user: name }), { instanceOf: NsUsageError });
    await t.throwsAsync(
      client.messages.sendSms({ domain: DOMAIN, user: name, fromNumber: '19294873999', destination: '18135551234', message: 'x' }),
      {
        instanceOf: NsUsageError,
      },
    );
    await t.throwsAsync(client.dialRules.update({ domain: DOMAIN, dialRule: name, destinationUser: '[*]' }), { instanceOf: NsUsageError });
  }
  t.throws(() => nsPath`/ns-api/v2/domains/${'..'}/users`, { instanceOf: NsUsageError });
  t.is(nsPath`/ns-api/v2/domains/${'a b/c?d#e'}/users`, '/ns-api/v2/domains/a%20b%2Fc%3Fd%23e/users');
  t.is(sandbox.requests.length, 3);
});

test('path safety: nothing takes a request out of a baseUrl with a path prefix', async (t) => {
  const { sandbox, newClient } = await withSandbox(t);
  const client = newClient({ baseUrl: `${sandbox.url}/portal/` });
  for (const path of ['/../ns-api/v2/domains', '/../portal-other/ns-api', '/x/../../ns-api', 'ns-api/v2']) {
    const error = await t.throwsAsync(client.request({ method: 'GET', path }), { instanceOf: NsUsageError }, path);
    t.regex(error?.message ?? '', /Refusing a request outside/);
  }
  t.is(sandbox.requests.length, 0);

  // A well-formed path keeps the prefix (the sandbox serves no /portal, hence its 404), and a
  // scheme-relative-looking path stays on the same host.
  await t.throwsAsync(client.dialRules.list({ domain: DOMAIN }), { instanceOf: NsHttpError });
  await t.throwsAsync(newClient().request({ method: 'GET', path: '//evil.example/ns-api' }), { instanceOf: NsHttpError });
  t.deepEqual(
    sandbox.requests.map((request) => request.path),
    ['/portal/ns-api/v2/domains/example.com/dialplans/example.com/dialrules', '//evil.example/ns-api'],
  );
});

test('a bare-origin baseUrl does not double the slash', async (t) => {
  const { sandbox, newClient } = await withSandbox(t);
  await newClient({ baseUrl: `${sandbox.url}/` }).dialRules.list({ domain: DOMAIN });
  await newClient({ baseUrl: sandbox.url }).dialRules.list({ domain: DOMAIN });
  t.deepEqual(
    apiRequests(sandbox).map((request) => [request.path, request.status]),
    [
      ['/ns-api/v2/domains/example.com/dialplans/example.com/dialrules', 200],
      ['/ns-api/v2/domains/example.com/dialplans/example.com/dialrules', 200],
    ],
  );
});

test('createNsClient refuses unusable options', (t) => {
  const auth = { token: 'k'.repeat(32) };
  const bad = [
    { baseUrl: 'ucportal.example.net', auth },
    { baseUrl: 'ftp://ucportal.example.net', auth },
    { baseUrl: 'https://user:pass@ucportal.example.net', auth },
    { baseUrl: 'https://ucportal.example.net/?x=1', auth },
    { baseUrl: 'https://ucportal.example.net', auth: { token: ' ' } },
    { baseUrl: 'https://ucportal.example.net', auth: { clientId: 'a', clientSecret: '', username: 'u', password: 'p' } },
    { baseUrl: 'https://ucportal.example.net', auth, timeoutMs: 0 },
    { baseUrl: 'https://ucportal.example.net', auth, retries: -1 },
    { baseUrl: 'https://ucportal.example.net', auth, retries: 1.5 },
  ];
  for (const options of bad) t.throws(() => createNsClient(options), { instanceOf: NsUsageError }, JSON.stringify(options));
});

test('a bare queue is refused before any connection is attempted, even to an unreachable portal', async (t) => {
  // No sandbox at all: if anything were sent, this would be an NsNetworkError instead.
  const client = createNsClient({ baseUrl: 'http://127.0.0.1:9', auth: { token: 'k'.repeat(32) }, retries: 0 });
  const error = await rejection(client.queuedCalls.create({ queue: '9002', destination: '+18135551234' }));
  t.true(error instanceof NsUsageError);
  t.regex((error as Error).message, /bare extension/);
});

test('regression: a ten-digit number without its country code is refused, not read as +81…', async (t) => {
  const { client, sandbox } = await withSandbox(t);
  await t.throwsAsync(client.queuedCalls.create({ queue: '9002@example.com', destination: '8135551234' }), {
    instanceOf: NsUsageError,
    message: /country code/,
  });
  await t.throwsAsync(
    client.messages.sendSms({ domain: DOMAIN, user: '1001', fromNumber: '19294873999', destination: '813 555 1234', message: 'hi' }),
    { instanceOf: NsUsageError },
  );
  t.is(sandbox.requests.length, 0);
});
