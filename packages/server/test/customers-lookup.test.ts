import type { IncomingMessage, ServerResponse } from 'node:http';
import test, { type ExecutionContext } from 'ava';
import { createCustomerLookup } from '../src/customers/lookup.js';
import { BackgroundTasks, createLogger, type Engine } from '../src/index.js';
import { CUSTOMER_TENANTS, startCustomersServer, type CustomersServer } from './fixtures/customers.js';
import { databaseFixture, ENGINES } from './fixtures/databases.js';
import { callRecord } from './fixtures/netsapiens.js';
import { eventually, serveForTest } from './helpers.js';

const fixture = databaseFixture(test);
// One at a time: a lookup has 1 s, and PGlite's queries run on this process's event loop, so other tests'
// databases working at the same moment could hold the stand-in's answer past it.

const ID = 'example.com-lookup';

/** A CRM stand-in: what it was asked (the `phone` of each request), and an answer made by `respond`. */
async function startCrm(t: ExecutionContext, respond: (phone: string, response: ServerResponse, request: IncomingMessage) => void) {
  const asked: string[] = [];
  const crm = await serveForTest(t, (request, response) => {
    const phone = new URL(request.url ?? '/', 'http://crm.test').searchParams.get('phone') ?? '';
    asked.push(phone);
    respond(phone, response, request);
  });
  return { url: `${crm.url}/lookup?token=crm-secret-token`, asked };
}

const json = (response: ServerResponse, status: number, body: unknown) => {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(JSON.stringify(body));
};

const GRACE = { external_id: 'crm-9', name: 'Grace Hopper', email: 'grace@example.com', url: 'https://crm.example.com/9' };

/**
 * A server whose id `ID` has the lookup URL. Its lookups get `lookupTimeoutMs` — 10 s unless a test is
 * about the server's own 1 s (null): on a loaded machine a stand-in's answer can take past 1 s to be read.
 */
async function withLookup(
  t: ExecutionContext,
  engine: Engine,
  url: string,
  lookupTimeoutMs: number | null = 10_000,
): Promise<CustomersServer> {
  return startCustomersServer(t, fixture, engine, {
    tenants: { ...CUSTOMER_TENANTS, [ID]: { api_domain: 'example.com', queue: '9002@example.com', customer_lookup_url: url } },
    lookupTimeoutMs: lookupTimeoutMs ?? undefined,
  });
}

/** Delivers a ringing call from `from`; resolves with the answer's status and how long it took. */
async function ring(server: CustomersServer, callId: string, from = '18135551234'): Promise<{ status: number; ms: number }> {
  const started = performance.now();
  const response = await server.deliver(ID, [callRecord('ringing', { callId, from })]);
  await response.arrayBuffer();
  return { status: response.status, ms: performance.now() - started };
}

async function callOf(server: CustomersServer, callId: string) {
  const { rows } = await server.db.query<{ id: number; state: string; external_id: string | null; name: string | null }>(
    `SELECT c.id, c.state, cu.external_id, cu.name FROM calls c LEFT JOIN customers cu ON cu.id = c.customer_id
     WHERE c.provider_call_id = $1`,
    [callId],
  );
  return rows[0];
}

const events = async (server: CustomersServer, callId: string) =>
  (
    await server.db.query<{ state: string }>(
      'SELECT e.state FROM call_events e JOIN calls c ON c.id = e.call_id WHERE c.provider_call_id = $1 ORDER BY e.id',
      [callId],
    )
  ).rows.map((row) => row.state);

const failures = (server: CustomersServer) => server.harness.logs.filter((line) => line.msg === 'customer lookup failed');

for (const engine of ENGINES) {
  test.serial(`a lookup URL's answer matches the call after the webhook's answer, as a call event (${engine})`, async (t) => {
    const crm = await startCrm(t, (phone, response) => (phone === '+18135551234' ? json(response, 200, GRACE) : json(response, 404, {})));
    const server = await withLookup(t, engine, crm.url);
    const notified: string[] = [];
    const stop = await server.db.listen('call_events', (payload) => notified.push(payload));
    t.teardown(stop);

    t.is((await ring(server, 'c-1')).status, 200);
    t.true(await eventually(async () => (await callOf(server, 'c-1'))?.external_id === 'crm-9', 10_000));
    t.like(await callOf(server, 'c-1'), { state: 'ringing', external_id: 'crm-9', name: 'Grace Hopper' });
    t.deepEqual(await events(server, 'c-1'), ['ringing', 'ringing'], 'the match is an event of its own, the state unchanged');
    t.true(await eventually(() => notified.length === 2, 10_000));
    t.deepEqual(crm.asked, ['+18135551234'], 'asked with the caller in E.164');
    t.like((await server.customers(ID))[0], { external_id: 'crm-9', email: 'grace@example.com', phone_e164: null });

    // The next state keeps the match; a caller the CRM does not know stays unmatched.
    t.is((await server.deliver(ID, [callRecord('answered', { callId: 'c-1' })])).status, 200);
    t.like(await callOf(server, 'c-1'), { state: 'answered', external_id: 'crm-9' });
    t.is((await ring(server, 'c-2', '8135559999')).status, 200);
    t.true(await eventually(() => crm.asked.length === 2, 10_000));
    await server.harness.deps.background.drain(10_000);
    t.like(await callOf(server, 'c-2'), { external_id: null });
    t.deepEqual(await events(server, 'c-2'), ['ringing']);
    t.deepEqual(failures(server), []);
    t.false(server.harness.logText().includes('crm-secret-token'), "the lookup URL's query is never logged");
  });

  test.serial(
    `answers are cached per id and number, "none" too; a caller matched by a stored customer is not looked up (${engine})`,
    async (t) => {
      const crm = await startCrm(t, (phone, response) =>
        phone === '+18135551234' ? json(response, 200, GRACE) : json(response, 200, null),
      );
      const server = await withLookup(t, engine, crm.url);
      await server.upsert({ id: ID, customers: [{ external_id: 'crm-1', name: 'Stored', phone: '(929) 555-0199' }] });
      for (const [callId, from] of [
        ['c-1', '18135551234'],
        ['c-2', '18135551234'],
        ['c-3', '8135559999'],
        ['c-4', '8135559999'],
        ['c-5', '19295550199'],
        ['c-6', '2001'],
      ] as const) {
        t.is((await ring(server, callId, from)).status, 200);
        await server.harness.deps.background.drain(10_000);
      }
      t.deepEqual(crm.asked, ['+18135551234', '+18135559999'], 'each number asked once; the stored customer and an extension never');
      t.is((await callOf(server, 'c-2'))?.external_id, 'crm-9', 'the cached answer matches too');
      t.is((await callOf(server, 'c-4'))?.external_id, null);
      t.is((await callOf(server, 'c-5'))?.external_id, 'crm-1');
      t.deepEqual(await events(server, 'c-5'), ['ringing'], 'matched on intake: no second event');
    },
  );

  test.serial(
    `a lookup that hangs never delays the webhook's answer; it is cut at 1 s and asked again next time (${engine})`,
    async (t) => {
      const hanging: ServerResponse[] = [];
      const crm = await startCrm(t, (_phone, response) => void hanging.push(response));
      const server = await withLookup(t, engine, crm.url, null);
      // Warm up the route (first-request costs) and let that lookup time out; then deliver while the CRM never answers.
      t.is((await ring(server, 'warm-up', '8135550000')).status, 200);
      t.true(await eventually(() => failures(server).length === 1, 10_000));
      t.regex(String(failures(server)[0]!.reason), /no answer within 1000 ms/);
      const timings: number[] = [];
      for (const [callId, from] of [
        ['c-1', '8135551111'],
        ['c-2', '8135552222'],
        ['c-3', '8135553333'],
      ] as const) {
        const { status, ms } = await ring(server, callId, from);
        t.is(status, 200);
        const ended = failures(server).filter((line) => String(line.phone).endsWith(from.slice(-4)));
        t.is(ended.length, 0, `${callId} answered while its lookup is still pending: the answer did not wait for it`);
        timings.push(ms);
      }
      t.log(`${engine}: webhook answers while the lookup hangs: ${timings.map((ms) => `${Math.round(ms)} ms`).join(', ')}`);
      t.true(await eventually(() => failures(server).length === 4, 10_000));
      t.is((await callOf(server, 'c-1'))?.external_id, null);
      t.is((await ring(server, 'c-4', '8135552222')).status, 200);
      t.true(await eventually(() => crm.asked.filter((phone) => phone === '+18135552222').length === 2, 10_000));
      t.pass('a failure is not cached: the next call asks again');
    },
  );

  test.serial(`a huge answer is refused (declared or streamed), as are errors and answers that are no customer (${engine})`, async (t) => {
    const big = JSON.stringify({ ...GRACE, name: 'x'.repeat(1_000_000) });
    const crm = await startCrm(t, (phone, response) => {
      if (phone === '+18135550001') return json(response, 200, { ...GRACE, name: 'x'.repeat(1_000_000) });
      if (phone === '+18135550002') {
        // Chunked, no Content-Length: cut as it arrives.
        response.writeHead(200, { 'content-type': 'application/json' });
        for (let at = 0; at < big.length; at += 4_096) response.write(big.slice(at, at + 4_096));
        return response.end();
      }
      if (phone === '+18135550003') return json(response, 500, { error: 'down' });
      if (phone === '+18135550004') return json(response, 200, { name: 'no external_id' });
      if (phone === '+18135550005') {
        response.writeHead(200, { 'content-type': 'application/json' });
        return response.end('<html>');
      }
      response.writeHead(302, { location: 'http://169.254.169.254/' });
      response.end();
    });
    const server = await withLookup(t, engine, crm.url);
    for (const n of [1, 2, 3, 4, 5, 6]) t.is((await ring(server, `c-${n}`, `813555000${n}`)).status, 200);
    await server.harness.deps.background.drain(10_000);
    const reasons = failures(server).map((line) => String(line.reason));
    t.is(reasons.length, 6);
    t.is(reasons.filter((reason) => reason === 'answered more than 16384 bytes').length, 2);
    t.true(reasons.includes('answered 500'));
    t.true(reasons.some((reason) => /the answer\[0\]\.external_id/.test(reason)));
    t.true(reasons.includes('answered something other than JSON'));
    t.true(
      reasons.some((reason) => /unreachable/.test(reason)),
      'a redirect is not followed',
    );
    const { rows } = await server.db.query('SELECT 1 FROM calls WHERE customer_id IS NOT NULL');
    t.is(rows.length, 0);
    t.deepEqual(await server.customers(), []);
  });
}

test.serial('a customer_lookup_url must be an http(s) URL', async (t) => {
  const { tenantSchema } = await import('../src/tenants/schema.js');
  for (const url of ['https://crm.example.com/lookup?token=x', 'http://10.0.0.5:8080/customers']) {
    t.true(tenantSchema.safeParse({ api_domain: 'example.com', customer_lookup_url: url }).success, url);
  }
  for (const url of ['ftp://crm.example.com/', 'javascript:alert(1)', 'crm.example.com', `https://crm.example.com/${'x'.repeat(2_100)}`]) {
    t.false(tenantSchema.safeParse({ api_domain: 'example.com', customer_lookup_url: url }).success, url);
  }
});

test.serial('the cache is bounded: answers expire after their TTL, and past maxEntries the oldest goes first', async (t) => {
  const crm = await startCrm(t, (_phone, response) => json(response, 200, null));
  const logger = createLogger('silent');
  const lookup = createCustomerLookup({
    db: undefined as never,
    tenants: { get: () => ({ api_domain: 'example.com' }) },
    logger,
    background: new BackgroundTasks(logger),
    ttlMs: 300,
    maxEntries: 2,
  });
  const ask = (phone: string) => lookup.lookup(ID, crm.url, phone);
  for (const phone of ['+18135550001', '+18135550002', '+18135550001']) t.is(await ask(phone), null);
  t.deepEqual(crm.asked, ['+18135550001', '+18135550002'], 'a cached answer is reused');
  await ask('+18135550003');
  await ask('+18135550002');
  t.is(crm.asked.length, 3, 'the 2nd and 3rd are kept');
  await ask('+18135550001');
  t.is(crm.asked.length, 4, 'the 1st was evicted when the 3rd came');
  await new Promise((resolve) => setTimeout(resolve, 350));
  await ask('+18135550001');
  t.is(crm.asked.length, 5, 'expired after its TTL');
});
