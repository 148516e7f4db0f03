import type { ParameterizedContext } from 'koa';
import type { SqlValue } from '../db/database.js';
import { HttpError } from '../http-error.js';

/**
 * The paging every `/api` listing shares (`/api/calls`, `/api/messages`, `/api/voicemails`): newest
 * first by (created_at, id), `?limit=&offset=` (seed 004's clients) or `?limit=&after=` (keyset: neither
 * repeats nor skips a row when new ones arrive between pages), and one cursor format for all of them.
 */

export const DEFAULT_LIMIT = 50;
export const MAX_LIMIT = 100;
/** Deeper pages by offset make the database walk every row before them: past this, use `after`. */
export const MAX_OFFSET = 10_000;

const CURSOR = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z)\|([1-9]\d{0,15})$/;

/** A row's place in the listing order (table alias `alias`), exact to the microsecond (a JS Date would round it and skip rows). */
export function cursorColumn(alias: string): string {
  return `to_char(${alias}.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS cursor_at`;
}

/** `after`: base64url of "<created_at>|<id>", opaque to clients. */
export function encodeCursor(createdAt: string, id: number): string {
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
export function single(query: Record<string, string | string[] | undefined>, name: string): string | undefined {
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

/** The SQL pieces of one page, for a query `SELECT ${cursor}, … FROM ${from} [joins] ${tail}`. */
export interface PageSql {
  /** The `cursor_at` column. */
  cursor: string;
  /** The table's rows the page is cut from, under its alias. */
  from: string;
  /** ORDER BY, LIMIT and OFFSET. */
  tail: string;
  params: SqlValue[];
}

/**
 * One page of `table` (under `alias`) for an app that reads `ids` (null: every id): the rows, newest
 * first, and `next` when more follow. A `limit` over 100 is refused rather than cut: a client adding
 * `limit` to `offset` would skip rows. The table needs an index on (tenant, created_at DESC, id DESC).
 */
export async function readPage<Row extends { id: number }>(
  ctx: ParameterizedContext<unknown>,
  ids: string[] | null,
  table: 'calls' | 'messages' | 'voicemails',
  alias: string,
  query: (sql: PageSql) => Promise<(Row & { cursor_at: string })[]>,
): Promise<{ rows: Row[]; next?: string }> {
  const limit = wholeNumber(single(ctx.query, 'limit'), 'limit', 1, MAX_LIMIT, DEFAULT_LIMIT);
  const offsetText = single(ctx.query, 'offset');
  const after = single(ctx.query, 'after');
  if (after !== undefined && offsetText !== undefined) throw new HttpError(400, 'Give after or offset, not both');
  const offset = wholeNumber(offsetText, 'offset', 0, MAX_OFFSET, 0);

  const params: SqlValue[] = [];
  const cursor = after === undefined ? undefined : decodeCursor(after);
  // Unqualified: it is applied inside the subqueries below, over the table alone.
  const keyset = cursor ? `(created_at, id) < ($${params.push(cursor[0])}::timestamptz, $${params.push(cursor[1])}::bigint)` : 'true';
  // One more than the page, to know whether another follows.
  const wanted = `$${params.push(limit + 1)}`;
  const skipped = `$${params.push(offset)}`;
  // An app limited to some ids reads each id's newest rows from that id's index, then merges them:
  // one scan of every row filtered by id, or a sort of all the ids' rows, costs far more when the
  // app's ids hold a small share of them (PostgreSQL 15 does not merge the index's ranges itself).
  const from = ids
    ? `(SELECT DISTINCT unnest($${params.push(ids)}::text[]) AS tenant) app_ids
       CROSS JOIN LATERAL (
         SELECT * FROM ${table} WHERE ${table}.tenant = app_ids.tenant AND ${keyset}
         ORDER BY created_at DESC, id DESC LIMIT $${params.push(limit + 1 + offset)}
       ) ${alias}`
    : `(SELECT * FROM ${table} WHERE ${keyset}) ${alias}`;
  const rows = await query({
    cursor: cursorColumn(alias),
    from,
    tail: `ORDER BY ${alias}.created_at DESC, ${alias}.id DESC LIMIT ${wanted} OFFSET ${skipped}`,
    params,
  });
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  return { rows: page, ...(rows.length > limit && last ? { next: encodeCursor(last.cursor_at, last.id) } : {}) };
}
