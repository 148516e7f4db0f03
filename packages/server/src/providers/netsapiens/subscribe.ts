import { NsNotFoundError, type NsClient } from '@beckon/ns-client';
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
import { PROVIDER } from './records.js';

/** How long a subscription runs before it must be renewed. */
export const SUBSCRIPTION_DAYS = 7;
/** Renewals move the end this far ahead of now; the loop renews what ends within `RENEW_WITHIN_DAYS`. */
export const RENEW_WITHIN_DAYS = 2;
const DAY_MS = 86_400_000;
/** How often the loop looks for what to renew or retry: the shortest wait after a failure. */
const CHECK_EVERY_MS = 300_000;
/** How long a claimed subscription is left to the instance that claimed it: far longer than NetSapiens may take to answer. */
const CLAIM_MINUTES = 5;

export interface SubscribeDeps {
  db: Database;
  ns: Pick<NsClient, 'subscriptions'>;
  tenants: Pick<TenantStore, 'get'>;
  /** Where NetSapiens reaches this server (`PUBLIC_URL`). */
  publicUrl: string;
  logger: Logger;
}

export interface SubscribeResult {
  /** `created`: a new subscription with a new secret; `renewed`: the existing one's end moved. */
  action: 'created' | 'renewed';
  expiresAt: Date;
}

/** Why NetSapiens would not subscribe or renew; its message never holds the post URL (the client cuts it). */
export class SubscribeError extends Error {
  override name = 'SubscribeError';

  constructor(
    message: string,
    /** When the renewal loop tries again (recorded with the failure). */
    readonly retryAt: Date | null,
  ) {
    super(message);
  }
}

/**
 * Makes NetSapiens send `id`'s calls (its `api_domain`, every user, model `call`) to
 * `PUBLIC_URL/webhooks/netsapiens?id=…&token=…`: renews the subscription Beckon holds for the id, or
 * creates one when there is none (or NetSapiens no longer has it). A creation uses a new random token,
 * stored only as its hash before NetSapiens is asked (it may post at once); the token itself is never
 * logged, returned or kept.
 */
export async function subscribeNetsapiens(deps: SubscribeDeps, id: string, now = new Date()): Promise<SubscribeResult> {
  const tenant = deps.tenants.get(id);
  if (!tenant) throw new HttpError(404, `No config has the id ${JSON.stringify(id)}`);
  const expiresAt = new Date(now.getTime() + SUBSCRIPTION_DAYS * DAY_MS);
  const existing = await findSubscription(deps.db, PROVIDER, id);
  if (existing?.status === 'active' && existing.providerSubscriptionId) {
    const refusal = await deps.ns.subscriptions.renew({ id: existing.providerSubscriptionId, expires: expiresAt }).then(
      () => undefined,
      (error: Error) => error,
    );
    if (!refusal) {
      await settleSubscription(deps.db, PROVIDER, id, { status: 'active', providerSubscriptionId: null, expiresAt });
      return { action: 'renewed', expiresAt };
    }
    // Gone from NetSapiens (expired and removed, or deleted there): subscribe again.
    if (!(refusal instanceof NsNotFoundError)) {
      const retryAt = await recordSubscriptionFailure(deps.db, PROVIDER, id, { failed: false });
      throw new SubscribeError(`NetSapiens did not renew the subscription: ${refusal.message}`, retryAt);
    }
  }
  if (!tenant.api_domain) throw new HttpError(400, `The id ${JSON.stringify(id)} has no api_domain: it is not a NetSapiens id`);
  const domain = tenant.api_domain;
  const { token, hash } = newSubscriptionSecret();
  if (!(await startSubscription(deps.db, PROVIDER, id, hash))) {
    throw new HttpError(409, `A subscription for ${id} is being created right now: try again in a minute`);
  }
  const postUrl = `${deps.publicUrl}/webhooks/netsapiens?id=${encodeURIComponent(id)}&token=${token}`;
  let created: { id: string };
  try {
    created = await deps.ns.subscriptions.create({ domain, model: 'call', postUrl, expires: expiresAt });
  } catch (error) {
    const retryAt = await recordSubscriptionFailure(deps.db, PROVIDER, id, { failed: true });
    throw new SubscribeError(`NetSapiens did not create the subscription: ${(error as Error).message}`, retryAt);
  }
  await settleSubscription(deps.db, PROVIDER, id, { status: 'active', providerSubscriptionId: created.id, expiresAt });
  return { action: 'created', expiresAt };
}

/**
 * `POST /internal/subscriptions/netsapiens {"id":"<config id>"}` → 201 `{"status":"ok","id","action":"created","expires_at"}`
 * or 200 with `"action":"renewed"`; 400 for anything but one valid id (naming unknown fields), 404 for
 * an unknown id, 409 while another creation for it is under way, 502 when NetSapiens refuses.
 */
export function subscribeRoute(deps: SubscribeDeps): Middleware<AppState> {
  return async function subscribeRoute(ctx) {
    const id = await readSubscriptionId(ctx);
    let result: SubscribeResult;
    try {
      result = await subscribeNetsapiens(deps, id);
    } catch (error) {
      if (!(error instanceof SubscribeError)) throw error;
      ctx.state.log.warn({ id, reason: error.message, retryAt: error.retryAt }, 'netsapiens subscription failed');
      throw new HttpError(502, error.message);
    }
    ctx.state.log.info({ id, action: result.action, expiresAt: result.expiresAt }, 'netsapiens subscription');
    ctx.status = result.action === 'created' ? 201 : 200;
    ctx.body = { status: 'ok', id, action: result.action, expires_at: result.expiresAt.toISOString() };
  };
}

/**
 * `GET /internal/subscriptions` → `{"subscriptions":[{provider, id, status, provider_subscription_id, expires_at, updated_at, retry_at}]}`:
 * never a secret. `others` adds other providers' rows after these (Dialpad's, with the fields that say which webhook).
 */
export function listSubscriptionsRoute(deps: {
  db: Database;
  others?: readonly ((db: Database) => Promise<Record<string, unknown>[]>)[];
}): Middleware<AppState> {
  return async function listSubscriptionsRoute(ctx) {
    ctx.set('Cache-Control', 'no-store');
    const more = await Promise.all((deps.others ?? []).map((list) => list(deps.db)));
    ctx.body = { subscriptions: [...(await listSubscriptions(deps.db)), ...more.flat()] };
  };
}

/**
 * Renews the NetSapiens subscriptions ending within `RENEW_WITHIN_DAYS` (or already ended: NetSapiens
 * may still hold them a while; if not, they are created again), and tries again those whose retry is
 * due: `failed` ones and `pending` ones stuck for minutes are created again, a refused renewal is
 * renewed again. Each is claimed first (`claimDueSubscriptions`), so that of several instances sharing
 * the database one takes it up. A failure sets the next try 5 minutes on, doubling up to an hour.
 * Resolves to what was done per id; each retry and its outcome are logged (never a token), nothing is thrown.
 */
export async function renewDueSubscriptions(deps: SubscribeDeps): Promise<Record<string, string>> {
  const due = await claimDueSubscriptions(deps.db, PROVIDER, { renewWithinDays: RENEW_WITHIN_DAYS, claimMinutes: CLAIM_MINUTES });
  const done: Record<string, string> = {};
  for (const { tenant: id, status, failures } of due) {
    const retrying = status !== 'active' || failures > 0;
    if (retrying) deps.logger.info({ id, status, failures }, 'netsapiens subscription retrying');
    try {
      const result = await subscribeNetsapiens(deps, id);
      done[id] = result.action;
      deps.logger.info(
        { id, action: result.action, expiresAt: result.expiresAt },
        retrying ? 'netsapiens subscription retry succeeded' : 'netsapiens subscription renewed',
      );
    } catch (error) {
      done[id] = 'failed';
      // NetSapiens' refusals are recorded where they happen; anything else (the id gone from the config,
      // the database) is recorded here, so that it too waits out the backoff.
      const retryAt =
        error instanceof SubscribeError
          ? error.retryAt
          : await recordSubscriptionFailure(deps.db, PROVIDER, id, { failed: false }).catch(() => null);
      deps.logger.warn(
        { id, reason: (error as Error).message, retryAt },
        retrying ? 'netsapiens subscription retry failed' : 'netsapiens subscription not renewed',
      );
    }
  }
  return done;
}

/**
 * Runs `renewDueSubscriptions` now and every `everyMs` (default 5 minutes, the shortest wait after a
 * failure). Returns the function that stops it, resolving once a round under way has finished (so the
 * database can be closed after it).
 */
export function startRenewals(deps: SubscribeDeps, everyMs = CHECK_EVERY_MS): () => Promise<void> {
  let current: Promise<void> | undefined;
  const round = () => {
    current ??= renewDueSubscriptions(deps)
      .then(
        () => undefined,
        (error: Error) => deps.logger.warn({ reason: error.message }, 'netsapiens subscriptions not checked for renewal'),
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
