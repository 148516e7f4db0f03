import type { Logger } from 'pino';
import { startWorker, type Worker, type WorkerOptions } from '../actions/worker.js';
import type { Database, SqlValue } from '../db/database.js';
import type { CallState } from '../events/states.js';
import { maskPhone } from '../logging.js';
import type { TenantConfig } from '../tenants/schema.js';
import type { TenantStore } from '../tenants/store.js';
import type { ServerDeps } from '../deps.js';
import { placementFor, placementRetryable, type CallPlacement } from './placement.js';
import { recordStatus, type CallbackStatus } from './store.js';

/**
 * The worker every instance runs for callbacks (on the shared loop of `actions/worker.ts`). Each round:
 *
 * 1. A claim whose lease ran out (its instance stopped while placing) is marked `failed`: whether that
 *    call went out is unknown, and placing it again could call the visitor twice.
 * 2. A booking more than `lateMs` (15 min) past its time — every instance was down — is marked `missed`.
 * 3. Due bookings are claimed (`FOR UPDATE SKIP LOCKED`, status `placing` with a lease: exactly one
 *    instance gets each) and placed through `placementFor`, the path immediate calls take, after checking
 *    that the id still exists and can place calls. A 5xx (or a connection never made) is tried once more
 *    `retryDelayMs` later; anything else fails it.
 * 4. Placed callbacks are matched to the provider's call events (`matchCallEvents`), unless the provider
 *    named the call when it was placed (Twilio): its status callbacks then move it (`advanceProviderCall`).
 *
 * Time comes from `now()`, never the database's clock, so tests move it without waiting.
 */
export interface CallbackWorkerOptions {
  db: Database;
  tenants: Pick<TenantStore, 'get'>;
  /** `placementFor` with this server's clients. */
  placementFor(tenant: TenantConfig): CallPlacement | 'not_configured' | 'unavailable';
  logger: Logger;
  /** The call-event bus: a new call event starts a round at once (its status for a waiting page). */
  bus?: WorkerOptions['bus'];
  /** How often a round runs besides (bookings falling due). Default 5 s. */
  pollMs?: number;
  now?: () => Date;
  /** After a retryable failure, the one retry waits this long. Default a minute. */
  retryDelayMs?: number;
  /** A booking this late is missed rather than placed. Default 15 minutes. */
  lateMs?: number;
  /** How long a claim holds a booking. Default 2 minutes (a placement's request times out well within it). */
  leaseMs?: number;
}

/** Bookings placed per claim. */
const BATCH = 20;
/** Tries per booking: the first, and one retry. */
const MAX_ATTEMPTS = 2;

interface ClaimedCallback {
  id: string;
  tenant: string;
  phone_e164: string;
  attempts: number;
}

export function startCallbackWorker(options: CallbackWorkerOptions): Worker {
  const { db, logger } = options;
  const now = options.now ?? (() => new Date());
  const retryDelayMs = options.retryDelayMs ?? 60_000;
  const lateMs = options.lateMs ?? 15 * 60_000;
  const leaseMs = options.leaseMs ?? 120_000;

  /** Marks each row `query` selects (locked, skipping those locked elsewhere) with `status`, one transaction each. */
  const settleEach = async (select: string, params: readonly SqlValue[], status: CallbackStatus, reason: string): Promise<void> => {
    for (;;) {
      const settled = await db.transaction(async (tx) => {
        const { rows } = await tx.query<{ id: string; tenant: string }>(select, params);
        const row = rows[0];
        if (!row) return false;
        const at = now();
        await tx.query('UPDATE callbacks SET locked_until = NULL, last_error = $2 WHERE id = $1', [row.id, reason]);
        await recordStatus(tx, row.id, status, at);
        logger.warn({ id: row.tenant, callback: row.id, status }, `callback ${status}: ${reason}`);
        return true;
      });
      if (!settled) return;
    }
  };

  const expireStaleClaims = () =>
    settleEach(
      `SELECT id, tenant FROM callbacks WHERE status = 'placing' AND locked_until < $1 ORDER BY due_at LIMIT 1 FOR UPDATE SKIP LOCKED`,
      [now()],
      'failed',
      'the instance placing it stopped before it knew the outcome',
    );

  const markMissed = () =>
    settleEach(
      `SELECT id, tenant FROM callbacks WHERE status = 'scheduled' AND due_at <= $1 ORDER BY due_at LIMIT 1 FOR UPDATE SKIP LOCKED`,
      [new Date(now().getTime() - lateMs)],
      'missed',
      `more than ${Math.round(lateMs / 60_000)} minutes late (no instance was running at its time)`,
    );

  const claim = async (): Promise<ClaimedCallback[]> => {
    const at = now();
    const { rows } = await db.query<ClaimedCallback>(
      `UPDATE callbacks c SET status = 'placing', locked_until = $2, attempts = c.attempts + 1, updated_at = $1
       WHERE c.id IN (
         SELECT id FROM callbacks WHERE status = 'scheduled' AND due_at <= $1 AND due_at > $3
         ORDER BY due_at LIMIT $4 FOR UPDATE SKIP LOCKED)
       RETURNING c.id, c.tenant, c.phone_e164, c.attempts`,
      [at, new Date(at.getTime() + leaseMs), new Date(at.getTime() - lateMs), BATCH],
    );
    return rows;
  };

  /** Settles a claimed booking, if it is still this instance's claim. */
  const settle = (
    callback: ClaimedCallback,
    change: { status: CallbackStatus; provider?: string; providerCallSid?: string; error?: string },
  ) =>
    db.transaction(async (tx) => {
      const at = now();
      const { rowCount } = await tx.query(
        `UPDATE callbacks SET locked_until = NULL, placed_at = CASE WHEN $2 = 'queued' THEN $3::timestamptz ELSE placed_at END,
           provider = COALESCE($4, provider), last_error = $5, provider_call_sid = COALESCE($6, provider_call_sid)
         WHERE id = $1 AND status = 'placing'`,
        [callback.id, change.status, at, change.provider ?? null, change.error ?? null, change.providerCallSid ?? null],
      );
      if (rowCount === 1) await recordStatus(tx, callback.id, change.status, at);
    });

  const place = async (callback: ClaimedCallback): Promise<void> => {
    const log = { id: callback.tenant, callback: callback.id, to: maskPhone(callback.phone_e164), attempt: callback.attempts };
    let tenant: TenantConfig | undefined;
    try {
      tenant = options.tenants.get(callback.tenant);
    } catch {
      // The config cannot be read now (Redis away): the booking waits for the next round, within its lateness.
      await db.query(
        `UPDATE callbacks SET status = 'scheduled', locked_until = NULL, attempts = attempts - 1 WHERE id = $1 AND status = 'placing'`,
        [callback.id],
      );
      return;
    }
    const placement = tenant ? options.placementFor(tenant) : 'not_configured';
    if (typeof placement === 'string') {
      const error =
        placement === 'unavailable' ? "the id's provider is not set up on this server" : 'the id no longer exists or has no queue';
      logger.error({ ...log, reason: error }, 'booked callback not placed');
      await settle(callback, { status: 'failed', error });
      return;
    }
    try {
      const placed = await placement.place(callback.phone_e164, callback.tenant);
      await settle(callback, { status: 'queued', provider: placement.provider, providerCallSid: placed.providerCallSid });
      logger.info({ ...placed.log, ...log }, `booked ${placement.kind} placed`);
    } catch (error) {
      const retry = placementRetryable(error) && callback.attempts < MAX_ATTEMPTS;
      const reason = error instanceof Error ? error.name : 'unknown';
      logger.warn({ ...placement.failure(error), ...log, retry }, `booked ${placement.kind} failed`);
      if (!retry) {
        await settle(callback, { status: 'failed', error: reason });
        return;
      }
      await db.query(
        `UPDATE callbacks SET status = 'scheduled', locked_until = NULL, due_at = $2, last_error = $3 WHERE id = $1 AND status = 'placing'`,
        [callback.id, new Date(now().getTime() + retryDelayMs), reason],
      );
    }
  };

  const round = async (isClosed: () => boolean): Promise<void> => {
    await expireStaleClaims();
    await markMissed();
    for (let claimed = await claim(); claimed.length > 0 && !isClosed(); claimed = await claim()) {
      await Promise.all(claimed.map(place));
    }
    await matchCallEvents(db, now);
  };

  return startWorker({ name: 'callbacks', round, logger, pollMs: options.pollMs ?? 5_000, bus: options.bus });
}

/** What a call's state means for the callback it is: the visitor's phone rings, they answered, hung up, or did not answer. */
const STATUS_OF_CALL: Readonly<Record<CallState, CallbackStatus>> = {
  ringing: 'ringing',
  answered: 'answered',
  ended: 'ended',
  missed: 'no-answer',
  // A call that went to voicemail reached no one at the business's end of a queued call: no conversation.
  voicemail: 'no-answer',
};
const RANK: Readonly<Record<string, number>> = { queued: 0, ringing: 1, answered: 2 };

/** How long after its placement a callback's call may start, and how long a placed callback waits for its events. */
export const MATCH_WINDOW = { beforeMs: 2 * 60_000, afterMs: 10 * 60_000, watchMs: 6 * 60 * 60_000 };

interface MatchRow {
  callback_id: string;
  status: string;
  call_id: number;
  event_id: number;
  state: CallState;
  at: Date;
}

/**
 * Live status: the provider's call events of placed callbacks. A callback's call is the first call of
 * the same id and provider to the visitor's number (`calls.to_number`, E.164) that Beckon stored from
 * `MATCH_WINDOW.beforeMs` before the placement to `afterMs` after it, and not already another callback's;
 * each of its events after the last one applied moves the callback forward (never back). The callbacks
 * are locked (`SKIP LOCKED`) while their events apply, so two instances never apply one twice.
 */
export async function matchCallEvents(db: Database, now: () => Date): Promise<void> {
  await db.transaction(async (tx) => {
    const since = new Date(now().getTime() - MATCH_WINDOW.watchMs);
    const { rows: live } = await tx.query<{ id: string }>(
      `SELECT id FROM callbacks WHERE status IN ('queued', 'ringing', 'answered') AND placed_at > $1 AND provider_call_sid IS NULL
       ORDER BY placed_at LIMIT 200 FOR UPDATE SKIP LOCKED`,
      [since],
    );
    if (live.length === 0) return;
    const { rows } = await tx.query<MatchRow>(
      `SELECT cb.id AS callback_id, cb.status, c.id AS call_id, e.id AS event_id, e.state, e.at
       FROM callbacks cb
       JOIN LATERAL (
         SELECT c.id FROM calls c
         WHERE c.tenant = cb.tenant AND c.provider = cb.provider AND c.to_number = cb.phone_e164
           AND (cb.call_id = c.id OR (cb.call_id IS NULL
             AND c.created_at >= cb.placed_at - make_interval(secs => $2) AND c.created_at <= cb.placed_at + make_interval(secs => $3)
             AND NOT EXISTS (SELECT 1 FROM callbacks o WHERE o.call_id = c.id)))
         ORDER BY c.created_at, c.id LIMIT 1) c ON true
       JOIN call_events e ON e.call_id = c.id AND e.id > cb.last_call_event_id
       WHERE cb.id = ANY($1::uuid[])
       ORDER BY cb.placed_at, e.id`,
      [live.map((row) => row.id), MATCH_WINDOW.beforeMs / 1000, MATCH_WINDOW.afterMs / 1000],
    );
    const current = new Map<string, string>();
    const linked = new Set<number>();
    for (const row of rows) {
      const status = current.get(row.callback_id) ?? row.status;
      // Two callbacks of one number waiting at once: the call goes to the first placed.
      if (!current.has(row.callback_id) && linked.has(row.call_id)) continue;
      linked.add(row.call_id);
      await tx.query('UPDATE callbacks SET call_id = $2, last_call_event_id = $3 WHERE id = $1', [
        row.callback_id,
        row.call_id,
        row.event_id,
      ]);
      const next = STATUS_OF_CALL[row.state];
      const forward = RANK[status] !== undefined && (RANK[next] === undefined || RANK[next]! > RANK[status]!);
      current.set(row.callback_id, forward ? next : status);
      if (forward) await recordStatus(tx, row.callback_id, next, row.at);
    }
  });
}

/**
 * The callback worker of a server built with `createDeps`: what `start()` runs, and what a host app
 * mounting `createRouter` starts beside it so that the bookings its routes take are placed. Undefined
 * without a database (no id takes bookings then).
 */
export function startCallbacks(deps: Pick<ServerDeps, 'db' | 'tenants' | 'logger' | 'callEvents' | 'ns' | 'twilio'>): Worker | undefined {
  if (!deps.db) return undefined;
  return startCallbackWorker({
    db: deps.db,
    tenants: deps.tenants,
    placementFor: (tenant) => placementFor(deps, tenant),
    logger: deps.logger,
    ...(deps.callEvents ? { bus: deps.callEvents } : {}),
  });
}
