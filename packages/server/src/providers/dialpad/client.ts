import { setTimeout as sleep } from 'node:timers/promises';

/**
 * The Dialpad REST calls Beckon makes (`/api/v2/webhooks`, `/api/v2/subscriptions/{call,sms}`) over
 * `fetch`, with `Authorization: Bearer <DIALPAD_API_KEY>` (never `?apikey=`: a key in a URL ends up in
 * logs). Reads and deletes are retried on 429, 5xx and network failures, with jittered exponential
 * backoff (honouring `Retry-After`); creates never are, since a create that failed on the way back may
 * have been made. Errors carry Dialpad's status and message, never the key, and never the webhook
 * secret Dialpad echoes in its answers.
 */

export interface DialpadClientOptions {
  apiKey: string;
  /** `https://dialpad.com` (or `https://sandbox.dialpad.com`, or a stand-in's URL). */
  baseUrl: string;
  /** How long one request may take. Default 10 s. */
  timeoutMs?: number;
  /** Tries of an idempotent request in all. Default 4. */
  attempts?: number;
  /** The first retry's wait, doubled after each; default 500 ms. */
  backoffMs?: number;
}

export class DialpadError extends Error {
  override name = 'DialpadError';
  constructor(
    message: string,
    /** Dialpad's HTTP status; undefined when it did not answer. */
    readonly status: number | undefined,
  ) {
    super(message);
  }
}

export interface DialpadWebhook {
  id: string;
  hookUrl: string;
}

export interface DialpadSubscription {
  id: string;
}

export interface DialpadClient {
  webhooks: {
    create(webhook: { hookUrl: string; secret: string }): Promise<DialpadWebhook>;
    list(): Promise<DialpadWebhook[]>;
    delete(id: string): Promise<void>;
  };
  subscriptions: {
    createCall(subscription: { endpointId: string; callStates: readonly string[] }): Promise<DialpadSubscription>;
    createSms(subscription: {
      endpointId: string;
      direction: 'all' | 'inbound' | 'outbound';
      status: boolean;
    }): Promise<DialpadSubscription>;
  };
}

const MAX_RETRY_AFTER_MS = 30_000;

export function createDialpadClient(options: DialpadClientOptions): DialpadClient {
  const base = `${options.baseUrl.replace(/\/+$/, '')}/api/v2`;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const attempts = options.attempts ?? 4;
  const backoffMs = options.backoffMs ?? 500;

  const once = async (method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown; retryAfterMs?: number }> => {
    let response: Response;
    try {
      response = await fetch(base + path, {
        method,
        redirect: 'error',
        signal: AbortSignal.timeout(timeoutMs),
        headers: {
          authorization: `Bearer ${options.apiKey}`,
          accept: 'application/json',
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
      });
    } catch (error) {
      const reason = (error as Error).name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : (error as Error).message;
      throw new DialpadError(`Dialpad (${method} ${path}) could not be reached: ${reason}`, undefined);
    }
    const text = await response.text();
    let json: unknown;
    try {
      json = text === '' ? undefined : JSON.parse(text);
    } catch {
      json = undefined;
    }
    const retryAfter = Number(response.headers.get('retry-after'));
    return {
      status: response.status,
      json,
      ...(Number.isFinite(retryAfter) && retryAfter >= 0 ? { retryAfterMs: retryAfter * 1000 } : {}),
    };
  };

  const failure = (method: string, path: string, status: number, json: unknown) => {
    const error = (json as { error?: { message?: unknown } } | undefined)?.error;
    const said = typeof error?.message === 'string' ? `: ${error.message.slice(0, 300)}` : '';
    return new DialpadError(`Dialpad answered ${status} to ${method} ${path}${said}`, status);
  };

  const request = async (method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<unknown> => {
    const idempotent = method !== 'POST';
    for (let attempt = 1; ; attempt += 1) {
      let result: Awaited<ReturnType<typeof once>> | undefined;
      let unreachable: DialpadError | undefined;
      try {
        result = await once(method, path, body);
      } catch (error) {
        unreachable = error as DialpadError;
      }
      const retryable = unreachable !== undefined || result!.status === 429 || result!.status >= 500;
      if (!retryable && result!.status < 300) return result!.json;
      if (!retryable || !idempotent || attempt >= attempts) throw unreachable ?? failure(method, path, result!.status, result!.json);
      const backoff = backoffMs * 2 ** (attempt - 1) * (0.5 + Math.random() / 2);
      await sleep(Math.min(MAX_RETRY_AFTER_MS, Math.max(backoff, result?.retryAfterMs ?? 0)));
    }
  };

  const idOf = (json: unknown, what: string): string => {
    const id = (json as { id?: unknown } | undefined)?.id;
    if (typeof id === 'number' || (typeof id === 'string' && /^\d+$/.test(id))) return String(id);
    throw new DialpadError(`Dialpad created the ${what} but its answer has no id`, 200);
  };

  return {
    webhooks: {
      async create({ hookUrl, secret }) {
        const json = await request('POST', '/webhooks', { hook_url: hookUrl, secret });
        return { id: idOf(json, 'webhook'), hookUrl };
      },
      async list() {
        const items: DialpadWebhook[] = [];
        let cursor: string | undefined;
        for (let page = 0; page < 100; page += 1) {
          const json = (await request('GET', `/webhooks${cursor ? `?cursor=${encodeURIComponent(cursor)}` : ''}`)) as
            { items?: { id?: unknown; hook_url?: unknown }[]; cursor?: unknown } | undefined;
          for (const item of json?.items ?? []) {
            if (item.id !== undefined) items.push({ id: String(item.id), hookUrl: typeof item.hook_url === 'string' ? item.hook_url : '' });
          }
          if (typeof json?.cursor !== 'string' || json.cursor === '') return items;
          cursor = json.cursor;
        }
        return items;
      },
      async delete(id) {
        await request('DELETE', `/webhooks/${encodeURIComponent(id)}`);
      },
    },
    subscriptions: {
      async createCall({ endpointId, callStates }) {
        const json = await request('POST', '/subscriptions/call', withEndpoint(endpointId, { call_states: callStates, enabled: true }));
        return { id: idOf(json, 'call subscription') };
      },
      async createSms({ endpointId, direction, status }) {
        const json = await request('POST', '/subscriptions/sms', withEndpoint(endpointId, { direction, status, enabled: true }));
        return { id: idOf(json, 'SMS subscription') };
      },
    },
  };
}

/**
 * A subscription's body with `endpoint_id` (the current spec's name of the webhook link; older docs say
 * `webhook_id`) written as the JSON integer Dialpad's int64 is: its ids can pass 2^53, where a JS number would round.
 */
function withEndpoint(endpointId: string, fields: Record<string, unknown>): string {
  if (!/^\d{1,19}$/.test(endpointId))
    throw new DialpadError(`${JSON.stringify(endpointId.slice(0, 40))} is not a Dialpad webhook id`, undefined);
  return `{"endpoint_id":${endpointId},${JSON.stringify(fields).slice(1)}`;
}
