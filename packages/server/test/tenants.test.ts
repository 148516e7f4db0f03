import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, open, readdir, readFile, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import test from 'ava';
import { createLogger, openFileTenantStore, parseTenants } from '../src/index.js';
import { lockKey } from '../src/tenants/file-store.js';
import { eventually } from './eventually.js';

const run = promisify(execFile);

async function tempFile(t: { teardown(fn: () => Promise<void>): void }, content?: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'beckon-store-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'domains.json');
  if (content !== undefined) await writeFile(file, content);
  return file;
}

const quiet = () => createLogger('silent');

/**
 * How long a change on disk may take to be served here. A reload is read in a worker thread, which from the
 * TypeScript source registers tsx and compiles the schema first: seconds on a busy machine, the first time.
 */
const RELOAD_MS = 10_000;

/** A logger whose lines the test can read. */
function recorded(): { logger: ReturnType<typeof createLogger>; messages: () => string[] } {
  const lines: string[] = [];
  const logger = createLogger('info', { write: (line: string) => lines.push(line) } as unknown as NodeJS.WritableStream);
  return { logger, messages: () => lines.map((line) => (JSON.parse(line) as { msg: string }).msg) };
}

/** Two good ids and one that does not fit the schema (left out of service, but part of the file). */
const withLeftOut = {
  'a.com-x': { api_domain: 'a.com', queue: '1@a.com' },
  'b.com-x': { api_domain: 'b.com', custom: 'kept' },
  'bad.com-x': { api_domain: 'bad domain', queue: '2@bad.com' },
};

test('a missing file starts empty and the first update creates it', async (t) => {
  const file = await tempFile(t);
  const store = await openFileTenantStore({ path: file, logger: quiet() });
  t.teardown(() => store.close());
  t.is(store.size(), 0);
  await store.update('a.com-x', () => ({ api_domain: 'a.com' }));
  t.deepEqual(JSON.parse(await readFile(file, 'utf8')), { 'a.com-x': { api_domain: 'a.com' } });
});

test('a file that is not JSON stops start-up with the reason', async (t) => {
  const file = await tempFile(t, '{ "a.com-x": ');
  const error = await t.throwsAsync(openFileTenantStore({ path: file, logger: quiet() }));
  t.regex(error?.message ?? '', /domains\.json cannot be used/);
});

test('an invalid entry is left out and reported; the others are served', (t) => {
  const { tenants, rejected } = parseTenants(
    JSON.stringify({
      'good.com-x': { api_domain: 'good.com', queue: '1@good.com' },
      'bad.com-x': { api_domain: 'bad domain' },
      'bad id': { api_domain: 'x.com' },
    }),
  );
  t.deepEqual(Object.keys(tenants), ['good.com-x']);
  t.deepEqual(rejected.map((entry) => entry.id).sort(), ['bad id', 'bad.com-x']);
  t.regex(rejected.find((entry) => entry.id === 'bad.com-x')?.reason ?? '', /api_domain/);
});

test('hand edits with control characters in branding, or . and .. as users, are left out; a message may break lines', (t) => {
  const base = { api_domain: 'example.com', queue: '9002@example.com' };
  const { tenants, rejected } = parseTenants(
    JSON.stringify({
      'a.com-tab': { ...base, branding: { button_text: 'Call\tus' } },
      'a.com-c1': { ...base, branding: { company_name: 'Acme\u0085Inc' } },
      'a.com-dot': { ...base, user: '..' },
      'a.com-system': { ...base, ns_system_user: '.' },
      'a.com-ok': { ...base, message: 'Open 9-5.\r\nClosed Sundays.', user: '2000.1' },
    }),
  );
  t.deepEqual(Object.keys(tenants), ['a.com-ok']);
  t.deepEqual(
    rejected.map(({ id }) => id),
    ['a.com-tab', 'a.com-c1', 'a.com-dot', 'a.com-system'],
  );
});

test('an edit on disk is picked up without a restart; a broken edit keeps the last good config', async (t) => {
  const file = await tempFile(t, JSON.stringify({ 'a.com-x': { api_domain: 'a.com' } }));
  const lines: string[] = [];
  const logger = createLogger('info', { write: (line: string) => lines.push(line) } as unknown as NodeJS.WritableStream);
  const store = await openFileTenantStore({ path: file, logger });
  t.teardown(() => store.close());
  await writeFile(file, JSON.stringify({ 'a.com-x': { api_domain: 'a.com', queue: '7@a.com' } }));
  t.true(await eventually(() => store.get('a.com-x')?.queue === '7@a.com', RELOAD_MS));
  await writeFile(file, '{ broken');
  t.true(await eventually(() => lines.some((line) => line.includes('keeping the last good config')), RELOAD_MS));
  t.is(store.get('a.com-x')?.queue, '7@a.com');
});

test('a form post while domains.json is missing (moved away mid-edit) writes from the last good config, not from empty', async (t) => {
  const file = await tempFile(t, JSON.stringify(withLeftOut));
  const { logger, messages } = recorded();
  const store = await openFileTenantStore({ path: file, logger });
  t.teardown(() => store.close());
  await rename(file, `${file}.editing`);
  await store.update('c.com-x', () => ({ api_domain: 'c.com' }));
  t.deepEqual(
    JSON.parse(await readFile(file, 'utf8')),
    { ...withLeftOut, 'c.com-x': { api_domain: 'c.com' } },
    'every id of the last good file, the left-out one too, plus the post',
  );
  t.true(messages().includes('config file is missing: writing from the last good config'));
  t.is(store.get('a.com-x')?.queue, '1@a.com');
});

test('while domains.json is missing, reads keep serving the last good config', async (t) => {
  const file = await tempFile(t, JSON.stringify(withLeftOut));
  const { logger, messages } = recorded();
  const store = await openFileTenantStore({ path: file, logger });
  t.teardown(() => store.close());
  await rename(file, `${file}.editing`);
  t.true(
    await eventually(() => messages().includes('config file is missing: keeping the last good config'), RELOAD_MS),
    'the missing file is noticed and logged',
  );
  t.is(store.get('a.com-x')?.queue, '1@a.com');
  t.is(store.size(), 2);
  // The edited file put back is served as usual.
  await writeFile(`${file}.editing`, JSON.stringify({ 'a.com-x': { api_domain: 'a.com', queue: '3@a.com' } }));
  await rename(`${file}.editing`, file);
  t.true(await eventually(() => store.get('a.com-x')?.queue === '3@a.com', RELOAD_MS));
});

test('a form post while domains.json is broken keeps the entries that were left out of service', async (t) => {
  const file = await tempFile(t, JSON.stringify(withLeftOut));
  const store = await openFileTenantStore({ path: file, logger: quiet() });
  t.teardown(() => store.close());
  await writeFile(file, '{ "a.com-x": ');
  await store.update('c.com-x', () => ({ api_domain: 'c.com' }));
  t.deepEqual(JSON.parse(await readFile(file, 'utf8')), { ...withLeftOut, 'c.com-x': { api_domain: 'c.com' } });
});

test('the copy of a broken domains.json kept aside on a form post has mode 0600, and the exact bytes', async (t) => {
  const previous = process.umask(0o022);
  t.teardown(() => void process.umask(previous));
  const file = await tempFile(t, JSON.stringify(withLeftOut));
  const store = await openFileTenantStore({ path: file, logger: quiet() });
  t.teardown(() => store.close());
  const broken = Buffer.from([...Buffer.from('{ "a.com-x": "caf'), 0xe9, ...Buffer.from('" ')]);
  await writeFile(file, broken);
  await store.update('c.com-x', () => ({ api_domain: 'c.com' }));
  const kept = (await readdir(join(file, '..'))).filter((name) => name.startsWith('domains.json.broken-'));
  t.is(kept.length, 1);
  const copy = join(file, '..', kept[0]!);
  t.is((await stat(copy)).mode & 0o777, 0o600);
  t.deepEqual(await readFile(copy), broken, 'byte for byte, even bytes that are not UTF-8');
});

test('a domains.json emptied or cut short by an editor writing in place keeps the last good config in service', async (t) => {
  const good = JSON.stringify(withLeftOut, null, 2);
  const file = await tempFile(t, good);
  const { logger, messages } = recorded();
  const store = await openFileTenantStore({ path: file, logger });
  t.teardown(() => store.close());
  const broken = () => messages().filter((message) => message === 'config file is broken: keeping the last good config').length;
  await writeFile(file, '');
  t.true(await eventually(() => broken() >= 1, RELOAD_MS), 'an empty file is not taken as "no ids"');
  t.is(store.size(), 2);
  // An in-place write can be seen twice, truncated and then written (on a loaded machine, more than the
  // watcher's 20 ms apart): a count, not an exact number, of reloads that found the file broken.
  const before = broken();
  await writeFile(file, good.slice(0, good.length / 2));
  t.true(await eventually(() => broken() > before, RELOAD_MS), 'nor is half a file');
  t.is(store.size(), 2);
  t.is(store.get('b.com-x')?.custom, 'kept');
});

// Serial: the test files' stores share one worker, which remembers only the file it checked last.
test.serial('an edit on disk is applied as what changed: the untouched entries stay the very objects in service', async (t) => {
  const file = await tempFile(
    t,
    JSON.stringify({ 'a.com-x': { api_domain: 'a.com' }, 'b.com-x': { api_domain: 'b.com' }, 'c.com-x': { api_domain: 'c.com' } }),
  );
  const store = await openFileTenantStore({ path: file, logger: quiet() });
  t.teardown(() => store.close());
  const kept = JSON.stringify({ 'a.com-x': { api_domain: 'a.com' } }).slice(1, -1);
  await writeFile(file, `{${kept}, "b.com-x": {"api_domain": "b.com", "queue": "1@b.com"}, "c.com-x": {"api_domain": "c.com"}}`);
  t.true(await eventually(() => store.get('b.com-x')?.queue === '1@b.com', RELOAD_MS));
  const untouched = store.get('a.com-x');
  // Whatever the first reload was, the copy in service is now the outcome of the worker's last check.
  await writeFile(file, `{${kept}, "b.com-x": {"api_domain": "b.com", "queue": "2@b.com"}, "d.com-x": {"api_domain": "d.com"}}`);
  t.true(await eventually(() => store.get('b.com-x')?.queue === '2@b.com', RELOAD_MS));
  t.is(store.get('a.com-x'), untouched, 'an entry the edit left alone is not replaced');
  t.is(store.get('c.com-x'), undefined, 'an entry removed from the file is removed from service');
  t.is(store.get('d.com-x')?.api_domain, 'd.com');
  t.is(store.size(), 3);
  t.deepEqual(store.ids().sort(), ['a.com-x', 'b.com-x', 'd.com-x']);
});

test.serial('an edit applied as what changed still checks each edited entry: one edited into a bad one leaves service', async (t) => {
  const file = await tempFile(t, JSON.stringify(withLeftOut));
  const lines: string[] = [];
  const logger = createLogger('info', { write: (line: string) => lines.push(line) } as unknown as NodeJS.WritableStream);
  const leftOut = () =>
    lines
      .map((line) => JSON.parse(line) as { msg: string; id?: string })
      .filter((line) => line.msg === 'config entry left out')
      .map((line) => line.id);
  const store = await openFileTenantStore({ path: file, logger });
  t.teardown(() => store.close());
  const edit = (entries: object) => writeFile(file, JSON.stringify({ ...withLeftOut, ...entries }));
  await edit({ 'c.com-x': { api_domain: 'c.com' } });
  t.true(await eventually(() => store.get('c.com-x') !== undefined, RELOAD_MS));
  const a = store.get('a.com-x');
  const before = leftOut().length;
  // b.com-x edited into an entry the schema refuses; bad.com-x, refused before, is left as it was.
  await edit({ 'c.com-x': { api_domain: 'c.com' }, 'b.com-x': { api_domain: 'not a domain' } });
  t.true(await eventually(() => store.get('b.com-x') === undefined, RELOAD_MS), 'an entry edited into a bad one leaves service');
  t.is(store.get('a.com-x'), a);
  t.is(store.get('bad.com-x'), undefined, 'an entry refused before and not edited is still refused');
  t.deepEqual(leftOut().slice(before).sort(), ['b.com-x', 'bad.com-x'], 'every entry left out is reported, as at start-up');
  t.is(store.size(), 2);
  // Mended: back in service.
  await edit({ 'c.com-x': { api_domain: 'c.com' }, 'b.com-x': { api_domain: 'b.com', custom: 'mended' } });
  t.true(await eventually(() => store.get('b.com-x')?.custom === 'mended', RELOAD_MS));
  t.is(store.size(), 3);
});

test('a reloaded file is checked entry by entry as at start-up: an invalid entry is left out and logged, the others served', async (t) => {
  const file = await tempFile(t, JSON.stringify({ 'a.com-x': { api_domain: 'a.com' } }));
  const lines: string[] = [];
  const logger = createLogger('info', { write: (line: string) => lines.push(line) } as unknown as NodeJS.WritableStream);
  const store = await openFileTenantStore({ path: file, logger });
  t.teardown(() => store.close());
  await writeFile(file, JSON.stringify(withLeftOut));
  t.true(await eventually(() => store.get('b.com-x')?.custom === 'kept', RELOAD_MS));
  t.is(store.get('bad.com-x'), undefined);
  t.is(store.size(), 2);
  const leftOut = lines
    .map((line) => JSON.parse(line) as { msg: string; id?: string; reason?: string })
    .find((line) => line.msg === 'config entry left out');
  t.is(leftOut?.id, 'bad.com-x');
  t.regex(leftOut?.reason ?? '', /api_domain/);
});

test('form posts racing edits on disk end with the newest content in the file and in service', async (t) => {
  const file = await tempFile(t, JSON.stringify({ 'a.com-x': { api_domain: 'a.com', queue: '0@a.com' } }));
  const store = await openFileTenantStore({ path: file, logger: quiet() });
  t.teardown(() => store.close());
  for (let round = 1; round <= 10; round++) {
    // An edit on disk (which starts a reload), then at once a form post on the same id: the post reads the
    // edited file under its lock, so both must survive; no reload that read before the post may undo it.
    const edit = writeFile(
      file,
      JSON.stringify({ 'a.com-x': { api_domain: 'a.com', queue: `${round}@a.com` }, [`e.com-${round}`]: { api_domain: 'e.com' } }),
    );
    await edit;
    await store.update('a.com-x', (current) => ({ ...current, company: `round ${round}` }));
  }
  const onDisk = JSON.parse(await readFile(file, 'utf8')) as Record<string, { queue?: string; company?: string }>;
  t.deepEqual(onDisk['a.com-x'], { api_domain: 'a.com', queue: '10@a.com', company: 'round 10' });
  t.truthy(onDisk['e.com-10']);
  const served = () =>
    store.get('a.com-x')?.company === 'round 10' && store.get('a.com-x')?.queue === '10@a.com' && store.get('e.com-10') !== undefined;
  t.true(await eventually(served, RELOAD_MS), 'the copy in service follows the file');
  // Reloads still in flight (the watcher's, the posts' own) settle without bringing an older copy back.
  await new Promise((resolve) => setTimeout(resolve, 500));
  t.true(served());
  t.is(store.get('e.com-9'), undefined, 'the file written last is the one served: no entry of an older edit');
});

test('updates write atomically, leave no temp or lock files, and keep other ids', async (t) => {
  const file = await tempFile(t, JSON.stringify({ 'keep.com-x': { api_domain: 'keep.com', custom: 'kept' } }));
  const store = await openFileTenantStore({ path: file, logger: quiet() });
  t.teardown(() => store.close());
  await Promise.all(Array.from({ length: 20 }, (_, index) => store.update(`n.com-${index}`, () => ({ api_domain: 'n.com' }))));
  const saved = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
  t.is(Object.keys(saved).length, 21);
  t.deepEqual(saved['keep.com-x'], { api_domain: 'keep.com', custom: 'kept' }, 'fields Beckon does not know are kept');
  t.deepEqual((await readdir(join(file, '..'))).sort(), ['domains.json']);
});

test('a lock left by a dead process is taken over', async (t) => {
  const file = await tempFile(t, '{}');
  await writeFile(`${file}.lock`, '999999');
  const store = await openFileTenantStore({ path: file, logger: quiet(), lockTimeoutMs: 2_000 });
  t.teardown(() => store.close());
  await store.update('a.com-x', () => ({ api_domain: 'a.com' }));
  t.truthy(JSON.parse(await readFile(file, 'utf8'))['a.com-x']);
});

test('a lock older than the stale time is taken over even when its process is alive', async (t) => {
  const file = await tempFile(t, '{}');
  await writeFile(`${file}.lock`, String(process.pid));
  const old = new Date(Date.now() - 60_000);
  await utimes(`${file}.lock`, old, old);
  const store = await openFileTenantStore({ path: file, logger: quiet(), lockTimeoutMs: 2_000 });
  t.teardown(() => store.close());
  await store.update('a.com-x', () => ({ api_domain: 'a.com' }));
  t.truthy(JSON.parse(await readFile(file, 'utf8'))['a.com-x']);
  t.deepEqual((await readdir(join(file, '..'))).sort(), ['domains.json']);
});

test('a write whose lock was taken over while it ran (held past the stale time) is refused, not saved over the new holder’s', async (t) => {
  const file = await tempFile(t, JSON.stringify({ 'a.com-x': { api_domain: 'a.com' } }));
  const lock = `${file}.lock`;
  const taker = `${process.ppid}\nanother-process\n`;
  const store = await openFileTenantStore({ path: file, logger: quiet() });
  t.teardown(() => store.close());
  const error = await t.throwsAsync(
    store.update('a.com-x', (current) => {
      // While this write runs (frozen past the stale time, say), another process takes the lock over and saves its post.
      writeFileSync(lock, taker);
      writeFileSync(file, JSON.stringify({ 'a.com-x': { api_domain: 'a.com' }, 'b.com-x': { api_domain: 'b.com' } }));
      return { ...current!, queue: '1@a.com' };
    }),
  );
  t.is(error?.name, 'TenantStoreBusyError');
  t.deepEqual(
    JSON.parse(await readFile(file, 'utf8')),
    { 'a.com-x': { api_domain: 'a.com' }, 'b.com-x': { api_domain: 'b.com' } },
    'the other process’s write stands',
  );
  t.is(readFileSync(lock, 'utf8'), taker, 'the other process’s lock is left in place');
});

test('a lock takeover left half-done by a process that died (its claim on the stale lock left behind) does not block writes', async (t) => {
  const file = await tempFile(t, '{}');
  const lock = `${file}.lock`;
  const { stdout: dead } = await run(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
  await writeFile(lock, `${dead}\n`);
  const handle = await open(lock);
  const key = lockKey(await handle.stat({ bigint: true }), await handle.readFile('utf8'));
  await handle.close();
  // A taker claims a stale lock by creating `domains.json.lock.takeover-<key of that lock>`; this one died holding it.
  await writeFile(`${lock}.takeover-${key}`, `${dead}\n`);
  const store = await openFileTenantStore({ path: file, logger: quiet(), lockTimeoutMs: 2_000 });
  t.teardown(() => store.close());
  await store.update('a.com-x', () => ({ api_domain: 'a.com' }));
  t.truthy(JSON.parse(await readFile(file, 'utf8'))['a.com-x']);
  t.deepEqual((await readdir(join(file, '..'))).sort(), ['domains.json'], 'the lock and the dead claim are gone');
});

test('a lock held by a live process makes an update wait, then fail with a busy error', async (t) => {
  const file = await tempFile(t, '{}');
  await writeFile(`${file}.lock`, String(process.pid));
  const store = await openFileTenantStore({ path: file, logger: quiet(), lockTimeoutMs: 200 });
  t.teardown(() => store.close());
  const error = await t.throwsAsync(store.update('a.com-x', () => ({ api_domain: 'a.com' })));
  t.is(error?.name, 'TenantStoreBusyError');
  t.deepEqual(JSON.parse(await readFile(file, 'utf8')), {});
});

test('three processes updating one file concurrently lose nothing', async (t) => {
  const file = await tempFile(t, JSON.stringify({ 'keep.com-x': { api_domain: 'keep.com' } }));
  const writer = new URL('./fixtures/store-writer.ts', import.meta.url).pathname;
  const node = ['--import=tsx', '--conditions=@beckon/source', writer, file];
  await Promise.all(['a', 'b', 'c'].map((name) => run(process.execPath, [...node, name, '40'])));
  const saved = JSON.parse(await readFile(file, 'utf8')) as Record<string, Record<string, string>>;
  let fields = 0;
  for (let group = 0; group < 5; group++) fields += Object.keys(saved[`shared.com-${group}`] ?? {}).length - 1;
  t.is(fields, 120, 'every one of the 3 × 40 updates is on disk');
  t.truthy(saved['keep.com-x']);
});
