// The "prove it holds" benchmark: requests/s and latency of Beckon's public routes under autocannon on
// loopback, against a bare Koa app as the reference, with the NS sandbox as NetSapiens; and what the
// per-id config costs with 10 and with 10 000 ids. Then, second, the call events' figures against issue
// 13's goals (call-events.mjs: live streams, webhook intake, /api/calls paging, on PostgreSQL). Prints
// the tables and writes docs/benchmarks.md.
//
//   npm run bench                      (builds first; runs the BUILT @beckon/server and sandbox)
//   npm run bench -- --duration 10 --connections 100 --no-write
//   npm run bench -- --only call-events --streams 100 --stored-calls 50000   (one part, smaller)
//
// Layout: this process runs autocannon only. The NS sandbox, each Beckon server and the bare Koa app run
// in child processes (service.mjs), so the load generator never shares an event loop with what it
// measures and NetSapiens stands apart as it would in production. Every number is from real HTTP
// servers on 127.0.0.1, port 0.

import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { checkPhone } from '@beckon/server';
import { CALL_EVENTS_SECTION, callEventsPart } from './call-events.mjs';
import { startPostgres } from './postgres.mjs';
import {
  cycle,
  format,
  generateTenants,
  machineCpu,
  machineInfo,
  markdownTable,
  otherLoad,
  phoneNumbers,
  readSettings,
  Samples,
  serverRequire,
  spawnService,
  textTable,
  USAGE,
  watchProcesses,
} from './lib.mjs';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const versions = {
  koa: serverRequire('koa/package.json').version,
  autocannon: serverRequire('autocannon/package.json').version,
};

// Limits high enough never to trip: every request then does its full work (limiter calls included)
// instead of stopping early at a cheap 429. The benchmark's callers all come from 127.0.0.1.
const NEVER = '1000000000';
const LIMITS = {
  LIMIT_IP_PER_MINUTE: NEVER,
  LIMIT_ID_PER_HOUR: NEVER,
  LIMIT_NUMBER_PER_HOUR: NEVER,
  LIMIT_NUMBERS_PER_VISITOR_PER_HOUR: NEVER,
  LIMIT_TEXTS_PER_ID_PER_HOUR: NEVER,
  LIMIT_WEBRESPONDER_PER_MINUTE: NEVER,
};

/** Issue 19's goals for click-to-call, in one bench run: server CPU per request, and throughput as a share of the floor's. */
const CLICK_GOALS = { micros: 250, share: 0.6 };
/** Issue 19's goal for a change to domains.json at 100 000 ids: the event loop never stalls longer. */
const CHANGE_GOAL_MS = 20;

/** The connection counts of the sweep: the Flask service's design point, the main table's default, and a crowd. */
const SWEEP_CONNECTIONS = [10, 50, 200];

let settings;
try {
  settings = readSettings(process.argv.slice(2), process.env);
} catch (error) {
  console.error(`${error.message}\n\n${USAGE}`);
  process.exit(2);
}
if (settings.help) {
  console.log(USAGE);
  process.exit(0);
}

/** Every child still running, for CPU accounting and so that a failure never leaves one behind. */
const live = new Set();
let launched = 0;
/** This run's child processes, to tell them from other work on the machine. */
const ourPids = new Set();
/** CPU time of children that have closed, so the run-wide figure still counts them. */
let retiredMicros = 0;
/** Checks that failed: the figures would not mean what the table says. */
const problems = [];

try {
  await main();
} catch (error) {
  console.error(error);
  process.exitCode = 1;
} finally {
  await Promise.all([...live].map(stop));
}

async function main() {
  const sections = {};
  if (settings.parts.includes('routes')) sections.routes = await routesPart();
  if (settings.parts.includes('call-events')) {
    if (sections.routes) console.log('');
    sections.callEvents = await callEventsPart({ settings, launch, stop, problems, ourPids });
  }
  for (const problem of problems) console.log(`CHECK FAILED: ${problem}`);
  if (problems.length > 0 && !settings.logs) console.log("Rerun with --logs DIR to keep the servers' logs.");
  if (settings.out) {
    const file = resolve(ROOT, settings.out);
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, await reportFile(file, sections));
    console.log(`Wrote ${relative(process.cwd(), file) || file}`);
  }
  if (problems.length > 0) process.exitCode = 1;
}

/**
 * The report: the route part's text, then the call-events section. A part that did not run this time
 * (`--only`) keeps its section from the file as it was.
 */
async function reportFile(file, sections) {
  const existing = await readFile(file, 'utf8').catch(() => '');
  const split = existing.search(CALL_EVENTS_SECTION);
  const [oldRoutes, oldCallEvents] = split < 0 ? [existing, ''] : [existing.slice(0, split), existing.slice(split)];
  const routes = sections.routes ?? (oldRoutes.trim() ? oldRoutes : '# Benchmarks\n\n');
  const callEvents = sections.callEvents ?? oldCallEvents;
  return `${routes.trimEnd()}\n${callEvents ? `\n${callEvents.trimEnd()}\n` : ''}`;
}

/** The routes' benchmark: prints its tables and returns its part of the report. */
async function routesPart() {
  const machine = machineInfo();
  const startedAt = new Date();
  const runCpu = { machine: machineCpu(), ours: await ourMicros(), wall: performance.now() };
  const others = watchProcesses();
  console.log(
    `Beckon benchmark: ${settings.duration} s per scenario (+${settings.warmup} s warm-up), ${settings.connections} connections\n` +
      `${machine.cpu}, ${machine.cores} cores, Node ${machine.node}; load average ${machine.loadAverage.map((n) => n.toFixed(2)).join(' ')}\n`,
  );

  const token = randomBytes(16).toString('hex');
  const sandbox = await launch('sandbox', { token });
  const env = {
    NS_API_BASE: sandbox.url,
    NS_TOKEN: token,
    UPDATE_SECRET: randomBytes(24).toString('base64url'),
    LOG_LEVEL: 'info',
    ...LIMITS,
  };
  const nextNumber = phoneNumbers((number) => checkPhone(number, {}).ok);
  const rows = [];

  // The reference: what Koa alone answers on this machine, now.
  const koa = await launch('koa');
  const reference = await scenario({ name: 'bare Koa GET / (reference)', service: koa, request: () => ({ path: '/' }) });
  rows.push(reference);
  await stop(koa);

  // The floor of click-to-call: Koa placing the same queued call with undici, and nothing else.
  const floorService = await launch('floor', { nsUrl: sandbox.url, token });
  versions.undici = floorService.info.undici;
  const smallIds = cycle(Object.keys(generateTenants(10)));
  const routes = routeDefinitions({ sandbox, ids: smallIds, nextNumber });
  const floor = await scenario({ ...routes.floor, service: floorService });
  rows.push(floor);
  await stop(floorService);

  // Beckon with 10 ids: every route. Read-only routes first, so they see a fresh process.
  const small = await launch('beckon', { tenantCount: 10, env });
  rows.push(await scenario({ ...routes.health, service: small }));
  rows.push(await scenario({ ...routes.loader, service: small }));
  const config10 = await scenario({ ...routes.config, service: small });
  rows.push(config10);
  const click = await scenario({ ...routes.click, service: small });
  rows.push(click);
  const smsNormal = await scenario({ ...routes.webresponder, service: small });
  rows.push(smsNormal);
  await sandbox.call('slowSms', { delayMs: settings.smsDelayMs });
  const smsSlow = await scenario({
    ...routes.webresponder,
    name: `GET /webresponder (SMS API +${settings.smsDelayMs / 1000} s)`,
    service: small,
    drainMs: settings.smsDelayMs + 10_000,
    // The route must answer at once: an answer as slow as the SMS API waited for its text.
    verify: (result, counts, stats) =>
      result.max >= settings.smsDelayMs
        ? `an answer took ${format.ms(result.max)} ms, as long as a text`
        : routes.webresponder.verify(result, counts, stats),
    note: (_, { messages }, stats) =>
      `${format.thousands(messages)} texts sent after the answers, ${format.thousands(stats.dropped)} dropped at the cap; peak ${format.thousands(stats.peakBackground)} in flight, RSS ${Math.round(stats.rssMb)} MB`,
  });
  rows.push(smsSlow);
  await sandbox.call('reset');
  await stop(small);

  // The same route with DATABASE_URL: the call's row goes to a PostgreSQL server (a throwaway cluster,
  // like the call-events part's) instead of the embedded database, which runs on the server's own thread.
  const cluster = await startPostgres();
  const onPostgres = await launch('beckon', {
    tenantCount: 10,
    env: { ...env, DATABASE_URL: await cluster.createDatabase('bench_routes') },
  });
  const clickOnPostgres = await scenario({ ...routes.click, name: 'POST /click-to-call (DATABASE_URL: PostgreSQL)', service: onPostgres });
  rows.push(clickOnPostgres);
  await stop(onPostgres);
  await cluster.close();

  const split = await cpuSplit(env, sandbox, routes, token);
  const sweep = await connectionsSweep(env, sandbox, routes, token);
  const flood = settings.floodSeconds > 0 ? await webresponderFlood(env, sandbox, nextNumber) : undefined;

  // The same do-nothing route without the per-request log line: how much of the overhead is logging.
  const quiet = await launch('beckon', { tenantCount: 10, env: { ...env, LOG_LEVEL: 'silent' } });
  rows.push(await scenario({ name: 'GET /health (LOG_LEVEL=silent)', service: quiet, request: () => ({ path: '/health' }) }));
  await stop(quiet);

  // Beckon with 10 000 ids: the same config route, to see whether the number of ids shows.
  const large = await launch('beckon', { tenantCount: 10_000, env });
  const largeIds = cycle(Object.keys(generateTenants(10_000)));
  const config10k = await scenario({
    name: 'GET /widget-config?id= (10 000 ids)',
    service: large,
    request: () => ({ path: `/widget-config?id=${largeIds()}` }),
  });
  rows.push(config10k);
  await stop(large);
  await stop(sandbox);

  const change = settings.changeIds > 0 ? await configChange(env, token) : undefined;

  const lookups = [
    { ids: small.info.ids, loadMs: small.info.loadMs, lookup: small.info.lookup, route: config10 },
    { ids: large.info.ids, loadMs: large.info.loadMs, lookup: large.info.lookup, route: config10k },
  ];
  const endCpu = machineCpu();
  const run = otherLoad(runCpu.machine, endCpu, (await ourMicros()) - runCpu.ours + retiredMicros, performance.now() - runCpu.wall);
  if (run) run.busiest = others.busiest(ourPids);
  const report = {
    machine,
    startedAt,
    rows,
    lookups,
    run,
    reference,
    floor,
    click,
    smsNormal,
    smsSlow,
    flood,
    sweep,
    split,
    change,
    tables: tables(rows, lookups, floor, sweep),
  };

  console.log(`\n${report.tables.text.routes}\n\n${report.tables.text.sweep}\n\n${report.tables.text.lookups}\n`);
  console.log(`${textTable(...splitTable(split))}\n`);
  if (change) console.log(`${changeText(change)}\n`);
  if (flood) console.log(`${floodText(flood)}\n`);
  console.log(`Other processes used ${format.percent(run?.other)} of the machine's CPU during the run${othersText(run)}.`);
  return markdown(report);
}

/**
 * The scenarios the main table and the connections sweep share, each but its service. Requests vary like
 * real traffic: ids cycle over the config, and every click-to-call number and webresponder caller is new.
 */
function routeDefinitions({ sandbox, ids, nextNumber }) {
  const clickBody = () => JSON.stringify({ id: ids(), phone_number: `+${nextNumber()}` });
  // Each 200 means NetSapiens accepted a queued call: the sandbox must have seen (at least) as many.
  const callsVerified = ({ ok }, { calls }) => (calls < ok ? `only ${calls} queued calls reached NS for ${ok} answers` : undefined);
  const callsNote = (_, { calls }) => `${format.thousands(calls)} calls queued in NS`;
  const clickPost = { method: 'POST', headers: { 'content-type': 'application/json', origin: 'https://www.example.net' } };
  return {
    floor: {
      name: `floor: bare Koa POST → undici queuedcall`,
      sandbox,
      ...clickPost,
      request: () => ({ path: '/', body: clickBody() }),
      verify: callsVerified,
      note: callsNote,
    },
    health: { name: 'GET /health', request: () => ({ path: '/health' }) },
    loader: { name: 'GET /widget.js?id=', request: () => ({ path: `/widget.js?id=${ids()}` }) },
    config: { name: 'GET /widget-config?id= (10 ids)', request: () => ({ path: `/widget-config?id=${ids()}` }) },
    click: {
      name: 'POST /click-to-call',
      sandbox,
      ...clickPost,
      // A new number each time: the per-number and per-visitor limits count numbers, and would refuse repeats.
      request: () => ({ path: '/click-to-call', body: clickBody() }),
      verify: callsVerified,
      note: callsNote,
    },
    webresponder: {
      name: 'GET /webresponder (SMS API normal)',
      sandbox,
      // A new caller each time, or the once-per-caller window would skip the text and the SMS API with it.
      request: () => ({ path: `/webresponder?id=${ids()}&NmsAni=${nextNumber()}` }),
      drainMs: 10_000,
      // Every answer started a text, or the server dropped it (and logged it) at its cap on texts in flight.
      verify: ({ ok }, { messages }, { dropped }) =>
        messages + dropped < ok ? `only ${messages} texts reached NS (and ${dropped} were dropped) for ${ok} answers` : undefined,
      note: (_, { messages }, stats) =>
        `${format.thousands(messages)} texts sent; peak ${format.thousands(stats.peakBackground)} in flight`,
    },
  };
}

/**
 * Where click-to-call's CPU goes, beside the floor's: each in a fresh process, warmed up, then sampled by
 * the process's own profiler (cpu-split.mjs) while the main table's load runs again. The profiler costs
 * some CPU of its own, so the split is read as shares, then applied to the CPU per request of that run.
 */
async function cpuSplit(env, sandbox, routes, token) {
  const runs = [];
  for (const [label, role, options, definition] of [
    ['floor', 'floor', { nsUrl: sandbox.url, token }, routes.floor],
    ['POST /click-to-call', 'beckon', { tenantCount: 10, env }, routes.click],
  ]) {
    process.stdout.write(`• CPU split: ${label} … `);
    const service = await launch(role, options);
    if (settings.warmup > 0) await load(service.url, definition, settings.warmup);
    const before = await service.call('cpu');
    await service.call('profileStart');
    const result = await load(service.url, definition, settings.duration);
    const profile = await service.call('profileStop');
    const micros = (await service.call('cpu')) - before;
    await stop(service);
    const requests = result.ok + result.non2xx;
    if (result.non2xx > 0 || result.errors > 0)
      problems.push(`CPU split, ${label}: ${result.non2xx} answers other than 2xx, ${result.errors} errors`);
    runs.push({ label, requests, microsPerRequest: micros / requests, ...profile });
    console.log(`${format.thousands(micros / requests)} µs/req`);
  }
  return runs;
}

/** The split as a table: each group's share of each run's main thread and what that is per request. */
function splitTable(split, markdownAlign = false) {
  const groups = [...new Set(split.flatMap((run) => Object.keys(run.groups)))];
  const perRequest = (run, group) => ((run.groups[group] ?? 0) / run.busyMs) * run.microsPerRequest;
  const [floor, click] = split;
  groups.sort((a, b) => perRequest(click, b) - perRequest(click, a));
  const header = ['where the main thread was', ...split.flatMap((run) => [`${run.label} µs/req`, 'share']), 'difference µs/req'];
  const rows = groups.map((group) => [
    group,
    ...split.flatMap((run) => [format.thousands(perRequest(run, group)), format.percent((run.groups[group] ?? 0) / run.busyMs)]),
    format.thousands(perRequest(click, group) - perRequest(floor, group)),
  ]);
  rows.push([
    "**all** (the run's CPU per request, profiler on)",
    ...split.flatMap((run) => [format.thousands(run.microsPerRequest), '100 %']),
    format.thousands(click.microsPerRequest - floor.microsPerRequest),
  ]);
  if (!markdownAlign) return [header, rows.map((row) => row.map((cell) => cell.replaceAll('**', '')))];
  return [header, ['l', ...split.flatMap(() => ['r', 'r']), 'r'], rows];
}

function splitText(split) {
  const [floor, click] = split;
  const perRequest = (run, group) => ((run.groups[group] ?? 0) / run.busyMs) * run.microsPerRequest;
  const gaps = Object.keys(click.groups)
    .map((group) => [group, perRequest(click, group) - perRequest(floor, group)])
    .sort((a, b) => b[1] - a[1]);
  const gap = click.microsPerRequest - floor.microsPerRequest;
  const top = gaps.slice(0, 3);
  const topSum = top.reduce((sum, [, micros]) => sum + micros, 0);
  return (
    `Each a fresh process, warmed up, then profiled by its own sampling profiler (200 µs) during ${settings.duration} s of the main ` +
    `table's load (${format.thousands(floor.requests)} and ${format.thousands(click.requests)} requests). A sample counts for the package ` +
    `whose code ran; native and WebAssembly frames, and Node's modules called by a package, count for the JavaScript that called them (PGlite's WebAssembly and file writes for PGlite, got's sockets for got). The shares of the main thread's busy time ` +
    `are applied to the run's CPU per request (the profiler's own cost included, threads other than the main one too). ` +
    `Of the ${format.thousands(gap)} µs per request click-to-call spends above the floor, ` +
    top.map(([group, micros]) => `${format.thousands(micros)} µs go to ${group}`).join(', ') +
    ` (${format.percent(topSum / gap)} of it together).`
  );
}

/**
 * The main routes and the floor at 10, 50 and 200 connections, each run shorter than the main table's:
 * how throughput and latency grow with the number of clients. A fresh Beckon (10 ids) and floor process.
 */
async function connectionsSweep(env, sandbox, routes, token) {
  if (settings.sweepSeconds <= 0) return undefined;
  console.log(`\nConnections sweep (${SWEEP_CONNECTIONS.join(', ')}), ${settings.sweepSeconds} s each:`);
  const beckon = await launch('beckon', { tenantCount: 10, env });
  const floorService = await launch('floor', { nsUrl: sandbox.url, token });
  const plan = [
    [routes.floor, floorService],
    [routes.health, beckon],
    [routes.loader, beckon],
    [routes.config, beckon],
    [routes.click, beckon],
    [routes.webresponder, beckon],
  ];
  const results = [];
  for (const [definition, service] of plan) {
    process.stdout.write(`• ${definition.name}: `);
    const byConnections = {};
    for (const connections of SWEEP_CONNECTIONS) {
      const row = await scenario({
        ...definition,
        name: `${definition.name} (${connections} connections)`,
        service,
        connections,
        duration: settings.sweepSeconds,
        quiet: true,
      });
      byConnections[connections] = row;
      process.stdout.write(`${connections} → ${format.thousands(row.rps)} req/s p99 ${format.ms(row.p99)} ms; `);
    }
    console.log('');
    results.push({ name: definition.name, byConnections });
  }
  await stop(floorService);
  await stop(beckon);
  await sandbox.call('reset');
  return results;
}

/**
 * A change to domains.json with 100 000 ids, made while `/widget-config` is under load: how long the event
 * loop stalls while the server reads, parses and validates the file again and swaps the new copy in. The
 * server process samples its own loop (`monitorEventLoopDelay`, 1 ms resolution) from the write until the
 * changed entry is served, and for as long again under the same load without a change, for comparison.
 */
async function configChange(env, token) {
  const ids = settings.changeIds;
  process.stdout.write(`• domains.json change at ${format.thousands(ids)} ids, under load … `);
  const sandbox = await launch('sandbox', { token });
  const service = await launch('beckon', { tenantCount: ids, env: { ...env, NS_API_BASE: sandbox.url } });
  const allIds = cycle(Object.keys(generateTenants(ids)));
  const definition = { request: () => ({ path: `/widget-config?id=${allIds()}` }) };
  await service.call('prepareChange');
  const loading = load(service.url, definition, Math.max(6, settings.duration));
  await sleep(1_000);
  const idle = await service.call('loopDelay', { ms: 1_000 });
  const changed = await service.call('applyChange');
  const result = await loading;
  await stop(service);
  await stop(sandbox);
  const statuses = Object.entries(result.statuses).filter(([status]) => status !== '200');
  if (statuses.length > 0)
    problems.push(`config change: answers other than 200: ${statuses.map(([status, count]) => `${count} × ${status}`).join(', ')}`);
  if (!changed.served) problems.push('config change: the changed entry was never served');
  const change = { ids, startupMs: service.info.loadMs, ...changed, idle, load: result };
  console.log(
    `in service after ${format.ms(change.changeMs)} ms, event loop delay max ${format.ms(change.maxMs)} ms, p99 ${format.ms(change.p99Ms)} ms`,
  );
  return change;
}

function changeText(change) {
  return (
    `domains.json change at ${format.thousands(change.ids)} ids under load (${format.thousands(change.load.rps)} req/s on /widget-config): ` +
    `the changed entry was served ${format.ms(change.changeMs)} ms after the write; the event loop's delay during that time: ` +
    `max ${format.ms(change.maxMs)} ms, p99 ${format.ms(change.p99Ms)} ms (the same load for a second without a change: ` +
    `max ${format.ms(change.idle.maxMs)} ms, p99 ${format.ms(change.idle.p99Ms)} ms). Start-up read the file in ${format.ms(change.startupMs)} ms.`
  );
}

/**
 * `/webresponder` is public: a flood of calls from distinct numbers, as an SMS pump would send them, once
 * the id's texts per hour are used up (the default cap, 60), must not make the server remember each caller.
 * A fresh server with the production text cap (the per-address limit raised: the flood comes from one
 * address), RSS read before and after, every id's cap used up in the first seconds.
 */
async function webresponderFlood(env, sandbox, nextNumber) {
  const seconds = settings.floodSeconds;
  const { LIMIT_TEXTS_PER_ID_PER_HOUR: _uncapped, ...capped } = env;
  const service = await launch('beckon', { tenantCount: 10, env: capped });
  const ids = cycle(Object.keys(generateTenants(10)));
  process.stdout.write(`• GET /webresponder, ${seconds} s flood of distinct callers … `);
  // Settled first, so that "before" holds the code and pools any request needs and the growth is the flood's.
  await load(service.url, { request: () => ({ path: '/health' }) }, 2);
  await service.call('drain', { timeoutMs: 5_000 });
  const before = await service.call('memory');
  const countsBefore = await sandbox.call('counts');
  const result = await load(service.url, { request: () => ({ path: `/webresponder?id=${ids()}&NmsAni=${nextNumber()}` }) }, seconds);
  await service.call('drain', { timeoutMs: 10_000 });
  const after = await service.call('memory');
  const texts = (await sandbox.call('counts')).messages - countsBefore.messages;
  await stop(service);
  const statuses = Object.entries(result.statuses).filter(([status]) => status !== '200');
  if (statuses.length > 0)
    problems.push(`flood: answers other than 200: ${statuses.map(([status, count]) => `${count} × ${status}`).join(', ')}`);
  if (texts > 10 * 60) problems.push(`flood: ${texts} texts sent, over 10 ids × 60 per hour`);
  const flood = { seconds, requests: result.ok + result.non2xx, rps: result.rps, texts, before, after };
  console.log(`${format.thousands(flood.requests)} calls, ${texts} texts, RSS ${Math.round(before.rssMb)} → ${Math.round(after.rssMb)} MB`);
  return flood;
}

function floodText(flood) {
  const { before, after } = flood;
  const change = (from, to) => `${to >= from ? '+' : ''}${(to - from).toFixed(1)} MB`;
  return (
    `/webresponder flood: ${format.thousands(flood.requests)} calls from distinct numbers in ${flood.seconds} s ` +
    `(${format.thousands(flood.rps)} req/s) to 10 ids capped at 60 texts per hour each; ${flood.texts} texts sent. ` +
    `After a full collection: RSS ${before.rssMb.toFixed(1)} MB before, ${after.rssMb.toFixed(1)} MB after (${change(before.rssMb, after.rssMb)}); ` +
    `JavaScript heap in use ${before.heapUsedMb.toFixed(1)} MB before, ${after.heapUsedMb.toFixed(1)} MB after (${change(before.heapUsedMb, after.heapUsedMb)}).`
  );
}

// ---------------------------------------------------------------------------------------------------

async function launch(role, options) {
  let logFile;
  if (settings.logs) {
    await mkdir(settings.logs, { recursive: true });
    logFile = resolve(settings.logs, `${++launched}-${role}.log`);
  }
  // Only Beckon's servers are profiled: the sandbox and the bare app are the yardsticks.
  const profileDir = settings.profile && role === 'beckon' ? resolve(settings.profile) : undefined;
  const service = await spawnService(role, options, logFile, profileDir);
  live.add(service);
  ourPids.add(service.pid);
  return service;
}

async function stop(service) {
  if (!live.has(service)) return;
  retiredMicros += await service.call('cpu').catch(() => 0);
  live.delete(service);
  await service.close();
}

/** CPU time of this process and every live child, in µs. */
async function ourMicros() {
  return Object.values(await cpuByRole()).reduce((sum, micros) => sum + micros, 0);
}

/** CPU time so far (µs) of this process (`runner`) and of each live child, by role. */
async function cpuByRole() {
  const { user, system } = process.cpuUsage();
  const byRole = { runner: user + system };
  await Promise.all([...live].map(async (service) => (byRole[service.role] = await service.call('cpu'))));
  return byRole;
}

/**
 * One autocannon run. `request()` gives each request's path and/or body, so ids and callers vary.
 * Response times are collected from autocannon's events at full precision.
 */
async function load(url, { method = 'GET', headers, request, connections = settings.connections }, seconds) {
  const samples = new Samples();
  const instance = autocannon({
    url,
    connections,
    duration: seconds,
    timeout: 10,
    requests: [{ method, headers, setupRequest: (raw) => Object.assign(raw, request()) }],
  });
  instance.on('response', (_client, _status, _bytes, responseTime) => samples.push(responseTime));
  const result = await instance;
  const [p50, p99, max] = samples.percentiles(50, 99, 100);
  return {
    rps: result.requests.average,
    ok: result['2xx'],
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    statuses: Object.fromEntries(Object.entries(result.statusCodeStats).map(([status, { count }]) => [status, count])),
    p50,
    p99,
    max,
  };
}

/**
 * Warm-up (unmeasured), then the measured run. Afterwards, background texts are drained before the
 * sandbox's counts are read, so `verify` and `note` see everything the run caused. Every scenario
 * expects 200s only: anything else is reported as a failed check.
 */
async function scenario(definition) {
  const { name, service, sandbox, drainMs = 0, duration = settings.duration, quiet = false } = definition;
  if (!quiet) process.stdout.write(`• ${name} … `);
  const settle = () => (service.role === 'beckon' ? service.call('drain', { timeoutMs: drainMs }) : undefined);
  if (settings.warmup > 0) {
    await load(service.url, definition, settings.warmup);
    await settle();
  }
  const countsBefore = sandbox ? await sandbox.call('counts') : undefined;
  if (service.role === 'beckon') await service.call('stats');
  const cpuBefore = { machine: machineCpu(), byRole: await cpuByRole(), wall: performance.now() };

  const result = await load(service.url, definition, duration);

  // CPU per process as a share of one core (a Node server tops out near 100 %), and what others used.
  const cpuAfter = { machine: machineCpu(), byRole: await cpuByRole(), wall: performance.now() };
  const wallMs = cpuAfter.wall - cpuBefore.wall;
  const cpu = Object.fromEntries(
    Object.keys(cpuAfter.byRole).map((role) => [role, (cpuAfter.byRole[role] - cpuBefore.byRole[role]) / 1_000 / wallMs]),
  );
  const ours = Object.keys(cpuAfter.byRole).reduce((sum, role) => sum + cpuAfter.byRole[role] - cpuBefore.byRole[role], 0);
  const contention = otherLoad(cpuBefore.machine, cpuAfter.machine, ours, wallMs);
  const stats = service.role === 'beckon' ? await service.call('stats') : undefined;
  const leftBehind = await settle();
  // Server CPU per answer (µs), counted until the texts the run started have been sent — a text still in
  // flight when the load stops is work the run caused. Steadier than req/s on a shared machine, since
  // time spent waiting for a core does not count.
  const serverRole = service.role;
  const serverMicros = (await service.call('cpu')) - cpuBefore.byRole[serverRole];
  const microsPerRequest = serverMicros / (result.ok + result.non2xx);
  let counts;
  if (sandbox) {
    const after = await sandbox.call('counts');
    counts = { calls: after.calls - countsBefore.calls, messages: after.messages - countsBefore.messages };
  }

  const failed = [];
  const unexpected = Object.entries(result.statuses).filter(([status]) => status !== '200');
  if (unexpected.length > 0)
    failed.push(`answers other than 200: ${unexpected.map(([status, count]) => `${count} × ${status}`).join(', ')}`);
  if (result.errors > 0) failed.push(`${result.errors} errors (${result.timeouts} timeouts)`);
  if (leftBehind > 0) failed.push(`${leftBehind} background tasks still running ${drainMs} ms after the run`);
  const verdict = definition.verify?.(result, counts, stats);
  if (verdict) failed.push(verdict);
  for (const problem of failed) problems.push(`${name}: ${problem}`);

  const row = {
    name,
    ...result,
    cpu,
    serverRole,
    microsPerRequest,
    contention,
    counts,
    stats,
    note: definition.note?.(result, counts, stats) ?? '',
    failed,
  };
  if (!quiet)
    console.log(
      `${format.thousands(row.rps)} req/s, p50 ${format.ms(row.p50)} ms, p99 ${format.ms(row.p99)} ms, ${format.thousands(row.microsPerRequest)} µs/req${failed.length ? ' — CHECK FAILED' : ''}`,
    );
  return row;
}

// ---------------------------------------------------------------------------------------------------
// The report

function tables(rows, lookups, floor, sweep) {
  const routeHeader = [
    'scenario',
    'req/s',
    '% of floor',
    'p50 ms',
    'p99 ms',
    '2xx',
    'non-2xx',
    'errors',
    'server CPU',
    'CPU µs/req',
    'NS CPU',
    'load-gen CPU',
    'other load',
  ];
  const routeRows = rows.map((row) => [
    row.failed.length ? `${row.name} ⚠` : row.name,
    format.thousands(row.rps),
    floor.rps > 0 ? format.percent(row.rps / floor.rps) : '–',
    format.ms(row.p50),
    format.ms(row.p99),
    format.thousands(row.ok),
    format.thousands(row.non2xx),
    format.thousands(row.errors),
    format.percent(serverCpu(row)),
    format.thousands(row.microsPerRequest),
    format.percent(row.cpu.sandbox),
    format.percent(row.cpu.runner),
    format.percent(row.contention?.other),
  ]);
  const lookupHeader = ['ids', 'load domains.json', 'tenants.get(id)', '/widget-config req/s', 'p50 ms', 'p99 ms', 'CPU µs/req'];
  const lookupRows = lookups.map(({ ids, loadMs, lookup, route }) => [
    format.thousands(ids),
    `${format.ms(loadMs)} ms`,
    `${lookup.nsPerOp.toFixed(1)} ns/op`,
    format.thousands(route.rps),
    format.ms(route.p50),
    format.ms(route.p99),
    format.thousands(route.microsPerRequest),
  ]);
  // The sweep: one line per route and connection count; the share is of the floor at the same count.
  const sweepHeader = ['scenario', 'connections', 'req/s', '% of floor', 'p50 ms', 'p99 ms', 'CPU µs/req', 'server CPU', 'other load'];
  const sweepRows = (sweep ?? []).flatMap(({ name, byConnections }) =>
    SWEEP_CONNECTIONS.map((connections) => {
      const row = byConnections[connections];
      const floorRow = sweep[0].byConnections[connections];
      return [
        row.failed.length ? `${name} ⚠` : name,
        String(connections),
        format.thousands(row.rps),
        floorRow.rps > 0 ? format.percent(row.rps / floorRow.rps) : '–',
        format.ms(row.p50),
        format.ms(row.p99),
        format.thousands(row.microsPerRequest),
        format.percent(serverCpu(row)),
        format.percent(row.contention?.other),
      ];
    }),
  );
  return {
    text: {
      routes: textTable(routeHeader, routeRows),
      sweep: sweep ? textTable(sweepHeader, sweepRows) : '',
      lookups: textTable(lookupHeader, lookupRows),
    },
    markdown: {
      sweep: markdownTable(sweepHeader, ['l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r'], sweepRows),
      routes: markdownTable(
        [...routeHeader, 'notes'],
        ['l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'l'],
        routeRows.map((cells, i) => [...cells, rows[i].note]),
      ),
      lookups: markdownTable(lookupHeader, ['r', 'r', 'r', 'r', 'r', 'r', 'r'], lookupRows),
    },
  };
}

/** The server process's CPU while the load ran, as a share of one core. */
function serverCpu(row) {
  return row.cpu[row.serverRole];
}

function gitRevision() {
  try {
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: ROOT, encoding: 'utf8' }).trim() !== '';
    return dirty ? `${commit} (with uncommitted changes in the working tree)` : commit;
  } catch {
    return 'unknown';
  }
}

/** A paragraph per finding, worded from this run's figures rather than from expectations. */
function reading({ machine, rows, lookups, reference, floor, smsNormal, smsSlow, run, sweep, change }) {
  const byName = (name) => rows.find((row) => row.name === name);
  const health = byName('GET /health');
  const silent = byName('GET /health (LOG_LEVEL=silent)');
  const loader = byName('GET /widget.js?id=');
  const config = byName('GET /widget-config?id= (10 ids)');
  const click = byName('POST /click-to-call');
  const clickOnPostgres = byName('POST /click-to-call (DATABASE_URL: PostgreSQL)');
  const us = (row) => `${format.thousands(row.microsPerRequest)} µs`;
  // Rows that ran while other work took a good share of the machine: their comparison gets a warning.
  const caveat = (...compared) => {
    const loads = compared.map((row) => row.contention?.other ?? 0);
    if (Math.max(...loads) < 0.25) return '';
    return ` *(Other processes took ${format.percent(Math.min(...loads))}–${format.percent(Math.max(...loads))} of the machine during these rows: read this comparison with caution.)*`;
  };
  const lines = [];

  const capped = reference.cpu.runner > 0.9;
  lines.push(
    `- **Beckon's own overhead.** \`GET /health\` does no work of its own: ${format.thousands(health.rps)} req/s and ${us(health)} of server CPU ` +
      `per request, against bare Koa's ${format.thousands(reference.rps)} req/s and ${us(reference)}` +
      (capped
        ? ` (bare Koa's req/s is capped by autocannon, whose process used ${format.percent(reference.cpu.runner)} of a core: compare CPU per request)`
        : '') +
      `. The difference is what every Beckon request pays: a request id, a child logger and one pino line at \`info\`, the error ` +
      `envelope, the router and the \`X-Request-Id\` header. With \`LOG_LEVEL=silent\` the same route costs ${us(silent)} ` +
      `(${format.thousands(silent.rps)} req/s), so the log line accounts for ` +
      `${format.thousands(health.microsPerRequest - silent.microsPerRequest)} of the ` +
      `${format.thousands(health.microsPerRequest - reference.microsPerRequest)} µs. \`/widget.js\` (${us(loader)}) and ` +
      `\`/widget-config\` (${us(config)}) add a config lookup and build their JavaScript or JSON answer on top.` +
      caveat(reference, health, silent, loader, config),
  );
  const share = click.rps / floor.rps;
  const goals = [
    click.microsPerRequest <= CLICK_GOALS.micros
      ? `within the ${CLICK_GOALS.micros} µs goal`
      : `**over the ${CLICK_GOALS.micros} µs goal by ${format.thousands(click.microsPerRequest - CLICK_GOALS.micros)} µs**`,
    share >= CLICK_GOALS.share
      ? `at or above the goal of ${format.percent(CLICK_GOALS.share)} of the floor`
      : `**under the goal of ${format.percent(CLICK_GOALS.share)} of the floor**`,
  ];
  lines.push(
    `- **Click-to-call against its floor.** The floor is a bare Koa route that places the same queued call — the same multipart ` +
      `\`POST\` to the same sandbox — with undici's \`request\` on a keep-alive pool and does nothing else: ${format.thousands(floor.rps)} req/s ` +
      `at ${us(floor)} of its CPU per request. \`POST /click-to-call\` answers ${format.thousands(click.rps)} req/s ` +
      `(${format.percent(share)} of the floor; p50 ${format.ms(click.p50)} ms, p99 ${format.ms(click.p99)} ms), every one a 200 after ` +
      `NetSapiens (the sandbox) accepted the queued call, at ${us(click)} of server CPU per request: ${goals.join(', ')}. ` +
      `The ${format.thousands(click.microsPerRequest - floor.microsPerRequest)} µs above the floor are Beckon's own work: what every ` +
      `Beckon request pays beyond bare Koa (${format.thousands(health.microsPerRequest - reference.microsPerRequest)} µs for \`/health\` ` +
      `in this run, the log line included), then recording the call for its live status (a \`callbacks\` row and its first ` +
      `status, written to the database before the answer: here the embedded PGlite, which runs in the server's own process and ` +
      `thread), the id's config, the number policy (libphonenumber), the limits and got's per-request work against undici's; ` +
      `*Where click-to-call's CPU goes* shows the split, from a profile. ` +
      `With \`DATABASE_URL\` the same route answered ${format.thousands(clickOnPostgres.rps)} req/s at ${us(clickOnPostgres)} of the ` +
      `server's CPU per request (PostgreSQL's work, in its own processes, not counted): the difference, ` +
      `${format.thousands(click.microsPerRequest - clickOnPostgres.microsPerRequest)} µs, is the embedded database executing the write ` +
      `(PostgreSQL compiled to WebAssembly) on the server's thread. ` +
      (serverCpu(click) >= 0.9
        ? `The server's process used ${format.percent(serverCpu(click))} of a core, so its CPU, not the sandbox, set the rate. `
        : `The server's process used ${format.percent(serverCpu(click))} of a core, the sandbox ${format.percent(click.cpu.sandbox)} and ` +
          `other work ${format.percent(click.contention?.other)} of the machine: with ${machine.cores} cores shared by the load generator, ` +
          `the server and the sandbox, the rate says as much about the machine as about the route. `) +
      `Production limits (3 per address per minute, 30 per id per hour by default) keep real traffic far below it either way.` +
      caveat(click, floor, health),
  );
  const slowMs = settings.smsDelayMs;
  // Had any answer waited for its text, it would have taken at least the SMS API's delay.
  const heldUp = smsSlow.max >= slowMs;
  lines.push(
    `- **Webresponder with a slow SMS API.** With every text taking ${slowMs / 1000} s, \`/webresponder\` answered ${format.thousands(smsSlow.rps)} ` +
      `req/s, p50 ${format.ms(smsSlow.p50)} ms, p99 ${format.ms(smsSlow.p99)} ms; with the SMS API answering at once, ${format.thousands(smsNormal.rps)} ` +
      `req/s, p50 ${format.ms(smsNormal.p50)} ms, p99 ${format.ms(smsNormal.p99)} ms. ` +
      (heldUp
        ? `**Some answers took as long as a text** (the slowest ${format.ms(smsSlow.max)} ms): check whether they waited for it.`
        : `No answer waited for its text: not one of the ${format.thousands(smsSlow.ok)} took as long as the SMS API (the slowest ` +
          `${format.ms(smsSlow.max)} ms). NetSapiens gets its XML at once, the text goes out ` +
          `in the background (${format.thousands(smsSlow.counts.messages)} texts sent, counted after the run). ` +
          `With the prompt API each answer starts a text that completes at once: ${us(smsNormal)} of server CPU per request, the text ` +
          `included, far more than the other GET routes. With the slow API, texts pile up in flight, each with its own connection to NS, ` +
          `timers and memory, until the server's cap of 1,000 in flight: past it a text is dropped and logged rather than queued ` +
          `(${format.thousands(smsSlow.stats.dropped)} were, in this run, at a peak of ${format.thousands(smsSlow.stats.peakBackground)} in ` +
          `flight and RSS ${Math.round(smsSlow.stats.rssMb)} MB). A 2 s API lets at most 500 texts a second through; the answers ` +
          `beyond that cost only the XML (${us(smsSlow)} per request on average), which is why this row is faster than the other. ` +
          `A caller not texted beats a server out of memory, and real traffic (60 texts per id per hour by default) never comes near the cap.`) +
      caveat(smsNormal, smsSlow),
  );
  const [few, many] = lookups;
  lines.push(
    `- **10 vs 10 000 ids.** \`tenants.get(id)\` costs ${few.lookup.nsPerOp.toFixed(1)} ns with ${format.thousands(few.ids)} ids and ` +
      `${many.lookup.nsPerOp.toFixed(1)} ns with ${format.thousands(many.ids)}: a property lookup on an object in memory, nanoseconds ` +
      `against tens of microseconds per request. \`/widget-config\` ran at ${format.thousands(few.route.rps)} and ${format.thousands(many.route.rps)} ` +
      `req/s, ${us(few.route)} and ${us(many.route)} of server CPU per request (other load ${format.percent(few.route.contention?.other)} ` +
      `and ${format.percent(many.route.contention?.other)}): since the lookups differ by ${Math.abs(many.lookup.nsPerOp - few.lookup.nsPerOp).toFixed(1)} ns, ` +
      `a gap between these rows does not come from the lookup. ` +
      `Where the size does show is reading the file: loading and validating ${format.thousands(many.ids)} ids took ${format.ms(many.loadMs)} ms ` +
      `(${format.ms(few.loadMs)} ms for ${format.thousands(few.ids)}) at start-up, on the main thread (nothing is served yet, and the ` +
      `server logs how long it took); a change to the file is read off the main thread (below).` +
      caveat(few.route, many.route),
  );
  if (sweep) {
    const growth = ({ name, byConnections }) => {
      const [few, some, many] = SWEEP_CONNECTIONS.map((connections) => byConnections[connections]);
      return (
        `${name}: ${SWEEP_CONNECTIONS.map((connections, i) => `${format.thousands([few, some, many][i].rps)}`).join(' → ')} req/s, ` +
        `p99 ${[few, some, many].map((row) => format.ms(row.p99)).join(' → ')} ms`
      );
    };
    const [sweepFloor, ...sweepRoutes] = sweep;
    const sweepClick = sweep.find(({ name }) => name === click.name.split(' (')[0]);
    const clickAt = (connections) => sweepClick.byConnections[connections];
    lines.push(
      `- **Connections.** From ${SWEEP_CONNECTIONS.join(', ')} connections (${settings.sweepSeconds} s each; the Flask service was ` +
        `designed for 10): ${[sweepFloor, ...sweepRoutes].map(growth).join('; ')}. At 10 connections click-to-call answered ` +
        `${format.percent(clickAt(10).rps / sweepFloor.byConnections[10].rps)} of the floor's rate, at 200 ` +
        `${format.percent(clickAt(200).rps / sweepFloor.byConnections[200].rps)}; from 10 to 200 connections its throughput changed by ` +
        `${format.percent(clickAt(200).rps / clickAt(10).rps - 1)} while its p99 went from ${format.ms(clickAt(10).p99)} to ` +
        `${format.ms(clickAt(200).p99)} ms: once the server's process is busy, more connections mostly wait in its queue. ` +
        `These runs are shorter than the main table's, so their figures move more from run to run.`,
    );
  }
  if (change) {
    const met = change.maxMs <= CHANGE_GOAL_MS;
    lines.push(
      `- **A change to domains.json at ${format.thousands(change.ids)} ids.** While \`/widget-config\` was under load, the changed file ` +
        `was read, parsed and validated (the entries whose text changed) in a worker thread at the lowest priority, and the entries it changed applied in one go: served ${format.ms(change.changeMs)} ms after ` +
        `the write. The event loop's longest delay in that time was ${format.ms(change.maxMs)} ms (p99 ${format.ms(change.p99Ms)} ms; ` +
        `the same load for a second without a change: max ${format.ms(change.idle.maxMs)} ms, p99 ${format.ms(change.idle.p99Ms)} ms): ` +
        (met ? `within the ${CHANGE_GOAL_MS} ms goal. ` : `**over the ${CHANGE_GOAL_MS} ms goal**. `) +
        `Start-up reads the same file on the main thread, before serving: ${format.ms(change.startupMs)} ms.`,
    );
  }
  lines.push(
    `- **Contention.** Other processes used ${format.percent(run?.other)} of the machine's CPU over the whole run${othersText(run)}; ` +
      `per row in *other load*${run?.steal > 0.01 ? ` (the hypervisor also stole ${format.percent(run.steal)})` : ''}. The load generator, the server ` +
      `and, for click-to-call and webresponder, the sandbox share the same ${machine.cores} cores as well, so req/s here is a floor for ` +
      `a server with a machine of its own. *CPU µs/req* moves less than req/s from run to run, but heavy contention inflates it ` +
      `too (the cores' caches are shared as well).`,
  );
  return lines.join('\n');
}

function markdown(report) {
  const { machine, startedAt, tables: rendered } = report;
  const command = `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`;
  return `# Benchmarks

Generated by \`packages/server/bench/run.mjs\`; rerun it to refresh this file:

    ${command}

Figures vary from run to run, and other work may run on the same machine (see *other load*): compare
rows of one run with each other (rows with a high *other load* least of all), and prefer *CPU µs/req*
to req/s when comparing runs.

## Machine and settings

| | |
|:---|:---|
| date | ${startedAt
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, ' UTC')} |
| CPU | ${machine.cpu}, ${machine.cores} cores |
| memory | ${machine.memoryGiB.toFixed(1)} GiB |
| Node | ${machine.node} |
| OS | ${machine.os} |
| load average at start | ${machine.loadAverage.map((n) => n.toFixed(2)).join(', ')} (1, 5, 15 min) |
| other processes' CPU during the run | ${format.percent(report.run?.other)} of the machine${othersText(report.run)}; per scenario in *other load* below |
| code | commit ${gitRevision()}, built packages (\`dist/\`) |
| command | \`${command}\` |
| load | autocannon ${versions.autocannon}, ${settings.connections} connections, ${settings.duration} s per scenario after ${settings.warmup} s of warm-up, no pipelining, loopback |
| reference | koa ${versions.koa}, \`ctx.body = {status:'ok'}\` |
| floor | koa ${versions.koa} reading click-to-call's JSON body and placing the same legacy \`queuedcall\` create (a multipart \`POST\`, bearer token) with undici ${versions.undici}'s \`request\` on a keep-alive \`Pool\` of 256 connections (ns-client's bound) |
| server | \`start()\` from \`@beckon/server\` with \`LOG_LEVEL=info\` (one log line per request, to /dev/null), file store, in-memory limits raised to ${Number(NEVER).toExponential(0)} so none trips |
| NetSapiens | \`@beckon/ns-client/sandbox\` in its own process; the slow case delays every SMS by ${settings.smsDelayMs} ms |

## Routes

${rendered.markdown.routes}

*% of floor*: the row's req/s as a share of the floor's (a bare Koa route placing the same queued call with
undici ${versions.undici}), in the same run.

${problemsText()}## Where click-to-call's CPU goes

${markdownTable(...splitTable(report.split, true))}

${splitText(report.split)}

${
  report.sweep
    ? `## Connections: ${SWEEP_CONNECTIONS.join(', ')}

${rendered.markdown.sweep}

${settings.sweepSeconds} s per run after ${settings.warmup} s of warm-up, a fresh Beckon process (10 ids) and floor process for the sweep;
*% of floor* is of the floor at the same number of connections.

`
    : ''
}${
    report.change
      ? `## A change to domains.json at ${format.thousands(report.change.ids)} ids

${changeText(report.change)}

The server samples its own event loop with \`monitorEventLoopDelay\` (1 ms resolution: each figure includes that
period) from the moment the new file is written until the changed entry is served, while autocannon keeps
\`/widget-config\` busy (${settings.connections} connections, ids cycled over the whole file).

`
      : ''
  }## Config lookups: 10 vs 10 000 ids

${rendered.markdown.lookups}

*load domains.json*: opening the file store (read, parse, validate every entry). *tenants.get(id)*: the
median of 5 rounds of 2 000 000 lookups of known ids in a shuffled order, in the server's process before it
serves, loop included. The route columns are the \`/widget-config\` rows above, ids cycled over the whole file.

${
  report.flood
    ? `## A flood of distinct callers on \`/webresponder\`

${floodText(report.flood)} Once an id's cap is used up, a call costs the XML answer and one counter read: no
caller is remembered (the once-per-caller window starts only for a caller who will be texted), so memory
stays flat however many numbers a pump cycles through.

`
    : ''
}## Reading

${reading(report)}

## How it is measured

- Everything runs in one command on 127.0.0.1: this process drives autocannon; the NS sandbox, each Beckon
  server, the bare Koa app and the floor run in child processes (\`service.mjs\`) listening on port 0. One
  Beckon process serves the 10-id rows in table order; the connections sweep, the \`LOG_LEVEL=silent\` row,
  the 10 000-id row, the domains.json change (with a sandbox of its own), the bare Koa app and the floor
  each have a fresh process.
- The floor gets click-to-call's requests (the same JSON bodies, a new number each) and places each call
  as ns-client does, with undici instead of got and none of Beckon's checks: the sandbox must count a queued
  call per answer for it too.
- Requests vary like real traffic: ids are cycled over the whole config, and each click-to-call number and
  each webresponder caller (\`NmsAni\`) is new, so no per-number limit or once-per-caller window shortcuts
  the work. Every scenario must answer 200 only; the click-to-call row checks that NS received a queued
  call per answer, the webresponder rows that NS received a text per answer or that the server dropped it
  at its cap on texts in flight (texts in flight are waited for after the run, then counted).
- *req/s* is autocannon's mean over the run's one-second samples; *p50* and *p99* are from every
  response's time as autocannon measured it, at full precision. *errors* are connection errors and
  timeouts (10 s).
- *server CPU*, *NS CPU* and *load-gen CPU* are each process's CPU time over the run, as a share of one
  core (a Node process tops out a little above 100 %, with garbage collection on other threads).
  *CPU µs/req* is the server process's CPU time from the start of the run until the texts it started
  have been sent, divided by the answers: it does not count time spent waiting for a core, so it moves
  less than req/s from run to run (contention still inflates it: caches are shared too).
- *other load* is the share of the machine's CPU (all cores) that processes outside this run used while
  the row ran: the machine's busy time from \`/proc/stat\` less the CPU time of the runner and its servers.
`;
}

/** `: node …/ava/lib/worker/base.js 35 %, …` — the busiest other processes, when there were any. */
function othersText(run) {
  if (!run?.busiest?.length) return '';
  return ` (busiest: ${run.busiest.map(({ name, share }) => `\`${name}\` ${format.percent(share)}`).join(', ')})`;
}

function problemsText() {
  if (problems.length === 0) return '';
  return `**Checks that failed** (rows marked ⚠ do not measure what they say):\n\n${problems.map((problem) => `- ${problem}`).join('\n')}\n\n`;
}
