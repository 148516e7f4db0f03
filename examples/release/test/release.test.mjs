// The packages as users get them: `npm pack` of each (its prepack builds what it ships), installed from
// the tarballs into a project in a temporary folder outside the workspace — so nothing resolves to the
// repository's sources — then used: ns-client and its sandbox from plain Node ESM, and beckon-server
// started from the installed bin, answering /ready and serving the installed widget's bundle. The
// Dockerfile's steps are these same commands.
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import test from 'ava';

const run = promisify(execFile);
const ROOT = new URL('../../../', import.meta.url).pathname;
const PACKAGES = ['@beckon/ns-client', '@beckon/widget', '@beckon/server'];

let project;
let tarballs;

test.before(async () => {
  const packed = await mkdtemp(join(tmpdir(), 'beckon-packed-'));
  const { stdout } = await run(
    'npm',
    ['pack', '--json', '--pack-destination', packed, ...PACKAGES.flatMap((name) => ['--workspace', name])],
    { cwd: ROOT, maxBuffer: 64 * 1024 * 1024 },
  );
  // The prepack scripts print to stdout too: npm's JSON is the array starting on a line of its own.
  tarballs = JSON.parse(stdout.slice(stdout.search(/^\[$/m))).map((entry) => ({ ...entry, path: join(packed, entry.filename) }));
  project = await mkdtemp(join(tmpdir(), 'beckon-consumer-'));
  await writeFile(join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  // From the cache npm ci filled where it can; the registry for the rest.
  await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--omit=dev', ...tarballs.map((t) => t.path)], {
    cwd: project,
    maxBuffer: 64 * 1024 * 1024,
  });
});

test.after.always(async () => {
  if (project) await rm(project, { recursive: true, force: true });
  if (tarballs?.[0]) await rm(join(tarballs[0].path, '..'), { recursive: true, force: true });
});

test('each tarball ships its build, its LICENSE and its README, and no test or config of the repository', (t) => {
  for (const { name, files } of tarballs) {
    const paths = files.map((file) => file.path);
    for (const needed of ['LICENSE', 'README.md', 'package.json', 'dist/index.js']) t.true(paths.includes(needed), `${name}: ${needed}`);
    t.false(
      paths.some((path) => path.startsWith('test/') || path.endsWith('tsconfig.json') || path.endsWith('.tsbuildinfo')),
      `${name}: nothing of the repository's tooling`,
    );
  }
  const widget = tarballs.find((tarball) => tarball.name === '@beckon/widget').files.map((file) => file.path);
  for (const built of ['cdn/call-us-button.js', 'cdn/call-us-button.js.map', 'cdn/call-popup.js', 'custom-elements.json']) {
    t.true(widget.includes(built), `@beckon/widget: ${built}`);
  }
});

test("the widget's README pins its CDN bundles to the hashes of the files in the installed package", async (t) => {
  const installed = join(project, 'node_modules/@beckon/widget');
  const readme = await readFile(join(installed, 'README.md'), 'utf8');
  for (const file of ['cdn/call-us-button.js', 'cdn/call-popup.js']) {
    const hash = `sha384-${createHash('sha384')
      .update(await readFile(join(installed, file)))
      .digest('base64')}`;
    t.true(readme.includes(`/${file}"\n        integrity="${hash}"`), file);
  }
  const manifest = JSON.parse(await readFile(join(installed, 'package.json'), 'utf8'));
  t.is(manifest.unpkg, './cdn/call-us-button.js');
  t.is(manifest.jsdelivr, './cdn/call-us-button.js');
});

test('plain Node ESM: @beckon/ns-client and its sandbox, installed from the tarball', async (t) => {
  const script = join(project, 'client.mjs');
  await writeFile(
    script,
    `import { createNsClient } from '@beckon/ns-client';
     import { startNsSandbox } from '@beckon/ns-client/sandbox';
     const sandbox = await startNsSandbox();
     const ns = createNsClient({ baseUrl: sandbox.url, auth: { token: sandbox.token } });
     await ns.queuedCalls.create({ domain: 'example.com', queue: '9002', destination: '18135551234' });
     console.log(JSON.stringify({ calls: sandbox.calls.length }));
     await sandbox.close();`,
  );
  const { stdout } = await run(process.execPath, [script], { cwd: project });
  t.deepEqual(JSON.parse(stdout), { calls: 1 });
});

test('beckon-server from the installed bin: ready on the embedded database, serving the installed widget, stopping cleanly', async (t) => {
  const data = await mkdtemp(join(tmpdir(), 'beckon-release-data-'));
  t.teardown(() => rm(data, { recursive: true, force: true }));
  await writeFile(
    join(data, 'domains.json'),
    JSON.stringify({ 'example.com-sales': { api_domain: 'example.com', queue: '9002@example.com' } }),
  );
  const server = spawn(join(project, 'node_modules/.bin/beckon-server'), [], {
    cwd: project,
    env: {
      PATH: process.env.PATH,
      NS_API_BASE: 'http://127.0.0.1:9',
      NS_TOKEN: 'release-test',
      UPDATE_SECRET: 'release-test-update-secret',
      DATA_DIR: data,
      DOMAINS_FILE: join(data, 'domains.json'),
      PORT: '0',
      LOG_FORMAT: 'json',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  server.stderr.on('data', (chunk) => (output += chunk));
  const url = await new Promise((resolve, reject) => {
    server.stdout.on('data', (chunk) => {
      output += chunk;
      const listening = output.split('\n').find((line) => line.includes('beckon-server listening'));
      if (listening) resolve(JSON.parse(listening).url);
    });
    server.once('exit', (code) => reject(new Error(`beckon-server exited (${code}) before listening:\n${output}`)));
  });
  const ready = await fetch(`${url}/ready`);
  t.is(ready.status, 200);
  const bundle = await fetch(`${url}/widget/call-us-button.js`);
  t.is(bundle.status, 200);
  t.is(
    createHash('sha384')
      .update(Buffer.from(await bundle.arrayBuffer()))
      .digest('base64'),
    createHash('sha384')
      .update(await readFile(join(project, 'node_modules/@beckon/widget/cdn/call-us-button.js')))
      .digest('base64'),
    'the bundle of the installed @beckon/widget',
  );
  const exited = new Promise((resolve) => server.once('exit', (code) => resolve(code)));
  server.kill('SIGTERM');
  t.is(await exited, 0);
});
