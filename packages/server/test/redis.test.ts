import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import test from 'ava';
import { startNsSandbox } from '@beckon/ns-client/sandbox';
import { Redis } from 'ioredis';
import { exportConfig, importConfig } from '../src/cli/config-transfer.js';
import { redisKeys, writeTenants } from '../src/tenants/redis-store.js';
import { databaseFixture } from './fixtures/databases.js';
import { freePort, startRedis, type RedisServer } from './fixtures/redis.js';
import { folderWithSandbox, SECRET, TENANTS } from './helpers.js';

// Real redis-server and real beckon-server processes: the point is state shared between processes.
// Instances share one PostgreSQL too, as several instances must (the embedded database serves one process).
const databases = databaseFixture(test);
const cli = new URL('./fixtures/cli.ts', import.meta.url).pathname;
const nodeArgs = [`--import=${import.meta.resolve('tsx')}`, '--conditions=@beckon/source', cli];

interface Instance {
  url: string;
  child: ChildProcess;
  output(): string;
}

/** Starts `beckon-server` from source with the environment given, and waits until it listens. */
function startInstance(env: Record<string, string>, cwd: string): Promise<Instance> {
  const child = spawn(process.execPath, nodeArgs, { cwd, env: { PATH: process.env.PATH ?? '', PORT: '0', ...env } });
  let output = '';
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return new Promise((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /"url":"(http:\/\/[^"]+)"/.exec(output);
      if (match?.[1]) resolve({ url: match[1], child, output: () => output });
    });
    child.on('close', (code) => reject(new Error(`beckon-server exited ${code}:\n${output}`)));
  });
}

async function stopInstance(instance: Instance): Promise<void> {
  if (instance.child.exitCode !== null) return;
  const exited = new Promise((resolve) => instance.child.once('exit', resolve));
  instance.child.kill('SIGTERM');
  await exited;
}

/** Runs `beckon-server <args>` to completion. */
function runCommand(
  args: string[],
  env: Record<string, string>,
  cwd: string,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...nodeArgs, ...args], { cwd, env: { PATH: process.env.PATH ?? '', ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr })); // 'close': exited and its output fully read
  });
}

/** Polls `check` every 25 ms until it holds; resolves to how long that took, or throws after `limitMs`. */
async function within(limitMs: number, check: () => Promise<boolean>): Promise<number> {
  const started = Date.now();
  while (Date.now() - started <= limitMs) {
    if (await check()) return Date.now() - started;
    await sleep(25);
  }
  throw new Error(`not within ${limitMs} ms`);
}

const clickToCall = (instance: Instance, phone: string) =>
  fetch(`${instance.url}/click-to-call`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ id: 'example.com-sales', phone_number: phone }),
  });

const updateDomain = (instance: Instance, fields: Record<string, string>) =>
  fetch(`${instance.url}/update-domain`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ secret: SECRET, ...fields }),
  });

const branding = async (instance: Instance, id: string) => {
  const response = await fetch(`${instance.url}/widget-config?id=${id}`);
  return response.ok ? ((await response.json()) as Record<string, string>) : undefined;
};

const health = async (instance: Instance) => (await (await fetch(`${instance.url}/health`)).json()) as Record<string, string>;

/** How many times the instance has logged `message`. */
const logged = (instance: Instance, message: string) => instance.output().split(`"msg":"${message}"`).length - 1;

interface ClusterOptions {
  /** More environment, e.g. limits. */
  env?: Record<string, string>;
  /** How many instances. Default 3. */
  instances?: number;
}

/** One Redis (working in the cluster's folder), one NS sandbox, the config imported, the instances started. */
async function cluster(t: import('ava').ExecutionContext, options: ClusterOptions = {}) {
  const dir = await mkdtemp(join(tmpdir(), 'beckon-redis-'));
  const redis = await startRedis({ dir });
  const sandbox = await startNsSandbox();
  const instances: Instance[] = [];
  // Registered before anything can fail: an instance that does not start must not leave Redis running.
  t.teardown(async () => {
    await Promise.all(instances.map(stopInstance));
    await redis.kill();
    await sandbox.close();
    await rm(dir, { recursive: true, force: true });
  });
  const { databaseUrl } = await databases.settings(t, 'postgres');
  const env = {
    REDIS_URL: redis.url,
    DATABASE_URL: databaseUrl!,
    NS_API_BASE: sandbox.url,
    NS_TOKEN: sandbox.token,
    UPDATE_SECRET: SECRET,
    // A file store would be a second truth: these instances must not read it.
    DOMAINS_FILE: join(dir, 'unused.json'),
    ...options.env,
  };
  await writeFile(join(dir, 'domains.json'), JSON.stringify(TENANTS));
  t.is(await importConfig(join(dir, 'domains.json'), { env }), 2);
  await Promise.all(Array.from({ length: options.instances ?? 3 }, async () => instances.push(await startInstance(env, dir))));
  return { redis, sandbox, dir, env, instances };
}

test('three instances share one limit, and a form update on one is served by the others within a second', async (t) => {
  const { sandbox, instances, env, dir } = await cluster(t, { env: { LIMIT_IP_PER_MINUTE: '3' } });
  const [a, b, c] = instances as [Instance, Instance, Instance];

  // One client, its requests spread over the instances: the 4th in the minute is refused wherever it lands.
  const statuses = [];
  for (const [index, instance] of [a, b, c, a].entries()) statuses.push((await clickToCall(instance, `813555120${index}`)).status);
  t.deepEqual(statuses, [200, 200, 200, 429]);
  t.is((await clickToCall(b, '8135551209')).status, 429);
  t.is(sandbox.calls.length, 3);

  t.is(
    (await updateDomain(b, { id: 'shop.example-sales', api_domain: 'shop.example', queue: '7001', button_text: 'Ring us' })).status,
    200,
  );
  const waited = await within(
    1_000,
    async () =>
      (await branding(a, 'shop.example-sales'))?.buttonText === 'Ring us' &&
      (await branding(c, 'shop.example-sales'))?.buttonText === 'Ring us',
  );
  t.log(`update served by the other instances after ${waited} ms`);

  // Concurrent updates to one id through different instances lose no field — with click-to-call traffic
  // at the same time, whose limiters run transactions of their own against Redis.
  const posts = [];
  const calls = instances.flatMap((instance, index) =>
    Array.from({ length: 20 }, (_, n) => clickToCall(instance, `813555${String(100 + index * 20 + n).padStart(4, '0')}`)),
  );
  for (let index = 0; index < 30; index += 1) {
    const instance = instances[index % 3]!;
    posts.push(
      updateDomain(instance, { id: 'shop.example-sales', api_domain: 'shop.example', queue: '7001', company_name: `Shop ${index}` }),
    );
    posts.push(
      fetch(`${instance.url}/update-sms`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-update-secret': SECRET },
        body: JSON.stringify({
          id: `shop.example-sms${index}`,
          api_domain: 'shop.example',
          user: '2000',
          ns_system_user: '8001',
          from_number: '19295550100',
          message: `Text ${index}`,
        }),
      }),
    );
  }
  t.deepEqual(new Set((await Promise.all(posts)).map((response) => response.status)), new Set([200]));
  const callStatuses = (await Promise.all(calls)).map((response) => response.status);
  t.deepEqual([...new Set(callStatuses)], [429], 'the client is still over its limit');
  const exported = JSON.parse(await exportConfig(undefined, { env })) as Record<string, Record<string, unknown>>;
  t.is(Object.keys(exported).length, 2 + 1 + 30);
  t.like(exported['shop.example-sales'], { queue: '7001@shop.example', branding: { button_text: 'Ring us' } });
  for (let index = 0; index < 30; index += 1) t.like(exported[`shop.example-sms${index}`], { message: `Text ${index}` });

  // export-config from the command line, to a file.
  const file = join(dir, 'exported.json');
  const run = await runCommand(['export-config', file], env, dir);
  t.is(run.code, 0, run.stderr);
  t.deepEqual(JSON.parse(await readFile(file, 'utf8')), exported);
});

test('Redis killed mid-run: every instance keeps answering from memory, and recovers when it returns', async (t) => {
  const { redis, env, instances } = await cluster(t);
  const [a, b] = instances as [Instance, Instance, Instance];
  t.deepEqual(await health(a), { status: 'ok', redis: 'ok', database: 'ok' });

  await redis.kill();
  await within(3_000, async () => (await health(a)).redis === 'unavailable' && (await health(b)).config === 'stale');
  const outage = await fetch(`${b.url}/health`);
  t.is(outage.status, 200, 'still serving: a load balancer must keep it');
  // The subscription is down too: a change made elsewhere now would be missed until a full reload.
  t.deepEqual(await outage.json(), { status: 'degraded', redis: 'unavailable', database: 'ok', config: 'stale' });
  const notReady = await fetch(`${b.url}/ready`);
  t.is(notReady.status, 503, 'not ready while its Redis is down');
  t.deepEqual(await notReady.json(), { status: 'unavailable', redis: 'unavailable' });

  t.is((await clickToCall(a, '8135551301')).status, 200, 'limits fall back to per-process insurance');
  t.like(await branding(b, 'example.com-sales'), { buttonText: 'Call us' });
  const webresponder = await fetch(`${b.url}/webresponder?id=example.com-sms&NmsAni=8135551302`);
  t.is(webresponder.status, 200);
  // An update cannot be saved now: it is refused with a message, never half-applied or lost silently.
  const refused = await updateDomain(a, { id: 'example.com-sales', api_domain: 'example.com', queue: '9003' });
  t.is(refused.status, 503);
  t.truthy(refused.headers.get('retry-after'));
  t.like(await refused.json(), { status: 'error' });

  await redis.restart();
  await within(5_000, async () => (await Promise.all(instances.map(health))).every((state) => state.status === 'ok'));
  // Redis came back empty (no persistence here): an instance put its copy back rather than every id be lost.
  t.deepEqual(Object.keys(JSON.parse(await exportConfig(undefined, { env })) as object), ['example.com-sales', 'example.com-sms']);
  t.like(await branding(a, 'example.com-sales'), { buttonText: 'Call us' });
  t.is((await updateDomain(a, { id: 'example.com-sales', api_domain: 'example.com', queue: '9003', button_text: 'Back' })).status, 200);
  await within(1_000, async () => (await branding(b, 'example.com-sales'))?.buttonText === 'Back');
  t.false(a.output().includes(SECRET));
});

test("after Redis restarts empty, a form post and a reconnect shrink no instance's config", async (t) => {
  const { redis, env, instances } = await cluster(t, { instances: 2, env: { LIMIT_IP_PER_MINUTE: '100' } });
  const [a, b] = instances as [Instance, Instance];
  await redis.kill();
  await redis.restart();

  // Refused (503, nothing saved) until A is connected again; then it must apply to the entry A holds, not to nothing.
  await within(
    5_000,
    async () =>
      (await updateDomain(a, { id: 'example.com-sales', api_domain: 'example.com', button_text: 'After the restart' })).status === 200,
  );
  // A reconnect makes every instance reload everything from Redis: what Redis holds by then must be whole.
  const before = instances.map((instance) => logged(instance, 'config reloaded from Redis'));
  const client = new Redis(redis.url);
  t.teardown(() => client.disconnect());
  await client.client('KILL', 'TYPE', 'PUBSUB');
  await within(5_000, async () => instances.every((instance, index) => logged(instance, 'config reloaded from Redis') > before[index]!));

  const exported = JSON.parse(await exportConfig(undefined, { env })) as Record<string, Record<string, unknown>>;
  t.deepEqual(Object.keys(exported), ['example.com-sales', 'example.com-sms']);
  t.like(exported['example.com-sales'], {
    queue: '9002@example.com',
    branding: { button_text: 'After the restart', company_name: 'Example Co' },
  });
  for (const [index, instance] of instances.entries()) {
    t.like(await branding(instance, 'example.com-sales'), { buttonText: 'After the restart', companyName: 'Example Co' });
    t.truthy(await branding(instance, 'example.com-sms'), 'the id the post did not name is still served');
    t.is((await clickToCall(instance, `813555140${index}`)).status, 200, 'the queue is still there');
  }
  const reseeded = "Redis lost its config: re-seeded it from this instance's memory";
  t.is(logged(a, reseeded) + logged(b, reseeded), 1, 'one instance re-seeds it');
});

test('after Redis restarts, the full reload happens: a change made while the instance was away is served within seconds', async (t) => {
  const { redis, dir, instances } = await cluster(t, { instances: 1 });
  const [a] = instances as [Instance];
  const sales = TENANTS['example.com-sales']!;
  // Whether the read connection is back before the subscription (whose return starts the reload) is a
  // race: several restarts, each with its own change, so that a reload tried only once shows.
  for (const round of [1, 2, 3, 4]) {
    await redis.kill();
    // Another writer changes the config meanwhile: on a Redis of its own, saved where the real one restarts from.
    const away = await startRedis({ dir });
    const writer = new Redis(away.url);
    const text = `Changed while away ${round}`;
    await writeTenants(writer, { ...TENANTS, 'example.com-sales': { ...sales, branding: { ...sales.branding, button_text: text } } });
    await writer.save();
    await writer.quit();
    await away.kill();

    await redis.restart();
    const waited = await within(5_000, async () => (await branding(a, 'example.com-sales'))?.buttonText === text);
    t.log(`round ${round}: the change served ${waited} ms after Redis was back`);
  }
  t.deepEqual(await health(a), { status: 'ok', redis: 'ok', database: 'ok' });
});

test('/health says the config is stale while it cannot be reloaded after a reconnect', async (t) => {
  const { redis, instances } = await cluster(t, { instances: 1 });
  const [a] = instances as [Instance];
  const client = new Redis(redis.url);
  t.teardown(() => client.disconnect());
  const ids = redisKeys().ids;

  // A reload that keeps failing: the set of ids replaced by a string (SMEMBERS answers WRONGTYPE).
  await client.multi().del(ids).set(ids, 'not a set').exec();
  await client.client('KILL', 'TYPE', 'PUBSUB');
  await within(5_000, async () => (await health(a)).config === 'stale');
  const stale = await fetch(`${a.url}/health`);
  t.is(stale.status, 200, 'still serving: a load balancer must keep it');
  t.deepEqual(await stale.json(), { status: 'degraded', redis: 'ok', database: 'ok', config: 'stale' });
  t.like(await branding(a, 'example.com-sales'), { buttonText: 'Call us' }, 'from the copy in memory');

  // Repaired: the reload's retries pick it up.
  await client.multi().del(ids).sadd(ids, 'example.com-sales', 'example.com-sms').exec();
  await within(5_000, async () => (await health(a)).status === 'ok');
  t.deepEqual(await health(a), { status: 'ok', redis: 'ok', database: 'ok' });
});

test('an unreachable Redis stops start-up with a message naming it, password hidden', async (t) => {
  const { dir, sandbox } = await folderWithSandbox(t, 'beckon-redis-');
  const port = await freePort();
  const env = {
    REDIS_URL: `redis://:hunter2-password@127.0.0.1:${port}`,
    NS_API_BASE: sandbox.url,
    NS_TOKEN: sandbox.token,
    UPDATE_SECRET: SECRET,
    PORT: '0',
  };
  const run = await runCommand([], env, dir);
  t.is(run.code, 1);
  t.regex(run.stderr, /cannot start/);
  t.regex(run.stderr, new RegExp(`Redis at redis://:\\*\\*\\*@127\\.0\\.0\\.1:${port}.*\\(REDIS_URL\\) is unreachable`));
  t.false((run.stdout + run.stderr).includes('hunter2-password'));
});

test('import-config is all or nothing, --replace removes other ids, and both commands need REDIS_URL', async (t) => {
  const redis: RedisServer = await startRedis();
  const dir = await mkdtemp(join(tmpdir(), 'beckon-redis-'));
  t.teardown(async () => {
    await redis.kill();
    await rm(dir, { recursive: true, force: true });
  });
  const env = { REDIS_URL: redis.url };
  const file = join(dir, 'domains.json');

  await writeFile(
    file,
    JSON.stringify({ ...TENANTS, 'bad id!': { api_domain: 'x' }, 'example.net-x': { api_domain: 'example.net', queue: 'not a queue' } }),
  );
  const refused = await runCommand(['import-config', file], env, dir);
  t.is(refused.code, 1);
  t.regex(refused.stderr, /nothing imported, 2 invalid entries/);
  t.regex(refused.stderr, /example\.net-x: queue/);
  t.deepEqual(JSON.parse(await exportConfig(undefined, { env })), {});

  await writeFile(file, JSON.stringify(TENANTS));
  const imported = await runCommand(['import-config', file], env, dir);
  t.is(imported.code, 0, imported.stderr);
  t.regex(imported.stdout, /Imported 2 ids into Redis/);
  await writeFile(file, JSON.stringify({ 'example.com-sales': TENANTS['example.com-sales'] }));
  t.is((await runCommand(['import-config', file, '--replace'], env, dir)).code, 0);
  const exported = await runCommand(['export-config'], env, dir);
  t.deepEqual(Object.keys(JSON.parse(exported.stdout) as object), ['example.com-sales']);

  const unset = await runCommand(['export-config'], {}, dir);
  t.is(unset.code, 1);
  t.regex(unset.stderr, /REDIS_URL is required/);
  t.is((await runCommand(['import-config'], env, dir)).code, 2, 'a file is required: usage error');
});
