import type { Middleware } from 'koa';
import type { Logger } from 'pino';
import type { AppState } from '../../context.js';
import type { Database } from '../../db/database.js';
import {
  claimDueSubscriptions,
  findSubscription,
  listSubscriptions,
  newSubscriptionSecret,
  recordSubscriptionFailure,
  settleSubscription,
  startSubscription,
} from '../../events/subscriptions.js';
import { readSubscriptionId } from '../../api/subscription-request.js';
import { HttpError } from '../../http-error.js';
import type { TenantStore } from '../../tenants/store.js';
import type { RingCentralClient, RingCentralSubscription } from './client.js';
import { PROVIDER } from './events.js';

/** The JWT user's own calls, with each call's parties and states (detailed presence). */
export const PRESENCE_FILTER = '/restapi/v1.0/account/~/extension/~/presence?detailedTelephonyState=true';
/**
 * The longest lifetime asked for: 10 years, the WebHook ceiling of RingCentral's current SDK models (its
 * older OpenAPI description says 20). RingCentral may grant less; its `expirationTime` is what is kept.
 */
export const MAX_EXPIRES_IN = 315_360_000;
/** The loop renews what ends within this many days. */
export const RENEW_WITHIN_DAYS = 2;
/** How often the loop renews, retries and checks that RingCentral still delivers (not blacklisted, not gone). */
const CHECK_EVERY_MS = 300_000;
/** How long a claimed subscription is left to the instance that claimed it. */
const CLAIM_MINUTES = 5;

export interface RingCentralSubscribeDeps {
  db: Database;
  ringcentral: RingCentralClient;
  tenants: Pick<TenantStore, 'get'>;
  /** Where RingCentral reaches this server (`PUBLIC_URL`). */
  publicUrl: string;
  logger: Logger;
}

export interface RingCentralSubscribeResult {
  /** `created`: a new subscription with a new verification token; `renewed`: the existing one's lifetime started again. */
  action: 'created' | 'renewed';
  /** Why a subscription Beckon held was replaced by the new one (`blacklisted: …`, `gone`), when it was. */
  replaced?: string;
  expiresAt: Date | null;
}

/** Why RingCentral would not subscribe or renew; its message never holds a credential. */
export class RingCentralSubscribeError extends Error {
  override name = 'RingCentralSubscribeError';
  constructor(
    message: string,
    /** When the renewal loop tries again (recorded with the failure). */
    readonly retryAt: Date | null,
  ) {
    super(message);
  }
}

const expiryOf = (subscription: RingCentralSubscription): Date | null =>
  subscription.expirationTime && !Number.isNaN(Date.parse(subscription.expirationTime)) ? new Date(subscription.expirationTime) : null;

/**
 * Makes RingCentral post the JWT user's calls (detailed presence) to `PUBLIC_URL/webhooks/ringcentral?id=…`.
 * Renews the subscription Beckon holds for the id; creates one when there is none, when RingCentral no
 * longer has it (404), or when it is no longer `Active` (blacklisted: RingCentral never delivers to it
 * again, so it is deleted and replaced). A creation uses a new random verification token, stored only
 * as its hash before RingCentral is asked (its handshake and first notifications may come at once).
 * `replace` forces a new subscription (the loop found the old one blacklisted or gone).
 */
export async function subscribeRingcentral(
  deps: RingCentralSubscribeDeps,
  id: string,
  replace?: { reason: string },
): Promise<RingCentralSubscribeResult> {
  if (!deps.tenants.get(id)) throw new HttpError(404, `No config has the id ${JSON.stringify(id)}`);
  const existing = await findSubscription(deps.db, PROVIDER, id);
  const current = existing?.status === 'active' ? existing.providerSubscriptionId : null;
  let replaced = replace?.reason;
  if (current && !replace) {
    const renewed = await deps.ringcentral.subscriptions.renew(current).then(
      (subscription) => subscription,
      (error: Error & { notFound?: boolean }) => error,
    );
    if (renewed instanceof Error) {
      if (!renewed.notFound) {
        const retryAt = await recordSubscriptionFailure(deps.db, PROVIDER, id, { failed: false });
        throw new RingCentralSubscribeError(`RingCentral did not renew the subscription: ${renewed.message}`, retryAt);
      }
      replaced = 'gone';
    } else if (renewed.status === 'Active') {
      const expiresAt = expiryOf(renewed);
      await settleSubscription(deps.db, PROVIDER, id, { status: 'active', providerSubscriptionId: null, expiresAt });
      return { action: 'renewed', expiresAt };
    } else {
      replaced = `${renewed.status.toLowerCase()}${renewed.blacklistedReason ? `: ${renewed.blacklistedReason.slice(0, 200)}` : ''}`;
    }
  }
  const { token, hash } = newSubscriptionSecret();
  if (!(await startSubscription(deps.db, PROVIDER, id, hash))) {
    throw new HttpError(409, `A subscription for ${id} is being created right now: try again in a minute`);
  }
  // The one replaced delivers nothing more; removed so it does not linger in RingCentral's list (gone already is fine).
  if (current && replaced !== 'gone') {
    await deps.ringcentral.subscriptions.delete(current).catch((error: Error) => {
      deps.logger.warn({ id, reason: error.message }, 'ringcentral subscription replaced, but the old one was not deleted');
    });
  }
  let created: RingCentralSubscription;
  try {
    created = await deps.ringcentral.subscriptions.create({
      eventFilters: [PRESENCE_FILTER],
      address: `${deps.publicUrl}/webhooks/ringcentral?id=${encodeURIComponent(id)}`,
      verificationToken: token,
      expiresIn: MAX_EXPIRES_IN,
    });
  } catch (error) {
    const retryAt = await recordSubscriptionFailure(deps.db, PROVIDER, id, { failed: true });
    throw new RingCentralSubscribeError(`RingCentral did not create the subscription: ${(error as Error).message}`, retryAt);
  }
  const expiresAt = expiryOf(created);
  await settleSubscription(deps.db, PROVIDER, id, { status: 'active', providerSubscriptionId: created.id, expiresAt });
  return { action: 'created', expiresAt, ...(replaced ? { replaced } : {}) };
}

/**
 * `POST /internal/subscriptions/ringcentral {"id":"<config id>"}` → 201 `{"status":"ok","id","action":"created","expires_at"}`
 * or 200 with `"action":"renewed"`; 400 for anything but one valid id, 404 for an unknown id, 409 while
 * another creation for it is under way, 502 when RingCentral refuses (its handshake failed, the app
 * lacks a permission, the credentials are wrong).
 */
export function ringcentralSubscribeRoute(deps: RingCentralSubscribeDeps): Middleware<AppState> {
  return async function ringcentralSubscribeRoute(ctx) {
    const id = await readSubscriptionId(ctx);
    let result: RingCentralSubscribeResult;
    try {
      result = await subscribeRingcentral(deps, id);
    } catch (error) {
      if (!(error instanceof RingCentralSubscribeError)) throw error;
      ctx.state.log.warn({ id, reason: error.message, retryAt: error.retryAt }, 'ringcentral subscription failed');
      throw new HttpError(502, error.message);
    }
    ctx.state.log.info({ id, action: result.action, replaced: result.replaced, expiresAt: result.expiresAt }, 'ringcentral subscription');
    ctx.status = result.action === 'created' ? 201 : 200;
    ctx.body = { status: 'ok', id, action: result.action, expires_at: result.expiresAt?.toISOString() ?? null };
  };
}

/**
 * One round of the loop, resolving to what was done per id (nothing is thrown; each outcome is logged):
 *
 * 1. Renews the subscriptions ending within `RENEW_WITHIN_DAYS` and retries those whose retry is due
 *    (a failed creation, a refused renewal), each claimed first so that one instance of several takes it.
 * 2. Lists RingCentral's subscriptions once (one light request, whatever the number of ids) and
 *    replaces each `active` one RingCentral no longer has (`gone`) or no longer delivers to
 *    (`Blacklisted`, `Suspended`): RingCentral never lifts a blacklisting, so a new subscription is the
 *    only way its calls come again. A replacement is made only if the id still holds the subscription
 *    judged, so that an instance acting on a stale list does not replace a fresh one.
 */
export async function checkRingcentralSubscriptions(deps: RingCentralSubscribeDeps): Promise<Record<string, string>> {
  const done: Record<string, string> = {};
  const due = await claimDueSubscriptions(deps.db, PROVIDER, { renewWithinDays: RENEW_WITHIN_DAYS, claimMinutes: CLAIM_MINUTES });
  for (const { tenant: id, status, failures } of due) {
    done[id] = await attempt(deps, id, status !== 'active' || failures > 0 ? 'retry' : 'renewal');
  }

  const ours = (await listSubscriptions(deps.db)).filter(
    (row) => row.provider === PROVIDER && row.status === 'active' && row.provider_subscription_id && !(row.id in done),
  );
  if (ours.length === 0) return done;
  let theirs: RingCentralSubscription[];
  try {
    theirs = await deps.ringcentral.subscriptions.list();
  } catch (error) {
    deps.logger.warn({ reason: (error as Error).message }, 'ringcentral subscriptions not checked: the list could not be read');
    return done;
  }
  const byId = new Map(theirs.map((subscription) => [subscription.id, subscription]));
  for (const row of ours) {
    const remote = byId.get(row.provider_subscription_id!);
    if (remote?.status === 'Active') continue;
    const reason = remote
      ? `${remote.status.toLowerCase()}${remote.blacklistedReason ? `: ${remote.blacklistedReason.slice(0, 200)}` : ''}`
      : 'gone';
    const still = await findSubscription(deps.db, PROVIDER, row.id);
    if (still?.status !== 'active' || still.providerSubscriptionId !== row.provider_subscription_id) continue;
    deps.logger.warn(
      { id: row.id, subscription: row.provider_subscription_id, reason },
      'ringcentral subscription no longer delivers: creating a new one',
    );
    done[row.id] = await attempt(deps, row.id, 'replacement', { reason });
  }
  return done;
}

async function attempt(
  deps: RingCentralSubscribeDeps,
  id: string,
  kind: 'renewal' | 'retry' | 'replacement',
  replace?: { reason: string },
): Promise<string> {
  try {
    const result = await subscribeRingcentral(deps, id, replace);
    deps.logger.info(
      { id, action: result.action, replaced: result.replaced, expiresAt: result.expiresAt },
      `ringcentral subscription ${kind} succeeded`,
    );
    return result.replaced ? `replaced (${result.replaced.split(':')[0]})` : result.action;
  } catch (error) {
    // RingCentral's refusals are recorded where they happen; anything else (the id gone from the config,
    // the database, a creation under way elsewhere) is recorded here, so that it too waits out the backoff.
    const retryAt =
      error instanceof RingCentralSubscribeError
        ? error.retryAt
        : await recordSubscriptionFailure(deps.db, PROVIDER, id, { failed: false }).catch(() => null);
    deps.logger.warn({ id, reason: (error as Error).message, retryAt }, `ringcentral subscription ${kind} failed`);
    return 'failed';
  }
}

/**
 * Runs `checkRingcentralSubscriptions` now and every `everyMs` (default 5 minutes). Returns the function
 * that stops it, resolving once a round under way has finished.
 */
export function startRingcentralRenewals(deps: RingCentralSubscribeDeps, everyMs = CHECK_EVERY_MS): () => Promise<void> {
  let current: Promise<void> | undefined;
  const round = () => {
    current ??= checkRingcentralSubscriptions(deps)
      .then(
        () => undefined,
        (error: Error) => deps.logger.warn({ reason: error.message }, 'ringcentral subscriptions not checked'),
      )
      .finally(() => (current = undefined));
  };
  const timer = setInterval(round, everyMs);
  timer.unref();
  round();
  return async () => {
    clearInterval(timer);
    await current;
  };
}
