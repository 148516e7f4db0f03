import type { Middleware } from 'koa';
import type { AppState } from '../context.js';
import { checkCustomers, CustomerInputError, MAX_CUSTOMERS, upsertCustomers } from '../customers/upsert.js';
import type { Database } from '../db/database.js';
import { defaultCountry } from '../events/phone.js';
import { HttpError } from '../http-error.js';
import { readJson } from '../middleware/body.js';
import { ID_PATTERN } from '../tenants/schema.js';
import type { TenantStore } from '../tenants/store.js';

/**
 * The largest `POST /internal/customers` body: 10 000 customers of some 1.6 KB each (a long URL). A
 * list past it is a 413 whose message says to send fewer at once.
 */
export const CUSTOMERS_BODY_LIMIT = 16_777_216;

const EXAMPLE = '{"id":"example.com-sales","customers":[{"external_id":"crm-42","name":"Ada Lovelace","phone":"(813) 555-1234"}]}';

/**
 * `POST /internal/customers {"id","customers":[{external_id, name, email, phone, url}]}` → 200
 * `{"status":"ok","upserted","created","updated","unchanged"}`. Up to `MAX_CUSTOMERS` customers of one
 * config id, stored by `external_id` in one statement, all or nothing: one invalid customer is a 400
 * naming its index and field, and nothing is stored. Phones are read in the id's default country.
 */
export function upsertCustomersRoute(deps: { db: Database; tenants: Pick<TenantStore, 'get'> }): Middleware<AppState> {
  return async function upsertCustomersRoute(ctx) {
    const body = await readJson(ctx, CUSTOMERS_BODY_LIMIT);
    if (body === undefined) throw new HttpError(400, `Send a JSON body such as ${EXAMPLE}`);
    if (body === null || typeof body !== 'object' || Array.isArray(body))
      throw new HttpError(400, `The body must be a JSON object such as ${EXAMPLE}`);
    const { id, customers, ...rest } = body as Record<string, unknown>;
    const unknown = Object.keys(rest);
    if (unknown.length > 0) throw new HttpError(400, `Unknown field(s) ${unknown.join(', ')}: send id and customers only`);
    if (typeof id !== 'string' || !ID_PATTERN.test(id)) {
      throw new HttpError(400, 'id is required: the config id the customers belong to, e.g. example.com-sales');
    }
    if (customers === undefined) throw new HttpError(400, `customers is required: a list of up to ${MAX_CUSTOMERS} customers`);
    const tenant = deps.tenants.get(id);
    if (!tenant) throw new HttpError(404, `No config has the id ${JSON.stringify(id)}`);

    let rows;
    try {
      rows = await checkCustomers(customers, defaultCountry(tenant));
    } catch (error) {
      if (error instanceof CustomerInputError) throw new HttpError(400, `Nothing was stored: ${error.message}`);
      throw error;
    }
    const started = performance.now();
    const result = await deps.db.transaction((tx) => upsertCustomers(tx, id, rows));
    ctx.state.log.info({ id, ...result, ms: Math.round(performance.now() - started) }, 'customers upserted');
    ctx.body = { status: 'ok', ...result };
  };
}
