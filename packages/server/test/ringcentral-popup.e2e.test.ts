import test from 'ava';
import { databaseFixture } from './fixtures/databases.js';
import { ID, INTERNAL_SECRET, startRcServer } from './fixtures/ringcentral.js';
import { launchChromium, servePage } from './browser.js';
import { eventually } from './helpers.js';

const fixture = databaseFixture(test);

test('a RingCentral call rings in <call-popup> in Chromium with the matched customer; answered, and missed, calls close their toast', async (t) => {
  const server = await startRcServer(t, fixture, 'pglite');
  t.is((await server.subscribe({ id: ID })).status, 201);
  await server.db.query(
    `INSERT INTO customers (tenant, external_id, name, email, phone_e164, url)
     VALUES ($1, 'crm-7', 'Sarah Customer', 'sarah@example.com', '+14165551234', 'https://crm.example.com/7')`,
    [ID],
  );
  const created = await fetch(`${server.url}/internal/apps`, {
    method: 'POST',
    headers: { authorization: `Bearer ${INTERNAL_SECRET}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'Front desk', ids: [ID] }),
  });
  const { api_key: key } = (await created.json()) as { api_key: string };

  // The business's dashboard, on its own origin, with the popup from Beckon's bundle.
  const site = await servePage(
    `<!doctype html><html lang="en"><head><title>Desk</title></head><body><main><h1>Desk</h1>
      <call-popup endpoint="${server.url}" auto-dismiss="0"></call-popup></main>
      <script type="module" src="${server.url}/widget/call-popup.js"></script></body></html>`,
  );
  t.teardown(() => site.close());
  const browser = await launchChromium();
  t.teardown(() => browser.close());
  const page = await browser.newPage();
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(error.message));
  // The dashboard's backend holds the app key and hands the page stream tokens.
  await page.exposeFunction('beckonStreamToken', async () => {
    const response = await fetch(`${server.url}/api/stream-tokens`, { method: 'POST', headers: { 'x-app-api-key': key } });
    return ((await response.json()) as { token: string }).token;
  });
  await page.goto(site.url);
  await page.waitForFunction("customElements.get('call-popup') !== undefined");
  await page.locator('call-popup').evaluate((popup) => {
    Reflect.set(popup, 'streamToken', () => (Reflect.get(globalThis, 'beckonStreamToken') as () => Promise<string>)());
  });
  t.true(await eventually(() => server.bus.size === 1, 10_000), 'the popup opened the stream');
  const toasts = page.locator('call-popup').locator('[part~="toast"]');

  // RingCentral's detailed presence: Ringing, then CallConnected.
  const answered = server.standIn.incomingCall({ from: '+14165551234', fromName: 'WIRELESS CALLER', to: '+15879876543' });
  t.deepEqual(
    (await answered.ring()).map((result) => result.status),
    [200],
  );
  await toasts.first().waitFor({ timeout: 10_000 });
  t.is(await toasts.count(), 1);
  t.is(await toasts.first().locator('[part~="caller"]').textContent(), 'WIRELESS CALLER');
  const toast = toasts.first();
  t.is(await toast.locator('[part~="number"]').textContent(), '+14165551234');
  t.is(await toast.locator('[part~="customer"]').textContent(), 'Sarah Customer');
  t.is(await toast.locator('[part~="email"]').textContent(), 'sarah@example.com');
  t.is(await toast.locator('[part~="view"]').getAttribute('href'), 'https://crm.example.com/7');
  await answered.answer();
  await toasts.first().waitFor({ state: 'detached', timeout: 10_000 });

  // A caller nobody knows, who hangs up while it rings: a missed call.
  const missed = server.standIn.incomingCall({ from: '+14165550000', to: '+15879876543' });
  await missed.ring();
  await toasts.first().waitFor({ timeout: 10_000 });
  t.is((await toasts.first().locator('[part~="customer"]').textContent())?.trim(), 'New caller');
  await missed.hangUp();
  await toasts.first().waitFor({ state: 'detached', timeout: 10_000 });
  t.deepEqual(problems, []);
});
