// Booked callbacks under two real `beckon-server` processes on one PostgreSQL: a booking made through one
// is placed at its time by exactly one of them, and its status reaches a stream held by the other.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { startNsSandbox } from '@beckon/ns-client/sandbox';
import { createLogger, openDatabase } from '../src/index.js';
import { databaseFixture } from './fixtures/databases.js';
import { eventually, SECRET, TENANTS } from './helpers.js';
import { staleBuild, startServerProcess } from './server-process.js';

const databases = databaseFixture(test);
const START_MS = 120_000;

test('postgres: two processes, one booking: placed once at its time, its status streamed from the other process', async (t) => {
  const stale = staleBuild();
  if (stale) return t.fail(stale);
  const dir = await mkdtemp(join(tmpdir(), 'beckon-callbacks-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'domains.json');
  await writeFile(file, JSON.stringify(TENANTS, null, 2));
  const sandbox = await startNsSandbox();
  t.teardown(() => sandbox.close());
  const { databaseUrl } = await databases.settings(t, 'postgres');
  const env = { NS_API_BASE: sandbox.url, NS_TOKEN: sandbox.token, UPDATE_SECRET: SECRET, DOMAINS_FILE: file, DATABASE_URL: databaseUrl! };
  const [first, second] = await Promise.all([startServerProcess(env, dir, START_MS), startServerProcess(env, dir, START_MS)]);
  t.teardown(() => first!.kill());
  t.teardown(() => second!.kill());

  // Booked through the first, for tomorrow (the earliest a visitor may book is a minute on)…
  const tomorrow = new Date(Math.ceil((Date.now() + 86_400_000) / 900_000) * 900_000).toISOString();
  const response = await fetch(`${first!.url}/click-to-call`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ id: 'example.com-sales', phone_number: '8135551234', scheduled_at: tomorrow }),
  });
  t.is(response.status, 202);
  const booking = (await response.json()) as { callback_id: string; status_token: string };
  // …and its stream opened on the second.
  const abort = new AbortController();
  t.teardown(() => abort.abort());
  const stream = await fetch(`${second!.url}/click-to-call/${booking.callback_id}/events?token=${booking.status_token}`, {
    signal: abort.signal,
  });
  t.is(stream.status, 200);
  let text = '';
  void (async () => {
    const decoder = new TextDecoder();
    for await (const chunk of stream.body!) text += decoder.decode(chunk as Uint8Array, { stream: true });
  })().catch(() => undefined);

  // Its time comes (the processes' own clocks cannot be moved: the booking is moved instead).
  const db = await openDatabase({ databaseUrl, dataDir: dir }, { logger: createLogger('silent') });
  t.teardown(() => db.close());
  await db.query("UPDATE callbacks SET due_at = now() + interval '1 second' WHERE id = $1", [booking.callback_id]);

  t.true(await eventually(() => sandbox.calls.length === 1, 30_000), 'placed');
  // Both workers run a round every 5 s: give each two more.
  await new Promise((resolve) => setTimeout(resolve, 11_000));
  t.is(sandbox.calls.length, 1, 'placed once');
  t.like(sandbox.calls[0], { queue: '9002@example.com', destination: '+18135551234' });
  const placedBy = [first!, second!].map((process) => process.logs.filter((line) => line.msg === 'booked queued call placed').length);
  t.deepEqual(placedBy.sort(), [0, 1], 'by one process');
  t.true(await eventually(() => text.includes('"status":"queued"'), 10_000), 'the other process streamed it');
  t.regex(text, /^retry: \d+\n\nid: \d+\nevent: status\ndata: \{"status":"scheduled",[^]*event: status\ndata: \{"status":"queued",/);
  const logs = JSON.stringify([...first!.logs, ...second!.logs]);
  t.false(logs.includes('8135551234') || logs.includes(booking.status_token), 'no number unmasked, no token, in either log');
});
