import test, { type ExecutionContext } from 'ava';
import { createLogger, migrate, type Database, type Engine } from '../src/index.js';
import { CALL_EVENTS_CHANNEL, recordCallChange, type CallChange } from '../src/events/calls.js';
import { storeBatch } from '../src/events/batch.js';
import { receiveDelivery, type DeliveryItem } from '../src/events/intake.js';
import { e164, partyNumber } from '../src/events/phone.js';
import { databaseFixture, ENGINES } from './fixtures/databases.js';
import { eventually } from './helpers.js';

const fixture = databaseFixture(test);
const quiet = createLogger('silent');
const TENANT = 'example.com-sales';

async function migrated(t: ExecutionContext, engine: Engine): Promise<Database> {
  const { db } = await fixture.open(t, engine);
  await migrate(db, { logger: quiet });
  return db;
}

const at = (minute: number) => new Date(Date.UTC(2026, 10, 25, 20, minute));

function change(signal: CallChange['signal'], overrides: Partial<CallChange> = {}): CallChange {
  return {
    tenant: TENANT,
    provider: 'test',
    providerCallId: 'call-1',
    direction: 'inbound',
    signal,
    at: at(signal === 'ringing' ? 0 : signal === 'answered' ? 1 : 2),
    fromNumber: '+18135551234',
    fromE164: '+18135551234',
    fromName: 'Ada Lovelace',
    toNumber: '+19295550100',
    ...overrides,
  };
}

interface CallRow {
  id: number;
  state: string;
  started_at: Date;
  answered_at: Date | null;
  ended_at: Date | null;
  from_number: string | null;
  from_name: string | null;
  customer_id: number | null;
}

const calls = async (db: Database) => (await db.query<CallRow>('SELECT * FROM calls ORDER BY id')).rows;
const events = async (db: Database) =>
  (await db.query<{ id: number; call_id: number; state: string; at: Date }>('SELECT id, call_id, state, at FROM call_events ORDER BY id'))
    .rows;

test('numbers: E.164 in the default country, international with or without +, extensions as given', (t) => {
  t.is(e164('(813) 555-1234', 'US'), '+18135551234');
  t.is(e164('18135551234', 'US'), '+18135551234');
  t.is(e164('+1 813 555 1234', 'GB'), '+18135551234');
  t.is(e164('447911123456', 'US'), '+447911123456', 'NetSapiens sends country-code digits without +');
  t.is(e164('07911 123456', 'GB'), '+447911123456', 'national in the id’s country');
  t.is(e164('2000', 'US'), undefined, 'an extension is no phone number');
  t.is(partyNumber('2000', 'US'), '2000');
  t.is(partyNumber('  ', 'US'), undefined);
  t.is(e164('+123', 'US'), undefined);
});

test('numbers: a number asked again, in another country or after 10,000 others, is read as the first time', (t) => {
  // Remembered answers are per country: the same digits are national in one and nothing in another.
  for (let round = 0; round < 2; round++) {
    t.is(e164('07911 123456', 'GB'), '+447911123456');
    t.is(e164('07911 123456', 'US'), undefined);
    t.is(e164(' 07911 123456 ', 'GB'), '+447911123456', 'trimmed before it is looked up');
  }
  for (let index = 0; index < 10_050; index++) e164(`+1813555${String(index).padStart(4, '0')}`, 'US');
  t.is(e164('(813) 555-1234', 'US'), '+18135551234');
  t.is(e164('2000', 'US'), undefined);
});

for (const engine of ENGINES) {
  // Each PGlite holds the process's event loop while it starts: one at a time, PostgreSQL's concurrently.
  const engineTest = engine === 'pglite' ? test.serial : test;
  engineTest(`a call's life: ringing → answered → ended, one event per change, timestamps kept (${engine})`, async (t) => {
    const db = await migrated(t, engine);
    const heard: string[] = [];
    await db.listen(CALL_EVENTS_CHANNEL, (payload) => heard.push(payload));

    const ringing = await recordCallChange(db, change('ringing'));
    t.is(ringing.state, 'ringing');
    t.truthy(ringing.eventId);
    const answered = await recordCallChange(db, change('answered', { answeredAt: at(1) }));
    t.is(answered.callId, ringing.callId);
    const ended = await recordCallChange(db, change('over'));
    t.is(ended.state, 'ended', '"over" after the answer is ended');

    const [call, ...others] = await calls(db);
    t.deepEqual(others, []);
    t.like(call, { state: 'ended', from_number: '+18135551234', from_name: 'Ada Lovelace', customer_id: null });
    t.deepEqual([call!.started_at, call!.answered_at, call!.ended_at], [at(0), at(1), at(2)]);
    const recorded = await events(db);
    t.deepEqual(
      recorded.map((event) => event.state),
      ['ringing', 'answered', 'ended'],
    );
    t.deepEqual(
      recorded.map((event) => event.id),
      [ringing.eventId, answered.eventId, ended.eventId],
    );
    t.true(await eventually(() => heard.length === 3), 'each event is announced');
    t.deepEqual(
      heard,
      recorded.map((event) => String(event.id)),
    );
  });

  engineTest(`a call never answered is missed; late and repeated changes change nothing and record no event (${engine})`, async (t) => {
    const db = await migrated(t, engine);
    await recordCallChange(db, change('ringing'));
    t.is((await recordCallChange(db, change('ringing'))).eventId, undefined, 'repeated');
    const missed = await recordCallChange(db, change('over'));
    t.is(missed.state, 'missed');
    for (const late of ['ringing', 'answered', 'over'] as const) {
      const result = await recordCallChange(db, change(late));
      t.deepEqual([result.state, result.eventId], ['missed', undefined], late);
    }
    t.deepEqual(
      (await events(db)).map((event) => event.state),
      ['ringing', 'missed'],
    );
    t.like((await calls(db))[0], { state: 'missed', answered_at: null, ended_at: at(2) });
  });

  engineTest(`the caller is matched to the tenant's customer by E.164, and only the tenant's (${engine})`, async (t) => {
    const db = await migrated(t, engine);
    const customer = async (tenant: string, externalId: string) =>
      (
        await db.query<{ id: number }>(
          "INSERT INTO customers (tenant, external_id, name, phone_e164) VALUES ($1, $2, 'Ada', '+18135551234') RETURNING id",
          [tenant, externalId],
        )
      ).rows[0]!.id;
    await customer('other.com-sales', 'x-1');
    const ada = await customer(TENANT, 'crm-1');
    await customer(TENANT, 'crm-2');
    await recordCallChange(db, change('ringing'));
    t.is((await calls(db))[0]!.customer_id, ada, 'the first of the tenant’s customers with that number');
    await recordCallChange(db, change('ringing', { providerCallId: 'call-2', fromNumber: '2000', fromE164: undefined }));
    t.is((await calls(db))[1]!.customer_id, null, 'an extension matches nobody');
  });

  engineTest(`concurrent changes of one call give one call and events in id order, each state once (${engine})`, async (t) => {
    const db = await migrated(t, engine);
    const signals = ['ringing', 'answered', 'ringing', 'answered', 'ringing'] as const;
    await Promise.all(
      signals.map((signal) => recordCallChange(db, change(signal, { answeredAt: signal === 'answered' ? at(1) : undefined }))),
    );
    t.is((await calls(db)).length, 1);
    const states = (await events(db)).map((event) => event.state);
    t.true(
      JSON.stringify(states) === '["ringing","answered"]' || JSON.stringify(states) === '["answered"]',
      `states only move forward: ${states.join(', ')}`,
    );
  });

  engineTest(`a batch moving calls among thousands looks each one up by its key, never reading the whole table (${engine})`, async (t) => {
    const db = await migrated(t, engine);
    // Enough calls, with fresh statistics, that reading them all looks cheap to the planner.
    await db.query(
      `INSERT INTO calls (tenant, provider, provider_call_id, direction, state, started_at)
       SELECT $1, 'test', 'call-' || i, 'inbound', 'ringing', now() FROM generate_series(1, 2000) i`,
      [TENANT],
    );
    await db.query('ANALYZE calls');
    const answered = [7, 700, 1400].map((n) => ({
      delivery: 0,
      provider: 'test',
      tenant: TENANT,
      dedupeKey: `call-${n}:answered`,
      body: {},
      change: change('answered', { providerCallId: `call-${n}`, answeredAt: at(1) }),
    }));
    const scans = await db.transaction(async (tx) => {
      // This transaction's own counts, before they are reported to the statistics.
      const seqScans = async () =>
        Number(
          (await tx.query<{ seq_scan: string }>("SELECT seq_scan FROM pg_stat_xact_user_tables WHERE relname = 'calls'")).rows[0]
            ?.seq_scan ?? 0,
        );
      const before = await seqScans();
      const outcome = await storeBatch(tx, answered, 1, async () => undefined);
      t.is(outcome.events[0]?.length, 3);
      return (await seqScans()) - before;
    });
    t.is(scans, 0, 'calls read by a sequential scan while storing the batch');
    const { rows } = await db.query<{ state: string }>(
      "SELECT state FROM calls WHERE provider_call_id IN ('call-7', 'call-700', 'call-1400')",
    );
    t.deepEqual(
      rows.map((row) => row.state),
      ['answered', 'answered', 'answered'],
    );
  });

  engineTest(`a delivery is stored with its changes in one transaction; a redelivery stores and records nothing (${engine})`, async (t) => {
    const db = await migrated(t, engine);
    const items = [
      { dedupeKey: 'call-1:alerting', body: { n: 1 }, change: change('ringing') },
      { dedupeKey: 'call-1:hold', body: { n: 2 } },
    ];
    const first = await receiveDelivery(db, { provider: 'test', tenant: TENANT, items });
    t.is(first.stored, 2);
    t.is(first.events.length, 1);
    const again = await receiveDelivery(db, { provider: 'test', tenant: TENANT, items });
    t.deepEqual(again, { stored: 0, events: [] });
    const { rows } = await db.query<{ processed_at: Date | null; attempts: number }>('SELECT processed_at, attempts FROM deliveries');
    t.is(rows.length, 2);
    t.true(rows.every((row) => row.processed_at instanceof Date && row.attempts === 1));

    const failing = [
      { dedupeKey: 'call-2:alerting', body: {}, change: change('ringing', { providerCallId: 'call-2' }) },
      {
        dedupeKey: 'call-3:alerting',
        body: {},
        change: change('ringing', { providerCallId: 'call-3', direction: 'sideways' as 'inbound' }),
      },
    ];
    await t.throwsAsync(receiveDelivery(db, { provider: 'test', tenant: TENANT, items: failing }));
    t.is((await db.query('SELECT 1 FROM deliveries')).rowCount, 2, 'nothing of a failed delivery is stored');
    t.is((await calls(db)).length, 1);
  });

  engineTest(
    `deliveries arriving together are stored as storing them one after another would: the same calls, states, fields and events (${engine})`,
    async (t) => {
      const script = batchScript();
      const withCustomer = async () => {
        const db = await migrated(t, engine);
        await db.query("INSERT INTO customers (tenant, external_id, name, phone_e164) VALUES ($1, 'crm-d', 'Dee', '+18135550000')", [
          TENANT,
        ]);
        return db;
      };
      const oneByOne = await withCustomer();
      const alone = [];
      for (const delivery of script) alone.push(await receiveDelivery(oneByOne, delivery));
      const together = await withCustomer();
      const items = script.flatMap((delivery, index) =>
        delivery.items.map((item) => ({ ...item, delivery: index, provider: 'test', tenant: TENANT })),
      );
      const batch = await together.transaction((tx) => storeBatch(tx, items, script.length, async () => undefined));
      t.deepEqual(await contents(together), await contents(oneByOne));
      t.deepEqual(
        batch.stored,
        alone.map((result) => result.stored),
        'each delivery is told what it stored: a key twice in one delivery and the last, a redelivery of the first, are skipped',
      );
      t.deepEqual(batch.stored.at(-1), 0);
      t.deepEqual(
        batch.events.flat(),
        (await events(together)).map((event) => event.id),
        'each delivery is told its own events, and their ids follow the deliveries’ order',
      );
      t.deepEqual(
        batch.events.map((ids) => ids.length),
        alone.map((result) => result.events.length),
      );
    },
  );

  engineTest(
    `deliveries arriving while others are stored gather into one transaction, each told its own outcome (${engine})`,
    async (t) => {
      const db = await migrated(t, engine);
      const before = await commits(db);
      const deliveries = Array.from({ length: 40 }, (_, n) => ({
        provider: 'test',
        tenant: TENANT,
        items: [{ dedupeKey: `gather-${n}`, body: { n }, change: change('ringing', { providerCallId: `gather-${n % 20}` }) }],
      }));
      const results = await Promise.all(deliveries.map((delivery) => receiveDelivery(db, delivery)));
      t.true(results.every((result) => result.stored === 1));
      t.is(results.flatMap((result) => result.events).length, 20, 'the second delivery of each call moves nothing');
      t.is((await calls(db)).length, 20);
      const used = (await commits(db)) - before;
      t.true(used < 10, `40 deliveries took ${used} transactions`);
    },
  );

  engineTest(`a delivery whose data the database refuses fails alone: the others gathered with it are stored (${engine})`, async (t) => {
    const db = await migrated(t, engine);
    const good = (n: number) => ({
      provider: 'test',
      tenant: TENANT,
      items: [{ dedupeKey: `good-${n}`, body: { n }, change: change('ringing', { providerCallId: `good-${n}` }) }],
    });
    const bad = {
      provider: 'test',
      tenant: TENANT,
      items: [{ dedupeKey: 'bad', body: {}, change: change('ringing', { providerCallId: 'bad', direction: 'sideways' as 'inbound' }) }],
    };
    const outcomes = await Promise.allSettled([good(0), good(1), bad, good(2), good(3)].map((delivery) => receiveDelivery(db, delivery)));
    t.deepEqual(
      outcomes.map((outcome) => outcome.status),
      ['fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'fulfilled'],
    );
    t.deepEqual((await calls(db)).map((call) => call.state).length, 4);
    const keys = (await db.query<{ dedupe_key: string }>('SELECT dedupe_key FROM deliveries ORDER BY dedupe_key')).rows;
    t.deepEqual(
      keys.map((row) => row.dedupe_key),
      ['good-0', 'good-1', 'good-2', 'good-3'],
    );
  });
}

/**
 * Deliveries exercising every path of a batch: new calls, a call moved twice within one delivery and
 * again in a later one, a late change, an item without a change, a caller matched to a customer, the
 * same key twice in one delivery, and a last delivery that repeats the first.
 */
function batchScript(): { provider: string; tenant: string; items: DeliveryItem[] }[] {
  const item = (key: string, call: string, signal: CallChange['signal'], overrides: Partial<CallChange> = {}): DeliveryItem => ({
    dedupeKey: key,
    body: { key },
    change: change(signal, { providerCallId: call, ...overrides }),
  });
  const delivery = (...items: DeliveryItem[]) => ({ provider: 'test', tenant: TENANT, items });
  const first = delivery(item('a:ring', 'a', 'ringing'), item('a:answer', 'a', 'answered', { answeredAt: at(1) }));
  return [
    first,
    delivery(item('b:ring', 'b', 'ringing', { fromName: undefined }), { dedupeKey: 'b:hold', body: {} }),
    delivery(item('b:over', 'b', 'over', { fromName: 'Grace Hopper', toNumber: '+19295550199' }), item('c:ring', 'c', 'ringing')),
    delivery(item('a:ring-late', 'a', 'ringing'), item('a:over', 'a', 'over', { answeredAt: at(1) })),
    delivery(item('d:answer', 'd', 'answered', { fromE164: '+18135550000', fromNumber: '+18135550000' })),
    delivery(item('d:over', 'd', 'over'), item('d:over', 'd', 'over'), item('c:missed', 'c', 'missed')),
    first,
  ];
}

/**
 * Transactions committed in the database so far: PostgreSQL's own count (it lags by up to a statistics
 * flush, so it is forced); PGlite has no statistics collector, so its transactions are counted by a
 * trigger on the deliveries table: one count per transaction that stored any.
 */
async function commits(db: Database): Promise<number> {
  if (db.engine === 'postgres') {
    await db.query('SELECT pg_stat_force_next_flush()');
    const { rows } = await db.query<{ n: number }>('SELECT xact_commit::int AS n FROM pg_stat_database WHERE datname = current_database()');
    return rows[0]!.n;
  }
  await db.exec(`CREATE TABLE IF NOT EXISTS xacts (xid xid8 PRIMARY KEY);
    CREATE OR REPLACE FUNCTION count_xact() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN INSERT INTO xacts VALUES (pg_current_xact_id()) ON CONFLICT DO NOTHING; RETURN NULL; END $$;
    CREATE OR REPLACE TRIGGER count_xact AFTER INSERT ON deliveries FOR EACH ROW EXECUTE FUNCTION count_xact();`);
  const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM xacts');
  return rows[0]!.n;
}

/** What a database holds of calls and events, without the ids and clocks that differ between two runs. */
async function contents(db: Database) {
  const { rows: stored } = await db.query<Record<string, unknown>>(
    `SELECT provider_call_id, state, direction, from_number, from_name, to_number, started_at, answered_at, ended_at,
            (SELECT external_id FROM customers WHERE customers.id = customer_id) AS customer
       FROM calls ORDER BY provider_call_id`,
  );
  const { rows: recorded } = await db.query<Record<string, unknown>>(
    `SELECT calls.provider_call_id, call_events.state, call_events.at, deliveries.dedupe_key
       FROM call_events JOIN calls ON calls.id = call_events.call_id LEFT JOIN deliveries ON deliveries.id = call_events.delivery_id
      ORDER BY call_events.id`,
  );
  const { rows: kept } = await db.query<{ dedupe_key: string }>('SELECT dedupe_key FROM deliveries ORDER BY id');
  return { calls: stored, events: recorded, deliveries: kept.map((row) => row.dedupe_key) };
}

// PostgreSQL only: PGlite runs one transaction at a time, so its writers cannot interleave.
test('under concurrent deliveries, call events become visible in id order: a reader following ids never skips one (postgres)', async (t) => {
  const db = await migrated(t, 'postgres');
  // Widens the gap between an event's id being handed out and its transaction's commit, where a late
  // commit of a smaller id would slip behind a reader that already passed it.
  await db.exec(`CREATE FUNCTION linger() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(random() * 0.004); RETURN NULL; END $$;
                 CREATE TRIGGER linger AFTER INSERT ON call_events FOR EACH ROW EXECUTE FUNCTION linger();`);
  const seen: number[] = [];
  let writing = true;
  const reader = (async () => {
    let last = 0;
    while (writing) {
      const { rows } = await db.query<{ id: number }>('SELECT id FROM call_events WHERE id > $1 ORDER BY id', [last]);
      for (const { id } of rows) seen.push(Number(id));
      last = seen.at(-1) ?? last;
    }
  })();
  const deliveries = Array.from({ length: 200 }, (_, index) =>
    receiveDelivery(db, {
      provider: 'test',
      tenant: TENANT,
      items: [{ dedupeKey: `order-${index}`, body: {}, change: change('ringing', { providerCallId: `order-${index}` }) }],
    }),
  );
  const results = await Promise.all(deliveries);
  writing = false;
  await reader;
  const recorded = results.flatMap((result) => result.events).sort((a, b) => a - b);
  t.is(recorded.length, 200);
  const read = new Set(seen);
  const skipped = recorded.filter((id) => id <= (seen.at(-1) ?? 0) && !read.has(id));
  t.deepEqual(skipped, [], 'every event before the last one read was read');
});

test('two deliveries of the same calls in opposite orders, at once, several times: PostgreSQL’s deadlock breaking is retried, and each item is stored once (postgres)', async (t) => {
  const db = await migrated(t, 'postgres');
  // Each row of a delivery lingers before the next is inserted: the two transactions then hold one key
  // each when they reach the other's, every round, rather than once in a while.
  await db.exec(`CREATE FUNCTION linger() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(0.05); RETURN NEW; END $$;
                 CREATE TRIGGER linger BEFORE INSERT ON deliveries FOR EACH ROW EXECUTE FUNCTION linger();`);
  const item = (round: number, call: string) => ({
    dedupeKey: `${round}-${call}`,
    body: {},
    change: change('ringing', { providerCallId: `${round}-${call}` }),
  });
  for (let round = 0; round < 5; round++) {
    const forward = [item(round, 'a'), item(round, 'b')];
    const backward = [item(round, 'b'), item(round, 'a')];
    const [one, other] = await Promise.all([
      receiveDelivery(db, { provider: 'test', tenant: TENANT, items: forward }),
      receiveDelivery(db, { provider: 'test', tenant: TENANT, items: backward }),
    ]);
    t.is(one.stored + other.stored, 2, `round ${round}: each item stored once`);
  }
  t.is((await calls(db)).length, 10);
  t.is((await events(db)).length, 10);
});
