import type { Middleware } from 'koa';
import type { ServerDeps } from '../deps.js';
import { consume } from '../guards/limits.js';
import { originAllowed } from '../guards/origins.js';
import { checkPhone } from '../guards/phone-policy.js';
import { maskPhone } from '../logging.js';
import type { BodyState } from '../middleware/body.js';
import { ApiError } from '../middleware/errors.js';
import { ID_PATTERN } from '../tenants/schema.js';

const PHONE_MESSAGES = {
  invalid: 'Please enter a valid phone number.',
  country: 'Sorry, we cannot call numbers in that country.',
  premium: 'Sorry, we cannot call that number.',
} as const;

/**
 * `POST /click-to-call {id, phone_number}`: NetSapiens calls the visitor and bridges them into the id's
 * queue. The checks run in the running service's order (id, config, number, limits), with the origin
 * and per-number checks added; the queue always comes from config, never from the request.
 */
export function clickToCall(deps: ServerDeps): Middleware<BodyState> {
  return async function clickToCall(ctx) {
    const { fields, log } = ctx.state;
    // `domain` is what widgets from before the id refactor still send.
    const id = (fields.id ?? fields.domain ?? '').trim();
    if (!ID_PATTERN.test(id)) throw new ApiError(404, 'This call button is not configured.');
    let tenant;
    try {
      tenant = deps.tenants.get(id);
    } catch (error) {
      log.error({ err: error, id }, 'config unavailable');
      throw new ApiError(500, 'Service temporarily unavailable.');
    }
    if (!tenant?.queue) {
      log.warn({ id }, 'click-to-call for an id without a queue');
      throw new ApiError(404, 'This call button is not configured.');
    }
    if (!originAllowed(tenant, ctx.get('Origin') || undefined)) {
      log.warn({ id, origin: ctx.get('Origin') }, 'click-to-call from an origin the id does not allow');
      throw new ApiError(403, 'This call button cannot be used on this site.');
    }
    const phone = checkPhone(fields.phone_number ?? '', tenant);
    if (!phone.ok) throw new ApiError(400, PHONE_MESSAGES[phone.reason]);

    const to = maskPhone(phone.e164);
    await consume(deps.limits.ip, ctx.ip, 'Too many requests. Please try again in a minute.').catch(tripped(log, { limit: 'ip', id }));
    await consume(deps.limits.id, id, 'Too many requests. Please try again later.').catch(tripped(log, { limit: 'id', id }));
    await consume(deps.limits.number, phone.e164, 'This number was called too often. Please try again later.').catch(
      tripped(log, { limit: 'number', id, to }),
    );

    try {
      await deps.ns.queuedCalls.create({ queue: tenant.queue, domain: tenant.api_domain, destination: phone.e164 });
    } catch (error) {
      log.error({ err: error, id, to }, 'queued call failed');
      throw new ApiError(502, 'Could not place your call right now. Please try again.');
    }
    log.info({ id, to }, 'queued call placed');
    ctx.body = { status: 'ok' };
  };
}

/** Logs which limit tripped (number masked) and passes the 429 on. */
function tripped(log: BodyState['log'], details: Record<string, string>) {
  return (error: unknown): never => {
    if (error instanceof ApiError) log.warn(details, 'rate limit reached');
    throw error;
  };
}
