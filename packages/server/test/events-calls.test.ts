import test, { type ExecutionContext } from 'ava';
import { createLogger, migrate, type Database, type Engine } from '../src/index.js';
import { CALL_EVENTS_CHANNEL, recordCallChange, type CallChange } from '../src/events/calls.js';
import { receiveDelivery } from '../src/events/intake.js';
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
