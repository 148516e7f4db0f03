import type { Middleware } from 'koa';
import { z } from 'zod';
import type { AppState } from '../context.js';
import type { Database } from '../db/database.js';
import { HttpError } from '../http-error.js';
import { readJson } from '../middleware/body.js';
import type { TenantStore } from '../tenants/store.js';
import { ID_PATTERN } from '../tenants/schema.js';
import { insertKey } from './api-keys.js';

/** The largest `POST /internal/apps` body: a name and up to `MAX_IDS` ids of 128 characters fit. */
export const APP_BODY_LIMIT = 16_384;
const MAX_IDS = 100;
const MAX_NAME = 200;
const DEFAULT_GRACE_HOURS = 24;

// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\u0000-\u001F\u007F-\u009F]/;

const newApp = z.strictObject(
  {
    name: z
      .string({ error: 'name is required: a string naming the program that will use the key, e.g. "CRM sync"' })
      .trim()
      .min(1, { error: 'name must not be empty' })
      .max(MAX_NAME, { error: `name must be at most ${MAX_NAME} characters` })
      .refine((name) => !CONTROL.test(name), { error: 'name must not hold control characters' }),
    ids: z
      .array(z.string({ error: 'ids must hold only strings (config ids such as example.com-sales)' }), {
        error: 'ids must be a list of config ids such as ["example.com-sales"], or left out for every id',
      })
      .min(1, { error: 'ids must not be empty: list the config ids the app may read, or leave ids out for every id' })
      .max(MAX_IDS, { error: `ids may list at most ${MAX_IDS} config ids` })
      .optional(),
  },
  {
    error: (issue) =>
      issue.code === 'unrecognized_keys' ? `Unknown field(s) ${issue.keys.join(', ')}: send name and ids only` : undefined,
  },
);

/** The first problem zod found, as one sentence. */
function problem(error: z.ZodError): string {
  return error.issues[0]?.message ?? 'The body is not a valid app';
}

/**
 * `POST /internal/apps {"name","ids"?}` → 201 `{"success":true,"app_id","api_key","message"}` (seed 004's
 * shape). `ids` limits the calls the app may read to those config ids, each of which must be configured
 * now; left out, the app reads every id, including ids added later.
 */
export function createAppRoute(deps: { db: Database; tenants: Pick<TenantStore, 'get'> }): Middleware<AppState> {
  return async function createAppRoute(ctx) {
    const body = await readJson(ctx, APP_BODY_LIMIT);
    if (body === undefined) throw new HttpError(400, 'Send a JSON body such as {"name":"CRM sync","ids":["example.com-sales"]}');
    if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new HttpError(400, 'The body must be a JSON object');
    const parsed = newApp.safeParse(body);
    if (!parsed.success) throw new HttpError(400, problem(parsed.error));
    const { name } = parsed.data;
    const ids = parsed.data.ids && [...new Set(parsed.data.ids.map((id) => id.trim()))];
    const malformed = ids?.filter((id) => !ID_PATTERN.test(id)) ?? [];
    if (malformed.length > 0) {
      throw new HttpError(400, `Not a config id: ${quoted(malformed)} (letters, digits, dots and hyphens, e.g. example.com-sales)`);
    }
    const unknown = ids?.filter((id) => !deps.tenants.get(id)) ?? [];
    if (unknown.length > 0) throw new HttpError(400, `No config has the id ${quoted(unknown)}: configure it first, or leave it out`);

    const created = await deps.db.transaction(async (tx) => {
      const { rows } = await tx.query<{ id: string }>('INSERT INTO apps (name, ids) VALUES ($1, $2) RETURNING id', [name, ids ?? null]);
      const appId = rows[0]!.id;
      return { appId, key: await insertKey(tx, appId) };
    });
    ctx.state.log.info({ appId: created.appId, ids: ids ?? 'every id' }, 'app created');
    ctx.status = 201;
    ctx.body = {
      success: true,
      app_id: created.appId,
      api_key: created.key,
      message: 'App created. Store this API key securely: it is shown only once.',
    };
  };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * `POST /internal/apps/:app_id/api-key` → `{"api_key","previous_key_expires_at"}`. The new key works at
 * once; the app's key until now keeps working for the grace period (`API_KEY_GRACE_HOURS`), then stops.
 * At most two keys are live: a key still in its grace period from an earlier rotation stops now (the
 * one rotated away from longest ago, which its holders were told to replace), so rotating twice in a
 * row also shuts out a leaked key at once. Expired keys are deleted here, and the app's stream tokens
 * (any may have been got with a leaked key; pages ask their backend for a new one when they reconnect).
 */
export function rotateKeyRoute(deps: { db: Database; graceHours?: number | undefined }): Middleware<AppState> {
  const graceHours = deps.graceHours ?? DEFAULT_GRACE_HOURS;
  return async function rotateKeyRoute(ctx) {
    const appId = appIdParam(ctx as { params?: Record<string, string> });
    const rotated = await deps.db.transaction(async (tx) => {
      // Locks the app: two rotations at once would each keep "the previous key" and leave three live.
      const app = await tx.query('SELECT id FROM apps WHERE id = $1 FOR UPDATE', [appId]);
      if (app.rowCount === 0) return undefined;
      await tx.query('DELETE FROM api_keys WHERE app_id = $1 AND expires_at IS NOT NULL', [appId]);
      // Tokens already handed out may have been got with a leaked key: its holders' backends ask again.
      await tx.query('DELETE FROM stream_tokens WHERE app_id = $1', [appId]);
      const previous = await tx.query<{ expires_at: Date }>(
        `UPDATE api_keys SET expires_at = now() + make_interval(hours => $2) WHERE app_id = $1 AND expires_at IS NULL RETURNING expires_at`,
        [appId, graceHours],
      );
      return { key: await insertKey(tx, appId), previousExpiresAt: previous.rows[0]?.expires_at ?? null };
    });
    if (!rotated) throw new HttpError(404, `No app has the id ${appId}`);
    ctx.state.log.info({ appId, previousKeyExpiresAt: rotated.previousExpiresAt }, 'API key rotated');
    ctx.body = { api_key: rotated.key, previous_key_expires_at: rotated.previousExpiresAt?.toISOString() ?? null };
  };
}

function appIdParam(ctx: { params?: Record<string, string> }): string {
  const appId = ctx.params?.app_id ?? '';
  if (!UUID.test(appId))
    throw new HttpError(400, 'app_id must be the UUID POST /internal/apps answered, e.g. 550e8400-e29b-41d4-a716-446655440000');
  return appId;
}

interface AppListRow {
  id: string;
  name: string;
  ids: string[] | null;
  created_at: Date;
  keys: Array<{ key_id: string; created_at: string; expires_at: string | null }>;
}

/**
 * `GET /internal/apps` → `{"apps":[{"app_id","name","ids","created_at","keys":[{"key_id","created_at","expires_at"}]}]}`,
 * oldest first: what an operator needs to find the app a leaked key belongs to (its `key_id` is the part
 * after `bk_live_`) and to see which keys still work. Never a key or its hash; expired keys are left out.
 */
export function listAppsRoute(deps: { db: Database }): Middleware<AppState> {
  return async function listApps(ctx) {
    const { rows } = await deps.db.query<AppListRow>(
      `SELECT a.id, a.name, a.ids, a.created_at,
         COALESCE((SELECT json_agg(json_build_object('key_id', k.id, 'created_at', k.created_at, 'expires_at', k.expires_at)
                                   ORDER BY k.created_at)
                   FROM api_keys k WHERE k.app_id = a.id AND (k.expires_at IS NULL OR k.expires_at > now())), '[]') AS keys
       FROM apps a ORDER BY a.created_at, a.id`,
    );
    ctx.set('Cache-Control', 'no-store');
    ctx.body = {
      apps: rows.map((row) => ({
        app_id: row.id,
        name: row.name,
        ids: row.ids,
        created_at: row.created_at.toISOString(),
        keys: row.keys.map((key) => ({
          key_id: key.key_id,
          created_at: new Date(key.created_at).toISOString(),
          expires_at: key.expires_at && new Date(key.expires_at).toISOString(),
        })),
      })),
    };
  };
}

/**
 * `DELETE /internal/apps/:app_id` → `{"success":true,"app_id","message"}`: the app, its keys and its
 * stream tokens are gone at once, on every instance; its open live streams close at their next heartbeat.
 */
export function deleteAppRoute(deps: { db: Database }): Middleware<AppState> {
  return async function deleteApp(ctx) {
    const appId = appIdParam(ctx as { params?: Record<string, string> });
    const deleted = await deps.db.query('DELETE FROM apps WHERE id = $1', [appId]);
    if (deleted.rowCount === 0) throw new HttpError(404, `No app has the id ${appId}`);
    ctx.state.log.info({ appId }, 'app deleted');
    ctx.body = {
      success: true,
      app_id: appId,
      message: 'App deleted: its API keys and stream tokens no longer work, and its open live streams close within 15 seconds.',
    };
  };
}

function quoted(values: string[]): string {
  return values.map((value) => JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)).join(', ');
}
