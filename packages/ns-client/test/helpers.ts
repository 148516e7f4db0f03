import {
  createServer,
  request as httpRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type RequestListener,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { inspect } from 'node:util';
import type { ExecutionContext } from 'ava';
import { createNsClient, type NsClient, type NsClientOptions } from '@beckon/ns-client';
import { startNsSandbox, type NsSandbox, type NsSandboxOptions, type SandboxRequest } from '@beckon/ns-client/sandbox';

export { sleep };

/** OAuth credentials shared by the sandbox and the client in OAuth tests: long enough to be found verbatim. */
export const OAUTH = {
  clientId: 'beckon-test-client',
  clientSecret: 'client-secret-5f1c9e2a7b3d4c8e',
  username: '8000@example.com',
  password: 'password-9d2e7a1c4b6f3e8a',
} as const;

/** A distinctive API key, so that a leak check can search for it verbatim. */
export const API_KEY = 'nsapikey_3f9a1c7e5b2d4f6a8c0e1b3d5f7a9c2e';

export interface Setup {
  sandbox: NsSandbox;
  client: NsClient;
  /** A further client against the same sandbox, with other options. */
  newClient(options?: Partial<NsClientOptions>): NsClient;
}

export interface SetupOptions {
  sandbox?: NsSandboxOptions;
  /** Overrides for the client; by default it uses the sandbox's API key, or its OAuth credentials when it has some. */
  client?: Partial<NsClientOptions>;
}

/**
 * Starts a sandbox on an ephemeral port for this test alone (ava runs a file's tests concurrently, so
 * none may share one) and a client pointed at it. Both go away when the test ends.
 */
export async function withSandbox(t: ExecutionContext, options: SetupOptions = {}): Promise<Setup> {
  const sandbox = await startNsSandbox({ token: API_KEY, ...options.sandbox });
  t.teardown(() => sandbox.close());
  const oauth = options.sandbox?.oauth;
  const newClient = (overrides: Partial<NsClientOptions> = {}) =>
    createNsClient({
      baseUrl: sandbox.url,
      auth: oauth ? { ...OAUTH } : { token: sandbox.token },
      // Small values keep failing tests fast; tests about timeouts and retries set their own.
      timeoutMs: 2000,
      ...options.client,
      ...overrides,
    });
  return { sandbox, client: newClient(), newClient };
}

/** The sandbox's OAuth settings for `withSandbox`, with the shared credentials. */
export function oauthSandbox(extra: { expiresInSeconds?: number; legacyEndpointOnly?: boolean } = {}): NsSandboxOptions['oauth'] {
  return { ...OAUTH, ...extra };
}

/**
 * A URL nothing listens on: a sandbox's own, once closed, so a request there is refused before anything
 * is sent. Its port is picked below the kernel's ephemeral range (32768 and up on Linux): a port-0
 * sandbox of a concurrent test could otherwise be given the same port while a retry is pending.
 */
export async function closedUrl(): Promise<string> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 10_000);
    let sandbox: NsSandbox;
    try {
      sandbox = await startNsSandbox({ port });
    } catch {
      continue; // Taken: try another.
    }
    await sandbox.close();
    return sandbox.url;
  }
}

export interface PlainServer {
  url: string;
  /** `METHOD path` of every request received, in order. */
  requests: string[];
}

/**
 * A bare HTTP server on an ephemeral port, for answers NetSapiens would never send (an HTML page, a
 * body without end), which the sandbox cannot be made to give. It goes away when the test ends.
 */
export async function withPlainServer(
  t: ExecutionContext,
  handle: (request: IncomingMessage, response: ServerResponse) => void,
): Promise<PlainServer> {
  const requests: string[] = [];
  const url = await listenForTest(t, (request, response) => {
    requests.push(`${request.method ?? ''} ${new URL(request.url ?? '/', 'http://plain.invalid').pathname}`);
    // The body is read and dropped, so that the client's upload never waits on this server.
    request.resume();
    handle(request, response);
  });
  return { url, requests };
}

/** `handler` on a real HTTP server on 127.0.0.1, port 0, closed with its connections when the test ends; its origin. */
export async function listenForTest(t: ExecutionContext, handler: RequestListener): Promise<string> {
  const sockets = new Set<Socket>();
  const server = createServer(handler);
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      }),
  );
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

export function isTokenPath(path: string): boolean {
  return path === '/ns-api/v2/tokens' || /^\/ns-api\/oauth2\/token\/?$/.test(path);
}

export function tokenRequests(sandbox: NsSandbox): SandboxRequest[] {
  return sandbox.requests.filter((request) => isTokenPath(request.path));
}

export function apiRequests(sandbox: NsSandbox): SandboxRequest[] {
  return sandbox.requests.filter((request) => !isTokenPath(request.path));
}

/** Polls until `check` holds (for what the sandbox records only once a delayed answer is sent). */
export async function waitFor(check: () => boolean, timeoutMs = 3000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) return false;
    await sleep(20);
  }
  return true;
}

/** Awaits a promise that must reject, and returns what it rejected with (ava's `throwsAsync` wants an Error subclass known up front). */
export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('Expected the promise to reject, but it resolved');
}

/** The ways an error can end up in a log: each must be free of every secret. */
export function assertNoSecrets(t: ExecutionContext, error: unknown, secrets: readonly string[]): void {
  t.true(error instanceof Error, 'expected an Error');
  if (!(error instanceof Error)) return;
  t.true(secrets.length > 0);
  const views = {
    inspect: inspect(error, { depth: Infinity, showHidden: true }),
    json: JSON.stringify(error),
    cause: String(error.cause),
    stack: error.stack ?? '',
  };
  for (const secret of secrets) {
    // A short secret would match by accident; every one used here is long and random-looking.
    t.true(secret.length >= 16, `secret too short to search for: ${secret.length} characters`);
    for (const [view, text] of Object.entries(views)) {
      t.false(text.includes(secret), `${error.name}: ${view} holds a secret`);
    }
  }
}

export interface TokenSpy {
  /** Point the client here instead of at the sandbox. */
  url: string;
  /** `grant_type` of each token request, in order. */
  grants: string[];
  /** Content type of each token request, in order. */
  grantContentTypes: string[];
  /** Every bearer token presented and every access or refresh token issued. */
  tokens: Set<string>;
  close(): Promise<void>;
}

/**
 * A forwarding proxy in front of the sandbox that notes the OAuth traffic the sandbox keeps to itself
 * (it never logs token bodies): which grants were asked for, and which tokens were issued and used.
 * Leak checks need those tokens; refresh tests need the grant types.
 */
export async function startTokenSpy(t: ExecutionContext, target: string): Promise<TokenSpy> {
  const spy: Omit<TokenSpy, 'close' | 'url'> = { grants: [], grantContentTypes: [], tokens: new Set() };
  const sockets = new Set<Socket>();
  const server = createServer((incoming, outgoing) => {
    const bearer = /^Bearer (\S+)$/i.exec(incoming.headers.authorization ?? '')?.[1];
    if (bearer) spy.tokens.add(bearer);
    const chunks: Buffer[] = [];
    incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
    incoming.on('end', () => {
      const body = Buffer.concat(chunks);
      const path = new URL(incoming.url ?? '/', 'http://spy.invalid').pathname;
      if (isTokenPath(path)) noteGrant(spy, incoming.headers, body.toString('utf8'));
      const upstream = httpRequest(`${target}${incoming.url ?? '/'}`, { method: incoming.method, headers: incoming.headers }, (reply) => {
        const replyChunks: Buffer[] = [];
        reply.on('data', (chunk: Buffer) => replyChunks.push(chunk));
        reply.on('end', () => {
          const replyBody = Buffer.concat(replyChunks);
          if (isTokenPath(path)) noteIssued(spy, replyBody.toString('utf8'));
          outgoing.writeHead(reply.statusCode ?? 502, reply.headers);
          outgoing.end(replyBody);
        });
      });
      // The sandbox dropped the connection: drop ours too, so the client sees what it would have.
      upstream.on('error', () => incoming.socket.destroy());
      upstream.end(body);
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const close = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      for (const socket of sockets) socket.destroy();
    });
  t.teardown(close);
  return { ...spy, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close };
}

function noteGrant(spy: Omit<TokenSpy, 'close' | 'url'>, headers: IncomingHttpHeaders, text: string): void {
  const contentType = headers['content-type'] ?? '';
  spy.grantContentTypes.push(contentType);
  const fields: Record<string, unknown> = contentType.includes('json')
    ? (JSON.parse(text) as Record<string, unknown>)
    : Object.fromEntries(new URLSearchParams(text));
  spy.grants.push(String(fields.grant_type));
  if (typeof fields.refresh_token === 'string') spy.tokens.add(fields.refresh_token);
}

function noteIssued(spy: Omit<TokenSpy, 'close' | 'url'>, text: string): void {
  let reply: unknown;
  try {
    reply = JSON.parse(text);
  } catch {
    return;
  }
  if (typeof reply !== 'object' || reply === null) return;
  for (const field of ['access_token', 'refresh_token'] as const) {
    const value = (reply as Record<string, unknown>)[field];
    if (typeof value === 'string') spy.tokens.add(value);
  }
}
