import type { Middleware } from 'koa';
import type { Database, SqlValue } from '../db/database.js';
import { HttpError } from '../http-error.js';
import type { AppKeyState } from './api-keys.js';
import { ACTIVE_CALL, CALL_COLUMNS, CALL_SELECT, callView, type CallRow } from './call-view.js';

export const DEFAULT_LIMIT = 50;
export const MAX_LIMIT = 100;
/** Deeper pages by offset make the database walk every row before them: past this, use `after`. */
export const MAX_OFFSET = 10_000;
/** Active calls are few; this bounds the answer should ended calls never have been reported. */
export const MAX_ACTIVE = 1_000;

/** A row's place in the listing order, exact to the microsecond (a JS Date would round it and skip rows). */
const CURSOR_AT = `to_char(c.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS cursor_at`;
const CURSOR = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z)\|([1-9]\d{0,15})$/;

/** `after`: base64url of "<created_at>|<id>", opaque to clients. */
function encodeCursor(createdAt: string, id: number): string {
  return Buffer.from(`${createdAt}|${id}`).toString('base64url');
}

function decodeCursor(cursor: string): [string, number] {
  const parts = /^[A-Za-z0-9_-]{1,100}$/.test(cursor) ? CURSOR.exec(Buffer.from(cursor, 'base64url').toString('latin1')) : null;
  if (!parts || !isStoredTime(parts[1]!) || !Number.isSafeInteger(Number(parts[2]))) {
    throw new HttpError(400, 'after must be the "next" value of a page this API answered');
  }
  return [parts[1]!, Number(parts[2])];
}

/**
 * Whether a cursor's time is one PostgreSQL reads as it is written: `Date.parse` also takes what it does
 * not (year 0, February 30 rolled into March, 24:00), so the time must come back unchanged to the
 * millisecond (the digits after it are digits: `CURSOR` says so).
 */
function isStoredTime(time: string): boolean {
  const ms = Date.parse(time);
  return !Number.isNaN(ms) && !time.startsWith('0000') && new Date(ms).toISOString().slice(0, 23) === time.slice(0, 23);
}

/** A query parameter given once, or undefined; repeated, a 400. */
function single(query: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const value = query[name];
  if (Array.isArray(value)) throw new HttpError(400, `${name} is given more than once`);
  return value;
}

function wholeNumber(value: string | undefined, name: string, min: number, max: number, fallback: number): number {
  if (value === undefined || value === '') return fallback;
  const number = /^\d{1,9}$/.test(value) ? Number(value) : Number.NaN;
  if (!(number >= min && number <= max)) throw new HttpError(400, `${name} must be a whole number from ${min} to ${max}`);
  return number;
}

/**
 * `GET /api/calls?limit=&offset=` or `?limit=&after=` → `{"calls":[…],"next"?}`: the app's calls, newest
 * first (by when Beckon stored them, then id). `next`, present when more calls follow, is the `after`
 * of the next page: keyset pagination, which neither repeats nor skips a call when new ones arrive
 * between pages. `offset` is kept for seed 004's clients (at most 10 000; it shifts as calls arrive).
 * A `limit` over 100 is refused rather than cut: a client adding `limit` to `offset` would skip calls.
 */
export function listCallsRoute(db: Database): Middleware<AppKeyState> {
  return async function listCalls(ctx) {
    const limit = wholeNumber(single(ctx.query, 'limit'), 'limit', 1, MAX_LIMIT, DEFAULT_LIMIT);
    const offsetText = single(ctx.query, 'offset');
    const after = single(ctx.query, 'after');
    if (after !== undefined && offsetText !== undefined) throw new HttpError(400, 'Give after or offset, not both');
    const offset = wholeNumber(offsetText, 'offset', 0, MAX_OFFSET, 0);

    const params: SqlValue[] = [];
    const cursor = after === undefined ? undefined : decodeCursor(after);
    // Unqualified: it is applied inside the subqueries below, over `calls` alone.
    const keyset = cursor ? `(created_at, id) < ($${params.push(cursor[0])}::timestamptz, $${params.push(cursor[1])}::bigint)` : 'true';
    // One more than the page, to know whether another follows.
    const wanted = `$${params.push(limit + 1)}`;
    const skipped = `$${params.push(offset)}`;
    const { ids } = ctx.state.app;
    // An app limited to some ids reads each id's newest calls from that id's index, then merges them:
    // one scan of every call filtered by id, or a sort of all the ids' calls, costs far more when the
    // app's ids hold a small share of them (PostgreSQL 15 does not merge the index's ranges itself).
    const calls = ids
      ? `(SELECT DISTINCT unnest($${params.push(ids)}::text[]) AS tenant) app_ids
         CROSS JOIN LATERAL (
           SELECT * FROM calls WHERE calls.tenant = app_ids.tenant AND ${keyset}
           ORDER BY created_at DESC, id DESC LIMIT $${params.push(limit + 1 + offset)}
         ) c`
      : `(SELECT * FROM calls WHERE ${keyset}) c`;
    const { rows } = await db.query<CallRow & { cursor_at: string }>(
      `SELECT ${CURSOR_AT}, ${CALL_COLUMNS} FROM ${calls} LEFT JOIN customers cu ON cu.id = c.customer_id
       ORDER BY c.created_at DESC, c.id DESC LIMIT ${wanted} OFFSET ${skipped}`,
      params,
    );
    const page = rows.slice(0, limit);
    const last = page.at(-1);
    ctx.body = {
      calls: page.map(callView),
      ...(rows.length > limit && last ? { next: encodeCursor(last.cursor_at, last.id) } : {}),
    };
  };
}

/**
 * `GET /api/active-calls` → `{"calls":[…]}`: the app's ringing and answered calls, newest first — those
 * the provider updated recently enough to be believed (`ACTIVE_CALL`).
 */
export function activeCallsRoute(db: Database): Middleware<AppKeyState> {
  return async function activeCalls(ctx) {
    const { ids } = ctx.state.app;
    const { rows } = await db.query<CallRow>(
      `${CALL_SELECT}
       WHERE c.state IN ('ringing', 'answered') AND ${ACTIVE_CALL} ${ids ? 'AND c.tenant = ANY($2::text[])' : ''}
       ORDER BY c.created_at DESC, c.id DESC LIMIT $1`,
      ids ? [MAX_ACTIVE, ids] : [MAX_ACTIVE],
    );
    ctx.body = { calls: rows.map(callView) };
  };
}
