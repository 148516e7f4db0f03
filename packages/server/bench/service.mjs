// One server under test, in a process of its own: `node service.mjs <role> [options as JSON]`, driven by
// run.mjs over IPC. Each server gets its own process so that autocannon (in the parent) does not share an
// event loop with what it measures, and the NS sandbox stands apart from Beckon as a real NetSapiens
// would. Roles:
//   sandbox  the NetSapiens stand-in (`@beckon/ns-client/sandbox`, built)
//   beckon   `@beckon/server` (built) wired by `start()` from an environment, exactly as beckon-server is
//   koa      a bare Koa app answering {status:'ok'}: the reference Beckon's overhead is read against
//   floor    a bare Koa route placing the same queued call as click-to-call with undici's `request` on a
//            keep-alive pool: the floor click-to-call's throughput is read against
//   streams  the call-events benchmark's browsers: many live streams (`GET /api/call-stream`) on raw
//            sockets, each event timed as it arrives (streams.mjs)
//
// Protocol: the child sends {type:'ready', url, ...} once listening; the parent sends {id, cmd, args} and
// gets {id, result} or {id, error}. The child exits when told to `close`, or when the parent goes away,
// so a crashed run never leaves a server listening.

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { createLogger, loadConfig, openFileTenantStore, start } from '@beckon/server';
import { startNsSandbox } from '@beckon/ns-client/sandbox';
import { cpuProfiler } from './cpu-split.mjs';
import { runIntake } from './intake-load.mjs';
import { generateTenants, measureLookups, serverRequire } from './lib.mjs';
import { callEvents, openStream } from './streams.mjs';

// The koa @beckon/server itself runs on, not whatever the repository root's node_modules holds (an old
// koa 2 pulled in by the widget's test runner can sit there).
const Koa = serverRequire('koa');

const [role, rawOptions = '{}'] = process.argv.slice(2);
const options = JSON.parse(rawOptions);

/** Commands every role answers; the role adds its own. */
const commands = {
  // CPU time of this process (µs), so the parent can tell its own work from other load on the machine.
  cpu: () => {
    const { user, system } = process.cpuUsage();
    return user + system;
  },
  // What the process keeps, after a full collection: resident memory, the JavaScript heap in use and the
  // memory outside it that JavaScript objects hold (buffers) (MiB).
  memory: () => {
    globalThis.gc?.();
    globalThis.gc?.();
    const { rss, heapUsed, heapTotal, external } = process.memoryUsage();
    return { rssMb: rss / 2 ** 20, heapUsedMb: heapUsed / 2 ** 20, heapTotalMb: heapTotal / 2 ** 20, externalMb: external / 2 ** 20 };
  },
  // This process's clock (ms since the epoch, sub-millisecond), to check that processes' times compare.
  clock: () => now(),
  // A sampling profile of the main thread between the two: where its time went, by package (cpu-split.mjs).
  profileStart: (args) => profiler.start(args),
  profileStop: () => profiler.stop(),
};
const profiler = cpuProfiler();

/** A loop-delay histogram's figures in ms (it counts ns, from one firing of its 1 ms timer to the next: the period included). */
const delays = (histogram) => ({
  maxMs: histogram.max / 1e6,
  p99Ms: histogram.percentile(99) / 1e6,
  meanMs: histogram.mean / 1e6,
  samples: histogram.count,
});

/** A time that compares across processes on one machine: the epoch's ms, at sub-millisecond precision. */
const now = () => performance.timeOrigin + performance.now();

/**
 * The NetSapiens stand-in. It counts what it receives from events rather than reading `sandbox.calls`,
 * which deep-copies every record on each read.
 */
async function sandboxRole() {
  const sandbox = await startNsSandbox({ token: options.token, deliveries: options.deliveries });
  let calls = 0;
  let messages = 0;
  sandbox.events.on('call', () => calls++);
  sandbox.events.on('message', () => messages++);
  // When each delivery of a simulated call was answered, by `<orig_callid>|<state>`: the start of the
  // webhook-to-browser time. The sandbox announces a delivery as soon as its answer has been read.
  const answers = new Map();
  sandbox.events.on('delivery', (delivery) => {
    if (delivery.outcome === 'delivered' && delivery.state) answers.set(`${delivery.records[0].orig_callid}|${delivery.state}`, now());
  });
  Object.assign(commands, {
    counts: () => ({ calls, messages }),
    // One call's records as the sandbox builds them, delivered nowhere (no subscription may match `domain` yet).
    callRecords: async (call) => (await sandbox.simulateCall(call)).records,
    subscriptions: () => sandbox.subscriptions.map(({ id, domain, model }) => ({ id, domain, model })),
    // `calls` calls into `domain`, one after the other, each ringing, answered and ended `stepMs` apart;
    // then when each delivery was answered, and the statuses of any that failed.
    simulateCalls: async ({ calls: count, stepMs, ...call }) => {
      answers.clear();
      const failed = [];
      for (let i = 0; i < count; i++) {
        const { deliveries } = await sandbox.simulateCall({ ...call, from: `+1813555${String(i % 10_000).padStart(4, '0')}`, stepMs });
        for (const delivery of deliveries) if (delivery.outcome !== 'delivered') failed.push(delivery.attempts.at(-1)?.status ?? 'none');
        await sleep(stepMs);
      }
      return { answers: [...answers], failed };
    },
    // A load on the webhook of subscription `subscriptionId`, posted as the sandbox posts (intake-load.mjs).
    intake: ({ subscriptionId, ...load }) =>
      runIntake({ ...load, postUrl: sandbox.subscriptions.find((subscription) => subscription.id === subscriptionId)['post-url'] }),
    // A slow SMS API: every text is answered (and carried out) `delayMs` late, until cleared.
    slowSms: ({ delayMs }) => sandbox.inject({ route: 'messages.send', delayMs, times: Infinity }),
    // Also forgets the recorded calls and texts, so the sandbox's memory does not grow across scenarios.
    reset: () => sandbox.reset(),
    close: () => sandbox.close(),
  });
  return { url: sandbox.url };
}

/**
 * Beckon as `beckon-server` runs it: `loadConfig` on an environment, then `start()`. Its logger writes to
 * stdout at `info`, one line per request, as in production; the parent points stdout at /dev/null, so
 * the cost of logging is in the figures but the output is not.
 */
async function beckonRole() {
  const dir = await mkdtemp(join(tmpdir(), 'beckon-bench-'));
  const domainsFile = join(dir, 'domains.json');
  // Generated here from a count (the same ids run.mjs generates): 10 000 entries are too big for argv.
  const tenants = generateTenants(options.tenantCount);
  await writeFile(domainsFile, JSON.stringify(tenants, null, 2));
  const ids = Object.keys(tenants);

  // The in-process lookup cost, on a store of its own opened on the same file: no request traffic or
  // server state in the way. Opening it also times the load (parse and validate every entry).
  const quiet = createLogger('silent');
  const opened = performance.now();
  const store = await openFileTenantStore({ path: domainsFile, logger: quiet });
  const loadMs = performance.now() - opened;
  const lookup = measureLookups(store, ids);
  await store.close();

  const config = loadConfig({ ...options.env, DOMAINS_FILE: domainsFile, DATA_DIR: dir, PORT: '0', HOST: '127.0.0.1' });
  const running = await start({ config });

  // Background texts in flight, sampled: how far a slow SMS API lets them pile up.
  let peakBackground = 0;
  // Texts the server dropped at its cap on texts in flight, counted per run like the peak.
  let droppedBefore = 0;
  const sampler = setInterval(() => {
    peakBackground = Math.max(peakBackground, running.deps.background.size);
  }, 10);
  sampler.unref();

  let pendingChange;

  // Markers on the bus of call events, after the streams or before them: when the bus handed an event to
  // its subscribers (subscribed in that order), by `<session_id>|<status>`.
  const marks = {};
  Object.assign(commands, {
    // One statement on the server's own database (PostgreSQL or its embedded one): counts, checks.
    query: async ({ sql, params }) => (await running.deps.db.query(sql, params)).rows,
    // Live streams the bus serves now (markers included).
    subscribers: () => running.deps.callEvents.size,
    mark: async ({ name }) => {
      const times = (marks[name] = []);
      await running.deps.callEvents.subscribe({
        deliver: (event) => {
          const at = now();
          const { call } = JSON.parse(event.frame.slice(event.frame.indexOf('data: ') + 6));
          times.push([`${call.session_id}|${call.status}`, at]);
        },
        end: () => undefined,
      });
    },
    marks: () => marks,
    // The peak is since the previous `stats`: the parent asks once before a run and once after it.
    stats: () => {
      const { size, dropped } = running.deps.background;
      const stats = { background: size, peakBackground, dropped: dropped - droppedBefore, rssMb: process.memoryUsage().rss / 2 ** 20 };
      peakBackground = size;
      droppedBefore = dropped;
      return stats;
    },
    // `background.drain()` returns as soon as nothing is running, and a request the server was still
    // handling when the load stopped can start a text just after: so drain until none is left twice in
    // a row, or time runs out.
    drain: async ({ timeoutMs }) => {
      const deadline = Date.now() + timeoutMs;
      for (let idleChecks = 0; idleChecks < 2 && Date.now() < deadline;) {
        await running.deps.background.drain(Math.max(0, deadline - Date.now()));
        idleChecks = running.deps.background.size === 0 ? idleChecks + 1 : 0;
        await sleep(50);
      }
      return running.deps.background.size;
    },
    // A change to domains.json, made ready apart from the measurement: the file's text with one entry's
    // company name changed (building 100 000 entries' JSON is the writer's work, not the server's).
    prepareChange: () => {
      const id = ids[Math.floor(ids.length / 2)];
      const name = `Changed ${Date.now()}`;
      const changed = { ...tenants, [id]: { ...tenants[id], branding: { ...tenants[id].branding, company_name: name } } };
      pendingChange = { id, name, bytes: Buffer.from(JSON.stringify(changed, null, 2)) };
      // The harness's garbage (the start-up's, this text's making) collected now, not inside the measurement.
      globalThis.gc?.();
      globalThis.gc?.();
    },
    // Writes the prepared change and samples the event loop's delay until the server serves it.
    applyChange: async () => {
      const { id, name, bytes } = pendingChange;
      const histogram = monitorEventLoopDelay({ resolution: 1 });
      histogram.enable();
      const started = performance.now();
      await writeFile(domainsFile, bytes);
      let served = false;
      while (!served && performance.now() - started < 30_000) {
        await sleep(2);
        served = running.deps.tenants.get(id)?.branding?.company_name === name;
      }
      const changeMs = performance.now() - started;
      // A stall that ended with the swap is recorded at the timer's next firing: give it one.
      await sleep(20);
      histogram.disable();
      return { served, changeMs, ...delays(histogram) };
    },
    // The event loop's delay over `ms` of whatever the server is doing.
    loopDelay: async ({ ms }) => {
      const histogram = monitorEventLoopDelay({ resolution: 1 });
      histogram.enable();
      await sleep(ms);
      histogram.disable();
      return delays(histogram);
    },
    close: async () => {
      clearInterval(sampler);
      await running.close(5_000);
      await rm(dir, { recursive: true, force: true });
    },
  });
  return { url: running.url, ids: running.deps.tenants.size(), loadMs, lookup };
}

/** The reference: Koa and nothing else, in the same kind of process, on the same kind of server. */
async function koaRole() {
  const app = new Koa();
  app.use((ctx) => {
    ctx.body = { status: 'ok' };
  });
  const server = createServer(app.callback());
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  Object.assign(commands, {
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  });
  return { url: `http://127.0.0.1:${server.address().port}` };
}

/**
 * The floor of click-to-call: Koa, and the request to NetSapiens made with the leanest client Node has.
 * `POST /` with click-to-call's JSON body (`{id, phone_number}`) places the same legacy `queuedcall`
 * create, a multipart POST with the same fields and bearer token, to the same sandbox, with undici's
 * `request` on a keep-alive pool as large as ns-client's (256), and answers `{status:'ok'}` once NetSapiens
 * accepted it. Nothing else: no id lookup, limits, number policy, log line or error envelope.
 */
async function floorRole() {
  const { Pool, request } = serverRequire('undici');
  const ns = new URL(options.nsUrl);
  const pool = new Pool(ns.origin, { connections: 256 });
  const path = `${ns.pathname.replace(/\/$/, '')}/ns-api/?object=queuedcall&action=create`;
  const boundary = '----beckon-floor-7a3c9e1f2b4d';
  const headers = {
    authorization: `Bearer ${options.token}`,
    accept: 'application/json',
    'content-type': `multipart/form-data; boundary=${boundary}`,
  };
  const part = (name, value) => `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`;
  const app = new Koa();
  app.use(async (ctx) => {
    const chunks = [];
    for await (const chunk of ctx.req) chunks.push(chunk);
    const { id, phone_number: destination } = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    const queue = `9002@${id.slice(0, id.lastIndexOf('-'))}`;
    const body = Buffer.from(
      `${part('format', 'json')}${part('uid', queue)}${part('queue', queue)}${part('destination', destination)}--${boundary}--\r\n`,
    );
    const answer = await request(`${ns.origin}${path}`, { method: 'POST', headers, body, dispatcher: pool });
    await answer.body.text();
    if (answer.statusCode < 200 || answer.statusCode > 299) ctx.throw(502, `NS answered ${answer.statusCode}`);
    ctx.body = { status: 'ok' };
  });
  const server = createServer(app.callback());
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  Object.assign(commands, {
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await pool.close();
    },
  });
  return { url: `http://127.0.0.1:${server.address().port}`, undici: serverRequire('undici/package.json').version };
}

/**
 * Browsers: `open` opens `count` live streams with an app's key (a stream token each, asked for first,
 * as `<call-popup>` does) and resolves once every one said `connected`; `events` gives each stream's
 * `call` events with the time each arrived; `closeAll` disconnects them.
 */
async function streamsRole() {
  let streams = [];
  Object.assign(commands, {
    open: async ({ url, key, count }) => {
      const tokens = [];
      // Without a key, the reference server: any path is a stream.
      if (!key) tokens.push(...Array.from({ length: count }, () => 'none'));
      for (let i = 0; key && i < count; i += 20) {
        const batch = Array.from({ length: Math.min(20, count - i) }, async () => {
          const response = await fetch(`${url}/api/stream-tokens`, { method: 'POST', headers: { 'x-app-api-key': key } });
          if (response.status !== 201) throw new Error(`POST /api/stream-tokens answered ${response.status}`);
          return (await response.json()).token;
        });
        tokens.push(...(await Promise.all(batch)));
      }
      for (let i = 0; i < tokens.length; i += 50) {
        streams.push(...(await Promise.all(tokens.slice(i, i + 50).map((token) => openStream(url, `/api/call-stream?token=${token}`)))));
      }
      return streams.length;
    },
    events: () => streams.map((stream) => callEvents(stream.reads)),
    closeAll: () => {
      for (const stream of streams) stream.close();
      streams = [];
    },
    close: () => commands.closeAll(),
  });
  return {};
}

/**
 * The reference for a live stream's memory: node:http alone holding event streams open, each answered
 * with the headers, `retry:` and `connected` as Beckon answers, then left open.
 */
async function sseRole() {
  const server = createServer((req, res) => {
    req.socket.setTimeout(0);
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store, no-transform',
      Connection: 'keep-alive',
    });
    res.write('retry: 3000\n\nid: 0\nevent: connected\ndata: {"type":"connected"}\n\n');
  });
  server.maxConnections = Infinity;
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  Object.assign(commands, {
    subscribers: () => new Promise((resolve, reject) => server.getConnections((error, count) => (error ? reject(error) : resolve(count)))),
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  });
  return { url: `http://127.0.0.1:${server.address().port}` };
}

const roles = { sandbox: sandboxRole, beckon: beckonRole, koa: koaRole, floor: floorRole, streams: streamsRole, sse: sseRole };

process.on('disconnect', () => process.exit(0));
process.on('message', async ({ id, cmd, args }) => {
  try {
    const handler = commands[cmd];
    if (!handler) throw new Error(`unknown command ${cmd} for ${role}`);
    const result = await handler(args ?? {});
    process.send({ id, result });
    if (cmd === 'close') process.disconnect();
  } catch (error) {
    process.send({ id, error: error.stack ?? String(error) });
  }
});

try {
  if (!roles[role]) throw new Error(`unknown role ${role}`);
  process.send({ type: 'ready', ...(await roles[role]()) });
} catch (error) {
  process.send({ type: 'failed', error: error.stack ?? String(error) });
  process.disconnect();
}
