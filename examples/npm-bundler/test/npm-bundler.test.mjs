import test from 'ava';
import { serveExample } from '../serve.mjs';
import { DOMAINS, CONFIG_ID, launchChromium, openPage, startBeckon } from '../../shared/browser-harness.mjs';

// `npm test` runs `npm run build` (rollup) first, so dist/main.js is the bundle of src/main.js as it is now.
test('the rollup-bundled element is themed by the page, places a call, and the page hears its events', async (t) => {
  const beckon = await startBeckon(t);
  const site = await serveExample({ port: 0, beckonUrl: beckon.url });
  t.teardown(() => site.close());
  t.not(new URL(site.url).origin, new URL(beckon.url).origin, 'the page is on its own origin, as a customer site is');

  const browser = await launchChromium(t);
  const { page, problems } = await openPage(browser);
  const toBeckon = [];
  page.on('request', (request) => {
    const url = new URL(request.url());
    if (url.origin === new URL(beckon.url).origin) toBeckon.push(`${request.method()} ${url.pathname}`);
  });
  await page.goto(site.url);
  await page.waitForFunction(() => customElements.get('call-us-button') !== undefined);

  const widget = page.locator('call-us-button');
  const attributes = await widget.evaluate((element) => ({
    endpoint: element.getAttribute('endpoint'),
    buttonText: element.getAttribute('button-text'),
    companyName: element.getAttribute('company-name'),
  }));
  t.is(attributes.endpoint, beckon.url, 'serve.mjs pointed the page at the test server');

  // Open the dialog first, so every part is rendered and laid out.
  await widget.getByRole('button', { name: attributes.buttonText, exact: true }).click();
  const dialog = widget.getByRole('dialog');
  await dialog.getByRole('heading', { name: attributes.companyName }).waitFor();

  const theme = await widget.evaluate((element) => {
    // Resolves CSS values the way the browser computes them (colours to rgb(), lengths to px, font lists
    // normalised) by applying declarations to a throwaway element, so that page values and computed
    // styles compare. All of a rule's declarations go on together: some depend on each other (a
    // border's width computes to 0 without its style).
    const computedAll = (cssText) => {
      const probe = document.createElement('div');
      probe.style.cssText = cssText;
      document.body.append(probe);
      const style = getComputedStyle(probe);
      return { get: (property) => style.getPropertyValue(property), remove: () => probe.remove() };
    };
    const computed = (property, value) => {
      const probe = computedAll(`${property}: ${value}`);
      const result = probe.get(property);
      probe.remove();
      return result;
    };
    const part = (name) => element.shadowRoot.querySelector(`[part~="${name}"]`);
    const host = getComputedStyle(element);
    const button = getComputedStyle(part('button'));

    // The four custom properties, as the page set them, against what the button part really shows.
    const customProperties = Object.fromEntries(
      [
        ['--call-us-color', 'background-color'],
        ['--call-us-text-color', 'color'],
        ['--call-us-radius', 'border-top-left-radius'],
        ['--call-us-font', 'font-family'],
      ].map(([custom, property]) => {
        const declared = host.getPropertyValue(custom).trim();
        return [custom, { declared, expected: computed(property, declared), actual: button.getPropertyValue(property) }];
      }),
    );

    // Every `call-us-button::part(…)` rule in the page's stylesheet, each declaration against the part.
    const partRules = [];
    for (const sheet of document.styleSheets) {
      for (const rule of sheet.cssRules) {
        const match = /^call-us-button::part\(([\w-]+)\)$/.exec(rule.selectorText ?? '');
        if (!match) continue;
        const style = getComputedStyle(part(match[1]));
        const probe = computedAll(rule.style.cssText);
        for (const property of rule.style) {
          partRules.push({ part: match[1], property, expected: probe.get(property), actual: style.getPropertyValue(property) });
        }
        probe.remove();
      }
    }
    return { customProperties, partRules };
  });

  for (const [custom, { declared, expected, actual }] of Object.entries(theme.customProperties)) {
    t.not(declared, '', `the page sets ${custom}`);
    t.is(actual, expected, `${custom}: ${declared}`);
  }
  t.deepEqual(
    [...new Set(theme.partRules.map((rule) => rule.part))].sort(),
    ['button', 'dialog', 'input', 'status', 'submit'],
    'the page styles these five parts',
  );
  for (const { part, property, expected, actual } of theme.partRules) t.is(actual, expected, `::part(${part}) ${property}`);

  // The call itself.
  await dialog.getByRole('textbox').fill('(813) 555-1234');
  await dialog.getByRole('button', { name: 'Call me', exact: true }).click();
  await dialog.getByText("We're calling you now.").waitFor({ timeout: 10_000 });
  t.is(beckon.sandbox.calls.length, 1, 'one submit, one call');
  t.like(beckon.sandbox.calls[0], { queue: DOMAINS[CONFIG_ID].queue, destination: '+18135551234', status: 'queued' });

  // The page's own listeners (src/main.js) ran, with the typed details.
  await page.getByRole('status').filter({ hasText: 'Thanks!' }).waitFor();
  t.is(await page.locator('#thanks').textContent(), 'Thanks! One of our grocers is calling (813) 555-1234 now.');
  t.deepEqual(await page.locator('#call-log li').allTextContents(), [
    'call-us-open',
    'call-us-submit (813) 555-1234',
    'call-us-success (813) 555-1234',
  ]);

  // Closing, then reopening through the page's link (CallUsButton#show() from the bundle's import).
  await dialog.getByRole('button', { name: 'Close', exact: true }).click();
  await dialog.waitFor({ state: 'hidden' });
  await page.getByRole('link', { name: 'have us ring you' }).click();
  await dialog.waitFor();
  t.deepEqual((await page.locator('#call-log li').allTextContents()).slice(3), ['call-us-close', 'call-us-open']);

  // The element came from the page's own bundle: nothing but its config (asked for the id's hours and
  // countries; its branding is not used, since the page brands the button itself), the call and its live
  // status went to the Beckon server, no CDN bundle.
  t.deepEqual(
    [...new Set(toBeckon)]
      .filter((line) => !line.startsWith('OPTIONS'))
      .map((line) => line.replace(/\/click-to-call\/[0-9a-f-]{36}\//, '/click-to-call/{id}/')),
    ['GET /widget-config', 'POST /click-to-call', 'GET /click-to-call/{id}/events'],
  );
  t.deepEqual(problems, [], 'no console errors on the page');
});
