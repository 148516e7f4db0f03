import test from 'ava';
import { DEFAULT_WEB_APPLICATION, NsUsageError, type ProvisionWebresponderOptions } from '@beckon/ns-client';
import type { NsSandbox, SandboxRequest } from '@beckon/ns-client/sandbox';
import { withSandbox, type Setup } from './helpers.js';

const DOMAIN = 'example.com';
const OPTIONS: ProvisionWebresponderOptions = {
  domain: DOMAIN,
  systemUser: '8001',
  webhookUrl: 'https://beckon.example.net/webresponder?id=abc',
  email: 'ops@example.com',
};

function routes(sandbox: NsSandbox, since = 0): string[] {
  return sandbox.requests.slice(since).map((request) => `${request.route ?? request.path} ${request.status}`);
}

function defaultRule(sandbox: NsSandbox, user = '8001') {
  return sandbox.answerRules.find((rule) => rule.domain === DOMAIN && rule.user === user && rule['time-frame'] === '*');
}

test('first run: user created, dial rule created, default answer rule updated', async (t) => {
  const { sandbox, client } = await withSandbox(t);
  const result = await client.provisionWebresponder(OPTIONS);
  t.deepEqual(result, { user: { status: 'created' }, dialRule: { status: 'created' }, answerRule: { status: 'updated' } });

  t.like(sandbox.users[0], {
    domain: DOMAIN,
    user: '8001',
    'name-first-name': 'Web',
    'name-last-name': 'Responder',
    'email-address': 'ops@example.com',
    'user-scope': 'Simple User',
    'service-code': 'system-webresponder',
  });
  t.is(sandbox.dialRules.length, 1);
  t.like(sandbox.dialRules[0], {
    domain: DOMAIN,
    dialplan: DOMAIN,
    'dial-rule-matching-to-uri': 'webresponder8001',
    'dial-rule-translation-destination-user': '[*]',
    'dial-rule-translation-destination-host': '[*]',
    'dial-rule-application': 'sip:0@Web-Main',
    'dial-rule-parameter': OPTIONS.webhookUrl,
  });
  const rule = defaultRule(sandbox);
  t.is(rule?.enabled, 'yes');
  t.deepEqual(rule?.['forward-always'], { enabled: 'yes', parameters: ['webresponder8001'] });
  t.deepEqual(routes(sandbox), ['users.create 200', 'dialrules.list 200', 'dialrules.create 200', 'answerrules.update 202']);
});

test('first run without an automatic answer rule: the rule is created after the PUT answers 404', async (t) => {
  const { sandbox, client } = await withSandbox(t, { sandbox: { autoCreateAnswerRule: false } });
  const result = await client.provisionWebresponder(OPTIONS);
  t.deepEqual(result, { user: { status: 'created' }, dialRule: { status: 'created' }, answerRule: { status: 'created' } });
  t.deepEqual(routes(sandbox), [
    'users.create 200',
    'dialrules.list 200',
    'dialrules.create 200',
    'answerrules.update 404',
    'answerrules.create 200',
  ]);
  t.is(sandbox.answerRules.length, 1);
  t.like(defaultRule(sandbox), { enabled: 'yes', 'forward-always': { enabled: 'yes', parameters: ['webresponder8001'] } });
});

test('second run: everything exists, the answer rule is re-applied, no duplicate dial rule', async (t) => {
  const { sandbox, client } = await withSandbox(t);
  await client.provisionWebresponder(OPTIONS);
  const before = sandbox.requests.length;
  const result = await client.provisionWebresponder(OPTIONS);
  t.deepEqual(result, { user: { status: 'exists' }, dialRule: { status: 'exists' }, answerRule: { status: 'updated' } });
  t.deepEqual(routes(sandbox, before), ['users.create 409', 'users.get 200', 'dialrules.list 200', 'answerrules.update 202']);
  t.is(sandbox.users.length, 1);
  t.is(sandbox.dialRules.length, 1);
  t.is(sandbox.answerRules.length, 1);
});

test('a changed webhook URL updates the dial rule in place', async (t) => {
  const { sandbox, client } = await withSandbox(t);
  await client.provisionWebresponder(OPTIONS);
  const before = sandbox.requests.length;
  const webhookUrl = 'https://beckon.example.net/webresponder?id=xyz';
  const result = await client.provisionWebresponder({ ...OPTIONS, webhookUrl });
  t.deepEqual(result, { user: { status: 'exists' }, dialRule: { status: 'updated' }, answerRule: { status: 'updated' } });
  t.deepEqual(routes(sandbox, before), [
    'users.create 409',
    'users.get 200',
    'dialrules.list 200',
    'dialrules.update 202',
    'answerrules.update 202',
  ]);
  t.is(sandbox.dialRules.length, 1);
  t.like(sandbox.dialRules[0], { 'dial-rule-matching-to-uri': 'webresponder8001', 'dial-rule-parameter': webhookUrl });
  // The PUT addressed the rule NetSapiens listed, by its id.
  const update = sandbox.requests.find((request) => request.route === 'dialrules.update');
  t.is(
    update?.path,
    `/ns-api/v2/domains/example.com/dialplans/example.com/dialrules/${encodeURIComponent(sandbox.dialRules[0]?.dialrule ?? '')}`,
  );
});

test('the application is configurable (default sip:0@Web-Main), and a change of it updates the rule', async (t) => {
  const { sandbox, client } = await withSandbox(t);
  t.is(DEFAULT_WEB_APPLICATION, 'sip:0@Web-Main');
  await client.provisionWebresponder({ ...OPTIONS, application: 'sip:0@Web-Other', dialPlan: 'Web Plan' });
  t.like(sandbox.dialRules[0], { dialplan: 'Web Plan', 'dial-rule-application': 'sip:0@Web-Other' });
  const result = await client.provisionWebresponder({ ...OPTIONS, dialPlan: 'Web Plan' });
  t.is(result.dialRule.status, 'updated');
  t.like(sandbox.dialRules[0], { 'dial-rule-application': 'sip:0@Web-Main' });
  t.is(sandbox.dialRules.length, 1);
});

test('a failing user step is reported, and the other steps still run', async (t) => {
  const { sandbox, client } = await withSandbox(t);
  await client.provisionWebresponder(OPTIONS);
  sandbox.inject({ route: 'users.create', status: 500 });
  const result = await client.provisionWebresponder(OPTIONS);
  t.is(result.user.status, 'failed');
  t.regex(result.user.error ?? '', /^NetSapiens answered 500 to POST \/ns-api\/v2\/domains\/example\.com\/users/);
  t.deepEqual(result.dialRule, { status: 'exists' });
  t.deepEqual(result.answerRule, { status: 'updated' });
});

test('a user step failing on the first run still lets the dial rule be created', async (t) => {
  const { sandbox, client } = await withSandbox(t);
  sandbox.inject({ route: 'users.create', status: 500 });
  const result = await client.provisionWebresponder(OPTIONS);
  t.is(result.user.status, 'failed');
  t.regex(result.user.error ?? '', /500/);
  t.deepEqual(result.dialRule, { status: 'created' });
  // The read after the failed create finds no user, so there is no answer rule to set: not attempted.
  t.deepEqual(result.answerRule, { status: 'failed', error: 'not attempted: user 8001 does not exist' });
  t.deepEqual(routes(sandbox), ['users.create 500', 'users.get 404', 'dialrules.list 200', 'dialrules.create 200']);
  // Run again once NetSapiens is well: it completes.
  t.deepEqual(await client.provisionWebresponder(OPTIONS), {
    user: { status: 'created' },
    dialRule: { status: 'exists' },
    answerRule: { status: 'updated' },
  });
});

test('a failing dial-rule step (403) is reported, and the answer rule is still applied', async (t) => {
  const { sandbox, client } = await withSandbox(t);
  sandbox.inject({ route: 'dialrules.create', status: 403, body: { code: 403, message: 'Forbidden: scope lacks permission' } });
  const result = await client.provisionWebresponder(OPTIONS);
  t.deepEqual(result.user, { status: 'created' });
  t.deepEqual(result.dialRule, {
    status: 'failed',
    error:
      'NetSapiens answered 403 to POST /ns-api/v2/domains/example.com/dialplans/example.com/dialrules: Forbidden: scope lacks permission',
  });
  t.deepEqual(result.answerRule, { status: 'updated' });
  t.is(sandbox.dialRules.length, 0);
});

test('a network failure in a step is reported, not thrown', async (t) => {
  const { sandbox, client } = await withSandbox(t);
  sandbox.inject({ route: 'users.create', drop: true });
  sandbox.inject({ route: 'dialrules.list', status: 503, times: Infinity });
  const result = await client.provisionWebresponder(OPTIONS);
  t.is(result.user.status, 'failed');
  t.regex(result.user.error ?? '', /Could not reach NetSapiens for POST .*ECONNRESET/);
  t.is(result.dialRule.status, 'failed');
  t.regex(result.dialRule.error ?? '', /503/);
  // No user, so no rule to update or create: reported, not thrown.
  t.deepEqual(result.answerRule, { status: 'failed', error: 'not attempted: user 8001 does not exist' });
});

test('a dial plan NetSapiens does not know (list 404) still gets its rule; a 409 on create means it exists', async (t) => {
  const { sandbox, client } = await withSandbox(t);
  sandbox.inject({ route: 'dialrules.list', status: 404 });
  t.is((await client.provisionWebresponder(OPTIONS)).dialRule.status, 'created');

  // A rule the list missed (a dial plan listed late, say): creating it again answers 409.
  sandbox.inject({ route: 'dialrules.list', status: 200, body: [] });
  t.is((await client.provisionWebresponder(OPTIONS)).dialRule.status, 'exists');
  t.is(sandbox.dialRules.length, 1);
  t.is(sandbox.requests.filter((request) => request.route === 'dialrules.create').at(-1)?.status, 409);
});

test('options NetSapiens could not use are refused before anything is sent', async (t) => {
  const { sandbox, client } = await withSandbox(t);
  for (const options of [
    { ...OPTIONS, webhookUrl: 'ftp://beckon.example.net/x' },
    { ...OPTIONS, webhookUrl: '' },
    { ...OPTIONS, systemUser: ' ' },
    { ...OPTIONS, domain: '' },
    { ...OPTIONS, email: '' },
  ]) {
    await t.throwsAsync(client.provisionWebresponder(options), { instanceOf: NsUsageError }, JSON.stringify(options));
  }
  t.is(sandbox.requests.length, 0);
});

/**
 * NetSapiens' required fields per request body, written out from the wire contract (§4.2–§4.4) and the
 * v2 spec: the sandbox validates bodies too, but this check must not depend on the sandbox's rules.
 */
const REQUIRED: Record<string, { required: string[]; yesNo?: string[]; forbidden?: string[]; enums?: Record<string, string[]> }> = {
  'users.create': {
    required: ['user', 'name-first-name', 'name-last-name', 'email-address', 'user-scope'],
    enums: {
      'user-scope': [
        'Basic User',
        'Simple User',
        'Advanced User',
        'Call Center Agent',
        'Site Manager',
        'Call Center Supervisor',
        'Office Manager',
        'Reseller',
        'Super User',
        'NDP',
        'No Portal',
      ],
    },
  },
  'dialrules.create': {
    required: ['synchronous', 'dial-rule-matching-to-uri', 'dial-rule-translation-destination-user'],
    yesNo: ['synchronous'],
  },
  // The v2 spec's PUT wants the id again in the body, and the destination user even when unchanged.
  'dialrules.update': { required: ['dialrule', 'dial-rule-translation-destination-user'] },
  'answerrules.update': { required: ['enabled'], yesNo: ['enabled'], forbidden: ['is-active'] },
  'answerrules.create': { required: ['synchronous', 'time-frame', 'enabled'], yesNo: ['synchronous', 'enabled'], forbidden: ['is-active'] },
  'messages.send': { required: ['type', 'message', 'destination'], enums: { type: ['sms'] } },
  'queuedcall.createV2': { required: ['destination'] },
};

function checkBody(request: SandboxRequest): string[] {
  const rules = request.route ? REQUIRED[request.route] : undefined;
  if (!rules) return [];
  const body = (request.body ?? {}) as Record<string, unknown>;
  const problems: string[] = [];
  for (const field of rules.required) {
    if (typeof body[field] !== 'string' || (body[field] as string).trim() === '') problems.push(`${request.route}: ${field} missing`);
  }
  for (const field of rules.yesNo ?? []) {
    if (body[field] !== 'yes' && body[field] !== 'no') problems.push(`${request.route}: ${field} not yes/no`);
  }
  for (const field of rules.forbidden ?? []) if (field in body) problems.push(`${request.route}: ${field} sent`);
  for (const [field, allowed] of Object.entries(rules.enums ?? {})) {
    if (!allowed.includes(String(body[field]))) problems.push(`${request.route}: ${field} = ${String(body[field])}`);
  }
  return problems;
}

test('schema conformance: every v2 body sent has the fields NetSapiens requires', async (t) => {
  const { sandbox, client } = await withSandbox(t, { sandbox: { autoCreateAnswerRule: false } });
  await client.provisionWebresponder(OPTIONS);
  await client.provisionWebresponder({ ...OPTIONS, webhookUrl: 'https://beckon.example.net/webresponder?id=2' });
  await client.users.create({ domain: DOMAIN, user: '8002', firstName: 'A', lastName: 'B', email: 'a@b.c' });
  await client.dialRules.create({ domain: DOMAIN, match: 'x8002', destinationUser: '8002', synchronous: false });
  await client.answerRules.create({ domain: DOMAIN, user: '8002', timeFrame: 'weekends', enabled: false, synchronous: false });
  await client.answerRules.update({
    domain: DOMAIN,
    user: '8002',
    timeFrame: 'weekends',
    forwardNoAnswer: { enabled: true, to: ['1001'] },
  });
  await client.messages.sendSms({ domain: DOMAIN, user: '1001', fromNumber: '+19294873999', destination: '+18135551234', message: 'hi' });
  await client.queuedCalls.createV2({ domain: DOMAIN, queue: '9002', destination: '+18135551234' });

  const checked = sandbox.requests.filter((request) => request.route !== null && request.route in REQUIRED);
  t.deepEqual(
    [...new Set(checked.map((request) => request.route))].sort(),
    Object.keys(REQUIRED).sort(),
    'every kind of body was sent at least once',
  );
  t.deepEqual(checked.flatMap(checkBody), []);
  // The sandbox, which validates bodies too, refused none of them.
  t.deepEqual(
    sandbox.requests.filter((request) => request.status === 400),
    [],
  );
  // SMS and v2 numbers are digits with the country code and no +.
  const sms = checked.find((request) => request.route === 'messages.send')?.body as Record<string, unknown> | undefined;
  t.is(sms?.destination, '18135551234');
  t.is(sms?.['from-number'], '19294873999');
});

/** A person's extension, as a portal creates it: no service code, a default answer rule that rings the phone. */
async function person(client: Setup['client'], extra: { serviceCode?: string } = {}): Promise<void> {
  await client.users.create({ domain: DOMAIN, user: '2000', firstName: 'Dana', lastName: 'Reyes', email: 'dana@example.com', ...extra });
}

const PERSON_OPTIONS = { ...OPTIONS, systemUser: '2000' };

test("regression: provisioning never takes over a person's phone: an existing user without the web-responder service code is refused", async (t) => {
  const { sandbox, client } = await withSandbox(t);
  await person(client);
  const ruleBefore = defaultRule(sandbox, '2000');
  const before = sandbox.requests.length;

  const result = await client.provisionWebresponder(PERSON_OPTIONS);
  const error =
    'user 2000 exists and is not a web-responder system user (service code: none): its answer rule was left alone; choose another systemUser';
  t.deepEqual(result, {
    user: { status: 'refused', error },
    dialRule: { status: 'refused', error },
    answerRule: { status: 'refused', error },
  });
  t.deepEqual(defaultRule(sandbox, '2000'), ruleBefore, 'the answer rule is untouched');
  t.is(sandbox.dialRules.length, 0, 'no dial rule was created');
  t.deepEqual(routes(sandbox, before), ['users.create 409', 'users.get 200']);
});

test("regression: provisioning never takes over a person's phone: another service code is refused and named", async (t) => {
  const { sandbox, client } = await withSandbox(t);
  await person(client, { serviceCode: 'hosted-pbx-seat' });
  // A rule for the same match that someone else made must not be rewritten either.
  await client.dialRules.create({ domain: DOMAIN, match: 'webresponder2000', destinationUser: '2001' });
  const before = sandbox.requests.length;
  const result = await client.provisionWebresponder(PERSON_OPTIONS);
  t.is(result.answerRule.status, 'refused');
  t.is(result.dialRule.status, 'refused');
  t.regex(result.answerRule.error ?? '', /^user 2000 exists and is not a web-responder system user \(service code: "hosted-pbx-seat"\)/);
  t.like(sandbox.dialRules[0], { 'dial-rule-translation-destination-user': '2001' });
  t.like(defaultRule(sandbox, '2000'), { 'forward-always': { enabled: 'no', parameters: [] } });
  t.deepEqual(routes(sandbox, before), ['users.create 409', 'users.get 200']);
});

test("regression: provisioning never takes over a person's phone: when the existing user cannot be read, its answer rule is left alone", async (t) => {
  const { sandbox, client } = await withSandbox(t);
  await person(client);
  sandbox.inject({ route: 'users.get', status: 500, times: Infinity });
  const before = sandbox.requests.length;
  const result = await client.provisionWebresponder(PERSON_OPTIONS);
  t.is(result.user.status, 'failed');
  t.regex(
    result.user.error ?? '',
    /^user 2000 exists, but reading it to check its service code failed: NetSapiens answered 500 to GET \/ns-api\/v2\/domains\/example\.com\/users\/2000/,
  );
  t.deepEqual(result.answerRule, {
    status: 'failed',
    error: 'not attempted: user 2000 could not be checked to be a web-responder system user, so its answer rule was left alone',
  });
  t.like(defaultRule(sandbox, '2000'), { 'forward-always': { enabled: 'no', parameters: [] } });
  t.false(routes(sandbox, before).some((route) => route.startsWith('answerrules.')));
});

test('a failed create followed by a read showing a web-responder user still applies the answer rule', async (t) => {
  const { sandbox, client } = await withSandbox(t);
  await client.provisionWebresponder(OPTIONS);
  // The create's connection drops: the read decides.
  sandbox.inject({ route: 'users.create', drop: true });
  const before = sandbox.requests.length;
  const result = await client.provisionWebresponder(OPTIONS);
  t.is(result.user.status, 'failed');
  t.deepEqual(result.answerRule, { status: 'updated' });
  t.deepEqual(routes(sandbox, before), ['users.create null', 'users.get 200', 'dialrules.list 200', 'answerrules.update 202']);
});
