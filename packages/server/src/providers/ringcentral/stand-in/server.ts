/**
 * The stand-in's state and HTTP side: `node:http`, answering RingCentral's token endpoint and the
 * subscription API as RingCentral does (rules in `rules.ts`), and posting notifications to subscribed
 * addresses as RingCentral does — its handshake on creation, the verification token on each
 * notification, and blacklisting after repeated failed deliveries.
 */
import { randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import {
  checkCreateSubscription,
  checkUpdateSubscription,
  DEFAULT_EXPIRES_IN,
  HANDSHAKE_TIMEOUT_MS,
  JWT_GRANT,
  rcError,
  type RingCentralErrorBody,
} from './rules.js';

/** The largest request body read: Beckon's are well under 1 KB. */
const MAX_BODY_BYTES = 65_536;
const SUBSCRIPTIONS = '/restapi/v1.0/subscription';

export type RingCentralStandInRoute =
  | 'token'
  | 'subscription.create'
  | 'subscription.list'
  | 'subscription.read'
  | 'subscription.update'
  | 'subscription.renew'
  | 'subscription.delete';

export interface RingCentralStandInFault {
  route: RingCentralStandInRoute;
  /** The status answered instead (with RingCentral's error body). */
  status: number;
  /** How many requests it applies to; default 1. */
  times?: number;
}

export interface StandInSubscription {
  id: string;
  status: 'Active' | 'Suspended' | 'Blacklisted';
  eventFilters: string[];
  address: string;
  /** What the subscriber set; sent back in `Verification-Token`. */
  verificationToken: string | undefined;
  creationTime: string;
  expirationTime: string;
  expiresIn: number;
  blacklistedData?: { reason: string; blacklistedAt: string };
  /** Failed deliveries in a row. */
  failures: number;
}

export interface StandInRequest {
  method: string;
  path: string;
  route: RingCentralStandInRoute | undefined;
  status: number;
  /** For the token endpoint: the `grant_type` asked for (the JWT grant, or `refresh_token`). */
  grant?: string;
}

export interface DeliveryResult {
  subscriptionId: string;
  uuid: string;
  /** Beckon's status, or `failed` when it did not answer (or the delivery was made to fail). */
  status: number | 'failed';
  body: string;
}

/** What the stand-in tells as it happens, for live demo pages. */
export interface RingCentralStandInEvents {
  /** A notification posted to a subscribed address, and how it went. */
  delivery: [{ at: string; result: DeliveryResult; envelope: Record<string, unknown> }];
  /** A subscription created (after its handshake passed). */
  subscription: [{ at: string; id: string; eventFilters: string[] }];
}

export interface StandInParts {
  clientId: string;
  clientSecret: string;
  jwt: string;
  /** The longest lifetime granted, whatever is asked. */
  maxExpiresIn: number | undefined;
  accessTokenSeconds: number;
  blacklistAfterFailures: number;
  deliveryTimeoutMs: number;
}

function sameSecret(presented: string, expected: string): boolean {
  const a = Buffer.from(presented, 'utf8');
  const b = Buffer.from(expected, 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}

interface Reply {
  status: number;
  body?: unknown;
}

const error = (status: number, body: RingCentralErrorBody | Record<string, string>): Reply => ({ status, body });
const notFound = () => error(404, rcError('CMN-102', 'Resource for parameter [subscriptionId] is not found', 'subscriptionId'));

export class RingCentralStandInServer {
  readonly subscriptions = new Map<string, StandInSubscription>();
  readonly requests: StandInRequest[] = [];
  readonly events = new EventEmitter<RingCentralStandInEvents>();
  readonly #faults: RingCentralStandInFault[] = [];
  readonly #accessTokens = new Map<string, number>();
  readonly #refreshTokens = new Set<string>();
  /** Each notification sent, by uuid, for redelivery. */
  readonly #sent = new Map<string, { subscriptionId: string; envelope: Record<string, unknown> }>();
  #failNext = 0;
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();

  constructor(private readonly parts: StandInParts) {
    this.#server = createServer((request, response) => void this.#handle(request, response));
    this.#server.on('connection', (socket) => {
      this.#sockets.add(socket);
      socket.on('close', () => this.#sockets.delete(socket));
    });
  }

  listen(port: number, host: string): Promise<AddressInfo> {
    return new Promise((resolve) => this.#server.listen(port, host, () => resolve(this.#server.address() as AddressInfo)));
  }

  close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }

  inject(fault: RingCentralStandInFault): void {
    if (!Number.isInteger(fault.status) || fault.status < 400 || fault.status > 599) throw new TypeError('status must be a 4xx or 5xx');
    this.#faults.push({ ...fault, times: fault.times ?? 1 });
  }

  clearFaults(): void {
    this.#faults.length = 0;
  }

  failDeliveries(count: number): void {
    this.#failNext += count;
  }

  /** Forgets every access token, as when RingCentral revokes them: the next API request is a 401. */
  revokeTokens(): void {
    this.#accessTokens.clear();
  }

  blacklist(id: string, reason: string): void {
    const subscription = this.subscriptions.get(id);
    if (!subscription) throw new TypeError(`No subscription ${id}`);
    subscription.status = 'Blacklisted';
    subscription.blacklistedData = { reason, blacklistedAt: new Date().toISOString() };
  }

  /** Posts a notification to one subscription as RingCentral does; counts a failure toward blacklisting. */
  async deliver(subscription: StandInSubscription, envelope: Record<string, unknown>): Promise<DeliveryResult> {
    const uuid = String(envelope.uuid);
    this.#sent.set(uuid, { subscriptionId: subscription.id, envelope });
    const result: DeliveryResult = { subscriptionId: subscription.id, uuid, status: 'failed', body: '' };
    if (this.#failNext > 0) {
      this.#failNext -= 1;
    } else {
      try {
        const response = await fetch(subscription.address, {
          method: 'POST',
          redirect: 'manual',
          signal: AbortSignal.timeout(this.parts.deliveryTimeoutMs),
          headers: {
            'content-type': 'application/json; charset=UTF-8',
            ...(subscription.verificationToken ? { 'verification-token': subscription.verificationToken } : {}),
          },
          body: JSON.stringify(envelope),
        });
        result.status = response.status;
        result.body = await response.text();
      } catch {
        // No answer in time, or none at all: a failed delivery.
      }
    }
    this.events.emit('delivery', { at: new Date().toISOString(), result, envelope });
    if (result.status === 200) subscription.failures = 0;
    else if ((subscription.failures += 1) >= this.parts.blacklistAfterFailures) {
      this.blacklist(subscription.id, `Delivery failed ${subscription.failures} times in a row (last: ${result.status})`);
    }
    return result;
  }

  /** The notification with `uuid` sent again, unchanged, to its subscription. */
  async redeliver(uuid: string): Promise<DeliveryResult> {
    const sent = this.#sent.get(uuid);
    const subscription = sent && this.subscriptions.get(sent.subscriptionId);
    if (!sent || !subscription) throw new TypeError(`No notification ${uuid} was sent to a subscription that still exists`);
    return this.deliver(subscription, sent.envelope);
  }

  async #handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://stand-in.invalid');
    const route = routeOf(request.method ?? 'GET', url.pathname);
    let reply: Reply;
    const raw = await readBody(request);
    if (raw === undefined) reply = error(413, rcError('CMN-101', 'The request body is too large'));
    else if (!route) reply = error(404, rcError('CMN-102', `Resource ${url.pathname} is not found`));
    else {
      const fault = this.#faults.find((candidate) => candidate.route === route.name);
      if (fault) {
        fault.times! -= 1;
        if (fault.times! <= 0) this.#faults.splice(this.#faults.indexOf(fault), 1);
        reply = error(fault.status, rcError(fault.status === 429 ? 'CMN-301' : 'CMN-211', `Injected fault: ${fault.status}`));
      } else {
        reply = await this.#answer(route.name, route.id, request, raw);
      }
    }
    const grant = route?.name === 'token' && raw ? new URLSearchParams(raw.toString('utf8')).get('grant_type') : null;
    this.requests.push({
      method: request.method ?? '',
      path: url.pathname,
      route: route?.name,
      status: reply.status,
      ...(grant ? { grant } : {}),
    });
    response.writeHead(reply.status, reply.body === undefined ? {} : { 'content-type': 'application/json' });
    response.end(reply.body === undefined ? undefined : JSON.stringify(reply.body));
  }

  async #answer(route: RingCentralStandInRoute, id: string | undefined, request: IncomingMessage, raw: Buffer): Promise<Reply> {
    if (route === 'token') return this.#token(request, raw);
    const bearer = /^Bearer +(\S+)$/i.exec(request.headers.authorization ?? '')?.[1];
    const until = bearer ? this.#accessTokens.get(bearer) : undefined;
    if (until === undefined || until < Date.now()) return error(401, rcError('TokenInvalid', 'Access token is invalid or expired'));
    const json = (): unknown => {
      if (raw.length === 0) return undefined;
      try {
        return JSON.parse(raw.toString('utf8'));
      } catch {
        return null;
      }
    };
    const subscription = id === undefined ? undefined : this.subscriptions.get(id);
    switch (route) {
      case 'subscription.list':
        return { status: 200, body: { uri: `${SUBSCRIPTIONS}`, records: [...this.subscriptions.values()].map(info) } };
      case 'subscription.create':
        return this.#create(json());
      case 'subscription.read':
        return subscription ? { status: 200, body: info(subscription) } : notFound();
      case 'subscription.update': {
        if (!subscription) return notFound();
        const checked = checkUpdateSubscription(json());
        if ('error' in checked) return error(400, checked.error);
        subscription.eventFilters = checked.eventFilters;
        this.#extend(subscription, checked.expiresIn ?? subscription.expiresIn);
        return { status: 200, body: info(subscription) };
      }
      case 'subscription.renew':
        if (!subscription) return notFound();
        this.#extend(subscription, subscription.expiresIn);
        return { status: 200, body: info(subscription) };
      case 'subscription.delete':
        if (!subscription) return notFound();
        this.subscriptions.delete(subscription.id);
        return { status: 204 };
    }
  }

  #token(request: IncomingMessage, raw: Buffer): Reply {
    const basic = /^Basic +([A-Za-z0-9+/=]+)$/i.exec(request.headers.authorization ?? '')?.[1];
    const [user, ...rest] = basic ? Buffer.from(basic, 'base64').toString('utf8').split(':') : [];
    if (!user || !sameSecret(user, this.parts.clientId) || !sameSecret(rest.join(':'), this.parts.clientSecret)) {
      return error(401, { error: 'invalid_client', error_description: 'Invalid client' });
    }
    if (!(request.headers['content-type'] ?? '').toLowerCase().startsWith('application/x-www-form-urlencoded')) {
      return error(415, { error: 'invalid_request', error_description: 'Content-Type must be application/x-www-form-urlencoded' });
    }
    const form = new URLSearchParams(raw.toString('utf8'));
    const grant = form.get('grant_type');
    if (grant === JWT_GRANT) {
      if (!sameSecret(form.get('assertion') ?? '', this.parts.jwt)) {
        return error(400, { error: 'invalid_grant', error_description: 'Invalid assertion' });
      }
    } else if (grant === 'refresh_token') {
      const refresh = form.get('refresh_token') ?? '';
      if (!this.#refreshTokens.delete(refresh)) return error(400, { error: 'invalid_grant', error_description: 'Token not found' });
    } else {
      return error(400, { error: 'unsupported_grant_type', error_description: 'Unsupported grant type' });
    }
    const accessToken = randomBytes(24).toString('base64url');
    const refreshToken = randomBytes(24).toString('base64url');
    this.#accessTokens.set(accessToken, Date.now() + this.parts.accessTokenSeconds * 1000);
    this.#refreshTokens.add(refreshToken);
    return {
      status: 200,
      body: {
        access_token: accessToken,
        token_type: 'bearer',
        expires_in: this.parts.accessTokenSeconds,
        refresh_token: refreshToken,
        refresh_token_expires_in: 604_799,
        scope: 'ReadPresence WebhookSubscriptions',
        owner_id: '101',
      },
    };
  }

  async #create(body: unknown): Promise<Reply> {
    const checked = checkCreateSubscription(body);
    if ('error' in checked) return error(400, checked.error);
    const handshake = await this.#handshake(checked.address);
    if (handshake) return error(400, handshake);
    const now = new Date();
    const subscription: StandInSubscription = {
      id: randomUUID(),
      status: 'Active',
      eventFilters: checked.eventFilters,
      address: checked.address,
      verificationToken: checked.verificationToken,
      creationTime: now.toISOString(),
      expirationTime: now.toISOString(),
      expiresIn: 0,
      failures: 0,
    };
    this.#extend(subscription, checked.expiresIn ?? DEFAULT_EXPIRES_IN);
    this.subscriptions.set(subscription.id, subscription);
    this.events.emit('subscription', { at: subscription.creationTime, id: subscription.id, eventFilters: subscription.eventFilters });
    return { status: 200, body: info(subscription) };
  }

  /** RingCentral's check of a WebHook address before it subscribes it: the error to answer, or undefined when it passed. */
  async #handshake(address: string): Promise<RingCentralErrorBody | undefined> {
    const token = randomUUID();
    try {
      const response = await fetch(address, {
        method: 'POST',
        redirect: 'manual',
        signal: AbortSignal.timeout(HANDSHAKE_TIMEOUT_MS),
        headers: { 'validation-token': token, 'content-type': 'application/json' },
      });
      const text = await response.text();
      if (response.status !== 200 || text.length > 1024) return rcError('SUB-525', 'WebHook server response is invalid');
      if (response.headers.get('validation-token') !== token) return rcError('SUB-520', 'Validation Token is not returned');
      return undefined;
    } catch {
      return rcError('SUB-525', 'WebHook server response is invalid');
    }
  }

  #extend(subscription: StandInSubscription, expiresIn: number): void {
    const granted = Math.min(expiresIn, this.parts.maxExpiresIn ?? expiresIn);
    subscription.expiresIn = granted;
    subscription.expirationTime = new Date(Date.now() + granted * 1000).toISOString();
  }
}

/** A subscription as the API shows it (`SubscriptionInfo`): never its verification token. */
export function info(subscription: StandInSubscription): Record<string, unknown> {
  return {
    uri: `https://platform.ringcentral.com${SUBSCRIPTIONS}/${subscription.id}`,
    id: subscription.id,
    creationTime: subscription.creationTime,
    status: subscription.status,
    eventFilters: subscription.eventFilters,
    expirationTime: subscription.expirationTime,
    expiresIn: Math.max(0, Math.round((Date.parse(subscription.expirationTime) - Date.now()) / 1000)),
    deliveryMode: { transportType: 'WebHook', encryption: false, address: subscription.address },
    ...(subscription.blacklistedData ? { blacklistedData: subscription.blacklistedData } : {}),
  };
}

function routeOf(method: string, path: string): { name: RingCentralStandInRoute; id?: string } | undefined {
  if (path === '/restapi/oauth/token' && method === 'POST') return { name: 'token' };
  if (path === SUBSCRIPTIONS) {
    if (method === 'GET') return { name: 'subscription.list' };
    if (method === 'POST') return { name: 'subscription.create' };
    return undefined;
  }
  const match = /^\/restapi\/v1\.0\/subscription\/([^/]+)(\/renew)?$/.exec(path);
  if (!match) return undefined;
  const id = decodeURIComponent(match[1]!);
  if (match[2]) return method === 'POST' ? { name: 'subscription.renew', id } : undefined;
  if (method === 'GET') return { name: 'subscription.read', id };
  if (method === 'PUT') return { name: 'subscription.update', id };
  if (method === 'DELETE') return { name: 'subscription.delete', id };
  return undefined;
}

function readBody(request: IncomingMessage): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    request.on('end', () => resolve(size > MAX_BODY_BYTES ? undefined : Buffer.concat(chunks)));
    request.on('error', () => resolve(undefined));
  });
}
