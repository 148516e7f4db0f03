import type { IncomingMessage } from 'node:http';
import test, { type ExecutionContext } from 'ava';
import { createLogger, createTurnstileCheck, loadConfig, TURNSTILE_VERIFY_URL } from '../src/index.js';
import { serveForTest, TENANTS, startHarness, type Harness } from './helpers.js';

const call = (harness: Harness, body: Record<string, unknown>, ip: string) =>
  harness.post('/click-to-call', body, { 'x-forwarded-for': ip });

test('a visitor who submits a 4th distinct number within the hour is refused for 24 hours, whatever the number', async (t) => {
  // Every other limit is out of reach here: this one trips on its own.
  const harness = await startHarness({ limits: { numbersPerVisitorPerHour: 3 }, trustProxy: 1 });
  t.teardown(() => harness.close());
  const id = 'example.com-sales';
  for (const number of ['8135550001', '8135550002', '8135550003']) {
    t.is((await call(harness, { id, phone_number: number }, '10.0.0.1')).status, 200, number);
  }
  // The same number again, in another spelling, is not a new number.
  t.is((await call(harness, { id, phone_number: '+1 (813) 555-0002' }, '10.0.0.1')).status, 200);

  const refused = await call(harness, { id, phone_number: '8135550004' }, '10.0.0.1');
  t.is(refused.status, 429);
  const retryAfter = Number(refused.headers.get('retry-after'));
  t.true(retryAfter > 86_000 && retryAfter <= 86_400, `Retry-After ${retryAfter}`);
  t.deepEqual(await refused.json(), {
    status: 'error',
    message: 'Too many different numbers. Please try again tomorrow.',
    code: 'rate_limited',
  });

  // Blocked now even for a number it was allowed before, while another visitor is not affected.
  const again = await call(harness, { id, phone_number: '8135550001' }, '10.0.0.1');
  t.is(again.status, 429);
  t.true(Number(again.headers.get('retry-after')) > 86_000);
  t.is((await call(harness, { id, phone_number: '8135550009' }, '10.0.0.2')).status, 200);

  t.deepEqual(
    harness.sandbox.calls.map((placed) => placed.destination),
    ['+18135550001', '+18135550002', '+18135550003', '+18135550002', '+18135550009'],
  );
  t.like(
    harness.logs.find((line) => line.msg === 'rate limit reached'),
    { limit: 'visitor-numbers', to: '+1813•••0004' },
  );
  t.false(harness.logText().includes('8135550004'), 'numbers are masked in logs');
});

test('the distinct-number limit and block time come from the environment', (t) => {
  const base = { NS_API_BASE: 'https://ucportal.example.net', NS_TOKEN: 'x', UPDATE_SECRET: 'a-long-enough-secret' };
  t.like(loadConfig(base).limits, { numbersPerVisitorPerHour: 3, visitorBlockSeconds: 86_400 });
  t.like(loadConfig({ ...base, LIMIT_NUMBERS_PER_VISITOR_PER_HOUR: '5', LIMIT_VISITOR_BLOCK_HOURS: '2' }).limits, {
    numbersPerVisitorPerHour: 5,
    visitorBlockSeconds: 7_200,
  });
  t.is(loadConfig(base).turnstile, undefined);
  t.deepEqual(loadConfig({ ...base, TURNSTILE_SECRET_KEY: 'ts-secret' }).turnstile, {
    secretKey: 'ts-secret',
    verifyUrl: TURNSTILE_VERIFY_URL,
  });
});

/**
 * A local stand-in for Cloudflare's siteverify: form-encoded `secret`, `response`, `remoteip`; answers
 * `{success, error-codes}` as Cloudflare documents. Tokens it issued are good once.
 */
async function startSiteverify(t: ExecutionContext, secret: string) {
  const issued = new Set(['token-1', 'token-2']);
  const received: Record<string, string>[] = [];
  let failWith: number | undefined;
  const server = await serveForTest(t, async (request: IncomingMessage, response) => {
    let body = '';
    for await (const chunk of request) body += chunk;
    const form = Object.fromEntries(new URLSearchParams(body));
    received.push(form);
    if (failWith) {
      response.writeHead(failWith).end();
      return;
    }
    const answer = (success: boolean, codes: string[] = []) =>
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ success, 'error-codes': codes }));
    if (request.headers['content-type'] !== 'application/x-www-form-urlencoded;charset=UTF-8') return answer(false, ['bad-request']);
    if (form.secret !== secret) return answer(false, ['invalid-input-secret']);
    if (!form.response || !issued.delete(form.response)) return answer(false, ['invalid-input-response']);
    return answer(true);
  });
  return {
    url: `${server.url}/turnstile/v0/siteverify`,
    received,
    failNext(status: number | undefined) {
      failWith = status;
    },
    close: server.close,
  };
}

const GUARDED = { ...TENANTS, 'example.com-guarded': { api_domain: 'example.com', queue: '9002@example.com', require_turnstile: true } };

test('an id that requires Turnstile: no call without a token that siteverify accepts, once', async (t) => {
  const siteverify = await startSiteverify(t, 'ts-secret-0123');
  const logger = createLogger('silent');
  const harness = await startHarness({
    tenants: GUARDED,
    trustProxy: 1,
    botCheck: createTurnstileCheck({ secretKey: 'ts-secret-0123', verifyUrl: siteverify.url, logger }),
  });
  t.teardown(() => harness.close());
  const id = 'example.com-guarded';
  const ip = '203.0.113.7';

  const missing = await call(harness, { id, phone_number: '8135551234' }, ip);
  t.is(missing.status, 403);
  t.deepEqual(await missing.json(), {
    status: 'error',
    message: 'Please complete the verification and try again.',
    code: 'verification_required',
  });
  t.is(siteverify.received.length, 0, 'no token, nothing to verify');

  const wrong = await call(harness, { id, phone_number: '8135551234', turnstile_token: 'forged' }, ip);
  t.is(wrong.status, 403);
  t.like(await wrong.json(), { message: 'The verification failed. Please try again.' });

  t.is((await call(harness, { id, phone_number: '8135551234', turnstile_token: 'token-1' }, ip)).status, 200);
  t.like(siteverify.received.at(-1), { secret: 'ts-secret-0123', response: 'token-1', remoteip: ip });
  // Turnstile's own form field name works too; a token is good once.
  t.is((await call(harness, { id, phone_number: '8135551235', 'cf-turnstile-response': 'token-2' }, ip)).status, 200);
  t.is((await call(harness, { id, phone_number: '8135551236', turnstile_token: 'token-1' }, ip)).status, 403);

  t.is((await call(harness, { id, phone_number: '8135551237', turnstile_token: 'x'.repeat(2049) }, ip)).status, 400);
  // Ids that do not require it never reach siteverify.
  const verified = siteverify.received.length;
  t.is((await call(harness, { id: 'example.com-sales', phone_number: '8135551238' }, ip)).status, 200);
  t.is(siteverify.received.length, verified);

  t.deepEqual(
    harness.sandbox.calls.map((placed) => placed.destination),
    ['+18135551234', '+18135551235', '+18135551238'],
  );
  t.false(harness.logText().includes('ts-secret-0123'), 'the secret never reaches a log');
});

test('Turnstile unavailable or misconfigured is a 502 and no call; an id requiring it without a key is a 503', async (t) => {
  const siteverify = await startSiteverify(t, 'ts-secret-0123');
  const lines: string[] = [];
  const { Writable } = await import('node:stream');
  const logger = createLogger('info', new Writable({ write: (chunk, _encoding, done) => (lines.push(String(chunk)), done()) }));
  const misconfigured = await startHarness({
    tenants: GUARDED,
    botCheck: createTurnstileCheck({ secretKey: 'not-the-secret', verifyUrl: siteverify.url, logger }),
  });
  t.teardown(() => misconfigured.close());
  const body = { id: 'example.com-guarded', phone_number: '8135551234', turnstile_token: 'token-1' };
  const refused = await misconfigured.post('/click-to-call', body);
  t.is(refused.status, 502);
  t.like(await refused.json(), { message: 'Could not verify your request right now. Please try again.' });
  t.true(lines.some((line) => line.includes('check TURNSTILE_SECRET_KEY')));
  t.false(lines.join('').includes('not-the-secret'));

  siteverify.failNext(500);
  t.is((await misconfigured.post('/click-to-call', body)).status, 502);
  await siteverify.close();
  t.is((await misconfigured.post('/click-to-call', body)).status, 502, 'siteverify unreachable');
  t.is(misconfigured.sandbox.calls.length, 0);

  const unconfigured = await startHarness({ tenants: GUARDED });
  t.teardown(() => unconfigured.close());
  const unavailable = await unconfigured.post('/click-to-call', body);
  t.is(unavailable.status, 503);
  t.true(unconfigured.logs.some((line) => line.msg.includes('TURNSTILE_SECRET_KEY is not set')));
  t.is(unconfigured.sandbox.calls.length, 0);
});

test('SMS pumping: /webresponder texts only numbers the id may call, and at most LIMIT_TEXTS_PER_ID_PER_HOUR', async (t) => {
  const harness = await startHarness({ limits: { textsPerIdPerHour: 2 } });
  t.teardown(() => harness.close());
  const ring = async (ani: string) => {
    const response = await fetch(`${harness.url}/webresponder?id=example.com-sms&NmsAni=${encodeURIComponent(ani)}`);
    t.is(response.status, 200, 'NetSapiens always gets its XML');
    await response.text();
  };
  // A premium number and a costly international one, as a pump would send them: no text.
  await ring('19005550123');
  await ring('+8823456789012');
  await ring('442079460958');
  // Callers the id texts; the third distinct caller in the hour is over the cap.
  await ring('18135550001');
  await ring('18135550002');
  await ring('18135550003');
  await harness.deps.background.drain(2_000);
  t.deepEqual(
    harness.sandbox.messages.map((message) => message.destination),
    ['18135550001', '18135550002'],
  );
  t.is(harness.logs.filter((line) => line.msg === 'no text sent: the caller number is not one this id may text').length, 3);
  t.like(
    harness.logs.find((line) => line.msg.startsWith('no text sent: this id reached')),
    { id: 'example.com-sms', to: '+1813•••0003' },
  );
});

test('IPv6 clients are limited per /64, and an IPv4-mapped address is its IPv4 address', async (t) => {
  const { clientKey } = await import('../src/guards/limits.js');
  t.is(clientKey('2001:db8:1:2:aaaa::1'), '2001:db8:1:2::/64');
  t.is(clientKey('2001:0db8:0001:0002:ffff:ffff:ffff:fffe'), '2001:db8:1:2::/64');
  t.is(clientKey('2001:db8::1'), '2001:db8:0:0::/64');
  t.is(clientKey('::1'), '0:0:0:0::/64');
  t.is(clientKey('fe80::1%eth0'), 'fe80:0:0:0::/64');
  t.is(clientKey('::ffff:203.0.113.7'), '203.0.113.7');
  t.is(clientKey('203.0.113.7'), '203.0.113.7');

  const harness = await startHarness({ limits: { ipPerMinute: 2 }, trustProxy: 1 });
  t.teardown(() => harness.close());
  const id = 'example.com-sales';
  const statuses = [];
  for (const [index, ip] of ['2001:db8:1:2::10', '2001:db8:1:2::20', '2001:db8:1:2:ffff::30', '2001:db8:1:3::10'].entries()) {
    statuses.push((await call(harness, { id, phone_number: `813555010${index}` }, ip)).status);
  }
  t.deepEqual(statuses, [200, 200, 429, 200], 'rotating inside one /64 does not escape the limit; another /64 is another client');
});

test('an id that requires Turnstile: the per-address limit applies before siteverify is asked', async (t) => {
  const siteverify = await startSiteverify(t, 'ts-secret-0123');
  const harness = await startHarness({
    tenants: GUARDED,
    limits: { ipPerMinute: 2 },
    botCheck: createTurnstileCheck({ secretKey: 'ts-secret-0123', verifyUrl: siteverify.url, logger: createLogger('silent') }),
  });
  t.teardown(() => harness.close());
  const statuses = [];
  for (let index = 0; index < 5; index += 1) {
    statuses.push(
      (await harness.post('/click-to-call', { id: 'example.com-guarded', phone_number: '8135551234', turnstile_token: `junk-${index}` }))
        .status,
    );
  }
  t.deepEqual(statuses, [403, 403, 429, 429, 429]);
  t.is(siteverify.received.length, 2, 'only the requests within the limit reached Cloudflare');
});

test("a visitor refused by the per-number limit does not spend the id's hourly budget", async (t) => {
  const harness = await startHarness({ limits: { numberPerHour: 1, idPerHour: 3 }, trustProxy: 1 });
  t.teardown(() => harness.close());
  const id = 'example.com-sales';
  // One address hammers one number: placed once, then refused by the per-number limit, again and again.
  const hammered = [];
  for (let index = 0; index < 6; index += 1) hammered.push((await call(harness, { id, phone_number: '8135550001' }, '10.0.0.1')).status);
  t.deepEqual(hammered, [200, 429, 429, 429, 429, 429]);
  // The id's other visitors still get through: its budget held the one placed call only.
  t.is((await call(harness, { id, phone_number: '8135550002' }, '10.0.0.2')).status, 200);
  t.is((await call(harness, { id, phone_number: '8135550003' }, '10.0.0.3')).status, 200);
  t.is((await call(harness, { id, phone_number: '8135550004' }, '10.0.0.4')).status, 429, 'the budget of 3 is spent by 3 placed calls');
  t.is(harness.sandbox.calls.length, 3);
  // Refused by the id's budget, a number keeps its own point: it can be called once the budget allows.
  t.is((await harness.deps.limits.number.get('+18135550004'))?.consumedPoints ?? 0, 0);
});

test("once an id's texts per hour are used up, a flood of distinct callers creates no per-caller state", async (t) => {
  const harness = await startHarness({ limits: { textsPerIdPerHour: 2 } });
  t.teardown(() => harness.close());
  const ring = (ani: string) => fetch(`${harness.url}/webresponder?id=example.com-sms&NmsAni=${ani}`).then((response) => response.text());
  await ring('18135550001');
  await ring('18135550002');
  await harness.deps.background.drain(2_000);
  for (let index = 1000; index < 1040; index += 1) await ring(`1813555${index}`);
  await harness.deps.background.drain(2_000);
  t.is(harness.sandbox.messages.length, 2);
  t.is(harness.logs.filter((line) => line.msg.startsWith('no text sent: this id reached')).length, 40, 'every flood call met the cap');
  const remembered = [];
  for (let index = 1000; index < 1040; index += 1) {
    if (await harness.deps.limits.textBack.get(`example.com-sms:1813555${index}`)) remembered.push(index);
  }
  t.deepEqual(remembered, [], 'no caller over the cap is remembered');
});

test('/webresponder is limited per client address (LIMIT_WEBRESPONDER_PER_MINUTE): over it NetSapiens gets a hang-up and nobody is texted', async (t) => {
  const harness = await startHarness({ limits: { webresponderPerMinute: 3 }, trustProxy: 1 });
  t.teardown(() => harness.close());
  const ring = async (ani: string, ip: string) => {
    const response = await fetch(`${harness.url}/webresponder?id=example.com-sms&NmsAni=${ani}`, { headers: { 'x-forwarded-for': ip } });
    return { status: response.status, type: response.headers.get('content-type'), body: await response.text() };
  };
  const statuses = [];
  for (let index = 0; index < 5; index += 1) statuses.push((await ring(`1813555000${index}`, '10.0.0.1')).status);
  t.deepEqual(statuses, [200, 200, 200, 429, 429]);
  const refused = await ring('18135550009', '10.0.0.1');
  t.regex(refused.type ?? '', /^text\/xml/);
  t.regex(refused.body, /<Response><Hangup\/><\/Response>/);
  t.is((await ring('18135550008', '10.0.0.2')).status, 200, 'another address has its own limit');
  await harness.deps.background.drain(2_000);
  t.deepEqual(harness.sandbox.messages.map((message) => message.destination).sort(), [
    '18135550000',
    '18135550001',
    '18135550002',
    '18135550008',
  ]);
});

test('a trusted X-Forwarded-For entry with a port is keyed by its address, not address and port', async (t) => {
  const { clientKey } = await import('../src/guards/limits.js');
  t.is(clientKey('203.0.113.7:51234'), '203.0.113.7');
  t.is(clientKey('[2001:db8:1:2::7]:443'), '2001:db8:1:2::/64');
  t.is(clientKey('[2001:db8:1:2::7]'), '2001:db8:1:2::/64');
  t.is(clientKey('[::ffff:203.0.113.7]:80'), '203.0.113.7');

  const harness = await startHarness({ limits: { ipPerMinute: 2 }, trustProxy: 1 });
  t.teardown(() => harness.close());
  const id = 'example.com-sales';
  const statuses = [];
  for (const [index, ip] of [
    '203.0.113.7:1001',
    '203.0.113.7:1002',
    '203.0.113.7:1003',
    '[2001:db8::1]:1001',
    '[2001:db8::2]:1002',
    '[2001:db8::3]:1003',
  ].entries()) {
    statuses.push((await call(harness, { id, phone_number: `813555010${index}` }, ip)).status);
  }
  t.deepEqual(statuses, [200, 200, 429, 200, 200, 429]);
  t.true(
    harness.logs.some((line) => line.msg === 'request' && line.ip === '203.0.113.7'),
    'the request log shows the address without its port',
  );
});

test("a siteverify answer that is not Cloudflare's (null, an HTML page, an endless body) is a 502, never a 500 or a pass", async (t) => {
  const answers: Record<string, (response: import('node:http').ServerResponse) => void> = {
    null: (response) => response.end('null'),
    html: (response) => response.setHeader('content-type', 'text/html').end('<html><body>Welcome</body></html>'),
    endless: (response) => {
      // Far more than any siteverify answer, without a length: the reader must stop on its own.
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      const pump = () => {
        while (response.write(chunk)) if (response.writableLength > 8 * 1024 * 1024) return;
        response.once('drain', pump);
      };
      pump();
    },
  };
  let kind = 'null';
  const verifyUrl = `${(await serveForTest(t, (_request, response) => answers[kind]!(response))).url}/siteverify`;
  const harness = await startHarness({
    tenants: GUARDED,
    botCheck: createTurnstileCheck({ secretKey: 'ts-secret-0123', verifyUrl, logger: createLogger('silent') }),
  });
  t.teardown(() => harness.close());
  for (kind of Object.keys(answers)) {
    const response = await harness.post('/click-to-call', {
      id: 'example.com-guarded',
      phone_number: '8135551234',
      turnstile_token: `token-${kind}`,
    });
    t.is(response.status, 502, kind);
    t.like(await response.json(), { code: 'verification_unavailable' }, kind);
  }
  t.is(harness.sandbox.calls.length, 0);
});
