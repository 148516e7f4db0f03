import type { Logger } from 'pino';
import type { BackgroundTasks } from '../background.js';
import type { Database } from '../db/database.js';
import { matchCallLater } from '../events/customer-match.js';
import { defaultCountry, e164 } from '../events/phone.js';
import { maskPhone } from '../logging.js';
import type { TenantStore } from '../tenants/store.js';
import { checkCustomer, CustomerInputError, type CustomerRow } from './upsert.js';

export interface CustomerLookupOptions {
  db: Database;
  tenants: Pick<TenantStore, 'get'>;
  logger: Logger;
  /** Where lookups run: never on a request's path, and drained at shutdown. */
  background: Pick<BackgroundTasks, 'run'>;
  /** How long one lookup may take, answer included (default 1 s). */
  timeoutMs?: number;
  /** The largest answer read (default 16 KiB); a larger one is refused. */
  maxBytes?: number;
  /** How long an answer is reused for the same id and number (default 5 minutes). */
  ttlMs?: number;
  /** Answers kept at most (default 10 000); the oldest go first. */
  maxEntries?: number;
}

/** What a lookup URL said of a number: a customer, or that it knows none (null). */
type Answer = CustomerRow | null;

export interface CustomerLookup {
  /**
   * After a delivery's calls are stored (committed): for an id with `customer_lookup_url`, the calls of
   * `eventIds` that no stored customer matched are looked up in the background. Returns at once,
   * without touching the database or the network: the webhook's answer never waits for a lookup.
   */
  afterDelivery(tenant: string, eventIds: readonly number[]): void;
  /** Looks a number up (through the cache); for tests and `afterDelivery`. Undefined when the lookup failed. */
  lookup(tenant: string, url: string, phone: string): Promise<Answer | undefined>;
}

/** The lookup URL did not give a usable answer; the message says why, without the URL's query. */
class LookupFailed extends Error {
  override name = 'LookupFailed';
}

/**
 * An id's `customer_lookup_url`, asked `GET <url>?phone=<E.164>` for callers no stored customer
 * matched. The answer is a customer as `POST /internal/customers` takes one (`external_id` required),
 * or `null` / 404 / 204 for none. Each answer (either kind) is cached per id and number for `ttlMs`;
 * a failure (timeout, an error status, a refused answer) is logged and not cached, so the next call asks again.
 */
export function createCustomerLookup(options: CustomerLookupOptions): CustomerLookup {
  const { db, tenants, logger, background } = options;
  const timeoutMs = options.timeoutMs ?? 1_000;
  const maxBytes = options.maxBytes ?? 16_384;
  const ttlMs = options.ttlMs ?? 300_000;
  const maxEntries = options.maxEntries ?? 10_000;
  // A Map iterates in insertion order: re-inserting on write keeps the oldest entry first, to evict.
  const cache = new Map<string, { answer: Answer; expires: number }>();
  // One request per id and number at a time: a call's ringing and answered records arrive together.
  const inFlight = new Map<string, Promise<Answer | undefined>>();

  function remember(key: string, answer: Answer): void {
    cache.delete(key);
    cache.set(key, { answer, expires: Date.now() + ttlMs });
    while (cache.size > maxEntries) cache.delete(cache.keys().next().value!);
  }

  async function lookup(tenant: string, url: string, phone: string): Promise<Answer | undefined> {
    // The URL is part of the key: a changed setting is not answered from the old one's cache.
    const key = `${tenant}\n${url}\n${phone}`;
    const cached = cache.get(key);
    if (cached && cached.expires > Date.now()) return cached.answer;
    if (cached) cache.delete(key);
    let pending = inFlight.get(key);
    if (!pending) {
      pending = ask(url, phone, defaultCountry(tenants.get(tenant)))
        .then((answer) => {
          remember(key, answer);
          return answer;
        })
        .catch((error: unknown) => {
          logger.warn(
            { id: tenant, phone: maskPhone(phone), lookup: new URL(url).origin, reason: (error as Error).message },
            'customer lookup failed',
          );
          return undefined;
        })
        .finally(() => inFlight.delete(key));
      inFlight.set(key, pending);
    }
    return pending;
  }

  async function ask(url: string, phone: string, country: ReturnType<typeof defaultCountry>): Promise<Answer> {
    const target = new URL(url);
    target.searchParams.set('phone', phone);
    let response: Response;
    // One deadline for the whole exchange: a server that sends its headers and then trickles the body is cut too.
    const signal = AbortSignal.timeout(timeoutMs);
    try {
      response = await fetch(target, { signal, redirect: 'error', headers: { accept: 'application/json' } });
    } catch (error) {
      throw new LookupFailed(signal.aborted ? `no answer within ${timeoutMs} ms` : `unreachable (${(error as Error).message})`);
    }
    if (response.status === 404 || response.status === 204) {
      await response.body?.cancel();
      return null;
    }
    if (response.status !== 200) {
      await response.body?.cancel();
      throw new LookupFailed(`answered ${response.status}`);
    }
    const text = await readCapped(response, maxBytes, signal, timeoutMs);
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch {
      throw new LookupFailed('answered something other than JSON');
    }
    if (data === null) return null;
    try {
      return checkCustomer(data, country, 'the answer');
    } catch (error) {
      if (error instanceof CustomerInputError) throw new LookupFailed(error.message);
      throw error;
    }
  }

  async function matchLater(tenant: string, eventIds: readonly number[]): Promise<void> {
    const url = tenants.get(tenant)?.customer_lookup_url;
    if (!url) return;
    // Calls still unmatched now (a lookup of an earlier delivery may have matched one meanwhile).
    const { rows } = await db.query<{ id: number; from_number: string }>(
      `SELECT DISTINCT c.id, c.from_number FROM call_events e JOIN calls c ON c.id = e.call_id
       WHERE e.id = ANY($1::bigint[]) AND c.tenant = $2 AND c.customer_id IS NULL AND c.direction = 'inbound' AND c.from_number LIKE '+%'`,
      [eventIds, tenant],
    );
    const country = defaultCountry(tenants.get(tenant));
    const byNumber = new Map<string, number[]>();
    for (const call of rows) {
      // Stored as E.164 only when it is a valid number; anything else (an extension) is not looked up.
      if (e164(call.from_number, country) === call.from_number)
        byNumber.set(call.from_number, [...(byNumber.get(call.from_number) ?? []), call.id]);
    }
    for (const [phone, callIds] of byNumber) {
      const answer = await lookup(tenant, url, phone);
      if (!answer) continue;
      const customerId = await storeLookedUp(db, tenant, answer);
      for (const callId of callIds) {
        const eventId = await matchCallLater(db, callId, customerId);
        logger.debug({ id: tenant, callId, customer: answer.external_id, eventId }, 'customer matched by lookup');
      }
    }
  }

  return {
    lookup,
    afterDelivery(tenant, eventIds) {
      if (eventIds.length === 0) return;
      let url: string | undefined;
      try {
        url = tenants.get(tenant)?.customer_lookup_url;
      } catch {
        return;
      }
      if (!url) return;
      background.run('customer lookup', () => matchLater(tenant, eventIds));
    },
  };
}

/**
 * Stores a lookup's customer by `external_id` so the call can point at it: name, e-mail and URL as the
 * lookup says now. Its number is not stored (a known customer's stays as imported): a caller matched by
 * lookup is asked about again once the cached answer expires, so changes in the other system show.
 */
async function storeLookedUp(db: Database, tenant: string, customer: CustomerRow): Promise<number> {
  const { rows } = await db.query<{ id: number }>(
    `INSERT INTO customers (tenant, external_id, name, email, url) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (tenant, external_id) DO UPDATE SET name = EXCLUDED.name, email = EXCLUDED.email, url = EXCLUDED.url, updated_at = now()
     RETURNING id`,
    [tenant, customer.external_id, customer.name, customer.email, customer.url],
  );
  return rows[0]!.id;
}

/** The body as text, refusing one past `maxBytes` (by its Content-Length, or as it arrives). */
async function readCapped(response: Response, maxBytes: number, signal: AbortSignal, timeoutMs: number): Promise<string> {
  const tooLarge = () => new LookupFailed(`answered more than ${maxBytes} bytes`);
  const declared = Number(response.headers.get('content-length'));
  if (declared > maxBytes) {
    await response.body?.cancel();
    throw tooLarge();
  }
  if (!response.body) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > maxBytes) {
        await reader.cancel();
        throw tooLarge();
      }
      chunks.push(value);
    }
  } catch (error) {
    if (error instanceof LookupFailed) throw error;
    throw new LookupFailed(signal.aborted ? `no answer within ${timeoutMs} ms` : `the answer was cut (${(error as Error).message})`);
  }
  return Buffer.concat(chunks).toString('utf8');
}
