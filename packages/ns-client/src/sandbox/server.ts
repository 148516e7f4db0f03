import { createServer, STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { setMaxListeners } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { readBody, type Body } from './body.js';
import type { FaultAction } from './faults.js';
import { callRoutes } from './routes/calls.js';
import { controlRoutes, isControlPath } from './routes/control.js';
import { sameSecret, tokenRoutes } from './routes/oauth.js';
import { provisioningRoutes } from './routes/provisioning.js';
import { subscriptionRoutes } from './routes/subscriptions.js';
import { error, matchRoute, NO_ROUTE, pathSegments, type Reply, type Route, type RouteMatch, type SandboxParts } from './routes/shared.js';
import { isRecord } from './schemas.js';

const UNAUTHORIZED: Reply = { ...error(401, 'Unauthorized'), headers: { 'www-authenticate': 'Bearer' } };
const REDACTED = '[redacted]';
// Field and parameter names whose values never reach the request log.
const SECRET_NAME = /token|secret|passw|passcode|pin$|^authorization$|api[-_]?key/i;
const BEARER = /^Bearer +(\S+) *$/i;
/** `?name=value` and `&name=value` inside a string: a URL in a body, such as a subscription's post-url. */
const QUERY_PAIR = /([?&])([^=&#\s"]+)=([^&#\s"]*)/g;

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
  return {
    status,
    body: fault.body ?? { code: status, message: STATUS_CODES[status] ?? 'Error' },
    ...(fault.retryAfter !== undefined ? { headers: { 'retry-after': String(fault.retryAfter) } } : {}),
  };
}

export class SandboxServer {
  readonly #parts: SandboxParts;
  /** The API key accepted as a bearer token. */
  readonly #apiToken: string;
  readonly #routes: readonly Route[];
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  /** Aborted by close(): cancels fault delays, so a closing sandbox does not act on requests any more. */
  readonly #closing = new AbortController();
  /** Known secrets (long enough not to be common words), scrubbed from anything logged. */
  readonly #secrets: string[];
  #closed: Promise<void> | undefined;

  constructor(parts: SandboxParts, apiToken: string) {
    // Every delayed request listens on this one signal: many at once is normal here, not a leak.
    setMaxListeners(0, this.#closing.signal);
    this.#parts = parts;
    this.#apiToken = apiToken;
    const oauth = parts.settings.oauth;
    this.#routes = [...tokenRoutes(oauth), ...callRoutes, ...provisioningRoutes, ...subscriptionRoutes];
    this.#secrets = [apiToken, oauth?.clientSecret, oauth?.password].filter((secret): secret is string => (secret?.length ?? 0) >= 8);
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
    return sameSecret(token, this.#apiToken) || this.#parts.state.isLiveAccessToken(token);
  }

  #scrubText(text: string): string {
    return this.#secrets.reduce((scrubbed, secret) => scrubbed.split(secret).join(REDACTED), text);
  }

  /** A string value of a body: known secrets, and the values of secret-looking query parameters of a URL in it. */
  #scrubValue(text: string): string {
    return this.#scrubText(text).replace(QUERY_PAIR, (pair, lead: string, name: string) =>
      SECRET_NAME.test(name) ? `${lead}${name}=${REDACTED}` : pair,
    );
  }

  #scrub(value: unknown): unknown {
    if (typeof value === 'string') return this.#scrubValue(value);
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
    // The control endpoints are the harness's own: they are routed and read alike, but never faulted or logged.
    const logged = !isControlPath(url.pathname);
    const segments = pathSegments(url.pathname);
    const match = segments && matchRoute(logged ? this.#routes : controlRoutes, method, segments, url.searchParams);
    const name = match?.route.name ?? null;
    const authorized = this.#isAuthorized(request.headers.authorization);
    // An unknown route's body is still parsed, leniently, so that the log shows what was sent.
    const body = await readBody(request, match?.route.body ?? 'json-or-form');
    const arrived = body.kind === 'parsed' || body.kind === 'invalid';
    const fault = logged && arrived ? this.#parts.faults.take(method, url.pathname, name) : undefined;
    let id: number | undefined;
    if (logged) {
      id = this.#parts.state.recordRequest({
        at,
        method,
        path: this.#scrubText(url.pathname),
        query: Object.fromEntries(
          [...url.searchParams].map(([key, value]) => [this.#scrubText(key), SECRET_NAME.test(key) ? REDACTED : this.#scrubText(value)]),
        ),
        route: name,
        authorized,
        fault: fault !== undefined,
        ...(body.kind === 'parsed' && body.value !== undefined && !match?.route.secretBody ? { body: this.#scrub(body.value) } : {}),
      });
    }
    const finish = (reply: Reply | null) => {
      if (reply) send(response, reply);
      else request.socket.destroy();
      if (id !== undefined) this.#parts.state.answerRequest(id, reply?.status ?? null);
    };

    if (!arrived) return finish(body.kind === 'too-large' ? error(413, 'Request body too large') : null);
    if (fault) {
      if (fault.delayMs !== undefined && !(await this.#delay(fault.delayMs))) return finish(null);
      if (fault.drop) return finish(null);
      if (fault.status !== undefined) return finish(faultReply(fault, fault.status));
    }
    let reply: Reply;
    try {
      reply = await this.#dispatch(segments, match, authorized, body, url.searchParams);
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
    body: Extract<Body, { kind: 'parsed' | 'invalid' }>,
    query: URLSearchParams,
  ): Promise<Reply> {
    if (!segments) return error(400, 'Malformed URL');
    if (!match) return NO_ROUTE;
    const { route, params } = match;
    if (route.auth && !authorized) return UNAUTHORIZED;
    if (body.kind === 'invalid') return body.reply;
    const value = body.value ?? {};
    if (!isRecord(value)) return error(400, 'Request body must be a JSON object');
    return route.handle({ ...this.#parts, params, query, body: value });
  }
}
