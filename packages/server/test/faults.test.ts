// NetSapiens failing in every way the sandbox can fail, on the three routes that call it. What is
// already covered elsewhere (click-to-call.test.ts: one 503, one drop, one slow call; webresponder.test.ts:
// an SMS 500; forms.test.ts: a dial-rule 403) is not repeated here.
import { readFile } from 'node:fs/promises';
import test from 'ava';
import { createNsClient } from '@beckon/ns-client';
import type { SandboxFault } from '@beckon/ns-client/sandbox';
import { SECRET, serveForTest, startHarness, type Harness } from './helpers.js';

const attempts = (harness: Harness, route: string) => harness.sandbox.requests.filter((request) => request.route === route).length;

async function timed<T>(run: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  const value = await run();
  return { value, ms: performance.now() - started };
}

const call = (harness: Harness, phone: string) => harness.post('/click-to-call', { id: 'example.com-sales', phone_number: phone });

test('/click-to-call: NS answering 4xx/5xx or dropping the connection is a 502 at once, after exactly one attempt and no call', async (t) => {
  const timeoutMs = 10_000;
  const harness = await startHarness({ nsTimeoutMs: timeoutMs });
  t.teardown(() => harness.close());
  const faults: Omit<SandboxFault, 'route'>[] = [
    { status: 500 },
    { status: 502 },
    { status: 503 },
    { status: 504 },
    { status: 400 },
    { status: 429 },
    { drop: true },
  ];
  for (const [index, fault] of faults.entries()) {
    const label = JSON.stringify(fault);
    harness.sandbox.inject({ route: 'queuedcall.create', ...fault });
    const before = attempts(harness, 'queuedcall.create');
    const phone = `813555${String(1000 + index)}`;
    const { value: response, ms } = await timed(() => call(harness, phone));
    t.is(response.status, 502, label);
    t.deepEqual(
      await response.json(),
      { status: 'error', message: 'Could not place your call right now. Please try again.', code: 'call_failed' },
      label,
    );
    t.true(ms < timeoutMs / 2, `${label}: answered in ${Math.round(ms)} ms, well within the ${timeoutMs} ms timeout`);
    t.log(`${label}: 502 in ${Math.round(ms)} ms`);
    t.is(attempts(harness, 'queuedcall.create') - before, 1, `${label}: NS asked exactly once`);
    const failed = harness.logs.filter((line) => line.msg === 'queued call failed').at(-1);
    t.like(failed, { id: 'example.com-sales', to: `+1813•••${String(1000 + index)}` }, `${label}: logged with the number masked`);
  }
  t.is(harness.sandbox.calls.length, 0, 'no call was placed');
  t.false(harness.logText().includes('813555100'), 'numbers are masked in logs');
  t.false(harness.logText().includes(harness.sandbox.token), 'the NS token is never logged');
  // Afterwards NetSapiens answers again, and so does the route: nothing was left stuck.
  t.is((await call(harness, '8135552000')).status, 200);
});

test('/click-to-call: concurrent requests while NS is slower than the timeout are each a 502 within it, each NS call made once', async (t) => {
  const timeoutMs = 500;
  const delayMs = 8_000;
  const harness = await startHarness({ nsTimeoutMs: timeoutMs });
  t.teardown(() => harness.close());
  harness.sandbox.inject({ route: 'queuedcall.create', delayMs, times: Infinity });
  // Ten: more delayed requests at once make the sandbox warn about listeners on its close signal.
  const phones = Array.from({ length: 10 }, (_, index) => `813555${String(3000 + index)}`);
  const results = await Promise.all(phones.map((phone) => timed(() => call(harness, phone))));
  for (const { value: response, ms } of results) {
    t.is(response.status, 502);
    // The route waited for NetSapiens (it did not give up early), and for the timeout, not for NetSapiens'
    // answer (the margin is for a loaded machine running the whole suite).
    t.true(ms >= timeoutMs - 20 && ms < timeoutMs + 4_000, `answered in ${Math.round(ms)} ms for a ${timeoutMs} ms timeout`);
  }
  const slowest = Math.max(...results.map((result) => result.ms));
  t.log(`${phones.length} concurrent 502s, slowest in ${Math.round(slowest)} ms (timeout ${timeoutMs} ms, NS delay ${delayMs} ms)`);
  t.is(attempts(harness, 'queuedcall.create'), phones.length, 'one attempt per request: no retry of a call that may have been placed');
  // NetSapiens carries the slow calls out late; each visitor is still called once, never twice.
  await new Promise((resolve) => setTimeout(resolve, delayMs + 200));
  t.is(attempts(harness, 'queuedcall.create'), phones.length);
  t.deepEqual(harness.sandbox.calls.map((placed) => placed.destination).sort(), phones.map((phone) => `+1${phone}`).sort());
});

test('/webresponder: an SMS that NS fails, drops or answers too late is logged with the number masked and never sent twice', async (t) => {
  const harness = await startHarness({ nsTimeoutMs: 300 });
  t.teardown(() => harness.close());
  const faults: Omit<SandboxFault, 'route'>[] = [{ status: 503 }, { status: 502 }, { drop: true }, { delayMs: 800 }];
  for (const [index, fault] of faults.entries()) {
    const label = JSON.stringify(fault);
    const caller = `813555${String(4000 + index)}`;
    harness.sandbox.inject({ route: 'messages.send', ...fault });
    const before = attempts(harness, 'messages.send');
    const failures = harness.logs.filter((line) => line.msg === 'text failed').length;
    const response = await fetch(`${harness.url}/webresponder?id=example.com-sms&NmsAni=${caller}`);
    t.is(response.status, 200, label);
    t.regex(await response.text(), /<Response><Hangup\/><\/Response>/, label);
    // With NetSapiens slow, the text times out only after the XML has gone back.
    if (fault.delayMs)
      t.is(
        harness.logs.filter((line) => line.msg === 'text failed').length,
        failures,
        `${label}: NetSapiens got its XML before the text had failed`,
      );
    await harness.deps.background.drain(3_000);
    const failed = harness.logs.filter((line) => line.msg === 'text failed').at(-1);
    t.like(failed, { id: 'example.com-sms', to: `+1813•••${String(4000 + index)}` }, `${label}: logged with the number masked`);
    t.truthy(failed?.err, `${label}: the log line says why`);
    // The caller calls again at once: the failed text is not retried (it may have gone out).
    t.is((await fetch(`${harness.url}/webresponder?id=example.com-sms&NmsAni=${caller}`)).status, 200);
    await harness.deps.background.drain(3_000);
    t.is(attempts(harness, 'messages.send') - before, 1, `${label}: one attempt`);
  }
  await new Promise((resolve) => setTimeout(resolve, 600));
  t.is(attempts(harness, 'messages.send'), faults.length, 'no late retry either');
  t.false(/813555400\d/.test(harness.logText()), 'numbers are masked in logs');
  t.is(harness.logs.filter((line) => line.msg === 'background task failed').length, 0, 'a failed text is handled, not thrown');
});

const SMS_FORM = { secret: SECRET, api_domain: 'acme.com', user: '2000', from_number: '19295550100', message: 'We are at 1 Main St.' };

async function postSms(harness: Harness, id: string, systemUser: string) {
  const response = await fetch(`${harness.url}/update-sms`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ ...SMS_FORM, id, ns_system_user: systemUser }).toString(),
  });
  return {
    status: response.status,
    body: (await response.json()) as { status: string; provisioning: Record<string, string>; provisioning_errors?: Record<string, string> },
  };
}

test('/update-sms: each provisioning step that fails is reported by name with its reason, the others still run, and the config is saved', async (t) => {
  const harness = await startHarness({ nsTimeoutMs: 300 });
  t.teardown(() => harness.close());
  const cases: { name: string; faults: SandboxFault[]; failed: string[]; tried: Record<string, number> }[] = [
    // POSTs are never retried: a failed create is one attempt.
    // Without its user, the user's answer rule cannot be set either; the dial rule still is.
    {
      name: 'user creation answered 500',
      faults: [{ route: 'users.create', status: 500 }],
      failed: ['user', 'answer_rule'],
      tried: { 'users.create': 1, 'dialrules.create': 1 },
    },
    {
      name: 'user creation dropped',
      faults: [{ route: 'users.create', drop: true }],
      failed: ['user', 'answer_rule'],
      tried: { 'users.create': 1, 'dialrules.create': 1 },
    },
    // A GET is retried (twice), so only a lasting failure fails the step.
    {
      name: 'dial plan unreadable',
      faults: [{ route: 'dialrules.list', status: 503, times: Infinity }],
      failed: ['dial_rule'],
      tried: { 'dialrules.list': 3, 'dialrules.create': 0 },
    },
    {
      name: 'answer rule update too slow',
      faults: [{ route: 'answerrules.update', delayMs: 1_000, times: Infinity }],
      failed: ['answer_rule'],
      tried: { 'answerrules.create': 0 },
    },
    {
      name: 'NetSapiens down',
      faults: [{ route: /./, status: 503, times: Infinity }],
      failed: ['user', 'dial_rule', 'answer_rule'],
      tried: { 'users.create': 1 },
    },
  ];
  for (const [index, { name, faults, failed, tried }] of cases.entries()) {
    harness.sandbox.clearFaults();
    for (const fault of faults) harness.sandbox.inject(fault);
    const before = Object.fromEntries(Object.keys(tried).map((route) => [route, attempts(harness, route)]));
    // A system user of its own per case, so that no case finds what another one provisioned.
    const id = `acme.com-sms${index}`;
    const { status, body } = await postSms(harness, id, `80${index}1`);
    t.is(status, 200, name);
    t.is(body.status, 'ok', name);
    for (const step of ['user', 'dial_rule', 'answer_rule']) {
      if (failed.includes(step)) {
        t.is(body.provisioning[step], 'failed', `${name}: ${step} reported failed`);
        t.true((body.provisioning_errors?.[step] ?? '').length > 0, `${name}: ${step} says why`);
      } else {
        t.not(body.provisioning[step], 'failed', `${name}: ${step} still ran`);
        t.false(step in (body.provisioning_errors ?? {}), `${name}: no error for ${step}`);
      }
    }
    for (const [route, count] of Object.entries(tried))
      t.is(attempts(harness, route) - before[route]!, count, `${name}: ${route} tried ${count} times`);
    const saved = JSON.parse(await readFile(harness.domainsFile, 'utf8')) as Record<string, Record<string, string>>;
    t.like(
      saved[id],
      { api_domain: 'acme.com', message: SMS_FORM.message, ns_system_user: `80${index}1` },
      `${name}: saved whatever NetSapiens answered`,
    );
    t.true(
      harness.logs.some((line) => line.msg === 'provisioning incomplete' && line.id === id),
      `${name}: the failure is logged`,
    );
    t.log(`${name}: ${JSON.stringify(body.provisioning)}`);
  }
  t.false(harness.logText().includes(harness.sandbox.token), 'the NS token is never logged');
});

test('a NS_API_BASE that answers 200 with an HTML page is a failure everywhere: click-to-call 502, no text, provisioning failed', async (t) => {
  // An ordinary web server where NetSapiens should be: every request gets its home page.
  const { url: site } = await serveForTest(t, (_request, response) =>
    response.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>Welcome</title>'),
  );
  const harness = await startHarness();
  t.teardown(() => harness.close());
  harness.deps.ns = createNsClient({ baseUrl: site, auth: { token: 'token' } });

  const clicked = await call(harness, '8135551234');
  t.is(clicked.status, 502);
  t.like(await clicked.json(), { code: 'call_failed' });
  t.like(
    harness.logs.find((line) => line.msg === 'queued call failed'),
    { err: { type: 'NsResponseError' } },
  );

  await (await fetch(`${harness.url}/webresponder?id=example.com-sms&NmsAni=8135551234`)).text();
  await harness.deps.background.drain(2_000);
  t.true(
    harness.logs.some((line) => line.msg === 'text failed'),
    'the text is a failure, not "text sent"',
  );
  t.false(harness.logs.some((line) => line.msg === 'text sent'));

  const form = await fetch(`${harness.url}/update-sms`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ secret: SECRET, id: 'example.com-sms', message: 'Hi' }),
  });
  const body = (await form.json()) as { provisioning: Record<string, string>; provisioning_errors: Record<string, string> };
  t.deepEqual(body.provisioning, { user: 'failed', dial_rule: 'failed', answer_rule: 'failed' });
  t.regex(body.provisioning_errors.user ?? '', /HTML page/);
});
