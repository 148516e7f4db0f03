import type { Middleware } from 'koa';
import { placementFor, schedulingAllowed, type Placed } from '../callbacks/placement.js';
import { checkScheduledAt } from '../callbacks/schedule.js';
import { bookCallback, recordPlacedCallback } from '../callbacks/store.js';
import type { ServerDeps } from '../deps.js';
import { checkVisitorNumbers, clientAddress, clientKey, consume } from '../guards/limits.js';
import { originAllowed } from '../guards/origins.js';
import { checkPhone } from '../guards/phone-policy.js';
import { maskPhone } from '../logging.js';
import type { BodyState } from '../middleware/body.js';
import { isoUtc, nextOpen, openAt } from '../hours/open.js';
import type { OpeningHours } from '../hours/schema.js';
import { wallClock } from '../hours/zone.js';
import { HttpError } from '../http-error.js';
import { ID_PATTERN, type TenantConfig } from '../tenants/schema.js';

const PHONE_ERRORS = {
  invalid: { message: 'Please enter a valid phone number.', code: 'invalid_number' },
  country: { message: 'Sorry, we cannot call numbers in that country.', code: 'country_not_allowed' },
  premium: { message: 'Sorry, we cannot call that number.', code: 'number_not_allowed' },
} as const;

/**
 * `POST /click-to-call {id, phone_number}`: the id's provider calls the visitor (see `placementFor`), and
 * with a database the call is recorded (`callback_id`, `status_token` for its live status).
 * The checks run in the running service's order (id, config, number, limits), with the origin and
 * per-number checks added, whichever the provider; what is called always comes from config, never from
 * the request. An id with `hours` that is closed answers 409 once the request is known to be well formed
 * (id, origin, number), before Turnstile and the limits: a closed line spends no one's budget.
 *
 * With `scheduled_at` the request books a callback instead (202), closed line or not: the same checks
 * and limits, then the time (`checkScheduledAt`, 400 `invalid_schedule`, before Turnstile and the limits
 * for the same reason) and one pending booking per number per id (409 `already_booked`). The worker
 * (`callbacks/worker.ts`) places it at its time.
 */
export function clickToCall(deps: ServerDeps): Middleware<BodyState> {
  return async function clickToCall(ctx) {
    const { fields, log } = ctx.state;
    // `domain` is what widgets from before the id refactor still send.
    const id = (fields.id ?? fields.domain ?? '').trim();
    if (!ID_PATTERN.test(id)) throw new HttpError(404, 'This call button is not configured.', { code: 'not_configured' });
    let tenant;
    try {
      tenant = deps.tenants.get(id);
    } catch (error) {
      log.error({ err: error, id }, 'config unavailable');
      throw new HttpError(500, 'Service temporarily unavailable.', { code: 'unavailable' });
    }
    const placement = tenant ? placementFor(deps, tenant) : 'not_configured';
    if (!tenant || placement === 'not_configured') {
      log.warn({ id }, 'click-to-call for an id without a queue');
      throw new HttpError(404, 'This call button is not configured.', { code: 'not_configured' });
    }
    if (placement === 'unavailable') {
      log.error({ id }, 'this id places its calls through Twilio but TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN are not set');
      throw new HttpError(503, 'Service temporarily unavailable.', { code: 'unavailable' });
    }
    if (!originAllowed(tenant, ctx.get('Origin') || undefined)) {
      log.warn({ id, origin: ctx.get('Origin') }, 'click-to-call from an origin the id does not allow');
      throw new HttpError(403, 'This call button cannot be used on this site.', { code: 'origin_not_allowed' });
    }
    const now = deps.clock?.() ?? new Date();
    const requested = fields.scheduled_at?.trim();
    let scheduledAt: Date | undefined;
    if (requested) {
      // schedulingAllowed says no without a database.
      if (!schedulingAllowed(deps, tenant)) {
        throw new HttpError(409, 'This call button does not take bookings: ask for a call now instead.', { code: 'scheduling_disabled' });
      }
      checkedPhone(fields, tenant);
      const schedule = checkScheduledAt(requested, tenant.hours, now);
      if (!schedule.ok) throw new HttpError(400, schedule.message, { code: 'invalid_schedule' });
      scheduledAt = schedule.at;
    } else if (tenant.hours && !openAt(tenant.hours, now)) {
      checkedPhone(fields, tenant);
      refuseClosed(ctx, tenant.hours, now);
      return;
    }
    const visitor = clientKey(ctx.ip);
    const limitVisitor = () =>
      consume(deps.limits.ip, visitor, 'Too many requests. Please try again in a minute.').catch(tripped(deps, log, { limit: 'ip', id }));
    if (tenant.require_turnstile === true) {
      // Each check costs a request to Cloudflare: a client over its limit does not get to make one.
      await limitVisitor();
      await checkBot(deps, clientAddress(ctx.ip), fields, log, id);
    }
    const phone = checkedPhone(fields, tenant);

    const to = maskPhone(phone.e164);
    // Before the other limits, so it sees every number a visitor tries, even ones they would refuse.
    await checkVisitorNumbers(deps.limits, visitor, phone.e164, 'Too many different numbers. Please try again tomorrow.').catch(
      tripped(deps, log, { limit: 'visitor-numbers', id, to }),
    );
    if (tenant.require_turnstile !== true) await limitVisitor();
    await consume(deps.limits.number, phone.e164, 'This number was called too often. Please try again later.').catch(
      tripped(deps, log, { limit: 'number', id, to }),
    );
    // The id's budget comes last, so only a request that will be placed spends it: one visitor refused by
    // the limits above cannot use up a customer's button for everyone else.
    try {
      await consume(deps.limits.id, id, 'Too many requests. Please try again later.');
    } catch (error) {
      // Not called after all: the number's point goes back to it.
      await deps.limits.number.reward(phone.e164, 1).catch(() => undefined);
      throw tripped(deps, log, { limit: 'id', id })(error);
    }

    const callback = { tenant: id, provider: placement.provider, phone: phone.e164 };
    if (scheduledAt && deps.db) {
      const booked = await bookCallback(deps.db, { ...callback, scheduledAt }, now);
      if (booked === 'already_booked') {
        await deps.limits.number.reward(phone.e164, 1).catch(() => undefined);
        throw new HttpError(409, 'This number already has a callback booked: cancel it first to book another time.', {
          code: 'already_booked',
        });
      }
      log.info({ id, to, callback: booked.callbackId, scheduledAt: isoUtc(scheduledAt) }, 'callback booked');
      ctx.status = 202;
      ctx.body = {
        status: 'scheduled',
        callback_id: booked.callbackId,
        scheduled_at: isoUtc(scheduledAt),
        cancel_token: booked.cancelToken,
        status_token: booked.statusToken,
      };
      return;
    }

    let placed: Placed;
    try {
      placed = await placement.place(phone.e164, id);
    } catch (error) {
      log.error({ ...placement.failure(error), id, to }, `${placement.kind} failed`);
      throw new HttpError(502, 'Could not place your call right now. Please try again.', { code: 'call_failed' });
    }
    log.info({ ...placed.log, id, to }, `${placement.kind} placed`);
    const recorded = { ...callback, ...(placed.providerCallSid ? { providerCallSid: placed.providerCallSid } : {}) };
    ctx.body = { status: 'ok', ...(deps.db ? await recordCall(deps.db, recorded, now, log) : {}) };
  };
}

/**
 * Records a call just placed, for its live status. The call is out already: a database failing now costs
 * the visitor the status, never a 5xx that would make them ask for a second call.
 */
async function recordCall(
  db: NonNullable<ServerDeps['db']>,
  callback: Parameters<typeof recordPlacedCallback>[1],
  now: Date,
  log: BodyState['log'],
): Promise<{ callback_id?: string; status_token?: string }> {
  try {
    const { callbackId, statusToken } = await recordPlacedCallback(db, callback, now);
    return { callback_id: callbackId, status_token: statusToken };
  } catch (error) {
    log.error({ err: error, id: callback.tenant }, 'the call was placed but could not be recorded: no live status for it');
    return {};
  }
}

/** The visitor's number in E.164, or the 400 that says what is wrong with it. */
function checkedPhone(fields: Record<string, string | undefined>, tenant: TenantConfig): { e164: string } {
  const phone = checkPhone(fields.phone_number ?? '', tenant);
  if (!phone.ok) throw new HttpError(400, PHONE_ERRORS[phone.reason].message, { code: PHONE_ERRORS[phone.reason].code });
  return phone;
}

/**
 * The 409 of a closed line, `{"status":"error","code":"closed","message","next_open"}`: written here
 * rather than thrown, because the error envelope carries no `next_open`. `next_open` is UTC (`Z`), for
 * the widget to show in the visitor's zone; the message names the business's own time and zone.
 */
function refuseClosed(ctx: Parameters<Middleware<BodyState>>[0], hours: OpeningHours, now: Date): void {
  const opens = nextOpen(hours, now);
  const message = opens
    ? `We are closed right now. We open again at ${localTime(opens, hours.timezone)} (${hours.timezone} time).`
    : 'We are closed right now, and not open in the next 14 days.';
  ctx.state.refusal = message;
  ctx.status = 409;
  ctx.body = { status: 'error', code: 'closed', message, next_open: opens && isoUtc(opens) };
}

/** `2026-11-26 09:00` in `timeZone`. */
function localTime(instant: Date, timeZone: string): string {
  return new Date(wallClock(instant.getTime(), timeZone)).toISOString().slice(0, 16).replace('T', ' ');
}

/** Turnstile tokens are at most 2048 characters. */
const MAX_TOKEN_LENGTH = 2048;

/**
 * The id requires a Cloudflare Turnstile token: the page sends it as `turnstile_token` (or under the
 * name Turnstile's own form field has, `cf-turnstile-response`), and it is verified after the per-address
 * limit (each check is a request to Cloudflare) and before anything that costs a call.
 */
async function checkBot(deps: ServerDeps, ip: string, fields: Record<string, string | undefined>, log: BodyState['log'], id: string) {
  if (!deps.botCheck) {
    log.error({ id }, 'this id requires Turnstile but TURNSTILE_SECRET_KEY is not set');
    throw new HttpError(503, 'Service temporarily unavailable.', { code: 'unavailable' });
  }
  const token = (fields.turnstile_token ?? fields['cf-turnstile-response'] ?? '').trim();
  if (!token) throw new HttpError(403, 'Please complete the verification and try again.', { code: 'verification_required' });
  if (token.length > MAX_TOKEN_LENGTH) throw new HttpError(400, 'The verification token is malformed.', { code: 'verification_failed' });
  const result = await deps.botCheck.verify(token, ip);
  if (result === 'unavailable')
    throw new HttpError(502, 'Could not verify your request right now. Please try again.', { code: 'verification_unavailable' });
  if (result === 'failed') throw new HttpError(403, 'The verification failed. Please try again.', { code: 'verification_failed' });
}

/** Logs and counts which limit tripped (number masked) and passes the 429 on. */
function tripped(deps: Pick<ServerDeps, 'metrics'>, log: BodyState['log'], details: { limit: string } & Record<string, string>) {
  return (error: unknown): never => {
    if (error instanceof HttpError) {
      log.warn(details, 'rate limit reached');
      deps.metrics?.limitRefused(details.limit);
    }
    throw error;
  };
}
