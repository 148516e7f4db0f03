import type { Queryable } from '../../db/database.js';
import type { Signer } from './jwt.js';
import type { SecretBox } from './secrets.js';

/** Where a delivery signed with a webhook's secret belongs. */
export interface WebhookOwner {
  /** The config id its events are stored under. */
  tenant: string;
  /** Beckon's id of the webhook; undefined for `DIALPAD_WEBHOOK_SECRET`. */
  webhookId: number | undefined;
}

/** A webhook as `GET /internal/webhooks` shows it: never its secret. */
export interface WebhookSummary {
  webhook_id: string | null;
  app_id: string;
  id: string;
  hook_url: string;
  status: 'pending' | 'active' | 'failed';
  created_at: string;
  subscriptions: { kind: 'call' | 'sms'; subscription_id: string; call_states: string[] | null; direction: string | null }[];
}

/**
 * Records a webhook about to be created at Dialpad (`pending`), its secret sealed; Beckon's id of it, or
 * undefined when another webhook already has this secret (a delivery could not then say which it came
 * through). A `failed` webhook's secret may be used again: that is the operator trying again.
 */
export async function startWebhook(
  db: Queryable,
  webhook: { appId: string; tenant: string; hookUrl: string; secret: string },
  box: SecretBox,
): Promise<number | undefined> {
  const { rows } = await db.query<{ id: number }>(
    `INSERT INTO dialpad_webhooks (app_id, tenant, hook_url, secret_sealed, secret_fingerprint, status)
     VALUES ($1, $2, $3, $4, $5, 'pending')
     ON CONFLICT (secret_fingerprint) DO UPDATE SET app_id = EXCLUDED.app_id, tenant = EXCLUDED.tenant, hook_url = EXCLUDED.hook_url,
       secret_sealed = EXCLUDED.secret_sealed, status = 'pending', dialpad_webhook_id = NULL, updated_at = now()
       WHERE dialpad_webhooks.status = 'failed'
     RETURNING id`,
    [webhook.appId, webhook.tenant, webhook.hookUrl, box.seal(webhook.secret), box.fingerprint(webhook.secret)],
  );
  return rows[0]?.id;
}

/** Dialpad created it: `active`, with Dialpad's id. */
export async function settleWebhook(db: Queryable, id: number, dialpadWebhookId: string): Promise<void> {
  await db.query(`UPDATE dialpad_webhooks SET status = 'active', dialpad_webhook_id = $2, updated_at = now() WHERE id = $1`, [
    id,
    dialpadWebhookId,
  ]);
}

/** Dialpad refused, or did not answer: `failed`; its secret verifies nothing any more. */
export async function failWebhook(db: Queryable, id: number): Promise<void> {
  await db.query(`UPDATE dialpad_webhooks SET status = 'failed', updated_at = now() WHERE id = $1`, [id]);
}

/**
 * The secrets deliveries may be signed with, in the order they are tried: the webhooks Beckon created
 * (`pending` or `active`, oldest first), then `DIALPAD_WEBHOOK_SECRET` for the default id. A sealed
 * secret that no longer opens (INTERNAL_API_SECRET changed) is left out.
 */
export async function loadSigners(
  db: Queryable,
  box: SecretBox | undefined,
  fallback: { secret: string; tenant: string } | undefined,
): Promise<Signer<WebhookOwner>[]> {
  const signers: Signer<WebhookOwner>[] = [];
  if (box) {
    const { rows } = await db.query<{ id: number; tenant: string; secret_sealed: string }>(
      `SELECT id, tenant, secret_sealed FROM dialpad_webhooks WHERE status IN ('pending', 'active') ORDER BY id`,
    );
    for (const row of rows) {
      const secret = box.open(row.secret_sealed);
      if (secret !== undefined) signers.push({ secret, owner: { tenant: row.tenant, webhookId: Number(row.id) } });
    }
  }
  if (fallback) signers.push({ secret: fallback.secret, owner: { tenant: fallback.tenant, webhookId: undefined } });
  return signers;
}

/** An app's webhook by Dialpad's id of it, created and active. */
export async function findActiveWebhook(
  db: Queryable,
  appId: string,
  dialpadWebhookId: string,
): Promise<{ id: number; tenant: string } | undefined> {
  const { rows } = await db.query<{ id: number; tenant: string }>(
    `SELECT id, tenant FROM dialpad_webhooks WHERE app_id = $1 AND dialpad_webhook_id = $2 AND status = 'active'`,
    [appId, dialpadWebhookId],
  );
  const row = rows[0];
  return row && { id: Number(row.id), tenant: row.tenant };
}

export async function recordSubscription(
  db: Queryable,
  subscription: { webhookId: number; kind: 'call' | 'sms'; dialpadId: string; callStates?: string[]; direction?: string },
): Promise<void> {
  await db.query(
    `INSERT INTO dialpad_subscriptions (webhook_id, kind, dialpad_subscription_id, call_states, sms_direction)
     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (kind, dialpad_subscription_id) DO NOTHING`,
    [subscription.webhookId, subscription.kind, subscription.dialpadId, subscription.callStates ?? null, subscription.direction ?? null],
  );
}

interface WebhookRow {
  id: number;
  dialpad_webhook_id: string | null;
  app_id: string;
  tenant: string;
  hook_url: string;
  status: WebhookSummary['status'];
  created_at: Date;
}

/** An app's webhooks (every app's when `appId` is undefined), oldest first, each with its subscriptions. */
export async function listWebhooks(db: Queryable, appId: string | undefined): Promise<WebhookSummary[]> {
  const { rows } = await db.query<WebhookRow>(
    `SELECT id, dialpad_webhook_id, app_id, tenant, hook_url, status, created_at FROM dialpad_webhooks
     ${appId ? 'WHERE app_id = $1' : ''} ORDER BY id`,
    appId ? [appId] : [],
  );
  const subscriptions = await db.query<{
    webhook_id: number;
    kind: 'call' | 'sms';
    dialpad_subscription_id: string;
    call_states: string[] | null;
    sms_direction: string | null;
  }>(
    `SELECT s.webhook_id, s.kind, s.dialpad_subscription_id, s.call_states, s.sms_direction FROM dialpad_subscriptions s
     JOIN dialpad_webhooks w ON w.id = s.webhook_id ${appId ? 'WHERE w.app_id = $1' : ''} ORDER BY s.id`,
    appId ? [appId] : [],
  );
  return rows.map((row) => ({
    webhook_id: row.dialpad_webhook_id,
    app_id: row.app_id,
    id: row.tenant,
    hook_url: row.hook_url,
    status: row.status,
    created_at: row.created_at.toISOString(),
    subscriptions: subscriptions.rows
      .filter((subscription) => Number(subscription.webhook_id) === Number(row.id))
      .map((subscription) => ({
        kind: subscription.kind,
        subscription_id: subscription.dialpad_subscription_id,
        call_states: subscription.call_states,
        direction: subscription.sms_direction,
      })),
  }));
}

/** Dialpad's subscriptions as rows of `GET /internal/subscriptions` (the NetSapiens rows' fields, plus what says which webhook and app). */
export async function listDialpadSubscriptions(db: Queryable): Promise<Record<string, unknown>[]> {
  const { rows } = await db.query<{
    tenant: string;
    kind: string;
    dialpad_subscription_id: string;
    dialpad_webhook_id: string | null;
    app_id: string;
    call_states: string[] | null;
    sms_direction: string | null;
    created_at: Date;
  }>(
    `SELECT w.tenant, s.kind, s.dialpad_subscription_id, w.dialpad_webhook_id, w.app_id, s.call_states, s.sms_direction, s.created_at
     FROM dialpad_subscriptions s JOIN dialpad_webhooks w ON w.id = s.webhook_id ORDER BY w.tenant, s.id`,
  );
  return rows.map((row) => ({
    provider: 'dialpad',
    id: row.tenant,
    status: 'active',
    provider_subscription_id: row.dialpad_subscription_id,
    expires_at: null,
    updated_at: row.created_at.toISOString(),
    retry_at: null,
    kind: row.kind,
    webhook_id: row.dialpad_webhook_id,
    app_id: row.app_id,
    call_states: row.call_states,
    direction: row.sms_direction,
  }));
}
