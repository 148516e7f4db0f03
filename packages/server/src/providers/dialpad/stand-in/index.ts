/**
 * A Dialpad stand-in for tests and demos: a local HTTP server answering the part of Dialpad's REST API
 * Beckon uses (`/api/v2/webhooks`, `/api/v2/subscriptions/call`, `/api/v2/subscriptions/sms`) with
 * Bearer auth, Dialpad's request rules (`rules.ts`), recorded requests and injected faults; and
 * `deliver`, which plays Dialpad's side of an event: the payload signed as an HS256 JWT with the
 * webhook's secret and posted to its `hook_url`. Point `DIALPAD_API_BASE` at `standIn.url`.
 */
import { timingSafeEqual, createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { SignJWT } from 'jose';
import { checkCallSubscription, checkCreateWebhook, checkSmsSubscription } from './rules.js';

const MAX_BODY_BYTES = 1_048_576;
/** Dialpad waits this long for a webhook's answer (then counts the delivery failed). */
export const DIALPAD_DELIVERY_TIMEOUT_MS = 5_000;

export interface StandInWebhook {
  id: string;
  hook_url: string;
  secret: string | undefined;
}

export interface StandInSubscription {
  id: string;
  kind: 'call' | 'sms';
  /** The webhook it sends to (`endpoint_id`, or the older `webhook_id`). */
  webhookId: string;
  body: Record<string, unknown>;
}

export interface StandInRequest {
  method: string;
  path: string;
  /** The JSON body as received (undefined without one). */
  body: unknown;
  status: number;
}

/** The endpoints a fault can target. */
export type DialpadStandInRoute = 'webhooks' | 'subscriptions';

export interface DialpadStandInFault {
  /** Default: any endpoint. */
  route?: DialpadStandInRoute;
  /** Default: any method. */
  method?: 'GET' | 'POST' | 'DELETE';
  /** How many matching requests it takes; default 1. */
  times?: number;
  /** Answer this status (400–599) with Dialpad's error body, having done nothing. */
  status?: number;
  /** Do the work (create the webhook…), then close the connection without an answer: the create that "may have been made". */
  dropAfterWork?: boolean;
}

export interface DeliveryResult {
  status: number;
  body: string;
  /** The JWT posted. */
  token: string;
}

export interface DialpadStandIn {
  /** `http://127.0.0.1:PORT`: the `DIALPAD_API_BASE` to give Beckon. */
  readonly url: string;
  readonly apiKey: string;
  readonly requests: readonly StandInRequest[];
  readonly webhooks: readonly StandInWebhook[];
  readonly subscriptions: readonly StandInSubscription[];
  inject(fault: DialpadStandInFault): void;
  /**
   * Dialpad's side of an event: `payload` signed (HS256, the webhook's secret) and posted to the webhook's
   * `hook_url` as `application/jwt`, waiting up to 5 s for the answer as Dialpad does. `webhookId` must be a
   * webhook with a secret and a subscription (a call subscription for a payload with `call_id`, else SMS).
   */
  deliver(webhookId: string, payload: Record<string, unknown>): Promise<DeliveryResult>;
  close(): Promise<void>;
}

/** A compact HS256 JWT of `payload` signed with `secret`, as Dialpad signs its events. */
export function signDialpadEvent(payload: Record<string, unknown>, secret: string): Promise<string> {
  return new SignJWT(payload).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).sign(new TextEncoder().encode(secret));
}

/** Posts a token to a URL as Dialpad does (`Content-Type: application/jwt`, 5 s timeout). */
export async function postDialpadToken(url: string, token: string): Promise<{ status: number; body: string }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/jwt' },
    body: token,
    signal: AbortSignal.timeout(DIALPAD_DELIVERY_TIMEOUT_MS),
  });
  return { status: response.status, body: await response.text() };
}

function sameSecret(given: string, expected: string): boolean {
  const digest = (value: string) => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(given), digest(expected));
}

const WEBHOOK_PATH = /^\/api\/v2\/webhooks(?:\/([^/]+))?$/;
const SUBSCRIPTION_PATH = /^\/api\/v2\/subscriptions\/(call|sms)$/;

export async function startDialpadStandIn(options: { apiKey: string; port?: number }): Promise<DialpadStandIn> {
  const { apiKey } = options;
  if (typeof apiKey !== 'string' || apiKey === '') throw new TypeError('apiKey must be a non-empty string');
  const requests: StandInRequest[] = [];
  const webhooks = new Map<string, StandInWebhook>();
  const subscriptions: StandInSubscription[] = [];
  const faults: (DialpadStandInFault & { remaining: number })[] = [];
  // Dialpad's ids are large int64s; these stay below 2^53.
  let nextId = 5_030_715_509_751_808;
  const sockets = new Set<Socket>();

  const takeFault = (route: DialpadStandInRoute, method: string) => {
    const index = faults.findIndex((fault) => (fault.route ?? route) === route && (fault.method ?? method) === method);
    const fault = faults[index];
    if (!fault) return undefined;
    fault.remaining -= 1;
    if (fault.remaining <= 0) faults.splice(index, 1);
    return fault;
  };

  const webhookView = (webhook: StandInWebhook) => ({
    id: Number(webhook.id),
    hook_url: webhook.hook_url,
    // Dialpad echoes the secret in its answers (WebhookProto.signature): Beckon must never log them.
    ...(webhook.secret ? { signature: { algo: 'HS256', type: 'jwt', secret: webhook.secret } } : {}),
  });

  type Reply = { status: number; body: unknown; afterWork?: 'drop' };
  const error = (status: number, message: string): Reply => ({ status, body: { error: { code: status, message } } });

  const handle = (method: string, path: string, body: unknown): Reply => {
    const webhookPath = WEBHOOK_PATH.exec(path);
    const subscriptionPath = SUBSCRIPTION_PATH.exec(path);
    if (webhookPath && !webhookPath[1] && method === 'POST') {
      const problem = checkCreateWebhook(body);
      if (problem) return error(400, problem);
      const { hook_url, secret } = body as { hook_url: string; secret?: string | null };
      const webhook = { id: String((nextId += 1)), hook_url, secret: secret ?? undefined };
      webhooks.set(webhook.id, webhook);
      return { status: 200, body: webhookView(webhook) };
    }
    if (webhookPath && !webhookPath[1] && method === 'GET')
      return { status: 200, body: { items: [...webhooks.values()].map(webhookView) } };
    if (webhookPath?.[1] && (method === 'GET' || method === 'DELETE')) {
      const webhook = webhooks.get(webhookPath[1]);
      if (!webhook) return error(404, 'Webhook not found');
      if (method === 'DELETE') webhooks.delete(webhook.id);
      return { status: 200, body: webhookView(webhook) };
    }
    if (subscriptionPath && method === 'POST') {
      const kind = subscriptionPath[1] as 'call' | 'sms';
      const problem = kind === 'call' ? checkCallSubscription(body) : checkSmsSubscription(body);
      if (problem) return error(400, problem);
      const fields = body as Record<string, unknown>;
      const link = fields.endpoint_id ?? fields.webhook_id;
      const webhook = link === undefined || link === null ? undefined : webhooks.get(String(link));
      if (!webhook) return error(400, 'endpoint_id must be the id of one of the company’s webhooks');
      const subscription: StandInSubscription = { id: String((nextId += 1)), kind, webhookId: webhook.id, body: fields };
      subscriptions.push(subscription);
      return {
        status: 200,
        body: {
          id: Number(subscription.id),
          enabled: fields.enabled ?? true,
          ...(kind === 'call' ? { call_states: fields.call_states ?? [] } : { direction: fields.direction }),
          webhook: webhookView(webhook),
        },
      };
    }
    return error(404, `No ${method} ${path}`);
  };

  const readBody = (request: IncomingMessage) =>
    new Promise<Buffer | undefined>((resolve) => {
      const chunks: Buffer[] = [];
      let size = 0;
      request.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size <= MAX_BODY_BYTES) chunks.push(chunk);
      });
      request.on('end', () => resolve(size > MAX_BODY_BYTES ? undefined : Buffer.concat(chunks)));
      request.on('error', () => resolve(undefined));
    });

  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    void (async () => {
      const method = request.method ?? 'GET';
      const path = (request.url ?? '/').split('?')[0]!;
      const raw = await readBody(request);
      let body: unknown;
      let reply: Reply;
      const bearer = /^Bearer +(\S+) *$/i.exec(request.headers.authorization ?? '')?.[1];
      try {
        body = raw && raw.length > 0 ? JSON.parse(raw.toString('utf8')) : undefined;
      } catch {
        body = raw?.toString('utf8');
      }
      const route: DialpadStandInRoute | undefined = path.startsWith('/api/v2/webhooks')
        ? 'webhooks'
        : path.startsWith('/api/v2/subscriptions/')
          ? 'subscriptions'
          : undefined;
      const fault = route && takeFault(route, method);
      if (!bearer || !sameSecret(bearer, apiKey)) reply = error(401, 'Invalid API key');
      else if (raw === undefined) reply = error(413, 'Request too large');
      else if (method === 'POST' && body !== undefined && !/^application\/json\b/i.test(request.headers['content-type'] ?? ''))
        reply = error(400, 'Send JSON (Content-Type: application/json)');
      else if (fault?.status) reply = error(fault.status, fault.status === 429 ? 'Rate limit exceeded' : 'Dialpad had a problem');
      else reply = handle(method, path, typeof body === 'string' ? null : body);
      requests.push({ method, path, body, status: fault?.dropAfterWork ? 0 : reply.status });
      if (fault?.dropAfterWork) {
        request.socket.destroy();
        return;
      }
      response.writeHead(reply.status, { 'content-type': 'application/json' });
      response.end(JSON.stringify(reply.body));
    })();
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    apiKey,
    get requests() {
      return [...requests];
    },
    get webhooks() {
      return [...webhooks.values()];
    },
    get subscriptions() {
      return [...subscriptions];
    },
    inject(fault) {
      if (fault.status !== undefined && (!Number.isInteger(fault.status) || fault.status < 400 || fault.status > 599)) {
        throw new TypeError('fault.status must be an HTTP error status from 400 to 599');
      }
      if (fault.status === undefined && !fault.dropAfterWork) throw new TypeError('A fault needs status or dropAfterWork');
      faults.push({ ...fault, remaining: fault.times ?? 1 });
    },
    async deliver(webhookId, payload) {
      const webhook = webhooks.get(webhookId);
      if (!webhook) throw new Error(`No webhook ${webhookId}`);
      if (!webhook.secret) throw new Error(`Webhook ${webhookId} has no secret: Dialpad would send plain JSON`);
      const kind = payload.call_id !== undefined ? 'call' : 'sms';
      if (!subscriptions.some((subscription) => subscription.webhookId === webhookId && subscription.kind === kind)) {
        throw new Error(`Webhook ${webhookId} has no ${kind} subscription: Dialpad would send nothing`);
      }
      const token = await signDialpadEvent(payload, webhook.secret);
      return { ...(await postDialpadToken(webhook.hook_url, token)), token };
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
