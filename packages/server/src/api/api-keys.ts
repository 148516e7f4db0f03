import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Middleware } from 'koa';
import type { AppState } from '../context.js';
import type { Database, Queryable } from '../db/database.js';
import { HttpError } from '../http-error.js';

/**
 * An app's API key: `bk_live_<key id>_<secret>` — 24 hex characters of public key id (12 random bytes)
 * and 43 base64url characters of secret (32 random bytes), 76 characters in all. The prefix lets secret
 * scanners and people recognise a leaked key; the key id finds its row without a scan; only the secret's
 * SHA-256 is stored.
 *
 * Why SHA-256 and not a slow password hash (bcrypt, scrypt, argon2): a slow hash protects guessable
 * secrets, and this one is 256 random bits — a leaked table cannot be brute-forced at any hash speed —
 * while a slow hash would spend tens of milliseconds of CPU on every API request, handing anyone who
 * sends made-up keys a lever to load the server.
 */
const PREFIX = 'bk_live_';
const KEY_PATTERN = /^bk_live_([0-9a-f]{24})_([A-Za-z0-9_-]{43})$/;

export interface NewKey {
  /** The whole key, to show once. */
  key: string;
  /** Its public id, the row's primary key. */
  id: string;
  /** What is stored instead of the secret. */
  hash: string;
}

export function generateKey(): NewKey {
  const id = randomBytes(12).toString('hex');
  const secret = randomBytes(32).toString('base64url');
  return { key: `${PREFIX}${id}_${secret}`, id, hash: hashSecret(secret) };
}

function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

/** Adds a key for `appId` and returns the whole key (the only time it exists outside the caller's hands). */
export async function insertKey(db: Queryable, appId: string): Promise<string> {
  const { key, id, hash } = generateKey();
  await db.query('INSERT INTO api_keys (id, app_id, hash) VALUES ($1, $2, $3)', [id, appId, hash]);
  return key;
}

/** What an app key grants: which app, and the config ids it may read (null: every id). */
export interface AppGrant {
  appId: string;
  ids: string[] | null;
}

export interface AppKeyState extends AppState {
  app: AppGrant;
}

/** The one answer to a missing, malformed, unknown, expired or wrong key: which part failed is not said. */
const refused = () => new HttpError(401, 'A valid API key is required.', { headers: { 'WWW-Authenticate': 'Bearer realm="beckon-api"' } });

/** Compared against when no row is found, so a made-up key id costs the same as a real one. */
const NO_HASH = hashSecret('');

/**
 * Finds the app a key belongs to, or undefined. Live keys only: one without an expiry, or one whose
 * grace period (after a rotation) has not ended by the database's clock.
 */
export async function appForKey(db: Queryable, key: string): Promise<AppGrant | undefined> {
  const parts = KEY_PATTERN.exec(key);
  if (!parts) return undefined;
  const [, id, secret] = parts as unknown as [string, string, string];
  const { rows } = await db.query<{ hash: string; app_id: string; ids: string[] | null }>(
    `SELECT k.hash, k.app_id, a.ids FROM api_keys k JOIN apps a ON a.id = k.app_id
     WHERE k.id = $1 AND (k.expires_at IS NULL OR k.expires_at > now())`,
    [id],
  );
  const row = rows[0];
  const matches = timingSafeEqual(Buffer.from(hashSecret(secret), 'hex'), Buffer.from(row?.hash ?? NO_HASH, 'hex'));
  return row && matches ? { appId: row.app_id, ids: row.ids } : undefined;
}

const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i;

/**
 * Guards `/api/*`: the key comes as `x-app-api-key: <key>` (seed 004's header) or `Authorization: Bearer
 * <key>`; `ctx.state.app` is what it grants. Any failure is the same 401.
 */
export function requireAppKey(db: Database): Middleware<AppKeyState> {
  return async function requireAppKey(ctx, next) {
    const key = ctx.get('x-app-api-key').trim() || (BEARER.exec(ctx.get('Authorization'))?.[1] ?? '');
    const app = key ? await appForKey(db, key) : undefined;
    if (!app) throw refused();
    ctx.state.app = app;
    await next();
  };
}
