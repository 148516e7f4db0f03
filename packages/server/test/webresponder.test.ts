import test from 'ava';
import { eventually, startHarness, TENANTS } from './helpers.js';

const XML_HANGUP = /^<\?xml version="1\.0" encoding="UTF-8"\?>\n<Response><Hangup\/><\/Response>\n$/;

test("GET answers NS XML and texts the caller the id's message from its number", async (t) => {
  const harness = await startHarness();
  t.teardown(() => harness.close());
  const response = await fetch(
    `${harness.url}/webresponder?id=example.com-sms&NmsAni=8135551234&NmsDnis=19295550100&AccountDomain=example.com`,
  );
  t.is(response.status, 200);
  t.regex(response.headers.get('content-type') ?? '', /^text\/xml/);
  t.regex(await response.text(), XML_HANGUP);
  t.true(await eventually(() => harness.sandbox.messages.length === 1));
  t.like(harness.sandbox.messages[0], {
    domain: 'example.com',
    user: '2000',
    type: 'sms',
    destination: '18135551234',
    fromNumber: '19295550100',
    message: 'Our hours are Mon-Fri 9am-5pm.',
  });
});

test('POST with a form or JSON body works like GET, the configured ?id= kept', async (t) => {
  const harness = await startHarness({ textBackWindowSeconds: 600 });
  t.teardown(() => harness.close());
  const form = await fetch(`${harness.url}/webresponder?id=example.com-sms`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: 'NmsAni=%2B18135550001&AccountUser=8001',
  });
  t.is(form.status, 200);
  t.regex(await form.text(), XML_HANGUP);
  const json = await harness.post('/webresponder?id=example.com-sms', { NmsAni: '18135550002' });
  t.is(json.status, 200);
  t.true(await eventually(() => harness.sandbox.messages.length === 2));
  t.deepEqual(harness.sandbox.messages.map((m) => m.destination).sort(), ['18135550001', '18135550002']);
});

test('answers at once even when the SMS API is slow', async (t) => {
  const harness = await startHarness({ nsTimeoutMs: 10_000 });
  t.teardown(() => harness.close());
  // The SMS API takes 4 s; the answer must not wait for it, with room for a busy machine.
  harness.sandbox.inject({ route: 'messages.send', delayMs: 4_000 });
  const started = Date.now();
  const response = await fetch(`${harness.url}/webresponder?id=example.com-sms&NmsAni=8135551234`);
  t.is(response.status, 200);
  t.true(Date.now() - started < 2_000, `answered in ${Date.now() - started} ms`);
  t.is(harness.sandbox.messages.length, 0, 'the text is still on its way');
  t.true(await eventually(() => harness.sandbox.messages.length === 1, 10_000));
});

test('a caller is texted once per window per id', async (t) => {
  const harness = await startHarness();
  t.teardown(() => harness.close());
  for (let attempt = 0; attempt < 3; attempt++) {
    t.is((await fetch(`${harness.url}/webresponder?id=example.com-sms&NmsAni=8135551234`)).status, 200);
  }
  await fetch(`${harness.url}/webresponder?id=example.com-sms&NmsAni=%2B18135551234`);
  await harness.deps.background.drain(2_000);
  t.is(harness.sandbox.messages.length, 1);
  t.true(harness.logs.some((line) => line.msg === 'no text sent: this caller was texted within the window'));
});

test('unknown id: valid XML, no text; malformed id: 400 with XML', async (t) => {
  const harness = await startHarness();
  t.teardown(() => harness.close());
  const unknown = await fetch(`${harness.url}/webresponder?id=nobody.net-sms&NmsAni=8135551234`);
  t.is(unknown.status, 200);
  t.regex(await unknown.text(), XML_HANGUP);
  const malformed = await fetch(`${harness.url}/webresponder?id=%3Cscript%3E&NmsAni=8135551234`);
  t.is(malformed.status, 400);
  t.regex(malformed.headers.get('content-type') ?? '', /^text\/xml/);
  t.regex(await malformed.text(), XML_HANGUP);
  const missing = await fetch(`${harness.url}/webresponder`);
  t.is(missing.status, 400);
  await harness.deps.background.drain(1_000);
  t.is(harness.sandbox.messages.length, 0);
});

test('no text to an extension, nor for an id without SMS settings', async (t) => {
  const harness = await startHarness();
  t.teardown(() => harness.close());
  await fetch(`${harness.url}/webresponder?id=example.com-sms&NmsAni=1001`);
  await fetch(`${harness.url}/webresponder?id=example.com-sales&NmsAni=8135551234`);
  await harness.deps.background.drain(1_000);
  t.is(harness.sandbox.messages.length, 0);
});

test('an SMS failure is logged with the number masked, not retried', async (t) => {
  const harness = await startHarness();
  t.teardown(() => harness.close());
  harness.sandbox.inject({ route: 'messages.send', status: 500 });
  t.is((await fetch(`${harness.url}/webresponder?id=example.com-sms&NmsAni=8135551234`)).status, 200);
  await harness.deps.background.drain(2_000);
  t.is(harness.sandbox.requests.filter((r) => r.route === 'messages.send').length, 1);
  t.true(harness.logs.some((line) => line.msg === 'text failed'));
  t.false(harness.logText().includes('8135551234'));
  t.false(harness.logText().includes(harness.sandbox.token), 'the NS token is never logged');
});

test('a voice message is escaped into <Say>', async (t) => {
  const harness = await startHarness({
    tenants: { ...TENANTS, 'example.com-voice': { ...TENANTS['example.com-sms']!, voice_message: 'Tom & Jerry\'s <b>"shop"</b>' } },
  });
  t.teardown(() => harness.close());
  const body = await (await fetch(`${harness.url}/webresponder?id=example.com-voice&NmsAni=8135551234`)).text();
  t.true(body.includes('<Response><Say>Tom &amp; Jerry&apos;s &lt;b&gt;&quot;shop&quot;&lt;/b&gt;</Say><Hangup/></Response>'));
});

test('a POST whose body cannot be read (empty, text/plain, compressed) still texts the caller from the query', async (t) => {
  const harness = await startHarness();
  t.teardown(() => harness.close());
  const post = (headers: Record<string, string>, body: string, ani: string) =>
    fetch(`${harness.url}/webresponder?id=example.com-sms&NmsAni=${ani}`, { method: 'POST', headers, body });
  for (const [headers, body, ani] of [
    [{}, '', '8135550101'],
    [{ 'content-type': 'text/plain' }, 'hello', '8135550102'],
    [{ 'content-type': 'application/x-www-form-urlencoded', 'content-encoding': 'gzip' }, 'x', '8135550103'],
  ] as const) {
    const response = await post(headers, body, ani);
    t.is(response.status, 200, JSON.stringify(headers));
    t.regex(await response.text(), XML_HANGUP);
  }
  t.true(await eventually(() => harness.sandbox.messages.length === 3));
  t.deepEqual(harness.sandbox.messages.map((message) => message.destination).sort(), ['18135550101', '18135550102', '18135550103']);
});

test('an id whose URL is signed refuses unsigned or wrongly signed requests with a hang-up and no text', async (t) => {
  const { webresponderKey, webresponderSignature } = await import('../src/guards/secrets.js');
  const signed = { ...TENANTS['example.com-sms']!, webresponder_signed: true, voice_message: 'Thanks for calling' };
  const harness = await startHarness({ tenants: { 'example.com-sms': signed } });
  t.teardown(() => harness.close());
  const sig = webresponderSignature(webresponderKey(harness.deps.config), 'example.com-sms');
  const ring = async (query: string, init?: RequestInit) => {
    const response = await fetch(`${harness.url}/webresponder?id=example.com-sms&${query}`, init);
    return { status: response.status, body: await response.text() };
  };
  for (const query of [
    'NmsAni=18135550001',
    'NmsAni=18135550002&sig=',
    `NmsAni=18135550003&sig=${sig.slice(0, -1)}A`,
    `NmsAni=18135550004&sig=${webresponderSignature(webresponderKey(harness.deps.config), 'example.com-sales')}`,
  ]) {
    const refused = await ring(query);
    t.is(refused.status, 403, query);
    t.regex(refused.body, XML_HANGUP, 'a hang-up, without the voice message');
  }
  // A signature in the body is not the URL's: still refused.
  const inBody = await ring('NmsAni=18135550005', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: `sig=${sig}`,
  });
  t.is(inBody.status, 403);
  const accepted = await ring(`NmsAni=18135550006&sig=${sig}`);
  t.is(accepted.status, 200);
  t.regex(accepted.body, /<Say>Thanks for calling<\/Say>/);
  await harness.deps.background.drain(2_000);
  t.deepEqual(
    harness.sandbox.messages.map((message) => message.destination),
    ['18135550006'],
  );
  t.is(harness.logs.filter((line) => line.msg === 'webresponder refused: unsigned or wrongly signed URL').length, 5);
  t.false(harness.logText().includes(sig), 'the signature is not logged');
});

test('an id provisioned before signing keeps working unsigned, and the log says how to sign it', async (t) => {
  const harness = await startHarness();
  t.teardown(() => harness.close());
  const response = await fetch(`${harness.url}/webresponder?id=example.com-sms&NmsAni=18135550001`);
  t.is(response.status, 200);
  await response.text();
  t.true(await eventually(() => harness.sandbox.messages.length === 1));
  t.true(harness.logs.some((line) => line.msg === 'webresponder URL is not signed: re-submit the SMS form to sign it'));
  // A wrong signature is refused even for such an id: no real dial rule carries one.
  const forged = await fetch(`${harness.url}/webresponder?id=example.com-sms&NmsAni=18135550002&sig=forged`);
  t.is(forged.status, 403);
});
