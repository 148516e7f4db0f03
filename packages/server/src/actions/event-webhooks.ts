import { createHmac } from 'node:crypto';
import type { Logger } from 'pino';
import { CALL_COLUMNS, CUSTOMER_JOIN, callView, type CallRow, type CallView } from '../api/call-view.js';
import type { Database, Queryable } from '../db/database.js';
import type { TenantStore } from '../tenants/store.js';
import { startWorker, type Worker, type WorkerOptions } from './worker.js';

/**
 * Outgoing call-event webhooks: every call event of an id is POSTed to each of the id's
 * `event_webhooks` receivers, signed as the Standard Webhooks specification says, at least once, in
 * order per call and receiver, across restarts and instances.
 *
 * How: an outbox in the database (migration 0003). Each round first turns the call events recorded
 * since the last round into one row per receiver (under an advisory lock, with a cursor, so two
 * instances never add a row twice), then claims due rows for a short lease (`FOR UPDATE SKIP LOCKED`,
 * so two instances never send one at the same time), sends them, and records the outcome: delivered,
 * or tried again after the next delay of `retryDelaysMs`, or given up after the last. A row is claimed
 * only when its call's earlier events for that receiver are settled, so a receiver sees a call's events
 * in order. Signing is the few lines of HMAC below; receivers verify with any Standard Webhooks library.
 */

/** One receiver of an id's call events, as `event_webhooks` in the id's config holds it. */
export interface EventWebhook {
  /** Where the events are POSTed. */
  url: string;
  /** `whsec_` and the base64 of the signing key (at least 24 bytes), as Standard Webhooks libraries take it. */
  secret: string;
}

/** What a receiver gets: `type` is `call.<state>`; `data.call` is the call as `GET /api/calls` shows it, in the state this event left it in. */
export interface CallEventWebhookPayload {
  type: `call.${CallView['status']}`;
  /** When the event happened (the provider's time), ISO 8601. */
  timestamp: string;
  data: { event_id: string; call: CallView };
}

/** Standard Webhooks' retry schedule after the first attempt (5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h): about a day and a half in all. */
export const DEFAULT_RETRY_DELAYS_MS: readonly number[] = [5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000];
/** A receiver must answer within this long. */
const SEND_TIMEOUT_MS = 10_000;
/** A claimed row is someone's for this long: past it (an instance died while sending), another may send it. */
const LEASE = "interval '2 minutes'";
const BATCH = 50;
const ENQUEUE_BATCH = 500;
/** pg_advisory_xact_lock key of the enqueueing step ("hook" in ASCII). */
const ENQUEUE_LOCK = 0x686f6f6b;

/** `v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">` with the key in `secret` (`whsec_<base64>`). */
export function signEventWebhook(secret: string, id: string, timestampSeconds: number, body: string): string {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  return `v1,${createHmac('sha256', key).update(`${id}.${timestampSeconds}.${body}`).digest('base64')}`;
}

/** A receiver's URL as logs may show it: no query (it may hold a token) and no credentials. */
function receiverForLog(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.origin}${parsed.pathname}`;
  } catch {
    return '(not a URL)';
  }
}

export interface EventRelayOptions {
  db: Database;
  tenants: Pick<TenantStore, 'get'>;
  logger: Logger;
  /** The process's call-event bus: a new event starts a round at once (otherwise the next poll does). */
  bus?: WorkerOptions['bus'];
  /** How often due retries are looked for. Default 5 s. */
  pollMs?: number;
  /** The waits before each retry; after the last, a delivery is given up. */
  retryDelaysMs?: readonly number[];
  /** How long a receiver may take to answer. Default 10 s. */
  timeoutMs?: number;
}

export type EventRelay = Worker;

interface ClaimedRow {
  id: number;
  tenant: string;
  url: string;
  event_id: number;
  attempts: number;
}

interface EventRow extends CallRow {
  event_id: number;
  event_state: CallView['status'];
  event_at: Date;
}

/** Starts relaying call events to the ids' `event_webhooks`; `start` runs it beside the server. */
export function startEventRelay(options: EventRelayOptions): EventRelay {
  const { db, tenants, logger } = options;
  const retryDelaysMs = options.retryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS;
  const timeoutMs = options.timeoutMs ?? SEND_TIMEOUT_MS;
  const receiversOf = (tenant: string): EventWebhook[] => {
    const hooks = tenants.get(tenant)?.event_webhooks;
    return Array.isArray(hooks) ? (hooks as EventWebhook[]) : [];
  };

  /** Turns the events recorded since the last round into outbox rows, and moves the cursor past them. */
  const enqueue = async (): Promise<void> => {
    for (let more = true; more;) {
      more = await db.transaction(async (tx) => {
        await tx.query('SELECT pg_advisory_xact_lock($1)', [ENQUEUE_LOCK]);
        const cursor =
          (await tx.query<{ event_id: number }>('SELECT event_id FROM event_webhook_cursor WHERE id = 1')).rows[0]?.event_id ?? 0;
        const { rows } = await tx.query<{ id: number; tenant: string; call_id: number }>(
          'SELECT id, tenant, call_id FROM call_events WHERE id > $1 ORDER BY id LIMIT $2',
          [cursor, ENQUEUE_BATCH],
        );
        if (rows.length === 0) return false;
        const [tenant, url, eventId, callId]: [string[], string[], number[], number[]] = [[], [], [], []];
        for (const event of rows) {
          for (const hook of receiversOf(event.tenant)) {
            tenant.push(event.tenant);
            url.push(hook.url);
            eventId.push(event.id);
            callId.push(event.call_id);
          }
        }
        if (url.length > 0) {
          await tx.query(
            `INSERT INTO event_webhook_deliveries (tenant, url, event_id, call_id)
             SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[])
             ON CONFLICT (event_id, url) DO NOTHING`,
            [tenant, url, eventId, callId],
          );
        }
        await tx.query('UPDATE event_webhook_cursor SET event_id = $1 WHERE id = 1', [rows.at(-1)!.id]);
        return rows.length === ENQUEUE_BATCH;
      });
    }
  };

  /** Due rows whose call's earlier events for the same receiver are settled, leased to this instance. */
  const claim = async (): Promise<ClaimedRow[]> => {
    const { rows } = await db.query<ClaimedRow>(
      `UPDATE event_webhook_deliveries d SET locked_until = now() + ${LEASE}, attempts = d.attempts + 1
       WHERE d.id IN (
         SELECT o.id FROM event_webhook_deliveries o
         WHERE o.delivered_at IS NULL AND o.failed_at IS NULL AND o.next_attempt_at <= now()
           AND (o.locked_until IS NULL OR o.locked_until < now())
           AND NOT EXISTS (
             SELECT 1 FROM event_webhook_deliveries p
             WHERE p.call_id = o.call_id AND p.url = o.url AND p.event_id < o.event_id AND p.delivered_at IS NULL AND p.failed_at IS NULL)
         ORDER BY o.id LIMIT $1 FOR UPDATE SKIP LOCKED)
       RETURNING d.id, d.tenant, d.url, d.event_id, d.attempts`,
      [BATCH],
    );
    return rows;
  };

  const payloads = async (tx: Queryable, eventIds: number[]): Promise<Map<number, string>> => {
    const { rows } = await tx.query<EventRow>(
      `SELECT e.id AS event_id, e.state AS event_state, e.at AS event_at, ${CALL_COLUMNS}
       FROM call_events e JOIN calls c ON c.id = e.call_id ${CUSTOMER_JOIN}
       WHERE e.id = ANY($1::bigint[])`,
      [eventIds],
    );
    return new Map(
      rows.map((row) => {
        const payload: CallEventWebhookPayload = {
          type: `call.${row.event_state}`,
          timestamp: row.event_at.toISOString(),
          data: { event_id: String(row.event_id), call: { ...callView(row), status: row.event_state } },
        };
        return [row.event_id, JSON.stringify(payload)];
      }),
    );
  };

  /** Sends one row; resolves to the failure's reason, or undefined when the receiver took it. */
  const send = async (row: ClaimedRow, body: string | undefined): Promise<string | undefined> => {
    const hook = receiversOf(row.tenant).find((each) => each.url === row.url);
    if (!hook) return 'no longer configured';
    if (body === undefined) return 'the event no longer exists';
    const id = `msg_${row.event_id}`;
    const timestamp = Math.floor(Date.now() / 1000);
    try {
      const response = await fetch(row.url, {
        method: 'POST',
        redirect: 'error',
        signal: AbortSignal.timeout(timeoutMs),
        headers: {
          'content-type': 'application/json',
          'user-agent': 'Beckon event webhooks',
          'webhook-id': id,
          'webhook-timestamp': String(timestamp),
          'webhook-signature': signEventWebhook(hook.secret, id, timestamp, body),
        },
        body,
      });
      await response.body?.cancel();
      return response.ok ? undefined : `answered ${response.status}`;
    } catch (error) {
      const cause = (error as { cause?: { code?: unknown } }).cause;
      return (error as Error).name === 'TimeoutError'
        ? `no answer within ${timeoutMs} ms`
        : typeof cause?.code === 'string'
          ? cause.code
          : (error as Error).message;
    }
  };

  const settle = async (row: ClaimedRow, failure: string | undefined): Promise<void> => {
    const log = { id: row.tenant, receiver: receiverForLog(row.url), eventId: row.event_id, attempt: row.attempts };
    if (failure === undefined) {
      await db.query('UPDATE event_webhook_deliveries SET delivered_at = now(), locked_until = NULL, last_error = NULL WHERE id = $1', [
        row.id,
      ]);
      logger.debug(log, 'event webhook delivered');
      return;
    }
    const delay =
      failure === 'no longer configured' || failure === 'the event no longer exists' ? undefined : retryDelaysMs[row.attempts - 1];
    if (delay === undefined) {
      await db.query('UPDATE event_webhook_deliveries SET failed_at = now(), locked_until = NULL, last_error = $2 WHERE id = $1', [
        row.id,
        failure,
      ]);
      logger.error({ ...log, reason: failure }, 'event webhook given up');
      return;
    }
    await db.query(
      `UPDATE event_webhook_deliveries SET next_attempt_at = now() + make_interval(secs => $2), locked_until = NULL, last_error = $3
       WHERE id = $1`,
      [row.id, delay / 1000, failure],
    );
    logger.warn({ ...log, reason: failure, retryInMs: delay }, 'event webhook not delivered: trying again later');
  };

  const round = async (isClosed: () => boolean): Promise<void> => {
    await enqueue();
    for (let claimed = await claim(); claimed.length > 0 && !isClosed(); claimed = await claim()) {
      const bodies = await payloads(
        db,
        claimed.map((row) => row.event_id),
      );
      await Promise.all(claimed.map(async (row) => settle(row, await send(row, bodies.get(row.event_id)))));
    }
  };

  return startWorker({ name: 'event webhooks', round, logger, pollMs: options.pollMs ?? 5_000, bus: options.bus });
}
