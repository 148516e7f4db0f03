import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { queuePerDatabase } from '../db/batches.js';
import type { Database, Queryable } from '../db/database.js';

/**
 * The `callbacks` table (migration 0007): every click-to-call, placed at once or booked, and each status
 * it took (`callback_events`, announced on `CALLBACK_EVENTS_CHANNEL` at commit). Tokens are handed to the
 * visitor once and kept only as their SHA-256.
 */

/** What the visitor's page is told a callback is doing. `placing` is the worker's claim, reported as `scheduled`. */
export type CallbackStatus = 'scheduled' | 'queued' | 'ringing' | 'answered' | 'ended' | 'no-answer' | 'failed' | 'cancelled' | 'missed';

/** After one of these, nothing more happens to a callback: its status stream ends. */
export const FINAL_STATUSES: ReadonlySet<CallbackStatus> = new Set(['ended', 'no-answer', 'failed', 'cancelled', 'missed']);

/** The channel each new callback event's id is announced on: a signal; streams read the event from the table. */
export const CALLBACK_EVENTS_CHANNEL = 'callback_events';

/** A status token works until this long after the call's time (its booked time, or when it was placed). */
export const STATUS_TOKEN_TTL_MS = 24 * 60 * 60_000;

/** A callback id is a UUID: anything else names none, and is refused before it reaches SQL. */
export const CALLBACK_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A new token for the visitor: 256 random bits, URL-safe. */
function newToken(): string {
  return randomBytes(32).toString('base64url');
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** Whether `token` is the one `hash` was made of: compared as hashes, in constant time. */
export function tokenMatches(hash: string | null, token: string): boolean {
  if (!hash) return false;
  const expected = Buffer.from(hash, 'hex');
  const given = createHash('sha256').update(token).digest();
  return expected.length === given.length && timingSafeEqual(expected, given);
}

/**
 * Taken (per transaction) just before a callback event is inserted, and held to commit, so that event ids
 * commit in order and a stream reading "after the last id" skips none (as `CALL_EVENTS_LOCK` does for
 * call events). Taken after the callback's row lock, so its holder never waits for a row. ("cbev" in ASCII.)
 */
const CALLBACK_EVENTS_LOCK = 0x63626576;

/**
 * Records `status` for a callback at `at`, in the caller's transaction, which must already have written
 * (and so locked) the callback's row: the row's status, then its event, announced at commit. Returns the
 * event's id.
 */
export async function recordStatus(tx: Queryable, callbackId: string, status: CallbackStatus, at: Date): Promise<number> {
  await tx.query('UPDATE callbacks SET status = $2, updated_at = $3 WHERE id = $1', [callbackId, status, at]);
  const { rows } = await tx.query<{ id: number }>(
    `WITH locked AS (SELECT pg_advisory_xact_lock($4)),
     event AS (INSERT INTO callback_events (callback_id, status, at) SELECT $1, $2, $3 FROM locked RETURNING id)
     SELECT id, pg_notify('${CALLBACK_EVENTS_CHANNEL}', id::text) FROM event`,
    [callbackId, status, at, CALLBACK_EVENTS_LOCK],
  );
  return rows[0]!.id;
}

export interface NewCallback {
  tenant: string;
  /** The provider placing it (`placementFor(…).provider`). */
  provider: string;
  /** E.164. */
  phone: string;
  /** The provider's id of the call placed, when it gives one (Twilio's CallSid): its status callbacks are matched by it. */
  providerCallSid?: string;
}

/** A callback just recorded, with the tokens the visitor gets (once). */
export interface RecordedCallback {
  callbackId: string;
  statusToken: string;
  cancelToken?: string;
}

/**
 * Records a call placed just now (`queued`): its id and status token go back to the visitor. This runs
 * on the visitor's request, so calls placed together are recorded together (`BatchQueue`): one statement,
 * so one implicit transaction, writes every row, then (under `CALLBACK_EVENTS_LOCK`, taken after the rows
 * exist, as `recordStatus` takes it) their first events, announced at commit. On the embedded database a
 * transaction of four statements per call cost 2.5 ms of CPU; this statement costs 1.5 ms for one call
 * and 0.18 ms a call in batches of twenty.
 */
export async function recordPlacedCallback(db: Database, callback: NewCallback, now: Date): Promise<RecordedCallback> {
  const callbackId = randomUUID();
  const statusToken = newToken();
  await placedCalls(db).add([
    callbackId,
    callback.tenant,
    callback.provider,
    callback.phone,
    hashToken(statusToken),
    new Date(now.getTime() + STATUS_TOKEN_TTL_MS),
    now,
    callback.providerCallSid ?? null,
  ]);
  return { callbackId, statusToken };
}

/** A placed call's row: `recordPlaced`'s parameters, in the order of `PLACED_COLUMNS`. */
type PlacedRow = [
  id: string,
  tenant: string,
  provider: string,
  phone: string,
  statusTokenHash: string,
  tokenExpiresAt: Date,
  placedAt: Date,
  providerCallSid: string | null,
];

const PLACED_COLUMNS = 'id, tenant, provider, phone_e164, status_token_hash, token_expires_at, placed_at, provider_call_sid';
const PARAMETERS_PER_ROW = 8;

/**
 * The statement recording a batch of placed calls: one row of parameters each (a statement per batch
 * size; no JSON to parse, which on the embedded database cost a lone call a third more).
 */
function recordPlaced(rows: number): string {
  const values = Array.from({ length: rows }, (_, row) => {
    const $ = (column: number) => `$${row * PARAMETERS_PER_ROW + column + 2}`;
    return `(${$(0)}::uuid, ${$(1)}, ${$(2)}, ${$(3)}, ${$(4)}, ${$(5)}::timestamptz, ${$(6)}::timestamptz, ${$(7)})`;
  });
  return `
  WITH placed (${PLACED_COLUMNS}) AS (VALUES ${values.join(', ')}),
  callback AS (
    INSERT INTO callbacks (${PLACED_COLUMNS}, status, attempts, created_at, updated_at)
    SELECT ${PLACED_COLUMNS}, 'queued', 1, placed_at, placed_at FROM placed
    RETURNING id, placed_at),
  locked AS (SELECT pg_advisory_xact_lock($1) WHERE EXISTS (SELECT FROM callback)),
  event AS (
    INSERT INTO callback_events (callback_id, status, at) SELECT callback.id, 'queued', callback.placed_at FROM callback, locked RETURNING id)
  SELECT pg_notify('${CALLBACK_EVENTS_CHANNEL}', id::text) FROM event`;
}

const placedCalls = queuePerDatabase<PlacedRow, void>({
  store: async (db, rows) => {
    await db.query(recordPlaced(rows.length), [CALLBACK_EVENTS_LOCK, ...rows.flat()]);
    return rows.map(() => undefined);
  },
  concurrency: { postgres: 4, pglite: 1 },
  // 1 + 200 × 8 = 1,601 parameters at most, far below PostgreSQL's 65,535.
  maxWeight: 200,
});

/** How far a placed call has gone: a status moves a callback only to a later one (or to a final one). */
const PROGRESS: Readonly<Partial<Record<CallbackStatus, number>>> = { queued: 0, ringing: 1, answered: 2 };

/** What `advanceProviderCall` did. */
export type AdvanceOutcome = { outcome: 'unknown' } | { outcome: 'advanced' | 'unchanged'; callbackId: string; status: CallbackStatus };

/**
 * Moves the callback whose call the provider names (`provider`, `tenant` and its call id, e.g. Twilio's
 * CallSid of the business leg) to what `next` makes of its current status, in one transaction with the
 * row locked: only forward (queued → ringing → answered, or to a final status), never from a final one,
 * so a status callback delivered twice, or late after a later one, changes nothing. `unknown` when no
 * callback has that call.
 */
export function advanceProviderCall(
  db: Database,
  call: { provider: string; tenant: string; providerCallSid: string },
  next: (current: CallbackStatus) => CallbackStatus | undefined,
  at: Date,
): Promise<AdvanceOutcome> {
  return db.transaction(async (tx) => {
    const { rows } = await tx.query<{ id: string; status: CallbackStatus }>(
      'SELECT id, status FROM callbacks WHERE provider = $1 AND provider_call_sid = $2 AND tenant = $3 FOR UPDATE',
      [call.provider, call.providerCallSid, call.tenant],
    );
    const row = rows[0];
    if (!row) return { outcome: 'unknown' };
    const current = PROGRESS[row.status];
    const status = current === undefined ? undefined : next(row.status);
    if (status === undefined || current === undefined) return { outcome: 'unchanged', callbackId: row.id, status: row.status };
    const rank = PROGRESS[status];
    if (rank !== undefined && rank <= current) return { outcome: 'unchanged', callbackId: row.id, status: row.status };
    await recordStatus(tx, row.id, status, at);
    return { outcome: 'advanced', callbackId: row.id, status };
  });
}

/** PostgreSQL's SQLSTATE for a unique violation: here, the number already has a pending booking with the id. */
const UNIQUE_VIOLATION = '23505';

/** Books a callback at `scheduledAt`; `already_booked` when the number holds a pending booking with this id. */
export async function bookCallback(
  db: Database,
  callback: NewCallback & { scheduledAt: Date },
  now: Date,
): Promise<Required<RecordedCallback> | 'already_booked'> {
  const callbackId = randomUUID();
  const statusToken = newToken();
  const cancelToken = newToken();
  try {
    await db.transaction(async (tx) => {
      await tx.query(
        `INSERT INTO callbacks (id, tenant, provider, phone_e164, scheduled_at, due_at, status, cancel_token_hash, status_token_hash,
           token_expires_at, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $5, 'scheduled', $6, $7, $8, $9, $9)`,
        [
          callbackId,
          callback.tenant,
          callback.provider,
          callback.phone,
          callback.scheduledAt,
          hashToken(cancelToken),
          hashToken(statusToken),
          new Date(callback.scheduledAt.getTime() + STATUS_TOKEN_TTL_MS),
          now,
        ],
      );
      await recordStatus(tx, callbackId, 'scheduled', now);
    });
  } catch (error) {
    if ((error as { code?: unknown } | null)?.code === UNIQUE_VIOLATION) return 'already_booked';
    throw error;
  }
  return { callbackId, statusToken, cancelToken };
}

/** What `cancelCallback` did. */
export type CancelOutcome =
  | { outcome: 'cancelled'; tenant: string }
  | { outcome: 'not_found' }
  | { outcome: 'origin_not_allowed' }
  | { outcome: 'not_pending'; status: string };

/**
 * Cancels a booking with its cancel token. An unknown id and a wrong token are the same `not_found`; a
 * booking already placed (or being placed now), failed or missed is `not_pending`; one cancelled before
 * is `cancelled` again (a repeated request does what the first did).
 */
export function cancelCallback(
  db: Database,
  callbackId: string,
  token: string,
  now: Date,
  /** Whether the request's origin may act for the booking's id (checked once the token matched). */
  originAllowed: (tenant: string) => boolean = () => true,
): Promise<CancelOutcome> {
  return db.transaction(async (tx) => {
    const { rows } = await tx.query<{ tenant: string; status: string; cancel_token_hash: string | null }>(
      'SELECT tenant, status, cancel_token_hash FROM callbacks WHERE id = $1 FOR UPDATE',
      [callbackId],
    );
    const row = rows[0];
    if (!row || !tokenMatches(row.cancel_token_hash, token)) return { outcome: 'not_found' };
    if (!originAllowed(row.tenant)) return { outcome: 'origin_not_allowed' };
    if (row.status === 'cancelled') return { outcome: 'cancelled', tenant: row.tenant };
    if (row.status !== 'scheduled') return { outcome: 'not_pending', status: row.status === 'placing' ? 'queued' : row.status };
    await recordStatus(tx, callbackId, 'cancelled', now);
    return { outcome: 'cancelled', tenant: row.tenant };
  });
}

/**
 * Who may read a callback's status: its status token while it lasts (`ok`, with when it stops), an
 * `unknown` id, or `refused` (a wrong or expired token).
 */
export async function statusAccess(
  db: Queryable,
  callbackId: string,
  token: string,
  now: Date,
): Promise<{ access: 'ok'; expiresAt: Date } | { access: 'unknown' | 'refused' }> {
  const { rows } = await db.query<{ status_token_hash: string; token_expires_at: Date }>(
    'SELECT status_token_hash, token_expires_at FROM callbacks WHERE id = $1',
    [callbackId],
  );
  const row = rows[0];
  if (!row) return { access: 'unknown' };
  if (!tokenMatches(row.status_token_hash, token) || row.token_expires_at.getTime() <= now.getTime()) return { access: 'refused' };
  return { access: 'ok', expiresAt: row.token_expires_at };
}

/** One status a callback took, as its stream sends it. */
export interface CallbackEvent {
  id: number;
  callbackId: string;
  status: CallbackStatus;
  at: Date;
}

interface CallbackEventRow {
  id: number;
  callback_id: string;
  status: CallbackStatus;
  at: Date;
}

const toEvent = (row: CallbackEventRow): CallbackEvent => ({ id: row.id, callbackId: row.callback_id, status: row.status, at: row.at });

/** Every callback's events after `after`, in id order, at most `limit` (what the bus fans out). */
export async function readCallbackEvents(db: Queryable, after: number, limit: number): Promise<CallbackEvent[]> {
  const { rows } = await db.query<CallbackEventRow>(
    'SELECT id, callback_id, status, at FROM callback_events WHERE id > $1 ORDER BY id LIMIT $2',
    [after, limit],
  );
  return rows.map(toEvent);
}

/** One callback's events after `after` (and up to `upTo`), in order. */
export async function readEventsOf(db: Queryable, callbackId: string, after: number, upTo: number): Promise<CallbackEvent[]> {
  const { rows } = await db.query<CallbackEventRow>(
    'SELECT id, callback_id, status, at FROM callback_events WHERE callback_id = $1 AND id > $2 AND id <= $3 ORDER BY id',
    [callbackId, after, upTo],
  );
  return rows.map(toEvent);
}
