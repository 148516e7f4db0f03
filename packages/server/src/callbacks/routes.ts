import type { Middleware } from 'koa';
import type { AppState } from '../context.js';
import type { ServerDeps } from '../deps.js';
import { originAllowed } from '../guards/origins.js';
import { isoUtc } from '../hours/open.js';
import { HttpError } from '../http-error.js';
import { ID_PATTERN } from '../tenants/schema.js';
import { placementFor, schedulingAllowed } from './placement.js';
import { bookableSlots, STEP_MINUTES } from './schedule.js';
import { CALLBACK_ID, cancelCallback } from './store.js';

const NOT_CONFIGURED = () => new HttpError(404, 'This call button is not configured.', { code: 'not_configured' });
const ISO_WITH_ZONE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})$/i;

/**
 * `GET /click-to-call/slots?id=<id>[&from=<ISO>]`: the next times a callback may be booked
 * (`bookableSlots`), UTC, with the id's zone for the page to name. Public like `/widget-config` (any
 * origin may read it), and cached for a minute at most: the first slot moves every 15 minutes.
 */
export function slotsRoute(deps: ServerDeps): Middleware<AppState> {
  return function slots(ctx) {
    ctx.set('Access-Control-Allow-Origin', '*');
    const raw = ctx.query.id ?? ctx.query.domain;
    const id = typeof raw === 'string' ? raw.trim() : '';
    if (!ID_PATTERN.test(id)) throw NOT_CONFIGURED();
    const tenant = deps.tenants.get(id);
    if (!tenant || placementFor(deps, tenant) === 'not_configured') throw NOT_CONFIGURED();
    if (!schedulingAllowed(deps, tenant)) {
      throw new HttpError(409, 'This call button does not take bookings: ask for a call now instead.', { code: 'scheduling_disabled' });
    }
    const { from } = ctx.query;
    if (Array.isArray(from)) throw new HttpError(400, 'from is given more than once', { code: 'invalid_from' });
    let start: Date | undefined;
    if (from !== undefined) {
      start = new Date(from);
      if (!ISO_WITH_ZONE.test(from) || Number.isNaN(start.getTime())) {
        throw new HttpError(400, 'from must be a date and time in ISO 8601 with its zone, such as 2026-11-26T14:00:00Z', {
          code: 'invalid_from',
        });
      }
    }
    const now = deps.clock?.() ?? new Date();
    ctx.set('Cache-Control', 'public, max-age=60');
    ctx.body = {
      timezone: tenant.hours?.timezone ?? 'UTC',
      step_minutes: STEP_MINUTES,
      slots: bookableSlots(tenant.hours, now, start).map(isoUtc),
    };
  };
}

/**
 * `DELETE /click-to-call/:callback_id?token=<cancel_token>`: cancels a booking. An unknown callback and a
 * wrong token are the same 404 (one cannot tell which ids exist); a booking placed (or being placed),
 * failed or missed is a 409 `not_pending`. The widget calls it from the customer's page, so the origin
 * is checked as click-to-call checks it, against the booking id's `allowed_origins`.
 */
export function cancelRoute(deps: ServerDeps): Middleware<AppState> {
  const { db } = deps;
  return async function cancel(ctx) {
    const callbackId = ctx.params.callback_id ?? '';
    const { token } = ctx.query;
    const notFound = () => new HttpError(404, 'There is no such booking, or the cancel token is wrong.', { code: 'not_found' });
    if (!db || !CALLBACK_ID.test(callbackId) || typeof token !== 'string' || token === '') throw notFound();
    const now = deps.clock?.() ?? new Date();
    // The origin is checked once the booking (and so its id) is known to be the token holder's.
    const result = await cancelCallback(db, callbackId, token, now, (tenant) => {
      const config = deps.tenants.get(tenant);
      return !config || originAllowed(config, ctx.get('Origin') || undefined);
    });
    if (result.outcome === 'not_found') throw notFound();
    if (result.outcome === 'origin_not_allowed') {
      throw new HttpError(403, 'This call button cannot be used on this site.', { code: 'origin_not_allowed' });
    }
    if (result.outcome === 'not_pending') {
      throw new HttpError(409, `This callback can no longer be cancelled: it is ${result.status}.`, { code: 'not_pending' });
    }
    ctx.state.log.info({ id: result.tenant, callback: callbackId }, 'callback cancelled');
    ctx.body = { status: 'cancelled', callback_id: callbackId };
  };
}
