import test, { type ExecutionContext } from 'ava';
import { createLogger, migrate, openDatabase, placementFor, startCallbackWorker } from '../src/index.js';
import { launchChromium, servePage } from './browser.js';
import { databaseFixture } from './fixtures/databases.js';
import { subscribe } from './fixtures/netsapiens.js';
import { startHarness } from './helpers.js';

const databases = databaseFixture(test);
const ID = 'example.com-sales';

/** A shop's page on its own origin, embedding the id's button from `beckonUrl`, open in Chromium; all closed after the test. */
async function shopWithButton(t: ExecutionContext, beckonUrl: string) {
  const site = await servePage(
    `<!doctype html><html lang="en"><head><title>Shop</title></head><body><h1>Shop</h1>
      <script src="${beckonUrl}/widget.js?id=${ID}"></script></body></html>`,
  );
  t.teardown(() => site.close());
  const browser = await launchChromium();
  t.teardown(() => browser.close());
  const page = await browser.newPage();
  await page.goto(site.url);
  return { page, widget: page.locator('call-us-button') };
}

test("through the real server, in Chromium: the button follows the visitor's call — ringing, connected, ended — from NetSapiens' own call events", async (t) => {
  const settings = await databases.settings(t, 'pglite');
  const db = await openDatabase(settings, { logger: createLogger('silent') });
  t.teardown(() => db.close());
  await migrate(db, { logger: createLogger('silent') });
  const token = await subscribe(db, ID);
  // The sandbox rings the visitor for each queued call, and delivers each leg's records to the subscription.
  const beckon = await startHarness({ db, publicUrl: 'self', sandbox: { queuedCallLegs: { delayMs: 600, stepMs: 700 } } });
  t.teardown(() => beckon.close());
  await beckon.deps.ns.subscriptions!.create({
    domain: 'example.com',
    model: 'call',
    postUrl: `${beckon.url}/webhooks/netsapiens?id=${ID}&token=${token}`,
  });
  const worker = startCallbackWorker({
    db,
    tenants: beckon.deps.tenants,
    placementFor: (tenant) => placementFor(beckon.deps, tenant),
    logger: createLogger('silent'),
    pollMs: 50,
  });
  t.teardown(() => worker.close());

  const { page, widget } = await shopWithButton(t, beckon.url);
  await widget.waitFor();
  // Every step the element reports, in order, as a page listening for `call-us-status` sees them.
  await widget.evaluate((element) => {
    const seen: string[] = [];
    (globalThis as unknown as { seen: string[] }).seen = seen;
    element.addEventListener('call-us-status', (event: Event) =>
      seen.push((event as Event & { detail: { status: string } }).detail.status),
    );
  });

  await widget.getByRole('button', { name: 'Call us' }).click();
  await widget.getByRole('textbox').fill('(813) 555-1234');
  await widget.getByRole('textbox').press('Enter');
  const status = widget.getByRole('status');
  await status.getByText("We're ringing you now.").waitFor({ timeout: 10_000 });
  await status.getByText('Connected.').waitFor({ timeout: 10_000 });
  await status.getByText('The call has ended.').waitFor({ timeout: 10_000 });

  const seen = await page.evaluate(() => (globalThis as unknown as { seen: string[] }).seen);
  t.deepEqual(
    seen.filter((step) => step !== 'queued'),
    ['ringing', 'answered', 'ended'],
  );
  t.is(beckon.sandbox.calls.length, 1, 'one call placed');
  t.like(beckon.sandbox.calls[0], { destination: '+18135551234' });
});

test('through the real server, in Chromium: "Call me later" books a time the server offers, and Cancel cancels it', async (t) => {
  const settings = await databases.settings(t, 'pglite');
  const db = await openDatabase(settings, { logger: createLogger('silent') });
  t.teardown(() => db.close());
  await migrate(db, { logger: createLogger('silent') });
  const beckon = await startHarness({ db, publicUrl: 'self' });
  t.teardown(() => beckon.close());
  const { widget } = await shopWithButton(t, beckon.url);
  await widget.getByRole('button', { name: 'Call us' }).click();
  await widget.getByRole('button', { name: 'Call me later' }).click();
  const picker = widget.getByRole('combobox', { name: 'When should we call?' });
  await picker.waitFor();
  // The second time offered, so the first step's rounding to "now" plays no part.
  const offered = await picker.locator('option').nth(1).getAttribute('value');
  await picker.selectOption(offered!);
  await widget.getByRole('textbox').fill('(813) 555-1234');
  await widget.getByRole('textbox').press('Enter');
  await widget
    .getByRole('status')
    .getByText(/^Booked: /)
    .waitFor({ timeout: 10_000 });

  const stored = async () => (await db.query<{ scheduled_at: Date; status: string }>('SELECT scheduled_at, status FROM callbacks')).rows;
  t.deepEqual(await stored(), [{ scheduled_at: new Date(offered!), status: 'scheduled' }]);
  t.is(beckon.sandbox.calls.length, 0, 'nothing is called before its time');

  await widget.getByRole('button', { name: 'Cancel the call' }).click();
  await widget.getByRole('status').getByText('Your call is cancelled.').waitFor({ timeout: 10_000 });
  t.is((await stored())[0]?.status, 'cancelled');
});
