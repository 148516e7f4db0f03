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
import { callRecordItem, parseCallRecords, PROVIDER, SKIPPED_REASON } from './records.js';

/**
 * The largest delivery read. NetSapiens posts one record (some 80 fields, 2–3 KB) per call leg and state
 * change, a few per array; 1 MiB leaves room for bursts without letting a caller make us buffer much.
 */
export const WEBHOOK_BODY_LIMIT = 1_048_576;

/** How long NetSapiens is told to wait before redelivering while the database is down. */

const REFUSED = 'This webhook URL is not valid (wrong id or token, or its subscription was replaced): create the subscription again';

/**
 * `POST /webhooks/netsapiens?id=<config id>&token=<secret>`: a `call` subscription's deliveries.
 *
 * NetSapiens signs nothing, so the URL's token is the credential: it is checked against the hash stored
 * with the id's subscription before anything else (the body is not even read), and a wrong or missing
 * one, an unknown id or a replaced subscription all answer the same 401. Then the JSON array of call
 * records is stored and normalized in one transaction (`receiveDelivery`): 200 once committed, a 400 for
 * a body that is not call records and a 413 for more than `MAX_RECORDS` of them (nothing stored), a 503
 * while the database cannot take it (nothing stored; NetSapiens redelivers). Strings are made storable
 * first (`storableText`), and a record nested too deep to store is skipped with a warning, the rest
 * stored and the answer a 200 saying how many were skipped. The request's log line has the path only,
 * never the token.
 */
export function netsapiensWebhook(deps: {
  db: Database;
  tenants: Pick<TenantStore, 'get'>;
  /** Looks up the customers of calls no stored customer matched, after the answer (ids with `customer_lookup_url`). */
  lookup?: Pick<CustomerLookup, 'afterDelivery'>;
}): Middleware<AppState> {
  const { db } = deps;
  return async function netsapiensWebhook(ctx) {
    const id = ctx.query.id;
    const token = ctx.query.token;
    // An id that no config can have (a NUL, a quote) is refused like an unknown one, before it reaches SQL.
    if (typeof id !== 'string' || typeof token !== 'string' || !ID_PATTERN.test(id) || token === '') throw new HttpError(401, REFUSED);
    const genuine = await storedOrRedeliver(ctx, PROVIDER, () => subscriptionTokenMatches(db, PROVIDER, id, token));
    if (!genuine) throw new HttpError(401, REFUSED);

    const body = await readJson(ctx, WEBHOOK_BODY_LIMIT);
    if (body === undefined) throw new HttpError(400, 'Send the call records as a JSON array (Content-Type: application/json)');
    const parsed = parseCallRecords(body);
    if ('problem' in parsed) throw new HttpError(parsed.status, parsed.problem);
    const { records, skipped } = parsed;
    // Skipped, not refused: NetSapiens would redeliver a refused delivery, good records and all, until it gave up.
    for (const index of skipped)
      ctx.state.log.warn({ id, record: index, reason: SKIPPED_REASON }, 'netsapiens record skipped: it cannot be stored');

    const country = countryOfId(deps.tenants, id);
    const receivedAt = new Date();
    const items = records.map((record) => callRecordItem(record, country, receivedAt));
    const { stored, events } = await storedOrRedeliver(ctx, PROVIDER, () => receiveDelivery(db, { provider: PROVIDER, tenant: id, items }));
    ctx.state.log.debug({ id, records: items.length, stored, events: events.length }, 'netsapiens delivery');
    // Committed: a lookup starts in the background and cannot hold up this answer.
    deps.lookup?.afterDelivery(id, events);
    ctx.body = {
      status: 'ok',
      received: records.length + skipped.length,
      stored,
      ...(skipped.length > 0 ? { skipped: skipped.length } : {}),
    };
  };
}
