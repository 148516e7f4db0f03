import type { ServerResponse } from 'node:http';
import type { Writable } from 'node:stream';
import { createGzip } from 'node:zlib';
import test from 'ava';
import { createNsClient, NsError, NsUsageError, type NsClient, type NsClientOptions } from '@beckon/ns-client';
import { API_KEY, assertNoSecrets, OAUTH, rejection, waitFor, withPlainServer, withSandbox } from './helpers.js';

const DOMAIN = 'example.com';
const MiB = 1024 * 1024;
const SMS = { domain: DOMAIN, user: '1001', fromNumber: '19294873999', destination: '18135551234', message: 'hello' };
const USER = { domain: DOMAIN, user: '8001', firstName: 'Web', lastName: 'Responder', email: 'ops@example.com' };

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
    message:
      'NetSapiens answered GET /ns-api/v2/domains/example.com/users with more than 1048576 bytes (maxResponseBytes): it was not read further',
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

const HTML_PAGE = '<!DOCTYPE html>\n<html><head><title>Welcome to nginx!</title></head><body><h1>Welcome to nginx!</h1></body></html>\n';

/** Every call the client makes, by name, against a server that is not NetSapiens. */
const CALLS = {
  'queuedCalls.create': (ns) => ns.queuedCalls.create({ queue: '9002@example.com', destination: '+18135551234' }),
  'queuedCalls.createV2': (ns) => ns.queuedCalls.createV2({ domain: DOMAIN, queue: '9002', destination: '+18135551234' }),
  'messages.sendSms': (ns) => ns.messages.sendSms(SMS),
  'users.create': (ns) => ns.users.create(USER),
  'users.get': (ns) => ns.users.get({ domain: DOMAIN, user: '8001' }),
  'dialRules.create': (ns) => ns.dialRules.create({ domain: DOMAIN, match: 'webresponder8001', destinationUser: '[*]' }),
  'dialRules.list': (ns) => ns.dialRules.list({ domain: DOMAIN }),
  'dialRules.update': (ns) => ns.dialRules.update({ domain: DOMAIN, dialRule: 'c2lwOjYxMUAq', destinationUser: '[*]' }),
  'answerRules.update': (ns) => ns.answerRules.update({ domain: DOMAIN, user: '8001', forwardAlways: { enabled: true, to: ['x'] } }),
  'answerRules.create': (ns) => ns.answerRules.create({ domain: DOMAIN, user: '8001' }),
} satisfies Record<string, (ns: NsClient) => Promise<unknown>>;

test('regression: a 2xx that is not NetSapiens is not success: an HTML page answering 200 fails every call, once', async (t) => {
  const server = await withPlainServer(t, (_request, response) => {
    response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    response.end(HTML_PAGE);
  });
  const ns = client(server.url);
  for (const [name, call] of Object.entries(CALLS)) {
    const before = server.requests.length;
    const error = await rejection(call(ns));
    t.true(error instanceof NsError, name);
    t.like(error, { name: 'NsResponseError', status: 200 }, name);
    const { method, path, message } = error as { method: string; path: string; message: string };
    t.is(message, `NetSapiens answered 200 to ${method} ${path} with an HTML page, not NetSapiens' JSON: is baseUrl right?`, name);
    t.is(server.requests.length, before + 1, `${name} was sent once`);
    t.is(server.requests.at(-1), `${method} ${path}`, name);
    assertNoSecrets(t, error, [API_KEY]);
  }
});

test('regression: a 2xx that is not NetSapiens is not success: provisioning reports it per step', async (t) => {
  const server = await withPlainServer(t, (_request, response) => {
    response.writeHead(200, { 'content-type': 'text/html' });
    response.end(HTML_PAGE);
  });
  const result = await client(server.url).provisionWebresponder({
    domain: DOMAIN,
    systemUser: '8001',
    webhookUrl: 'https://beckon.example.net/webresponder?id=abc',
    email: 'ops@example.com',
  });
  t.is(result.user.status, 'failed');
  t.regex(result.user.error ?? '', /^NetSapiens answered 200 to POST \/ns-api\/v2\/domains\/example\.com\/users with an HTML page/);
  t.is(result.dialRule.status, 'failed');
  t.regex(result.dialRule.error ?? '', /with an HTML page/);
  t.is(result.answerRule.status, 'failed');
  t.false(
    server.requests.some((request) => request.includes('/answerrules')),
    'no answer rule was written',
  );
});

test('regression: a 2xx that is not NetSapiens is not success: an OAuth token endpoint answering an HTML page', async (t) => {
  const server = await withPlainServer(t, (_request, response) => {
    response.writeHead(200, { 'content-type': 'text/html' });
    response.end(HTML_PAGE);
  });
  const ns = createNsClient({ baseUrl: server.url, auth: { ...OAUTH }, timeoutMs: 5000 });
  const error = await rejection(ns.dialRules.list({ domain: DOMAIN }));
  t.like(error, { name: 'NsResponseError', status: 200, method: 'POST', path: '/ns-api/v2/tokens' });
  t.deepEqual(server.requests, ['POST /ns-api/v2/tokens'], 'no API request without a token, no legacy fallback');
  assertNoSecrets(t, error, [OAUTH.password, OAUTH.clientSecret]);
});

/** 2xx bodies NetSapiens would not send, and how each is described. */
const NOT_NETSAPIENS: { name: string; type: string; body: string; call: keyof typeof CALLS; problem: string }[] = [
  {
    name: 'truncated JSON',
    type: 'application/json',
    body: '{"code":202,"mess',
    call: 'messages.sendSms',
    problem: 'JSON that is cut off or malformed',
  },
  {
    name: 'plain text',
    type: 'text/plain',
    body: 'OK',
    call: 'queuedCalls.create',
    problem: "a body of type text/plain, not NetSapiens' JSON: is baseUrl right?",
  },
  {
    name: 'HTML without a content type',
    type: '',
    body: '<html><body>It works!</body></html>',
    call: 'users.create',
    problem: "an HTML page, not NetSapiens' JSON: is baseUrl right?",
  },
  {
    name: 'a JSON string for a write',
    type: 'application/json',
    body: '"Accepted"',
    call: 'answerRules.update',
    problem: 'JSON that is not an object',
  },
  {
    name: 'an object for a list',
    type: 'application/json',
    body: '{"code":200,"message":"OK"}',
    call: 'dialRules.list',
    problem: 'JSON that is not a list',
  },
  { name: 'an empty body for a list', type: 'application/json', body: '', call: 'dialRules.list', problem: 'an empty body, not a list' },
  { name: 'a list for one user', type: 'application/json', body: '[]', call: 'users.get', problem: 'JSON that is not an object' },
];

for (const answer of NOT_NETSAPIENS) {
  test(`regression: a 2xx that is not NetSapiens is not success: ${answer.name}`, async (t) => {
    const server = await withPlainServer(t, (_request, response) => {
      response.writeHead(200, answer.type ? { 'content-type': answer.type } : {});
      response.end(answer.body);
    });
    const error = await rejection(CALLS[answer.call](client(server.url)));
    t.like(error, { name: 'NsResponseError', status: 200 });
    const { method, path } = error as { method: string; path: string };
    t.is((error as Error).message, `NetSapiens answered 200 to ${method} ${path} with ${answer.problem}`);
    t.is(server.requests.length, 1, 'not retried');
  });
}

test('a redirect is neither followed nor success: a 302 is an NsHttpError', async (t) => {
  const server = await withPlainServer(t, (_request, response) => {
    response.writeHead(302, { location: 'http://elsewhere.invalid/ns-api/' });
    response.end();
  });
  const error = await rejection(client(server.url).queuedCalls.create({ queue: '9002@example.com', destination: '+18135551234' }));
  t.like(error, { name: 'NsHttpError', status: 302, method: 'POST', path: '/ns-api/' });
  t.deepEqual(server.requests, ['POST /ns-api/']);
});

test('every success NetSapiens sends is still one: empty bodies, JSON labelled text/html, {code, message}, records, lists', async (t) => {
  const answers: Record<string, { status: number; type?: string; body: string }> = {
    // The legacy API is PHP, which labels even an empty answer text/html unless told otherwise.
    '/ns-api/': { status: 202, type: 'text/html; charset=UTF-8', body: '' },
    '/ns-api/v2/domains/example.com/queuedcall/9002': { status: 200, type: 'text/html', body: '{}' },
    '/ns-api/v2/domains/example.com/users': { status: 202, type: 'application/json', body: '{"code":202,"message":"Accepted"}' },
    '/ns-api/v2/domains/example.com/users/8001': {
      status: 200,
      type: 'application/json',
      body: '{"user":"8001","service-code":"system-webresponder"}',
    },
    '/ns-api/v2/domains/example.com/dialplans/example.com/dialrules': {
      status: 200,
      type: 'application/json; charset=utf-8',
      body: ' [] \n',
    },
    '/ns-api/v2/domains/example.com/users/8001/answerrules/*': { status: 202, body: '\n' },
  };
  const server = await withPlainServer(t, (request, response) => {
    const answer = answers[new URL(request.url ?? '/', 'http://x.invalid').pathname] ?? { status: 404, body: '' };
    response.writeHead(answer.status, answer.type ? { 'content-type': answer.type } : {});
    response.end(answer.body);
  });
  const ns = client(server.url);
  await t.notThrowsAsync(CALLS['queuedCalls.create'](ns));
  await t.notThrowsAsync(CALLS['queuedCalls.createV2'](ns));
  await t.notThrowsAsync(CALLS['users.create'](ns));
  t.like(await ns.users.get({ domain: DOMAIN, user: '8001' }), { user: '8001', 'service-code': 'system-webresponder' });
  t.deepEqual(await ns.dialRules.list({ domain: DOMAIN }), []);
  await t.notThrowsAsync(CALLS['answerRules.update'](ns));
});
