import test from 'ava';
import type { Database } from '../src/index.js';
import { insertCall, startApiServer, type ApiServer } from './fixtures/api.js';
import { databaseFixture, ENGINES } from './fixtures/databases.js';

const fixture = databaseFixture(test);

interface Page {
  calls: { id: string; tenant: string; status: string }[];
  next?: string;
}

async function page(server: ApiServer, key: string, query: string): Promise<Page> {
  const response = await server.get(`/api/calls${query}`, key);
  if (response.status !== 200) throw new Error(`GET /api/calls${query}: ${response.status} ${await response.text()}`);
  return (await response.json()) as Page;
}

/** Every call by `after`, `limit` at a time; `between` runs after each page. */
async function walk(server: ApiServer, key: string, limit: number, between: () => Promise<void> = async () => {}): Promise<string[]> {
  const seen: string[] = [];
  let after: string | undefined;
  for (let pages = 0; pages < 100; pages += 1) {
    const { calls, next } = await page(server, key, `?limit=${limit}${after ? `&after=${after}` : ''}`);
    seen.push(...calls.map((call) => call.id));
    if (!next) return seen;
    after = next;
    await between();
  }
  throw new Error('more than 100 pages');
}

async function insertCustomer(db: Database, tenant: string): Promise<number> {
  const { rows } = await db.query<{ id: number }>(
    `INSERT INTO customers (tenant, external_id, name, email, phone_e164, url)
     VALUES ($1, 'crm-42', 'Sarah Customer', 'sarah@example.com', '+14165551234', 'https://crm.example.com/customers/42') RETURNING id`,
    [tenant],
  );
  return rows[0]!.id;
}

for (const engine of ENGINES) {
  // One embedded database at a time: each holds this process's event loop while it starts, and several
  // at once starved the other tests' requests on a loaded machine. PostgreSQL's run concurrently.
  const engineTest = engine === 'pglite' ? test.serial : test;
  engineTest(`a call reads as seed 002 shows it, plus tenant, provider and customer_url (${engine})`, async (t) => {
    const server = await startApiServer(t, fixture, engine);
    const { key } = await server.createApp();
    const customer = await insertCustomer(server.db, 'a.com-x');
    const matched = await insertCall(server.db, { customer_id: customer });
    const unknown = await insertCall(server.db, { state: 'ended', from_number: '+15555550123' });
    const sessions = await server.db.query<{ id: number; provider_call_id: string }>('SELECT id, provider_call_id FROM calls');
    const session = (id: number) => sessions.rows.find((row) => row.id === id)!.provider_call_id;
    const body = await page(server, key, '');
    t.deepEqual(body, {
      calls: [
        {
          id: String(unknown),
          tenant: 'a.com-x',
          provider: 'netsapiens',
          session_id: session(unknown),
          from_number: '+15555550123',
          from_name: 'Ada Caller',
          to_number: '+18135550100',
          direction: 'inbound',
          status: 'ended',
          timestamp: '2026-03-01T12:00:00.000Z',
          customer_id: null,
          customer_name: null,
          customer_email: null,
          customer_url: null,
        },
        {
          id: String(matched),
          tenant: 'a.com-x',
          provider: 'netsapiens',
          session_id: session(matched),
          from_number: '+14165551234',
          from_name: 'Ada Caller',
          to_number: '+18135550100',
          direction: 'inbound',
          status: 'ringing',
          timestamp: '2026-03-01T12:00:00.000Z',
          customer_id: 'crm-42',
          customer_name: 'Sarah Customer',
          customer_email: 'sarah@example.com',
          customer_url: 'https://crm.example.com/customers/42',
        },
      ],
    });
    const active = (await (await server.get('/api/active-calls', key, 'bearer')).json()) as Page;
    t.deepEqual(
      active.calls.map((call) => call.id),
      [String(matched)],
    );
  });

  engineTest(`an app with ids ["a.com-x"] never sees another id's calls; one without ids sees them all (${engine})`, async (t) => {
    const server = await startApiServer(t, fixture, engine);
    const scoped = await server.createApp({ name: 'A only', ids: ['a.com-x'] });
    const both = await server.createApp({ name: 'A and B', ids: ['a.com-x', 'b.com-y'] });
    const every = await server.createApp({ name: 'Everything' });
    const mine: string[] = [];
    for (const state of ['ringing', 'answered', 'ended', 'missed']) {
      mine.push(String(await insertCall(server.db, { tenant: 'a.com-x', state })));
      await insertCall(server.db, { tenant: 'b.com-y', state });
      // An id no config has any more (or a longer id sharing a prefix) is someone else's too.
      await insertCall(server.db, { tenant: 'a.com-xy', state });
    }
    const ofA = await walk(server, scoped.key, 3);
    t.deepEqual(ofA.sort(), [...mine].sort());
    const activeOfA = (await (await server.get('/api/active-calls', scoped.key)).json()) as Page;
    t.deepEqual(activeOfA.calls.map((call) => call.id).sort(), mine.slice(0, 2).sort());
    t.true(activeOfA.calls.every((call) => call.tenant === 'a.com-x' && ['ringing', 'answered'].includes(call.status)));
    const offsetPage = await page(server, scoped.key, '?limit=100&offset=2');
    t.true(offsetPage.calls.every((call) => call.tenant === 'a.com-x'));
    t.is(offsetPage.calls.length, 2);

    t.deepEqual([...new Set((await page(server, both.key, '?limit=100')).calls.map((call) => call.tenant))].sort(), ['a.com-x', 'b.com-y']);
    t.is((await walk(server, every.key, 5)).length, 12);
    const allActive = (await (await server.get('/api/active-calls', every.key)).json()) as Page;
    t.is(allActive.calls.length, 6);
  });

  engineTest(
    `paging by after neither repeats nor skips a call while new ones arrive, ties and microseconds included (${engine})`,
    async (t) => {
      const server = await startApiServer(t, fixture, engine);
      const { key } = await server.createApp({ name: 'A only', ids: ['a.com-x'] });
      const expected: number[] = [];
      // Three calls stored in the same microsecond, and two a microsecond apart (a JS Date would merge them).
      for (const at of [
        '2026-01-01T00:00:00.000001Z',
        '2026-01-01T00:00:00.000002Z',
        '2026-01-01T00:00:00.000002Z',
        '2026-01-01T00:00:00.000002Z',
      ]) {
        expected.push(await insertCall(server.db, { created_at: at }));
      }
      for (let index = 0; index < 23; index += 1) expected.push(await insertCall(server.db));
      await insertCall(server.db, { tenant: 'b.com-y' });
      const newestFirst = [...expected].reverse().map(String);
      // Tied created_at: the higher id first.
      t.deepEqual(newestFirst.slice(-4), [expected[3], expected[2], expected[1], expected[0]].map(String));

      const arrived: number[] = [];
      const seen = await walk(server, key, 4, async () => {
        arrived.push(await insertCall(server.db));
      });
      t.deepEqual(seen, newestFirst, 'every call there when the walk began, once, in order');
      t.true(arrived.length >= 6);

      const first = await page(server, key, '?limit=2');
      t.deepEqual(
        first.calls.map((call) => call.id),
        [...arrived].reverse().slice(0, 2).map(String),
        'a new first page starts with the newest',
      );
      const last = await page(server, key, '?limit=4&offset=' + (expected.length + arrived.length - 4));
      t.is(last.next, undefined, 'no next after the last page');
      t.is(last.calls.at(-1)?.id, String(expected[0]));
    },
  );

  engineTest(`while the database cannot be reached, reads and admin routes answer 503 with Retry-After, not 500 (${engine})`, async (t) => {
    const server = await startApiServer(t, fixture, engine);
    const { appId, key } = await server.createApp();
    await server.db.close();
    for (const response of [
      await server.get('/api/calls', key),
      await server.get('/api/active-calls', key),
      await server.internal('/internal/apps', { name: 'CRM' }),
      await server.internal(`/internal/apps/${appId}/api-key`),
    ]) {
      t.is(response.status, 503);
      t.is(response.headers.get('retry-after'), '5');
      t.deepEqual(await response.json(), { status: 'error', message: 'The database is unavailable; try again in a moment' });
    }
    t.false(server.harness.logText().includes(key));
  });

  engineTest(`limit, offset and after are checked: 400s that say what is allowed (${engine})`, async (t) => {
    const server = await startApiServer(t, fixture, engine);
    const { key } = await server.createApp();
    const ids: number[] = [];
    for (let index = 0; index < 120; index += 1) ids.push(await insertCall(server.db));
    const byDefault = await page(server, key, '');
    t.is(byDefault.calls.length, 50, 'limit defaults to 50');
    t.truthy(byDefault.next);
    t.is((await page(server, key, '?limit=100')).calls.length, 100);
    const byOffset = await page(server, key, '?limit=10&offset=110');
    t.deepEqual(
      byOffset.calls.map((call) => call.id),
      ids.slice(0, 10).reverse().map(String),
    );
    t.is(byOffset.next, undefined);
    t.deepEqual((await page(server, key, '?offset=10000')).calls, []);

    const cursor = byDefault.next!;
    const decoded = Buffer.from(cursor, 'base64url').toString();
    const forged = (text: string) => Buffer.from(text).toString('base64url');
    const cases: [string, RegExp][] = [
      ['?limit=101', /limit must be a whole number from 1 to 100/],
      ['?limit=0', /limit must be a whole number from 1 to 100/],
      ['?limit=-1', /limit must be a whole number from 1 to 100/],
      ['?limit=2.5', /limit must be a whole number from 1 to 100/],
      ['?limit=ten', /limit must be a whole number from 1 to 100/],
      ['?limit=1e2', /limit must be a whole number from 1 to 100/],
      ['?limit=10&limit=20', /limit is given more than once/],
      ['?offset=10001', /offset must be a whole number from 0 to 10000/],
      ['?offset=-5', /offset must be a whole number from 0 to 10000/],
      [`?after=${cursor}&offset=0`, /Give after or offset, not both/],
      ['?after=', /after must be the "next" value of a page/],
      ['?after=not*base64', /after must be the "next" value/],
      [`?after=${forged('2026-01-01T00:00:00Z|1')}`, /after must be the "next" value/],
      [`?after=${forged(decoded.replace(/\|\d+$/, '|0'))}`, /after must be the "next" value/],
      [`?after=${forged(decoded.replace(/\|\d+$/, '|99999999999999999'))}`, /after must be the "next" value/],
      [`?after=${forged(decoded.replace(/^\d{4}-\d\d/, '2026-13'))}`, /after must be the "next" value/],
      [`?after=${forged(decoded.replace('|', "'; DROP TABLE calls; --|"))}`, /after must be the "next" value/],
      [`?after=${'A'.repeat(200)}`, /after must be the "next" value/],
    ];
    for (const [query, message] of cases) {
      const response = await server.get(`/api/calls${query}`, key);
      t.is(response.status, 400, query);
      t.regex(((await response.json()) as { message: string }).message, message, query);
    }
    t.is((await server.db.query('SELECT * FROM calls')).rowCount, 120);
    t.false(
      server.harness.logs.some((line) => line.level >= 50),
      'no error logged',
    );
  });

  engineTest(
    `regression: a cursor whose time PostgreSQL would not read (year 0, February 30, 24:00) is the 400 of a bad cursor, not a 500 (${engine})`,
    async (t) => {
      const server = await startApiServer(t, fixture, engine);
      const { key } = await server.createApp();
      const forged = (time: string) => Buffer.from(`${time}|1`).toString('base64url');
      for (const time of [
        '0000-01-01T00:00:00.000000Z',
        '2024-02-30T00:00:00.000000Z',
        '2023-02-29T12:00:00.000000Z',
        '2024-02-28T24:00:00.000000Z',
        '2024-04-31T00:00:00.000000Z',
      ]) {
        const response = await server.get(`/api/calls?after=${forged(time)}`, key);
        t.is(response.status, 400, time);
        t.regex(((await response.json()) as { message: string }).message, /after must be the "next" value of a page/, time);
      }
      for (const time of ['0001-01-01T00:00:00.000000Z', '2024-02-29T23:59:59.999999Z']) {
        t.is((await server.get(`/api/calls?after=${forged(time)}`, key)).status, 200, time);
      }
      t.false(server.harness.logs.some((line) => line.level >= 50));
    },
  );
}
