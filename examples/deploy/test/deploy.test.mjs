// Checks the deployment files against the server they deploy: the Caddyfile routes every route the
// router registers (and nothing else) to beckon-server, the env template matches what loadConfig reads
// and docs/configuration.md documents, and the systemd unit has the settings the README promises. When `caddy`
// or `systemd-analyze` is installed, the files are also checked by the real tools.
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { accessSync, constants, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { createNsClient } from '@beckon/ns-client';
import { startNsSandbox } from '@beckon/ns-client/sandbox';
import {
  BackgroundTasks,
  ConfigError,
  createApp,
  createLogger,
  createMemoryLimits,
  createRouter,
  loadConfig,
  openFileTenantStore,
  openMigratedDatabase,
} from '@beckon/server';

const read = (path) => readFileSync(new URL(path, import.meta.url), 'utf8');
const CADDYFILE = read('../Caddyfile');
const ENV_TEMPLATE = read('../beckon.env.example');
const UNIT = read('../beckon-server.service');
const CONFIGURATION = read('../../../docs/configuration.md');
const UPSTREAM = '127.0.0.1:5100';

// ── helpers ─────────────────────────────────────────────────────────────────────────────────────────

/** A Caddyfile as a tree of `{ tokens, block }`: enough for this one (no snippets, imports or quotes). */
function parseCaddyfile(text) {
  const root = [];
  const stack = [root];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/(^|\s)#.*$/, '').trim(); // a comment starts with a token that starts with #
    if (line === '') continue;
    if (line === '}') {
      stack.pop();
      continue;
    }
    const tokens = line.split(/\s+/);
    const opens = tokens.at(-1) === '{';
    const node = { tokens: opens ? tokens.slice(0, -1) : tokens, block: [] };
    stack.at(-1).push(node);
    if (opens) stack.push(node.block);
  }
  if (stack.length !== 1) throw new Error('unbalanced braces in the Caddyfile');
  return root;
}

/** What the Caddyfile sends to beckon-server: the `path` patterns of the matchers whose handle proxies to it. */
function caddyRouting(text) {
  const site = parseCaddyfile(text).find((node) => node.tokens.includes('beckon.example.net'));
  if (!site) throw new Error('no beckon.example.net site block');
  const matchers = new Map();
  for (const node of site.block.filter((candidate) => candidate.tokens[0].startsWith('@'))) {
    const lines = node.tokens.length > 1 ? [node.tokens.slice(1)] : node.block.map((child) => child.tokens); // one line or a block
    matchers.set(
      node.tokens[0],
      lines.filter((tokens) => tokens[0] === 'path').flatMap((tokens) => tokens.slice(1)),
    );
  }
  const proxies = (node) => node.block.some((child) => child.tokens[0] === 'reverse_proxy' && child.tokens.includes(UPSTREAM));
  const handles = site.block.filter((node) => node.tokens[0] === 'handle');
  return {
    proxied: handles.filter((node) => node.tokens[1] && proxies(node)).flatMap((node) => matchers.get(node.tokens[1]) ?? []),
    /** A `handle` without a matcher: where everything else goes. */
    fallback: handles.find((node) => node.tokens.length === 1),
    directives: (function flatten(nodes) {
      return nodes.flatMap((node) => [node.tokens, ...flatten(node.block)]);
    })(site.block),
  };
}

/** Caddy's `path` matcher: exact, with `*` matching any run of characters. */
function pathMatches(pattern, path) {
  const regex = new RegExp(
    `^${pattern
      .split('*')
      .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
  );
  return regex.test(path);
}

/** NAME=value lines of a systemd EnvironmentFile, in order. */
function parseEnvFile(text) {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '' && !/^\s*[#;]/.test(line))
    .map((line) => {
      const match = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(line);
      if (!match) throw new Error(`not a NAME=value line: ${JSON.stringify(line)}`);
      return { name: match[1], value: match[2] };
    });
}

/**
 * The environment-variable table of docs/configuration.md, the one reference: name → default, as written.
 * Variables it marks "**Demo mode only**" are left out: a deployment does not set them.
 */
function documentedVariables() {
  const lines = CONFIGURATION.split('\n');
  const header = lines.findIndex((line) => /^\|\s*variable\s*\|\s*default\s*\|\s*meaning\s*\|/.test(line));
  if (header === -1) throw new Error('no "| variable | default | meaning |" table in docs/configuration.md');
  const end = lines.findIndex((line, index) => index > header && !line.startsWith('|'));
  const variables = new Map();
  for (const line of lines.slice(header + 2, end === -1 ? undefined : end)) {
    const row = /^\|\s*`([A-Z][A-Z0-9_]*)`\s*\|\s*([^|]*?)\s*\|\s*([^|]*?)\s*\|/.exec(line);
    // A row the pattern misses would silently drop its variable from the comparison.
    if (!row) throw new Error(`docs/configuration.md: not a "| \`NAME\` | default | meaning |" row: ${line}`);
    const [, name, fallback, meaning] = row;
    // Demo-only settings and old names kept for compatibility have no place in a production template.
    if (!/^\*\*(Demo mode only|Deprecated)\*\*/.test(meaning)) variables.set(name, fallback);
  }
  return variables;
}

/** `[Section]` → name → values, from a systemd unit. */
function parseUnit(text) {
  const sections = {};
  let current;
  for (const line of text.split('\n').map((raw) => raw.trim())) {
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[(\w+)\]$/.exec(line);
    if (header) {
      current = sections[header[1]] = {};
      continue;
    }
    const [, key, value] = /^([A-Za-z]+)=(.*)$/.exec(line) ?? [];
    if (!current || !key) throw new Error(`unexpected unit line: ${line}`);
    (current[key] ??= []).push(value);
  }
  return sections;
}

const TEMPLATE = parseEnvFile(ENV_TEMPLATE);
/** Valid example values for what the template leaves for the operator to fill in. */
const FILL = {
  NS_API_BASE: 'https://ucportal.example.net',
  NS_TOKEN: 'example-api-key',
  UPDATE_SECRET: 'an-example-secret-0123456789abcdef',
};
const filledTemplate = (overrides = {}) => ({
  ...Object.fromEntries(TEMPLATE.map(({ name, value }) => [name, value || FILL[name] || ''])),
  ...overrides,
});

function which(command) {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    try {
      accessSync(join(dir, command), constants.X_OK);
      return join(dir, command);
    } catch {
      // not here
    }
  }
  return undefined;
}

/**
 * Beckon's real dependencies, configured from the filled env template (against a sandbox and a temp
 * domains.json), as beckon-server builds them.
 */
async function beckonDeps(t, logger = createLogger('silent')) {
  const sandbox = await startNsSandbox();
  const dir = await mkdtemp(join(tmpdir(), 'beckon-deploy-'));
  t.teardown(async () => {
    await sandbox.close();
    await rm(dir, { recursive: true, force: true });
  });
  const domainsFile = join(dir, 'domains.json');
  await writeFile(domainsFile, JSON.stringify({ 'example.com-sales': { api_domain: 'example.com', queue: '9002@example.com' } }));
  const config = loadConfig(filledTemplate({ NS_API_BASE: sandbox.url, NS_TOKEN: sandbox.token, DOMAINS_FILE: domainsFile }));
  const deps = {
    config,
    ns: createNsClient({ baseUrl: config.nsApiBase, auth: { token: config.nsToken }, timeoutMs: config.nsTimeoutMs }),
    tenants: await openFileTenantStore({ path: config.domainsFile, logger }),
    limits: createMemoryLimits(config),
    logger,
    background: new BackgroundTasks(logger),
    // The embedded database, so the routes that need one (webhooks, /api/*) are registered too.
    db: await openMigratedDatabase({ databaseUrl: undefined, dataDir: dir }, { logger }),
  };
  t.teardown(async () => {
    await deps.tenants.close();
    await deps.db.close();
  });
  return deps;
}

/** Each route the router registers: its path and methods (the router's own middleware layers have none). */
async function beckonRoutes(t) {
  const router = createRouter(await beckonDeps(t));
  const routes = router.stack.filter((layer) => layer.methods.length > 0);
  t.true(routes.length >= 8, 'the router registers its routes');
  return routes.map((layer) => ({ path: layer.path, methods: layer.methods }));
}

// ── (a) the Caddyfile ──────────────────────────────────────────────────────────────────────────────

test('the Caddyfile sends every route the server registers to beckon-server', async (t) => {
  const { proxied } = caddyRouting(CADDYFILE);
  t.true(proxied.length > 0, 'a path matcher whose handle proxies to 127.0.0.1:5100');
  for (const { path } of await beckonRoutes(t)) {
    const concrete = path.replace(/:(\w+)/g, 'sample'); // a route parameter, should one appear
    t.true(
      proxied.some((pattern) => pathMatches(pattern, concrete)),
      `${path} is registered by createRouter but not routed by the Caddyfile: add it to @beckon`,
    );
  }
});

test('the Caddyfile sends nothing else to beckon-server', async (t) => {
  const { proxied, fallback, directives } = caddyRouting(CADDYFILE);
  const routes = await beckonRoutes(t);
  for (const pattern of proxied) {
    t.true(
      routes.some(({ path }) => pathMatches(pattern, path)),
      `${pattern} is proxied to beckon-server, but the server has no such route`,
    );
  }
  for (const path of ['/', '/index.html', '/about', '/widget', '/healthz', '/click-to-call.php', '/webresponder.php', '/update-domain/']) {
    t.false(
      proxied.some((pattern) => pathMatches(pattern, path)),
      `${path} goes to the static site`,
    );
  }
  t.truthy(fallback, 'a catch-all handle for everything else');
  t.false(
    fallback.block.some((node) => node.tokens[0] === 'reverse_proxy'),
    'the catch-all does not proxy to beckon-server',
  );
  // Caddy sets X-Forwarded-For itself; overriding it is unnecessary (and wrong behind a CDN).
  t.false(
    directives.some((tokens) => tokens[0] === 'header_up' && /x-forwarded-for/i.test(tokens[1] ?? '')),
    'no header_up X-Forwarded-For',
  );
  t.regex(CADDYFILE, /#.*Caddy sets X-Forwarded-For/, 'a comment says why');
});

// Real Caddy and systemd check the files (`.ci/run` installs both; a missing one fails here, saying so).
const caddy = which('caddy');
test('caddy adapts the Caddyfile, and proxies exactly the Beckon routes with a trustworthy X-Forwarded-For', async (t) => {
  if (!caddy) return t.fail('caddy is not installed (apt-get install caddy; .ci/run does)');
  const adapted = spawnSync(
    caddy,
    ['adapt', '--config', fileURLToPath(new URL('../Caddyfile', import.meta.url)), '--adapter', 'caddyfile'],
    {
      encoding: 'utf8',
    },
  );
  t.is(adapted.status, 0, adapted.stderr);
  t.true(JSON.parse(adapted.stdout).apps.http.servers.srv0.routes.length > 0);

  // Beckon as configured by the env template (TRUST_PROXY=1), with what reaches it recorded.
  const logs = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) logs.push(JSON.parse(line));
      done();
    },
  });
  const deps = await beckonDeps(t, createLogger('info', sink));
  const forwardedFor = new Map();
  const app = createApp(deps).callback();
  const upstream = createServer((request, response) => {
    forwardedFor.set(request.headers['x-request-id'], request.headers['x-forwarded-for']);
    app(request, response);
  });
  upstream.listen(0, '127.0.0.1');
  await once(upstream, 'listening');
  t.teardown(() => new Promise((resolve) => upstream.close(resolve)));

  // The same Caddyfile, on a local port over plain HTTP, proxying to that upstream.
  const probe = createServer().listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const port = probe.address().port;
  await new Promise((resolve) => probe.close(resolve));
  const dir = await mkdtemp(join(tmpdir(), 'beckon-caddy-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const local = CADDYFILE.replace('beckon.example.net {', `http://127.0.0.1:${port} {`).replaceAll(
    UPSTREAM,
    `127.0.0.1:${upstream.address().port}`,
  );
  t.not(local, CADDYFILE);
  await writeFile(join(dir, 'Caddyfile'), `{\n\tadmin off\n}\n\n${local}`);
  const child = spawn(caddy, ['run', '--config', join(dir, 'Caddyfile'), '--adapter', 'caddyfile'], {
    env: { PATH: process.env.PATH, HOME: dir, XDG_DATA_HOME: dir, XDG_CONFIG_HOME: dir },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let caddyLog = '';
  child.stderr.on('data', (chunk) => (caddyLog += chunk));
  t.teardown(() => child.exitCode === null && child.kill('SIGTERM'));
  const site = `http://127.0.0.1:${port}`;
  for (let tries = 0; ; tries += 1) {
    try {
      await fetch(`${site}/`);
      break;
    } catch (error) {
      if (tries > 100 || child.exitCode !== null) throw new Error(`caddy did not start: ${caddyLog}`, { cause: error });
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  let n = 0;
  const send = (method, path, headers = {}) =>
    fetch(site + path, { method, headers: { 'x-request-id': `deploy-test-${(n += 1)}`, ...headers } });
  for (const { path, methods } of await beckonRoutes(t)) {
    const method = methods.find((name) => name !== 'HEAD');
    const response = await send(method, path);
    t.truthy(response.headers.get('x-request-id'), `${method} ${path} reaches beckon-server (got ${response.status})`);
  }
  for (const path of ['/', '/about', '/widget', '/healthz']) {
    const response = await send('GET', path);
    t.is(response.status, 404, `${path}: the static site`);
    t.is(response.headers.get('x-request-id'), null, `${path} does not reach beckon-server`);
  }

  // A client that claims another address: Caddy replaces the header, and Beckon keys its limits on the real one.
  const spoofed = await send('GET', '/health', { 'x-forwarded-for': '203.0.113.9', 'x-request-id': 'deploy-spoof-check' });
  t.deepEqual(await spoofed.json(), { status: 'ok' });
  t.is(forwardedFor.get('deploy-spoof-check'), '127.0.0.1', 'X-Forwarded-For is what Caddy saw, not what the client sent');
  t.like(
    logs.find((line) => line.requestId === 'deploy-spoof-check' && line.msg === 'request'),
    { path: '/health', ip: '127.0.0.1' },
  );
});

// ── (b) the env template ───────────────────────────────────────────────────────────────────────────

test('beckon.env.example is a valid EnvironmentFile: NAME=value lines, no duplicates, no trailing comments', (t) => {
  const names = TEMPLATE.map(({ name }) => name);
  t.deepEqual(names, [...new Set(names)], 'each variable once');
  for (const { name, value } of TEMPLATE) {
    t.false(/\s#/.test(value), `${name}: systemd would keep a trailing comment in the value`);
    t.false(/^\s|\s$/.test(value), `${name}: no stray spaces`);
  }
});

test('beckon.env.example and docs/configuration.md document the same variables', (t) => {
  const documented = documentedVariables();
  t.true(documented.size >= 10, 'the configuration table was found');
  const templated = new Set(TEMPLATE.map(({ name }) => name));
  for (const name of documented.keys()) t.true(templated.has(name), `${name} is in docs/configuration.md but not in beckon.env.example`);
  for (const name of templated) t.true(documented.has(name), `${name} is in beckon.env.example but not in docs/configuration.md`);
});

test('the template keeps the documented defaults, except where Caddy and systemd call for another value', (t) => {
  // Deliberately not the default: behind Caddy, in /var/lib/beckon, and the site's public address.
  const chosen = { TRUST_PROXY: '1', DOMAINS_FILE: '/var/lib/beckon/domains.json', PUBLIC_URL: 'https://beckon.example.net' };
  const documented = documentedVariables();
  for (const { name, value } of TEMPLATE) {
    if (name in chosen) {
      t.is(value, chosen[name], name);
      continue;
    }
    const literal = /^`([^`{}]*)`$/.exec(documented.get(name) ?? '');
    if (literal) t.is(value, literal[1], `${name} keeps the documented default`);
    else t.is(value, '', `${name} has no literal default (${documented.get(name)}): left empty`);
  }
});

test('loadConfig accepts the filled-in template, and refuses the template until it is filled in', (t) => {
  const required = [...documentedVariables()].filter(([, fallback]) => /required/i.test(fallback)).map(([name]) => name);
  t.deepEqual([...required].sort(), Object.keys(FILL).sort(), 'the documented required variables are the ones to fill in');
  for (const name of required) t.is(TEMPLATE.find((variable) => variable.name === name)?.value, '', `${name} is left for the operator`);
  const asShipped = Object.fromEntries(TEMPLATE.map(({ name, value }) => [name, value]));
  const error = t.throws(() => loadConfig(asShipped), { instanceOf: ConfigError });
  t.is(error.problems.length, required.length, error.message);
  for (const name of required)
    t.true(
      error.problems.some((problem) => problem.includes(name)),
      `names ${name}`,
    );

  const config = loadConfig(filledTemplate());
  t.like(config, {
    nsApiBase: 'https://ucportal.example.net',
    publicUrl: 'https://beckon.example.net',
    domainsFile: '/var/lib/beckon/domains.json',
    host: '127.0.0.1',
    port: 5100,
    trustProxy: 1,
    nsTimeoutMs: 10_000,
    limits: { ipPerMinute: 3, idPerHour: 30, numberPerHour: 3 },
    textBackWindowSeconds: 600,
    provisionEmail: undefined,
    logLevel: 'info',
  });
});

// Variables that only matter once another one is set: each is tried with that one filled in.
const TWILIO_ACCOUNT = { TWILIO_ACCOUNT_SID: `AC${'0'.repeat(32)}`, TWILIO_AUTH_TOKEN: '0'.repeat(32) };
const TWILIO_SINGLE = { ...TWILIO_ACCOUNT, TWILIO_PHONE_NUMBER: '+19295550100', USER_PHONE_NUMBER: '+18135550100' };
const RINGCENTRAL_APP = {
  RINGCENTRAL_CLIENT_ID: 'rc-client-id',
  RINGCENTRAL_CLIENT_SECRET: 'rc-client-secret',
  RINGCENTRAL_JWT_TOKEN: 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln',
};
const NEEDS = {
  TURNSTILE_VERIFY_URL: { TURNSTILE_SECRET_KEY: 'turnstile-secret' },
  REDIS_PREFIX: { REDIS_URL: 'redis://127.0.0.1:6379' },
  // These go in pairs (the account; the number and the phone it rings): each is changed with its partner set.
  TWILIO_ACCOUNT_SID: TWILIO_ACCOUNT,
  TWILIO_AUTH_TOKEN: TWILIO_ACCOUNT,
  TWILIO_API_BASE: TWILIO_ACCOUNT,
  TWILIO_PHONE_NUMBER: TWILIO_SINGLE,
  USER_PHONE_NUMBER: TWILIO_SINGLE,
  TEXT_BACK_MESSAGE: TWILIO_SINGLE,
  // A hand-made webhook's secret goes with the id its events are stored under.
  DIALPAD_WEBHOOK_SECRET: { DIALPAD_DEFAULT_ID: 'example.com-sales' },
  // RingCentral's app and JWT go together: each is changed with the other two set.
  RINGCENTRAL_CLIENT_ID: RINGCENTRAL_APP,
  RINGCENTRAL_CLIENT_SECRET: RINGCENTRAL_APP,
  RINGCENTRAL_JWT_TOKEN: RINGCENTRAL_APP,
  RINGCENTRAL_SERVER_URL: RINGCENTRAL_APP,
};

test('loadConfig reads every variable in the template', (t) => {
  const candidates = [
    '2',
    '7',
    '12345',
    '::1',
    'debug',
    'pretty',
    'https://other.example.net',
    'other@example.net',
    'another-value-0123456789abcdef',
    'redis://127.0.0.1:6380',
    'postgres://beckon@127.0.0.1:5433/beckon',
    `AC${'1'.repeat(32)}`,
    '1'.repeat(32),
    '+14165550199',
    'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIyIn0.b3RoZXI',
  ];
  for (const { name } of TEMPLATE) {
    const context = NEEDS[name] ?? {};
    const baseline = JSON.stringify(loadConfig(filledTemplate(context)));
    const read = candidates.some((value) => {
      try {
        return JSON.stringify(loadConfig(filledTemplate({ ...context, [name]: value }))) !== baseline;
      } catch (error) {
        if (error instanceof ConfigError) return false;
        throw error;
      }
    });
    t.true(read, `${name}: changing it changes nothing in loadConfig's result`);
  }
});

// ── (c) the systemd unit ───────────────────────────────────────────────────────────────────────────

test('the systemd unit runs beckon-server as its own user, with the environment file and hardening', (t) => {
  const unit = parseUnit(UNIT);
  const service = unit.Service;
  const one = (key) => {
    t.is(service[key]?.length, 1, `${key} is set once`);
    return service[key]?.[0];
  };
  t.truthy(one('User'));
  t.not(one('User'), 'root');
  t.is(one('EnvironmentFile'), '/etc/beckon/beckon.env');
  t.is(one('WorkingDirectory'), '/var/lib/beckon');
  t.regex(one('ExecStart'), /^(\/usr\/bin\/env beckon-server|\/\S*node \S*beckon-server\.js)$/);
  t.is(one('Restart'), 'on-failure');
  t.is(one('KillSignal'), 'SIGTERM');
  t.is(one('TimeoutStopSec'), '15');
  t.is(one('NoNewPrivileges'), 'yes');
  t.is(one('ProtectSystem'), 'strict');
  t.is(one('ReadWritePaths'), '/var/lib/beckon');
  t.is(one('PrivateTmp'), 'yes');
  t.is(one('ProtectHome'), 'yes');
  t.deepEqual(unit.Install?.WantedBy, ['multi-user.target']);
  t.true(unit.Unit?.After?.includes('network-online.target'));
});

test('the unit, the env template and the Caddyfile agree on paths and the address', (t) => {
  const service = parseUnit(UNIT).Service;
  const env = Object.fromEntries(TEMPLATE.map(({ name, value }) => [name, value]));
  t.true(env.DOMAINS_FILE.startsWith(`${service.ReadWritePaths[0]}/`), 'domains.json and its lock file are writable');
  t.regex(ENV_TEMPLATE, new RegExp(`^# ${service.EnvironmentFile[0].replaceAll('.', '\\.')}`), 'the template says where it goes');
  t.is(`${env.HOST}:${env.PORT}`, UPSTREAM, "beckon-server listens where Caddy's reverse_proxy points");
  t.is(env.PUBLIC_URL, 'https://beckon.example.net', 'PUBLIC_URL is the Caddy site');
  t.true(CADDYFILE.includes(`${new URL(env.PUBLIC_URL).host} {`));
});

const systemdAnalyze = which('systemd-analyze');
test('systemd-analyze verify finds nothing to report in the unit', (t) => {
  if (!systemdAnalyze) return t.fail('systemd-analyze is not installed (apt-get install systemd; .ci/run does)');
  const unitPath = fileURLToPath(new URL('../beckon-server.service', import.meta.url));
  const result = spawnSync(systemdAnalyze, ['verify', unitPath], { encoding: 'utf8' });
  t.is(result.status, 0, result.stderr);
  const aboutUnit = result.stderr.split('\n').filter((line) => line.includes('beckon-server.service'));
  t.deepEqual(aboutUnit, [], 'no unknown keys or bad values');
});
