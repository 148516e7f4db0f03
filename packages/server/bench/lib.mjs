// Helpers for run.mjs (and service.mjs): settings, generated configs and callers, the servers' child
// processes, CPU accounting, statistics and the report. No load generation here, so the child processes
// that import this do not load autocannon.

import { fork } from 'node:child_process';
import { closeSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

/**
 * `require` as seen from @beckon/server's own code (its dist/): dependencies loaded through it, koa and
 * the versions reported, are the copies the server runs on.
 */
export const serverRequire = createRequire(import.meta.resolve('@beckon/server'));

// ---------------------------------------------------------------------------------------------------
// Settings

export const DEFAULTS = {
  duration: 5,
  connections: 50,
  warmup: 1,
  smsDelayMs: 2_000,
  floodSeconds: 60,
  sweepSeconds: 3,
  changeIds: 100_000,
  streams: 1_000,
  streamCalls: 20,
  storedCalls: 1_000_000,
  intakeRate: 2_000,
  apiClients: 10,
};

/** The benchmark's parts, in the order they run. */
export const PARTS = ['routes', 'call-events'];

export const USAGE = `npm run bench [-- options]      (or: node packages/server/bench/run.mjs [options])

  --duration S       seconds of load per scenario            default ${DEFAULTS.duration}        env BENCH_DURATION
  --connections N    concurrent connections                  default ${DEFAULTS.connections}       env BENCH_CONNECTIONS
  --warmup S         unmeasured seconds before each one      default ${DEFAULTS.warmup}        env BENCH_WARMUP
  --sms-delay MS     the slow SMS API's delay                default ${DEFAULTS.smsDelayMs}     env BENCH_SMS_DELAY_MS
  --flood S          the /webresponder flood's length        default ${DEFAULTS.floodSeconds}       env BENCH_FLOOD_SECONDS (0: skip it)
  --sweep S          each run of the connections sweep       default ${DEFAULTS.sweepSeconds}        env BENCH_SWEEP_SECONDS (0: skip it)
  --change-ids N     ids in the domains.json change          default ${DEFAULTS.changeIds}   env BENCH_CHANGE_IDS (0: skip it)
  --only PART        one part: ${PARTS.join(' or ')}     (both)           env BENCH_ONLY
  --logs DIR         keep each server's log there            (discarded)      env BENCH_LOGS
  --profile DIR      each Beckon server writes a CPU profile there (.cpuprofile, for Chrome DevTools) env BENCH_PROFILE
  --out FILE         the report, from the repository root    default docs/benchmarks.md
  --no-write         print the tables only

The call-events part (a throwaway PostgreSQL from /usr/lib/postgresql, or PG_BIN):
  --streams N        live streams open at once               default ${DEFAULTS.streams}     env BENCH_STREAMS
  --stream-calls N   calls delivered to them (3 events each) default ${DEFAULTS.streamCalls}       env BENCH_STREAM_CALLS
  --stored-calls N   calls stored for GET /api/calls         default ${DEFAULTS.storedCalls}  env BENCH_STORED_CALLS
  --intake-rate R    NS deliveries/s offered to the webhook  default ${DEFAULTS.intakeRate}     env BENCH_INTAKE_RATE
  --api-clients N    clients paging /api/calls at once       default ${DEFAULTS.apiClients}       env BENCH_API_CLIENTS
  --duration, --warmup and --connections apply too: each intake and paging run's length, and the
  intake's closed-loop senders.

Writing one part keeps the other's section of the report as it is.`;

/** Flags win over the environment, which wins over the defaults; anything else is refused with the usage. */
export function readSettings(argv, env) {
  const { values } = parseArgs({
    args: argv,
    options: {
      duration: { type: 'string' },
      connections: { type: 'string' },
      warmup: { type: 'string' },
      'sms-delay': { type: 'string' },
      flood: { type: 'string' },
      sweep: { type: 'string' },
      'change-ids': { type: 'string' },
      only: { type: 'string' },
      streams: { type: 'string' },
      'stream-calls': { type: 'string' },
      'stored-calls': { type: 'string' },
      'intake-rate': { type: 'string' },
      'api-clients': { type: 'string' },
      out: { type: 'string' },
      'no-write': { type: 'boolean' },
      logs: { type: 'string' },
      profile: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const number = (flag, variable, fallback, min) => {
    const raw = values[flag] ?? env[variable];
    if (raw === undefined || raw === '') return fallback;
    const value = Number(raw);
    if (!Number.isFinite(value) || value < min)
      throw new Error(`--${flag} (${variable}) must be a number ≥ ${min}, got ${JSON.stringify(raw)}`);
    return value;
  };
  const only = values.only ?? (env.BENCH_ONLY || undefined);
  if (only !== undefined && !PARTS.includes(only))
    throw new Error(`--only (BENCH_ONLY) must be ${PARTS.join(' or ')}, got ${JSON.stringify(only)}`);
  return {
    help: values.help === true,
    parts: only ? [only] : PARTS,
    duration: number('duration', 'BENCH_DURATION', DEFAULTS.duration, 1),
    connections: Math.round(number('connections', 'BENCH_CONNECTIONS', DEFAULTS.connections, 1)),
    warmup: number('warmup', 'BENCH_WARMUP', DEFAULTS.warmup, 0),
    smsDelayMs: number('sms-delay', 'BENCH_SMS_DELAY_MS', DEFAULTS.smsDelayMs, 0),
    floodSeconds: number('flood', 'BENCH_FLOOD_SECONDS', DEFAULTS.floodSeconds, 0),
    sweepSeconds: number('sweep', 'BENCH_SWEEP_SECONDS', DEFAULTS.sweepSeconds, 0),
    changeIds: Math.round(number('change-ids', 'BENCH_CHANGE_IDS', DEFAULTS.changeIds, 0)),
    streams: Math.round(number('streams', 'BENCH_STREAMS', DEFAULTS.streams, 1)),
    streamCalls: Math.round(number('stream-calls', 'BENCH_STREAM_CALLS', DEFAULTS.streamCalls, 1)),
    storedCalls: Math.round(number('stored-calls', 'BENCH_STORED_CALLS', DEFAULTS.storedCalls, 1_000)),
    intakeRate: number('intake-rate', 'BENCH_INTAKE_RATE', DEFAULTS.intakeRate, 1),
    apiClients: Math.round(number('api-clients', 'BENCH_API_CLIENTS', DEFAULTS.apiClients, 1)),
    out: values['no-write'] ? undefined : (values.out ?? 'docs/benchmarks.md'),
    logs: values.logs ?? env.BENCH_LOGS ?? undefined,
    profile: values.profile ?? env.BENCH_PROFILE ?? undefined,
  };
}

// ---------------------------------------------------------------------------------------------------
// What the servers are given

/**
 * `count` ids, each with click-to-call and text-back settings, so every route does its full work for
 * every id. Shaped like real entries (branding with a logo, a message of a realistic length).
 */
export function generateTenants(count) {
  const tenants = {};
  for (let i = 0; i < count; i++) {
    const domain = `customer${i}.example.net`;
    tenants[`${domain}-main`] = {
      api_domain: domain,
      queue: `9002@${domain}`,
      branding: {
        button_text: 'Call me back',
        button_color: '#1a73e8',
        company_name: `Customer ${i} Inc.`,
        logo_url: `https://${domain}/logo.png`,
      },
      user: '2000',
      ns_system_user: '8001',
      from_number: '19295550100',
      message: 'Thanks for calling. Our hours are Mon-Fri 9am-5pm; book online at https://example.net/book.',
    };
  }
  return tenants;
}

/**
 * A source of distinct callable US numbers (11 digits, `1813NXXXXXX`). Distinct because the server keys
 * its per-number limits and its once-per-caller text window on them: a repeated number would be refused
 * or not texted, and the run would measure a shortcut. `isCallable` (the server's own `checkPhone`)
 * picks the exchanges libphonenumber accepts, so no request is turned away as an invalid number.
 */
export function phoneNumbers(isCallable) {
  const exchanges = [];
  for (let nxx = 200; nxx <= 999; nxx++) {
    if (isCallable(`+1813${nxx}0100`) && isCallable(`+1813${nxx}9899`)) exchanges.push(nxx);
  }
  if (exchanges.length === 0) throw new Error('no callable exchange found in area code 813');
  let next = 0;
  // 10 000 lines per exchange, several hundred exchanges: millions of numbers before one repeats.
  return () => {
    const n = next++;
    return `1813${exchanges[Math.floor(n / 10_000) % exchanges.length]}${String(n % 10_000).padStart(4, '0')}`;
  };
}

/** Cycles through ids, so lookups are spread over the whole config rather than one hot entry. */
export function cycle(items) {
  let next = 0;
  return () => items[next++ % items.length];
}

// ---------------------------------------------------------------------------------------------------
// The in-process lookup cost

/**
 * ns per `store.get(id)`, the median of `rounds` rounds of `perRound` lookups of known ids, after one
 * unmeasured round that lets V8 optimise the loop and the store. The figure includes the loop and
 * reading the id from an array. Ids are visited in a shuffled (seeded) order: with 10 000 ids a
 * sequential walk would flatter the CPU caches.
 */
export function measureLookups(store, ids, { rounds = 5, perRound = 2_000_000 } = {}) {
  const order = shuffled(ids);
  const n = order.length;
  let found = 0;
  const round = () => {
    const started = process.hrtime.bigint();
    for (let i = 0; i < perRound; i++) if (store.get(order[i % n]) !== undefined) found++;
    return Number(process.hrtime.bigint() - started) / perRound;
  };
  round();
  const samples = Array.from({ length: rounds }, round).sort((a, b) => a - b);
  // Every id is known: anything else means the store did not load what was generated.
  if (found !== perRound * (rounds + 1)) throw new Error(`lookups found ${found} of ${perRound * (rounds + 1)} ids`);
  return { nsPerOp: samples[Math.floor(rounds / 2)], minNs: samples[0], maxNs: samples.at(-1), lookups: rounds * perRound };
}

function shuffled(items) {
  const copy = [...items];
  // mulberry32: a fixed seed gives every run the same order.
  let seed = 0x5eed;
  const random = () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [copy[i], copy[j]] = [copy[j], copy[i]];
  }
  return copy;
}

// ---------------------------------------------------------------------------------------------------
// The servers' processes

const SERVICE = fileURLToPath(new URL('./service.mjs', import.meta.url));

/**
 * Forks service.mjs in `role` and waits until it listens. stdout is /dev/null ('ignore') unless a
 * `logFile` is given: Beckon logs every request there at `info`, paying for it as in production without
 * flooding the terminal. stderr is kept, so a crash is visible.
 */
export function spawnService(role, options = {}, logFile = undefined, profileDir = undefined) {
  const stdout = logFile ? openSync(logFile, 'w') : 'ignore';
  // --expose-gc: the memory figures are read after a full collection, so they show what is kept, not garbage.
  const execArgv = ['--expose-gc', ...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [])];
  const child = fork(SERVICE, [role, JSON.stringify(options)], { stdio: ['ignore', stdout, 'inherit', 'ipc'], execArgv });
  // The child has its own copy of the descriptor.
  if (logFile) closeSync(stdout);
  const pending = new Map();
  let nextId = 0;
  let exited = false;
  child.on('message', (message) => {
    const waiting = pending.get(message.id);
    if (!waiting) return;
    pending.delete(message.id);
    if (message.error) waiting.reject(new Error(`${role}: ${message.error}`));
    else waiting.resolve(message.result);
  });
  child.on('exit', (code) => {
    exited = true;
    for (const { reject } of pending.values()) reject(new Error(`${role} exited (code ${code})`));
    pending.clear();
  });

  const call = (cmd, args) =>
    new Promise((resolve, reject) => {
      if (exited) return reject(new Error(`${role} has exited`));
      const id = nextId++;
      pending.set(id, { resolve, reject });
      child.send({ id, cmd, args });
    });

  const close = async () => {
    if (exited) return;
    const gone = new Promise((resolve) => child.once('exit', resolve));
    await call('close').catch(() => undefined);
    // It exits on its own once closed; a server that will not stop is not allowed to hang the run.
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await gone;
    clearTimeout(timer);
  };

  return new Promise((resolve, reject) => {
    const onExit = (code) => reject(new Error(`${role} exited before it was ready (code ${code})`));
    child.once('exit', onExit);
    child.once('message', (message) => {
      child.off('exit', onExit);
      if (message.type === 'ready') resolve({ role, pid: child.pid, info: message, url: message.url, call, close });
      else reject(new Error(`${role} failed to start: ${message.error}`));
    });
  });
}

// ---------------------------------------------------------------------------------------------------
// CPU: how much of the machine went to other work while a scenario ran

/** Machine-wide CPU counters from /proc/stat (Linux), in jiffies; undefined where there are none. */
export function machineCpu() {
  try {
    const [, ...fields] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/);
    const [user, nice, system, idle, iowait, irq, softirq, steal = 0] = fields.map(Number);
    const busy = user + nice + system + irq + softirq;
    return { busy, steal, total: busy + idle + iowait + steal };
  } catch {
    return undefined;
  }
}

/**
 * The share of the machine's CPU capacity (all cores) used by processes other than this run's, between
 * two `machineCpu()` samples: the machine's busy share less our own CPU time (`ourMicros`, summed over
 * the runner and its servers) over the same wall time. Also the hypervisor's steal share.
 */
export function otherLoad(before, after, ourMicros, wallMs, cores = os.availableParallelism()) {
  if (!before || !after || after.total <= before.total) return undefined;
  const jiffies = after.total - before.total;
  const busyShare = (after.busy - before.busy) / jiffies;
  const ourShare = ourMicros / 1_000 / (wallMs * cores);
  return { other: Math.max(0, busyShare - ourShare), steal: (after.steal - before.steal) / jiffies, ours: ourShare };
}

/**
 * CPU time so far of every process on the machine (Linux), in jiffies, with its parent and a short name
 * from its command line: two of these, taken before and after, name the other work that ran alongside.
 */
function processCpu() {
  const processes = new Map();
  let pids = [];
  try {
    pids = readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  } catch {
    return processes;
  }
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      // Fields after the parenthesised command (which may hold spaces): ppid is the 2nd, utime and stime the 12th and 13th.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
      processes.set(Number(pid), {
        ppid: Number(fields[1]),
        jiffies: Number(fields[11]) + Number(fields[12]),
        name: shortCommand(argv) || stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')),
      });
    } catch {
      // Gone between the listing and the read.
    }
  }
  return processes;
}

/**
 * CPU time so far (µs) of each of `pids` that is still there, from /proc (Linux: utime + stime, in clock
 * ticks of 10 ms, USER_HZ being 100), as a Map: two of these, before and after, give what processes that
 * are not ours to ask (PostgreSQL's) used in between — `cpuBetween`.
 */
export function processMicros(pids) {
  const micros = new Map();
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      micros.set(pid, (Number(fields[11]) + Number(fields[12])) * 10_000);
    } catch {
      // Gone: its time is lost, as for any process that ends.
    }
  }
  return micros;
}

/** µs of CPU between two `processMicros` samples (a process first seen after counts from its start). */
export function cpuBetween(before, after) {
  let sum = 0;
  for (const [pid, micros] of after) sum += micros - (before.get(pid) ?? 0);
  return sum;
}

/** `node /work/x/node_modules/ava/lib/worker/base.js` → `node …/ava/lib/worker/base.js`. */
function shortCommand(argv) {
  // A process that set its title (npm does) has it all in one string.
  const [program, ...args] = argv.length === 1 ? argv[0].split(' ') : argv;
  if (!program) return '';
  const script = args.find((arg) => !arg.startsWith('-'));
  const tail = (path) => (path.split('/').length > 4 ? `…/${path.split('/').slice(-4).join('/')}` : path);
  return [basename(program), script && tail(script)].filter(Boolean).join(' ');
}

/**
 * Watches every process's CPU time once a second while the run lasts, so that short-lived ones (a test
 * run next door starts many) are seen too; `busiest()` names the processes outside this run that used
 * the most, each with its share of the machine's CPU (all cores). CPU a process used before its first
 * sample, or after its last, is missed: the figures are a lower bound, `otherLoad` is the total.
 */
export function watchProcesses(intervalMs = 1_000) {
  const seen = new Map();
  const startTotal = machineCpu()?.total;
  const sample = () => {
    for (const [pid, { ppid, jiffies, name }] of processCpu()) {
      const known = seen.get(pid);
      if (known && known.name === name) Object.assign(known, { ppid, last: jiffies });
      else seen.set(pid, { ppid, name, first: jiffies, last: jiffies });
    }
  };
  sample();
  const timer = setInterval(sample, intervalMs);
  timer.unref();
  return {
    busiest(ourPids, limit = 3) {
      clearInterval(timer);
      sample();
      const total = machineCpu()?.total - startTotal;
      if (!total) return [];
      // This process's ancestors (npm, a shell) are ours too.
      const ours = new Set(ourPids);
      for (let pid = process.pid; pid > 1 && seen.has(pid); pid = seen.get(pid).ppid) ours.add(pid);
      // One line per command: a test runner's many short workers add up.
      const byName = new Map();
      for (const [pid, { name, first, last }] of seen) {
        if (!ours.has(pid)) byName.set(name, (byName.get(name) ?? 0) + (last - first));
      }
      return [...byName]
        .map(([name, jiffies]) => ({ name, share: jiffies / total }))
        .filter(({ share }) => share >= 0.01)
        .sort((a, b) => b.share - a.share)
        .slice(0, limit);
    },
  };
}

// ---------------------------------------------------------------------------------------------------
// Statistics

/** Response times in ms at full precision (autocannon's own histogram keeps whole milliseconds only). */
export class Samples {
  #values = new Float64Array(1 << 16);
  #length = 0;

  push(value) {
    if (this.#length === this.#values.length) {
      const grown = new Float64Array(this.#values.length * 2);
      grown.set(this.#values);
      this.#values = grown;
    }
    this.#values[this.#length++] = value;
  }

  get length() {
    return this.#length;
  }

  /** Nearest-rank percentiles, e.g. `percentiles(50, 99)`. */
  percentiles(...ps) {
    const sorted = this.#values.slice(0, this.#length).sort();
    return ps.map((p) =>
      sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))],
    );
  }
}

// ---------------------------------------------------------------------------------------------------
// Machine and report

export function machineInfo() {
  const cpus = os.cpus();
  let distribution = '';
  try {
    distribution = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? '';
  } catch {
    // Not Linux, or no os-release: the kernel line below still says what it is.
  }
  return {
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cores: os.availableParallelism(),
    memoryGiB: os.totalmem() / 2 ** 30,
    node: process.version,
    os: [distribution, `${os.type()} ${os.release()} ${os.arch()}`].filter(Boolean).join(', '),
    loadAverage: os.loadavg(),
  };
}

const thousands = (value) => Math.round(value).toLocaleString('en-US');
const ms = (value) => (Number.isFinite(value) ? value.toFixed(2) : '–');
const percent = (value) => (value === undefined ? '–' : `${Math.round(value * 100)} %`);

export const format = { thousands, ms, percent };

/** Rows of cells → aligned text columns (numbers right-aligned), for the terminal. */
export function textTable(header, rows) {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => String(row[column]).length)));
  const line = (cells) =>
    cells
      .map((cell, column) => {
        const text = String(cell);
        return column > 0 && /^[\d,.–\s%-]+$/.test(text) ? text.padStart(widths[column]) : text.padEnd(widths[column]);
      })
      .join('  ');
  return [line(header), widths.map((width) => '-'.repeat(width)).join('  '), ...rows.map(line)].join('\n');
}

/** Rows of cells → a Markdown table; `align` holds 'l' or 'r' per column. */
export function markdownTable(header, align, rows) {
  const escape = (cell) => String(cell).replaceAll('|', '\\|');
  return [
    `| ${header.map(escape).join(' | ')} |`,
    `|${align.map((side) => (side === 'r' ? '---:' : ':---')).join('|')}|`,
    ...rows.map((row) => `| ${row.map(escape).join(' | ')} |`),
  ].join('\n');
}
