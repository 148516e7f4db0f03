/**
 * Twilio's webhook signature, `X-Twilio-Signature`: checked on every request Twilio sends Beckon, and
 * made by the stand-in's driver and the tests that play Twilio.
 *
 * The algorithm (Twilio's "Webhook security" reference; providers.md A1): start from the full URL Twilio
 * requested, append each POST parameter as `name + value` in the order of the names, with no separators,
 * take the HMAC-SHA1 of that UTF-8 string keyed with the account's auth token, and encode it in base64.
 * Nothing time-bound is signed, so a captured request can be replayed: the routes stay idempotent per
 * `CallSid`/`MessageSid`, which no signature can do for them.
 *
 * Why a verifier of our own rather than the `twilio` package's `validateRequest`:
 * - the check is these few lines of `node:crypto`, tested against Twilio's published vectors, where the
 *   package brings a REST client and its dependencies (axios, dayjs, jsonwebtoken, qs, xmlbuilder) for
 *   one pure function, and toolchain.md names no version of it known to work on these machines' Node 20;
 * - `validateRequest` re-serialises the URL through `new URL()`, which lower-cases the host and
 *   percent-encodes characters such as `'` in the query (twilio-node issue #924; error 57012 lists
 *   changed encodings). Here the URL is signed exactly as given; only the default port is added or removed;
 * - its request helpers (`webhook()`, `validateExpressRequest`) read an Express request, which Beckon's
 *   Koa routes do not have, so only the pure function would be used anyway.
 * Not covered: the JSON-body variant (`bodySHA256` in the query), which Voice and Messaging webhooks do
 * not use.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** The header Twilio sends the signature in. */
export const TWILIO_SIGNATURE_HEADER = 'X-Twilio-Signature';

/**
 * Form parameters as Twilio posts them. A name sent several times (`StatusCallbackEvent`, `MediaUrl`)
 * holds all its values: each one is signed.
 */
export type TwilioParams = Readonly<Record<string, string | readonly string[]>>;

const DEFAULT_PORTS: Readonly<Record<string, string>> = { http: '80', https: '443' };
/** scheme, authority, and the rest (path, query, fragment) exactly as written. */
const URL_PARTS = /^([a-z][a-z\d+.-]*):\/\/([^/?#]*)(.*)$/i;
/** userinfo and host (an IPv6 literal keeps its colons inside brackets), then an optional port. */
const AUTHORITY = /^((?:[^@]*@)?(?:\[[^\]]*\]|[^:]*))(?::(\d*))?$/;

/**
 * The string Twilio signs: `url`, then every parameter as name + value, names in code-unit order
 * (Twilio's "case-sensitive Unix sort": `To` before `body`). A repeated name's values are signed sorted
 * and once each, as twilio-node's `toFormUrlEncodedParam` does (providers.md A1).
 */
export function twilioSigningPayload(url: string, params: TwilioParams): string {
  let payload = url;
  for (const name of Object.keys(params).sort()) {
    const value = params[name];
    if (value === undefined) continue;
    const values = typeof value === 'string' ? [value] : [...new Set(value)].sort();
    for (const item of values) payload += name + item;
  }
  return payload;
}

/** The `X-Twilio-Signature` Twilio would send for a POST of `params` to `url`. */
export function signTwilioRequest(authToken: string, url: string, params: TwilioParams = {}): string {
  return createHmac('sha1', authToken).update(twilioSigningPayload(url, params), 'utf8').digest('base64');
}

/**
 * The URL as given, plus the same URL with the scheme's default port added (when it has none) or
 * removed (when it has exactly that one): Twilio signs some requests with `:443`/`:80` and some without
 * (providers.md A2), so twilio-node accepts both, and so do we. Nothing else about the URL is changed.
 */
function urlVariants(url: string): string[] {
  const parts = URL_PARTS.exec(url);
  if (!parts) return [url];
  const [, scheme = '', authority = '', rest = ''] = parts;
  const defaultPort = DEFAULT_PORTS[scheme.toLowerCase()];
  const hostAndPort = AUTHORITY.exec(authority);
  if (defaultPort === undefined || !hostAndPort) return [url];
  const [, host = '', port] = hostAndPort;
  if (port === undefined) return [url, `${scheme}://${host}:${defaultPort}${rest}`];
  if (port === defaultPort) return [url, `${scheme}://${host}${rest}`];
  return [url];
}

export interface TwilioSignatureCheck {
  /**
   * The account's auth token. Several while a token is being rotated: Twilio signs with the primary one
   * only, so the old and the new one are each accepted for the switch-over (providers.md A2). An empty
   * token verifies nothing: anyone could sign with it.
   */
  authToken: string | readonly string[];
  /** The request's `X-Twilio-Signature` header; missing or empty is refused. */
  signature: string | undefined;
  /** The URL Twilio requested: build it with `twilioWebhookUrl`, never from `Host` or `X-Forwarded-*`. */
  url: string;
  /** Every form parameter received, untrimmed (`parseTwilioForm`); `{}` for a GET. */
  params: TwilioParams;
}

/**
 * Whether `signature` is Twilio's for this URL and these parameters, with the URL taken with and
 * without its default port. Compared in constant time (`timingSafeEqual`): an attacker timing our
 * answers learns nothing about how much of a forged signature was right.
 */
export function verifyTwilioSignature(check: TwilioSignatureCheck): boolean {
  const { signature, url, params } = check;
  if (typeof signature !== 'string' || signature === '') return false;
  const presented = Buffer.from(signature, 'utf8');
  const tokens = typeof check.authToken === 'string' ? [check.authToken] : check.authToken;
  let valid = false;
  for (const token of tokens) {
    if (token === '') continue;
    for (const candidate of urlVariants(url)) {
      const expected = Buffer.from(signTwilioRequest(token, candidate, params), 'utf8');
      // timingSafeEqual throws on buffers of unequal length; a length tells nothing (every SHA-1 in base64 has 28 characters).
      if (expected.length === presented.length && timingSafeEqual(expected, presented)) valid = true;
    }
  }
  return valid;
}

/**
 * The URL Twilio requested, as it signed it: the configured public address (`PUBLIC_URL`, with any path
 * prefix a proxy strips) plus the path and query as this app received them, still percent-encoded. In a
 * Beckon route that is `ctx.url`: the same as `ctx.originalUrl` unless the app is mounted under a prefix
 * that `PUBLIC_URL` already holds. Never `Host`/`X-Forwarded-*`: behind a proxy they name the wrong
 * scheme or host, and anyone can send them.
 */
export function twilioWebhookUrl(publicUrl: string, pathAndQuery: string): string {
  if (!/^https?:\/\/[^/?#]+/i.test(publicUrl)) throw new TypeError('publicUrl must be an absolute http(s) URL');
  if (!pathAndQuery.startsWith('/')) throw new TypeError('pathAndQuery must start with "/"');
  return publicUrl.replace(/\/+$/, '') + pathAndQuery;
}

/**
 * A form-encoded body as Twilio's signature needs it: every parameter, values decoded but otherwise as
 * sent (no trimming, `a[b]` stays a name), a repeated name holding all its values in order. Parse the raw
 * body with this rather than a `qs`-style parser, which nests and drops what Twilio signed (error 57012).
 */
export function parseTwilioForm(body: string | Buffer): Record<string, string | string[]> {
  const grouped = new Map<string, string[]>();
  for (const [name, value] of new URLSearchParams(typeof body === 'string' ? body : body.toString('utf8'))) {
    const values = grouped.get(name);
    if (values) values.push(value);
    else grouped.set(name, [value]);
  }
  // fromEntries defines own properties: a parameter named `__proto__` stays a parameter.
  return Object.fromEntries([...grouped].map(([name, values]) => [name, values.length === 1 ? (values[0] ?? '') : values]));
}
