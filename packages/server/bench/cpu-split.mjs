// Where a server's CPU goes, from a sampling profile of its main thread taken while a scenario runs: each
// sample's time is credited to the package whose code was running (a function of node_modules/<pkg>,
// Beckon's packages, Node's own modules, the garbage collector). Native and WebAssembly frames have no
// package of their own, and Node's modules work for whoever called them: they count for the JavaScript
// that called them (JSON.parse for whoever parsed, the embedded database's WebAssembly and file writes for
// PGlite, got's sockets for got). Node's modules count for Node when no package called them: the HTTP
// server reading a request, timers, the event loop.

import { Session } from 'node:inspector/promises';

/** Packages shown as one group, by what they are for; any other package is shown under its own name. */
const GROUPS = [
  ['PGlite (the embedded database)', ['@electric-sql/pglite']],
  [
    'got and its helpers',
    [
      'got',
      '@sindresorhus/is',
      '@szmarczak/http-timer',
      'cacheable-lookup',
      'cacheable-request',
      'decompress-response',
      'form-data-encoder',
      'http2-wrapper',
      'lowercase-keys',
      'p-cancelable',
      'responselike',
      'mimic-response',
      'defer-to-connect',
      'get-stream',
      'keyv',
      'normalize-url',
      'type-fest',
    ],
  ],
  ['undici', ['undici']],
  ['libphonenumber-js (the number policy)', ['libphonenumber-js']],
  [
    'Koa, its router and body parsing',
    [
      'koa',
      '@koa/router',
      '@koa/cors',
      'parseurl',
      'byte-counter',
      '@koa/bodyparser',
      'koa-compose',
      'koa-convert',
      'co-body',
      'raw-body',
      'inflation',
      'type-is',
      'content-type',
      'content-disposition',
      'accepts',
      'negotiator',
      'http-errors',
      'http-assert',
      'statuses',
      'vary',
      'cookies',
      'keygrip',
      'delegates',
      'only',
      'on-finished',
      'ee-first',
      'destroy',
      'encodeurl',
      'escape-html',
      'fresh',
      'mime-types',
      'mime-db',
      'path-to-regexp',
      'iconv-lite',
      'qs',
      'bytes',
      'depd',
      'debug',
      'ms',
    ],
  ],
  [
    'pino (the log line)',
    [
      'pino',
      '@pinojs/redact',
      'pino-std-serializers',
      'sonic-boom',
      'fast-redact',
      'quick-format-unescaped',
      'atomic-sleep',
      'safe-stable-stringify',
      'on-exit-leak-free',
    ],
  ],
  ['zod', ['zod']],
  ['rate-limiter-flexible (the limits)', ['rate-limiter-flexible']],
];
const NODE = "Node's own modules (HTTP server, sockets, streams, timers)";
const OUTSIDE_JAVASCRIPT = 'V8 and Node outside JavaScript (compiling, native work)';
const GROUP_OF = new Map(GROUPS.flatMap(([group, packages]) => packages.map((name) => [name, group])));

/** The group a script belongs to, or undefined for a frame that counts for its caller. */
function groupOf(url, functionName) {
  if (functionName === '(garbage collector)') return 'garbage collection';
  if (functionName === '(program)') return OUTSIDE_JAVASCRIPT;
  if (!url || url.startsWith('wasm://')) return undefined;
  const inModules = url.lastIndexOf('/node_modules/');
  if (inModules >= 0) {
    const parts = url.slice(inModules + '/node_modules/'.length).split('/');
    const name = parts[0].startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0];
    // Beckon's own packages, installed (the release test) or linked by the workspace.
    if (name.startsWith('@beckon/')) return 'Beckon (@beckon/server, @beckon/ns-client)';
    return GROUP_OF.get(name) ?? name;
  }
  if (url.startsWith('node:')) return NODE;
  if (url.includes('/packages/server/bench/')) return "bench/service.mjs (the floor's own route; the harness's sampling)";
  if (/\/packages\/(server|ns-client)\//.test(url)) return 'Beckon (@beckon/server, @beckon/ns-client)';
  return 'other scripts';
}

/**
 * Milliseconds of the main thread per group in a `Profiler.stop` profile, idle time left out: each
 * node's own samples go to its group, a frame without one (native, WebAssembly, the root) inherits its
 * caller's.
 */
export function splitProfile(profile) {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfMs = new Map();
  profile.samples.forEach((id, index) => selfMs.set(id, (selfMs.get(id) ?? 0) + (profile.timeDeltas[index] ?? 0) / 1_000));
  const totals = new Map();
  let busyMs = 0;
  const visit = (node, inherited) => {
    const { url, functionName } = node.callFrame;
    if (functionName === '(idle)') return;
    const own = groupOf(url, functionName);
    // Node's modules called by a package work for it.
    const group = own === undefined || (own === NODE && inherited !== NODE && inherited !== OUTSIDE_JAVASCRIPT) ? inherited : own;
    const ms = selfMs.get(node.id) ?? 0;
    if (ms > 0) {
      totals.set(group, (totals.get(group) ?? 0) + ms);
      busyMs += ms;
    }
    for (const child of node.children ?? []) visit(byId.get(child), group);
  };
  visit(profile.nodes[0], OUTSIDE_JAVASCRIPT);
  return { busyMs, groups: Object.fromEntries([...totals].sort((a, b) => b[1] - a[1])) };
}

/** A sampling profiler on this process's main thread, started on demand (the bench's `profileStart` command). */
export function cpuProfiler() {
  let session;
  return {
    async start({ intervalUs = 200 } = {}) {
      session = new Session();
      session.connect();
      await session.post('Profiler.enable');
      await session.post('Profiler.setSamplingInterval', { interval: intervalUs });
      await session.post('Profiler.start');
    },
    async stop() {
      const { profile } = await session.post('Profiler.stop');
      session.disconnect();
      session = undefined;
      return splitProfile(profile);
    },
  };
}
