import { mkdtemp, rm } from 'node:fs/promises';
import { Writable } from 'node:stream';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { createLogger, loadConfig, start, type RunningServer } from '../src/index.js';
import { SECRET } from './helpers.js';
import { copyEmptyPglite } from '../../../examples/shared/pglite-template.mjs';

/** The real `start()`: what these tests pin is the listening server's own settings. */
async function startServer(
  t: { teardown(fn: () => Promise<void>): void },
  env: Record<string, string>,
  logs: string[] = [],
): Promise<RunningServer> {
  const dir = await mkdtemp(join(tmpdir(), 'beckon-connections-'));
  await copyEmptyPglite(join(dir, 'pglite'));
  const config = loadConfig({
    NS_API_BASE: 'http://127.0.0.1:9',
    NS_TOKEN: 'token',
    UPDATE_SECRET: SECRET,
    DOMAINS_FILE: join(dir, 'domains.json'),
    DATA_DIR: dir,
    PORT: '0',
    ...env,
  });
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logs.push(chunk.toString());
      done();
    },
  });
  const running = await start({ config, logger: createLogger('warn', sink) });
  t.teardown(async () => {
    await running.close(1_000);
    await rm(dir, { recursive: true, force: true });
  });
  return running;
}

function open(url: string): Promise<Socket> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Resolves when the server has answered and closed (or cut) the connection: what it wrote, and when. */
function ended(socket: Socket, since: number): Promise<{ ms: number; text: string }> {
  let text = '';
  socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
  socket.on('error', () => undefined);
  return new Promise((resolve) => socket.once('close', () => resolve({ ms: Date.now() - since, text })));
}

test("a client slow to send its headers or its body gets 408 within the configured timeout, not at Node's 30 s check", async (t) => {
  const server = await startServer(t, { HEADERS_TIMEOUT_MS: '2000', REQUEST_TIMEOUT_MS: '5000' });
  const started = Date.now();
  const slowHeaders = await open(server.url);
  slowHeaders.write('GET /health HTTP/1.1\r\nHost: beckon.test\r\n');
  const slowBody = await open(server.url);
  slowBody.write(
    'POST /click-to-call HTTP/1.1\r\nHost: beckon.test\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"id":',
  );
  const idle = await open(server.url);
  // A deadline well under Node's 30 s default check, well over the timeouts plus the 1 s check.
  const deadline = (socket: Socket) => setTimeout(() => socket.destroy(), 15_000);
  const timers = [deadline(slowHeaders), deadline(slowBody), deadline(idle)];
  const [headers, body, silent] = await Promise.all([ended(slowHeaders, started), ended(slowBody, started), ended(idle, started)]);
  timers.forEach(clearTimeout);
  t.regex(headers.text, /^HTTP\/1\.1 408 /, `slow headers: ${headers.ms} ms`);
  t.true(headers.ms >= 2_000 && headers.ms < 4_500, `slow headers answered after ${headers.ms} ms`);
  t.regex(body.text, /^HTTP\/1\.1 408 /, `slow body: ${body.ms} ms`);
  t.true(body.ms >= 5_000 && body.ms < 7_500, `slow body answered after ${body.ms} ms`);
  t.true(silent.ms < 4_500, `a connection that sends nothing is closed after ${silent.ms} ms`);
});

test('connections past MAX_CONNECTIONS are closed at once, and served again once one is freed', async (t) => {
  const logs: string[] = [];
  const server = await startServer(t, { MAX_CONNECTIONS: '4' }, logs);
  const held = await Promise.all([1, 2, 3, 4].map(() => open(server.url)));
  t.teardown(async () => held.forEach((socket) => socket.destroy()));
  // Let the server register every held socket before the next one arrives.
  await new Promise((resolve) => setTimeout(resolve, 100));
  const ask = async () => {
    const socket = await open(server.url);
    const answer = ended(socket, Date.now());
    socket.write('GET /health HTTP/1.1\r\nHost: beckon.test\r\nConnection: close\r\n\r\n');
    const timer = setTimeout(() => socket.destroy(), 5_000);
    const result = await answer;
    clearTimeout(timer);
    return result;
  };
  const refused = await ask();
  t.is(refused.text, '', 'the fifth connection is closed without an answer');
  t.true(refused.ms < 3_000, `closed after ${refused.ms} ms`);
  t.is(logs.filter((line) => line.includes('MAX_CONNECTIONS reached')).length, 1, 'said once, so an operator can see why');
  held.pop()?.destroy();
  await new Promise((resolve) => setTimeout(resolve, 100));
  t.regex((await ask()).text, /^HTTP\/1\.1 200 /);
});

test('the connection limits and timeouts have safe defaults and come from the environment', (t) => {
  const base = { NS_API_BASE: 'https://ucportal.example.net', NS_TOKEN: 'x', UPDATE_SECRET: SECRET };
  t.deepEqual(loadConfig(base).http, { maxConnections: 1_000, headersTimeoutMs: 10_000, requestTimeoutMs: 30_000 });
  t.deepEqual(loadConfig({ ...base, MAX_CONNECTIONS: '50', HEADERS_TIMEOUT_MS: '5000', REQUEST_TIMEOUT_MS: '2000' }).http, {
    maxConnections: 50,
    headersTimeoutMs: 5_000,
    requestTimeoutMs: 5_000,
  });
});
