// The call-events part of `npm run bench` (issue 13's figures): from a NetSapiens delivery being answered
// to the `call` event on every one of many live streams; what each open stream costs the server in memory;
// how many NetSapiens deliveries per second the webhook takes on PostgreSQL (and on the embedded
// database), nothing lost or doubled with redeliveries among them; and `GET /api/calls` paged with
// `after=` through a million stored calls. Each figure is printed, then written next to its goal.
//
// Layout: a throwaway PostgreSQL cluster (postgres.mjs) with durable defaults, a fresh database per
// scenario; the built Beckon server (`start()`, as beckon-server runs it) in a child process per scenario;
// the NS sandbox in a child process, delivering real subscription webhooks and, for the intake, driving
// the load itself (intake-load.mjs); the browsers — the live streams — in a child process of their own
// (streams.mjs). This process seeds the stored calls, pages through them, and compares the times.

import { randomBytes } from 'node:crypto';
import { Agent, request } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { cpuBetween, format, machineCpu, machineInfo, markdownTable, otherLoad, processMicros, Samples, textTable } from './lib.mjs';
import { startPostgres } from './postgres.mjs';

/** Where the call-events section starts in docs/benchmarks.md: run.mjs keeps or replaces it by this heading. */
export const CALL_EVENTS_SECTION = /^## Call events/m;

const GOALS = {
  popupP99Ms: 100,
  intakeRate: 2_000,
  intakeP99Ms: 50,
  redeliveredShare: 0.1,
  pageP99Ms: 20,
  streamKb: 20,
};

/** Ids configured on every server of this part (the generated `customer<i>.example.net-main`). */
const TENANT_COUNT = 100;
const tenantId = (i) => `customer${i}.example.net-main`;
const domainOf = (i) => `customer${i}.example.net`;
/** Streams opened and closed before the memory is read, so that code and pools loaded by the first ones are not counted. */
const WARM_STREAMS = 20;
/**
 * The intake's warm-up, at least (closed loop, the senders of the main run). A fresh server takes about
 * 1 000 deliveries/s in its first second (its code not yet compiled, PostgreSQL's caches and plans cold):
 * after a warm-up of one second, the open-loop run began behind and spent its first 1.5 s catching up,
 * which alone made its p99 (400 ms, every later quarter-second under 80 ms).
 */
const INTAKE_WARMUP_S = 5;
/** Between a simulated call's states (ringing, answered, ended). */
const STEP_MS = 100;
/** Pages a paging client reads after each starting point before it picks another. */
const PAGES_PER_WALK = 10;
const PAGE_LIMIT = 100;
const STARTING_POINTS = 2_000;
/** Pages whose plan is sampled with EXPLAIN ANALYZE, per app. */
const PLAN_SAMPLES = 100;

const now = () => performance.timeOrigin + performance.now();

/**
 * Runs the call-events benchmark with run.mjs's services (`launch`, `stop`) and its list of failed
 * checks; prints its tables and returns its section of the report (Markdown).
 */
export async function callEventsPart({ settings, launch, stop, problems }) {
  const machine = machineInfo();
  const startedAt = new Date();
  const failed = [];
  const check = (condition, problem) => {
    if (condition) return;
    failed.push(problem);
    problems.push(`call events: ${problem}`);
  };
  console.log(
    `Call events: ${format.thousands(settings.streams)} streams, ${format.thousands(settings.storedCalls)} stored calls, ` +
      `intake at ${format.thousands(settings.intakeRate)} deliveries/s; ${machine.cpu}, ${machine.cores} cores, load average ` +
      `${machine.loadAverage.map((n) => n.toFixed(2)).join(' ')}`,
  );
  const cluster = await startPostgres();
  let sandbox;
  try {
    const token = randomBytes(16).toString('hex');
    // No retries: a delivery that fails is counted as failed, not hidden behind a second attempt.
    sandbox = await launch('sandbox', { token, deliveries: { retries: 0, timeoutMs: 30_000 } });
    const context = {
      settings,
      cluster,
      sandbox,
      check,
      launch,
      stop,
      env: {
        NS_API_BASE: sandbox.url,
        NS_TOKEN: token,
        UPDATE_SECRET: randomBytes(24).toString('base64url'),
        INTERNAL_API_SECRET: randomBytes(32).toString('hex'),
        LOG_LEVEL: 'info',
        // The streams of one app, and the connections around them: the defaults (1 000 connections, 80 % of
        // them streams, 100 streams per app) would refuse some.
        MAX_CONNECTIONS: String(settings.streams + 1_000),
        MAX_STREAMS: String(settings.streams + 500),
        MAX_STREAMS_PER_APP: String(settings.streams + WARM_STREAMS),
      },
    };
    const streams = await streamsScenario(context);
    const intake = [await intakeScenario(context, 'postgres'), await intakeScenario(context, 'pglite')];
    const paging = await pagingScenario(context);
    const report = { machine, startedAt, settings, postgres: cluster.version, streams, intake, paging, failed };
    const rendered = render(report);
    console.log(`\n${rendered.text}\n`);
    return rendered.markdown;
  } finally {
    if (sandbox) await stop(sandbox);
    await cluster.close();
  }
}

// ---------------------------------------------------------------------------------------------------
// Scenarios

/** A Beckon server on `engine` ('postgres': a fresh database `name` in the cluster; 'pglite': its own folder). */
async function beckonOn(context, engine, name) {
  const env = { ...context.env };
  if (engine === 'postgres') env.DATABASE_URL = await context.cluster.createDatabase(name);
  const server = await context.launch('beckon', { tenantCount: TENANT_COUNT, env });
  return { server, databaseUrl: env.DATABASE_URL };
}

/** What `POST /internal/...` answers, as JSON; anything but `expected` throws. */
async function internal(context, server, path, body, expected = 201) {
  const response = await fetch(`${server.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${context.env.INTERNAL_API_SECRET}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const answer = await response.json();
  if (response.status !== expected) throw new Error(`POST ${path}: ${response.status} ${JSON.stringify(answer)}`);
  return answer;
}

/** Subscribes id `i` through Beckon's admin route (Beckon asks the sandbox) and gives the sandbox's subscription id. */
async function subscribe(context, server, i) {
  await internal(context, server, '/internal/subscriptions/netsapiens', { id: tenantId(i) });
  const subscription = (await context.sandbox.call('subscriptions')).find((each) => each.domain === domainOf(i));
  if (!subscription) throw new Error(`the sandbox has no subscription for ${domainOf(i)}`);
  return subscription.id;
}

/** A new app reading `ids` (undefined: every id) and its key. */
async function newApp(context, server, name, ids) {
  return (await internal(context, server, '/internal/apps', { name, ...(ids ? { ids: ids.map(tenantId) } : {}) })).api_key;
}

/**
 * How far each child's clock is from this process's (ms, to subtract from the child's times): from the
 * exchange with the shortest round trip of 20, assuming the child read its clock half-way through.
 */
async function clockOffset(service) {
  let best = { rtt: Infinity, offset: 0 };
  for (let i = 0; i < 20; i++) {
    const sent = now();
    const theirs = await service.call('clock');
    const back = now();
    if (back - sent < best.rtt) best = { rtt: back - sent, offset: theirs - (sent + back) / 2 };
  }
  return best;
}

async function cpuOf(services, cluster) {
  const byRole = {};
  for (const [name, service] of Object.entries(services)) byRole[name] = await service.call('cpu');
  return { byRole, postgres: cluster ? processMicros(cluster.pids()) : undefined, machine: machineCpu(), wall: performance.now() };
}

/** CPU used between two `cpuOf` samples, per process as a share of one core, and what other processes used of the machine. */
function cpuSpent(before, after) {
  const wallMs = after.wall - before.wall;
  const micros = {};
  for (const name of Object.keys(after.byRole)) micros[name] = after.byRole[name] - before.byRole[name];
  if (after.postgres) micros.postgres = cpuBetween(before.postgres, after.postgres);
  const ours = Object.values(micros).reduce((sum, value) => sum + value, 0);
  const share = Object.fromEntries(Object.entries(micros).map(([name, value]) => [name, value / 1_000 / wallMs]));
  return { micros, share, other: otherLoad(before.machine, after.machine, ours, wallMs)?.other };
}

/** `SELECT 1` 500 times, one after the other, on a connection of its own (extended protocol, as the server queries): ms. */
async function roundTrips(cluster, url) {
  const client = await cluster.connect(url);
  const samples = new Samples();
  try {
    for (let i = 0; i < 500; i++) {
      const started = performance.now();
      await client.query({ text: 'SELECT 1', queryMode: 'extended' });
      samples.push(performance.now() - started);
    }
  } finally {
    await client.end();
  }
  return percentiles(samples);
}

/**
 * Often enough for averages over a run (about a hundred samples in 5 s); each sample is a query on the
 * cores the intake uses (every 10 ms, it took about 3 % of a core in PostgreSQL alone).
 */
const SESSION_SAMPLE_MS = 40;

/**
 * What the server's database sessions are doing, sampled every `SESSION_SAMPLE_MS` from
 * `pg_stat_activity` until `stop()`: the average number of the pool's sessions in each state. Says
 * where intake's time goes.
 */
async function sessionSampler(cluster, url) {
  const client = await cluster.connect(url);
  const totals = {};
  let samples = 0;
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const { rows } = await client.query(
        `SELECT state, wait_event_type, wait_event FROM pg_stat_activity
         WHERE datname = current_database() AND application_name = 'beckon-server' AND pid <> pg_backend_pid()
           AND backend_type = 'client backend' AND query NOT LIKE 'LISTEN%'`,
      );
      samples++;
      for (const row of rows) {
        const what = sessionState(row);
        totals[what] = (totals[what] ?? 0) + 1;
      }
      await sleep(SESSION_SAMPLE_MS);
    }
  })();
  return async () => {
    stopped = true;
    await loop;
    await client.end();
    return Object.fromEntries(Object.entries(totals).map(([what, count]) => [what, count / Math.max(1, samples)]));
  };
}

function sessionState({ state, wait_event_type: type, wait_event: event }) {
  if (state === 'idle') return 'idle in the pool';
  if (state === 'idle in transaction') return 'in a transaction, waiting for the server';
  if (type === 'Lock' && event === 'advisory') return 'waiting for the call-events lock';
  if (type === 'Lock') return `waiting for a lock (${event})`;
  if (type === 'IO' && /^WAL/.test(event)) return 'writing or flushing WAL';
  if (type === 'LWLock' && /WAL/.test(event)) return 'writing or flushing WAL';
  if (type === 'Client') return 'sending to the server';
  if (!type) return 'running a statement';
  return `other (${type}: ${event})`;
}

/**
 * The same count of streams held by node:http alone (service.mjs's `sse` role), measured the same way:
 * what any open HTTP response costs, against which Beckon's own share of a stream reads.
 */
async function referenceMemory(context, browsers) {
  const reference = await context.launch('sse');
  try {
    await browsers.call('open', { url: reference.url, count: WARM_STREAMS });
    await browsers.call('closeAll');
    await waitFor(async () => (await reference.call('subscribers')) === 0, 'the warm-up streams to close');
    const memory = await streamMemory(reference, browsers, { url: reference.url, count: context.settings.streams });
    await browsers.call('closeAll');
    return memory;
  } finally {
    await context.stop(reference);
  }
}

/**
 * What `count` streams opened on `service` cost it: its memory after a full collection before, with half
 * of them open, and with all; per stream over all of them, and over the second half alone (the cost of
 * one more stream, without what the first ones brought in once: code compiled, pools grown).
 */
async function streamMemory(service, browsers, { url, key, count }) {
  const half = Math.floor(count / 2);
  const before = await service.call('memory');
  const opening = performance.now();
  await browsers.call('open', { url, key, count: half });
  const middle = await service.call('memory');
  await browsers.call('open', { url, key, count: count - half });
  const openMs = performance.now() - opening;
  const after = await service.call('memory');
  const per = (from, to, field, streams) => ((to[field] - from[field]) * 1_024) / streams;
  return {
    before,
    middle,
    after,
    openMs,
    rssKb: per(before, after, 'rssMb', count),
    heapKb: per(before, after, 'heapUsedMb', count),
    externalKb: per(before, after, 'externalMb', count),
    marginalRssKb: per(middle, after, 'rssMb', count - half),
    marginalHeapKb: per(middle, after, 'heapUsedMb', count - half),
  };
}

async function waitFor(condition, what, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/**
 * Live streams on PostgreSQL: what `settings.streams` open streams cost the server in memory, then
 * `settings.streamCalls` calls delivered by the sandbox (ringing, answered, ended, 100 ms apart), each
 * delivery timed from its answer to its `call` event on every stream.
 */
async function streamsScenario(context) {
  const { settings, sandbox, check } = context;
  const { server } = await beckonOn(context, 'postgres', 'bench_streams');
  let browsers;
  try {
    await subscribe(context, server, 0);
    const key = await newApp(context, server, 'Popups', [0]);
    // The callers are customers, so that every event carries a name as a popup shows it.
    await server.call('query', {
      sql: `INSERT INTO customers (tenant, external_id, name, email, phone_e164, url)
            SELECT $1, 'crm-' || i, 'Customer ' || i, 'c' || i || '@example.com', '+1813555' || lpad(i::text, 4, '0'),
                   'https://crm.example.com/customers/' || i
            FROM generate_series(0, 9999) i`,
      params: [tenantId(0)],
    });
    browsers = await context.launch('streams');
    process.stdout.write(`• ${format.thousands(settings.streams)} live streams on PostgreSQL … `);
    // The server's own subscribers to the bus, if it has any (event webhooks), besides the streams.
    const own = await server.call('subscribers');
    await browsers.call('open', { url: server.url, key, count: WARM_STREAMS });
    await browsers.call('closeAll');
    await waitFor(async () => (await server.call('subscribers')) === own, 'the warm-up streams to close');
    // Before the streams on the bus: when it is handed an event, the streams are about to be.
    await server.call('mark', { name: 'first' });
    const memory = await streamMemory(server, browsers, { url: server.url, key, count: settings.streams });
    const streamsOpen = (await server.call('subscribers')) - own - 1;
    check(streamsOpen === settings.streams, `streams: the bus serves ${streamsOpen} streams, not ${settings.streams}`);
    // Last on the bus: when it is handed an event, every stream has been written to.
    await server.call('mark', { name: 'last' });
    console.log(
      `opened in ${(memory.openMs / 1_000).toFixed(1)} s; per stream ${kb(memory.rssKb)} RSS, ${kb(memory.heapKb)} heap ` +
        `(the second half: ${kb(memory.marginalRssKb)} RSS, ${kb(memory.marginalHeapKb)} heap)`,
    );

    process.stdout.write(
      `• ${settings.streamCalls} calls (×3 deliveries) from the sandbox to ${format.thousands(settings.streams)} streams … `,
    );
    const offsets = { sandbox: await clockOffset(sandbox), browsers: await clockOffset(browsers), server: await clockOffset(server) };
    const cpuBefore = await cpuOf({ server, sandbox, browsers }, context.cluster);
    const { answers, failed } = await sandbox.call('simulateCalls', {
      domain: domainOf(0),
      to: '2000',
      dialed: '19295550100',
      fromName: 'WIRELESS CALLER',
      calls: settings.streamCalls,
      stepMs: STEP_MS,
    });
    const expected = answers.length;
    // Until every stream has every event, or 10 s.
    let events;
    const deadline = Date.now() + 10_000;
    do {
      events = await browsers.call('events');
      if (events.every((list) => list.length >= expected)) break;
      await sleep(200);
    } while (Date.now() < deadline);
    const cpuAfter = await cpuOf({ server, sandbox, browsers }, context.cluster);
    check(failed.length === 0, `streams: ${failed.length} deliveries failed (${failed.join(', ')})`);
    check(expected === settings.streamCalls * 3, `streams: ${expected} deliveries answered, not ${settings.streamCalls * 3}`);

    const answeredAt = new Map(answers.map(([key, at]) => [key, at - offsets.sandbox.offset]));
    const latency = new Samples();
    const lastStream = new Map();
    let missing = 0;
    let doubled = 0;
    for (const list of events) {
      const seen = new Set();
      for (const [eventKey, at] of list) {
        if (seen.has(eventKey)) doubled++;
        seen.add(eventKey);
        const from = answeredAt.get(eventKey);
        if (from === undefined) continue;
        const ms = at - offsets.browsers.offset - from;
        latency.push(ms);
        lastStream.set(eventKey, Math.max(lastStream.get(eventKey) ?? -Infinity, ms));
      }
      missing += [...answeredAt.keys()].filter((eventKey) => !seen.has(eventKey)).length;
    }
    check(missing === 0, `streams: ${missing} events never reached their stream`);
    check(doubled === 0, `streams: ${doubled} events reached a stream twice`);
    const worst = new Samples();
    for (const ms of lastStream.values()) worst.push(ms);

    // The server's side: when the bus was handed each event (after its read), and when it had written it to every stream.
    const marks = await server.call('marks');
    const markAt = (name) => new Map(marks[name].map(([eventKey, at]) => [eventKey, at - offsets.server.offset]));
    const first = markAt('first');
    const last = markAt('last');
    const toBus = new Samples();
    const fanOut = new Samples();
    for (const [eventKey, from] of answeredAt) {
      if (first.has(eventKey)) toBus.push(first.get(eventKey) - from);
      if (first.has(eventKey) && last.has(eventKey)) fanOut.push(last.get(eventKey) - first.get(eventKey));
    }
    const cpu = cpuSpent(cpuBefore, cpuAfter);
    const received = latency.length;
    console.log(
      `p50 ${format.ms(percentiles(latency).p50)} ms, p99 ${format.ms(percentiles(latency).p99)} ms, max ${format.ms(percentiles(latency).max)} ms ` +
        `(${format.thousands(received)} events)`,
    );
    await browsers.call('closeAll');
    process.stdout.write(`• the same ${format.thousands(settings.streams)} streams on bare node:http, for reference … `);
    memory.reference = await referenceMemory(context, browsers);
    console.log(`per stream ${memory.reference.rssKb.toFixed(1)} KB RSS, ${memory.reference.heapKb.toFixed(1)} KB heap`);
    const result = {
      streams: settings.streams,
      deliveries: expected,
      received,
      missing,
      doubled,
      memory,
      latency: percentiles(latency),
      lastStream: percentiles(worst),
      toBus: percentiles(toBus),
      fanOut: percentiles(fanOut),
      // What reading costs the browsers' process per event and stream: a figure of how late its own clock reads come.
      readerMicrosPerEvent: cpu.micros.browsers / Math.max(1, received),
      clockSkewMs: Math.max(...Object.values(offsets).map(({ offset }) => Math.abs(offset))),
      clockRttMs: Math.max(...Object.values(offsets).map(({ rtt }) => rtt)),
      cpu,
    };
    return result;
  } finally {
    if (browsers) await context.stop(browsers);
    await context.stop(server);
    await sandbox.call('reset');
  }
}

/**
 * The webhook under load on `engine`: the sandbox delivers call records at `settings.intakeRate` per
 * second (open loop), then as fast as `settings.connections` senders are answered (closed loop), one in
 * ten a redelivery; afterwards the database must hold each distinct record once, each call once, and
 * each call event once.
 */
async function intakeScenario(context, engine) {
  const { settings, sandbox, check } = context;
  const { server, databaseUrl } = await beckonOn(context, engine, 'bench_intake');
  const label = engine === 'postgres' ? 'PostgreSQL' : 'PGlite';
  try {
    // One call's records as the sandbox builds them, before any subscription can receive them.
    const template = await sandbox.call('callRecords', {
      domain: domainOf(1),
      from: '+18135550000',
      fromName: 'WIRELESS CALLER',
      to: '2000',
      dialed: '19295550100',
    });
    const subscriptionId = await subscribe(context, server, 1);
    // 1 000 customers; the callers are 2 000 numbers, so every other call matches one.
    await server.call('query', {
      sql: `INSERT INTO customers (tenant, external_id, name, email, phone_e164)
            SELECT $1, 'crm-' || i, 'Customer ' || i, 'c' || i || '@example.com', '+1813555' || lpad(i::text, 4, '0')
            FROM generate_series(0, 999) i`,
      params: [tenantId(1)],
    });
    const callers = Array.from({ length: 2_000 }, (_, i) => `1813555${String(i).padStart(4, '0')}`);
    const load = { subscriptionId, template, callers, redeliverShare: GOALS.redeliveredShare };
    // The unit every statement of a delivery's transaction pays: a round trip from Node to this PostgreSQL.
    const roundTrip = databaseUrl ? await roundTrips(context.cluster, databaseUrl) : undefined;
    const runs = [];
    const totals = { distinct: 0, calls: 0, sent: 0, redeliveries: 0 };
    const measure = async (name, options) => {
      process.stdout.write(`• intake on ${label}, ${name} … `);
      const services = { server, sandbox };
      const before = await cpuOf(services, engine === 'postgres' ? context.cluster : undefined);
      const sessions = databaseUrl ? await sessionSampler(context.cluster, databaseUrl) : undefined;
      const result = await sandbox.call('intake', { ...load, ...options });
      const after = await cpuOf(services, engine === 'postgres' ? context.cluster : undefined);
      result.sessions = await sessions?.();
      totals.distinct += result.distinctAnswered;
      totals.calls += result.callsAnswered;
      totals.sent += result.sent;
      totals.redeliveries += result.redeliveries;
      const run = { engine, name, offered: options.rate, ...options, ...result, cpu: cpuSpent(before, after) };
      const other = Object.entries(result.statuses).filter(([status]) => status !== '200');
      check(other.length === 0, `intake on ${label}, ${name}: answers other than 200: ${other.map(([s, n]) => `${n} × ${s}`).join(', ')}`);
      console.log(
        `${format.thousands(result.rate)} deliveries/s, p50 ${format.ms(result.p50)} ms, p99 ${format.ms(result.p99)} ms` +
          (result.abandoned ? ` — fell behind, ${format.thousands(result.abandoned)} deliveries not sent` : ''),
      );
      return run;
    };
    if (settings.warmup > 0)
      await measure('warm-up', { mode: 'closed', concurrency: settings.connections, seconds: Math.max(settings.warmup, INTAKE_WARMUP_S) });
    runs.push(
      await measure(`${format.thousands(settings.intakeRate)}/s offered`, {
        mode: 'rate',
        rate: settings.intakeRate,
        seconds: settings.duration,
      }),
    );
    runs.push(
      await measure(`${settings.connections} senders`, { mode: 'closed', concurrency: settings.connections, seconds: settings.duration }),
    );
    // One delivery at a time: what a delivery's transaction takes when nothing waits with it.
    runs.push(await measure('1 sender', { mode: 'closed', concurrency: 1, seconds: settings.duration }));

    // What the database holds: every distinct record answered once, nothing twice.
    const [counts] = await server.call('query', {
      sql: `SELECT (SELECT count(*) FROM deliveries WHERE tenant = $1) AS deliveries,
                   (SELECT count(*) FROM deliveries WHERE tenant = $1 AND processed_at IS NULL) AS unprocessed,
                   (SELECT count(*) FROM calls WHERE tenant = $1) AS calls,
                   (SELECT count(*) FROM call_events WHERE tenant = $1) AS events,
                   (SELECT count(*) FROM (SELECT 1 FROM call_events WHERE tenant = $1 GROUP BY call_id, state HAVING count(*) > 1) d) AS doubled`,
      params: [tenantId(1)],
    });
    const held = Object.fromEntries(Object.entries(counts).map(([name, value]) => [name, Number(value)]));
    const integrity = {
      expected: totals,
      held,
      lost: Math.max(0, totals.distinct - held.deliveries) + Math.max(0, totals.distinct - held.events),
      doubled: held.doubled + Math.max(0, held.events - totals.distinct) + Math.max(0, held.calls - totals.calls),
      redeliveries: totals.redeliveries,
      sent: totals.sent,
    };
    check(
      held.deliveries === totals.distinct && held.events === totals.distinct && held.calls === totals.calls && held.doubled === 0,
      `intake on ${label}: the database holds ${held.deliveries} deliveries, ${held.events} events (${held.doubled} doubled), ` +
        `${held.calls} calls; ${totals.distinct} distinct records and ${totals.calls} calls were answered 200`,
    );
    check(held.unprocessed === 0, `intake on ${label}: ${held.unprocessed} deliveries stored but not processed`);
    return { engine, label, runs, integrity, roundTrip };
  } finally {
    await context.stop(server);
    await sandbox.call('reset');
  }
}

/**
 * `GET /api/calls` on PostgreSQL with `settings.storedCalls` calls, stored with SQL as the intake would
 * have stored them (a third matched to customers, ids of very different sizes), then VACUUM ANALYZE.
 * For apps of several scopes, `settings.apiClients` clients each start at a random call of the app's
 * and read 10 pages with `after=`, again and again; every page's time counts.
 */
async function pagingScenario(context) {
  const { settings, cluster, check } = context;
  const { server, databaseUrl } = await beckonOn(context, 'postgres', 'bench_paging');
  const agent = new Agent({ keepAlive: true, maxSockets: settings.apiClients });
  try {
    process.stdout.write(`• storing ${format.thousands(settings.storedCalls)} calls … `);
    const seeding = performance.now();
    await seedCalls(cluster, databaseUrl, settings.storedCalls);
    const seedMs = performance.now() - seeding;
    const [{ bytes }] = (await cluster.query(databaseUrl, `SELECT pg_total_relation_size('calls') AS bytes`)).rows;
    console.log(`${(seedMs / 1_000).toFixed(1)} s (calls and its indexes: ${Math.round(Number(bytes) / 2 ** 20)} MB)`);

    const sizes = (await cluster.query(databaseUrl, 'SELECT tenant, count(*)::int AS calls FROM calls GROUP BY tenant ORDER BY calls DESC'))
      .rows;
    const index = (row) => Number(/^customer(\d+)\./.exec(row.tenant)[1]);
    const scopes = [
      { name: 'every id', ids: undefined },
      { name: 'the largest id', ids: [index(sizes[0])] },
      { name: 'the smallest id', ids: [index(sizes.at(-1))] },
      {
        name: 'three ids',
        ids: [index(sizes[Math.min(5, sizes.length - 1)]), index(sizes[Math.floor(sizes.length / 2)]), index(sizes.at(-2))],
      },
    ];
    const results = [];
    for (const scope of scopes) {
      const key = await newApp(context, server, `Paging ${scope.name}`, scope.ids);
      const tenants = scope.ids?.map(tenantId) ?? null;
      const visible = tenants
        ? sizes.filter((row) => tenants.includes(row.tenant)).reduce((sum, row) => sum + row.calls, 0)
        : settings.storedCalls;
      const starts = await startingPoints(cluster, databaseUrl, tenants);
      // The cursors are built as the route builds `next`: checked against a real `next` first.
      const first = await getPage(agent, server.url, key, '');
      const lastRow = first.body.calls.at(-1);
      const built = await cursorOf(cluster, databaseUrl, Number(lastRow.id));
      if (first.body.next)
        check(first.body.next === built, `paging (${scope.name}): the bench's cursor ${built} is not the route's ${first.body.next}`);
      process.stdout.write(`• GET /api/calls?after=, ${scope.name} (${format.thousands(visible)} calls) … `);
      if (settings.warmup > 0) await walk(agent, server.url, key, starts, settings.apiClients, settings.warmup);
      // One client: each page's own time. Then several at once: what the server takes, and the queueing.
      const singleBefore = await cpuOf({ server }, cluster);
      const single = await walk(agent, server.url, key, starts, 1, settings.duration);
      single.cpu = cpuSpent(singleBefore, await cpuOf({ server }, cluster));
      const before = await cpuOf({ server }, cluster);
      const loaded = await walk(agent, server.url, key, starts, settings.apiClients, settings.duration);
      const cpu = cpuSpent(before, await cpuOf({ server }, cluster));
      const errors = [...single.errors, ...loaded.errors];
      check(errors.length === 0, `paging (${scope.name}): ${errors.length} failed pages (${errors.slice(0, 3).join('; ')})`);
      // What the pages cost PostgreSQL alone, without HTTP, the server or the machine's other work.
      const plans = await planSample(cluster, databaseUrl, tenants, starts.rows);
      results.push({ ...scope, visible, single, loaded, cpu, plans });
      console.log(
        `1 client: p50 ${format.ms(single.p50)} ms, p99 ${format.ms(single.p99)} ms; ${settings.apiClients} clients: ` +
          `${format.thousands(loaded.rps)} pages/s, p50 ${format.ms(loaded.p50)} ms, p99 ${format.ms(loaded.p99)} ms`,
      );
    }
    return { storedCalls: settings.storedCalls, seedMs, tableMb: Number(bytes) / 2 ** 20, tenants: sizes.length, scopes: results };
  } finally {
    agent.destroy();
    await context.stop(server);
  }
}

// ---------------------------------------------------------------------------------------------------
// Stored calls and pages

/**
 * `count` calls straight into the tables with SQL, shaped as the NetSapiens intake stores them: 100 ids
 * of very different sizes (log-uniform: the largest holds some 15 %, the smallest 0.2 %), one every ~15 s
 * so that `created_at` grows with the id (with microseconds, as `now()` gives them), a tenth missed, a
 * third matched to one of the id's 10 000 customers. Then VACUUM ANALYZE, as autovacuum would have.
 */
async function seedCalls(cluster, url, count) {
  await cluster.query(
    url,
    `INSERT INTO customers (tenant, external_id, name, email, phone_e164, url)
     SELECT 'customer' || (i % 100) || '.example.net-main', 'crm-' || i, 'Customer ' || i, 'c' || i || '@example.com',
            '+1813' || lpad((2000000 + i)::text, 7, '0'), 'https://crm.example.com/customers/' || i
     FROM generate_series(1, 9999) i`,
  );
  // The customers' ids are 1…9 999 (a fresh table), customer i belonging to id i % 100.
  await cluster.query(
    url,
    `INSERT INTO calls (tenant, provider, provider_call_id, direction, from_number, from_name, to_number, state,
                        started_at, answered_at, ended_at, customer_id, created_at, updated_at)
     SELECT 'customer' || g.k || '.example.net-main', 'netsapiens', md5(i::text) || '@192.0.2.10',
            CASE WHEN i % 7 = 0 THEN 'outbound' ELSE 'inbound' END,
            CASE WHEN m.matched THEN '+1813' || lpad((2000000 + m.customer)::text, 7, '0') ELSE '+1727' || lpad((i % 10000000)::text, 7, '0') END,
            CASE WHEN i % 3 = 0 THEN 'WIRELESS CALLER' END, '+19295550100',
            CASE WHEN i % 10 = 0 THEN 'missed' ELSE 'ended' END,
            g.at, CASE WHEN i % 10 <> 0 THEN g.at + interval '7 seconds' END, g.at + interval '3 minutes',
            CASE WHEN m.matched THEN m.customer END, g.at, g.at + interval '3 minutes'
     FROM generate_series(1, $1::int) i,
          LATERAL (SELECT floor(power(100, random()))::int - 1 AS k,
                          timestamptz '2026-01-01 00:00:00+00' + i * interval '15 seconds' + random() * interval '10 seconds' AS at) g,
          LATERAL (SELECT g.k + 100 * (1 + i % 99) AS customer, i % 3 = 0 AS matched) m`,
    [count],
  );
  await cluster.query(url, 'VACUUM (ANALYZE) calls');
  await cluster.query(url, 'VACUUM (ANALYZE) customers');
}

/** The cursor the route gives as `next` after call `id`: base64url of "<created_at, µs, UTC>|<id>" (api/calls.ts). */
async function cursorOf(cluster, url, id) {
  const row = await cursorRow(cluster, url, id);
  return Buffer.from(`${row.at}|${row.id}`).toString('base64url');
}

/** Call `id`'s place in the listing order, as the route's cursor holds it. */
async function cursorRow(cluster, url, id) {
  const { rows } = await cluster.query(
    url,
    `SELECT to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS at, id FROM calls WHERE id = $1`,
    [id],
  );
  return rows[0];
}

/** `STARTING_POINTS` random calls the app sees (in a random order), as rows and as cursors. */
async function startingPoints(cluster, url, tenants) {
  const { rows } = await cluster.query(
    url,
    `SELECT to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS at, id FROM calls
     ${tenants ? 'WHERE tenant = ANY($2::text[])' : ''} ORDER BY random() LIMIT $1`,
    tenants ? [STARTING_POINTS, tenants] : [STARTING_POINTS],
  );
  return { rows, cursors: rows.map((row) => Buffer.from(`${row.at}|${row.id}`).toString('base64url')) };
}

function getPage(agent, base, key, after) {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = request(
      `${base}/api/calls?limit=${PAGE_LIMIT}${after ? `&after=${after}` : ''}`,
      { agent, headers: { 'x-app-api-key': key } },
      (res) => {
        const chunks = [];
        res.on('data', (chunk) => chunks.push(chunk));
        res.on('end', () => {
          const ms = performance.now() - started;
          try {
            resolve({ status: res.statusCode, body: JSON.parse(Buffer.concat(chunks).toString('utf8')), ms });
          } catch (error) {
            reject(error);
          }
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** `clients` clients for `seconds`: each picks a starting point and reads `PAGES_PER_WALK` pages from it with `after=`. */
async function walk(agent, base, key, starts, clients, seconds) {
  const samples = new Samples();
  const errors = [];
  let rows = 0;
  const began = performance.now();
  const end = began + seconds * 1_000;
  const client = async () => {
    while (performance.now() < end) {
      let after = starts.cursors[Math.floor(Math.random() * starts.cursors.length)];
      for (let page = 0; page < PAGES_PER_WALK && after && performance.now() < end; page++) {
        try {
          const { status, body, ms } = await getPage(agent, base, key, after);
          if (status !== 200) throw new Error(`${status} ${JSON.stringify(body)}`);
          samples.push(ms);
          rows += body.calls.length;
          after = body.next;
        } catch (error) {
          errors.push(error.message);
          after = undefined;
        }
      }
    }
  };
  await Promise.all(Array.from({ length: clients }, client));
  const wallMs = performance.now() - began;
  return { pages: samples.length, rows, rps: samples.length / (wallMs / 1_000), ...percentiles(samples), errors };
}

/**
 * The plan PostgreSQL runs for the page after `row`, with the route's query (api/paging.ts, copied here
 * for EXPLAIN only): the scan it uses, the rows it read, and its execution time. An app limited to ids
 * reads each id's newest calls from its own index range (a lateral join), then merges them.
 */
async function explainPage(cluster, url, tenants, row) {
  const params = [row.at, row.id, PAGE_LIMIT + 1];
  if (tenants) params.push(tenants);
  const keyset = '(created_at, id) < ($1::timestamptz, $2::bigint)';
  const from = tenants
    ? `(SELECT DISTINCT unnest($4::text[]) AS tenant) app_ids
       CROSS JOIN LATERAL (
         SELECT * FROM calls WHERE calls.tenant = app_ids.tenant AND ${keyset} ORDER BY created_at DESC, id DESC LIMIT $3
       ) c`
    : `(SELECT * FROM calls WHERE ${keyset}) c`;
  const { rows } = await cluster.query(
    url,
    `EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON)
     SELECT c.id, c.tenant, c.provider, c.provider_call_id, c.direction, c.from_number, c.from_name, c.to_number, c.state,
            c.started_at, cu.external_id, cu.name, cu.email, cu.url
     FROM ${from} LEFT JOIN customers cu ON cu.id = c.customer_id
     ORDER BY c.created_at DESC, c.id DESC LIMIT $3 OFFSET 0`,
    params,
  );
  const [{ Plan: plan, 'Execution Time': executionMs }] = rows[0]['QUERY PLAN'];
  const nodes = [];
  const visit = (node) => {
    if (node['Relation Name'] === 'calls' || node['Node Type'] === 'Sort') nodes.push(node);
    for (const child of node.Plans ?? []) visit(child);
  };
  visit(plan);
  const read = (node) => node['Actual Rows'] + (node['Rows Removed by Filter'] ?? 0) + (node['Rows Removed by Index Recheck'] ?? 0);
  const describe = (node) =>
    node['Node Type'] === 'Sort'
      ? `Sort (${node['Sort Method']})`
      : `${node['Node Type']}${node['Index Name'] ? ` on ${node['Index Name']}` : ''}: ${format.thousands(read(node))} rows read`;
  const scans = nodes.filter((node) => node['Node Type'] !== 'Sort');
  return { text: nodes.map(describe).join(', '), executionMs, rowsRead: scans.reduce((sum, node) => sum + read(node), 0) };
}

/**
 * `EXPLAIN ANALYZE` of the pages after `PLAN_SAMPLES` of the starting points, one at a time: their
 * execution times and the rows their scans read, and the plan of the slowest.
 */
async function planSample(cluster, url, tenants, rows) {
  const execution = new Samples();
  const rowsRead = new Samples();
  let slowest;
  for (const row of rows.slice(0, PLAN_SAMPLES)) {
    const plan = await explainPage(cluster, url, tenants, row);
    execution.push(plan.executionMs);
    rowsRead.push(plan.rowsRead);
    if (!slowest || plan.executionMs > slowest.executionMs) slowest = plan;
  }
  return { execution: percentiles(execution), rowsRead: percentiles(rowsRead), slowest };
}

// ---------------------------------------------------------------------------------------------------
// The report

function percentiles(samples) {
  const [p50, p99, max] = samples.percentiles(50, 99, 100);
  return { p50, p99, max, count: samples.length };
}

const kb = (value) => `${value.toFixed(1)} KB`;
const ms = (value) => `${format.ms(value)} ms`;
const verdict = (ok) => (ok ? 'met' : '**missed**');

function goalRows(report) {
  const { streams, intake, paging } = report;
  const postgres = intake.find((each) => each.engine === 'postgres');
  const offered = postgres.runs.find((run) => run.mode === 'rate');
  const closed = postgres.runs.filter((run) => run.mode === 'closed').reduce((most, run) => (run.rate > most.rate ? run : most));
  const slowest = paging.scopes.reduce((worst, scope) => (scope.single.p99 > worst.single.p99 ? scope : worst));
  const { integrity } = postgres;
  return [
    [
      `webhook answered → \`call\` event on every one of ${format.thousands(streams.streams)} streams, p99`,
      ms(streams.latency.p99),
      `≤ ${GOALS.popupP99Ms} ms`,
      verdict(streams.latency.p99 <= GOALS.popupP99Ms && streams.missing === 0),
    ],
    [
      'NS deliveries/s on PostgreSQL (most taken, closed loop)',
      format.thousands(closed.rate),
      `≥ ${format.thousands(GOALS.intakeRate)}`,
      verdict(closed.rate >= GOALS.intakeRate),
    ],
    [
      `webhook answer p99, ${format.thousands(report.settings.intakeRate)} deliveries/s offered on PostgreSQL`,
      offered.abandoned ? `fell behind (p99 ${ms(offered.p99)})` : ms(offered.p99),
      `≤ ${GOALS.intakeP99Ms} ms at ${format.thousands(GOALS.intakeRate)}/s`,
      verdict(!offered.abandoned && offered.p99 <= GOALS.intakeP99Ms && report.settings.intakeRate >= GOALS.intakeRate),
    ],
    [
      `lost or doubled, ${format.thousands(integrity.redeliveries)} of ${format.thousands(integrity.sent)} deliveries redelivered`,
      `${integrity.lost} lost, ${integrity.doubled} doubled`,
      'none',
      verdict(integrity.lost === 0 && integrity.doubled === 0),
    ],
    [
      `\`GET /api/calls?after=\` with ${format.thousands(paging.storedCalls)} calls, p99 of a client paging (slowest app: ${slowest.name})`,
      ms(slowest.single.p99),
      `≤ ${GOALS.pageP99Ms} ms`,
      verdict(paging.scopes.every((scope) => scope.single.p99 <= GOALS.pageP99Ms)),
    ],
    [
      `memory per connected stream: the server's RSS growth with ${format.thousands(streams.streams)} open ÷ ${format.thousands(streams.streams)} (heap in use)`,
      `${kb(streams.memory.rssKb)} (${kb(streams.memory.heapKb)})`,
      `≤ ${GOALS.streamKb} KB`,
      verdict(streams.memory.rssKb <= GOALS.streamKb),
    ],
  ];
}

/** "before → with half → with all" of one memory figure. */
const mb = (memory, field) => [memory.before, memory.middle, memory.after].map((sample) => sample[field].toFixed(1)).join(' → ');

function render(report) {
  const { streams, intake, paging } = report;
  const { memory } = streams;
  const { reference } = memory;
  const goalHeader = ['figure', 'measured', 'goal', 'verdict'];
  const goals = goalRows(report);

  const latencyHeader = ['from the webhook answer to', 'p50 ms', 'p99 ms', 'max ms', 'samples'];
  const latencyRows = [
    ['the event on a stream (every stream, every delivery)', streams.latency],
    ['the event on the last of the streams (per delivery)', streams.lastStream],
    ['the bus handing it out (server, after its read)', streams.toBus],
  ].map(([what, p]) => [what, format.ms(p.p50), format.ms(p.p99), format.ms(p.max), format.thousands(p.count)]);
  latencyRows.push([
    'writing it to every stream (server, first → last subscriber)',
    format.ms(streams.fanOut.p50),
    format.ms(streams.fanOut.p99),
    format.ms(streams.fanOut.max),
    format.thousands(streams.fanOut.count),
  ]);

  const intakeHeader = [
    'database',
    'load',
    'deliveries/s',
    'p50 ms',
    'p99 ms',
    'max ms',
    'sent',
    'redelivered',
    'server CPU',
    'PostgreSQL CPU',
    'NS CPU',
    'other load',
  ];
  const intakeRows = intake.flatMap(({ label, runs }) =>
    runs.map((run) => [
      label,
      run.mode === 'rate' ? `${format.thousands(run.offered)}/s offered, ≤ 256 in flight` : run.name,
      `${format.thousands(run.rate)}${run.abandoned ? ' (fell behind)' : ''}`,
      format.ms(run.p50),
      format.ms(run.p99),
      format.ms(run.max),
      format.thousands(run.sent),
      format.thousands(run.redeliveries),
      format.percent(run.cpu.share.server),
      run.engine === 'postgres' ? format.percent(run.cpu.share.postgres) : '(in the server)',
      format.percent(run.cpu.share.sandbox),
      format.percent(run.cpu.other),
    ]),
  );

  const clients = report.settings.apiClients;
  const pagingHeader = [
    'app reads',
    'calls it sees',
    '1 client: p50 ms',
    'p99 ms',
    'max ms',
    `${clients} clients: pages/s`,
    'p50 ms',
    'p99 ms',
    'server CPU',
    'PostgreSQL CPU',
    'other load',
  ];
  const pagingRows = paging.scopes.map((scope) => [
    scope.name,
    format.thousands(scope.visible),
    format.ms(scope.single.p50),
    format.ms(scope.single.p99),
    format.ms(scope.single.max),
    format.thousands(scope.loaded.rps),
    format.ms(scope.loaded.p50),
    format.ms(scope.loaded.p99),
    format.percent(scope.cpu.share.server),
    format.percent(scope.cpu.share.postgres),
    `${format.percent(scope.single.cpu.other)}, ${format.percent(scope.cpu.other)}`,
  ]);
  const planHeader = ['app reads', 'execution p50 ms', 'p99 ms', 'max ms', 'rows read p50', 'max', 'plan of the slowest page'];
  const planRows = paging.scopes.map(({ name, plans }) => [
    name,
    format.ms(plans.execution.p50),
    format.ms(plans.execution.p99),
    format.ms(plans.execution.max),
    format.thousands(plans.rowsRead.p50),
    format.thousands(plans.rowsRead.max),
    plans.slowest.text,
  ]);

  const text = [
    textTable(
      goalHeader,
      goals.map((row) => row.map((cell) => cell.replaceAll('**', '').replaceAll('`', ''))),
    ),
    textTable(latencyHeader, latencyRows),
    `Memory with 0 → ${format.thousands(streams.streams / 2)} → ${format.thousands(streams.streams)} streams: RSS ${mb(memory, 'rssMb')} MB, ` +
      `heap ${mb(memory, 'heapUsedMb')} MB; per stream ${kb(memory.rssKb)} RSS, ${kb(memory.heapKb)} heap (second half ` +
      `${kb(memory.marginalRssKb)}, ${kb(memory.marginalHeapKb)}); node:http alone ${kb(reference.rssKb)} RSS, ${kb(reference.heapKb)} heap.`,
    textTable(intakeHeader, intakeRows),
    intake.flatMap(({ label, runs }) => runs.map((run) => `${label}, ${run.name}: ${sessionsText(run.sessions)}`)).join('\n'),
    textTable(pagingHeader, pagingRows),
    textTable(planHeader, planRows),
  ].join('\n\n');

  const markdown = `## Call events

Generated by \`packages/server/bench/call-events.mjs\`, the second part of \`npm run bench\` (alone:
\`npm run bench -- --only call-events\`). The goals are issue 13's.

| | |
|:---|:---|
| date | ${report.startedAt
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, ' UTC')} |
| CPU | ${report.machine.cpu}, ${report.machine.cores} cores |
| memory | ${report.machine.memoryGiB.toFixed(1)} GiB |
| Node | ${report.machine.node} |
| OS | ${report.machine.os} |
| load average at start | ${report.machine.loadAverage.map((n) => n.toFixed(2)).join(', ')} (1, 5, 15 min) |
| PostgreSQL | ${report.postgres}, a throwaway cluster on this machine with the defaults' durability (fsync, synchronous_commit on) |
| server | \`start()\` from the built \`@beckon/server\`, \`LOG_LEVEL=info\` to /dev/null; \`MAX_CONNECTIONS=${report.settings.streams + 1_000}\`, \`MAX_STREAMS=${report.settings.streams + 500}\`, \`MAX_STREAMS_PER_APP=${report.settings.streams + WARM_STREAMS}\` (the defaults refuse ${format.thousands(report.settings.streams)} streams of one app) |

${markdownTable(goalHeader, ['l', 'r', 'r', 'l'], goals)}

${failedText(report.failed)}### Live streams: from the webhook to the browsers

${format.thousands(streams.streams)} streams of one app, open at once on one server on PostgreSQL; the NS sandbox delivers
${report.settings.streamCalls} calls (ringing, answered, ended, ${STEP_MS} ms apart: ${format.thousands(streams.deliveries)} deliveries, one
record each) to the webhook; each delivery is timed from when the sandbox read its answer to when each stream
received its \`call\` event: ${format.thousands(streams.received)} times.

${markdownTable(latencyHeader, ['l', 'r', 'r', 'r', 'r'], latencyRows)}

- The streams are read by a process of their own on raw sockets, which notes the time of each read and
  parses afterwards: ${format.thousands(streams.readerMicrosPerEvent)} µs of its CPU per event and stream, so it takes some
  ${format.ms((streams.readerMicrosPerEvent * streams.streams) / 1_000)} ms to read one event off ${format.thousands(streams.streams)}
  sockets; part of the gap between the first and the last stream is the reader's. The processes' clocks agreed within
  ${format.ms(streams.clockSkewMs)} ms (checked over IPC, round trips under ${format.ms(streams.clockRttMs)} ms).
- A negative time is an event that reached the bus (or a stream) before the sandbox had read the webhook's
  answer: the server notifies at commit and answers after it.
- Server CPU during the deliveries ${format.percent(streams.cpu.share.server)} of a core, PostgreSQL ${format.percent(streams.cpu.share.postgres)},
  the browsers' process ${format.percent(streams.cpu.share.browsers)}, other processes ${format.percent(streams.cpu.other)} of the machine.

**Memory per stream.** Read in the server's process after a full collection (\`--expose-gc\`) before
opening ${format.thousands(streams.streams)} streams (${WARM_STREAMS} were opened and closed first), with half of them open, and with
all: RSS ${mb(memory, 'rssMb')} MB, JavaScript heap in use ${mb(memory, 'heapUsedMb')} MB, buffers ${mb(memory, 'externalMb')} MB.
Per stream, over all of them: ${kb(memory.rssKb)} of RSS, ${kb(memory.heapKb)} of heap, ${kb(memory.externalKb)} of buffers; over the
second half alone (one more stream, without what the first ones brought in once): ${kb(memory.marginalRssKb)} of RSS,
${kb(memory.marginalHeapKb)} of heap. Opening them (a stream token each, then the stream) took ${(memory.openMs / 1_000).toFixed(1)} s.
The kernel's socket buffers are not in RSS. For reference, node:http alone holding as many event streams
(the same headers and first lines, nothing else), measured the same way: ${kb(reference.rssKb)} of RSS and
${kb(reference.heapKb)} of heap per stream (second half: ${kb(reference.marginalRssKb)} and ${kb(reference.marginalHeapKb)}).

### Intake: NetSapiens deliveries on the webhook

Call records from the sandbox's process, posted to the post-url of the subscription Beckon made with the
sandbox, as the sandbox's deliverer posts them (one record per POST of a JSON array, keep-alive
connections) but without its bookkeeping, which costs about a millisecond of CPU per delivery: a call's
next state only once the previous one was answered, and one delivery in ten a redelivery of one of the
last 1 000 records sent (some still in flight: a retry racing its original). The posts go through a
minimal keep-alive client of the benchmark's own rather than \`node:http\`'s, which took about 90 µs of
CPU a post on the cores the server uses.
*offered*: deliveries fall due at that rate whatever the answers (a delivery's time runs from when it fell
due, so waiting for a free sender counts; two seconds behind, the run stops as *fell behind*);
*senders*: each posts again as soon as it is answered, which finds the most the server takes.
Each engine's server is first warmed up for ${Math.max(report.settings.warmup, INTAKE_WARMUP_S)} s with the senders' load: a fresh server takes about
half the rate in its first second, and a run started then measures its catching up.

${markdownTable(intakeHeader, ['l', 'l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r'], intakeRows)}

${intake.map(integrityText).join('\n')}

${intake
  .filter(({ roundTrip }) => roundTrip)
  .map(
    ({ roundTrip }) =>
      `A \`SELECT 1\` round trip from Node to this PostgreSQL, alone: p50 ${ms(roundTrip.p50)}, p99 ${ms(roundTrip.p99)} (500, one after the other).`,
  )
  .join('\n')}

Where PostgreSQL's sessions were, on average over each run (sampled from \`pg_stat_activity\` every ${SESSION_SAMPLE_MS} ms;
the server's pool has 10):

${intake
  .flatMap(({ label, runs }) => runs.filter((run) => run.sessions).map((run) => `- ${label}, ${run.name}: ${sessionsText(run.sessions)}`))
  .join('\n')}

### \`GET /api/calls\` through ${format.thousands(paging.storedCalls)} stored calls

${format.thousands(paging.storedCalls)} calls stored with SQL in ${(paging.seedMs / 1_000).toFixed(0)} s (table and indexes ${Math.round(paging.tableMb)} MB), over
${paging.tenants} ids of very different sizes, a third matched to customers, then \`VACUUM (ANALYZE)\`. For each
app, a client starts after a random call the app sees (${format.thousands(STARTING_POINTS)} starting points, cursors built as
the route builds \`next\`, checked against one) and reads ${PAGES_PER_WALK} pages of ${PAGE_LIMIT} with \`after=\`, then
starts again elsewhere, for ${report.settings.duration} s: first one client (each page's own time: the goal's figure),
then ${clients} at once (what the server takes; their times include waiting for it). Every page's time counts.

${markdownTable(pagingHeader, ['l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r'], pagingRows)}

*server CPU* and *PostgreSQL CPU* are for the ${clients} clients' run; *other load* is the share of the machine
other processes used during the one-client run, then during the ${clients} clients'.

What the same pages cost PostgreSQL alone: \`EXPLAIN ANALYZE\` of the route's query for the pages after
${PLAN_SAMPLES} of the starting points, one at a time once the clients had stopped (execution time, rows the scans of
\`calls\` read to return ${PAGE_LIMIT}, and the slowest one's plan):

${markdownTable(planHeader, ['l', 'r', 'r', 'r', 'r', 'r', 'l'], planRows)}

### Reading

${reading(report)}
`;
  return { text, markdown };
}

/** A paragraph per finding, worded from this run's figures. */
function reading({ streams, intake, paging, postgres }) {
  const lines = [];
  const { memory } = streams;
  // Runs during which other processes took a good share of the machine: their figures say so.
  const busy = (...cpus) => {
    const other = Math.max(...cpus.map((cpu) => cpu.other ?? 0));
    return other < 0.25
      ? ''
      : ` *(Other processes took up to ${format.percent(other)} of the machine meanwhile: read these figures with caution.)*`;
  };
  lines.push(
    `- **Streams.** The event reached the bus ${ms(streams.toBus.p50)} after the webhook's answer (p50; the bus reads it from ` +
      `the database on the commit's notification), the server wrote it to all ${format.thousands(streams.streams)} streams in ` +
      `${ms(streams.fanOut.p50)} (p50, ${ms(streams.fanOut.max)} at most), and the last stream had it ${ms(streams.lastStream.p50)} ` +
      `after the answer (p50; ${ms(streams.lastStream.max)} at worst). A stream costs ${kb(memory.rssKb)} of RSS and ${kb(memory.heapKb)} ` +
      `of heap (the second half of them alone ${kb(memory.marginalRssKb)} of RSS: part of the first half's growth came once, not per ` +
      `stream); node:http alone holding an event stream, ${kb(memory.reference.rssKb)} and ${kb(memory.reference.heapKb)}: Beckon's own ` +
      `part is some ${kb(memory.heapKb - memory.reference.heapKb)} of heap per stream (its Koa context, the request's logger, the ` +
      `stream's state), the rest is any open HTTP response's.` +
      busy(streams.cpu),
  );
  for (const { label, engine, runs, roundTrip } of intake) {
    const closed = runs.find((run) => run.mode === 'closed' && run.concurrency > 1);
    const alone = runs.find((run) => run.mode === 'closed' && run.concurrency === 1);
    const cpuMs = alone.cpu.micros.server / 1_000 / Math.max(1, alone.ok);
    const aloneText =
      `One sender alone had each delivery answered in ${ms(alone.p50)} (p50): ${format.thousands(alone.rate)} deliveries/s, ` +
      `the server's process spending ${ms(cpuMs)} of CPU on each — at that cost a core of it takes some ` +
      `${format.thousands(1_000 / cpuMs)} deliveries/s, lock or no lock. `;
    if (engine === 'postgres' && closed.sessions) {
      const waiting = closed.sessions['waiting for the call-events lock'] ?? 0;
      const holding = (closed.sessions['in a transaction, waiting for the server'] ?? 0) + (closed.sessions['running a statement'] ?? 0);
      const wal = closed.sessions['writing or flushing WAL'] ?? 0;
      lines.push(
        `- **Intake on ${label}** took ${format.thousands(closed.rate)} deliveries/s with ${closed.concurrency} senders, the server's ` +
          `process at ${format.percent(closed.cpu.share.server)} of a core and PostgreSQL at ${format.percent(closed.cpu.share.postgres)}: ` +
          `neither was out of CPU. Of the pool's 10 sessions, ${waiting.toFixed(1)} on average waited for the call-events lock ` +
          `(\`pg_advisory_xact_lock\`, taken last in every delivery's transaction, in the statement that inserts its event, and ` +
          `held to the commit: events/calls.ts, events/intake.ts) while ${holding.toFixed(1)} were in a transaction, mostly ` +
          `waiting for the server's next statement; ${wal.toFixed(1)} were flushing WAL. A delivery's transaction is six round ` +
          `trips (begin, the delivery, the call read, the call written with its customer, the event with the lock and its ` +
          `notification, the commit; a bare round trip takes ${ms(roundTrip.p50)} here, p50); the lock is held for the last two ` +
          `and the server's turn between them, which its busy event loop stretches: ` +
          `${format.ms(1_000 / closed.rate)} ms per delivery at this rate. ${aloneText}The server's CPU per delivery is the ` +
          `ceiling now as much as the lock: its event loop runs the HTTP request, the JSON, the checks and six statements' ` +
          `protocol work for each, and only one core of the two is its own.` +
          busy(closed.cpu, alone.cpu),
      );
    } else if (engine === 'pglite') {
      lines.push(
        `- **Intake on ${label}** took ${format.thousands(closed.rate)} deliveries/s with ${closed.concurrency} senders: the embedded ` +
          `database runs on the server's own thread, which was at ${format.percent(closed.cpu.share.server)} of a core. ${aloneText}` +
          busy(closed.cpu, alone.cpu),
      );
    }
  }
  const costly = paging.scopes.filter((scope) => scope.plans.rowsRead.max > 10 * PAGE_LIMIT);
  const cheap = paging.scopes.filter((scope) => !costly.includes(scope));
  const worst = paging.scopes.reduce((a, b) => (b.single.p99 > a.single.p99 ? b : a));
  const slowestQuery = (scopes) => scopes.reduce((a, b) => (b.plans.execution.p99 > a.plans.execution.p99 ? b : a));
  lines.push(
    `- **Paging.** The slowest app for a client paging was *${worst.name}* (p99 ${ms(worst.single.p99)}, p50 ${ms(worst.single.p50)}). ` +
      (costly.length > 0
        ? `For ${costly.map((scope) => `*${scope.name}*`).join(' and ')}, a page's scans read up to ` +
          `${costly.map((scope) => format.thousands(scope.plans.rowsRead.max)).join(' and ')} rows to return ${PAGE_LIMIT} ` +
          `(PostgreSQL's execution p50 ${costly.map((scope) => ms(scope.plans.execution.p50)).join(' and ')}): ` +
          `the route filters with \`c.tenant = ANY($1)\`, and on PostgreSQL ${postgres.split('.')[0]} a list of ids, even a list of ` +
          `one, cannot use \`calls_tenant_newest\`'s order, so the planner either walks every id's calls newest first ` +
          `(\`calls_newest\`) and throws away the others', or reads all the app's calls older than the cursor and sorts them. ` +
          `The sparser the app's ids among all calls, the more rows a page costs. An index cannot give a list that order; the query ` +
          `can (an equality on \`tenant\` for one id, a page per id merged for several). `
        : 'Every sampled plan read about a page of rows: the cost of a page does not grow with its depth. ') +
      (cheap.length > 0
        ? `For ${cheap.map((scope) => `*${scope.name}*`).join(', ')}, the query cost PostgreSQL at most ` +
          `${ms(slowestQuery(cheap).plans.execution.max)} (p99 ${ms(slowestQuery(cheap).plans.execution.p99)}); their pages' ` +
          `p99 over HTTP (${cheap.map((scope) => ms(scope.single.p99)).join(', ')}) comes from outside the query: the server's ` +
          `process (the key's lookup, 100 calls to JSON, the log line) and the machine's other work ` +
          `(${cheap.map((scope) => format.percent(scope.single.cpu.other)).join(', ')} of it during those runs).`
        : '') +
      busy(worst.single.cpu),
  );
  return lines.join('\n');
}

function integrityText({ label, integrity }) {
  const { expected, held } = integrity;
  return (
    `- **${label}**: ${format.thousands(integrity.sent)} deliveries sent, ${format.thousands(integrity.redeliveries)} of them redeliveries; ` +
    `${format.thousands(expected.distinct)} distinct records and ${format.thousands(expected.calls)} calls answered 200. The database holds ` +
    `${format.thousands(held.deliveries)} deliveries (${held.unprocessed} unprocessed), ${format.thousands(held.events)} call events ` +
    `(${held.doubled} calls with a state twice) and ${format.thousands(held.calls)} calls: ${integrity.lost} lost, ${integrity.doubled} doubled.`
  );
}

function sessionsText(sessions) {
  if (!sessions) return 'the embedded database runs in the server';
  return Object.entries(sessions)
    .sort(([, a], [, b]) => b - a)
    .map(([what, average]) => `${average.toFixed(1)} ${what}`)
    .join(', ');
}

function failedText(failed) {
  if (failed.length === 0) return '';
  return `**Checks that failed:**\n\n${failed.map((problem) => `- ${problem}`).join('\n')}\n\n`;
}
