import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Queryable } from '../db/database.js';

/**
 * A subscription's state as Beckon keeps it: `pending` while the provider is being asked (its new
 * secret already accepted, since the provider may post at once), `active` once it answered, `failed`
 * when it refused. Deliveries are accepted for `pending` and `active` ones. A `failed` one, and a
 * `pending` one whose creation never finished, are created again by the renewal loop at `retry_at`.
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
  /**
   * When the renewal loop next takes it up: after a failure (5 minutes, doubling up to an hour while
   * they keep failing), or, for a `pending` one, when its creation counts as stuck. Null for an `active`
   * one whose last renewal or creation succeeded: it is renewed when it ends within days.
   */
  retry_at: string | null;
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
 * How long an accepted token is trusted without asking the database again: a webhook then costs no
 * query of its own at a steady rate of deliveries. Writes in this process forget the id's entry at
 * once; a subscription replaced or failed by another instance is refused here at most this much later
 * (its provider may deliver on the old subscription that long anyway).
 */
const ACCEPTED_TOKEN_TTL_MS = 5_000;

/** Per database: the hash last accepted for each provider and id, until when, and the id's `changes` then. Only accepted tokens are kept. */
const acceptedTokens = new WeakMap<Queryable, Map<string, { hash: Buffer; until: number; changes: number }>>();

/**
 * Writes to each provider and id's subscription in this process, whatever queryable (a transaction's
 * too) they went through: an accepted token counted before the last write is checked again.
 */
const changes = new Map<string, number>();

const tokenKey = (provider: string, tenant: string) => `${provider}\u0000${tenant}`;

/** Its subscription changed: what was accepted for the id is checked again. */
function forgetAcceptedToken(provider: string, tenant: string): void {
  const key = tokenKey(provider, tenant);
  changes.set(key, (changes.get(key) ?? 0) + 1);
}

/**
 * Whether `token` is the secret of the tenant's subscription with this provider that accepts
 * deliveries. The hashes are compared in constant time; an unknown id, no subscription and a wrong
 * token are one and the same answer. A token accepted in the last `ACCEPTED_TOKEN_TTL_MS` is accepted
 * again without a query; any other is checked against the database.
 */
export async function subscriptionTokenMatches(db: Queryable, provider: string, tenant: string, token: string): Promise<boolean> {
  const given = Buffer.from(hashToken(token), 'hex');
  let accepted = acceptedTokens.get(db);
  if (!accepted) acceptedTokens.set(db, (accepted = new Map()));
  const key = tokenKey(provider, tenant);
  const known = accepted.get(key);
  const changed = changes.get(key) ?? 0;
  if (known && known.until > performance.now() && known.changes === changed && timingSafeEqual(given, known.hash)) return true;
  const { rows } = await db.query<{ secret_hash: string }>(
    `SELECT secret_hash FROM subscriptions WHERE provider = $1 AND tenant = $2 AND status IN ('pending', 'active')`,
    [provider, tenant],
  );
  const expected = Buffer.from(rows[0]?.secret_hash ?? NO_HASH, 'hex');
  const matches = timingSafeEqual(given, expected) && rows.length === 1;
  if (matches) accepted.set(key, { hash: expected, until: performance.now() + ACCEPTED_TOKEN_TTL_MS, changes: changed });
  return matches;
}

/**
 * When a `pending` subscription counts as stuck (its creator died before recording the provider's
 * answer) and the renewal loop creates it again; until then it may be a creation under way elsewhere.
 */
const STUCK_PENDING_MINUTES = 5;
/**
 * When the renewal loop next takes a subscription up, as SQL: its `retry_at`; for a `failed` or
 * `pending` one without it (written before migration 4, or by an older instance), 5 minutes after its last change.
 */
const NEXT_TRY = `COALESCE(retry_at, CASE WHEN status <> 'active' THEN updated_at + interval '${STUCK_PENDING_MINUTES} minutes' END)`;

/** Every subscription, by provider and id: what `GET /internal/subscriptions` shows. */
export async function listSubscriptions(db: Queryable): Promise<SubscriptionSummary[]> {
  const { rows } = await db.query<{
    provider: string;
    tenant: string;
    status: SubscriptionStatus;
    provider_subscription_id: string | null;
    expires_at: Date | null;
    updated_at: Date;
    retry_at: Date | null;
  }>(
    `SELECT provider, tenant, status, provider_subscription_id, expires_at, updated_at, ${NEXT_TRY} AS retry_at
     FROM subscriptions ORDER BY provider, tenant`,
  );
  return rows.map((row) => ({
    provider: row.provider,
    id: row.tenant,
    status: row.status,
    provider_subscription_id: row.provider_subscription_id,
    expires_at: row.expires_at?.toISOString() ?? null,
    updated_at: row.updated_at.toISOString(),
    retry_at: row.retry_at?.toISOString() ?? null,
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
/** The wait after a first failure, doubled after each further one up to `LAST_RETRY_SECONDS`. */
const FIRST_RETRY_SECONDS = 300;
const LAST_RETRY_SECONDS = 3_600;

/**
 * Creates or replaces the tenant's subscription with a provider as `pending`, with a new secret's hash.
 * False when another creation for it is under way (`pending` for less than a minute): two at once would
 * each ask the provider, and the first subscription's deliveries would be refused with the second's secret.
 */
export async function startSubscription(db: Queryable, provider: string, tenant: string, secretHash: string): Promise<boolean> {
  forgetAcceptedToken(provider, tenant);
  const { rowCount } = await db.query(
    `INSERT INTO subscriptions (tenant, provider, secret_hash, status, retry_at)
     VALUES ($1, $2, $3, 'pending', now() + make_interval(mins => $5))
     ON CONFLICT (tenant, provider) DO UPDATE
       SET secret_hash = EXCLUDED.secret_hash, status = 'pending', provider_subscription_id = NULL, expires_at = NULL,
         retry_at = EXCLUDED.retry_at, updated_at = now()
       WHERE subscriptions.status <> 'pending' OR subscriptions.updated_at < now() - make_interval(secs => $4)`,
    [tenant, provider, secretHash, PENDING_SECONDS, STUCK_PENDING_MINUTES],
  );
  // Again once written: a check between the first forgetting and the write may have kept the old hash.
  forgetAcceptedToken(provider, tenant);
  return rowCount === 1;
}

/** Records that the provider accepted: `active`, with its id (null: the one it has) and expiry; nothing left to retry. */
export async function settleSubscription(
  db: Queryable,
  provider: string,
  tenant: string,
  outcome: { status: 'active'; providerSubscriptionId: string | null; expiresAt: Date | null },
): Promise<void> {
  await db.query(
    `UPDATE subscriptions SET status = 'active', provider_subscription_id = COALESCE($3, provider_subscription_id), expires_at = $4,
       failures = 0, retry_at = NULL, updated_at = now()
     WHERE provider = $1 AND tenant = $2`,
    [provider, tenant, outcome.providerSubscriptionId, outcome.expiresAt],
  );
}

/**
 * Records a try that failed, and when the renewal loop tries again: 5 minutes after the first failure in
 * a row, doubling up to an hour, so that a provider that keeps refusing is asked at most hourly.
 * `failed`: the provider refused a creation, so the subscription becomes `failed` (its new secret is
 * refused with it); otherwise its status stays (a refused renewal leaves the subscription running).
 * Resolves to the time of the next try (null when there is no such subscription).
 */
export async function recordSubscriptionFailure(
  db: Queryable,
  provider: string,
  tenant: string,
  { failed }: { failed: boolean },
): Promise<Date | null> {
  forgetAcceptedToken(provider, tenant);
  const { rows } = await db.query<{ retry_at: Date }>(
    `UPDATE subscriptions SET status = CASE WHEN $3::boolean THEN 'failed' ELSE status END, failures = failures + 1,
       retry_at = now() + make_interval(secs => LEAST($5::float8, $4::float8 * power(2, LEAST(failures, 16)))), updated_at = now()
     WHERE provider = $1 AND tenant = $2
     RETURNING retry_at`,
    [provider, tenant, failed, FIRST_RETRY_SECONDS, LAST_RETRY_SECONDS],
  );
  forgetAcceptedToken(provider, tenant);
  return rows[0]?.retry_at ?? null;
}

/** A subscription the renewal loop has claimed: its tenant, and its state when claimed. */
export interface ClaimedSubscription {
  tenant: string;
  status: SubscriptionStatus;
  /** Failed tries in a row before this one. */
  failures: number;
}

/**
 * Claims the provider's subscriptions that need a try now: `active` ones ending within `renewWithinDays`,
 * and every one whose `retry_at` has come (failed, stuck pending, or a renewal that failed). The claim
 * moves `retry_at` `claimMinutes` ahead in the same `UPDATE`, so that of several instances sharing the
 * database exactly one gets each, and one that dies mid-try leaves it to be taken up after that.
 */
export async function claimDueSubscriptions(
  db: Queryable,
  provider: string,
  { renewWithinDays, claimMinutes }: { renewWithinDays: number; claimMinutes: number },
): Promise<ClaimedSubscription[]> {
  const { rows } = await db.query<ClaimedSubscription>(
    `UPDATE subscriptions SET retry_at = now() + make_interval(mins => $3)
     WHERE provider = $1
       AND (${NEXT_TRY} <= now() OR (retry_at IS NULL AND status = 'active' AND expires_at < now() + make_interval(days => $2)))
     RETURNING tenant, status, failures`,
    [provider, renewWithinDays, claimMinutes],
  );
  return rows;
}
