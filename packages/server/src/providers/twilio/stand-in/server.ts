/**
 * The stand-in's HTTP side: `node:http`, answering `POST /2010-04-01/Accounts/{AccountSid}/Messages.json`
 * and `…/Calls.json` as Twilio's REST API does (form-encoded in, HTTP Basic auth with AccountSid and auth
 * token, JSON out, Twilio's error bodies), recording every request and playing injected faults.
 */
import { timingSafeEqual } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseTwilioForm } from '../signature.js';
import type { FaultList, TwilioStandInRoute } from './faults.js';
import { callResource, messageResource } from './resources.js';
import { AUTHENTICATE, checkCallRequest, checkMessageRequest, twilioError, type FormParams, type TwilioErrorBody } from './rules.js';
import type { StandInState, TwilioStandInRequest } from './state.js';

/** The largest body read. Beckon's requests are well under 10 KB; this only keeps a runaway client from filling memory. */
export const MAX_BODY_BYTES = 1_048_576;

const RESOURCE_PATH = /^\/2010-04-01\/Accounts\/([^/]+)\/(Messages|Calls)\.json$/;
const BASIC = /^Basic +([A-Za-z0-9+/=]+) *$/i;
const FORM = 'application/x-www-form-urlencoded';

interface Reply {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
  /** Twilio's error code, for the request log. */
  errorCode?: number;
}

function errorReply(error: TwilioErrorBody, headers?: Record<string, string>): Reply {
  return { status: error.status, body: error, errorCode: error.code, ...(headers ? { headers } : {}) };
}

/** Equal strings, compared in constant time (credentials are secrets; their length is not worth hiding). */
function sameSecret(presented: string, expected: string): boolean {
  const a = Buffer.from(presented, 'utf8');
  const b = Buffer.from(expected, 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}

type BodyRead = { kind: 'read'; raw: Buffer } | { kind: 'too-large' } | { kind: 'aborted' };

function readBody(request: IncomingMessage): Promise<BodyRead> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        request.removeAllListeners('data');
        request.resume();
        resolve({ kind: 'too-large' });
      } else chunks.push(chunk);
    });
    request.on('end', () => resolve({ kind: 'read', raw: Buffer.concat(chunks) }));
    request.on('error', () => resolve({ kind: 'aborted' }));
    request.on('close', () => resolve({ kind: 'aborted' }));
  });
}

export interface StandInParts {
  accountSid: string;
  authToken: string;
  state: StandInState;
  faults: FaultList;
}

export class StandInServer {
  readonly #parts: StandInParts;
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  /** Aborted by close(): a fault's delay ends, so a closing stand-in acts on nothing more. */
  readonly #closing = new AbortController();
  #closed: Promise<void> | undefined;

  constructor(parts: StandInParts) {
    // Every delayed request listens on this one signal: many at once is expected, not a leak.
    setMaxListeners(0, this.#closing.signal);
    this.#parts = parts;
    this.#server = createServer((request, response) => {
      this.#handle(request, response).catch((problem: unknown) => {
        console.error('[twilio-stand-in] request failed:', problem instanceof Error ? problem.stack : String(problem));
        this.#send(response, errorReply(twilioError(500, 20500, 'Internal Server Error')));
      });
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
        // Once listening, a server error must not take the host process (a test run, a demo) down.
        this.#server.on('error', (problem) => console.error('[twilio-stand-in] server error:', problem.message));
        const address = this.#server.address();
        if (address && typeof address === 'object') resolve(address);
        else reject(new Error('The stand-in has no TCP address'));
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

  #send(response: ServerResponse, reply: Reply): void {
    if (response.headersSent || response.destroyed) return;
    const payload = JSON.stringify(reply.body);
    response.writeHead(reply.status, {
      ...reply.headers,
      'content-type': 'application/json; charset=utf-8',
      'content-length': String(Buffer.byteLength(payload)),
    });
    response.end(payload);
  }

  #credentialsValid(header: string | undefined): boolean {
    const encoded = header === undefined ? undefined : BASIC.exec(header)?.[1];
    if (encoded === undefined) return false;
    return sameSecret(Buffer.from(encoded, 'base64').toString('utf8'), `${this.#parts.accountSid}:${this.#parts.authToken}`);
  }

  /** Waits out a fault's delay; false when the stand-in closed meanwhile. */
  async #delay(ms: number): Promise<boolean> {
    try {
      await sleep(ms, undefined, { signal: this.#closing.signal });
      return true;
    } catch {
      return false;
    }
  }

  async #handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const at = new Date();
    const method = (request.method ?? 'GET').toUpperCase();
    const path = (request.url ?? '/').split('?')[0] ?? '/';
    const match = RESOURCE_PATH.exec(path);
    const route: TwilioStandInRoute | null = match ? (match[2] === 'Messages' ? 'messages' : 'calls') : null;
    const authorized = this.#credentialsValid(request.headers.authorization);

    const body = await readBody(request);
    if (body.kind === 'aborted') return;
    const mediaType = (request.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
    // Twilio reads form parameters only: a JSON body is a request without parameters.
    const params: FormParams = body.kind === 'read' && mediaType === FORM ? parseTwilioForm(body.raw) : {};
    const fault = route ? this.#parts.faults.take(route) : undefined;
    const entry = this.#parts.state.recordRequest({
      at: at.toISOString(),
      method,
      path,
      route,
      authorized,
      params,
      fault: fault !== undefined,
    });

    if (body.kind === 'too-large') {
      response.setHeader('connection', 'close');
      // Twilio documents no code for this; 20000 + status is the family of its generic errors.
      return this.#answer(response, entry, errorReply(twilioError(413, 20413, `The request body is larger than ${MAX_BODY_BYTES} bytes`)));
    }
    if (fault) {
      if (fault.delayMs !== undefined && !(await this.#delay(fault.delayMs))) return this.#hangUp(request, entry);
      if (fault.drop) return this.#hangUp(request, entry);
      if (fault.error) return this.#answer(response, entry, errorReply(fault.error));
    }
    this.#answer(response, entry, this.#reply(method, match?.[1], route, authorized, params, at));
  }

  #reply(
    method: string,
    pathAccountSid: string | undefined,
    route: TwilioStandInRoute | null,
    authorized: boolean,
    params: FormParams,
    at: Date,
  ): Reply {
    if (!route) return errorReply(twilioError(404, 20404, 'The requested resource was not found'));
    if (method !== 'POST') return errorReply(twilioError(405, 20004, 'Method not allowed: the stand-in creates messages and calls only'));
    if (!authorized || pathAccountSid !== this.#parts.accountSid) {
      return errorReply(AUTHENTICATE, { 'www-authenticate': 'Basic realm="Twilio API"' });
    }
    const { accountSid, state } = this.#parts;
    if (route === 'messages') {
      const refusal = checkMessageRequest(params);
      if (refusal) return errorReply(refusal);
      const resource = messageResource(accountSid, params, at);
      state.recordMessage(params, resource);
      return { status: 201, body: resource };
    }
    const refusal = checkCallRequest(params);
    if (refusal) return errorReply(refusal);
    const resource = callResource(accountSid, params, at);
    state.recordCall(params, resource);
    return { status: 201, body: resource };
  }

  #answer(response: ServerResponse, entry: TwilioStandInRequest, reply: Reply): void {
    this.#send(response, reply);
    this.#parts.state.answered(entry, reply.status, reply.errorCode ?? null);
  }

  #hangUp(request: IncomingMessage, entry: TwilioStandInRequest): void {
    request.socket.destroy();
    this.#parts.state.answered(entry, null, null);
  }
}
