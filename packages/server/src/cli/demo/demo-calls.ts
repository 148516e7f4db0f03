import { setTimeout as sleep } from 'node:timers/promises';
import { checkCustomer, upsertCustomers } from '../../customers/upsert.js';
import type { Database } from '../../db/database.js';
import type { ServerDeps } from '../../deps.js';
import { defaultCountry } from '../../events/phone.js';
import { HttpError } from '../../http-error.js';
import { subscribeNetsapiens } from '../../providers/netsapiens/subscribe.js';
import { subscribeRingcentral } from '../../providers/ringcentral/subscribe.js';

/** The demo config's id whose calls the page's `<call-popup>` shows (`api_domain` example.com). */
export const DEMO_CALLS_ID = 'example.com-sales';
/** The user whose phone a simulated incoming call rings, and the number the caller dials. */
export const DEMO_CALLED = { user: '2000', dialed: '19295550100' } as const;
/** The app the page's stream tokens are issued to; it reads `DEMO_CALLS_ID` only. */
export const DEMO_APP_NAME = 'Beckon demo';

/** The demo customer, as a CRM would send it to `POST /internal/customers`: the simulated caller. */
export const DEMO_CUSTOMER = {
  external_id: 'demo-dana-reyes',
  name: 'Dana Reyes',
  email: 'dana.reyes@example.com',
  phone: '+1 813-555-0142',
  url: 'https://example.com/customers/dana-reyes',
} as const;

/** What the demo's incoming-call routes need once set up. */
export interface DemoCalls {
  db: Database;
  /** The NetSapiens domain the sandbox rings (`DEMO_CALLS_ID`'s `api_domain`). */
  domain: string;
  appId: string;
  /** The demo customer's number in E.164: the simulated caller's. */
  caller: string;
}

/**
 * Makes the demo's incoming calls reach the page, with the server's own modules and no HTTP call to
 * itself: the demo customer upserted (as `POST /internal/customers` does), the demo app found or
 * created, and `DEMO_CALLS_ID` subscribed to the sandbox's calls (as `POST /internal/subscriptions/netsapiens`
 * does). The app gets no API key: the demo issues its stream tokens in this process, so there is no key
 * that could be printed or reach the page.
 */
export async function setUpDemoCalls(deps: ServerDeps, signal: AbortSignal): Promise<DemoCalls> {
  const { db, tenants, logger } = deps;
  const subscriptions = deps.ns.subscriptions;
  const tenant = tenants.get(DEMO_CALLS_ID);
  if (!db || !subscriptions) throw new Error('the demo needs its database and the NS sandbox');
  if (!tenant)
    throw new Error(`${DEMO_CALLS_ID} is not in the config file: put domains.example.json's entry back to simulate incoming calls`);

  const customer = checkCustomer(DEMO_CUSTOMER, defaultCountry(tenant), 'the demo customer');
  await db.transaction((tx) => upsertCustomers(tx, DEMO_CALLS_ID, [customer]));
  const appId = await demoApp(db);

  const { publicUrl } = deps.config;
  await waitingOutCreations(signal, async () => {
    const { action } = await subscribeNetsapiens({ db, ns: { subscriptions }, tenants, publicUrl, logger }, DEMO_CALLS_ID);
    logger.info({ id: DEMO_CALLS_ID, action }, 'demo: netsapiens subscription');
  });
  // And to the RingCentral stand-in's user, as POST /internal/subscriptions/ringcentral does.
  const { ringcentral } = deps;
  if (ringcentral) {
    await waitingOutCreations(signal, async () => {
      const { action } = await subscribeRingcentral({ db, ringcentral, tenants, publicUrl, logger }, DEMO_CALLS_ID);
      logger.info({ id: DEMO_CALLS_ID, action }, 'demo: ringcentral subscription');
    });
  }
  if (!tenant.api_domain) throw new Error(`the demo id ${DEMO_CALLS_ID} has no api_domain`);
  return { db, domain: tenant.api_domain, appId, caller: customer.phone_e164! };
}

/** Runs `subscribe`; a creation a stopped run (or the renewal loop) left pending holds off another for a minute (409): waited out. */
async function waitingOutCreations(signal: AbortSignal, subscribe: () => Promise<void>): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await subscribe();
    } catch (error) {
      if (!(error instanceof HttpError && error.status === 409) || attempt === 40) throw error;
      await sleep(2_000, undefined, { signal });
    }
  }
}

/** The demo app, made by the first run on this database. */
async function demoApp(db: Database): Promise<string> {
  const ids = [DEMO_CALLS_ID];
  const found = await db.query<{ id: string }>('SELECT id FROM apps WHERE name = $1 AND ids = $2 ORDER BY created_at LIMIT 1', [
    DEMO_APP_NAME,
    ids,
  ]);
  if (found.rows[0]) return found.rows[0].id;
  const created = await db.query<{ id: string }>('INSERT INTO apps (name, ids) VALUES ($1, $2) RETURNING id', [DEMO_APP_NAME, ids]);
  return created.rows[0]!.id;
}
