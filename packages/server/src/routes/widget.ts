import type { Middleware } from 'koa';
import { getCountryCallingCode, getExampleNumber, isSupportedCountry, Metadata, type CountryCode } from 'libphonenumber-js/max';
import examples from 'libphonenumber-js/mobile/examples';
import type { AppState } from '../context.js';
import type { ServerDeps } from '../deps.js';
import { hoursStatus, isoUtc, type HoursStatus } from '../hours/open.js';
import { HttpError } from '../http-error.js';
import { ID_PATTERN, type TenantConfig } from '../tenants/schema.js';
import type { WidgetAsset, WidgetBundle } from '../widget-bundle.js';

/**
 * JSON that is also safe inside a `<script>` element and in any JavaScript context: `<`, `>`, `&` and
 * the two line separators JavaScript once refused in strings are written as escapes.
 */
export function scriptSafeJson(value: unknown): string {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * What a page may know of an id: its branding, and whether its line is open when it has `hours`. Empty
 * fields are left out so the element's own (translated) defaults apply.
 */
export interface WidgetConfig {
  id: string;
  buttonText?: string;
  buttonColor?: string;
  companyName?: string;
  logoUrl?: string;
  /** With `hours` only: whether click-to-call is open now. */
  open?: boolean;
  /** With `hours` only: when a closed line opens (UTC, `Z`); `null` while open, or when it stays closed beyond 14 days. */
  next_open?: string | null;
  /** With `hours` only: the zone the hours are read in (IANA), for the widget to name when the visitor's differs. */
  timezone?: string;
  /** With `allowed_countries` only: the countries a visitor may be called in, in that order (the id's default first). */
  countries?: WidgetCountry[];
}

/** A country a visitor may pick in the widget: what it needs to dial and check a national number there. */
export interface WidgetCountry {
  /** ISO 3166 code, such as `FR`. */
  code: string;
  /** Its calling code, without `+`: `33`. */
  calling_code: string;
  /** An example mobile number in national format (`06 12 34 56 78`), for a placeholder; absent when libphonenumber has none. */
  example?: string;
  /** The lengths a national number (without its national prefix) can have there, from libphonenumber's metadata. */
  lengths: number[];
}

/**
 * What the widget needs of each allowed country, from the same libphonenumber metadata `/click-to-call`
 * validates with, so the widget's check never drifts from the server's and its bundle carries none.
 */
export function widgetCountries(codes: readonly string[]): WidgetCountry[] {
  const metadata = new Metadata();
  // An arrow, not `filter(isSupportedCountry)`: its optional last argument is metadata, not an index.
  return codes
    .filter((code): code is CountryCode => isSupportedCountry(code))
    .map((country) => {
      metadata.selectNumberingPlan(country);
      const example = getExampleNumber(country, examples)?.formatNational();
      return {
        code: country,
        calling_code: getCountryCallingCode(country),
        ...(example ? { example } : {}),
        lengths: metadata.numberingPlan?.possibleLengths() ?? [],
      };
    });
}

/** How long `/widget-config` may be cached: 5 minutes, or until the id opens or closes if that is sooner. */
const MAX_AGE_SECONDS = 300;
function maxAge(status: HoursStatus | undefined, now: Date): number {
  if (!status?.changesAt) return MAX_AGE_SECONDS;
  return Math.min(MAX_AGE_SECONDS, Math.max(0, Math.floor((status.changesAt.getTime() - now.getTime()) / 1_000)));
}

export function widgetConfig(id: string, tenant: TenantConfig): WidgetConfig {
  const branding = tenant.branding ?? {};
  const config: WidgetConfig = { id };
  if (branding.button_text) config.buttonText = branding.button_text;
  if (branding.button_color) config.buttonColor = branding.button_color;
  if (branding.company_name) config.companyName = branding.company_name;
  if (branding.logo_url) config.logoUrl = branding.logo_url;
  return config;
}

function lookup(deps: ServerDeps, query: Record<string, unknown>): { id: string; tenant: TenantConfig | undefined } {
  const raw = query.id ?? query.domain;
  const id = typeof raw === 'string' ? raw : '';
  return { id, tenant: ID_PATTERN.test(id) ? deps.tenants.get(id) : undefined };
}

/**
 * `GET /widget-config?id=`: the element's branding when it is used without branding attributes, whether
 * its line is open, and the countries it may call.
 */
export function widgetConfigRoute(deps: ServerDeps): Middleware<AppState> {
  return function widgetConfigRoute(ctx) {
    // Branding is public (every embed shows it), so any page may read it.
    ctx.set('Access-Control-Allow-Origin', '*');
    const { id, tenant } = lookup(deps, ctx.query);
    if (!tenant) throw new HttpError(404, 'This call button is not configured.');
    const now = new Date();
    const status = tenant.hours && hoursStatus(tenant.hours, now);
    // An open/closed flag must not be served from a cache past the moment it changes.
    ctx.set('Cache-Control', `public, max-age=${maxAge(status, now)}`);
    const config = widgetConfig(id, tenant);
    if (status && tenant.hours) {
      config.open = status.open;
      config.next_open = !status.open && status.nextOpen ? isoUtc(status.nextOpen) : null;
      config.timezone = tenant.hours.timezone;
    }
    if (tenant.allowed_countries) config.countries = widgetCountries(tenant.allowed_countries);
    ctx.body = config;
  };
}

/**
 * `GET /widget.js?id=`: the script-tag embed. It puts `<call-us-button>` where the script tag stands,
 * with the id's branding and this server's public URL as attributes (no second round trip), and loads
 * the element's bundle once per page. Every existing `<script src=…/widget.js?id=…>` upgrades in place.
 */
export function widgetLoader(deps: ServerDeps, bundle: WidgetBundle | undefined): Middleware<AppState> {
  const bundleUrl = `${deps.config.publicUrl}/widget/call-us-button.iife.js${bundle ? `?v=${bundle.version}` : ''}`;
  return function widgetLoader(ctx) {
    ctx.type = 'application/javascript';
    ctx.set('X-Content-Type-Options', 'nosniff');
    const { id, tenant } = lookup(deps, ctx.query);
    if (!tenant) {
      ctx.status = 404;
      ctx.set('Cache-Control', 'no-store');
      ctx.body = '// Beckon: no call button is configured for this id.\n';
      return;
    }
    ctx.set('Cache-Control', 'public, max-age=300');
    const settings = { ...widgetConfig(id, tenant), endpoint: deps.config.publicUrl, bundle: bundleUrl };
    ctx.body = `(function (settings) {\n${LOADER}})(${scriptSafeJson(settings)});\n`;
  };
}

/** The loader's body: ES5 DOM calls only; branding goes in through setAttribute, never as markup. */
const LOADER = String.raw`  var script = document.currentScript;
  var button = document.createElement('call-us-button');
  var attributes = { 'config-id': settings.id, endpoint: settings.endpoint, 'button-text': settings.buttonText,
    'button-color': settings.buttonColor, 'company-name': settings.companyName, 'logo-url': settings.logoUrl };
  for (var name in attributes) if (attributes[name]) button.setAttribute(name, attributes[name]);
  if (script && script.parentNode) script.parentNode.insertBefore(button, script.nextSibling);
  else document.body.appendChild(button);
  if (!window.customElements.get('call-us-button') && !document.querySelector('script[data-beckon-widget]')) {
    var bundle = document.createElement('script');
    var url = settings.bundle;
    // Pages requiring Trusted Types for scripts take a script URL only from a policy: "beckon-widget"
    // (a page listing its policies lists it, and Lit's "lit-html"), which passes this one URL and no other.
    if (window.trustedTypes && window.trustedTypes.createPolicy) {
      url = window.trustedTypes.createPolicy('beckon-widget', { createScriptURL: function (given) {
        if (given !== settings.bundle) throw new TypeError('beckon-widget: not the widget bundle');
        return given;
      } }).createScriptURL(settings.bundle);
    }
    bundle.src = url;
    bundle.async = true;
    bundle.setAttribute('data-beckon-widget', '');
    document.head.appendChild(bundle);
  }
`;

/**
 * `GET /widget/call-us-button.js` (ESM), `/widget/call-us-button.iife.js` and `/widget/call-popup.js` (ESM):
 * an element, Lit included; and each one's source map at its name + `.map`. `pick` says which.
 */
export function widgetBundleRoute(bundle: WidgetBundle | undefined, pick: (bundle: WidgetBundle) => WidgetAsset): Middleware<AppState> {
  return function widgetBundleRoute(ctx) {
    ctx.type = bundle ? pick(bundle).type : 'application/javascript';
    ctx.set('X-Content-Type-Options', 'nosniff');
    // Module scripts are fetched with CORS, and pages with COEP need an explicit resource policy.
    ctx.set('Access-Control-Allow-Origin', '*');
    ctx.set('Cross-Origin-Resource-Policy', 'cross-origin');
    if (!bundle) {
      ctx.status = 503;
      ctx.set('Cache-Control', 'no-store');
      ctx.body = '// Beckon: the widget bundle has not been built (npm run build).\n';
      return;
    }
    const asset = pick(bundle);
    ctx.set('ETag', asset.etag);
    ctx.set('Cache-Control', ctx.query.v === bundle.version ? 'public, max-age=31536000, immutable' : 'public, max-age=300');
    // Koa judges freshness only for a 2xx status, and the status is still the default 404 here.
    ctx.status = 200;
    if (ctx.fresh) {
      ctx.status = 304;
      return;
    }
    ctx.body = asset.body;
  };
}
