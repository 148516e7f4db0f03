import type { Middleware } from 'koa';
import type { Database } from '../db/database.js';
import type { AppKeyState } from './api-keys.js';
import { ACTIVE_CALL, CALL_COLUMNS, CALL_SELECT, CUSTOMER_JOIN, callView, type CallRow } from './call-view.js';
import { readPage } from './paging.js';

/** Active calls are few; this bounds the answer should ended calls never have been reported. */
export const MAX_ACTIVE = 1_000;

/**
 * `GET /api/calls?limit=&offset=` or `?limit=&after=` → `{"calls":[…],"next"?}`: the app's calls, newest
 * first (by when Beckon stored them, then id). `next`, present when more calls follow, is the `after`
 * of the next page: keyset pagination, which neither repeats nor skips a call when new ones arrive
 * between pages. `offset` is kept for seed 004's clients (at most 10 000; it shifts as calls arrive).
 * A `limit` over 100 is refused rather than cut: a client adding `limit` to `offset` would skip calls.
 */
export function listCallsRoute(db: Database): Middleware<AppKeyState> {
  return async function listCalls(ctx) {
    const { rows, next } = await readPage<CallRow>(
      ctx,
      ctx.state.app.ids,
      'calls',
      'c',
      async ({ cursor, from, tail, params }) =>
        (
          await db.query<CallRow & { cursor_at: string }>(
            // The page is cut first, its customers looked up after: for the page's calls only.
            `SELECT ${cursor}, ${CALL_COLUMNS} FROM (SELECT c.* FROM ${from} ${tail}) c ${CUSTOMER_JOIN} ORDER BY c.created_at DESC, c.id DESC`,
            params,
          )
        ).rows,
    );
    ctx.body = { calls: rows.map(callView), ...(next ? { next } : {}) };
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
