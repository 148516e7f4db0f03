import { randomBytes } from 'node:crypto';
import type { Middleware } from 'koa';
import { z } from 'zod';
import type { AppState } from '../../context.js';
import type { Database } from '../../db/database.js';
import { HttpError } from '../../http-error.js';
import { readJson } from '../../middleware/body.js';
import { ID_PATTERN } from '../../tenants/schema.js';
import type { TenantStore } from '../../tenants/store.js';
import { DialpadError, type DialpadClient } from './client.js';
import type { SecretBox } from './secrets.js';
import { failWebhook, findActiveWebhook, listWebhooks, recordSubscription, settleWebhook, startWebhook } from './store.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const BODY_LIMIT = 8_192;

/** Dialpad's call states (the current spec's `call_states` enum): a subscription may list any of them. */
export const CALL_STATES = [
  'admin',
  'admin_recording',
  'ai_playbook',
  'all',
  'barge',
  'blocked',
  'call_transcription',
  'calling',
  'connected',
  'csat',
  'dispositions',
  'eavesdrop',
  'hangup',
  'hold',
  'merged',
  'missed',
  'monitor',
  'parked',
  'pcsat',
  'postcall',
  'preanswer',
  'queued',
  'recap_action_items',
  'recap_outcome',
  'recap_purposes',
  'recap_summary',
  'recording',
  'ringing',
  'takeover',
  'transcription',
  'voicemail',
  'voicemail_uploaded',
] as const;

/** What a call subscription asks for when the request does not say: every state Beckon's model moves on, and the voicemail's recording. */
export const DEFAULT_CALL_STATES = ['ringing', 'calling', 'connected', 'missed', 'voicemail', 'voicemail_uploaded', 'hangup'];

export interface DialpadAdminDeps {
  db: Database;
  tenants: Pick<TenantStore, 'get'>;
  client: DialpadClient;
  secrets: SecretBox;
  /** Where Dialpad reaches this server: the default `webhook_url` is `<publicUrl>/webhooks/dialpad`. */
  publicUrl: string;
  /** `DIALPAD_DEFAULT_ID`: the id of a webhook whose app reads several ids and whose request names none. */
  defaultId: string | undefined;
}

function fail(error: z.ZodError): never {
  const issue = error.issues[0];
  if (issue?.code === 'unrecognized_keys') throw new HttpError(400, `Unknown field(s) ${issue.keys.join(', ')}`);
  throw new HttpError(400, issue?.message ?? 'The body is not valid');
}

function appIdOf(value: unknown): string {
  if (typeof value !== 'string' || !UUID.test(value)) {
    throw new HttpError(400, 'app_id must be the UUID POST /internal/apps answered, e.g. 550e8400-e29b-41d4-a716-446655440000');
  }
  return value.toLowerCase();
}

async function appIds(db: Database, appId: string): Promise<string[] | null> {
  const { rows } = await db.query<{ ids: string[] | null }>('SELECT ids FROM apps WHERE id = $1', [appId]);
  if (rows.length === 0) throw new HttpError(404, `No app has the id ${appId}: create it with POST /internal/apps`);
  return rows[0]!.ids;
}

const newWebhook = z.strictObject({
  webhook_url: z
    .string({ error: 'webhook_url must be a string' })
    .trim()
    .max(2_048, { error: 'webhook_url must be at most 2048 characters' })
    .refine((value) => /^https?:\/\/\S+$/i.test(value) && URL.canParse(value), {
      error: 'webhook_url must be an http(s) URL, e.g. https://beckon.example.com/webhooks/dialpad',
    })
    .optional(),
  webhook_secret: z
    .string({ error: 'webhook_secret must be a string' })
    .regex(/^[\x21-\x7e]{32,256}$/, {
      error: 'webhook_secret must be 32 to 256 visible ASCII characters on one line (or leave it out: one is generated)',
    })
    .optional(),
  id: z
    .string({ error: 'id must be a string' })
    .regex(ID_PATTERN, { error: 'id must be a config id such as example.com-sales' })
    .optional(),
});

/** Which config id the webhook's events belong to: the one named, the app's only one, or `DIALPAD_DEFAULT_ID`; it must be the app's and configured. */
function webhookTenant(deps: DialpadAdminDeps, ids: string[] | null, named: string | undefined): string {
  const id = named ?? (ids?.length === 1 ? ids[0] : deps.defaultId);
  if (!id) {
    throw new HttpError(
      400,
      'Name the config id the events belong to ("id" in the body): the app reads several, and DIALPAD_DEFAULT_ID is not set',
    );
  }
  if (ids && !ids.includes(id))
    throw new HttpError(400, `The app does not read the id ${JSON.stringify(id)}: name one of ${ids.join(', ')}`);
  if (!deps.tenants.get(id)) throw new HttpError(400, `No config has the id ${JSON.stringify(id)}: configure it first`);
  return id;
}

/**
 * `POST /internal/webhooks/create?app_id=<uuid>` `{"webhook_url"?, "webhook_secret"?, "id"?}` → 201
 * `{"success":true,"webhook_id","id","message","next_step"}`: Dialpad creates a webhook posting to
 * `webhook_url` (default `<PUBLIC_URL>/webhooks/dialpad`) signed with `webhook_secret` (default 32 random
 * bytes). The secret is stored sealed before Dialpad is asked and never shown again; events signed with
 * it are stored under `id`. 400 bad input, 404 unknown app, 409 a secret another webhook has, 502 when
 * Dialpad refuses or does not answer (a create is never repeated: it may have been made).
 */
export function createWebhookRoute(deps: DialpadAdminDeps): Middleware<AppState> {
  return async function createWebhookRoute(ctx) {
    const appId = appIdOf(ctx.query.app_id);
    const body = (await readJson(ctx, BODY_LIMIT)) ?? {};
    if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new HttpError(400, 'The body must be a JSON object');
    const parsed = newWebhook.safeParse(body);
    if (!parsed.success) fail(parsed.error);
    const ids = await appIds(deps.db, appId);
    const tenant = webhookTenant(deps, ids, parsed.data.id);
    const hookUrl = parsed.data.webhook_url ?? `${deps.publicUrl.replace(/\/+$/, '')}/webhooks/dialpad`;
    const secret = parsed.data.webhook_secret ?? randomBytes(32).toString('base64url');
    const webhookId = await startWebhook(deps.db, { appId, tenant, hookUrl, secret }, deps.secrets);
    if (webhookId === undefined) {
      throw new HttpError(409, 'Another webhook already has this webhook_secret: give each webhook its own (or leave it out to get one)');
    }
    let created: { id: string };
    try {
      created = await deps.client.webhooks.create({ hookUrl, secret });
    } catch (error) {
      await failWebhook(deps.db, webhookId);
      if (!(error instanceof DialpadError)) throw error;
      ctx.state.log.warn({ appId, id: tenant, reason: error.message }, 'dialpad webhook not created');
      const maybe = error.status === undefined ? ' (it may have been created: check your Dialpad webhooks before trying again)' : '';
      throw new HttpError(502, `Dialpad did not create the webhook: ${error.message}${maybe}`);
    }
    await settleWebhook(deps.db, webhookId, created.id);
    ctx.state.log.info({ appId, id: tenant, webhook: created.id }, 'dialpad webhook created');
    ctx.status = 201;
    ctx.body = {
      success: true,
      webhook_id: created.id,
      id: tenant,
      message: 'Webhook created. Its secret is stored sealed and is not shown again.',
      next_step: 'Create its call and SMS subscriptions: POST /internal/subscriptions/dialpad {"app_id","webhook_id"}',
    };
  };
}

/** `GET /internal/webhooks?app_id=<uuid>` → `{"webhooks":[…]}` (every app's without `app_id`): never a secret. */
export function listWebhooksRoute(deps: { db: Database }): Middleware<AppState> {
  return async function listWebhooksRoute(ctx) {
    const appId = ctx.query.app_id === undefined ? undefined : appIdOf(ctx.query.app_id);
    if (appId) await appIds(deps.db, appId);
    ctx.body = { webhooks: await listWebhooks(deps.db, appId) };
  };
}

const newSubscriptions = z.strictObject({
  app_id: z.string({ error: 'app_id is required: the UUID POST /internal/apps answered' }).regex(UUID, {
    error: 'app_id must be the UUID POST /internal/apps answered',
  }),
  webhook_id: z
    .union([z.string(), z.number()], { error: 'webhook_id is required: the webhook_id POST /internal/webhooks/create answered' })
    .transform(String)
    .refine((value) => /^\d{1,19}$/.test(value), { error: 'webhook_id must be the webhook_id POST /internal/webhooks/create answered' }),
  call_states: z
    .array(z.enum(CALL_STATES, { error: `call_states may hold only Dialpad's call states: ${CALL_STATES.join(', ')}` }), {
      error: 'call_states must be a list of call states such as ["ringing","connected","hangup"]',
    })
    .min(1, { error: 'call_states must not be empty (leave it out for the default states)' })
    .max(CALL_STATES.length)
    .optional(),
  sms: z.boolean({ error: 'sms must be true or false' }).optional(),
});

/**
 * `POST /internal/subscriptions/dialpad {"app_id","webhook_id","call_states"?,"sms"?}` → 201
 * `{"success":true,"webhook_id","subscriptions":[{"kind","subscription_id",…}]}`: Dialpad's call event
 * subscription on the webhook (`call_states`, default `DEFAULT_CALL_STATES`) and, unless `sms` is false,
 * its SMS subscription (every direction, with delivery status). Listed by `GET /internal/subscriptions`.
 * 400 bad input, 404 unknown app or webhook, 502 when Dialpad refuses (what was created before is kept and said).
 */
export function subscribeDialpadRoute(deps: DialpadAdminDeps): Middleware<AppState> {
  return async function subscribeDialpadRoute(ctx) {
    const body = await readJson(ctx, BODY_LIMIT);
    if (body === undefined) throw new HttpError(400, 'Send {"app_id":"<uuid>","webhook_id":"<id>"} (call_states and sms are optional)');
    if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new HttpError(400, 'The body must be a JSON object');
    const parsed = newSubscriptions.safeParse(body);
    if (!parsed.success) fail(parsed.error);
    const appId = parsed.data.app_id.toLowerCase();
    await appIds(deps.db, appId);
    const webhook = await findActiveWebhook(deps.db, appId, parsed.data.webhook_id);
    if (!webhook) {
      throw new HttpError(
        404,
        `The app has no webhook ${parsed.data.webhook_id}: create one with POST /internal/webhooks/create?app_id=${appId}`,
      );
    }
    const callStates = parsed.data.call_states ? [...new Set(parsed.data.call_states)] : DEFAULT_CALL_STATES;
    const done: { kind: 'call' | 'sms'; subscription_id: string; call_states?: string[]; direction?: string }[] = [];
    const refused = (what: string, error: unknown): never => {
      if (!(error instanceof DialpadError)) throw error;
      ctx.state.log.warn({ appId, webhook: parsed.data.webhook_id, reason: error.message }, `dialpad ${what} subscription not created`);
      const kept = done.length > 0 ? ` (the ${done.map((item) => item.kind).join(' and ')} subscription was created and is kept)` : '';
      throw new HttpError(502, `Dialpad did not create the ${what} subscription: ${error.message}${kept}`);
    };
    try {
      const call = await deps.client.subscriptions.createCall({ endpointId: parsed.data.webhook_id, callStates });
      await recordSubscription(deps.db, { webhookId: webhook.id, kind: 'call', dialpadId: call.id, callStates });
      done.push({ kind: 'call', subscription_id: call.id, call_states: callStates });
    } catch (error) {
      refused('call', error);
    }
    if (parsed.data.sms !== false) {
      try {
        const sms = await deps.client.subscriptions.createSms({ endpointId: parsed.data.webhook_id, direction: 'all', status: true });
        await recordSubscription(deps.db, { webhookId: webhook.id, kind: 'sms', dialpadId: sms.id, direction: 'all' });
        done.push({ kind: 'sms', subscription_id: sms.id, direction: 'all' });
      } catch (error) {
        refused('SMS', error);
      }
    }
    ctx.state.log.info(
      { appId, id: webhook.tenant, webhook: parsed.data.webhook_id, subscriptions: done.length },
      'dialpad subscriptions created',
    );
    ctx.status = 201;
    ctx.body = { success: true, webhook_id: parsed.data.webhook_id, id: webhook.tenant, subscriptions: done };
  };
}
