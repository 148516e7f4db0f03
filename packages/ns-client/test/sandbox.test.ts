import { Agent, request as httpRequest } from 'node:http';
import test, { type ExecutionContext } from 'ava';
import { startNsSandbox, type NsSandbox, type NsSandboxOptions, type SandboxEvents } from '@beckon/ns-client/sandbox';

const DOMAIN = 'example.com';
const LEGACY_CALL = '/ns-api/?object=queuedcall&action=create';
const USERS = `/ns-api/v2/domains/${DOMAIN}/users`;
const DIAL_RULES = `/ns-api/v2/domains/${DOMAIN}/dialplans/${DOMAIN}/dialrules`;
const SESSION_ID = 'session_0123456789abcdefghijklmnopqrstuvwxyz';
const SMS = `/ns-api/v2/domains/${DOMAIN}/users/2000/messagesessions/${SESSION_ID}/messages`;
const OAUTH = {
  clientId: 'beckon-client',
  clientSecret: 'client-secret-5f4e3d2c1b0a',
  username: `1000@${DOMAIN}`,
  password: 'user-password-0a1b2c3d4e5f',
};

async function start(t: ExecutionContext, options?: NsSandboxOptions): Promise<NsSandbox> {
  const sandbox = await startNsSandbox(options);
  t.teardown(() => sandbox.close());
  return sandbox;
}

interface Call {
  json?: unknown;
  form?: FormData | URLSearchParams;
  /** A body sent as it is, as application/json unless `headers` says otherwise. */
  raw?: string;
  /** The bearer token; default the sandbox's API key, null for none. */
  token?: string | null;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

interface Answer {
  status: number;
  body: unknown;
  text: string;
  headers: Headers;
}

async function ns(sandbox: NsSandbox, method: string, path: string, call: Call = {}): Promise<Answer> {
  const headers: Record<string, string> = {};
  const token = call.token === undefined ? sandbox.token : call.token;
  if (token !== null) headers.authorization = `Bearer ${token}`;
  let body: RequestInit['body'];
  if (call.json !== undefined) {
    body = JSON.stringify(call.json);
    headers['content-type'] = 'application/json';
  } else if (call.form) {
    body = call.form;
  } else if (call.raw !== undefined) {
    body = call.raw;
    headers['content-type'] = 'application/json';
  }
  const response = await fetch(sandbox.url + path, {
    method,
    headers: { ...headers, ...call.headers },
    body,
    ...(call.signal ? { signal: call.signal } : {}),
  });
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = text === '' ? undefined : (JSON.parse(text) as unknown);
  } catch {
    parsed = text;
  }
  return { status: response.status, body: parsed, text, headers: response.headers };
}

/** The legacy queued-call form; a null value leaves that field out. */
function legacyForm(overrides: Record<string, string | null> = {}): FormData {
  const fields: Record<string, string | null> = {
    format: 'json',
    uid: `9002@${DOMAIN}`,
    queue: `9002@${DOMAIN}`,
    destination: '+18135551234',
    ...overrides,
  };
  const form = new FormData();
  for (const [name, value] of Object.entries(fields)) if (value !== null) form.append(name, value);
  return form;
}

function newUser(user: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    user,
    'name-first-name': 'Web',
    'name-last-name': 'Responder',
    'email-address': 'ops@example.com',
    'user-scope': 'Simple User',
    ...extra,
  };
}

async function eventually(check: () => boolean, timeoutMs = 2_000): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return check();
}

async function login(sandbox: NsSandbox, path = '/ns-api/v2/tokens'): Promise<{ access: string; refresh: string }> {
  const answer = await ns(sandbox, 'POST', path, {
    token: null,
    json: {
      grant_type: 'password',
      client_id: OAUTH.clientId,
      client_secret: OAUTH.clientSecret,
      username: OAUTH.username,
      password: OAUTH.password,
    },
  });
  if (answer.status !== 200) throw new Error(`login answered ${answer.status}`);
  const body = answer.body as { access_token: string; refresh_token: string };
  return { access: body.access_token, refresh: body.refresh_token };
}

function refresh(sandbox: NsSandbox, refreshToken: string): Promise<Answer> {
  return ns(sandbox, 'POST', '/ns-api/v2/tokens', {
    token: null,
    json: { grant_type: 'refresh_token', client_id: OAUTH.clientId, client_secret: OAUTH.clientSecret, refresh_token: refreshToken },
  });
}

test('NS routes need the bearer token: none or a wrong one is 401, and the token is never echoed', async (t) => {
  const sandbox = await start(t);
  t.is(sandbox.token.length, 32);
  t.regex(sandbox.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  const path = `${USERS}/1000`;

  const none = await ns(sandbox, 'GET', path, { token: null });
  t.is(none.status, 401);
  t.deepEqual(none.body, { code: 401, message: 'Unauthorized' });
  t.regex(none.headers.get('content-type') ?? '', /^application\/json/);

  const wrongToken = 'wrong-token-9f8e7d6c5b4a39281706';
  const wrong = await ns(sandbox, 'GET', path, { token: wrongToken });
  t.is(wrong.status, 401);
  t.false(wrong.text.includes(wrongToken));
  t.is((await ns(sandbox, 'GET', path, { token: null, headers: { authorization: `Basic ${sandbox.token}` } })).status, 401);

  const legacy = await ns(sandbox, 'POST', LEGACY_CALL, { token: null, form: legacyForm() });
  t.is(legacy.status, 401);
  t.is(sandbox.calls.length, 0, 'an unauthorized call is not placed');

  t.is((await ns(sandbox, 'GET', path)).status, 404, 'the right token gets past auth (and finds no user)');
  t.deepEqual(
    sandbox.requests.map((request) => [request.authorized, request.status]),
    [
      [false, 401],
      [false, 401],
      [false, 401],
      [false, 401],
      [true, 404],
    ],
  );
  t.false(JSON.stringify(sandbox.requests).includes(wrongToken));
});

test('an explicit token option is the API key', async (t) => {
  const sandbox = await start(t, { token: 'my-fixed-api-key-0123456789' });
  t.is(sandbox.token, 'my-fixed-api-key-0123456789');
  t.is((await ns(sandbox, 'GET', `${USERS}/1000`, { token: 'my-fixed-api-key-0123456789' })).status, 404);
  await t.throwsAsync(startNsSandbox({ token: '' }), { instanceOf: TypeError });
});

test('legacy queued call: multipart form answers 202 with an empty body and is recorded', async (t) => {
  const sandbox = await start(t);
  const answer = await ns(sandbox, 'POST', LEGACY_CALL, { form: legacyForm() });
  t.is(answer.status, 202);
  t.is(answer.text, '');
  t.is(sandbox.calls.length, 1);
  t.like(sandbox.calls[0], {
    api: 'v1',
    queue: '9002@example.com',
    uid: '9002@example.com',
    destination: '+18135551234',
    domain: DOMAIN,
    status: 'queued',
  });
  t.is(sandbox.calls[0]?.reason, undefined);
  t.false(Number.isNaN(Date.parse(sandbox.calls[0]?.at ?? '')));
  t.like(sandbox.requests[0], { method: 'POST', path: '/ns-api/', route: 'queuedcall.create', status: 202, fault: false });
  t.deepEqual(sandbox.requests[0]?.query, { object: 'queuedcall', action: 'create' });
  t.like(sandbox.requests[0]?.body, { queue: '9002@example.com', destination: '+18135551234' });

  const urlEncoded = new URLSearchParams({ format: 'json', uid: '7000@shop.net', queue: '7000@shop.net', destination: '+442079460958' });
  t.is((await ns(sandbox, 'POST', LEGACY_CALL, { form: urlEncoded })).status, 202);
  t.like(sandbox.calls[1], { queue: '7000@shop.net', destination: '+442079460958', status: 'queued' });
});

test('legacy queued call: a bare extension is still 202 but recorded failed with "Call Queue not found"', async (t) => {
  const sandbox = await start(t);
  const answer = await ns(sandbox, 'POST', LEGACY_CALL, { form: legacyForm({ uid: '9002', queue: '9002' }) });
  t.is(answer.status, 202);
  t.is(answer.text, '');
  t.like(sandbox.calls[0], { api: 'v1', queue: '9002', status: 'failed', reason: 'Call Queue not found' });
  t.is(sandbox.calls[0]?.domain, undefined);
});

test('legacy queued call: a missing field or a non-E.164 destination is 400 with {code, message}', async (t) => {
  const sandbox = await start(t);
  for (const field of ['format', 'uid', 'queue', 'destination']) {
    const answer = await ns(sandbox, 'POST', LEGACY_CALL, { form: legacyForm({ [field]: null }) });
    t.is(answer.status, 400);
    t.deepEqual(answer.body, { code: 400, message: `${field} is required` });
  }
  for (const destination of ['18135551234', '+1813', '+1 813 555 1234', '+1234567890123456']) {
    const answer = await ns(sandbox, 'POST', LEGACY_CALL, { form: legacyForm({ destination }) });
    t.is(answer.status, 400, destination);
    t.regex((answer.body as { message: string }).message, /^destination must be E\.164/);
  }
  t.is(sandbox.calls.length, 0);
  const otherObject = await ns(sandbox, 'POST', '/ns-api/?object=subscriber&action=read', { form: legacyForm() });
  t.deepEqual([otherObject.status, otherObject.body], [404, { code: 404, message: 'No Route Found' }]);
});

test('v2 queued call: digits without + answer 200 {} and are recorded as EXT@DOMAIN', async (t) => {
  const sandbox = await start(t);
  const path = `/ns-api/v2/domains/${DOMAIN}/queuedcall/9002`;
  const answer = await ns(sandbox, 'POST', path, { json: { destination: '18135551234' } });
  t.is(answer.status, 200);
  t.deepEqual(answer.body, {});
  t.like(sandbox.calls[0], { api: 'v2', queue: '9002@example.com', destination: '18135551234', domain: DOMAIN, status: 'queued' });
  t.is(sandbox.requests[0]?.route, 'queuedcall.createV2');

  const plus = await ns(sandbox, 'POST', path, { json: { destination: '+18135551234' } });
  t.is(plus.status, 400);
  t.regex((plus.body as { message: string }).message, /^destination must be/);
  t.deepEqual((await ns(sandbox, 'POST', path, { json: {} })).body, { code: 400, message: 'destination is required' });
  t.is(sandbox.calls.length, 1);
});

test('SMS: 202 Accepted and recorded, with or without a session; bad session ids and numbers are 400', async (t) => {
  const sandbox = await start(t);
  const body = { type: 'sms', message: 'Our hours are 9-5.', destination: '18135551234', 'from-number': '19295550100' };
  const answer = await ns(sandbox, 'POST', SMS, { json: body });
  t.is(answer.status, 202);
  t.deepEqual(answer.body, { code: 202, message: 'Accepted' });
  t.like(sandbox.messages[0], {
    domain: DOMAIN,
    user: '2000',
    sessionId: SESSION_ID,
    type: 'sms',
    message: 'Our hours are 9-5.',
    destination: '18135551234',
    fromNumber: '19295550100',
  });

  const noSession = await ns(sandbox, 'POST', `/ns-api/v2/domains/${DOMAIN}/users/2000/messages`, {
    json: { type: 'sms', message: 'Hi', destination: ['18135550001', '18135550002'] },
  });
  t.is(noSession.status, 202);
  t.like(sandbox.messages[1], { destination: ['18135550001', '18135550002'], message: 'Hi' });
  t.false('sessionId' in (sandbox.messages[1] ?? {}));
  t.false('fromNumber' in (sandbox.messages[1] ?? {}));

  const shortSession = `/ns-api/v2/domains/${DOMAIN}/users/2000/messagesessions/${'a'.repeat(31)}/messages`;
  const short = await ns(sandbox, 'POST', shortSession, { json: body });
  t.is(short.status, 400);
  t.regex((short.body as { message: string }).message, /messagesession/);
  const badChars = `/ns-api/v2/domains/${DOMAIN}/users/2000/messagesessions/${'a'.repeat(31)}-/messages`;
  t.is((await ns(sandbox, 'POST', badChars, { json: body })).status, 400);

  t.regex(
    ((await ns(sandbox, 'POST', SMS, { json: { ...body, destination: '+18135551234' } })).body as { message: string }).message,
    /^destination /,
  );
  t.regex(
    ((await ns(sandbox, 'POST', SMS, { json: { ...body, 'from-number': '+19295550100' } })).body as { message: string }).message,
    /^from-number /,
  );
  t.deepEqual((await ns(sandbox, 'POST', SMS, { json: { ...body, type: undefined } })).body, { code: 400, message: 'type is required' });
  t.is(sandbox.messages.length, 2);
});

test('users: 202 then 409 "UID already exists.", readable, per domain, with a default answer rule', async (t) => {
  const sandbox = await start(t);
  const created = await ns(sandbox, 'POST', USERS, { json: newUser('8001', { 'service-code': 'system-webresponder', synchronous: 'no' }) });
  t.is(created.status, 202);
  t.deepEqual(created.body, { code: 202, message: 'Accepted' });

  const again = await ns(sandbox, 'POST', USERS, { json: newUser('8001') });
  t.is(again.status, 409);
  t.deepEqual(again.body, { code: 409, message: 'UID already exists.' });

  const read = await ns(sandbox, 'GET', `${USERS}/8001`);
  t.is(read.status, 200);
  t.like(read.body, { domain: DOMAIN, user: '8001', 'user-scope': 'Simple User', 'service-code': 'system-webresponder' });
  t.false('synchronous' in (read.body as object), 'the request flag is not part of the user');
  t.is(sandbox.users.length, 1);

  const synchronous = await ns(sandbox, 'POST', '/ns-api/v2/domains/other.net/users', { json: newUser('8001', { synchronous: 'yes' }) });
  t.is(synchronous.status, 200, 'the same id in another domain is another user');
  t.like(synchronous.body, { domain: 'other.net', user: '8001', 'name-first-name': 'Web' });

  t.deepEqual(
    sandbox.answerRules.map((rule) => [rule.domain, rule.user, rule['time-frame'], rule.enabled]),
    [
      [DOMAIN, '8001', '*', 'yes'],
      ['other.net', '8001', '*', 'yes'],
    ],
  );
  t.like(sandbox.answerRules[0], { 'forward-always': { enabled: 'no', parameters: [] } });

  const badScope = await ns(sandbox, 'POST', USERS, { json: newUser('8002', { 'user-scope': 'Admin' }) });
  t.is(badScope.status, 400);
  t.regex((badScope.body as { message: string }).message, /^user-scope must be one of: Basic User, Simple User/);
  t.deepEqual((await ns(sandbox, 'POST', USERS, { json: newUser('8002', { 'email-address': undefined }) })).body, {
    code: 400,
    message: 'email-address is required',
  });
  t.is((await ns(sandbox, 'GET', `${USERS}/8002`)).status, 404);
});

test('dial rules: create, list, get, update; a duplicate match is 409; the id is base64 of sip:MATCH@*', async (t) => {
  const sandbox = await start(t);
  const rule = {
    synchronous: 'no',
    'dial-rule-matching-to-uri': 'webresponder8001',
    'dail-rule-matching-to-uri': 'webresponder8001',
    'dial-rule-translation-destination-user': '[*]',
    'dial-rule-application': 'sip:0@Web-Main',
    'dial-rule-parameter': 'https://beckon.test/webresponder?id=acme',
    'dial-rule-description': 'Beckon SMS directions',
    'x-unknown-field': 'kept',
  };
  const created = await ns(sandbox, 'POST', DIAL_RULES, { json: rule });
  t.is(created.status, 202);
  t.deepEqual(created.body, { code: 202, message: 'Accepted' });
  const id = Buffer.from('sip:webresponder8001@*').toString('base64');

  const duplicate = await ns(sandbox, 'POST', DIAL_RULES, { json: { ...rule, 'dial-rule-parameter': 'https://elsewhere.test/' } });
  t.deepEqual([duplicate.status, duplicate.body], [409, { code: 409, message: 'Dial rule already exists' }]);

  const list = await ns(sandbox, 'GET', DIAL_RULES);
  t.is(list.status, 200);
  t.true(Array.isArray(list.body));
  t.is((list.body as unknown[]).length, 1);
  t.like((list.body as unknown[])[0], {
    dialrule: id,
    domain: DOMAIN,
    'dial-rule-dial-plan': DOMAIN,
    'dial-rule-parameter': 'https://beckon.test/webresponder?id=acme',
    'dail-rule-matching-to-uri': 'webresponder8001',
    'x-unknown-field': 'kept',
  });
  t.like(sandbox.dialRules[0], { domain: DOMAIN, dialplan: DOMAIN, dialrule: id, 'dial-rule-application': 'sip:0@Web-Main' });

  // The id ends in `==`: it only reaches the route percent-encoded.
  const one = await ns(sandbox, 'GET', `${DIAL_RULES}/${encodeURIComponent(id)}`);
  t.is(one.status, 200);
  t.like(one.body, { dialrule: id, 'dial-rule-matching-to-uri': 'webresponder8001' });
  t.is((await ns(sandbox, 'GET', `${DIAL_RULES}/c2lwOjYxMUAq`)).status, 404);

  const put = (rule: string, changes: Record<string, string>) =>
    ns(sandbox, 'PUT', `${DIAL_RULES}/${encodeURIComponent(rule)}`, {
      json: { dialrule: rule, 'dial-rule-translation-destination-user': '[*]', ...changes },
    });
  const updated = await put(id, { 'dial-rule-parameter': 'https://beckon.test/v2' });
  t.deepEqual([updated.status, updated.body], [202, { code: 202, message: 'Accepted' }]);
  t.like(sandbox.dialRules[0], { 'dial-rule-parameter': 'https://beckon.test/v2', 'dial-rule-description': 'Beckon SMS directions' });
  t.is((await put('c2lwOjYxMUAq', { enabled: 'no' })).status, 404);
  t.is((await put(id, { enabled: 'maybe' })).status, 400);
  // The spec requires the id and the destination user in every PUT body.
  t.deepEqual((await ns(sandbox, 'PUT', `${DIAL_RULES}/${encodeURIComponent(id)}`, { json: { enabled: 'no' } })).body, {
    code: 400,
    message: 'dialrule is required',
  });

  // NetSapiens' own example id, and the synchronous answer.
  const sync = await ns(sandbox, 'POST', DIAL_RULES, {
    json: { synchronous: 'yes', 'dial-rule-matching-to-uri': '611', 'dial-rule-translation-destination-user': '611' },
  });
  t.is(sync.status, 200);
  t.like(sync.body, { dialrule: 'c2lwOjYxMUAq', enabled: 'yes' });

  const otherPlan = `/ns-api/v2/domains/${DOMAIN}/dialplans/Default/dialrules`;
  t.is((await ns(sandbox, 'POST', otherPlan, { json: rule })).status, 202, 'the same match in another dial plan is another rule');
  const missing = await ns(sandbox, 'POST', DIAL_RULES, { json: { synchronous: 'no', 'dial-rule-matching-to-uri': 'x' } });
  t.deepEqual(missing.body, { code: 400, message: 'dial-rule-translation-destination-user is required' });
  t.is(sandbox.dialRules.length, 3);
});

test('answer rules: PUT is 404 without a rule; POST creates it (no is-active needed); PUT then updates it', async (t) => {
  const sandbox = await start(t, { autoCreateAnswerRule: false });
  t.is((await ns(sandbox, 'POST', USERS, { json: newUser('8001') })).status, 202);
  const rules = `${USERS}/8001/answerrules`;
  const defaultRule = `${rules}/${encodeURIComponent('*')}`;
  const forward = { enabled: 'yes', parameters: ['webresponder8001'] };

  const list = await ns(sandbox, 'GET', rules);
  t.deepEqual([list.status, list.body], [200, []]);
  const missing = await ns(sandbox, 'PUT', defaultRule, { json: { enabled: 'yes', 'forward-always': forward } });
  t.is(missing.status, 404);
  t.is((missing.body as { code: number }).code, 404);

  const created = await ns(sandbox, 'POST', rules, {
    json: { synchronous: 'no', 'time-frame': '*', enabled: 'yes', 'forward-always': forward },
  });
  t.deepEqual([created.status, created.body], [202, { code: 202, message: 'Accepted' }]);
  const duplicate = await ns(sandbox, 'POST', rules, { json: { synchronous: 'no', 'time-frame': '*', enabled: 'yes' } });
  t.is(duplicate.status, 409);

  const updated = await ns(sandbox, 'PUT', `${rules}/%2A`, {
    json: { enabled: 'yes', 'forward-always': { enabled: 'yes', parameters: ['webresponder8002'] } },
  });
  t.deepEqual([updated.status, updated.body], [202, { code: 202, message: 'Accepted' }]);
  t.deepEqual(sandbox.answerRules[0]?.['forward-always'], { enabled: 'yes', parameters: ['webresponder8002'] });

  t.deepEqual((await ns(sandbox, 'PUT', defaultRule, { json: { 'forward-always': forward } })).body, {
    code: 400,
    message: 'enabled is required',
  });
  t.deepEqual((await ns(sandbox, 'PUT', defaultRule, { json: { enabled: 'yes', 'forward-always': { parameters: [] } } })).body, {
    code: 400,
    message: 'forward-always.enabled is required',
  });

  const hours = await ns(sandbox, 'POST', rules, { json: { synchronous: 'yes', 'time-frame': 'Business Hours', enabled: 'no' } });
  t.is(hours.status, 200);
  t.like(hours.body, { 'time-frame': 'Business Hours', enabled: 'no', user: '8001', domain: DOMAIN });
  const ordered = await ns(sandbox, 'GET', rules);
  t.deepEqual(
    (ordered.body as { 'time-frame': string }[]).map((rule) => rule['time-frame']),
    ['Business Hours', '*'],
  );

  const nobody = `${USERS}/9999/answerrules`;
  t.is((await ns(sandbox, 'GET', nobody)).status, 404);
  t.is((await ns(sandbox, 'PUT', `${nobody}/%2A`, { json: { enabled: 'yes' } })).status, 404);
  t.is((await ns(sandbox, 'POST', nobody, { json: { synchronous: 'no', 'time-frame': '*', enabled: 'yes' } })).status, 404);
});

test('subscriptions: 200 with the record, 409 for an identical active one; PUT renews; DELETE wants its id in the body', async (t) => {
  const sandbox = await start(t);
  const subscriptions = '/ns-api/v2/subscriptions';
  const postUrl = 'https://beckon.example.net/webhooks/netsapiens?id=example.com&token=tok_5a8e1c3f9b7d2e4a6c0f';
  const body = { model: 'call', 'post-url': postUrl, domain: DOMAIN, user: '*', 'subscription-expires-datetime': '2030-01-02 03:04:05' };

  const created = await ns(sandbox, 'POST', subscriptions, { json: body });
  t.is(created.status, 200);
  const record = created.body as Record<string, unknown> & { id: string };
  t.regex(record.id, /^[0-9a-f]{32}$/);
  t.like(record, {
    ...body,
    reseller: '*',
    'subscription-geo-support': 'yes',
    status: 'pending',
    'error-count': 0,
    'posts-count': 0,
  });
  t.regex(String(record['subscription-creation-datetime']), /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
  t.deepEqual((await ns(sandbox, 'POST', subscriptions, { json: body })).body, { code: 409, message: 'Subscription already exists' });
  t.is((await ns(sandbox, 'POST', subscriptions, { json: { ...body, user: '2000' } })).status, 200, 'another user is another subscription');
  const expired = { ...body, model: 'cdr', 'subscription-expires-datetime': '2001-01-01 00:00:00' };
  t.is((await ns(sandbox, 'POST', subscriptions, { json: expired })).status, 200);
  t.is((await ns(sandbox, 'POST', subscriptions, { json: expired })).status, 200, 'an expired one is no conflict');

  t.deepEqual((await ns(sandbox, 'GET', `${subscriptions}/${record.id}`)).body, record);
  t.is(((await ns(sandbox, 'GET', subscriptions)).body as unknown[]).length, 4);
  const path = `${subscriptions}/${record.id}`;
  const renewed = await ns(sandbox, 'PUT', path, { json: { 'subscription-expires-datetime': '2031-01-01 00:00:00', 'error-count': 0 } });
  t.deepEqual([renewed.status, renewed.body], [202, { code: 202, message: 'Accepted' }]);
  t.is(sandbox.subscriptions[0]?.['subscription-expires-datetime'], '2031-01-01 00:00:00');
  t.deepEqual((await ns(sandbox, 'PUT', path, { json: { 'posts-count': 5 } })).body, {
    code: 400,
    message: 'posts-count can only be reset to 0',
  });
  t.is((await ns(sandbox, 'PUT', `${subscriptions}/nope`, { json: {} })).status, 404);

  t.deepEqual((await ns(sandbox, 'DELETE', path, { json: {} })).body, { code: 400, message: 'subscription_id is required' });
  t.is((await ns(sandbox, 'DELETE', path, { json: { subscription_id: 'other' } })).status, 400);
  t.is((await ns(sandbox, 'DELETE', path, { json: { subscription_id: record.id, domain: 'other.example' } })).status, 404);
  t.is((await ns(sandbox, 'DELETE', path, { json: { subscription_id: record.id, domain: DOMAIN } })).status, 202);
  t.is((await ns(sandbox, 'GET', path)).status, 404);
  t.is(sandbox.subscriptions.length, 3);
  t.false(JSON.stringify(sandbox.requests).includes('tok_5a8e1c3f9b7d2e4a6c0f'), "the request log masks the post URL's token");
  t.is((sandbox.requests[0]?.body as Record<string, unknown>)['post-url'], postUrl.replace(/token=.*/, 'token=[redacted]'));
});

test('subscriptions: what NetSapiens could not use is a 400 that never repeats the post URL', async (t) => {
  const sandbox = await start(t);
  const secret = 'key_1f3e5d7c9b2a4e6d8c0b';
  const cases: [Record<string, unknown>, string][] = [
    [{ 'post-url': `https://x.example/?key=${secret}` }, 'model is required'],
    [{ model: 'call' }, 'post-url is required'],
    [{ model: 'calls', 'post-url': 'https://x.example/' }, 'model must be one of'],
    [{ model: 'call', 'post-url': `ftp://x.example/?key=${secret}` }, 'post-url must be an http(s) URL'],
    [{ model: 'call', 'post-url': `x.example/?key=${secret}` }, 'post-url must be an http(s) URL'],
    [{ model: 'call', 'post-url': 'https://x.example/', 'subscription-expires-datetime': '2030-02-30 00:00:00' }, 'must be YYYY-MM-DD'],
    [{ model: 'call', 'post-url': 'https://x.example/', 'subscription-expires-datetime': '2030-01-01T00:00:00Z' }, 'must be YYYY-MM-DD'],
    [{ model: 'call', 'post-url': 'https://x.example/', 'subscription-geo-support': true }, 'must be a string'],
  ];
  for (const [json, message] of cases) {
    const answer = await ns(sandbox, 'POST', '/ns-api/v2/subscriptions', { json });
    t.is(answer.status, 400, JSON.stringify(json));
    t.true((answer.body as { message: string }).message.includes(message), (answer.body as { message: string }).message);
    t.false(answer.text.includes(secret));
  }
  t.is(sandbox.subscriptions.length, 0);
});

test('OAuth: password login, refresh tokens rotate (reuse is 401), bad credentials 401, missing field 400', async (t) => {
  const sandbox = await start(t, { oauth: OAUTH });
  const answer = await ns(sandbox, 'POST', '/ns-api/v2/tokens', {
    token: null,
    json: {
      grant_type: 'password',
      client_id: OAUTH.clientId,
      client_secret: OAUTH.clientSecret,
      username: OAUTH.username,
      password: OAUTH.password,
    },
  });
  t.is(answer.status, 200);
  t.like(answer.body, { token_type: 'Bearer', expires_in: 3600, domain: DOMAIN, user: '1000' });
  const first = answer.body as { access_token: string; refresh_token: string; scope: unknown; apiversion: unknown };
  t.is(typeof first.scope, 'string');
  t.is(typeof first.apiversion, 'string');
  t.is((await ns(sandbox, 'GET', `${USERS}/1000`, { token: first.access_token })).status, 404, 'the access token is a bearer token');

  const renewed = await refresh(sandbox, first.refresh_token);
  t.is(renewed.status, 200);
  const second = renewed.body as { access_token: string; refresh_token: string };
  t.not(second.access_token, first.access_token);
  t.not(second.refresh_token, first.refresh_token);
  t.is((await ns(sandbox, 'GET', `${USERS}/1000`, { token: second.access_token })).status, 404);

  const reused = await refresh(sandbox, first.refresh_token);
  t.is(reused.status, 401, 'a refresh token is single-use');
  t.is((reused.body as { code: number }).code, 401);
  t.is((await refresh(sandbox, second.refresh_token)).status, 200);

  const base = { grant_type: 'password', client_id: OAUTH.clientId, client_secret: OAUTH.clientSecret, username: OAUTH.username };
  t.is((await ns(sandbox, 'POST', '/ns-api/v2/tokens', { token: null, json: { ...base, password: 'wrong' } })).status, 401);
  t.is(
    (await ns(sandbox, 'POST', '/ns-api/v2/tokens', { token: null, json: { ...base, client_secret: 'wrong', password: OAUTH.password } }))
      .status,
    401,
  );
  t.deepEqual((await ns(sandbox, 'POST', '/ns-api/v2/tokens', { token: null, json: base })).body, {
    code: 400,
    message: 'password is required',
  });
  t.is((await ns(sandbox, 'POST', '/ns-api/v2/tokens', { token: null, json: { ...base, grant_type: 'client_credentials' } })).status, 400);
  t.is((await ns(sandbox, 'GET', `${USERS}/1000`, { token: 'not-an-issued-token' })).status, 401);
});

test('OAuth: expireAccessTokens makes access tokens 401 but refresh works; revokeRefreshTokens leaves password login', async (t) => {
  const sandbox = await start(t, { oauth: OAUTH });
  const tokens = await login(sandbox);
  sandbox.expireAccessTokens();
  t.is((await ns(sandbox, 'GET', `${USERS}/1000`, { token: tokens.access })).status, 401);
  t.is((await ns(sandbox, 'GET', `${USERS}/1000`)).status, 404, 'the API key is unaffected');
  const renewed = await refresh(sandbox, tokens.refresh);
  t.is(renewed.status, 200);
  const { access_token: access, refresh_token: next } = renewed.body as { access_token: string; refresh_token: string };
  t.is((await ns(sandbox, 'GET', `${USERS}/1000`, { token: access })).status, 404);

  sandbox.revokeRefreshTokens();
  t.is((await refresh(sandbox, next)).status, 401);
  t.is((await ns(sandbox, 'GET', `${USERS}/1000`, { token: access })).status, 404, 'access tokens outlive a revocation of refresh tokens');
  const again = await login(sandbox);
  t.is((await ns(sandbox, 'GET', `${USERS}/1000`, { token: again.access })).status, 404);
});

test('OAuth: an access token expires after expiresInSeconds', async (t) => {
  // A second, not less: on a loaded machine the first use alone can take a few hundred ms.
  const sandbox = await start(t, { oauth: { ...OAUTH, expiresInSeconds: 1 } });
  const tokens = await login(sandbox);
  t.is((await ns(sandbox, 'GET', `${USERS}/1000`, { token: tokens.access })).status, 404);
  await new Promise((resolve) => setTimeout(resolve, 1050));
  t.is((await ns(sandbox, 'GET', `${USERS}/1000`, { token: tokens.access })).status, 401);
});

test('OAuth: legacyEndpointOnly makes v2 /tokens 404 while the form-encoded legacy endpoint works', async (t) => {
  const sandbox = await start(t, { oauth: { ...OAUTH, legacyEndpointOnly: true } });
  const v2 = await ns(sandbox, 'POST', '/ns-api/v2/tokens', { token: null, json: { grant_type: 'password' } });
  t.deepEqual([v2.status, v2.body], [404, { code: 404, message: 'No Route Found' }]);

  const form = new URLSearchParams({
    grant_type: 'password',
    client_id: OAUTH.clientId,
    client_secret: OAUTH.clientSecret,
    username: OAUTH.username,
    password: OAUTH.password,
  });
  const legacy = await ns(sandbox, 'POST', '/ns-api/oauth2/token/', { token: null, form });
  t.is(legacy.status, 200);
  const body = legacy.body as { access_token: string; refresh_token: string };
  t.is((await ns(sandbox, 'GET', `${USERS}/1000`, { token: body.access_token })).status, 404);

  const refreshed = await ns(sandbox, 'POST', '/ns-api/oauth2/token/', {
    token: null,
    json: { grant_type: 'refresh_token', client_id: OAUTH.clientId, client_secret: OAUTH.clientSecret, refresh_token: body.refresh_token },
  });
  t.is(refreshed.status, 200, 'the legacy endpoint also takes JSON');
  t.is(sandbox.requests.filter((request) => request.route === 'tokens').length, 2);
});

test('without the oauth option both token endpoints are 404 No Route Found', async (t) => {
  const sandbox = await start(t);
  for (const path of ['/ns-api/v2/tokens', '/ns-api/oauth2/token/']) {
    const answer = await ns(sandbox, 'POST', path, { token: null, json: { grant_type: 'password' } });
    t.deepEqual([answer.status, answer.body], [404, { code: 404, message: 'No Route Found' }], path);
  }
});

test('fault: a status for the next N matching requests, then normal handling again', async (t) => {
  const sandbox = await start(t);
  sandbox.inject({ route: 'users.get', status: 503, times: 2 });
  const first = await ns(sandbox, 'GET', `${USERS}/1000`);
  t.deepEqual([first.status, first.body], [503, { code: 503, message: 'Service Unavailable' }]);
  t.is((await ns(sandbox, 'GET', `${USERS}/1000`)).status, 503);
  t.is((await ns(sandbox, 'GET', `${USERS}/1000`)).status, 404);
  t.deepEqual(
    sandbox.requests.map((request) => [request.fault, request.status]),
    [
      [true, 503],
      [true, 503],
      [false, 404],
    ],
  );

  sandbox.inject({ route: 'users.create', status: 500, body: { code: 500, message: 'Database unavailable' } });
  const failed = await ns(sandbox, 'POST', USERS, { json: newUser('8001') });
  t.deepEqual([failed.status, failed.body], [500, { code: 500, message: 'Database unavailable' }]);
  t.is(sandbox.users.length, 0, 'a status fault does not process the request');
  t.is((await ns(sandbox, 'POST', USERS, { json: newUser('8001') })).status, 202);
});

test('fault: a RegExp route and a method filter', async (t) => {
  const sandbox = await start(t);
  sandbox.inject({ route: /\/dialrules/, method: 'get', status: 502 });
  const rule = { synchronous: 'no', 'dial-rule-matching-to-uri': '611', 'dial-rule-translation-destination-user': '611' };
  t.is((await ns(sandbox, 'POST', DIAL_RULES, { json: rule })).status, 202, 'a POST does not match a GET fault');
  t.is((await ns(sandbox, 'GET', DIAL_RULES)).status, 502);
  t.is((await ns(sandbox, 'GET', DIAL_RULES)).status, 200);

  sandbox.inject({ route: 'dialrules.list', status: 503, times: Infinity });
  t.is((await ns(sandbox, 'GET', DIAL_RULES)).status, 503);
  t.is((await ns(sandbox, 'GET', DIAL_RULES)).status, 503);
  sandbox.clearFaults();
  t.is((await ns(sandbox, 'GET', DIAL_RULES)).status, 200);

  t.throws(() => sandbox.inject({ route: 'users.get' }), { instanceOf: TypeError });
  t.throws(() => sandbox.inject({ route: 'users.get', status: 500, times: 0 }), { instanceOf: TypeError });
  t.throws(() => sandbox.inject({ route: 'no.such.route' as 'users.get', status: 500 }), { instanceOf: TypeError });
});

test('fault: delayMs answers late and still processes, even when the client gave up', async (t) => {
  const sandbox = await start(t);
  const body = { type: 'sms', message: 'Hi', destination: '18135551234' };
  sandbox.inject({ route: 'messages.send', delayMs: 300 });
  const started = Date.now();
  const answer = await ns(sandbox, 'POST', SMS, { json: body });
  t.is(answer.status, 202);
  t.true(Date.now() - started >= 280, `answered after ${Date.now() - started} ms`);
  t.is(sandbox.messages.length, 1);

  // The client gives up well after sending (so that NS has the request even on a loaded machine) and well before the answer.
  sandbox.inject({ route: 'messages.send', delayMs: 800 });
  const outcome = await ns(sandbox, 'POST', SMS, { json: body, signal: AbortSignal.timeout(200) }).then(
    () => 'answered',
    (problem: unknown) => (problem instanceof DOMException ? problem.name : 'other error'),
  );
  t.is(outcome, 'TimeoutError', 'the client gave up first');
  t.is(sandbox.messages.length, 1, 'not yet: NS is slow');
  t.like(sandbox.requests[1], { route: 'messages.send', fault: true, status: null });
  t.true(await eventually(() => sandbox.messages.length === 2), 'the slow NS still sent it');
  t.true(await eventually(() => sandbox.requests[1]?.status === 202));
});

test('fault: drop destroys the connection without answering or processing', async (t) => {
  const sandbox = await start(t);
  sandbox.inject({ route: 'queuedcall.create', drop: true });
  await t.throwsAsync(ns(sandbox, 'POST', LEGACY_CALL, { form: legacyForm() }));
  t.is(sandbox.calls.length, 0);
  t.like(sandbox.requests[0], { route: 'queuedcall.create', fault: true, status: null });
  t.is((await ns(sandbox, 'POST', LEGACY_CALL, { form: legacyForm() })).status, 202);
  t.is(sandbox.calls.length, 1);
});

test('fault: retryAfter sends a Retry-After header with the status, and only when asked', async (t) => {
  const sandbox = await start(t);
  const date = new Date(Date.now() + 60_000).toUTCString();
  sandbox.inject({ route: 'users.get', status: 429, retryAfter: 120 });
  sandbox.inject({ route: 'users.get', status: 503, retryAfter: date });
  sandbox.inject({ route: 'users.get', status: 429 });
  const seconds = await ns(sandbox, 'GET', `${USERS}/1000`);
  t.deepEqual(
    [seconds.status, seconds.headers.get('retry-after'), seconds.body],
    [429, '120', { code: 429, message: 'Too Many Requests' }],
  );
  const until = await ns(sandbox, 'GET', `${USERS}/1000`);
  t.deepEqual([until.status, until.headers.get('retry-after')], [503, date]);
  const without = await ns(sandbox, 'GET', `${USERS}/1000`);
  t.deepEqual([without.status, without.headers.get('retry-after')], [429, null]);

  t.throws(() => sandbox.inject({ route: 'users.get', delayMs: 10, retryAfter: 1 }), {
    instanceOf: TypeError,
    message: /needs fault\.status/,
  });
  for (const retryAfter of [-1, 1.5, Number.NaN, '', 'a\r\nSet-Cookie: x=1']) {
    t.throws(() => sandbox.inject({ route: 'users.get', status: 429, retryAfter }), { instanceOf: TypeError }, JSON.stringify(retryAfter));
  }

  // The control endpoint takes it too.
  const control = await ns(sandbox, 'POST', '/_sandbox/faults', { token: null, json: { route: 'users.get', status: 429, retryAfter: 5 } });
  t.is(control.status, 204);
  t.is((await ns(sandbox, 'GET', `${USERS}/1000`)).headers.get('retry-after'), '5');
});

test('control endpoints: state, requests, faults and reset, without auth and without being logged', async (t) => {
  const sandbox = await start(t);
  t.is((await ns(sandbox, 'POST', LEGACY_CALL, { form: legacyForm() })).status, 202);
  const control = (method: string, path: string, json?: unknown) =>
    ns(sandbox, method, `/_sandbox${path}`, { token: null, ...(json === undefined ? {} : { json }) });

  const state = await control('GET', '/state');
  t.is(state.status, 200);
  t.deepEqual(state.body, {
    calls: sandbox.calls,
    messages: [],
    users: [],
    dialRules: [],
    answerRules: [],
    subscriptions: [],
    deliveries: [],
  });
  const requests = await control('GET', '/requests');
  t.deepEqual(requests.body, sandbox.requests);
  t.is(sandbox.requests.length, 1);

  t.is((await control('POST', '/faults', { route: 'users.get', status: 503 })).status, 204);
  t.is((await ns(sandbox, 'GET', `${USERS}/1000`)).status, 503);
  t.is((await control('POST', '/faults', { route: { pattern: '^/ns-api/v2/domains/[^/]+/users/' }, status: 502, times: 5 })).status, 204);
  t.is((await ns(sandbox, 'GET', `${USERS}/1000`)).status, 502);
  t.is((await control('DELETE', '/faults')).status, 204);
  t.is((await ns(sandbox, 'GET', `${USERS}/1000`)).status, 404);

  const invalid = await control('POST', '/faults', { route: 'nowhere', status: 500 });
  t.is(invalid.status, 400);
  t.regex((invalid.body as { message: string }).message, /fault\.route/);
  t.is((await control('POST', '/faults', { route: { pattern: '(' }, status: 500 })).status, 400);
  t.is((await ns(sandbox, 'POST', '/_sandbox/faults', { token: null, raw: '{"route":' })).status, 400);
  t.is((await control('GET', '/nothing')).status, 404);

  t.is(sandbox.requests.length, 4, 'only the NS requests are logged');
  t.is((await control('POST', '/reset')).status, 204);
  t.deepEqual((await control('GET', '/state')).body, {
    calls: [],
    messages: [],
    users: [],
    dialRules: [],
    answerRules: [],
    subscriptions: [],
    deliveries: [],
  });
  t.is(sandbox.requests.length, 0);
});

test('reset() forgets traffic, provisioning, faults and issued OAuth tokens', async (t) => {
  const sandbox = await start(t, { oauth: OAUTH });
  const tokens = await login(sandbox);
  await ns(sandbox, 'POST', USERS, { json: newUser('8001') });
  await ns(sandbox, 'POST', LEGACY_CALL, { form: legacyForm() });
  sandbox.inject({ route: 'users.get', status: 500 });
  sandbox.reset();
  t.deepEqual([sandbox.calls, sandbox.users, sandbox.answerRules, sandbox.requests], [[], [], [], []]);
  t.is((await ns(sandbox, 'GET', `${USERS}/8001`)).status, 404, 'neither the fault nor the user is left');
  t.is((await ns(sandbox, 'GET', `${USERS}/8001`, { token: tokens.access })).status, 401);
  t.is((await refresh(sandbox, tokens.refresh)).status, 401);
});

test('the request log never holds the token, OAuth secrets or secret-looking fields', async (t) => {
  const sandbox = await start(t, { oauth: OAUTH });
  const seen: SandboxEvents['request'][0][] = [];
  sandbox.events.on('request', (request) => seen.push(request));
  const tokens = await login(sandbox);
  const renewed = (await refresh(sandbox, tokens.refresh)).body as { access_token: string; refresh_token: string };
  await ns(sandbox, 'GET', `${USERS}/1000?access_token=${tokens.access}`, { token: tokens.access });
  await ns(sandbox, 'POST', USERS, { json: newUser('8001', { 'login-password': OAUTH.password, note: `key ${sandbox.token}` }) });
  await ns(sandbox, 'GET', `/ns-api/v2/unknown/${sandbox.token}`);

  const secrets = [
    sandbox.token,
    OAUTH.password,
    OAUTH.clientSecret,
    tokens.access,
    tokens.refresh,
    renewed.access_token,
    renewed.refresh_token,
  ];
  const log = JSON.stringify(sandbox.requests);
  const events = JSON.stringify(seen);
  for (const secret of secrets) {
    t.false(log.includes(secret));
    t.false(events.includes(secret));
  }
  t.is(sandbox.requests.length, 5);
  t.is(seen.length, 5);
  t.false(sandbox.requests.filter((request) => request.route === 'tokens').some((request) => 'body' in request));
  t.like(sandbox.requests[3]?.body, { user: '8001', 'login-password': '[redacted]', note: 'key [redacted]' });
  t.false(log.toLowerCase().includes('authorization'));
});

test('bodies over 1 MB are 413; the sandbox keeps serving', async (t) => {
  const sandbox = await start(t);
  const large = await ns(sandbox, 'POST', USERS, { raw: 'x'.repeat(1024 * 1024 + 1) });
  t.is(large.status, 413);
  t.is((large.body as { code: number }).code, 413);
  t.is(sandbox.users.length, 0);
  t.is((await ns(sandbox, 'POST', USERS, { json: newUser('8001') })).status, 202);
});

test('malformed or non-object JSON is 400; unknown paths and methods are 404 No Route Found', async (t) => {
  const sandbox = await start(t);
  const broken = await ns(sandbox, 'POST', USERS, { raw: '{"user": ' });
  t.deepEqual([broken.status, broken.body], [400, { code: 400, message: 'Invalid JSON in request body' }]);
  t.regex(broken.headers.get('content-type') ?? '', /^application\/json/);
  t.is((await ns(sandbox, 'POST', USERS, { raw: '["8001"]' })).status, 400);
  t.is((await ns(sandbox, 'POST', USERS, { raw: '{"user": ', token: null })).status, 401, 'auth is checked before the body');

  for (const [method, path] of [
    ['GET', '/ns-api/v2/nothing'],
    ['DELETE', `${USERS}/8001`],
    ['GET', USERS],
    ['GET', '/'],
  ] as const) {
    const answer = await ns(sandbox, method, path);
    t.deepEqual([answer.status, answer.body], [404, { code: 404, message: 'No Route Found' }], `${method} ${path}`);
  }
  t.is(sandbox.requests.at(-1)?.route, null);
});

test('path segments are percent-decoded', async (t) => {
  const sandbox = await start(t);
  t.is((await ns(sandbox, 'POST', '/ns-api/v2/domains/example%2Ecom/users', { json: newUser('8001') })).status, 202);
  t.like(sandbox.users[0], { domain: DOMAIN });
  t.is((await ns(sandbox, 'GET', `${USERS}/8001`)).status, 200);
  t.is((await ns(sandbox, 'GET', `${USERS}/%E0%A4%A`)).status, 400, 'a malformed escape is a 400, not a crash');
});

test('a handler that throws is a 500 and the server keeps running', async (t) => {
  const sandbox = await start(t);
  const failing = () => {
    throw new Error('listener bug');
  };
  sandbox.events.on('call', failing);
  const logged: unknown[] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => logged.push(args);
  try {
    const answer = await ns(sandbox, 'POST', LEGACY_CALL, { form: legacyForm() });
    t.deepEqual([answer.status, answer.body], [500, { code: 500, message: 'Internal Server Error' }]);
  } finally {
    console.error = original;
  }
  t.is(logged.length, 1, 'the failure is reported');
  sandbox.events.off('call', failing);
  t.is((await ns(sandbox, 'POST', LEGACY_CALL, { form: legacyForm() })).status, 202);
});

test('events: call, message, provision and request', async (t) => {
  const sandbox = await start(t);
  const kinds: string[] = [];
  sandbox.events.on('call', (call) => kinds.push(`call ${call.queue}`));
  sandbox.events.on('message', (message) => kinds.push(`message ${message.user}`));
  sandbox.events.on('provision', (event) => kinds.push(`provision ${event.kind} ${event.action}`));
  sandbox.events.on('request', (request) => kinds.push(`request ${request.route ?? '-'} ${request.status ?? '-'}`));
  await ns(sandbox, 'POST', LEGACY_CALL, { form: legacyForm() });
  await ns(sandbox, 'POST', SMS, { json: { type: 'sms', message: 'Hi', destination: '18135551234' } });
  await ns(sandbox, 'POST', USERS, { json: newUser('8001') });
  t.deepEqual(kinds, [
    'call 9002@example.com',
    'request queuedcall.create 202',
    'message 2000',
    'request messages.send 202',
    'provision user create',
    'provision answerRule create',
    'request users.create 202',
  ]);
});

test('close() ends promptly with an idle keep-alive connection and a request held by a delay', async (t) => {
  const sandbox = await startNsSandbox();
  const agent = new Agent({ keepAlive: true });
  t.teardown(() => agent.destroy());
  await new Promise<void>((resolve, reject) => {
    const request = httpRequest(
      `${sandbox.url}${USERS}/1000`,
      { agent, headers: { authorization: `Bearer ${sandbox.token}` } },
      (response) => {
        response.resume();
        response.on('end', resolve);
      },
    );
    request.on('error', reject);
    request.end();
  });
  sandbox.inject({ route: 'queuedcall.create', delayMs: 10_000 });
  const held = ns(sandbox, 'POST', LEGACY_CALL, { form: legacyForm() });
  t.true(await eventually(() => sandbox.requests.length === 2));

  const started = Date.now();
  await sandbox.close();
  t.true(Date.now() - started < 5_000, `closed in ${Date.now() - started} ms`);
  await t.throwsAsync(held);
  t.is(sandbox.calls.length, 0, 'a request cut short by close() is not processed');
  await t.throwsAsync(fetch(`${sandbox.url}${USERS}/1000`));
  await sandbox.close();
});

test('a port already in use rejects startNsSandbox', async (t) => {
  const sandbox = await start(t);
  const port = Number(new URL(sandbox.url).port);
  await t.throwsAsync(startNsSandbox({ port }), { code: 'EADDRINUSE' });
});
