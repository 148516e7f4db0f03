import test, { type ExecutionContext } from 'ava';
import type { QueuedCallLegsOptions } from '@beckon/ns-client/sandbox';
import { createLogger, migrate, openDatabase, placementFor, startCallbackWorker, type Database, type Engine } from '../src/index.js';
import { databaseFixture, ENGINES } from './fixtures/databases.js';
import { subscribe } from './fixtures/netsapiens.js';
import { eventually, startHarness, type Harness } from './helpers.js';

/**
 * Live call status end to end: a click-to-call placed through the NS sandbox, whose queued call's legs
 * the sandbox delivers to Beckon's NetSapiens webhook as a `call` subscription would; the worker matches
 * them to the callback; the status stream (SSE) shows queued → ringing → answered → ended, or no-answer.
 * On PostgreSQL the stream is held by a second instance, so each status crosses LISTEN/NOTIFY.
 */

const databases = databaseFixture(test);
const ID = 'example.com-sales';
/** The number the sandbox lets ring out unanswered. */
const NOBODY_HOME = '+18135550000';

interface StatusEvent {
  id: number;
  event: string;
  status: string;
  at: string;
}

interface Setup {
  /** Where calls are placed and NetSapiens delivers. */
  placing: Harness;
  /** Where the status streams are opened: another instance on PostgreSQL. */
  streaming: Harness;
  db: Database;
  call(phone: string): Promise<{ callback_id: string; status_token: string }>;
}

async function setup(t: ExecutionContext, engine: Engine, legs: QueuedCallLegsOptions): Promise<Setup> {
  const settings = await databases.settings(t, engine);
  const db = await openDatabase(settings, { logger: createLogger('silent') });
  t.teardown(() => db.close());
  await migrate(db, { logger: createLogger('silent') });
  const token = await subscribe(db, ID);
  const placing = await startHarness({ db, sandbox: { queuedCallLegs: { answer: (to) => to !== NOBODY_HOME, ...legs } } });
  t.teardown(() => placing.close());
  // NetSapiens' side of the subscription: the sandbox posts the domain's call records to Beckon's webhook.
  await placing.deps.ns.subscriptions!.create({
    domain: 'example.com',
    model: 'call',
    postUrl: `${placing.url}/webhooks/netsapiens?id=${ID}&token=${token}`,
  });
  const worker = startCallbackWorker({
    db,
    tenants: placing.deps.tenants,
    placementFor: (tenant) => placementFor(placing.deps, tenant),
    logger: createLogger('silent'),
    pollMs: 50,
  });
  t.teardown(() => worker.close());
  let streaming = placing;
  if (engine === 'postgres') {
    const other = await openDatabase(settings, { logger: createLogger('silent') });
    t.teardown(() => other.close());
    streaming = await startHarness({ db: other });
    t.teardown(() => streaming.close());
  }
  return {
    placing,
    streaming,
    db,
    async call(phone) {
      const response = await placing.post('/click-to-call', { id: ID, phone_number: phone });
      t.is(response.status, 200);
      return (await response.json()) as { callback_id: string; status_token: string };
    },
  };
}

/** Reads a status stream to its end (or `timeoutMs`): its `retry:` line, its events, and whether the server ended it. */
async function readStream(url: string, headers: Record<string, string> = {}, timeoutMs = 20_000) {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), timeoutMs);
  const response = await fetch(url, { headers, signal: abort.signal });
  let text = '';
  let ended = false;
  try {
    const decoder = new TextDecoder();
    for await (const chunk of response.body!) text += decoder.decode(chunk as Uint8Array, { stream: true });
    ended = true;
  } catch {
    // Timed out: `ended` stays false.
  } finally {
    clearTimeout(timer);
  }
  const events: StatusEvent[] = [];
  for (const block of text.split('\n\n')) {
    const fields = Object.fromEntries(
      block
        .split('\n')
        .filter((line) => /^(id|event|data): /.test(line))
        .map((line) => [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 2)]),
    );
    if (!fields.data) continue;
    const data = JSON.parse(fields.data) as { status: string; at: string };
    events.push({ id: Number(fields.id), event: fields.event ?? '', ...data });
  }
  return { response, text, events, ended };
}

const streamUrl = (harness: Harness, callback: { callback_id: string; status_token: string }, query = '') =>
  `${harness.url}/click-to-call/${callback.callback_id}/events?token=${callback.status_token}${query}`;

for (const engine of ENGINES) {
  // Each PGlite holds the process's event loop while it starts, long enough to time out another test's
  // request to the sandbox (NetSapiens answering in this same process): one PGlite test at a time.
  const engineTest = engine === 'pglite' ? test.serial : test;
  engineTest(`${engine}: the status stream shows a call now go queued → ringing → answered → ended, then ends`, async (t) => {
    const { streaming, call } = await setup(t, engine, { delayMs: 1_500, stepMs: 200 });
    const callback = await call('+18135551234');
    const { response, text, events, ended } = await readStream(streamUrl(streaming, callback));
    t.is(response.status, 200);
    t.is(response.headers.get('content-type'), 'text/event-stream; charset=utf-8');
    t.is(response.headers.get('x-accel-buffering'), 'no');
    t.is(response.headers.get('access-control-allow-origin'), '*');
    t.regex(response.headers.get('cache-control') ?? '', /no-transform/);
    t.regex(text, /^retry: \d+\n\n/);
    t.deepEqual(
      events.map((event) => event.status),
      ['queued', 'ringing', 'answered', 'ended'],
    );
    t.true(events.every((event) => event.event === 'status' && /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/.test(event.at)));
    t.true(
      events.every((event, index) => index === 0 || event.id > events[index - 1]!.id),
      'ids grow',
    );
    t.true(ended, 'the server ends the stream after the final status');
  });

  engineTest(`${engine}: a call nobody answers ends as no-answer; Last-Event-ID replays what a client missed`, async (t) => {
    const { streaming, call, db } = await setup(t, engine, { delayMs: 0, stepMs: 50 });
    const callback = await call(NOBODY_HOME);
    t.true(
      await eventually(async () => {
        const { rows } = await db.query<{ status: string }>('SELECT status FROM callbacks WHERE id = $1', [callback.callback_id]);
        return rows[0]?.status === 'no-answer';
      }, 20_000),
    );
    const fresh = await readStream(streamUrl(streaming, callback));
    t.deepEqual(
      fresh.events.map((event) => event.status),
      ['no-answer'],
      'a fresh stream starts from the current status',
    );
    t.true(fresh.ended);

    const all = await readStream(streamUrl(streaming, callback, '&last_event_id=0'));
    t.deepEqual(
      all.events.map((event) => event.status),
      ['queued', 'ringing', 'no-answer'],
    );
    const resumed = await readStream(streamUrl(streaming, callback), { 'last-event-id': String(all.events[0]!.id) });
    t.deepEqual(resumed.events, all.events.slice(1));
    t.true(resumed.ended);
  });
}

test.serial(
  'pglite: a wrong token is 401 and an unknown callback 404, before any stream; five streams per callback; a token expires a day after the call',
  async (t) => {
    const { placing, streaming, call } = await setup(t, 'pglite', { delayMs: 0, stepMs: 0 });
    const callback = await call('+18135551234');
    const wrong = await fetch(streamUrl(streaming, { ...callback, status_token: 'A'.repeat(43) }));
    t.is(wrong.status, 401);
    t.like(await wrong.json(), { status: 'error', code: 'invalid_token' });
    t.is(wrong.headers.get('access-control-allow-origin'), '*');
    t.is((await fetch(`${streaming.url}/click-to-call/${callback.callback_id}/events`)).status, 401);
    const unknown = await fetch(streamUrl(streaming, { ...callback, callback_id: '00000000-0000-4000-8000-000000000000' }));
    t.is(unknown.status, 404);
    t.is((await fetch(streamUrl(streaming, { ...callback, callback_id: 'nope' }))).status, 404);
    const badResume = await fetch(streamUrl(streaming, callback, '&last_event_id=latest'));
    t.is(badResume.status, 400);

    // Five streams of one callback at most per instance: a leaked token cannot hold hundreds. A booking
    // for tomorrow, whose streams stay open (a call now may end, and its streams with it, meanwhile).
    const tomorrow = new Date(Math.ceil((Date.now() + 86_400_000) / 900_000) * 900_000).toISOString();
    const booked = await placing.post('/click-to-call', { id: ID, phone_number: '+18135559876', scheduled_at: tomorrow });
    t.is(booked.status, 202);
    const booking = (await booked.json()) as { callback_id: string; status_token: string };
    const abort = new AbortController();
    const open = await Promise.all(Array.from({ length: 5 }, () => fetch(streamUrl(streaming, booking), { signal: abort.signal })));
    t.true(open.every((response) => response.status === 200));
    const sixth = await fetch(streamUrl(streaming, booking));
    t.is(sixth.status, 429);
    t.like(await sixth.json(), { code: 'too_many_streams' });
    abort.abort();

    streaming.deps.clock = () => new Date(Date.now() + 24 * 60 * 60_000 + 60_000);
    const expired = await fetch(streamUrl(streaming, callback));
    t.is(expired.status, 401);
    await expired.body?.cancel();
  },
);
