import test from 'ava';
import fc from 'fast-check';
import { createLogger, openMigratedDatabase, type Database } from '../src/index.js';
import { databaseFixture, ENGINES } from './fixtures/databases.js';
import { callRecord, ID, startIntakeServer, subscribe, type IntakeServer } from './fixtures/netsapiens.js';
import { startPostgres } from './fixtures/postgres.js';

const fixture = databaseFixture(test);

interface CallRow {
  provider: string;
  provider_call_id: string;
  tenant: string;
  direction: string;
  from_number: string | null;
  from_name: string | null;
  to_number: string | null;
  state: string;
  started_at: Date;
  answered_at: Date | null;
  ended_at: Date | null;
  customer_id: number | null;
}

const calls = async (db: Database) => (await db.query<CallRow>('SELECT * FROM calls ORDER BY id')).rows;
const eventStates = async (db: Database) =>
  (await db.query<{ state: string }>('SELECT state FROM call_events ORDER BY id')).rows.map((row) => row.state);

async function ok(response: Response, stored: number, received = 1): Promise<void> {
  const body = (await response.json()) as unknown;
  if (response.status !== 200) throw new Error(`status ${response.status}: ${JSON.stringify(body)}`);
  if (JSON.stringify(body) !== JSON.stringify({ status: 'ok', received, stored })) throw new Error(`answered ${JSON.stringify(body)}`);
}

/** The answer's status and error message. */
async function refused(response: Response): Promise<[number, string]> {
  const body = (await response.json()) as { status: string; message: string };
  return [response.status, body.message];
}

for (const engine of ENGINES) {
  // Each PGlite holds the process's event loop while it starts: one at a time, PostgreSQL's concurrently.
  const engineTest = engine === 'pglite' ? test.serial : test;
  engineTest(
    `a call's life over HTTP: ringing → answered → ended, then a missed call; normalized from the records (${engine})`,
    async (t) => {
      const server = await startIntakeServer(t, fixture, engine);
      await ok(await server.deliver([callRecord('ringing')]), 1);
      t.like((await calls(server.db))[0], { state: 'ringing', answered_at: null });
      await ok(await server.deliver([callRecord('answered')]), 1);
      await ok(await server.deliver([callRecord('ended', { answered: true })]), 1);
      const [call] = await calls(server.db);
      t.like(call, {
        tenant: ID,
        provider: 'netsapiens',
        provider_call_id: 'a1b2c3d4@192.0.2.10',
        direction: 'inbound',
        from_number: '+18135551234',
        from_name: 'ADA LOVELACE',
        to_number: '+19295550100',
        state: 'ended',
        customer_id: null,
      });
      t.deepEqual(call!.started_at, new Date('2026-11-25T20:15:00Z'));
      t.deepEqual(call!.answered_at, new Date('2026-11-25T20:15:07Z'));
      t.true(call!.ended_at instanceof Date);

      await ok(await server.deliver([callRecord('ringing', { callId: 'missed-1', from: '2001', fromName: '' })]), 1);
      await ok(await server.deliver([callRecord('ended', { callId: 'missed-1', from: '2001', fromName: '' })]), 1);
      t.like((await calls(server.db))[1], { state: 'missed', from_number: '2001', from_name: null, answered_at: null });
      t.deepEqual(await eventStates(server.db), ['ringing', 'answered', 'ended', 'ringing', 'missed']);
      t.deepEqual(await server.counts(), { deliveries: 5, calls: 2, call_events: 5 });
    },
  );

  engineTest(`a redelivery is answered 200 and changes nothing: one call, each event once (${engine})`, async (t) => {
    const server = await startIntakeServer(t, fixture, engine);
    const delivery = [callRecord('ringing'), callRecord('answered')];
    await ok(await server.deliver(delivery), 2, 2);
    await ok(await server.deliver(delivery), 0, 2);
    await ok(await server.deliver([callRecord('answered'), callRecord('answered')]), 0, 2);
    t.deepEqual(await server.counts(), { deliveries: 2, calls: 1, call_events: 2 });
    t.deepEqual(await eventStates(server.db), ['ringing', 'answered']);
  });

  engineTest(`out of order: a late alerting after the remove is stored but changes nothing (${engine})`, async (t) => {
    const server = await startIntakeServer(t, fixture, engine);
    await ok(await server.deliver([callRecord('ended', { answered: true })]), 1);
    t.like((await calls(server.db))[0], { state: 'ended' }, 'the remove of an answered call, seen first: ended');
    await ok(await server.deliver([callRecord('ringing')]), 1);
    await ok(await server.deliver([callRecord('answered')]), 1);
    t.like((await calls(server.db))[0], { state: 'ended' });
    t.deepEqual(await eventStates(server.db), ['ended']);
    t.deepEqual(await server.counts(), { deliveries: 3, calls: 1, call_events: 1 });
  });

  engineTest(
    `a ring group: two phones ring, one answers, the other's leg goes; the call ends with the answered leg (${engine})`,
    async (t) => {
      const server = await startIntakeServer(t, fixture, engine);
      await ok(await server.deliver([callRecord('ringing', { leg: '2000' }), callRecord('ringing', { leg: '2001' })]), 2, 2);
      await ok(await server.deliver([callRecord('answered', { leg: '2000' }), callRecord('ended', { leg: '2001' })]), 2, 2);
      t.like((await calls(server.db))[0], { state: 'answered', ended_at: null }, 'the unanswered leg going does not end the call');
      await ok(await server.deliver([callRecord('ended', { leg: '2000', answered: true })]), 1);
      t.like((await calls(server.db))[0], { state: 'ended' });
      t.deepEqual(await eventStates(server.db), ['ringing', 'answered', 'ended']);
      t.deepEqual(await server.counts(), { deliveries: 5, calls: 1, call_events: 3 }, "every leg's record stored");
    },
  );

  engineTest(`a wrong or missing token, or an unknown id, is a 401 and stores nothing (${engine})`, async (t) => {
    const server = await startIntakeServer(t, fixture, engine);
    const other = await subscribe(server.db, 'example.com-sms');
    const body = [callRecord('ringing')];
    const attempts = {
      'no token': `id=${ID}`,
      'an empty token': `id=${ID}&token=`,
      'a wrong token': `id=${ID}&token=${'x'.repeat(43)}`,
      'the token with a character changed': `id=${ID}&token=${server.token.slice(0, -1)}${server.token.endsWith('A') ? 'B' : 'A'}`,
      "another id's token": `id=${ID}&token=${other}`,
      'an unknown id': `id=nobody.net-sales&token=${server.token}`,
      'no id': `token=${server.token}`,
      'the token twice': `id=${ID}&token=${server.token}&token=${server.token}`,
    };
    const messages = new Set<string>();
    for (const [what, query] of Object.entries(attempts)) {
      const [status, message] = await refused(await server.deliver(body, query));
      t.is(status, 401, what);
      messages.add(message);
    }
    t.is(messages.size, 1, 'one answer for every reason: which ids exist is not told');
    const [status] = await refused(await server.deliver('{not json', `id=${ID}&token=wrong`));
    t.is(status, 401, 'the body is not read before the token is checked');
    t.deepEqual(await server.counts(), { deliveries: 0, calls: 0, call_events: 0 });
    for (const token of [server.token, other]) t.false(server.harness.logText().includes(token), 'no token in the log');
  });

  engineTest(`a body that is not call records is a 4xx with a message, and stores nothing (${engine})`, async (t) => {
    const server = await startIntakeServer(t, fixture, engine);
    const cases: [string, unknown, number, RegExp, Record<string, string>?][] = [
      ['malformed JSON', '[{"orig_callid": ', 400, /not valid JSON/],
      ['an object', { orig_callid: 'x' }, 400, /JSON array of NetSapiens call records/],
      ['a record that is not an object', [callRecord('ringing'), 'x'], 400, /Record 1 is not an object/],
      ['a record without orig_callid', [callRecord('ringing'), { term_call_info: 'alerting' }], 400, /Record 1 has no orig_callid/],
      ['a numeric orig_callid', [{ ...callRecord('ringing'), orig_callid: 42 }], 400, /Record 0 has no orig_callid/],
      ['no body', '', 400, /JSON array/],
      ['text/plain', JSON.stringify([callRecord('ringing')]), 415, /application\/json/, { 'content-type': 'text/plain' }],
      ['over 1 MiB', [{ ...callRecord('ringing'), notes: 'x'.repeat(1_100_000) }], 413, /larger than 1048576 bytes/],
    ];
    for (const [what, body, expected, message, headers] of cases) {
      const [status, text] = await refused(await server.deliver(body, undefined, headers));
      t.is(status, expected, what);
      t.regex(text, message, what);
    }
    t.deepEqual(await server.counts(), { deliveries: 0, calls: 0, call_events: 0 });
  });

  engineTest(`the caller is matched to a customer by E.164: "(813) 555-1234" in a record is +18135551234 (${engine})`, async (t) => {
    const server = await startIntakeServer(t, fixture, engine);
    const { rows } = await server.db.query<{ id: number }>(
      "INSERT INTO customers (tenant, external_id, name, phone_e164) VALUES ($1, 'crm-7', 'Ada', '+18135551234') RETURNING id",
      [ID],
    );
    const record = { ...callRecord('ringing', { callId: 'formatted-1' }), orig_from_uri: '', orig_from_user: '(813) 555-1234' };
    await ok(await server.deliver([record, callRecord('ringing', { callId: 'digits-1', from: '18135551234' })]), 2, 2);
    await ok(await server.deliver([callRecord('ringing', { callId: 'other-1', from: '8135559999' })]), 1);
    const [formatted, digits, other] = await calls(server.db);
    t.like(formatted, { from_number: '+18135551234', customer_id: rows[0]!.id });
    t.like(digits, { from_number: '+18135551234', customer_id: rows[0]!.id });
    t.like(other, { from_number: '+18135559999', customer_id: null });
  });

  engineTest(
    `regression: NUL and lone surrogates in a record are made storable: 200, every record of the delivery stored, a redelivery still a redelivery (${engine})`,
    async (t) => {
      const server = await startIntakeServer(t, fixture, engine);
      const delivery = [
        callRecord('ringing', { callId: 'good-call' }),
        callRecord('ringing', { callId: 'nul-name', fromName: 'A\u0000B' }),
        callRecord('ringing', { callId: 'nul\u0000id' }),
        { ...callRecord('ringing', { callId: 'surrogate-name', fromName: 'Ada \ud800' }), ['x\u0000\udfff']: ['\u0000', { y: '\ud83d' }] },
      ];
      await ok(await server.deliver(delivery), 4, 4);
      const stored = await calls(server.db);
      t.deepEqual(
        stored.map((call) => [call.provider_call_id, call.from_name]),
        [
          ['good-call', 'ADA LOVELACE'],
          ['nul-name', 'AB'],
          ['nulid', 'ADA LOVELACE'],
          ['surrogate-name', 'Ada \uFFFD'],
        ],
      );
      const { rows } = await server.db.query<{ body: Record<string, unknown> }>(
        "SELECT body FROM deliveries WHERE body->>'orig_callid' = 'surrogate-name'",
      );
      t.deepEqual(rows[0]!.body['x\uFFFD'], ['', { y: '\uFFFD' }], 'the raw record, its strings and keys made storable');
      await ok(await server.deliver(delivery), 0, 4);
      t.deepEqual(await server.counts(), { deliveries: 4, calls: 4, call_events: 4 });
      t.false(server.harness.logs.some((line) => line.level >= 50));
    },
  );

  engineTest(
    `regression: a record nested too deep to store is skipped with a warning, and the rest of its delivery is stored: 200 (${engine})`,
    async (t) => {
      const server = await startIntakeServer(t, fixture, engine);
      const depth = 10_000;
      const deep = `{"orig_callid":"deep","term_call_info":"alerting","x":${'['.repeat(depth)}${']'.repeat(depth)}}`;
      const response = await server.deliver(`[${JSON.stringify(callRecord('ringing', { callId: 'good-call' }))},${deep}]`);
      t.is(response.status, 200);
      t.deepEqual(await response.json(), { status: 'ok', received: 2, stored: 1, skipped: 1 });
      t.deepEqual(
        (await calls(server.db)).map((call) => call.provider_call_id),
        ['good-call'],
      );
      const warning = server.harness.logs.find((line) => line.msg === 'netsapiens record skipped: it cannot be stored');
      t.like(warning, { level: 40, id: ID, record: 1, reason: 'nested more than 16 levels deep' });
      t.false(server.harness.logs.some((line) => line.level >= 50));
    },
  );

  engineTest(
    `regression: any text in any field of a record (NUL, lone surrogates, any code point) is a 200 that stores the delivery, and its redelivery stores nothing (${engine})`,
    async (t) => {
      const server = await startIntakeServer(t, fixture, engine);
      const unit = fc.oneof(
        fc.constantFrom('\u0000', '\ud800', '\udbff', '\udc00', '\udfff', ':', '%', '\u202e'),
        fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
      );
      const text = fc.string({ unit, maxLength: 12 });
      let run = 0;
      await fc.assert(
        fc.asyncProperty(text, text, text, text, text, async (callId, leg, name, key, value) => {
          run += 1;
          const good = callRecord('ringing', { callId: `good-${run}` });
          const fuzzed = {
            ...callRecord('ringing', { callId: `fuzz-${run}-${callId}`, fromName: name }),
            term_callid: leg,
            [`x${key}`]: value,
          };
          const delivery = [good, fuzzed];
          await ok(await server.deliver(delivery), 2, 2);
          await ok(await server.deliver(delivery), 0, 2);
        }),
        { numRuns: 40 },
      );
      const { rows } = await server.db.query<{ count: number }>(
        "SELECT count(*)::int AS count FROM calls WHERE provider_call_id LIKE 'good-%'",
      );
      t.is(rows[0]!.count, run);
      t.false(server.harness.logs.some((line) => line.level >= 50));
    },
  );

  engineTest(`regression: an id no config can have (a NUL) is the 401 of an unknown id, not a 500 (${engine})`, async (t) => {
    const server = await startIntakeServer(t, fixture, engine);
    const unknown = await refused(await server.deliver([callRecord('ringing')], 'id=nobody.net-sales&token=x'));
    for (const query of ['id=a%00&token=x', `id=${ID}%00&token=${server.token}`, "id=a'b&token=x", `id=${'a'.repeat(200)}&token=x`]) {
      t.deepEqual(await refused(await server.deliver([callRecord('ringing')], query)), unknown, query);
    }
    t.deepEqual(await server.counts(), { deliveries: 0, calls: 0, call_events: 0 });
    t.false(server.harness.logs.some((line) => line.level >= 50));
  });

  engineTest(`regression: a delivery of more than 500 records is a 413 that says the limit, and stores nothing (${engine})`, async (t) => {
    const server = await startIntakeServer(t, fixture, engine);
    const records = (n: number) => Array.from({ length: n }, (_, i) => callRecord('ringing', { callId: `bulk-${n}-${i}` }));
    const [status, message] = await refused(await server.deliver(records(501)));
    t.is(status, 413);
    t.is(message, 'The delivery holds 501 records: send at most 500 records per delivery');
    t.deepEqual(await server.counts(), { deliveries: 0, calls: 0, call_events: 0 });
    await ok(await server.deliver(records(500)), 500, 500);
  });

  engineTest(
    `regression: call ids holding ":" make distinct dedupe keys ("a:b" + leg "x" is not "a" + leg "b:x"), while a key stored before stays a redelivery (${engine})`,
    async (t) => {
      const server = await startIntakeServer(t, fixture, engine);
      const removed = (callId: string, leg: string) => ({ ...callRecord('ended', { callId }), term_callid: leg });
      await ok(await server.deliver([removed('a:b', 'alerting'), removed('a', 'b:alerting'), removed('a%3Ab', 'alerting')]), 3, 3);
      t.deepEqual(
        (await calls(server.db)).map((call) => call.provider_call_id),
        ['a:b', 'a', 'a%3Ab'],
      );
      // As stored before the parts were escaped: an id without ":" or "%" has the same key, so its redelivery after an upgrade is one.
      const before = callRecord('ringing', { callId: 'old-call@192.0.2.10' });
      await server.db.query(
        `INSERT INTO deliveries (provider, tenant, dedupe_key, body, processed_at) VALUES ('netsapiens', $1, $2, $3::jsonb, now())`,
        [ID, `old-call@192.0.2.10:${before.term_callid}:alerting`, JSON.stringify(before)],
      );
      await ok(await server.deliver([before]), 0);
    },
  );

  engineTest(
    `regression: a database error in a delivery is logged with its code, message and request id, never the query, its parameters or a phone number (${engine})`,
    async (t) => {
      const server = await startIntakeServer(t, fixture, engine);
      // A constraint no record meets: a data error (a bug's kind, a 500), raised with the raw record as a parameter.
      await server.db.query("ALTER TABLE deliveries ADD CONSTRAINT refuse_all CHECK (dedupe_key = 'none')");
      const response = await server.deliver([callRecord('ringing', { from: '18135551234', fromName: 'Ada Lovelace' })]);
      t.is(response.status, 500);
      const requestId = response.headers.get('x-request-id');
      const line = server.harness.logs.find((entry) => entry.msg === 'request failed');
      t.like(line, { level: 50, requestId, err: { code: '23514' } });
      t.regex(String((line?.err as { message?: unknown }).message), /refuse_all/);
      for (const field of ['query', 'params', 'detail', 'where']) t.false(field in (line!.err as object), field);
      const log = server.harness.logText();
      for (const secret of ['8135551234', 'Ada Lovelace', 'a1b2c3d4@192.0.2.10', server.token]) t.false(log.includes(secret), secret);
    },
  );
}

test.serial('with the embedded database closed, a delivery is a 503 with Retry-After, and nothing is half-stored', async (t) => {
  const server = await startIntakeServer(t, fixture, 'pglite');
  await ok(await server.deliver([callRecord('ringing')]), 1);
  await server.db.close();
  const response = await server.deliver([callRecord('answered')]);
  t.is(response.status, 503);
  t.is(response.headers.get('retry-after'), '5');
  t.regex(((await response.json()) as { message: string }).message, /nothing was stored; deliver again later/);
  t.false(server.harness.logText().includes(server.token));
  // Reopened, as after a restart: the answered record is not there, and its redelivery is.
  const reopened = await openMigratedDatabase(server.settings, { logger: createLogger('silent') });
  t.teardown(() => reopened.close());
  t.deepEqual(await eventStates(reopened), ['ringing']);
  t.is((await reopened.query('SELECT 1 FROM deliveries')).rowCount, 1);
});

test('with PostgreSQL stopped, a delivery is a 503 and stores nothing; once it is back, the redelivery is stored', async (t) => {
  // A cluster of its own: this test stops it.
  const cluster = await startPostgres();
  t.teardown(() => cluster.close());
  const settings = { databaseUrl: await cluster.createDatabase(), dataDir: '/nonexistent' };
  const server = await startIntakeServer(t, fixture, 'postgres', { settings });
  await ok(await server.deliver([callRecord('ringing')]), 1);
  // The throwaway cluster commits asynchronously and stops as a crash would: write what is committed first.
  await server.db.query('CHECKPOINT');
  await cluster.stop();
  for (const record of [callRecord('answered'), callRecord('ended', { answered: true })]) {
    const response = await server.deliver([record]);
    t.is(response.status, 503);
    t.is(response.headers.get('retry-after'), '5');
  }
  const [status] = await refused(await server.deliver([callRecord('answered')], `id=${ID}&token=wrong`));
  t.is(status, 503, 'a token cannot be checked without the database either');
  await cluster.start();
  let answer: Response | undefined;
  for (let attempt = 0; attempt < 50; attempt += 1) {
    answer = await server.deliver([callRecord('answered')]);
    if (answer.status === 200) break;
    await answer.arrayBuffer();
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await ok(answer!, 1);
  t.deepEqual(await eventStates(server.db), ['ringing', 'answered']);
  t.deepEqual(await server.counts(), { deliveries: 2, calls: 1, call_events: 2 });
  t.false(server.harness.logText().includes(server.token));
});

test('two server instances on one PostgreSQL receiving the same deliveries at once: one call, each event once', async (t) => {
  const first = await startIntakeServer(t, fixture, 'postgres');
  const second: IntakeServer = await startIntakeServer(t, fixture, 'postgres', { settings: first.settings, token: first.token });
  for (const [index, records] of [[callRecord('ringing')], [callRecord('answered')], [callRecord('ended', { answered: true })]].entries()) {
    const answers = await Promise.all([first, second, first, second].map((server) => server.deliver(records)));
    const bodies = (await Promise.all(answers.map((answer) => answer.json()))) as { stored: number }[];
    t.true(
      answers.every((answer) => answer.status === 200),
      `delivery ${index}: every instance answers 200`,
    );
    t.is(
      bodies.reduce((sum, body) => sum + body.stored, 0),
      1,
      `delivery ${index}: stored once`,
    );
  }
  t.deepEqual(await first.counts(), { deliveries: 3, calls: 1, call_events: 3 });
  t.deepEqual(await eventStates(first.db), ['ringing', 'answered', 'ended']);
});
