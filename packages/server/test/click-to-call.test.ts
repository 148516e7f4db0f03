import test from 'ava';
import { WEEKDAYS, type OpeningHours } from '../src/hours/schema.js';
import { startHarness, TENANTS, type Harness } from './helpers.js';

const call = (harness: Harness, body: unknown, headers?: Record<string, string>) => harness.post('/click-to-call', body, headers);

test("places a legacy queued call into the id's queue and answers ok", async (t) => {
  const harness = await startHarness();
  t.teardown(() => harness.close());
  const response = await call(harness, { id: 'example.com-sales', phone_number: '(813) 555-1234' });
  t.is(response.status, 200);
  t.deepEqual(await response.json(), { status: 'ok' });
  t.is(harness.sandbox.calls.length, 1);
  t.like(harness.sandbox.calls[0], { api: 'v1', queue: '9002@example.com', destination: '+18135551234', status: 'queued' });
});

test('accepts the older "domain" key for the id', async (t) => {
  const harness = await startHarness();
  t.teardown(() => harness.close());
  const response = await call(harness, { domain: 'example.com-sales', phone_number: '8135551234' });
  t.is(response.status, 200);
  t.is(harness.sandbox.calls.length, 1);
});

test('a bare extension in config is sent as EXT@api_domain, never bare', async (t) => {
  const harness = await startHarness({ tenants: { 'shop.net-main': { api_domain: 'shop.net', queue: '500' } } });
  t.teardown(() => harness.close());
  t.is((await call(harness, { id: 'shop.net-main', phone_number: '8135551234' })).status, 200);
  t.like(harness.sandbox.calls[0], { queue: '500@shop.net', status: 'queued' });
});

test('unknown id, malformed id and an id without a queue are 404', async (t) => {
  const harness = await startHarness();
  t.teardown(() => harness.close());
  for (const id of ['nobody.net-sales', '../etc', '', 'example.com-sms']) {
    const response = await call(harness, { id, phone_number: '8135551234' });
    t.is(response.status, 404, id);
    t.like(await response.json(), { status: 'error' });
  }
  t.is(harness.sandbox.calls.length, 0);
});

test('an invalid or missing number is 400 with a message', async (t) => {
  const harness = await startHarness();
  t.teardown(() => harness.close());
  for (const phone_number of ['abc', '555-1234', '', '+1 813 555 12345678']) {
    const response = await call(harness, { id: 'example.com-sales', phone_number });
    t.is(response.status, 400, phone_number);
    const body = (await response.json()) as { status: string; message: string };
    t.is(body.status, 'error');
    t.regex(body.message, /valid phone number/);
  }
  t.is((await call(harness, { id: 'example.com-sales' })).status, 400);
  t.is(harness.sandbox.calls.length, 0);
});

test('premium NANP numbers and countries the id does not allow are refused', async (t) => {
  const harness = await startHarness({
    tenants: { ...TENANTS, 'example.com-uk': { api_domain: 'example.com', queue: '9002@example.com', allowed_countries: ['GB'] } },
  });
  t.teardown(() => harness.close());
  t.is((await call(harness, { id: 'example.com-sales', phone_number: '900-555-1234' })).status, 400);
  t.is((await call(harness, { id: 'example.com-sales', phone_number: '+44 20 7946 0958' })).status, 400);
  t.is((await call(harness, { id: 'example.com-sales', phone_number: '+1 876 555 1234' })).status, 400, 'Jamaica is NANP but not domestic');
  t.is((await call(harness, { id: 'example.com-uk', phone_number: '+44 20 7946 0958' })).status, 200);
  t.is((await call(harness, { id: 'example.com-uk', phone_number: '8135551234' })).status, 400);
  t.deepEqual(
    harness.sandbox.calls.map((c) => c.destination),
    ['+442079460958'],
  );
});

test('per-IP limit: the 4th request in a minute is 429 with Retry-After', async (t) => {
  const harness = await startHarness({ limits: { ipPerMinute: 3 } });
  t.teardown(() => harness.close());
  for (const number of ['8135551201', '8135551202', '8135551203']) {
    t.is((await call(harness, { id: 'example.com-sales', phone_number: number })).status, 200);
  }
  const limited = await call(harness, { id: 'example.com-sales', phone_number: '8135551204' });
  t.is(limited.status, 429);
  const seconds = Number(limited.headers.get('retry-after'));
  t.true(seconds >= 1 && seconds <= 60, `Retry-After ${seconds}`);
  t.like(await limited.json(), { status: 'error' });
  t.is(harness.sandbox.calls.length, 3);
});

test('a spoofed X-Forwarded-For does not reset the per-IP limit unless TRUST_PROXY is set', async (t) => {
  const harness = await startHarness({ limits: { ipPerMinute: 1 } });
  t.teardown(() => harness.close());
  t.is((await call(harness, { id: 'example.com-sales', phone_number: '8135551201' }, { 'x-forwarded-for': '10.0.0.1' })).status, 200);
  t.is((await call(harness, { id: 'example.com-sales', phone_number: '8135551202' }, { 'x-forwarded-for': '10.0.0.2' })).status, 429);

  const proxied = await startHarness({ limits: { ipPerMinute: 1 }, trustProxy: 1 });
  t.teardown(() => proxied.close());
  t.is((await call(proxied, { id: 'example.com-sales', phone_number: '8135551201' }, { 'x-forwarded-for': '10.0.0.1' })).status, 200);
  t.is((await call(proxied, { id: 'example.com-sales', phone_number: '8135551202' }, { 'x-forwarded-for': '10.0.0.2' })).status, 200);
  t.is((await call(proxied, { id: 'example.com-sales', phone_number: '8135551203' }, { 'x-forwarded-for': '10.0.0.1' })).status, 429);
});

test('per-id limit caps what one widget can cost', async (t) => {
  const harness = await startHarness({ limits: { idPerHour: 2 }, trustProxy: 1 });
  t.teardown(() => harness.close());
  const from = (ip: string) => ({ 'x-forwarded-for': ip });
  t.is((await call(harness, { id: 'example.com-sales', phone_number: '8135550001' }, from('10.0.0.1'))).status, 200);
  t.is((await call(harness, { id: 'example.com-sales', phone_number: '8135550002' }, from('10.0.0.2'))).status, 200);
  const limited = await call(harness, { id: 'example.com-sales', phone_number: '8135550003' }, from('10.0.0.3'));
  t.is(limited.status, 429);
  t.truthy(limited.headers.get('retry-after'));
  t.is(harness.sandbox.calls.length, 2);
  t.deepEqual(
    harness.logs.filter((line) => line.msg === 'rate limit reached').map((line) => line.limit),
    ['id'],
  );
});

test('per-number limit stops call bombing across ids and addresses, and logs the number masked', async (t) => {
  const ids = ['a.com-sales', 'b.com-sales', 'c.com-sales'];
  const harness = await startHarness({
    limits: { numberPerHour: 2 },
    trustProxy: 1,
    tenants: Object.fromEntries(ids.map((id) => [id, { api_domain: id.split('-')[0]!, queue: `100@${id.split('-')[0]!}` }])),
  });
  t.teardown(() => harness.close());
  const spellings = ['8135559999', '+1 813 555 9999', '813.555.9999'];
  const statuses = [];
  for (const [index, id] of ids.entries()) {
    statuses.push((await call(harness, { id, phone_number: spellings[index] }, { 'x-forwarded-for': `10.0.1.${index}` })).status);
  }
  t.deepEqual(statuses, [200, 200, 429]);
  t.is(harness.sandbox.calls.length, 2);
  const tripped = harness.logs.find((line) => line.msg === 'rate limit reached');
  t.like(tripped, { limit: 'number', id: 'c.com-sales', to: '+1813•••9999' });
  t.false(harness.logText().includes('8135559999'), 'numbers are masked in logs');
});

test('NetSapiens failures are 502 and the call is not retried', async (t) => {
  const harness = await startHarness();
  t.teardown(() => harness.close());
  harness.sandbox.inject({ route: 'queuedcall.create', status: 503 });
  const failed = await call(harness, { id: 'example.com-sales', phone_number: '8135551234' });
  t.is(failed.status, 502);
  t.like(await failed.json(), { status: 'error', message: 'Could not place your call right now. Please try again.' });
  t.is(harness.sandbox.requests.filter((r) => r.route === 'queuedcall.create').length, 1);

  harness.sandbox.inject({ route: 'queuedcall.create', drop: true });
  t.is((await call(harness, { id: 'example.com-sales', phone_number: '8135551234' })).status, 502);
  t.is(harness.sandbox.requests.filter((r) => r.route === 'queuedcall.create').length, 2);
});

test('a NetSapiens slower than the timeout is a 502 within the timeout, and NS is asked once', async (t) => {
  const harness = await startHarness({ nsTimeoutMs: 300 });
  t.teardown(() => harness.close());
  // NS would answer after 10 s; a 300 ms timeout answers long before, even on a busy machine.
  harness.sandbox.inject({ route: 'queuedcall.create', delayMs: 10_000 });
  const started = Date.now();
  const response = await call(harness, { id: 'example.com-sales', phone_number: '8135551234' });
  t.is(response.status, 502);
  t.true(Date.now() - started < 5_000, `answered in ${Date.now() - started} ms`);
  t.is(harness.sandbox.requests.filter((r) => r.route === 'queuedcall.create').length, 1);
});

test('CORS: the preflight is answered for any origin and the POST echoes the origin', async (t) => {
  const harness = await startHarness();
  t.teardown(() => harness.close());
  const preflight = await fetch(`${harness.url}/click-to-call`, {
    method: 'OPTIONS',
    headers: { origin: 'https://shop.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
  });
  t.is(preflight.status, 204);
  t.is(preflight.headers.get('access-control-allow-origin'), 'https://shop.example');
  t.regex(preflight.headers.get('access-control-allow-methods') ?? '', /POST/);
  t.regex(preflight.headers.get('access-control-allow-headers') ?? '', /Content-Type/i);
  const response = await call(harness, { id: 'example.com-sales', phone_number: '8135551234' }, { origin: 'https://shop.example' });
  t.is(response.headers.get('access-control-allow-origin'), 'https://shop.example');
});

test('allowed_origins: other origins (and none) get 403 and no call', async (t) => {
  const harness = await startHarness({
    tenants: {
      'example.com-sales': { api_domain: 'example.com', queue: '9002@example.com', allowed_origins: ['https://www.example.com'] },
    },
  });
  t.teardown(() => harness.close());
  const body = { id: 'example.com-sales', phone_number: '8135551234' };
  const foreign = await call(harness, body, { origin: 'https://evil.example' });
  t.is(foreign.status, 403);
  t.is(foreign.headers.get('access-control-allow-origin'), 'https://evil.example', 'the widget can read why');
  t.is((await call(harness, body)).status, 403);
  t.is(harness.sandbox.calls.length, 0);
  t.is((await call(harness, body, { origin: 'https://www.example.com' })).status, 200);
});

test('malformed bodies get a 4xx with a message', async (t) => {
  const harness = await startHarness();
  t.teardown(() => harness.close());
  const cases: [string, Record<string, string>, number][] = [
    ['{"id": ', { 'content-type': 'application/json' }, 400],
    ['[1,2]', { 'content-type': 'application/json' }, 400],
    ['{"id": {"$ne": 1}, "phone_number": "8135551234"}', { 'content-type': 'application/json' }, 400],
    ['id=example.com-sales&phone_number=8135551234', { 'content-type': 'application/x-www-form-urlencoded' }, 415],
    [JSON.stringify({ id: 'example.com-sales', phone_number: 'x'.repeat(5_000) }), { 'content-type': 'application/json' }, 413],
  ];
  for (const [body, headers, status] of cases) {
    const response = await fetch(`${harness.url}/click-to-call`, { method: 'POST', headers, body });
    t.is(response.status, status, body.slice(0, 40));
    const json = (await response.json()) as { status: string; message: string };
    t.is(json.status, 'error');
    t.true(json.message.length > 0);
  }
  t.is(harness.sandbox.calls.length, 0);
});

test('wrong method on a route is 405 with Allow', async (t) => {
  const harness = await startHarness();
  t.teardown(() => harness.close());
  const response = await fetch(`${harness.url}/click-to-call`);
  t.is(response.status, 405);
  t.regex(response.headers.get('allow') ?? '', /POST/);
});

/** 00:00–24:00 on every weekday. */
const everyDay = (): OpeningHours['weekly'] => Object.fromEntries(WEEKDAYS.map((day) => [day, [['00:00', '24:00']]]));

/** Closed on the three UTC dates from today on, open all day every other day: closed whenever this runs, opening at a known instant. */
function closedForThreeDays(): { hours: OpeningHours; opens: string } {
  const today = Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), new Date().getUTCDate());
  const date = (days: number) => new Date(today + days * 86_400_000).toISOString().slice(0, 10);
  return {
    hours: {
      timezone: 'UTC',
      weekly: everyDay(),
      closed: [date(0), date(1), date(2)],
    },
    opens: `${date(3)}T00:00:00Z`,
  };
}

test('outside opening hours: 409 closed with next_open, no call, and none of the limits spent', async (t) => {
  const { hours, opens } = closedForThreeDays();
  const harness = await startHarness({
    tenants: {
      'example.com-closed': { api_domain: 'example.com', queue: '9002@example.com', hours },
      'example.com-sales': TENANTS['example.com-sales']!,
    },
    limits: { ipPerMinute: 1, numberPerHour: 1, idPerHour: 1, numbersPerVisitorPerHour: 1 },
  });
  t.teardown(() => harness.close());
  for (let attempt = 0; attempt < 3; attempt++) {
    const response = await call(harness, { id: 'example.com-closed', phone_number: '8135551234' }, { origin: 'https://shop.example' });
    t.is(response.status, 409);
    t.is(response.headers.get('access-control-allow-origin'), 'https://shop.example', 'the widget can read why');
    const body = (await response.json()) as Record<string, unknown>;
    t.like(body, { status: 'error', code: 'closed', next_open: opens });
    t.regex(
      String(body.message),
      new RegExp(`^We are closed right now\\. We open again at ${opens.slice(0, 10)} 00:00 \\(UTC time\\)\\.$`),
    );
  }
  t.is(harness.sandbox.calls.length, 0);
  // A malformed number is still told so first.
  t.like(await (await call(harness, { id: 'example.com-closed', phone_number: '555-1234' })).json(), { code: 'invalid_number' });
  // Every limit is 1 and the same address and number were used: the closed line spent none of them.
  t.is((await call(harness, { id: 'example.com-sales', phone_number: '8135551234' })).status, 200);
  t.true(harness.logs.some((line) => line.reason === `We are closed right now. We open again at ${opens.slice(0, 10)} 00:00 (UTC time).`));
});

test('a closed line answers 409 before Turnstile and whatever the provider; an open one places the call; no hours is always open', async (t) => {
  const never: OpeningHours = { timezone: 'America/New_York', weekly: {} };
  const always: OpeningHours = { timezone: 'Asia/Tokyo', weekly: everyDay() };
  const harness = await startHarness({
    twilio: true,
    tenants: {
      'example.com-never': { api_domain: 'example.com', queue: '9002@example.com', hours: never, require_turnstile: true },
      'shop-twilio': { provider: 'twilio', twilio: { numbers: ['+19295550100'], forward_to: '+18135550199' }, hours: never },
      'shop-twilio-open': { provider: 'twilio', twilio: { numbers: ['+19295550101'], forward_to: '+18135550199' }, hours: always },
      'example.com-sales': TENANTS['example.com-sales']!,
    },
  });
  t.teardown(() => harness.close());
  const closedNoToken = await call(harness, { id: 'example.com-never', phone_number: '8135551234' });
  t.is(closedNoToken.status, 409, 'no Turnstile token asked for, no siteverify request made');
  t.deepEqual(await closedNoToken.json(), {
    status: 'error',
    code: 'closed',
    message: 'We are closed right now, and not open in the next 14 days.',
    next_open: null,
  });
  t.is((await call(harness, { id: 'shop-twilio', phone_number: '8135551234' })).status, 409);
  t.is(harness.twilio!.calls.length, 0);
  t.is((await call(harness, { id: 'shop-twilio-open', phone_number: '8135551234' })).status, 200);
  t.like(harness.twilio!.calls, [{ to: '+18135550199', from: '+19295550101' }]);
  t.is((await call(harness, { id: 'example.com-sales', phone_number: '8135551234' })).status, 200);
  t.is(harness.sandbox.calls.length, 1);
});
