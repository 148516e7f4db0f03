import { createHash } from 'node:crypto';
import test, { type ExecutionContext } from 'ava';
import { createLogger, migrate, startCallbackWorker, placementFor, type Database, type Engine, type Tenants } from '../src/index.js';
import { databaseFixture, ENGINES } from './fixtures/databases.js';
import { eventually, startHarness, TENANTS, type Harness, type HarnessOptions } from './helpers.js';

/**
 * Booking, refusing and cancelling callbacks over real HTTP, on PGlite and PostgreSQL, with the server's
 * clock set (`deps.clock`) to fixed instants of a week in New York: Wednesday 2026-11-25 09:00 EST is
 * 14:00Z.
 */

const databases = databaseFixture(test);
const NY = 'America/New_York';
const nineToFive: [string, string][] = [['09:00', '17:00']];
const TENANTS_WITH_BOOKINGS: Tenants = {
  ...TENANTS,
  'example.com-hours': {
    api_domain: 'example.com',
    queue: '9002@example.com',
    hours: { timezone: NY, weekly: { mon: nineToFive, tue: nineToFive, wed: nineToFive, thu: nineToFive, fri: nineToFive } },
  },
  'example.com-nobook': { api_domain: 'example.com', queue: '9002@example.com', scheduled_callbacks: false },
  'example.com-locked': { api_domain: 'example.com', queue: '9002@example.com', allowed_origins: ['https://www.example.com'] },
};
/** Wednesday 18:00 EST: the line is closed until Thursday 09:00 (14:00Z). */
const WEDNESDAY_EVENING = new Date('2026-11-25T23:00:00Z');
const THURSDAY_TEN = '2026-11-26T15:00:00Z';

interface Server {
  harness: Harness;
  db: Database;
  setNow(instant: Date): void;
  book(fields: Record<string, string>, headers?: Record<string, string>): Promise<{ status: number; body: Record<string, string> }>;
}

async function start(t: ExecutionContext, engine: Engine, options: HarnessOptions = {}): Promise<Server> {
  const { db } = await databases.open(t, engine);
  await migrate(db, { logger: createLogger('silent') });
  const harness = await startHarness({ db, tenants: TENANTS_WITH_BOOKINGS, ...options });
  t.teardown(() => harness.close());
  let now = WEDNESDAY_EVENING;
  harness.deps.clock = () => now;
  return {
    harness,
    db,
    setNow: (instant) => {
      now = instant;
    },
    async book(fields, headers = {}) {
      const response = await harness.post('/click-to-call', { id: 'example.com-hours', phone_number: '8135551234', ...fields }, headers);
      return { status: response.status, body: (await response.json()) as Record<string, string> };
    },
  };
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

for (const engine of ENGINES) {
  // Each PGlite holds the process's event loop while it starts, long enough to time out another test's
  // request to the sandbox (NetSapiens answering in this same process): one PGlite test at a time.
  const engineTest = engine === 'pglite' ? test.serial : test;
  engineTest(
    `${engine}: a closed line takes a booking (202) while a call now is refused (409 closed); only hashes and E.164 are stored`,
    async (t) => {
      const server = await start(t, engine);
      const now = await server.book({});
      t.is(now.status, 409);
      t.is(now.body.code, 'closed');

      const booked = await server.book({ scheduled_at: '2026-11-26T10:00:00-05:00' });
      t.is(booked.status, 202);
      t.like(booked.body, { status: 'scheduled', scheduled_at: THURSDAY_TEN });
      t.regex(booked.body.callback_id!, /^[0-9a-f-]{36}$/);
      t.regex(booked.body.cancel_token!, /^[A-Za-z0-9_-]{43}$/);
      t.regex(booked.body.status_token!, /^[A-Za-z0-9_-]{43}$/);
      t.not(booked.body.cancel_token, booked.body.status_token);
      t.is(server.harness.sandbox.calls.length, 0, 'nothing is called at booking');

      const { rows } = await server.db.query<Record<string, unknown>>('SELECT * FROM callbacks');
      t.is(rows.length, 1);
      t.like(rows[0], {
        id: booked.body.callback_id,
        tenant: 'example.com-hours',
        provider: 'netsapiens',
        phone_e164: '+18135551234',
        status: 'scheduled',
        cancel_token_hash: sha256(booked.body.cancel_token!),
        status_token_hash: sha256(booked.body.status_token!),
      });
      t.is((rows[0]!.scheduled_at as Date).toISOString(), '2026-11-26T15:00:00.000Z');
      const stored = JSON.stringify(rows);
      t.false(stored.includes(booked.body.cancel_token!) || stored.includes(booked.body.status_token!), 'no token is stored as such');
      const logs = server.harness.logText();
      t.false(logs.includes('8135551234') || logs.includes(booked.body.cancel_token!) || logs.includes(booked.body.status_token!));
      const events = await server.db.query<{ status: string }>('SELECT status FROM callback_events ORDER BY id');
      t.deepEqual(
        events.rows.map((row) => row.status),
        ['scheduled'],
      );
    },
  );

  engineTest(`${engine}: a booking is refused with 400 invalid_schedule, saying what to fix, for each bad time`, async (t) => {
    const server = await start(t, engine);
    const cases: Record<string, [string, RegExp]> = {
      'no zone': ['2026-11-26T10:00:00', /with its zone/],
      'not ISO': ['Thursday 10am', /with its zone/],
      'in the past': ['2026-11-25T22:00:00Z', /in the past/],
      'more than 14 days ahead': ['2026-12-10T15:00:00Z', /more than 14 days ahead/],
      'outside hours (Saturday)': ['2026-11-28T15:00:00Z', /closed at that time/],
      'outside hours (Thursday 08:45 EST)': ['2026-11-26T13:45:00Z', /closed at that time/],
    };
    for (const [what, [scheduledAt, message]] of Object.entries(cases)) {
      const refused = await server.book({ scheduled_at: scheduledAt });
      t.is(refused.status, 400, what);
      t.is(refused.body.code, 'invalid_schedule', what);
      t.regex(refused.body.message!, message, what);
    }
    const badNumber = await server.book({ phone_number: '555-1234', scheduled_at: THURSDAY_TEN });
    t.is(badNumber.status, 400);
    t.is(badNumber.body.code, 'invalid_number', 'the number is checked as for a call now');
    const { rows } = await server.db.query<{ count: number }>('SELECT count(*)::int AS count FROM callbacks');
    t.is(rows[0]!.count, 0);
    // Thirteen days on, inside hours: the edge of what may be booked.
    t.is((await server.book({ scheduled_at: '2026-12-09T15:00:00Z' })).status, 202);
  });

  engineTest(`${engine}: one pending booking per number per id (409 already_booked); other numbers and ids book freely`, async (t) => {
    const server = await start(t, engine, {
      tenants: { ...TENANTS_WITH_BOOKINGS, 'example.com-other': { ...TENANTS_WITH_BOOKINGS['example.com-hours']! } },
    });
    t.is((await server.book({ scheduled_at: THURSDAY_TEN })).status, 202);
    const again = await server.book({ phone_number: '+1 813 555 1234', scheduled_at: '2026-11-27T15:00:00Z' });
    t.is(again.status, 409);
    t.like(again.body, { status: 'error', code: 'already_booked' });
    t.regex(again.body.message!, /cancel it first/);
    t.is((await server.book({ phone_number: '8135559876', scheduled_at: THURSDAY_TEN })).status, 202);
    t.is((await server.book({ id: 'example.com-other', scheduled_at: THURSDAY_TEN })).status, 202);
  });

  engineTest(
    `${engine}: the checks and limits of a call now apply to a booking: scheduling off, origin, the per-address limit`,
    async (t) => {
      const server = await start(t, engine, { limits: { ipPerMinute: 2 } });
      const disabled = await server.book({ id: 'example.com-nobook', scheduled_at: THURSDAY_TEN });
      t.is(disabled.status, 409);
      t.is(disabled.body.code, 'scheduling_disabled');
      const origin = await server.book({ id: 'example.com-locked', scheduled_at: THURSDAY_TEN }, { origin: 'https://evil.example' });
      t.is(origin.status, 403);
      t.is(origin.body.code, 'origin_not_allowed');
      t.is((await server.book({ phone_number: '8135550001', scheduled_at: THURSDAY_TEN })).status, 202);
      t.is((await server.book({ phone_number: '8135550002', scheduled_at: THURSDAY_TEN })).status, 202);
      const limited = await server.book({ phone_number: '8135550003', scheduled_at: THURSDAY_TEN });
      t.is(limited.status, 429);
    },
  );

  engineTest(`${engine}: a call now answers 200 with its callback_id and status_token, recorded as queued`, async (t) => {
    const server = await start(t, engine);
    server.setNow(new Date('2026-11-25T15:00:00Z'));
    const response = await server.harness.post('/click-to-call', { id: 'example.com-hours', phone_number: '8135551234' });
    t.is(response.status, 200);
    const body = (await response.json()) as Record<string, string>;
    t.is(body.status, 'ok');
    t.regex(body.callback_id!, /^[0-9a-f-]{36}$/);
    t.regex(body.status_token!, /^[A-Za-z0-9_-]{43}$/);
    t.is(server.harness.sandbox.calls.length, 1);
    const { rows } = await server.db.query<{ status: string; cancel_token_hash: string | null; status_token_hash: string }>(
      'SELECT status, cancel_token_hash, status_token_hash FROM callbacks WHERE id = $1',
      [body.callback_id!],
    );
    t.deepEqual(rows, [{ status: 'queued', cancel_token_hash: null, status_token_hash: sha256(body.status_token!) }]);
  });

  engineTest(`${engine}: GET /click-to-call/slots lists the open 15-minute steps; widget-config says whether the id books`, async (t) => {
    const server = await start(t, engine);
    const response = await fetch(`${server.harness.url}/click-to-call/slots?id=example.com-hours`);
    t.is(response.status, 200);
    t.is(response.headers.get('access-control-allow-origin'), '*');
    const body = (await response.json()) as { timezone: string; step_minutes: number; slots: string[] };
    t.is(body.timezone, NY);
    t.is(body.step_minutes, 15);
    t.is(body.slots.length, 96);
    t.deepEqual(body.slots.slice(0, 2), ['2026-11-26T14:00:00Z', '2026-11-26T14:15:00Z']);
    t.is(body.slots[31], '2026-11-26T21:45:00Z');
    t.is(body.slots[32], '2026-11-27T14:00:00Z');
    const paged = (await (
      await fetch(`${server.harness.url}/click-to-call/slots?id=example.com-hours&from=2026-11-27T21:30:00Z`)
    ).json()) as {
      slots: string[];
    };
    t.deepEqual(paged.slots.slice(0, 3), ['2026-11-27T21:30:00Z', '2026-11-27T21:45:00Z', '2026-11-30T14:00:00Z']);

    const refusals: Record<string, [string, number, string]> = {
      'unknown id': ['id=nobody.net-sales', 404, 'not_configured'],
      'no queue': ['id=example.com-sms', 404, 'not_configured'],
      'bookings off': ['id=example.com-nobook', 409, 'scheduling_disabled'],
      'a bad from': ['id=example.com-hours&from=tomorrow', 400, 'invalid_from'],
    };
    for (const [what, [query, status, code]] of Object.entries(refusals)) {
      const refused = await fetch(`${server.harness.url}/click-to-call/slots?${query}`);
      t.is(refused.status, status, what);
      t.is(((await refused.json()) as { code: string }).code, code, what);
    }
    const config = async (id: string) =>
      ((await (await fetch(`${server.harness.url}/widget-config?id=${id}`)).json()) as { scheduling: boolean }).scheduling;
    t.true(await config('example.com-hours'));
    t.false(await config('example.com-nobook'));
    t.false(await config('example.com-sms'), 'an id that places no calls takes no bookings');
  });

  engineTest(
    `${engine}: DELETE cancels with the cancel token; a wrong token or unknown id is 404; a placed booking 409 not_pending`,
    async (t) => {
      const server = await start(t, engine);
      const { url } = server.harness;
      const booked = (await server.book({ scheduled_at: THURSDAY_TEN })).body;
      const cancel = (id: string, token: string, headers: Record<string, string> = {}) =>
        fetch(`${url}/click-to-call/${id}?token=${encodeURIComponent(token)}`, { method: 'DELETE', headers });

      const preflight = await fetch(`${url}/click-to-call/${booked.callback_id}`, {
        method: 'OPTIONS',
        headers: { origin: 'https://shop.example', 'access-control-request-method': 'DELETE' },
      });
      t.is(preflight.status, 204);
      t.is(preflight.headers.get('access-control-allow-origin'), 'https://shop.example');
      t.regex(preflight.headers.get('access-control-allow-methods') ?? '', /DELETE/);

      const wrong = await cancel(booked.callback_id!, booked.status_token!);
      t.is(wrong.status, 404, 'the status token does not cancel');
      const unknown = await cancel('00000000-0000-4000-8000-000000000000', booked.cancel_token!);
      t.is(unknown.status, 404);
      t.deepEqual(await unknown.json(), await wrong.json(), 'the same answer for both');
      t.is((await cancel('not-a-uuid', booked.cancel_token!)).status, 404);

      const cancelled = await cancel(booked.callback_id!, booked.cancel_token!, { origin: 'https://shop.example' });
      t.is(cancelled.status, 200);
      t.is(cancelled.headers.get('access-control-allow-origin'), 'https://shop.example');
      t.deepEqual(await cancelled.json(), { status: 'cancelled', callback_id: booked.callback_id });
      t.is((await cancel(booked.callback_id!, booked.cancel_token!)).status, 200, 'cancelling again does what the first did');
      t.is((await server.book({ scheduled_at: THURSDAY_TEN })).status, 202, 'the number may book again');

      // The new booking is placed at its time; then it can no longer be cancelled.
      const second = (await server.book({ phone_number: '8135559876', scheduled_at: THURSDAY_TEN })).body;
      let now = new Date(THURSDAY_TEN);
      const worker = startCallbackWorker({
        db: server.db,
        tenants: server.harness.deps.tenants,
        placementFor: (tenant) => placementFor(server.harness.deps, tenant),
        logger: createLogger('silent'),
        now: () => now,
        pollMs: 50,
      });
      t.teardown(() => worker.close());
      t.true(await eventually(() => server.harness.sandbox.calls.length === 2));
      now = new Date(now.getTime() + 1);
      const late = await cancel(second.callback_id!, second.cancel_token!);
      t.is(late.status, 409);
      t.like(await late.json(), { code: 'not_pending' });
      const events = await server.db.query<{ status: string }>('SELECT status FROM callback_events WHERE callback_id = $1 ORDER BY id', [
        booked.callback_id!,
      ]);
      t.deepEqual(
        events.rows.map((row) => row.status),
        ['scheduled', 'cancelled'],
      );
    },
  );
}

test.serial('pglite: DELETE from an origin the booking id does not allow is 403, and cancels nothing', async (t) => {
  const server = await start(t, 'pglite');
  const booked = (await server.book({ id: 'example.com-locked', scheduled_at: THURSDAY_TEN }, { origin: 'https://www.example.com' })).body;
  const refused = await fetch(`${server.harness.url}/click-to-call/${booked.callback_id}?token=${booked.cancel_token}`, {
    method: 'DELETE',
    headers: { origin: 'https://evil.example' },
  });
  t.is(refused.status, 403);
  const { rows } = await server.db.query<{ status: string }>('SELECT status FROM callbacks');
  t.deepEqual(rows, [{ status: 'scheduled' }]);
});

test.serial(
  'pglite: on the spring-forward Sunday the slots follow New York clocks: no 02:xx, 03:00 EDT right after 01:45 EST',
  async (t) => {
    const server = await start(t, 'pglite', {
      tenants: {
        ...TENANTS_WITH_BOOKINGS,
        'example.com-sunday': { api_domain: 'example.com', queue: '9002', hours: { timezone: NY, weekly: { sun: [['01:00', '04:00']] } } },
      },
    });
    server.setNow(new Date('2026-03-07T12:00:00Z'));
    const { slots } = (await (await fetch(`${server.harness.url}/click-to-call/slots?id=example.com-sunday`)).json()) as {
      slots: string[];
    };
    t.deepEqual(slots.slice(0, 9), [
      '2026-03-08T06:00:00Z',
      '2026-03-08T06:15:00Z',
      '2026-03-08T06:30:00Z',
      '2026-03-08T06:45:00Z',
      '2026-03-08T07:00:00Z',
      '2026-03-08T07:15:00Z',
      '2026-03-08T07:30:00Z',
      '2026-03-08T07:45:00Z',
      '2026-03-15T05:00:00Z',
    ]);
    const booked = await server.book({ id: 'example.com-sunday', scheduled_at: '2026-03-08T03:15:00-04:00' });
    t.is(booked.status, 202, '03:15 EDT is open');
    const skipped = await server.book({ id: 'example.com-sunday', phone_number: '8135559876', scheduled_at: '2026-03-08T08:00:00Z' });
    t.is(skipped.status, 400, '04:00 EDT is closing time');
    t.is(skipped.body.code, 'invalid_schedule');
  },
);
