// The packages as users get them: `npm pack` of each (its prepack builds what it ships), installed from
// the tarballs into a project in a temporary folder outside the workspace — so nothing resolves to the
// repository's sources — then used. The project is a copy of `consumer/`, a user's project with its
// frameworks pinned; one `npm install` adds the tarballs and the frameworks from the registry. Then:
// ns-client and its sandbox from plain Node ESM; beckon-server from the installed bin; a Koa host mounting
// Beckon's router, compiled by tsc (strict, skipLibCheck off) and serving requests; React 19 TSX checked
// with the shipped typings (and mistakes refused); a Vue 3 SFC checked by vue-tsc; a Vite build of three
// pages (plain, React, Vue) rendered in Chromium against the Koa host; the README's CDN lines loaded
// with their integrity hashes. The READMEs' snippets are the consumer's files (see readme-snippets
// below), so a snippet that drifts from what runs here fails. The Dockerfile's steps are these same
// commands. The tests run in order (test.serial), sharing one install, one build and one Koa host; the
// compilers and the Vite build start together as soon as the install is done.
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import test from 'ava';
import { launchChromium, openPage } from '../../shared/browser-harness.mjs';
import { copyEmptyPglite } from '../../shared/pglite-template.mjs';
import { serveSite } from '../../shared/static-site.mjs';

const run = promisify(execFile);
const ROOT = new URL('../../../', import.meta.url).pathname;
const CONSUMER = new URL('../consumer/', import.meta.url).pathname;
const PACKAGES = ['@beckon/ns-client', '@beckon/widget', '@beckon/server'];
/** What the pages and snippets call their Beckon server; the browser's requests to it reach the Koa host. */
const BECKON_ORIGIN = 'https://beckon.example.net';
const CONFIG_ID = 'acme';
const DOMAINS = {
  [CONFIG_ID]: { api_domain: 'example.com', queue: '9002@example.com', branding: { company_name: 'Acme Co', button_text: 'Call Acme' } },
};

let project;
let tarballs;
let data;
/** The Koa host (koa-host.ts, compiled), once started: { url, process, exited, output() }. */
let host;
/** The Vite build's pages, served as a site of their own, and Chromium, which opens them. */
let site;
let browser;
let closeBrowser;
/** The checks and the build, started together once the project is installed (see test.before). */
let started;

const bin = (name) => join(project, 'node_modules/.bin', name);
/** Runs a command in the consumer project; a failure's message carries what it printed (tsc prints its errors to stdout). */
async function inProject(command, args) {
  try {
    return await run(command, args, { cwd: project, maxBuffer: 64 * 1024 * 1024 });
  } catch (error) {
    error.message += `\n${error.stdout ?? ''}${error.stderr ?? ''}`;
    throw error;
  }
}

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
  await cp(CONSUMER, project, { recursive: true });
  // From the cache npm ci filled where it can; the registry for the rest (the frameworks).
  await inProject('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', ...tarballs.map((t) => t.path)]);
  data = await mkdtemp(join(tmpdir(), 'beckon-release-data-'));
  await writeFile(join(data, 'domains.json'), JSON.stringify(DOMAINS));
  // The compilers and the build need nothing of each other: they run side by side while the first
  // tests do, and each test awaits its own. (A rejection is kept for that test, not reported as unhandled.)
  const background = (promise) => {
    promise.catch(() => {});
    return promise;
  };
  started = {
    koaHost: background(inProject(bin('tsc'), ['-p', 'tsconfig.node.json'])),
    react: background(inProject(bin('tsc'), ['-p', 'tsconfig.typos.json', '--pretty', 'false'])),
    vue: background(inProject(bin('vue-tsc'), ['-p', 'tsconfig.vue.json'])),
    vite: background(inProject(bin('vite'), ['build', '--logLevel', 'warn'])),
  };
});

test.after.always(async () => {
  host?.process.kill('SIGKILL');
  await closeBrowser?.();
  await site?.close();
  if (project) await rm(project, { recursive: true, force: true });
  if (data) await rm(data, { recursive: true, force: true });
  if (tarballs?.[0]) await rm(join(tarballs[0].path, '..'), { recursive: true, force: true });
});

/** The environment a Beckon server of the tests runs with: no NetSapiens behind it, the embedded database. */
function serverEnv(dataDir) {
  return {
    PATH: process.env.PATH,
    NS_API_BASE: 'http://127.0.0.1:9',
    NS_TOKEN: 'release-test',
    UPDATE_SECRET: 'release-test-update-secret',
    DATA_DIR: dataDir,
    DOMAINS_FILE: join(data, 'domains.json'),
    HOST: '127.0.0.1',
    PORT: '0',
    LOG_FORMAT: 'json',
    LOG_LEVEL: 'warn',
  };
}

/** Spawns a server and resolves with its URL once a line of its stdout matches `listening`. */
function startServer(command, args, env, listening) {
  const child = spawn(command, args, { cwd: project, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stderr.on('data', (chunk) => (output += chunk));
  const url = new Promise((resolve, reject) => {
    child.stdout.on('data', (chunk) => {
      output += chunk;
      for (const line of output.split('\n')) {
        const url = listening(line);
        if (url) resolve(url);
      }
    });
    child.once('close', (code) => reject(new Error(`${command} exited (${code}) before listening:\n${output}`)));
  });
  const exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  return { process: child, url, exited, output: () => output };
}

const sha384 = (bytes) => `sha384-${createHash('sha384').update(bytes).digest('base64')}`;

test.serial('each tarball ships its build, its LICENSE and its README, and no test or config of the repository', (t) => {
  for (const { name, files } of tarballs) {
    const paths = files.map((file) => file.path);
    for (const needed of ['LICENSE', 'README.md', 'package.json', 'dist/index.js']) t.true(paths.includes(needed), `${name}: ${needed}`);
    t.false(
      paths.some((path) => path.startsWith('test/') || path.endsWith('tsconfig.json') || path.endsWith('.tsbuildinfo')),
      `${name}: nothing of the repository's tooling`,
    );
  }
  const widget = tarballs.find((tarball) => tarball.name === '@beckon/widget').files.map((file) => file.path);
  for (const built of [
    'cdn/call-us-button.js',
    'cdn/call-us-button.js.map',
    'cdn/call-popup.js',
    'custom-elements.json',
    'frameworks/react.d.ts',
    'frameworks/vue.d.ts',
    'web-types.json',
    'vscode.html-custom-data.json',
  ]) {
    t.true(widget.includes(built), `@beckon/widget: ${built}`);
  }
});

test.serial('the READMEs pin the CDN bundles to the hashes of the files in the installed package', async (t) => {
  const installed = join(project, 'node_modules/@beckon/widget');
  const readmes = { widget: await readFile(join(installed, 'README.md'), 'utf8'), root: await readFile(join(ROOT, 'README.md'), 'utf8') };
  for (const file of ['cdn/call-us-button.js', 'cdn/call-popup.js']) {
    const line = `/${file}"\n        integrity="${sha384(await readFile(join(installed, file)))}"`;
    for (const [which, readme] of Object.entries(readmes)) t.true(readme.includes(line), `${which} README: ${file}`);
  }
  const manifest = JSON.parse(await readFile(join(installed, 'package.json'), 'utf8'));
  t.is(manifest.unpkg, './cdn/call-us-button.js');
  t.is(manifest.jsdelivr, './cdn/call-us-button.js');
  t.is(manifest['web-types'], './web-types.json');
});

test.serial('plain Node ESM: @beckon/ns-client and its sandbox, installed from the tarball (client.mjs)', async (t) => {
  const { stdout } = await inProject(process.execPath, ['client.mjs']);
  t.regex(stdout, /queue: '9002@example\.com'/);
  t.regex(stdout, /destination: '\+18135551234'/);
  t.regex(stdout, /status: 'queued'/);
});

test.serial(
  'beckon-server from the installed bin: ready on the embedded database, serving the installed widget, stopping cleanly',
  async (t) => {
    const dataDir = await mkdtemp(join(tmpdir(), 'beckon-release-bin-'));
    t.teardown(() => rm(dataDir, { recursive: true, force: true }));
    const server = startServer(bin('beckon-server'), [], { ...serverEnv(dataDir), LOG_LEVEL: 'info' }, (line) =>
      line.includes('beckon-server listening') ? JSON.parse(line).url : undefined,
    );
    t.teardown(() => server.process.kill('SIGKILL'));
    const url = await server.url;
    t.is((await fetch(`${url}/ready`)).status, 200);
    const bundle = await fetch(`${url}/widget/call-us-button.js`);
    t.is(bundle.status, 200);
    t.is(
      sha384(Buffer.from(await bundle.arrayBuffer())),
      sha384(await readFile(join(project, 'node_modules/@beckon/widget/cdn/call-us-button.js'))),
      'the bundle of the installed @beckon/widget',
    );
    server.process.kill('SIGTERM');
    t.is(await server.exited, 0);
  },
);

test.serial(
  'a Koa host mounting the router: tsc passes (strict, skipLibCheck off), then it serves Beckon and its own routes',
  async (t) => {
    await started.koaHost;
    const dataDir = await mkdtemp(join(tmpdir(), 'beckon-release-koa-'));
    t.teardown(() => rm(dataDir, { recursive: true, force: true }));
    // An empty database made once per machine (beckon-server above started on a fresh one).
    await copyEmptyPglite(join(dataDir, 'pglite'));
    const server = startServer(
      process.execPath,
      ['build/koa-host.js'],
      serverEnv(dataDir),
      (line) => /^listening on (\S+)$/.exec(line)?.[1],
    );
    host = { ...server, url: await server.url };
    t.is(await (await fetch(`${host.url}/`)).text(), 'Example Co: want a call back? Use the button on any page.', "the host's own route");
    const config = await fetch(`${host.url}/widget-config?id=${CONFIG_ID}`);
    t.is(config.status, 200);
    t.deepEqual(await config.json(), { id: CONFIG_ID, buttonText: 'Call Acme', companyName: 'Acme Co', scheduling: true });
    // Beckon's JSON error envelope, not the host's plain 404: the router answered.
    const refused = await fetch(`${host.url}/click-to-call`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id: 'nobody', phone_number: '(813) 555-1234' }),
    });
    t.is(refused.status, 404);
    t.like(await refused.json(), { status: 'error' });
  },
);

test.serial(
  'React 19 TSX, strict, with the shipped typings (@beckon/widget/react): the app type-checks, and the mistakes file fails exactly where marked',
  async (t) => {
    // One tsc run over the app (src/react.tsx, src/plain.ts) and typos/react-typos.tsx: errors in the
    // mistakes file only, one on each element marked `// error: <part of the message>`.
    const file = 'typos/react-typos.tsx';
    const error = await t.throwsAsync(started.react);
    // Each diagnostic starts a line: `file(line,column): error TSnnnn: message`, its detail on the lines after.
    const diagnostics = [];
    for (const line of error.stdout.split('\n')) {
      const start = /^(.+)\((\d+),\d+\): error (TS\d+): (.*)$/.exec(line);
      if (start) diagnostics.push({ file: start[1], line: Number(start[2]), text: `${start[3]}: ${start[4]}` });
      else if (diagnostics.length > 0) diagnostics.at(-1).text += `\n${line}`;
    }
    const source = (await readFile(join(project, file), 'utf8')).split('\n');
    const expected = source.flatMap((text, index) => {
      const marker = /^\s+<.*\/\/ error: (.+)$/.exec(text);
      return marker ? [{ line: index + 1, text: marker[1] }] : [];
    });
    t.true(expected.length >= 5);
    t.deepEqual(
      diagnostics.map((diagnostic) => `${diagnostic.file}:${diagnostic.line}`),
      expected.map((mistake) => `${file}:${mistake.line}`),
      `no error in the app, one on each marked line:\n${error.stdout}`,
    );
    for (const mistake of expected) {
      const found = diagnostics.find((diagnostic) => diagnostic.line === mistake.line);
      t.true(found?.text.includes(mistake.text), `line ${mistake.line}: expected "${mistake.text}", got: ${found?.text}`);
    }
  },
);

test.serial('Vue 3 SFC: vue-tsc passes with the shipped typings (@beckon/widget/vue)', async (t) => {
  await started.vue;
  t.pass();
});

test.serial('vite build: the plain, React and Vue pages build', async (t) => {
  await started.vite;
  site = await serveSite({ root: join(project, 'dist'), assets: '.', port: 0 });
  // Closed after the last test (test.after.always), not with this one: the pages' tests use them.
  browser = await launchChromium({ teardown: (close) => (closeBrowser = close) });
  t.pass();
});

/** Opens a built page; requests for the Beckon origin go to the Koa host, as DNS would send them. */
async function openBuiltPage(t, path) {
  t.truthy(host && browser, 'the Koa host and the build are up (earlier tests)');
  const { page, problems } = await openPage(browser);
  t.teardown(() => page.close());
  await page.route(`${BECKON_ORIGIN}/**`, async (route) => {
    const url = new URL(route.request().url());
    route.fulfill({ response: await route.fetch({ url: `${host.url}${url.pathname}${url.search}` }) });
  });
  await page.goto(new URL(path, site.url).href);
  await page.waitForFunction(() => customElements.get('call-us-button') !== undefined);
  return { page, problems };
}

test.serial('the Vite-built plain page renders <call-us-button> with the branding the Koa host serves', async (t) => {
  const { page, problems } = await openBuiltPage(t, 'index.html');
  await page.locator('call-us-button').getByRole('button', { name: 'Call Acme', exact: true }).click();
  await page.getByRole('dialog').getByRole('heading', { name: 'Acme Co', exact: true }).waitFor();
  t.deepEqual(problems, []);
});

for (const [framework, path] of [
  ['React 19', 'react.html'],
  ['Vue 3', 'vue.html'],
]) {
  test.serial(
    `the Vite-built ${framework} page renders <call-us-button> with its props, and its handler hears the dialog open`,
    async (t) => {
      const { page, problems } = await openBuiltPage(t, path);
      const widget = page.locator('call-us-button');
      const rendered = await widget.evaluate((element) => ({
        attributes: Object.fromEntries(element.getAttributeNames().map((name) => [name, element.getAttribute(name)])),
        endpoint: element.endpoint,
        strings: element.strings,
      }));
      // Names the element has as properties are set as properties (it was defined first); the rest as attributes.
      t.deepEqual(rendered.attributes, { 'config-id': CONFIG_ID, 'button-text': 'Call me back' });
      t.is(rendered.endpoint, BECKON_ORIGIN);
      t.deepEqual(rendered.strings, { heading: 'Talk to sales' }, 'strings set as a property, not as an attribute');
      await widget.getByRole('button', { name: 'Call me back', exact: true }).click();
      await page.getByRole('dialog').getByRole('heading', { name: 'Talk to sales', exact: true }).waitFor();
      await page.getByRole('list', { name: 'Events' }).getByText('open', { exact: true }).waitFor();
      t.deepEqual(problems, []);
    },
  );
}

test.serial(
  "the README's CDN lines, as written, load the installed bundles in Chromium (their integrity checked by the browser)",
  async (t) => {
    t.truthy(browser, 'Chromium is up (an earlier test)');
    const installed = join(project, 'node_modules/@beckon/widget');
    const readme = await readFile(join(installed, 'README.md'), 'utf8');
    const cdnBlock = /<!-- cdn:start[^\n]*-->\n```html\n([\s\S]*?)```\n<!-- cdn:end -->/.exec(readme)?.[1];
    t.truthy(cdnBlock, 'the widget README has its CDN block');
    const { page, problems } = await openPage(browser);
    t.teardown(() => page.close());
    const served = [];
    await page.route('https://cdn.jsdelivr.net/npm/**', async (route) => {
      const { pathname } = new URL(route.request().url());
      const file = /^\/npm\/@beckon\/widget@[^/]+\/(cdn\/[\w.-]+)$/.exec(pathname)?.[1];
      if (!file) return route.fulfill({ status: 404 });
      served.push(file);
      // As the CDN does: CORS open, since an integrity check needs a CORS response.
      return route.fulfill({
        body: await readFile(join(installed, file)),
        contentType: 'text/javascript',
        headers: { 'access-control-allow-origin': '*' },
      });
    });
    await page.route('http://page.test/', (route) =>
      route.fulfill({
        contentType: 'text/html',
        body: `<!doctype html><html lang="en"><body>${cdnBlock}<call-us-button></call-us-button></body></html>`,
      }),
    );
    await page.goto('http://page.test/');
    await page.waitForFunction(() => customElements.get('call-us-button') !== undefined && customElements.get('call-popup') !== undefined);
    await page.locator('call-us-button').getByRole('button').first().waitFor();
    t.deepEqual(served.sort(), ['cdn/call-popup.js', 'cdn/call-us-button.js']);
    t.deepEqual(problems, [], 'no integrity failure, no error');
  },
);

test.serial('the Koa host stops cleanly on SIGTERM', async (t) => {
  t.truthy(host, 'the Koa host is up (an earlier test)');
  host.process.kill('SIGTERM');
  t.is(await host.exited, 0, host.output());
  host = undefined;
});
