import test from 'ava';
import { createLogger, migrate, openDatabase, type Database } from '../src/index.js';
import { CALLBACK_EVENTS_CHANNEL, recordPlacedCallback, tokenMatches } from '../src/callbacks/store.js';
import { databaseFixture, ENGINES } from './fixtures/databases.js';
import { eventually } from './helpers.js';

/**
 * Recording calls just placed (the click-to-call route's write): calls placed together are recorded
 * together, in one statement, and each still gets its own row, token and first event.
 */

const databases = databaseFixture(test);
const logger = createLogger('silent');
const at = new Date('2026-11-26T09:00:00Z');

for (const engine of ENGINES) {
  test(`${engine}: 40 calls placed at once: each its own queued row, status token and one announced event`, async (t) => {
    const { db } = await databases.open(t, engine, logger);
    await migrate(db, { logger });
    const announced: string[] = [];
    const stop = await db.listen(CALLBACK_EVENTS_CHANNEL, (id) => announced.push(id));
    t.teardown(stop);

    const phones = Array.from({ length: 40 }, (_, index) => `+1813555${String(index).padStart(4, '0')}`);
    const recorded = await Promise.all(
      phones.map((phone, index) =>
        recordPlacedCallback(
          db,
          { tenant: 'example.com', provider: index % 2 ? 'twilio' : 'netsapiens', phone, providerCallSid: `CA${index}` },
          at,
        ),
      ),
    );

    const { rows } = await db.query<{
      id: string;
      phone_e164: string;
      provider: string;
      provider_call_sid: string;
      status: string;
      status_token_hash: string;
    }>('SELECT id, phone_e164, provider, provider_call_sid, status, status_token_hash FROM callbacks');
    t.is(rows.length, 40);
    recorded.forEach(({ callbackId, statusToken }, index) => {
      const row = rows.find(({ id }) => id === callbackId);
      t.like(row, {
        phone_e164: phones[index],
        provider: index % 2 ? 'twilio' : 'netsapiens',
        provider_call_sid: `CA${index}`,
        status: 'queued',
      });
      t.true(tokenMatches(row!.status_token_hash, statusToken), `call ${index}'s token matches its own row`);
    });
    t.is(new Set(recorded.map(({ statusToken }) => statusToken)).size, 40);

    const events = await db.query<{ id: number; callback_id: string; status: string }>(
      'SELECT id, callback_id, status FROM callback_events ORDER BY id',
    );
    t.deepEqual(events.rows.map(({ callback_id }) => callback_id).sort(), recorded.map(({ callbackId }) => callbackId).sort());
    t.true(events.rows.every(({ status }) => status === 'queued'));
    await eventually(() => announced.length === 40);
    t.deepEqual(
      announced.map(Number).sort((a, b) => a - b),
      events.rows.map(({ id }) => id),
    );
  });

  test(`${engine}: a call the database refuses, placed with others, fails alone: the others are recorded`, async (t) => {
    const { db } = await databases.open(t, engine, logger);
    await migrate(db, { logger });
    // Not E.164: the table's check refuses it (the route never passes one; the store must still not lose the rest).
    const phones = ['+18135550001', '+18135550002', 'not-a-number', '+18135550003', '+18135550004'];
    const outcomes = await Promise.allSettled(
      phones.map((phone) => recordPlacedCallback(db, { tenant: 'example.com', provider: 'netsapiens', phone }, at)),
    );

    t.deepEqual(
      outcomes.map(({ status }) => status),
      ['fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'fulfilled'],
    );
    const { rows } = await db.query<{ phone_e164: string }>('SELECT phone_e164 FROM callbacks ORDER BY phone_e164');
    t.deepEqual(
      rows.map(({ phone_e164 }) => phone_e164),
      ['+18135550001', '+18135550002', '+18135550003', '+18135550004'],
    );
    const events = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM callback_events');
    t.is(events.rows[0]!.n, 4);
  });
}

test('postgres: two instances sharing the database record at once: every call once, every event announced once to each', async (t) => {
  const settings = await databases.settings(t, 'postgres');
  const [one, two] = await Promise.all([openDatabase(settings, { logger }), openDatabase(settings, { logger })]);
  t.teardown(() => Promise.all([one.close(), two.close()]));
  await migrate(one, { logger });
  const heard = { one: [] as string[], two: [] as string[] };
  const stops = await Promise.all([
    one.listen(CALLBACK_EVENTS_CHANNEL, (id) => heard.one.push(id)),
    two.listen(CALLBACK_EVENTS_CHANNEL, (id) => heard.two.push(id)),
  ]);
  t.teardown(() => Promise.all(stops.map((stop) => stop())));

  const place = (db: Database, index: number) =>
    recordPlacedCallback(db, { tenant: 'example.com', provider: 'netsapiens', phone: `+1813555${String(index).padStart(4, '0')}` }, at);
  const recorded = await Promise.all(Array.from({ length: 80 }, (_, index) => place(index % 2 ? two : one, index)));

  const { rows } = await one.query<{ id: number; callback_id: string }>('SELECT id, callback_id FROM callback_events ORDER BY id');
  t.deepEqual(rows.map(({ callback_id }) => callback_id).sort(), recorded.map(({ callbackId }) => callbackId).sort());
  await eventually(() => heard.one.length >= 80 && heard.two.length >= 80);
  for (const announced of [heard.one, heard.two])
    t.deepEqual(
      announced.map(Number).sort((a, b) => a - b),
      rows.map(({ id }) => id),
    );
});
