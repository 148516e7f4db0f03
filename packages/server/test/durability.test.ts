// domains.json under real processes: two servers sharing it under a burst of form posts, a writer killed
// mid-write again and again, writers racing to take over a stale lock, and a file broken by hand under a
// running server.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { readdir, readFile, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import test, { type ExecutionContext } from 'ava';
import { type NsSandbox } from '@beckon/ns-client/sandbox';
import { parseTenants } from '../src/index.js';
import { eventually } from './eventually.js';
import { databaseFixture } from './fixtures/databases.js';
import { copyEmptyPglite } from '../../../examples/shared/pglite-template.mjs';
import { folderWithSandbox, SECRET } from './helpers.js';
import { staleBuild, startServerProcess, type ServerProcess } from './server-process.js';

const databases = databaseFixture(test);

async function workspace(t: ExecutionContext, tenants: unknown): Promise<{ dir: string; file: string; sandbox: NsSandbox }> {
  const { dir, sandbox } = await folderWithSandbox(t, 'beckon-durability-');
  const file = join(dir, 'domains.json');
  await writeFile(file, JSON.stringify(tenants, null, 2));
  return { dir, file, sandbox };
}

async function server(
  t: ExecutionContext,
  dir: string,
  file: string,
  sandbox: NsSandbox,
  env: Record<string, string> = {},
): Promise<ServerProcess> {
  const running = await startServerProcess(
    { NS_API_BASE: sandbox.url, NS_TOKEN: sandbox.token, UPDATE_SECRET: SECRET, DOMAINS_FILE: file, ...env },
    dir,
  );
  t.teardown(() => running.kill());
  return running;
}

const widgetConfig = async (process: ServerProcess, id: string) => {
  const response = await fetch(`${process.url}/widget-config?id=${encodeURIComponent(id)}`);
  return response.status === 200 ? ((await response.json()) as Record<string, string>) : undefined;
};

test('two processes sharing domains.json take 144 concurrent form posts: every update is on disk and served by both', async (t) => {
  const stale = staleBuild();
  if (stale) return t.fail(stale);
  const { dir, file, sandbox } = await workspace(t, { 'keep.com-x': { api_domain: 'keep.com', custom: 'kept' } });
  // Two processes need a database server to share (the embedded one serves one process).
  const { databaseUrl } = await databases.settings(t, 'postgres');
  const shared = { DATABASE_URL: databaseUrl! };
  const processes = [await server(t, dir, file, sandbox, shared), await server(t, dir, file, sandbox, shared)];

  // 24 ids; each gets five click-to-call posts (one field each) and one SMS post, in a random order,
  // split at random between the two processes, all at once. Every (id, field) is written exactly once.
  const ids = Array.from({ length: 24 }, (_, index) => `load${index}.com-x`);
  const expected = new Map<string, Record<string, unknown>>();
  const posts: { path: string; fields: Record<string, string> }[] = [];
  for (const [index, id] of ids.entries()) {
    const branding = {
      button_text: `Call ${index}`,
      button_color: `#00${String(index).padStart(2, '0')}ff`,
      company_name: `Company ${index}`,
      logo_url: `https://load${index}.com/logo.png`,
    };
    const sms = {
      user: `20${index}`,
      ns_system_user: `80${index}`,
      from_number: `1929555${String(index).padStart(4, '0')}`,
      message: `Text ${index}`,
    };
    // The SMS post's provisioning gives NetSapiens the signed /webresponder URL, and the id is marked so.
    expected.set(id, { api_domain: `load${index}.com`, queue: `9${index}@load${index}.com`, branding, ...sms, webresponder_signed: true });
    for (const [name, value] of [['queue', `9${index}`], ...Object.entries(branding)] as [string, string][]) {
      posts.push({ path: '/update-domain', fields: { id, api_domain: `load${index}.com`, [name]: value } });
    }
    posts.push({ path: '/update-sms', fields: { id, api_domain: `load${index}.com`, ...sms } });
  }
  posts.sort(() => Math.random() - 0.5);
  const started = performance.now();
  const statuses = await Promise.all(
    posts.map(async ({ path, fields }) => {
      const target = processes[Math.random() < 0.5 ? 0 : 1]!;
      const response = await fetch(target.url + path, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-update-secret': SECRET },
        body: new URLSearchParams(fields).toString(),
      });
      await response.arrayBuffer();
      return response.status;
    }),
  );
  const elapsed = performance.now() - started;
  t.deepEqual(
    statuses.filter((status) => status !== 200),
    [],
    'every post was taken',
  );

  const saved = JSON.parse(await readFile(file, 'utf8')) as Record<string, Record<string, unknown>>;
  for (const [id, entry] of expected) t.deepEqual(saved[id], entry, `${id}: every field of its six posts is on disk`);
  t.deepEqual(saved['keep.com-x'], { api_domain: 'keep.com', custom: 'kept' }, 'an id nobody posted to is untouched');
  t.deepEqual(
    (await readdir(dir)).filter((name) => name.startsWith('domains.json')),
    ['domains.json'],
    'no lock or temp file left behind',
  );

  // Each process serves what the other wrote, once its file watch has reloaded.
  for (const [index, running] of processes.entries()) {
    for (const [id, entry] of expected) {
      const branding = entry.branding as Record<string, string>;
      const want = {
        id,
        buttonText: branding.button_text,
        buttonColor: branding.button_color,
        companyName: branding.company_name,
        logoUrl: branding.logo_url,
        // A server process keeps a database, and these ids have a queue: they take bookings.
        scheduling: true,
      };
      let got: Record<string, string> | undefined;
      const served = await eventually(async () => {
        got = await widgetConfig(running, id);
        return JSON.stringify(got) === JSON.stringify(want);
      }, 5_000);
      t.true(served, `process ${index + 1} serves ${id}: got ${JSON.stringify(got)}`);
    }
  }
  t.false(
    processes.some((running) => running.logs.some((line) => line.level >= 50)),
    'nothing logged at error level',
  );
  t.log(`${posts.length} posts across 2 processes in ${Math.round(elapsed)} ms; ${sandbox.requests.length} NS requests for provisioning`);
});

test('a writer SIGKILLed again and again mid-write never leaves a domains.json that fails to parse', async (t) => {
  const { dir, file } = await workspace(t, { 'keep.com-x': { api_domain: 'keep.com' } });
  const writer = new URL('./fixtures/store-writer.ts', import.meta.url).pathname;
  const node = [`--import=${import.meta.resolve('tsx')}`, '--conditions=@beckon/source', writer, file];
  const lock = `${file}.lock`;
  const kills = 6;
  let midWrite = 0;
  let previous = await readFile(file, 'utf8');
  let changed = 0;
  for (let round = 0; round < kills; round++) {
    const child = spawn(process.execPath, [...node, `w${round}`, '100000'], { cwd: dir, stdio: 'ignore' });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
    t.teardown(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    // Wait for the writer to hold the lock (it is writing), let it write for a while, then kill it
    // somewhere in its read, write, fsync, rename, unlock cycle.
    // (A lock left by the writer killed before holds that one's pid.) The pid is the lock's first line.
    const holds = () => readFileSync(lock, { encoding: 'utf8', flag: 'r' }).split('\n')[0] === String(child.pid);
    const holding = () => {
      try {
        return holds();
      } catch {
        return false;
      }
    };
    // Its start (tsx compiling the store) takes seconds on a loaded machine.
    t.true(await eventually(holding, 40_000), `round ${round}: the writer started writing`);
    await sleep(Math.random() * 250);
    if (holding()) midWrite += 1;
    child.kill('SIGKILL');
    t.is(await exited, 'SIGKILL');
    const text = await readFile(file, 'utf8');
    let parsed: unknown;
    t.notThrows(() => (parsed = JSON.parse(text)), `round ${round}: domains.json parses after the kill`);
    const { rejected } = parseTenants(text);
    t.deepEqual(rejected, [], `round ${round}: every entry is still valid`);
    t.truthy((parsed as Record<string, unknown>)['keep.com-x'], `round ${round}: nothing was lost`);
    if (text !== previous) changed += 1;
    previous = text;
  }
  // A lock left by a killed writer does not stop the next one: a last, unkilled writer finishes.
  const last = spawn(process.execPath, [...node, 'final', '25'], { cwd: dir, stdio: 'ignore' });
  const code = await new Promise<number | null>((resolve) => last.on('exit', resolve));
  t.is(code, 0);
  const saved = JSON.parse(await readFile(file, 'utf8')) as Record<string, Record<string, string>>;
  let fields = 0;
  for (let group = 0; group < 5; group++)
    fields += Object.keys(saved[`shared.com-${group}`] ?? {}).filter((name) => name.startsWith('final_')).length;
  t.is(fields, 25, 'every update of the last writer is on disk');
  t.false(existsSync(lock), 'the lock is released');
  t.log(`${kills} kills, ${midWrite} with the lock held, the file changed in ${changed} rounds`);
  t.deepEqual(
    (await readdir(dir)).filter((name) => name.endsWith('.tmp') || name.includes('.takeover-')),
    [],
    'the temp files (and any lock takeover claims) of killed writers are cleaned up by the next one',
  );
  t.true(midWrite >= kills / 2, 'most kills landed while a write was under way');
  t.true(changed >= kills / 2, 'writes completed between the kills: the kills hit a file being rewritten');
});

/** A store-writer process in `--stdin` mode: `ask` sends it one `<id> <field>` line and resolves with its answer. */
async function stdinWriter(t: ExecutionContext, file: string, name: string): Promise<(line: string) => Promise<string>> {
  const writer = new URL('./fixtures/store-writer.ts', import.meta.url).pathname;
  const child = spawn(
    process.execPath,
    [`--import=${import.meta.resolve('tsx')}`, '--conditions=@beckon/source', writer, file, name, '--stdin'],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const waiting: ((line: string) => void)[] = [];
  createInterface({ input: child.stdout }).on('line', (line) => waiting.shift()?.(line));
  // Generous: six writers starting at once (each compiling the store with tsx) on a loaded machine take
  // long; the failure this guards against is a writer that never answers.
  const next = (ms = 20_000) =>
    new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`writer ${name} did not answer within ${ms / 1000} s`)), ms);
      waiting.push((line) => {
        clearTimeout(timer);
        resolve(line);
      });
    });
  if ((await next(60_000)) !== 'ready') throw new Error(`writer ${name} did not start`);
  return (line) => {
    const answer = next();
    child.stdin.write(`${line}\n`);
    return answer;
  };
}

/** The pid of a process that has exited: a lock holding it is one left by a crash. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
  await new Promise((resolve) => child.on('exit', resolve));
  return child.pid!;
}

test('writers that find the same stale lock at the same moment take it over one at a time: no field is lost', async (t) => {
  const { dir, file } = await workspace(t, { 'keep.com-x': { api_domain: 'keep.com' } });
  const lock = `${file}.lock`;
  const names = ['a', 'b', 'c', 'd', 'e', 'f'];
  const writers = await Promise.all(names.map((name) => stdinWriter(t, file, name)));
  const dead = await deadPid();
  const rounds = 20;
  const expected: [id: string, field: string, name: string][] = [];
  const roundsWithLoss: number[] = [];
  for (let round = 0; round < rounds; round++) {
    // Each round starts from a lock left by a crash: a dead owner (the fast takeover), or every other round
    // an owner that is alive but whose lock is a minute old (held past the 10 s stale time).
    if (round % 2 === 0) await writeFile(lock, `${dead}\n`);
    else {
      await writeFile(lock, `${process.pid}\n`);
      const minuteAgo = new Date(Date.now() - 60_000);
      await utimes(lock, minuteAgo, minuteAgo);
    }
    // Half the writers set a field each of one shared id, the others each their own id; all at once.
    const lines = names.map(
      (name, index) => (index % 2 === 0 ? ['race.com-shared', `${name}${round}`] : [`race${index}.com-x`, `r${round}`]) as [string, string],
    );
    const answers = await Promise.all(writers.map((ask, index) => ask(lines[index]!.join(' '))));
    t.deepEqual(
      answers,
      names.map(() => 'ok'),
      `round ${round}: every update was taken`,
    );
    const saved = JSON.parse(await readFile(file, 'utf8')) as Record<string, Record<string, string>>;
    if (lines.some(([id, field], index) => saved[id]?.[field] !== names[index])) roundsWithLoss.push(round);
    for (const [index, [id, field]] of lines.entries()) expected.push([id, field, names[index]!]);
  }
  const saved = JSON.parse(await readFile(file, 'utf8')) as Record<string, Record<string, string>>;
  const lost = expected.filter(([id, field, name]) => saved[id]?.[field] !== name).map(([id, field]) => `${id}.${field}`);
  t.deepEqual(
    lost,
    [],
    `every field of the ${expected.length} updates is on disk (fields were lost in rounds ${roundsWithLoss.join(', ')})`,
  );
  t.truthy(saved['keep.com-x'], 'an id nobody posted to is kept');
  t.deepEqual(
    (await readdir(dir)).filter((name) => name !== 'domains.json'),
    [],
    'no lock, takeover or temp file left behind',
  );
  t.log(`${rounds} rounds of ${names.length} writers racing for a stale lock; fields lost in ${roundsWithLoss.length} rounds`);
});

test('a domains.json broken by hand leaves the running server on its last good config; a form post then writes from it', async (t) => {
  const stale = staleBuild();
  if (stale) return t.fail(stale);
  const good = { 'good.com-x': { api_domain: 'good.com', queue: '1@good.com', branding: { button_text: 'Good' } } };
  const { dir, file, sandbox } = await workspace(t, good);
  await copyEmptyPglite(join(dir, 'data/pglite'));
  const running = await server(t, dir, file, sandbox);
  await writeFile(file, '{ "good.com-x": { "api_domain": ');
  t.true(
    await eventually(() => running.logs.some((line) => line.msg === 'config file is broken: keeping the last good config'), 5_000),
    'the broken file is noticed and logged',
  );
  t.deepEqual(
    await widgetConfig(running, 'good.com-x'),
    { id: 'good.com-x', buttonText: 'Good', scheduling: true },
    'the last good config is still served',
  );

  const response = await fetch(`${running.url}/update-domain`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-update-secret': SECRET },
    body: new URLSearchParams({ id: 'new.com-x', api_domain: 'new.com', button_text: 'New' }).toString(),
  });
  t.is(response.status, 200);
  const saved = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
  t.deepEqual(Object.keys(saved).sort(), ['good.com-x', 'new.com-x'], 'written from the last good config plus the post');
  const kept = (await readdir(dir)).filter((name) => name.startsWith('domains.json.broken-'));
  t.is(kept.length, 1, 'the broken file is kept beside for the operator');
  t.is(await readFile(join(dir, kept[0]!), 'utf8'), '{ "good.com-x": { "api_domain": ');
  t.deepEqual(await widgetConfig(running, 'new.com-x'), { id: 'new.com-x', buttonText: 'New', scheduling: false }, 'no queue: no bookings');

  // A good hand edit afterwards is served again, without a restart.
  await writeFile(file, JSON.stringify({ ...saved, 'later.com-x': { api_domain: 'later.com' } }));
  t.true(await eventually(async () => (await widgetConfig(running, 'later.com-x')) !== undefined, 5_000), 'a fixed file is picked up');
});
