import type { Middleware } from 'koa';
import type { AppState } from '../context.js';
import type { ServerDeps } from '../deps.js';
import { ID_PATTERN, type TenantConfig } from '../tenants/schema.js';

/**
 * JSON that is also safe inside a `<script>` element and in any JavaScript context: `<`, `>`, `&` and
 * the two line separators JavaScript once refused in strings are written as escapes.
 */
export function scriptSafeJson(value: unknown): string {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

export interface WidgetSettings {
  id: string;
  endpoint: string;
  buttonText: string;
  buttonColor: string;
  companyName: string;
  logoUrl: string;
}

export function widgetSettings(id: string, tenant: TenantConfig, publicUrl: string): WidgetSettings {
  const branding = tenant.branding ?? {};
  return {
    id,
    endpoint: publicUrl,
    buttonText: branding.button_text || 'Call me back',
    buttonColor: branding.button_color || '#1a73e8',
    companyName: branding.company_name || '',
    logoUrl: branding.logo_url || '',
  };
}

/**
 * `GET /widget.js?id=`: the script-tag embed. It puts a branded button where the script tag stands and
 * posts the visitor's number to this server's absolute URL (a relative one breaks on `file://` pages).
 * Branding goes in as data, written with `textContent` and style properties, never as HTML.
 */
export function widgetScript(deps: ServerDeps): Middleware<AppState> {
  return function widgetScript(ctx) {
    ctx.type = 'application/javascript';
    ctx.set('X-Content-Type-Options', 'nosniff');
    const id = String(ctx.query.id ?? ctx.query.domain ?? '');
    const tenant = ID_PATTERN.test(id) ? deps.tenants.get(id) : undefined;
    if (!tenant) {
      ctx.status = 404;
      ctx.set('Cache-Control', 'no-store');
      ctx.body = '// Beckon: no call button is configured for this id.\n';
      return;
    }
    ctx.set('Cache-Control', 'public, max-age=300');
    ctx.body = `(function (settings) {\n${EMBED}})(${scriptSafeJson(widgetSettings(id, tenant, deps.config.publicUrl))});\n`;
  };
}

/** The embed's body: plain ES5 DOM calls, so it runs on any page that can run a script tag. */
const EMBED = String.raw`  var script = document.currentScript;
  var box = document.createElement('div');
  box.className = 'beckon-call-us';
  var open = document.createElement('button');
  open.type = 'button';
  open.textContent = settings.buttonText;
  open.style.cssText = 'border:0;border-radius:6px;padding:12px 18px;min-height:44px;cursor:pointer;font:inherit';
  open.style.backgroundColor = settings.buttonColor;
  open.style.color = textColorFor(settings.buttonColor);
  var form = document.createElement('form');
  form.hidden = true;
  var label = document.createElement('label');
  label.textContent = settings.companyName ? settings.companyName + ' will call you at:' : 'We will call you at:';
  var input = document.createElement('input');
  input.type = 'tel';
  input.name = 'phone_number';
  input.autocomplete = 'tel';
  input.required = true;
  label.appendChild(input);
  var submit = document.createElement('button');
  submit.type = 'submit';
  submit.textContent = 'Call me';
  var status = document.createElement('p');
  status.setAttribute('role', 'status');
  form.appendChild(label);
  form.appendChild(submit);
  form.appendChild(status);
  box.appendChild(open);
  box.appendChild(form);
  open.addEventListener('click', function () {
    form.hidden = !form.hidden;
    if (!form.hidden) input.focus();
  });
  form.addEventListener('submit', function (event) {
    event.preventDefault();
    submit.disabled = true;
    status.textContent = 'Calling…';
    fetch(settings.endpoint + '/click-to-call', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ id: settings.id, phone_number: input.value })
    }).then(function (response) {
      return response.json().then(function (data) {
        status.textContent = response.ok ? "We're calling you now." : (data && data.message) || 'Something went wrong. Please try again.';
      });
    }).catch(function () {
      status.textContent = 'Something went wrong. Please try again.';
    }).then(function () {
      submit.disabled = false;
    });
  });
  if (script && script.parentNode) script.parentNode.insertBefore(box, script.nextSibling);
  else document.body.appendChild(box);
  function textColorFor(hex) {
    var n = parseInt(hex.slice(1), 16);
    var channels = [(n >> 16) & 255, (n >> 8) & 255, n & 255].map(function (c) {
      c = c / 255;
      return c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4);
    });
    var luminance = 0.2126 * channels[0] + 0.7152 * channels[1] + 0.0722 * channels[2];
    return luminance > 0.179 ? '#000000' : '#ffffff';
  }
`;
