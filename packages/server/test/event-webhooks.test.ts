// Outgoing call-event webhooks (actions/event-webhooks.ts) on PGlite and PostgreSQL: real receivers on
// port 0, each request verified with the standardwebhooks library (not our signing code).
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import test, { type ExecutionContext } from 'ava';
import { Webhook } from 'standardwebhooks';
import { startEventRelay, type EventRelayOptions } from '../src/index.js';
import { recordCallChange, type CallChange } from '../src/events/calls.js';
import { checkTenants } from '../src/tenants/schema.js';
import { createLogger, migrate, openDatabase, type Database, type Engine, type Tenants } from '../src/index.js';
import { databaseFixture, ENGINES } from './fixtures/databases.js';
import { eventually } from './eventually.js';

const fixture = databaseFixture(test);
const quiet = createLogger('silent');

const newSecret = () => `whsec_${randomBytes(32).toString('base64')}`;

interface Received {
  headers: Record<string, string>;
  body: string;
  type: string;
  sessionId: string;
}

interface Receiver {
  url: string;
  secret: string;
  received: Received[];
  /** The status to answer the next requests with, in order; 200 once they are used up. */
  answers: number[];
  /** The statuses to answer the next requests of one type (`call.ringing`) with, before `answers`. */
  answersFor: Map<string, number[]>;
}

async function startReceiver(t: ExecutionContext, path = '/hooks/beckon'): Promise<Receiver> {
  const receiver: Receiver = { url: '', secret: newSecret(), received: [], answers: [], answersFor: new Map() };
  const verifier = new Webhook(receiver.secret);
  const server = createServer((request: IncomingMessage, response) => {
    let body = '';
    request.setEncoding('utf8');
    request.on('data', (chunk: string) => (body += chunk));
    request.on('end', () => {
      const headers = Object.fromEntries(Object.entries(request.headers).map(([name, value]) => [name, String(value)]));
      const type = /"type":"([a-z.]+)"/.exec(body)?.[1] ?? '';
      const status = receiver.answersFor.get(type)?.shift() ?? receiver.answers.shift() ?? 200;
      if (status === 200) {
        // Throws on a bad signature or an old timestamp: the test then sees a 400 retried, and fails.
        try {
          const payload = verifier.verify(body, headers) as { type: string; data: { call: { session_id: string } } };
          receiver.received.push({ headers, body, type: payload.type, sessionId: payload.data.call.session_id });
        } catch {
          response.writeHead(400).end();
          return;
        }
      }
      response.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}${path}?token=receiver-query-secret`;
  return receiver;
}

function tenantsWith(receivers: Record<string, Receiver[]>): Tenants {
  const raw = Object.fromEntries(
    Object.entries(receivers).map(([id, hooks]) => [
      id,
      { api_domain: id.split('-')[0], event_webhooks: hooks.map(({ url, secret }) => ({ url, secret })) },
    ]),
  );
  const { tenants, rejected } = checkTenants({ ...raw, 'b.com-y': { api_domain: 'b.com' } });
  if (rejected.length > 0) throw new Error(JSON.stringify(rejected));
  return tenants;
}

function capture(): { logger: ReturnType<typeof createLogger>; lines: Array<Record<string, unknown>>; text: () => string } {
  const lines: Array<Record<string, unknown>> = [];
  let raw = '';
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      raw += chunk.toString();
      for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { logger: createLogger('debug', sink), lines, text: () => raw };
}

let calls = 0;
function change(tenant: string, providerCallId: string, signal: CallChange['signal']): CallChange {
  calls += 1;
  return {
    tenant,
    provider: 'netsapiens',
    providerCallId,
    direction: 'inbound',
    signal,
    at: new Date(Date.UTC(2026, 10, 25, 20, 0, calls)),
    fromNumber: '+18135551234',
    fromE164: '+18135551234',
    toNumber: '+19295550100',
  };
}

async function migrated(t: ExecutionContext, engine: Engine): Promise<{ db: Database; settings: Parameters<typeof openDatabase>[0] }> {
  const opened = await fixture.open(t, engine);
  await migrate(opened.db, { logger: quiet });
  return opened;
}

function relay(t: ExecutionContext, options: EventRelayOptions) {
  const running = startEventRelay({ pollMs: 50, ...options });
  t.teardown(() => running.close());
  return running;
}

for (const engine of ENGINES) {
  const engineTest = engine === 'pglite' ? test.serial : test;

  engineTest(`each call event reaches every receiver of its id once, in order, signed as Standard Webhooks says (${engine})`, async (t) => {
    const { db } = await migrated(t, engine);
    const [first, second] = [await startReceiver(t), await startReceiver(t, '/other')];
    const tenants = tenantsWith({ 'a.com-x': [first, second] });
    relay(t, { db, tenants: { get: (id) => tenants[id] }, logger: quiet });
    for (const signal of ['ringing', 'answered', 'ended'] as const) await recordCallChange(db, change('a.com-x', 'hook-1', signal));
    await recordCallChange(db, change('b.com-y', 'hook-other-id', 'ringing'));
    // A redelivery changes nothing, so it is no event and nobody hears of it.
    await recordCallChange(db, change('a.com-x', 'hook-1', 'answered'));

    for (const receiver of [first, second]) {
      t.true(await eventually(() => receiver.received.length >= 3, 10_000), `${receiver.received.length} received`);
      t.deepEqual(
        receiver.received.map((each) => [each.type, each.sessionId]),
        [
          ['call.ringing', 'hook-1'],
          ['call.answered', 'hook-1'],
          ['call.ended', 'hook-1'],
        ],
      );
      const ids = receiver.received.map((each) => each.headers['webhook-id']);
      t.is(new Set(ids).size, 3, 'one webhook-id per event');
      t.like(JSON.parse(receiver.received[0]!.body), {
        data: { call: { tenant: 'a.com-x', status: 'ringing', from_number: '+18135551234' } },
      });
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
    t.is(first.received.length, 3, 'nothing twice, and nothing of another id');
  });

  engineTest(
    `a receiver that fails gets the event again after the retry delay, the call's later events wait for it, and the last failure is given up and logged without the URL's query (${engine})`,
    async (t) => {
      const { db } = await migrated(t, engine);
      const flaky = await startReceiver(t);
      flaky.answersFor.set('call.ringing', [500, 503]);
      const tenants = tenantsWith({ 'a.com-x': [flaky] });
      const log = capture();
      relay(t, { db, tenants: { get: (id) => tenants[id] }, logger: log.logger, retryDelaysMs: [100, 100] });
      await recordCallChange(db, change('a.com-x', 'hook-flaky', 'ringing'));
      await recordCallChange(db, change('a.com-x', 'hook-flaky', 'answered'));
      t.true(await eventually(() => flaky.received.length >= 2, 10_000));
      t.deepEqual(
        flaky.received.map((each) => each.type),
        ['call.ringing', 'call.answered'],
        'answered waited for ringing, which took three attempts',
      );
      t.true(log.lines.some((line) => line.msg === 'event webhook not delivered: trying again later' && line.reason === 'answered 500'));

      flaky.answers = [500, 500, 500];
      await recordCallChange(db, change('a.com-x', 'hook-flaky', 'ended'));
      t.true(await eventually(() => log.lines.some((line) => line.msg === 'event webhook given up'), 10_000));
      const { rows } = await db.query<{ attempts: number; last_error: string }>(
        'SELECT attempts, last_error FROM event_webhook_deliveries WHERE failed_at IS NOT NULL',
      );
      t.deepEqual(rows, [{ attempts: 3, last_error: 'answered 500' }]);
      t.false(log.text().includes('receiver-query-secret'), "the receiver URL's query is never logged");
      t.false(log.text().includes(flaky.secret.slice(6)), 'nor the signing secret');
    },
  );

  engineTest(`deliveries survive a restart: rows left by a relay that stopped are sent by the next (${engine})`, async (t) => {
    const { db } = await migrated(t, engine);
    const receiver = await startReceiver(t);
    receiver.answers = [503];
    const tenants = tenantsWith({ 'a.com-x': [receiver] });
    const before = startEventRelay({ db, tenants: { get: (id) => tenants[id] }, logger: quiet, pollMs: 50, retryDelaysMs: [60_000] });
    await recordCallChange(db, change('a.com-x', 'hook-restart', 'ringing'));
    t.true(await eventually(async () => (await db.query('SELECT 1 FROM event_webhook_deliveries WHERE attempts = 1')).rows.length === 1));
    await before.close();
    t.is(receiver.received.length, 0);
    // The next process: the wait is over (as if a minute had passed).
    await db.query('UPDATE event_webhook_deliveries SET next_attempt_at = now()');
    relay(t, { db, tenants: { get: (id) => tenants[id] }, logger: quiet });
    t.true(await eventually(() => receiver.received.length === 1, 10_000));
    t.is(receiver.received[0]!.type, 'call.ringing');
  });
}

test('two relays on one PostgreSQL (two instances) send each event once', async (t) => {
  const { db, settings } = await migrated(t, 'postgres');
  const other = await openDatabase(settings, { logger: quiet });
  t.teardown(() => other.close());
  const receiver = await startReceiver(t);
  const tenants = tenantsWith({ 'a.com-x': [receiver] });
  relay(t, { db, tenants: { get: (id) => tenants[id] }, logger: quiet, pollMs: 10 });
  relay(t, { db: other, tenants: { get: (id) => tenants[id] }, logger: quiet, pollMs: 10 });
  await Promise.all(Array.from({ length: 20 }, (_, index) => recordCallChange(db, change('a.com-x', `hook-twice-${index}`, 'ringing'))));
  t.true(await eventually(() => receiver.received.length >= 20, 10_000));
  await new Promise((resolve) => setTimeout(resolve, 500));
  const ids = receiver.received.map((each) => each.headers['webhook-id']);
  t.is(ids.length, 20);
  t.is(new Set(ids).size, 20);
});

test('event_webhooks in a config: a URL and a whsec_ secret of 24 bytes or more, at most 5, no URL twice', (t) => {
  const good = { url: 'https://crm.example.com/hooks', secret: newSecret() };
  const check = (event_webhooks: unknown) => checkTenants({ 'a.com-x': { api_domain: 'a.com', event_webhooks } }).rejected[0]?.reason;
  t.is(check([good]), undefined);
  t.regex(
    check([{ ...good, secret: 'hunter2' }]) ?? '',
    /event_webhooks\.0\.secret: must be whsec_ and the base64 of at least 24 random bytes/,
  );
  t.regex(check([{ ...good, secret: `whsec_${randomBytes(16).toString('base64')}` }]) ?? '', /secret: must be whsec_/);
  t.regex(check([{ ...good, url: 'ftp://crm.example.com' }]) ?? '', /url: must be an http\(s\) URL/);
  t.regex(check([good, good]) ?? '', /must not list a URL twice/);
  t.regex(
    check(Array.from({ length: 6 }, (_, index) => ({ ...good, url: `https://crm.example.com/${index}` }))) ?? '',
    /at most 5 receivers/,
  );
  t.regex(check([{ ...good, extra: true }]) ?? '', /Unrecognized key|extra/);
});
