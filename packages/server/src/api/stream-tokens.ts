import { createHash, randomBytes } from 'node:crypto';
import type { Middleware } from 'koa';
import type { Queryable } from '../db/database.js';
import type { AppGrant, AppKeyState } from './api-keys.js';

/**
 * Stream tokens: what a browser shows `GET /api/call-stream?token=…`, since an `EventSource` cannot send
 * headers and an app's long-lived key must never reach a page. `bst_` and 43 base64url characters (32
 * random bytes); only its SHA-256 is stored, with the app it was issued to and when it expires.
 *
 * Why a stored random token and not a signed, self-contained one (a JWT): every instance already
 * shares the database, while a signing key would be one more secret to configure, share between
 * instances and rotate; the stream reads the database at its start anyway (one lookup by primary key);
 * and a stored token goes with its app — an app deleted, or its ids changed, applies to its tokens at
 * once. It is found by its hash: with 256 random bits, the time an index lookup takes tells nothing
 * useful about another token.
 */
export const STREAM_TOKEN_TTL_SECONDS = 300;
const PREFIX = 'bst_';
const TOKEN_PATTERN = /^bst_[A-Za-z0-9_-]{43}$/;

function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** Issues a token for `appId`, valid `ttlSeconds` by the database's clock; deletes the expired ones. */
export async function issueStreamToken(
  db: Queryable,
  appId: string,
  ttlSeconds = STREAM_TOKEN_TTL_SECONDS,
): Promise<{ token: string; expiresAt: Date }> {
  const token = PREFIX + randomBytes(32).toString('base64url');
  await db.query('DELETE FROM stream_tokens WHERE expires_at <= now()');
  const { rows } = await db.query<{ expires_at: Date }>(
    'INSERT INTO stream_tokens (hash, app_id, expires_at) VALUES ($1, $2, now() + make_interval(secs => $3)) RETURNING expires_at',
    [hashToken(token), appId, ttlSeconds],
  );
  return { token, expiresAt: rows[0]!.expires_at };
}

/** What a live token grants (its app and the app's ids as they are now), or undefined. */
export async function appForStreamToken(db: Queryable, token: string): Promise<AppGrant | undefined> {
  if (!TOKEN_PATTERN.test(token)) return undefined;
  const { rows } = await db.query<{ app_id: string; ids: string[] | null }>(
    'SELECT t.app_id, a.ids FROM stream_tokens t JOIN apps a ON a.id = t.app_id WHERE t.hash = $1 AND t.expires_at > now()',
    [hashToken(token)],
  );
  const row = rows[0];
  return row ? { appId: row.app_id, ids: row.ids } : undefined;
}

/**
 * `POST /api/stream-tokens` (app key) → 201 `{"token","expires_at"}`: a token for this app's live stream,
 * valid 5 minutes for opening it (a stream opened in time stays open). Ask for one per connection.
 */
export function createStreamTokenRoute(db: Queryable): Middleware<AppKeyState> {
  return async function createStreamToken(ctx) {
    const { token, expiresAt } = await issueStreamToken(db, ctx.state.app.appId);
    ctx.set('Cache-Control', 'no-store');
    ctx.status = 201;
    ctx.body = { token, expires_at: expiresAt.toISOString() };
  };
}
