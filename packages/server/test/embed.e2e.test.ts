import test from 'ava';
import { launchChromium, servePage } from './browser.js';
import { startHarness } from './helpers.js';

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
