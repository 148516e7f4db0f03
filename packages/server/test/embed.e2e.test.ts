import test from 'ava';
import { launchChromium, servePage } from './browser.js';
import { startHarness, TENANTS } from './helpers.js';

test('a visitor on another origin clicks the script-tag button, types a number, and gets a queued call', async (t) => {
  const beckon = await startHarness({ publicUrl: 'self' });
  t.teardown(() => beckon.close());
  // The customer's page, on its own origin, under a strict CSP that allows only the Beckon server.
  const site = await servePage(
    `<!doctype html><html lang="en"><head><title>Shop</title></head><body>
      <h1>Shop</h1><p>Questions?</p>
      <script src="${beckon.url}/widget.js?id=example.com-sales"></script>
      <footer>footer</footer></body></html>`,
    { 'content-security-policy': `default-src 'self'; script-src ${beckon.url}; connect-src ${beckon.url}; img-src 'self' ${beckon.url}` },
  );
  t.teardown(() => site.close());
  t.not(new URL(site.url).origin, new URL(beckon.url).origin);

  const browser = await launchChromium();
  t.teardown(() => browser.close());
  const page = await browser.newPage();
  const problems: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(message.text());
  });
  page.on('pageerror', (error) => problems.push(error.message));
  await page.goto(site.url);

  const widget = page.locator('call-us-button');
  await widget.waitFor();
  t.is(await widget.evaluate((element) => element.previousElementSibling?.tagName), 'SCRIPT', 'inserted where the script tag stands');
  await widget.getByRole('button', { name: 'Call us' }).click();
  await widget.getByRole('textbox').fill('(813) 555-1234');
  await widget.getByRole('textbox').press('Enter');
  await widget.getByText("We're calling you now").waitFor({ timeout: 5_000 });

  t.is(beckon.sandbox.calls.length, 1);
  t.like(beckon.sandbox.calls[0], { queue: '9002@example.com', destination: '+18135551234', status: 'queued' });
  const requests = beckon.logs.filter((line) => line.msg === 'request').map((line) => `${line.method} ${line.path} ${line.status}`);
  t.true(requests.includes('OPTIONS /click-to-call 204'), `the CORS preflight was answered: ${requests.join(', ')}`);
  t.true(requests.includes('POST /click-to-call 200'));
  t.deepEqual(problems, [], 'no console errors, no CSP violations');
});

test("through the real server: a line closed by its hours says when it opens in the visitor's zone, and a picked country dials its code", async (t) => {
  // A one-minute range starting two to three minutes from now, in UTC: closed now whenever this runs.
  const opens = new Date((Math.ceil(Date.now() / 60_000) + 2) * 60_000);
  const hhmm = (instant: Date) => instant.toISOString().slice(11, 16);
  const day = (['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const)[opens.getUTCDay()]!;
  const end = hhmm(opens) === '23:59' ? '24:00' : hhmm(new Date(opens.getTime() + 60_000));
  const beckon = await startHarness({
    publicUrl: 'self',
    tenants: {
      ...TENANTS,
      'example.com-later': {
        api_domain: 'example.com',
        queue: '9002@example.com',
        hours: { timezone: 'UTC', weekly: { [day]: [[hhmm(opens), end]] } },
      },
      'example.com-abroad': { api_domain: 'example.com', queue: '9002@example.com', allowed_countries: ['FR', 'BE'] },
    },
  });
  t.teardown(() => beckon.close());
  const site = await servePage(
    `<!doctype html><html lang="en"><head><title>Shop</title></head><body><h1>Shop</h1>
      <script src="${beckon.url}/widget.js?id=example.com-later"></script>
      <script src="${beckon.url}/widget.js?id=example.com-abroad"></script></body></html>`,
  );
  t.teardown(() => site.close());
  const browser = await launchChromium();
  t.teardown(() => browser.close());
  const page = await (await browser.newContext({ timezoneId: 'Europe/Paris' })).newPage();
  await page.goto(site.url);

  const [later, abroad] = [page.locator('call-us-button').nth(0), page.locator('call-us-button').nth(1)];
  await later.getByText('Closed now').waitFor();
  await later.getByRole('button', { name: 'Call us Closed now' }).click();
  const paris = new Intl.DateTimeFormat('en', { hour: 'numeric', minute: '2-digit', timeZone: 'Europe/Paris' }).format(opens);
  const utc = new Intl.DateTimeFormat('en', { hour: 'numeric', minute: '2-digit', timeZone: 'UTC' }).format(opens);
  const status = await later.getByRole('status').textContent();
  t.regex(
    status ?? '',
    new RegExp(`^We're closed right now\\. We open again on .+ at ${paris} your time \\(.+ ${utc} Coordinated Universal Time\\)\\.$`),
  );
  await later.getByRole('button', { name: 'Close', exact: true }).click();

  await abroad.getByRole('button', { name: 'Call us' }).click();
  const country = abroad.getByRole('combobox', { name: 'Country' });
  t.deepEqual(await country.locator('option').allTextContents(), ['France (+33)', 'Belgium (+32)']);
  await country.selectOption('BE');
  await abroad.getByRole('textbox').fill('0470 12 34 56');
  await abroad.getByRole('textbox').press('Enter');
  await abroad.getByText("We're calling you now").waitFor({ timeout: 5_000 });
  t.is(beckon.sandbox.calls.length, 1);
  t.like(beckon.sandbox.calls[0], { queue: '9002@example.com', destination: '+32470123456', status: 'queued' });
});
