import { readFile } from 'node:fs/promises';
import test from 'ava';
import { createNsClient } from '@beckon/ns-client';
import { webresponderKey, webresponderSignature } from '../src/guards/secrets.js';
import { SECRET, startHarness, TENANTS, type Harness } from './helpers.js';

const onDisk = async (harness: Harness) =>
  JSON.parse(await readFile(harness.domainsFile, 'utf8')) as Record<string, Record<string, unknown>>;

const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();

function postForm(harness: Harness, path: string, fields: Record<string, string>, headers: Record<string, string> = {}) {
  return fetch(harness.url + path, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: form(fields),
  });
}

test('update-domain (Zoho form-urlencoded) upserts a new id, completing a bare queue', async (t) => {
  const harness = await startHarness();
  t.teardown(() => harness.close());
  const response = await postForm(harness, '/update-domain', {
    secret: SECRET,
    id: 'shop.net-sales',
    api_domain: 'shop.net',
    queue: '500',
    button_text: 'Ring me',
    button_color: '#112233',
    company_name: 'Shop',
    logo_url: 'https://shop.net/logo.png',
  });
  t.is(response.status, 200);
  t.deepEqual(await response.json(), { status: 'ok', id: 'shop.net-sales' });
  t.deepEqual((await onDisk(harness))['shop.net-sales'], {
    api_domain: 'shop.net',
    queue: '500@shop.net',
    branding: { button_text: 'Ring me', button_color: '#112233', company_name: 'Shop', logo_url: 'https://shop.net/logo.png' },
  });
  const call = await harness.post('/click-to-call', { id: 'shop.net-sales', phone_number: '8135551234' });
  t.is(call.status, 200, 'served at once, without a restart');
  t.like(harness.sandbox.calls[0], { queue: '500@shop.net' });
});

test("update-domain keeps the id's SMS fields; update-sms keeps its click-to-call fields", async (t) => {
  const harness = await startHarness();
  t.teardown(() => harness.close());
  t.is(
    (await postForm(harness, '/update-domain', { secret: SECRET, id: 'example.com-sms', queue: '9100', button_text: 'Hi' })).status,
    200,
  );
  t.is(
    (
      await postForm(harness, '/update-sms', {
        secret: SECRET,
        id: 'example.com-sales',
        api_domain: 'example.com',
        user: '2001',
        ns_system_user: '8002',
        from_number: '19295550101',
        message: 'Hello',
      })
    ).status,
    200,
  );
  const saved = await onDisk(harness);
  t.deepEqual(saved['example.com-sms'], { ...TENANTS['example.com-sms'], queue: '9100@example.com', branding: { button_text: 'Hi' } });
  t.deepEqual(saved['example.com-sales'], {
    ...TENANTS['example.com-sales'],
    user: '2001',
    ns_system_user: '8002',
    from_number: '19295550101',
    message: 'Hello',
    webresponder_signed: true,
  });
});

test('multipart and JSON bodies, and the secret as a header, are accepted', async (t) => {
  const harness = await startHarness();
  t.teardown(() => harness.close());
  const body = new FormData();
  body.append('secret', SECRET);
  body.append('id', 'example.com-sales');
  body.append('button_color', '#abcdef');
  t.is((await fetch(`${harness.url}/update-domain`, { method: 'POST', body })).status, 200);
  t.is(
    (await harness.post('/update-domain', { id: 'example.com-sales', company_name: 'JSON Co' }, { 'x-update-secret': SECRET })).status,
    200,
  );
  t.like((await onDisk(harness))['example.com-sales']?.branding, {
    button_color: '#abcdef',
    company_name: 'JSON Co',
    button_text: 'Call us',
  });
});

test('a wrong or missing secret is 401 and writes nothing', async (t) => {
  const harness = await startHarness();
  t.teardown(() => harness.close());
  const before = await readFile(harness.domainsFile, 'utf8');
  const attempts: Record<string, string>[] = [{}, { 'x-update-secret': 'wrong' }, { 'x-update-secret': `${SECRET}x` }];
  for (const headers of attempts) {
    const response = await postForm(harness, '/update-domain', { id: 'example.com-sales', company_name: 'Hacked' }, headers);
    t.is(response.status, 401);
    t.like(await response.json(), { status: 'error' });
  }
  t.is((await postForm(harness, '/update-sms', { secret: 'nope', id: 'x.com-sms' })).status, 401);
  t.is(await readFile(harness.domainsFile, 'utf8'), before);
  t.is(harness.sandbox.requests.length, 0, 'nothing provisioned');
  t.false(harness.logText().includes(SECRET));
});

test('each invalid field is a 400 naming it, and nothing is written', async (t) => {
  const harness = await startHarness();
  t.teardown(() => harness.close());
  const before = await readFile(harness.domainsFile, 'utf8');
  const cases: [string, Record<string, string>, RegExp][] = [
    ['/update-domain', { id: '' }, /^id is required/],
    ['/update-domain', { id: 'bad id!' }, /^id may hold/],
    ['/update-domain', { id: 'new.com-x', queue: '500' }, /^api_domain is required/],
    ['/update-domain', { id: 'example.com-sales', queue: '9002@bad domain' }, /^queue /],
    ['/update-domain', { id: 'example.com-sales', button_color: 'red' }, /^button_color /],
    ['/update-domain', { id: 'example.com-sales', button_color: '#12345' }, /^button_color /],
    ['/update-domain', { id: 'example.com-sales', logo_url: 'javascript:alert(1)' }, /^logo_url /],
    ['/update-domain', { id: 'example.com-sales', button_text: 'x'.repeat(61) }, /^button_text /],
    ['/update-domain', { id: 'example.com-sales', api_domain: 'a/b' }, /^api_domain /],
    ['/update-sms', { id: 'example.com-sms', from_number: '555-CALL' }, /^from_number /],
    ['/update-sms', { id: 'example.com-sms', user: 'a b' }, /^user /],
    ['/update-sms', { id: 'example.com-sms', message: '   ' }, /^message /],
    [
      '/update-sms',
      { id: 'new.com-sms', api_domain: 'new.com', user: '1', from_number: '19295550100', message: 'm' },
      /^ns_system_user is required/,
    ],
  ];
  for (const [path, fields, message] of cases) {
    const response = await postForm(harness, path, { secret: SECRET, ...fields });
    t.is(response.status, 400, JSON.stringify(fields));
    t.regex(((await response.json()) as { message: string }).message, message);
  }
  t.is(await readFile(harness.domainsFile, 'utf8'), before);
  // Zoho's users never see the answer: the reason is in the request's log line.
  const refused = harness.logs.filter((line) => line.msg === 'request' && line.status === 400);
  t.is(refused.length, cases.length);
  t.regex(String(refused[4]?.reason), /^button_color /);
  t.false(harness.logText().includes(SECRET));
});

test('update-sms provisions NetSapiens and reports each step; a re-run never fails', async (t) => {
  const harness = await startHarness();
  t.teardown(() => harness.close());
  const fields = {
    secret: SECRET,
    id: 'acme.com-sms',
    api_domain: 'acme.com',
    user: '2000',
    ns_system_user: '8001',
    from_number: '(929) 555-0100',
    message: 'We are at 1 Main St.',
  };
  const first = await postForm(harness, '/update-sms', fields);
  t.is(first.status, 200);
  t.deepEqual(await first.json(), {
    status: 'ok',
    id: 'acme.com-sms',
    provisioning: { user: 'created', dial_rule: 'created', answer_rule: 'updated' },
  });
  t.like((await onDisk(harness))['acme.com-sms'], { from_number: '19295550100' });
  const sig = webresponderSignature(webresponderKey(harness.deps.config), 'acme.com-sms');
  t.like(harness.sandbox.dialRules[0], { 'dial-rule-parameter': `http://beckon.test/webresponder?id=acme.com-sms&sig=${sig}` });

  const again = await postForm(harness, '/update-sms', { ...fields, message: 'New hours' });
  t.deepEqual(await again.json(), {
    status: 'ok',
    id: 'acme.com-sms',
    provisioning: { user: 'exists', dial_rule: 'exists', answer_rule: 'updated' },
  });
  t.is(harness.sandbox.users.length, 1);
  t.is(harness.sandbox.dialRules.length, 1);
  t.like((await onDisk(harness))['acme.com-sms'], { message: 'New hours' });
});

test('update-sms gives the dial rule the configured application (default sip:0@Web-Main)', async (t) => {
  const fields = {
    secret: SECRET,
    id: 'acme.com-sms',
    api_domain: 'acme.com',
    user: '2000',
    ns_system_user: '8001',
    from_number: '19295550100',
    message: 'Hi',
  };
  const defaults = await startHarness();
  t.teardown(() => defaults.close());
  t.is((await postForm(defaults, '/update-sms', fields)).status, 200);
  t.like(defaults.sandbox.dialRules[0], { 'dial-rule-application': 'sip:0@Web-Main' });

  const configured = await startHarness({ provisionApplication: 'sip:0@To-Web' });
  t.teardown(() => configured.close());
  t.is((await postForm(configured, '/update-sms', fields)).status, 200);
  t.like(configured.sandbox.dialRules[0], { 'dial-rule-application': 'sip:0@To-Web' });
});

test('update-sms does not provision a PUBLIC_URL only this machine can reach when NetSapiens is elsewhere', async (t) => {
  const harness = await startHarness({ publicUrl: 'http://127.0.0.1:5100', nsApiBase: 'https://ucportal.example.net' });
  t.teardown(() => harness.close());
  const response = await postForm(harness, '/update-sms', {
    secret: SECRET,
    id: 'acme.com-sms',
    api_domain: 'acme.com',
    user: '2000',
    ns_system_user: '8001',
    from_number: '19295550100',
    message: 'Hi',
  });
  t.is(response.status, 200);
  const body = (await response.json()) as { provisioning: Record<string, string>; provisioning_errors: Record<string, string> };
  t.deepEqual(body.provisioning, { user: 'failed', dial_rule: 'failed', answer_rule: 'failed' });
  t.regex(body.provisioning_errors.dial_rule ?? '', /NetSapiens cannot reach http:\/\/127\.0\.0\.1:5100; set PUBLIC_URL/);
  t.is(harness.sandbox.requests.length, 0, 'nothing was sent to NetSapiens');
  t.like((await onDisk(harness))['acme.com-sms'], { message: 'Hi' }, 'the config is saved all the same');
});

test('update-sms saves the config and answers 200 even when NetSapiens fails a step', async (t) => {
  const harness = await startHarness();
  t.teardown(() => harness.close());
  harness.sandbox.inject({ route: 'dialrules.create', status: 403 });
  const response = await postForm(harness, '/update-sms', {
    secret: SECRET,
    id: 'acme.com-sms',
    api_domain: 'acme.com',
    user: '2000',
    ns_system_user: '8001',
    from_number: '19295550100',
    message: 'Hi',
  });
  t.is(response.status, 200);
  const body = (await response.json()) as { provisioning: Record<string, string>; provisioning_errors: Record<string, string> };
  t.deepEqual(body.provisioning, { user: 'created', dial_rule: 'failed', answer_rule: 'updated' });
  t.regex(body.provisioning_errors.dial_rule ?? '', /403/);
  t.like((await onDisk(harness))['acme.com-sms'], { message: 'Hi' });
});

test('concurrent form posts to one id lose no field', async (t) => {
  const harness = await startHarness();
  t.teardown(() => harness.close());
  const posts = Array.from({ length: 40 }, (_, index) =>
    harness.post(
      '/update-domain',
      {
        id: `load.com-${index % 4}`,
        api_domain: 'load.com',
        [Math.floor(index / 4) % 2 ? 'button_text' : 'company_name']: `value ${index}`,
      },
      { 'x-update-secret': SECRET },
    ),
  );
  const statuses = (await Promise.all(posts)).map((response) => response.status);
  t.true(statuses.every((status) => status === 200));
  const saved = await onDisk(harness);
  for (let group = 0; group < 4; group++) {
    const branding = saved[`load.com-${group}`]?.branding as Record<string, string>;
    t.truthy(branding.button_text && branding.company_name, `both fields of load.com-${group} survive`);
  }
  t.truthy(saved['example.com-sms'], 'other ids untouched');
});

test('update-sms writes a signed web-responder URL, marks the id signed, and from then on unsigned requests are refused', async (t) => {
  // An id provisioned before signing: its dial rule holds the bare URL, and the id is not marked.
  const harness = await startHarness();
  t.teardown(() => harness.close());
  t.is(await fetch(`${harness.url}/webresponder?id=example.com-sms&NmsAni=18135550001`).then((response) => response.status), 200);

  const fields = { secret: SECRET, id: 'example.com-sms', message: 'Our hours are Mon-Fri 9am-5pm.' };
  const response = await postForm(harness, '/update-sms', fields);
  t.like(await response.json(), { status: 'ok', provisioning: { dial_rule: 'created' } });
  const url = new URL(String(harness.sandbox.dialRules[0]?.['dial-rule-parameter']));
  t.is(url.searchParams.get('id'), 'example.com-sms');
  t.regex(url.searchParams.get('sig') ?? '', /^[\w-]{43}$/);
  t.false(url.href.includes(SECRET), "the forms' secret never travels in a dial rule");
  t.like((await onDisk(harness))['example.com-sms'], { webresponder_signed: true, message: 'Our hours are Mon-Fri 9am-5pm.' });

  // NetSapiens calls the URL it was given; anyone else's unsigned request is refused.
  const fromNs = await fetch(`${url.href.replace('http://beckon.test', harness.url)}&NmsAni=18135550002`);
  t.is(fromNs.status, 200);
  await fromNs.text();
  t.is(await fetch(`${harness.url}/webresponder?id=example.com-sms&NmsAni=18135550003`).then((refused) => refused.status), 403);
  await harness.deps.background.drain(2_000);
  t.deepEqual(
    harness.sandbox.messages.map((message) => message.destination),
    ['18135550001', '18135550002'],
  );
});

test('update-sms does not mark an id signed when the dial rule could not be written', async (t) => {
  const harness = await startHarness();
  t.teardown(() => harness.close());
  harness.sandbox.inject({ route: 'dialrules.create', status: 403 });
  const response = await postForm(harness, '/update-sms', { secret: SECRET, id: 'example.com-sms', message: 'Hi' });
  t.like(await response.json(), { provisioning: { dial_rule: 'failed' } });
  t.is((await onDisk(harness))['example.com-sms']?.webresponder_signed, undefined);
  t.is(
    await fetch(`${harness.url}/webresponder?id=example.com-sms&NmsAni=18135550001`).then((unsigned) => unsigned.status),
    200,
    'the old unsigned rule keeps working',
  );
});

test("update-sms with an ns_system_user that is somebody's phone changes nothing in NetSapiens and says why", async (t) => {
  const harness = await startHarness();
  t.teardown(() => harness.close());
  // A person's extension, as the portal makes it: no web-responder service code.
  const ns = createNsClient({ baseUrl: harness.sandbox.url, auth: { token: harness.sandbox.token } });
  await ns.users.create({ domain: 'acme.com', user: '2001', firstName: 'Ada', lastName: 'Person', email: 'ada@acme.com' });
  const before = harness.sandbox.requests.length;
  const response = await postForm(harness, '/update-sms', {
    secret: SECRET,
    id: 'acme.com-sms',
    api_domain: 'acme.com',
    user: '2000',
    ns_system_user: '2001',
    from_number: '19295550100',
    message: 'Hi',
  });
  t.is(response.status, 200);
  const body = (await response.json()) as { provisioning: Record<string, string>; provisioning_errors: Record<string, string> };
  t.deepEqual(body.provisioning, { user: 'refused', dial_rule: 'refused', answer_rule: 'refused' });
  t.regex(body.provisioning_errors.answer_rule ?? '', /2001.*not a web-responder system user/);
  const sent = harness.sandbox.requests.slice(before).map((request) => `${request.method} ${request.path}`);
  t.false(
    sent.some((line) => /answerrules|dialrules/.test(line) && !line.startsWith('GET')),
    `nothing written: ${sent.join(', ')}`,
  );
  t.like((await onDisk(harness))['acme.com-sms'], { ns_system_user: '2001' }, 'the config is saved all the same');
  t.is((await onDisk(harness))['acme.com-sms']?.webresponder_signed, undefined, 'not marked signed: no rule holds the URL');
  t.like(
    harness.logs.find((line) => line.msg === 'provisioning incomplete'),
    { id: 'acme.com-sms' },
  );
});

test('update-sms keeps a country code typed with +: a ten-digit international number is not made a NANP one', async (t) => {
  const harness = await startHarness();
  t.teardown(() => harness.close());
  const post = (from_number: string) => postForm(harness, '/update-sms', { secret: SECRET, id: 'example.com-sms', from_number });
  t.is((await post('+45 33 12 34 56')).status, 200);
  t.is((await onDisk(harness))['example.com-sms']?.from_number, '4533123456');
  t.is((await post('(929) 555-0100')).status, 200);
  t.is((await onDisk(harness))['example.com-sms']?.from_number, '19295550100', 'ten digits without + are NANP');
  // The form and domains.json take the same numbers: 8 to 15 digits, no leading 0.
  t.is((await post('+358 9 123 45')).status, 200);
  t.is((await onDisk(harness))['example.com-sms']?.from_number, '358912345');
  const refused = await post('+1 234');
  t.is(refused.status, 400);
  t.like(await refused.json(), { message: 'from_number must be a phone number in digits with its country code, e.g. 19294873999' });
});
