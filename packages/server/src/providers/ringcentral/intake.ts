import type { Middleware } from 'koa';
import type { AppState } from '../../context.js';
import type { CustomerLookup } from '../../customers/lookup.js';
import type { Database } from '../../db/database.js';
import { storedOrRedeliver } from '../../api/unavailable.js';
import { receiveDelivery } from '../../events/intake.js';
import { countryOfId } from '../../events/phone.js';
import { subscriptionTokenMatches } from '../../events/subscriptions.js';
import { HttpError } from '../../http-error.js';
import { readJson } from '../../middleware/body.js';
import { ID_PATTERN } from '../../tenants/schema.js';
import type { TenantStore } from '../../tenants/store.js';
import { notificationItems, PROVIDER } from './events.js';

/** The largest notification read: RingCentral's are about 1 KB (presence lists at most 7 calls). */
export const NOTIFICATION_BODY_LIMIT = 65_536;
/** The header of RingCentral's creation handshake, echoed back. */
export const VALIDATION_TOKEN_HEADER = 'Validation-Token';
/** The header every notification carries: the `deliveryMode.verificationToken` Beckon set on the subscription. */
export const VERIFICATION_TOKEN_HEADER = 'Verification-Token';
/** How long RingCentral is told to wait before redelivering while the database is down. */
/** What a handshake token may be: RingCentral sends a UUID; anything that is no plain header value is not echoed. */
const ECHOABLE = /^[\x21-\x7e]{1,256}$/;

const REFUSED =
  'The Verification-Token header is missing or is not the one of this id’s subscription (or the subscription was replaced): ' +
  'create the subscription again with POST /internal/subscriptions/ringcentral';

/**
 * `POST /webhooks/ringcentral?id=<config id>`: a WebHook subscription's address.
 *
 * A request with a `Validation-Token` header is RingCentral's handshake while it creates the
 * subscription: answered 200 at once with the header echoed (RingCentral refuses the subscription
 * otherwise), nothing read and nothing stored. Every other request must carry the `Verification-Token`
 * Beckon set on the id's subscription; it is compared with the stored hash in constant time before the
 * body is read, and a missing or wrong one, an unknown id or a replaced subscription all answer the
 * same 401. Then the notification (JSON, at most 64 KB) is stored and its calls normalized in one
 * transaction (`receiveDelivery`): 200 once committed, 400 for a body that is no notification, 413 for
 * one reporting more than `MAX_CALLS` calls, 503 while the database cannot take it (RingCentral
 * redelivers); nothing is stored on a refusal. A redelivery (the same `uuid`) changes nothing.
 */
export function ringcentralWebhook(deps: {
  db: Database;
  tenants: Pick<TenantStore, 'get'>;
  /** Looks up the customers of calls no stored customer matched, after the answer (ids with `customer_lookup_url`). */
  lookup?: Pick<CustomerLookup, 'afterDelivery'>;
}): Middleware<AppState> {
  const { db } = deps;
  return async function ringcentralWebhook(ctx) {
    const validation = ctx.get(VALIDATION_TOKEN_HEADER);
    if (validation) {
      if (!ECHOABLE.test(validation))
        throw new HttpError(400, 'The Validation-Token header must be a plain token (at most 256 characters)');
      ctx.set(VALIDATION_TOKEN_HEADER, validation);
      ctx.body = { status: 'ok' };
      return;
    }
    const id = ctx.query.id;
    const token = ctx.get(VERIFICATION_TOKEN_HEADER);
    if (typeof id !== 'string' || !ID_PATTERN.test(id) || token === '') throw new HttpError(401, REFUSED);
    const genuine = await storedOrRedeliver(ctx, PROVIDER, () => subscriptionTokenMatches(db, PROVIDER, id, token));
    if (!genuine) {
      ctx.state.log.warn({ id }, 'ringcentral notification refused: missing or wrong Verification-Token');
      throw new HttpError(401, REFUSED);
    }

    const envelope = await readJson(ctx, NOTIFICATION_BODY_LIMIT);
    if (envelope === undefined) throw new HttpError(400, 'Send the notification as JSON (Content-Type: application/json)');
    const items = notificationItems(envelope, countryOfId(deps.tenants, id), new Date());
    if ('problem' in items) throw new HttpError(items.status, items.problem);
    const { stored, events } = await storedOrRedeliver(ctx, PROVIDER, () => receiveDelivery(db, { provider: PROVIDER, tenant: id, items }));
    ctx.state.log.debug({ id, items: items.length, stored, events: events.length }, 'ringcentral notification');
    // Committed: a lookup starts in the background and cannot hold up this answer.
    deps.lookup?.afterDelivery(id, events);
    ctx.body = { status: 'ok', stored, events: events.length };
  };
}
