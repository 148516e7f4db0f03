import { createServer, STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { setMaxListeners } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FaultAction, FaultList } from './faults.js';
import { callRoutes } from './routes/calls.js';
import { CONTROL_PREFIX, handleControl } from './routes/control.js';
import { sameSecret, tokenRoutes } from './routes/oauth.js';
import { provisioningRoutes } from './routes/provisioning.js';
import { error, matchRoute, NO_ROUTE, pathSegments, type BodyMode, type Reply, type Route, type RouteMatch, type SandboxSettings } from './routes/shared.js';
import type { SandboxRequest, SandboxState } from './state.js';

/** Bodies above this answer 413. */
export const MAX_BODY_BYTES = 1024 * 1024;
/** An oversized body is read to its end (so the client sees the 413) up to this much, then the connection is cut. */
const MAX_DRAIN_BYTES = 32 * 1024 * 1024;

const UNAUTHORIZED: Reply = { ...error(401, 'Unauthorized'), headers: { 'www-authenticate': 'Bearer' } };
const REDACTED = '[redacted]';
// Field and parameter names whose values never reach the request log.
const SECRET_NAME = /token|secret|passw|passcode|pin$|^authorization$|api[-_]?key/i;
const BEARER = /^Bearer +(\S+) *$/i;

export interface ServerOptions {
  state: SandboxState;
  faults: FaultList;
  settings: SandboxSettings;
  apiToken: string;
  /** Forgets everything (the control endpoint's reset). */
  reset(): void;
}

type BodyRead = { kind: 'ok'; data: Buffer } | { kind: 'too-large' } | { kind: 'aborted' };
type Parsed = { ok: true; value: unknown } | { ok: false; reply: Reply };

function readBody(request: IncomingMessage): Promise<BodyRead> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (result: BodyRead) => {
      if (done) return;
      done = true;
      resolve(result);
    };
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
      else if (size > MAX_DRAIN_BYTES) {
        request.socket.destroy();
        finish({ kind: 'aborted' });
      }
    });
    request.on('end', () => finish(size > MAX_BODY_BYTES ? { kind: 'too-large' } : { kind: 'ok', data: Buffer.concat(chunks) }));
    request.on('error', () => finish({ kind: 'aborted' }));
    request.on('close', () => finish({ kind: 'aborted' }));
  });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

async function parseForm(data: Buffer, contentType: string): Promise<Parsed> {
  try {
    // The global Response parses both multipart and url-encoded bodies, as a fetch client would.
    const form = await new Response(data, { headers: { 'content-type': contentType } }).formData();
    const fields: Record<string, string> = {};
    // Files are not fields of any route; a repeated name keeps its last value, as PHP does.
    for (const [name, value] of form) if (typeof value === 'string') fields[name] = value;
    return { ok: true, value: fields };
  } catch {
    return { ok: false, reply: error(400, 'Invalid form body') };
  }
}

async function parseBody(mode: BodyMode, data: Buffer, contentType: string): Promise<Parsed> {
  if (mode === 'none' || data.length === 0) return { ok: true, value: undefined };
  const type = (contentType.split(';')[0] ?? '').trim().toLowerCase();
  const isForm = type === 'multipart/form-data' || type === 'application/x-www-form-urlencoded';
  const text = data.toString('utf8');
  if (mode === 'form') {
    // Like PHP's $_POST: a body in any other encoding yields no fields.
    return isForm ? parseForm(data, contentType) : { ok: true, value: {} };
  }
  const json = mode === 'json' || type.includes('json') || (!isForm && /^\s*[[{]/.test(text));
  if (!json) return parseForm(data, contentType || 'application/x-www-form-urlencoded');
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    return { ok: false, reply: error(400, 'Invalid JSON in request body') };
  }
}

function send(response: ServerResponse, reply: Reply): void {
  if (response.headersSent || response.destroyed) return;
  const payload = reply.body === undefined ? '' : JSON.stringify(reply.body);
  response.writeHead(reply.status, {
    ...reply.headers,
    ...(reply.body === undefined ? {} : { 'content-type': 'application/json' }),
    'content-length': String(Buffer.byteLength(payload)),
  });
  response.end(payload);
}

function faultReply(fault: FaultAction, status: number): Reply {
  return { status, body: fault.body ?? { code: status, message: STATUS_CODES[status] ?? 'Error' } };
}

export class SandboxServer {
  readonly #options: ServerOptions;
  readonly #routes: readonly Route[];
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  /** Aborted by close(): cancels fault delays, so a closing sandbox does not act on requests any more. */
  readonly #closing = new AbortController();
  /** Known secrets (long enough not to be common words), scrubbed from anything logged. */
  readonly #secrets: string[];
  #closed: Promise<void> | undefined;

  constructor(options: ServerOptions) {
    // Every delayed request listens on this one signal: many at once is normal here, not a leak.
    setMaxListeners(0, this.#closing.signal);
    this.#options = options;
    this.#routes = [...tokenRoutes(options.settings.oauth), ...callRoutes, ...provisioningRoutes];
    const oauth = options.settings.oauth;
    this.#secrets = [options.apiToken, oauth?.clientSecret, oauth?.password].filter((secret): secret is string => (secret?.length ?? 0) >= 8);
    this.#server = createServer((request, response) => {
      this.#handle(request, response).catch((problem: unknown) => this.#fail(response, problem));
    });
    this.#server.on('connection', (socket) => {
      this.#sockets.add(socket);
      socket.on('close', () => this.#sockets.delete(socket));
    });
  }

  listen(port: number, host: string): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, host, () => {
        this.#server.off('error', reject);
        // Once listening, a server error must not take the host process down.
        this.#server.on('error', (problem) => console.error('[ns-sandbox] server error:', problem.message));
        const address = this.#server.address();
        if (address && typeof address === 'object') resolve(address);
        else reject(new Error('The sandbox server has no TCP address'));
      });
    });
  }

  close(): Promise<void> {
    this.#closed ??= new Promise((resolve) => {
      this.#closing.abort();
      this.#server.close(() => resolve());
      for (const socket of this.#sockets) socket.destroy();
    });
    return this.#closed;
  }

  #fail(response: ServerResponse, problem: unknown): void {
    console.error('[ns-sandbox] request failed:', problem instanceof Error ? problem.stack : String(problem));
    send(response, error(500, 'Internal Server Error'));
  }

  #isAuthorized(header: string | undefined): boolean {
    const token = header === undefined ? undefined : BEARER.exec(header)?.[1];
    if (token === undefined) return false;
    return sameSecret(token, this.#options.apiToken) || this.#options.state.isLiveAccessToken(token);
  }

  #scrubText(text: string): string {
    return this.#secrets.reduce((scrubbed, secret) => scrubbed.split(secret).join(REDACTED), text);
  }

  #scrub(value: unknown): unknown {
    if (typeof value === 'string') return this.#scrubText(value);
    if (Array.isArray(value)) return value.map((item) => this.#scrub(item));
    if (!isRecord(value)) return value;
    return Object.fromEntries(
      Object.entries(value).map(([name, item]) => [this.#scrubText(name), SECRET_NAME.test(name) ? REDACTED : this.#scrub(item)]),
    );
  }

  /** Waits out a fault's delay; false when the sandbox closed meanwhile. */
  async #delay(ms: number): Promise<boolean> {
    try {
      await sleep(ms, undefined, { signal: this.#closing.signal });
      return true;
    } catch {
      return false;
    }
  }

  async #handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const at = new Date().toISOString();
    const method = (request.method ?? 'GET').toUpperCase();
    const rawUrl = request.url ?? '/';
    let url: URL;
    try {
      url = new URL(rawUrl.startsWith('/') ? `http://sandbox.invalid${rawUrl}` : rawUrl);
    } catch {
      send(response, error(400, 'Malformed URL'));
      return;
    }
    if (url.pathname === CONTROL_PREFIX || url.pathname.startsWith(`${CONTROL_PREFIX}/`)) {
      await this.#handleControl(request, response, method, url.pathname);
      return;
    }

    const segments = pathSegments(url.pathname);
    const match = segments && matchRoute(this.#routes, method, segments, url.searchParams);
    const route = match?.route;
    const log: Omit<SandboxRequest, 'id' | 'status' | 'fault'> = {
      at,
      method,
      path: this.#scrubText(url.pathname),
      query: Object.fromEntries(
        [...url.searchParams].map(([name, value]) => [this.#scrubText(name), SECRET_NAME.test(name) ? REDACTED : this.#scrubText(value)]),
      ),
      route: route?.name ?? null,
      authorized: this.#isAuthorized(request.headers.authorization),
    };
    const read = await readBody(request);
    let body: unknown;
    let parsed: Parsed = { ok: true, value: undefined };
    if (read.kind === 'ok') {
      // An unknown route's body is still parsed, leniently, so that the log shows what was sent.
      parsed = await parseBody(route?.body ?? 'json-or-form', read.data, request.headers['content-type'] ?? '');
      if (parsed.ok && !route?.secretBody) body = this.#scrub(parsed.value);
    }
    const fault = read.kind === 'ok' ? this.#options.faults.take(method, url.pathname, route?.name ?? null) : undefined;
    const id = this.#options.state.recordRequest({ ...log, fault: fault !== undefined, ...(body === undefined ? {} : { body }) });
    const finish = (reply: Reply | null) => {
      if (reply) send(response, reply);
      else request.socket.destroy();
      this.#options.state.answerRequest(id, reply?.status ?? null);
    };

    if (read.kind === 'aborted') return finish(null);
    if (read.kind === 'too-large') return finish(error(413, 'Request body too large'));
    if (fault) {
      if (fault.delayMs !== undefined && !(await this.#delay(fault.delayMs))) return finish(null);
      if (fault.drop) return finish(null);
      if (fault.status !== undefined) return finish(faultReply(fault, fault.status));
    }
    let reply: Reply;
    try {
      reply = await this.#dispatch(segments, match, log.authorized, parsed, url.searchParams);
    } catch (problem) {
      console.error('[ns-sandbox] handler failed:', problem instanceof Error ? problem.stack : String(problem));
      reply = error(500, 'Internal Server Error');
    }
    finish(reply);
  }

  async #dispatch(
    segments: string[] | undefined,
    match: RouteMatch | undefined,
    authorized: boolean,
    parsed: Parsed,
    query: URLSearchParams,
  ): Promise<Reply> {
    if (!segments) return error(400, 'Malformed URL');
    if (!match) return NO_ROUTE;
    const { route, params } = match;
    if (route.auth && !authorized) return UNAUTHORIZED;
    if (!parsed.ok) return parsed.reply;
    const value = parsed.value ?? {};
    if (!isRecord(value)) return error(400, 'Request body must be a JSON object');
    return route.handle({ state: this.#options.state, settings: this.#options.settings, params, query, body: value });
  }

  async #handleControl(request: IncomingMessage, response: ServerResponse, method: string, pathname: string): Promise<void> {
    const read = await readBody(request);
    if (read.kind === 'aborted') return;
    if (read.kind === 'too-large') return send(response, error(413, 'Request body too large'));
    const parsed = await parseBody(method === 'POST' ? 'json' : 'none', read.data, request.headers['content-type'] ?? '');
    if (!parsed.ok) return send(response, parsed.reply);
    const { state, faults, reset } = this.#options;
    send(response, handleControl({ state, faults, reset }, method, pathname, parsed.value));
  }
}
