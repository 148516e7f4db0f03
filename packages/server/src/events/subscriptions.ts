import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Queryable } from '../db/database.js';

/**
 * A subscription's state as Beckon keeps it: `pending` while the provider is being asked (its new
 * secret already accepted, since the provider may post at once), `active` once it answered, `failed`
 * when it refused. Deliveries are accepted for `pending` and `active` ones.
 */
export type SubscriptionStatus = 'pending' | 'active' | 'failed';

/** A subscription as it may be shown: never its secret or the secret's hash. */
export interface SubscriptionSummary {
  provider: string;
  /** The config id. */
  id: string;
  status: SubscriptionStatus;
  /** The provider's id of it, once it gave one. */
  provider_subscription_id: string | null;
  expires_at: string | null;
  updated_at: string;
}

/** A new secret for a webhook URL: 32 random bytes (base64url, 43 characters), and the SHA-256 stored in its place. */
export function newSubscriptionSecret(): { token: string; hash: string } {
  const token = randomBytes(32).toString('base64url');
  return { token, hash: hashToken(token) };
}

function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** Stands in for a missing row, so an unknown id costs the same comparison as a wrong token. */
const NO_HASH = hashToken('no subscription');

/**
 * Whether `token` is the secret of the tenant's subscription with this provider that accepts
 * deliveries. The hashes are compared in constant time; an unknown id, no subscription and a wrong
 * token are one and the same answer.
 */
export async function subscriptionTokenMatches(db: Queryable, provider: string, tenant: string, token: string): Promise<boolean> {
  const { rows } = await db.query<{ secret_hash: string }>(
    `SELECT secret_hash FROM subscriptions WHERE provider = $1 AND tenant = $2 AND status IN ('pending', 'active')`,
    [provider, tenant],
  );
  const expected = Buffer.from(rows[0]?.secret_hash ?? NO_HASH, 'hex');
  const given = Buffer.from(hashToken(token), 'hex');
  return timingSafeEqual(given, expected) && rows.length === 1;
}

/** Every subscription, by provider and id: what `GET /internal/subscriptions` shows. */
export async function listSubscriptions(db: Queryable): Promise<SubscriptionSummary[]> {
  const { rows } = await db.query<{
    provider: string;
    tenant: string;
    status: SubscriptionStatus;
    provider_subscription_id: string | null;
    expires_at: Date | null;
    updated_at: Date;
  }>('SELECT provider, tenant, status, provider_subscription_id, expires_at, updated_at FROM subscriptions ORDER BY provider, tenant');
  return rows.map((row) => ({
    provider: row.provider,
    id: row.tenant,
    status: row.status,
    provider_subscription_id: row.provider_subscription_id,
    expires_at: row.expires_at?.toISOString() ?? null,
    updated_at: row.updated_at.toISOString(),
  }));
}

/** The tenant's subscription with a provider, for renewing it; undefined when there is none. */
export async function findSubscription(
  db: Queryable,
  provider: string,
  tenant: string,
): Promise<{ providerSubscriptionId: string | null; status: SubscriptionStatus; expiresAt: Date | null } | undefined> {
  const { rows } = await db.query<{ provider_subscription_id: string | null; status: SubscriptionStatus; expires_at: Date | null }>(
    'SELECT provider_subscription_id, status, expires_at FROM subscriptions WHERE provider = $1 AND tenant = $2',
    [provider, tenant],
  );
  const row = rows[0];
  return row && { providerSubscriptionId: row.provider_subscription_id, status: row.status, expiresAt: row.expires_at };
}

/** How long a `pending` subscription holds off another creation for the same id: longer than a provider's answer may take. */
const PENDING_SECONDS = 60;

/**
 * Creates or replaces the tenant's subscription with a provider as `pending`, with a new secret's hash.
 * False when another creation for it is under way (`pending` for less than a minute): two at once would
 * each ask the provider, and the first subscription's deliveries would be refused with the second's secret.
 */
export async function startSubscription(db: Queryable, provider: string, tenant: string, secretHash: string): Promise<boolean> {
  const { rowCount } = await db.query(
    `INSERT INTO subscriptions (tenant, provider, secret_hash, status) VALUES ($1, $2, $3, 'pending')
     ON CONFLICT (tenant, provider) DO UPDATE
       SET secret_hash = EXCLUDED.secret_hash, status = 'pending', provider_subscription_id = NULL, expires_at = NULL, updated_at = now()
       WHERE subscriptions.status <> 'pending' OR subscriptions.updated_at < now() - make_interval(secs => $4)`,
    [tenant, provider, secretHash, PENDING_SECONDS],
  );
  return rowCount === 1;
}

/** Records what the provider answered: `active` with its id and expiry, or `failed`. */
export async function settleSubscription(
  db: Queryable,
  provider: string,
  tenant: string,
  outcome: { status: 'active'; providerSubscriptionId: string | null; expiresAt: Date | null } | { status: 'failed' },
): Promise<void> {
  if (outcome.status === 'failed') {
    await db.query(`UPDATE subscriptions SET status = 'failed', updated_at = now() WHERE provider = $1 AND tenant = $2`, [
      provider,
      tenant,
    ]);
    return;
  }
  await db.query(
    `UPDATE subscriptions SET status = 'active', provider_subscription_id = COALESCE($3, provider_subscription_id), expires_at = $4,
       updated_at = now()
     WHERE provider = $1 AND tenant = $2`,
    [provider, tenant, outcome.providerSubscriptionId, outcome.expiresAt],
  );
}
