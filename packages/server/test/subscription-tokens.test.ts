import test from 'ava';
import { createLogger, migrate } from '../src/index.js';
import { newSubscriptionSecret, startSubscription, subscriptionTokenMatches } from '../src/events/subscriptions.js';
import { databaseFixture } from './fixtures/databases.js';

const fixture = databaseFixture(test);
const TENANT = 'example.com-sales';

test('an accepted webhook token is accepted again without asking the database for a while; a change in this process is seen at once', async (t) => {
  const { db } = await fixture.open(t, 'pglite');
  await migrate(db, { logger: createLogger('silent') });
  const first = newSubscriptionSecret();
  t.true(await startSubscription(db, 'netsapiens', TENANT, first.hash));
  t.true(await subscriptionTokenMatches(db, 'netsapiens', TENANT, first.token));
  t.false(await subscriptionTokenMatches(db, 'netsapiens', TENANT, 'wrong'), 'a wrong token is refused');

  // What another instance's write looks like from here: the row changes, nothing in this process does.
  await db.query(`UPDATE subscriptions SET status = 'failed' WHERE tenant = $1`, [TENANT]);
  t.true(
    await subscriptionTokenMatches(db, 'netsapiens', TENANT, first.token),
    'accepted from memory: the database was not asked (it would refuse a failed subscription)',
  );
  t.false(await subscriptionTokenMatches(db, 'ringcentral', TENANT, first.token), 'another provider’s is its own');

  // A write through this process: the next check asks the database.
  await db.query(`UPDATE subscriptions SET status = 'active' WHERE tenant = $1`, [TENANT]);
  const second = newSubscriptionSecret();
  await db.query(`UPDATE subscriptions SET updated_at = now() - interval '1 hour', status = 'failed' WHERE tenant = $1`, [TENANT]);
  t.true(await startSubscription(db, 'netsapiens', TENANT, second.hash));
  t.false(await subscriptionTokenMatches(db, 'netsapiens', TENANT, first.token), 'the replaced token is refused at once');
  t.true(await subscriptionTokenMatches(db, 'netsapiens', TENANT, second.token));
});
