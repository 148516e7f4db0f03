import { readFile } from 'node:fs/promises';
import { Script } from 'node:vm';
import type { CallPopupCall } from '@beckon/widget';
import test from 'ava';
import { parsePhoneNumberFromString } from 'libphonenumber-js/max';
import { createCallEventBus } from '../src/api/call-stream.js';
import type { CallView } from '../src/api/call-view.js';
import { recordCallChange, type CallChange } from '../src/events/calls.js';
import { checkPhone } from '../src/guards/phone-policy.js';
import { WEEKDAYS, type OpeningHours } from '../src/hours/schema.js';
import { createApp, createLogger, migrate } from '../src/index.js';
import { widgetCountries } from '../src/routes/widget.js';
import { launchChromium, servePage } from './browser.js';
import { API_TENANTS, INTERNAL_SECRET } from './fixtures/api.js';
import { databaseFixture } from './fixtures/databases.js';
import { eventually, serveForTest, startHarness } from './helpers.js';

const databases = databaseFixture(test);

/**
 * The call `<call-popup>` reads is the one the server sends: checked when `npm test` type-checks the
 * tests (`tsc -b`), which fails if a field is added, dropped or retyped on one side only.
 */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
export type PopupReadsTheServersCall = Same<CallPopupCall, CallView> extends true ? true : never;
const popupReadsTheServersCall: PopupReadsTheServersCall = true;
void popupReadsTheServersCall;

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

test("each bundle's source map is served where its sourceMappingURL points: JSON, cached like the bundle, the file the package ships", async (t) => {
  const harness = await startHarness();
  t.teardown(() => harness.close());
  const { bundle } = settingsOf(await (await fetch(`${harness.url}/widget.js?id=example.com-sales`)).text());
  const version = new URL(bundle ?? '').searchParams.get('v');
  const cdn = new URL('../../widget/cdn/', import.meta.url);
  for (const file of ['call-us-button.js', 'call-us-button.iife.js', 'call-popup.js']) {
    const script = await (await fetch(`${harness.url}/widget/${file}`)).text();
    const named = /\n\/\/# sourceMappingURL=(\S+)\n?$/.exec(script)?.[1];
    t.is(named, `${file}.map`, `${file} names its map beside it`);
    // A browser resolves the comment against the bundle's URL, so the map sits at /widget/<bundle>.map.
    const mapUrl = new URL(named ?? '', `${harness.url}/widget/${file}?v=${version}`);
    const response = await fetch(mapUrl);
    t.is(response.status, 200, mapUrl.pathname);
    t.is(response.headers.get('content-type'), 'application/json; charset=utf-8');
    t.is(response.headers.get('access-control-allow-origin'), '*');
    t.is(response.headers.get('x-content-type-options'), 'nosniff');
    t.is(response.headers.get('cache-control'), 'public, max-age=300', 'devtools ask without ?v=');
    const body = await response.text();
    t.is(body, await readFile(new URL(`${file}.map`, cdn), 'utf8'), 'the map @beckon/widget ships');
    t.like(JSON.parse(body), { version: 3, file });
    const etag = response.headers.get('etag') ?? '';
    t.not(etag, '');
    const revalidated = await fetch(mapUrl, { headers: { 'if-none-match': etag, 'cache-control': 'max-age=0' } });
    t.is(revalidated.status, 304);
    const versioned = await fetch(`${harness.url}/widget/${file}.map?v=${version}`);
    t.is(versioned.headers.get('cache-control'), 'public, max-age=31536000, immutable');
  }
});

test('<call-popup> from the served bundle, on another origin, shows a ringing call from the real stream and closes it when answered', async (t) => {
  const { db } = await databases.open(t, 'pglite');
  await migrate(db, { logger: createLogger('silent') });
  const harness = await startHarness({ tenants: API_TENANTS });
  t.teardown(() => harness.close());
  const bus = createCallEventBus(db, harness.deps.logger);
  t.teardown(() => bus.close());
  const config = { ...harness.deps.config, internalApiSecret: INTERNAL_SECRET, apiKeyGraceHours: 24 };
  const { url } = await serveForTest(t, createApp({ ...harness.deps, config, db, callEvents: bus }).callback());
  const created = await fetch(`${url}/internal/apps`, {
    method: 'POST',
    headers: { authorization: `Bearer ${INTERNAL_SECRET}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'Support desk' }),
  });
  const { api_key: key } = (await created.json()) as { api_key: string };

  const site = await servePage(
    `<!doctype html><html lang="en"><head><title>Desk</title></head><body><main><h1>Desk</h1>
      <call-popup endpoint="${url}"></call-popup></main>
      <script type="module" src="${url}/widget/call-popup.js"></script></body></html>`,
  );
  t.teardown(() => site.close());
  const browser = await launchChromium();
  t.teardown(() => browser.close());
  const page = await browser.newPage();
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(error.message));
  // The page's backend: it holds the app key and hands the page a stream token (POST /api/stream-tokens).
  let tokens = 0;
  await page.exposeFunction('beckonStreamToken', async () => {
    tokens += 1;
    const response = await fetch(`${url}/api/stream-tokens`, { method: 'POST', headers: { 'x-app-api-key': key } });
    return ((await response.json()) as { token: string }).token;
  });
  await page.goto(site.url);
  await page.waitForFunction("customElements.get('call-popup') !== undefined");
  // As a page sets it; the function runs in the page and calls the backend above.
  await page.locator('call-popup').evaluate((popup) => {
    Reflect.set(popup, 'streamToken', () => (Reflect.get(globalThis, 'beckonStreamToken') as () => Promise<string>)());
  });
  t.true(await eventually(() => bus.size === 1, 5_000), 'the element opened the stream');

  const call: CallChange = {
    tenant: 'example.com-sales',
    provider: 'netsapiens',
    providerCallId: 'popup-e2e-1',
    direction: 'inbound',
    signal: 'ringing',
    at: new Date(),
    fromNumber: '+18135551234',
    fromE164: '+18135551234',
    fromName: '<img src=x onerror="window.__pwned=1">',
    toNumber: '+19295550100',
  };
  await recordCallChange(db, call);
  const toast = page.locator('call-popup').locator('[part~="toast"]');
  await toast.waitFor({ timeout: 5_000 });
  t.is(await toast.locator('[part~="caller"]').textContent(), call.fromName ?? '');
  t.is((await toast.locator('[part~="customer"]').textContent())?.trim(), 'New caller');
  t.is(await page.evaluate(() => Reflect.get(globalThis, '__pwned') as unknown), undefined, 'markup in the name stayed text');

  await recordCallChange(db, { ...call, signal: 'answered' });
  await toast.waitFor({ state: 'detached', timeout: 5_000 });
  t.is(tokens, 1);
  t.deepEqual(problems, []);
});

/** Every day, all day: open whenever a test runs. */
const ALWAYS_OPEN: OpeningHours = {
  timezone: 'America/New_York',
  weekly: Object.fromEntries(WEEKDAYS.map((day) => [day, [['00:00', '24:00']]])),
};

test('/widget-config says whether an id with hours is open, when it opens and in which zone; no hours, no such fields', async (t) => {
  // A one-minute range starting two to three minutes from now, in UTC: closed now, opening soon, whenever this runs.
  const opens = new Date((Math.ceil(Date.now() / 60_000) + 2) * 60_000);
  const hhmm = (instant: Date) => instant.toISOString().slice(11, 16);
  const day = WEEKDAYS[opens.getUTCDay()]!;
  const end = hhmm(opens) === '23:59' ? '24:00' : hhmm(new Date(opens.getTime() + 60_000));
  const harness = await startHarness({
    tenants: {
      'example.com-open': { api_domain: 'example.com', queue: '9002@example.com', hours: ALWAYS_OPEN },
      'example.com-closed': { api_domain: 'example.com', queue: '9002@example.com', hours: { timezone: 'Europe/London', weekly: {} } },
      'example.com-soon': {
        api_domain: 'example.com',
        queue: '9002@example.com',
        hours: { timezone: 'UTC', weekly: { [day]: [[hhmm(opens), end]] } },
      },
      'example.com-plain': { api_domain: 'example.com', queue: '9002@example.com' },
    },
  });
  t.teardown(() => harness.close());
  const config = async (id: string) => {
    const response = await fetch(`${harness.url}/widget-config?id=${id}`);
    t.is(response.status, 200, id);
    const maxAge = Number(/^public, max-age=(\d+)$/.exec(response.headers.get('cache-control') ?? '')?.[1]);
    return { body: (await response.json()) as Record<string, unknown>, maxAge };
  };

  t.deepEqual(await config('example.com-open'), {
    body: { id: 'example.com-open', open: true, next_open: null, timezone: 'America/New_York' },
    maxAge: 300,
  });
  t.deepEqual(await config('example.com-closed'), {
    body: { id: 'example.com-closed', open: false, next_open: null, timezone: 'Europe/London' },
    maxAge: 300,
  });
  const soon = await config('example.com-soon');
  t.deepEqual(soon.body, { id: 'example.com-soon', open: false, next_open: opens.toISOString().replace('.000Z', 'Z'), timezone: 'UTC' });
  t.true(soon.maxAge > 0 && soon.maxAge <= 180, `cached until it opens at most (max-age=${soon.maxAge})`);
  t.deepEqual(await config('example.com-plain'), { body: { id: 'example.com-plain' }, maxAge: 300 });
});

test("/widget-config lists an id's allowed_countries in order, each with its calling code, an example and its number lengths; none without", async (t) => {
  const harness = await startHarness({
    tenants: {
      'example.com-europe': { api_domain: 'example.com', queue: '9002@example.com', allowed_countries: ['FR', 'GB', 'US', 'ZZ'] },
      'example.com-plain': { api_domain: 'example.com', queue: '9002@example.com' },
    },
  });
  t.teardown(() => harness.close());
  const config = async (id: string) => (await (await fetch(`${harness.url}/widget-config?id=${id}`)).json()) as Record<string, unknown>;
  // ZZ is no country libphonenumber knows (nor one /click-to-call could ever match): left out.
  t.deepEqual((await config('example.com-europe')).countries, [
    { code: 'FR', calling_code: '33', example: '06 12 34 56 78', lengths: [9] },
    { code: 'GB', calling_code: '44', example: '07400 123456', lengths: [7, 9, 10] },
    { code: 'US', calling_code: '1', example: '(201) 555-0123', lengths: [10] },
  ]);
  t.false('countries' in (await config('example.com-plain')));
});

test('a national number dialled as + calling code + its digits is what /click-to-call reads it as in that country', (t) => {
  // How the widget sends a number typed with a country picked: it cannot strip national prefixes
  // without metadata, and needs not, since libphonenumber strips them after a calling code as well.
  for (const [country, national] of [
    ['FR', '06 12 34 56 78'],
    ['GB', '07400 123456'],
    ['IT', '312 345 6789'],
    ['AR', '011 15-2345-6789'],
  ] as const) {
    const { calling_code: code } = widgetCountries([country])[0]!;
    const dialled = checkPhone(`+${code}${national.replace(/\D/g, '')}`, { allowed_countries: [country] });
    const expected = parsePhoneNumberFromString(national, country)?.number;
    t.deepEqual(dialled, { ok: true, e164: expected }, `${country} ${national}`);
  }
});
