import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { startNsSandbox } from '@beckon/ns-client/sandbox';
import { closeDeps, createDeps, createLogger, loadConfig } from '@beckon/server';
import { createHostApp } from '../app.mjs';
import { copyEmptyPglite } from '../../shared/pglite-template.mjs';

const SECRET = 'example-update-secret-0123456789';
const DOMAINS = {
  'example.com-sales': { api_domain: 'example.com', queue: '9002@example.com' },
  'example.com-sms': {
    api_domain: 'example.com',
    user: '2000',
    ns_system_user: '8001',
    from_number: '19295550100',
    message: 'We are at 1 Main St.',
  },
};

/** A temp folder with a domains.json, and the environment beckon-server would be given. */
async function fixture(t, sandbox) {
  const dir = await mkdtemp(join(tmpdir(), 'beckon-koa-mount-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const domainsFile = join(dir, 'domains.json');
  await writeFile(domainsFile, JSON.stringify(DOMAINS));
  await copyEmptyPglite(join(dir, 'pglite'));
  return {
    NS_API_BASE: sandbox.url,
    NS_TOKEN: sandbox.token,
    UPDATE_SECRET: SECRET,
    DOMAINS_FILE: domainsFile,
    DATA_DIR: dir,
    PUBLIC_URL: 'https://www.example.com',
    LOG_LEVEL: 'silent',
  };
}

/** The host app from app.mjs, configured through loadConfig as server.mjs does, on port 0. */
async function startHost(t) {
  const sandbox = await startNsSandbox();
  t.teardown(() => sandbox.close());
  const config = loadConfig(await fixture(t, sandbox));
  const deps = await createDeps(config, { publicUrl: 'https://www.example.com', logger: createLogger('silent') });
  const server = createServer(createHostApp(deps).callback());
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.teardown(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await closeDeps(deps, Date.now() + 5_000);
  });
  return { url: `http://127.0.0.1:${server.address().port}`, sandbox, deps };
}

test('the host app keeps its own routes and middleware', async (t) => {
  const { url, sandbox } = await startHost(t);

  const home = await fetch(`${url}/`);
  t.is(home.status, 200);
  t.regex(await home.text(), /Example Co/);
  t.regex(home.headers.get('x-response-time'), /^\d+(\.\d+)?ms$/);

  const about = await fetch(`${url}/about`);
  t.deepEqual(await about.json(), { company: 'Example Co', founded: 1999 });
  t.is(about.headers.get('x-request-id'), null, 'Beckon middleware does not run for host routes');

  const missing = await fetch(`${url}/no-such-page`);
  t.is(missing.status, 404);
  t.is(await missing.text(), 'Not Found', "Koa's own 404, not Beckon's envelope");
  t.is(sandbox.requests.length, 0);
});

test('POST /click-to-call through the host app queues a call in NetSapiens', async (t) => {
  const { url, sandbox } = await startHost(t);

  const response = await fetch(`${url}/click-to-call`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ id: 'example.com-sales', phone_number: '(813) 555-1234' }),
  });
  t.is(response.status, 200);
  // The call is recorded for its live status: createDeps opens a database.
  const body = await response.json();
  t.is(body.status, 'ok');
  t.is(typeof body.callback_id, 'string');
  t.truthy(response.headers.get('x-request-id'), 'Beckon answered');
  t.truthy(response.headers.get('x-response-time'), 'through the host middleware');
  t.like(sandbox.calls, [{ api: 'v1', queue: '9002@example.com', destination: '+18135551234', status: 'queued' }]);
  t.is(sandbox.calls.length, 1);

  const unknown = await fetch(`${url}/click-to-call`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ id: 'nobody.example-sales', phone_number: '(813) 555-1234' }),
  });
  t.is(unknown.status, 404);
  t.like(await unknown.json(), { status: 'error' }, "Beckon's JSON envelope for its own routes");
  t.is(sandbox.calls.length, 1);
});

test('GET /health answers through the host app', async (t) => {
  const { url } = await startHost(t);
  const response = await fetch(`${url}/health`);
  t.is(response.status, 200);
  t.deepEqual(await response.json(), { status: 'ok' });
});

test('/webresponder answers NetSapiens with XML, then texts the caller', async (t) => {
  const { url, sandbox, deps } = await startHost(t);

  const response = await fetch(`${url}/webresponder?id=example.com-sms&NmsAni=8135551234`);
  t.is(response.status, 200);
  t.regex(response.headers.get('content-type'), /xml/);
  t.regex(await response.text(), /<Response><Hangup\/><\/Response>/);

  await deps.background.drain(5_000); // the text goes out after the answer
  t.like(sandbox.messages, [
    { domain: 'example.com', user: '2000', fromNumber: '19295550100', destination: '18135551234', message: 'We are at 1 Main St.' },
  ]);
  t.is(sandbox.messages.length, 1);
});

test('server.mjs runs the app from the environment and stops on SIGTERM', async (t) => {
  const sandbox = await startNsSandbox();
  t.teardown(() => sandbox.close());
  const env = { ...(await fixture(t, sandbox)), PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info' };
  delete env.PUBLIC_URL; // then the public URL is the address it listens on
  const child = spawn(process.execPath, ['server.mjs'], {
    cwd: fileURLToPath(new URL('..', import.meta.url)),
    env: { PATH: process.env.PATH, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = once(child, 'close');
  t.teardown(() => child.exitCode === null && child.kill('SIGKILL'));
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const listening = await new Promise((resolve, reject) => {
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
      const line = stdout.split('\n').find((text) => text.includes('host app listening'));
      if (line) resolve(JSON.parse(line));
    });
    child.once('close', (code) => reject(new Error(`server.mjs exited with ${code}: ${stderr}`)));
  });
  t.regex(listening.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  t.is(listening.publicUrl, listening.url);

  t.deepEqual(await (await fetch(`${listening.url}/health`)).json(), { status: 'ok' });
  t.is((await fetch(`${listening.url}/about`)).status, 200);
  const call = await fetch(`${listening.url}/click-to-call`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ id: 'example.com-sales', phone_number: '+1 813 555 1234' }),
  });
  t.is(call.status, 200);
  t.is(sandbox.calls.length, 1);

  child.kill('SIGTERM');
  const [code] = await exited;
  t.is(code, 0, stderr);
  t.false(stdout.includes(sandbox.token), 'the token is never logged');
});

test('server.mjs refuses to start without its settings, naming them', async (t) => {
  const child = spawn(process.execPath, ['server.mjs'], {
    cwd: fileURLToPath(new URL('..', import.meta.url)),
    env: { PATH: process.env.PATH },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const [code] = await once(child, 'close'); // 'close': exited and its output fully read
  t.is(code, 1);
  for (const name of ['NS_API_BASE', 'NS_TOKEN', 'UPDATE_SECRET']) t.true(stderr.includes(name), `names ${name}`);
});
