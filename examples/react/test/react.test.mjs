import test from 'ava';
import { serveExample } from '../serve.mjs';
import { CALL_US_STRINGS } from '../src/strings.js';
import { CONFIG_ID, DOMAINS, launchChromium, openPage, startBeckon } from '../../shared/browser-harness.mjs';

// `npm test` runs `node build.mjs` first, so dist/main.js is the production bundle of src/ as it is now.
test('React renders <call-us-button> with its props and strings, and its handlers hear the call succeed', async (t) => {
  const beckon = await startBeckon(t);
  const site = await serveExample({ port: 0, beckonUrl: beckon.url });
  t.teardown(() => site.close());
  t.not(new URL(site.url).origin, new URL(beckon.url).origin, 'the app is on its own origin, as a customer site is');

  const browser = await launchChromium(t);
  const { page, problems } = await openPage(browser);
  await page.goto(site.url);

  const widget = page.locator('call-us-button');
  await widget.waitFor();
  // What React did with each prop: attributes where the element has no such property, properties
  // where it has, and listeners (not attributes) for the on… props.
  const rendered = await widget.evaluate((element) => ({
    defined: customElements.get('call-us-button') === element.constructor,
    attributes: Object.fromEntries(element.getAttributeNames().map((name) => [name, element.getAttribute(name)])),
    endpoint: element.endpoint,
    configId: element.configId,
    buttonText: element.buttonText,
    strings: element.strings,
    // index.html has only an empty #root: whatever is inside it, React rendered.
    parent: element.parentElement?.tagName,
    inRoot: element.closest('#root') !== null,
  }));
  t.true(rendered.defined);
  t.true(rendered.inRoot && rendered.parent === 'MAIN', 'the element is where App renders it');
  t.deepEqual(rendered.attributes, { 'config-id': CONFIG_ID, 'button-text': 'Talk to sales' });
  t.is(rendered.endpoint, beckon.url, 'endpoint, from the page via the App prop, set as a property');
  t.is(rendered.configId, CONFIG_ID, 'config-id reached the element through its attribute');
  t.is(rendered.buttonText, 'Talk to sales');
  t.deepEqual(rendered.strings, { ...CALL_US_STRINGS }, 'strings set as a property, not as an attribute');

  await widget.getByRole('button', { name: 'Talk to sales', exact: true }).click();
  const dialog = widget.getByRole('dialog');
  // The overrides from `strings` are what the visitor reads.
  await dialog.getByRole('heading', { name: CALL_US_STRINGS.heading, exact: true }).waitFor();
  await dialog.getByText(CALL_US_STRINGS.description, { exact: true }).waitFor();
  await dialog.getByRole('textbox').fill('(813) 555-1234');
  await dialog.getByRole('button', { name: CALL_US_STRINGS.submit, exact: true }).click();
  await dialog.getByText("We're calling you now.").waitFor({ timeout: 10_000 });

  t.is(beckon.sandbox.calls.length, 1, 'one submit, one call');
  t.like(beckon.sandbox.calls[0], { queue: DOMAINS[CONFIG_ID].queue, destination: '+18135551234', status: 'queued' });

  // React's handlers ran: its state changed and it rendered the result outside the element.
  const reactStatus = page.locator('main > p[role="status"]');
  await reactStatus.filter({ hasText: '(813) 555-1234' }).waitFor();
  t.is(await reactStatus.textContent(), "Your phone will ring in a moment: we're calling (813) 555-1234.");
  t.deepEqual(await page.getByRole('list', { name: 'Events React handled' }).getByRole('listitem').allTextContents(), [
    'call-us-open',
    'call-us-submit (813) 555-1234',
    'call-us-success (813) 555-1234',
  ]);
  t.is(await page.getByRole('alert').count(), 0, 'no error was reported');
  t.deepEqual(problems, [], 'no console errors on the page');
});
