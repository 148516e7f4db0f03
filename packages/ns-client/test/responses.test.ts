import type { ServerResponse } from 'node:http';
import type { Writable } from 'node:stream';
import { createGzip } from 'node:zlib';
import test from 'ava';
import { createNsClient, NsError, NsUsageError, type NsClient, type NsClientOptions } from '@beckon/ns-client';
import { API_KEY, assertNoSecrets, rejection, waitFor, withPlainServer, withSandbox } from './helpers.js';

const DOMAIN = 'example.com';
const MiB = 1024 * 1024;
const SMS = { domain: DOMAIN, user: '1001', fromNumber: '19294873999', destination: '18135551234', message: 'hello' };

function client(url: string, options: Partial<NsClientOptions> = {}): NsClient {
  return createNsClient({ baseUrl: url, auth: { token: API_KEY }, timeoutMs: 5000, ...options });
}

/** Writes `chunk` until `total` bytes went out or the client hung up; resolves to the bytes written. */
async function stream(response: ServerResponse, chunk: Buffer | string, total: number, target: Writable = response): Promise<number> {
  let written = 0;
  let closed = false;
  let wake = () => {};
  response.once('close', () => {
    closed = true;
    wake();
  });
  target.on('drain', () => wake());
  while (!closed && written < total) {
    const more = target.write(chunk);
    written += chunk.length;
    if (!more) await new Promise<void>((resolve) => (wake = resolve));
  }
  if (!closed) target.end();
  return written;
}

/** A server streaming `total` bytes of filler to every request; `written()` is what it wrote before the client hung up. */
async function endlessServer(
  t: Parameters<typeof withPlainServer>[0],
  total: number,
  head: Record<string, string> = {},
): Promise<{ url: string; requests: string[]; written: () => number | undefined }> {
  let written: number | undefined;
  const server = await withPlainServer(t, (_request, response) => {
    response.writeHead(200, { 'content-type': 'application/json', ...head });
    void stream(response, Buffer.alloc(64 * 1024, 'x'), total).then((bytes) => {
      written = bytes;
    });
  });
  return { ...server, written: () => written };
}

test('regression: responses are read with a size limit: an endless answer without Content-Length fails fast, unread', async (t) => {
  const total = 256 * MiB;
  const server = await endlessServer(t, total);
  const error = await rejection(client(server.url).request({ method: 'GET', path: '/ns-api/v2/domains/example.com/users' }));
  t.true(error instanceof NsError);
  t.like(error, {
    name: 'NsResponseTooLargeError',
    method: 'GET',
    path: '/ns-api/v2/domains/example.com/users',
    maxBytes: MiB,
    message: 'NetSapiens answered GET /ns-api/v2/domains/example.com/users with more than 1048576 bytes (maxResponseBytes): it was not read further',
  });
  t.true(await waitFor(() => server.written() !== undefined), 'the server saw the client hang up');
  // The client stopped reading at the limit: what went out is the limit plus the sockets' buffers.
  t.log(`${server.written()} of ${total} bytes written`);
  t.true((server.written() ?? total) < 32 * MiB, `${server.written()} bytes written`);
  t.deepEqual(server.requests, ['GET /ns-api/v2/domains/example.com/users'], 'not retried');
  assertNoSecrets(t, error, [API_KEY]);
});

test('regression: responses are read with a size limit: an answer whose Content-Length is over the limit is refused before its body', async (t) => {
  const total = 300 * MiB;
  const server = await endlessServer(t, total, { 'content-length': String(total) });
  const error = await rejection(client(server.url, { maxResponseBytes: 64 * 1024 }).messages.sendSms(SMS));
  t.like(error, { name: 'NsResponseTooLargeError', method: 'POST', maxBytes: 64 * 1024 });
  t.true(await waitFor(() => server.written() !== undefined));
  t.log(`${server.written()} of ${total} bytes written`);
  t.true((server.written() ?? total) < 32 * MiB, `${server.written()} bytes written`);
  t.is(server.requests.length, 1, 'a POST is not retried');
});

test('regression: responses are read with a size limit: a compressed answer counts what it decompresses to', async (t) => {
  // A gzip bomb: 128 MiB of zeros are about 128 KB on the wire, far under the limit.
  const server = await withPlainServer(t, (_request, response) => {
    response.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
    const gzip = createGzip();
    gzip.pipe(response);
    response.once('close', () => gzip.destroy());
    void stream(response, Buffer.alloc(64 * 1024), 128 * MiB, gzip);
  });
  const error = await rejection(client(server.url).dialRules.list({ domain: DOMAIN }));
  t.like(error, { name: 'NsResponseTooLargeError', method: 'GET', maxBytes: MiB });
});

test('regression: responses are read with a size limit: an error answer too', async (t) => {
  const server = await withPlainServer(t, (_request, response) => {
    response.writeHead(502, { 'content-type': 'text/html' });
    void stream(response, `<p>${'Bad gateway. '.repeat(1000)}</p>`, 64 * MiB);
  });
  const error = await rejection(client(server.url, { retries: 0 }).dialRules.list({ domain: DOMAIN }));
  t.like(error, { name: 'NsResponseTooLargeError', maxBytes: MiB });
});

test('maxResponseBytes: an answer of exactly the limit is read, one byte more is not; unusable values are refused', async (t) => {
  const rule = '{"dialrule":"x"}';
  const body = `[${Array.from({ length: 10 }, () => rule).join(',')}]`;
  const server = await withPlainServer(t, (request, response) => {
    response.writeHead(200, { 'content-type': 'application/json' });
    // No Content-Length: the limit is counted on the bytes themselves.
    response.end(request.url?.includes('one-more') ? `${body} ` : body);
  });
  const exact = client(server.url, { maxResponseBytes: body.length });
  t.is((await exact.dialRules.list({ domain: DOMAIN })).length, 10);
  const error = await rejection(exact.dialRules.list({ domain: DOMAIN, dialPlan: 'one-more' }));
  t.like(error, { name: 'NsResponseTooLargeError', maxBytes: body.length });

  for (const maxResponseBytes of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
    t.throws(() => client(server.url, { maxResponseBytes }), { instanceOf: NsUsageError }, String(maxResponseBytes));
  }
});

test('maxResponseBytes: retries and timeouts still work', async (t) => {
  const { sandbox, newClient } = await withSandbox(t);
  const ns = newClient({ maxResponseBytes: 4096 });
  sandbox.inject({ route: 'dialrules.list', status: 503 });
  t.deepEqual(await ns.dialRules.list({ domain: DOMAIN }), []);
  t.deepEqual(
    sandbox.requests.map((request) => request.status),
    [503, 200],
  );
  sandbox.inject({ route: 'messages.send', delayMs: 1000 });
  const error = await rejection(newClient({ maxResponseBytes: 4096, timeoutMs: 200 }).messages.sendSms(SMS));
  t.like(error, { name: 'NsTimeoutError' });
});
