import { Script } from 'node:vm';
import test from 'ava';
import { startHarness } from './helpers.js';

/** The loader ends with `})(<settings JSON>);`: the settings as the browser will see them. */
function settingsOf(script: string): Record<string, string> {
  const match = /\}\)\((\{.*\})\);\n$/s.exec(script);
  if (!match?.[1]) throw new Error('no settings in the script');
  return JSON.parse(match[1]) as Record<string, string>;
}

test("/widget.js is a loader with the id's branding inlined and this server as endpoint", async (t) => {
  const harness = await startHarness();
  t.teardown(() => harness.close());
  const response = await fetch(`${harness.url}/widget.js?id=example.com-sales`);
  t.is(response.status, 200);
  t.regex(response.headers.get('content-type') ?? '', /^application\/javascript/);
  t.regex(response.headers.get('cache-control') ?? '', /max-age=300/);
  const script = await response.text();
  t.notThrows(() => new Script(script), 'the loader is valid JavaScript');
  const settings = settingsOf(script);
  t.like(settings, {
    id: 'example.com-sales',
    endpoint: 'http://beckon.test',
    buttonText: 'Call us',
    buttonColor: '#ff9900',
    companyName: 'Example Co',
  });
  t.false('logoUrl' in settings, "empty branding is left to the element's defaults");
  t.regex(settings.bundle ?? '', /^http:\/\/beckon\.test\/widget\/call-us-button\.iife\.js\?v=[0-9a-f]{12}$/);
  t.true(script.includes("document.createElement('call-us-button')"));
});

test('?domain= works like ?id=; an unknown id is 404 with a JS comment', async (t) => {
  const harness = await startHarness();
  t.teardown(() => harness.close());
  t.is((await fetch(`${harness.url}/widget.js?domain=example.com-sales`)).status, 200);
  for (const query of ['?id=nobody.net-sales', '?id=%3C%2Fscript%3E', '', '?id=a&id=b']) {
    const response = await fetch(`${harness.url}/widget.js${query}`);
    t.is(response.status, 404, query);
    t.regex(response.headers.get('content-type') ?? '', /^application\/javascript/);
    t.regex(await response.text(), /^\/\/ /);
  }
});

test('hostile branding reaches the loader as data, never as markup or code', async (t) => {
  const hostile = {
    button_text: '</script><script>alert(1)</script>',
    company_name: '"; alert(2); //\u2028\u2029 & <!--',
    button_color: '#000000',
    logo_url: 'https://example.com/logo.png?a=<b>',
  };
  const harness = await startHarness({ tenants: { 'evil.com-x': { api_domain: 'evil.com', queue: '1@evil.com', branding: hostile } } });
  t.teardown(() => harness.close());
  const script = await (await fetch(`${harness.url}/widget.js?id=evil.com-x`)).text();
  t.false(script.includes('</script'), 'no closing script tag');
  t.false(script.includes('<!--'));
  t.false(/[\u2028\u2029]/.test(script));
  t.notThrows(() => new Script(script));
  t.like(settingsOf(script), { buttonText: hostile.button_text, companyName: hostile.company_name, logoUrl: hostile.logo_url });
  t.false(script.includes('innerHTML'), 'branding is set with setAttribute');
});

test('/widget-config gives the branding to any origin, cacheable; unknown id 404', async (t) => {
  const harness = await startHarness();
  t.teardown(() => harness.close());
  const response = await fetch(`${harness.url}/widget-config?id=example.com-sales`, { headers: { origin: 'https://shop.example' } });
  t.is(response.status, 200);
  t.is(response.headers.get('access-control-allow-origin'), '*');
  t.regex(response.headers.get('cache-control') ?? '', /public, max-age=\d+/);
  t.deepEqual(await response.json(), { id: 'example.com-sales', buttonText: 'Call us', buttonColor: '#ff9900', companyName: 'Example Co' });
  const unknown = await fetch(`${harness.url}/widget-config?id=nobody.net-x`);
  t.is(unknown.status, 404);
  t.like(await unknown.json(), { status: 'error' });
});

test('the bundle is served cross-origin, immutable under its version, with ETag revalidation', async (t) => {
  const harness = await startHarness();
  t.teardown(() => harness.close());
  const { bundle } = settingsOf(await (await fetch(`${harness.url}/widget.js?id=example.com-sales`)).text());
  const versioned = new URL(bundle ?? '').pathname + new URL(bundle ?? '').search;
  for (const path of [versioned, versioned.replace('.iife.js', '.js')]) {
    const response = await fetch(harness.url + path);
    t.is(response.status, 200, path);
    t.regex(response.headers.get('content-type') ?? '', /^application\/javascript/);
    t.is(response.headers.get('access-control-allow-origin'), '*');
    t.is(response.headers.get('cache-control'), 'public, max-age=31536000, immutable');
    t.true((await response.text()).includes('call-us-button'));
    const etag = response.headers.get('etag') ?? '';
    // As a browser revalidates (fetch() would add `Cache-Control: no-cache` to a conditional request).
    const revalidated = await fetch(harness.url + path, { headers: { 'if-none-match': etag, 'cache-control': 'max-age=0' } });
    t.is(revalidated.status, 304);
  }
  const unversioned = await fetch(`${harness.url}/widget/call-us-button.js`);
  t.is(unversioned.headers.get('cache-control'), 'public, max-age=300');
});

test('the <call-popup> bundle is served like the button’s: cross-origin, immutable under the version, ETag revalidation', async (t) => {
  const harness = await startHarness();
  t.teardown(() => harness.close());
  const { bundle } = settingsOf(await (await fetch(`${harness.url}/widget.js?id=example.com-sales`)).text());
  const version = new URL(bundle ?? '').searchParams.get('v');
  const path = `/widget/call-popup.js?v=${version}`;
  const response = await fetch(harness.url + path);
  t.is(response.status, 200);
  t.regex(response.headers.get('content-type') ?? '', /^application\/javascript/);
  t.is(response.headers.get('access-control-allow-origin'), '*');
  t.is(response.headers.get('cross-origin-resource-policy'), 'cross-origin');
  t.is(response.headers.get('x-content-type-options'), 'nosniff');
  t.is(response.headers.get('cache-control'), 'public, max-age=31536000, immutable');
  const body = await response.text();
  t.true(body.includes('call-popup'));
  t.false(body.includes('call-us-button'), 'the popup bundle does not carry the button');
  const etag = response.headers.get('etag') ?? '';
  t.not(etag, (await fetch(`${harness.url}/widget/call-us-button.js`)).headers.get('etag'));
  const revalidated = await fetch(harness.url + path, { headers: { 'if-none-match': etag, 'cache-control': 'max-age=0' } });
  t.is(revalidated.status, 304);
  const unversioned = await fetch(`${harness.url}/widget/call-popup.js`);
  t.is(unversioned.headers.get('cache-control'), 'public, max-age=300');
});
