import { NsUsageError } from './errors.js';

/**
 * A tagged template for request paths: each interpolated value is percent-encoded as exactly one path
 * segment (`a/b` → `a%2Fb`, `?` and `#` encoded), so a value can never add a segment, a query or a
 * fragment. `*` stays literal (the default answer-rule time frame).
 *
 * Independently of this, the client refuses any resolved URL that is not below `baseUrl` (`/../x`
 * from a base with a path prefix is an `NsUsageError`), and redirects are not followed, so a request,
 * and its bearer token, cannot be steered to another path prefix or host.
 *
 * @throws `NsUsageError` for an empty value, `.` or `..`.
 * @example
 * ```ts
 * const { body } = await ns.request({ method: 'GET', path: nsPath`/ns-api/v2/domains/${domain}/users/${user}/answerrules` });
 * ```
 */
export function nsPath(strings: TemplateStringsArray, ...segments: string[]): string {
  let path = strings[0] ?? '';
  segments.forEach((segment, index) => {
    path += encodeSegment(segment) + (strings[index + 1] ?? '');
  });
  return path;
}

function encodeSegment(value: string): string {
  if (typeof value !== 'string' || value === '' || value === '.' || value === '..') {
    throw new NsUsageError(`Invalid path segment ${JSON.stringify(value)}: expected a non-empty name`);
  }
  // encodeURIComponent leaves `*` alone, which NetSapiens uses literally (the default answer-rule timeframe).
  return encodeURIComponent(value);
}

/**
 * Normalises the `baseUrl` option: an http(s) origin, optionally with a path prefix for a portal
 * served below one. Credentials, queries and fragments are refused rather than silently dropped.
 */
export function parseBaseUrl(baseUrl: string): URL {
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    throw new NsUsageError('baseUrl must be an absolute URL such as https://ucportal.example.net');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new NsUsageError('baseUrl must use http or https');
  }
  if (url.username || url.password) {
    throw new NsUsageError('baseUrl must not contain credentials: pass them in `auth`');
  }
  if (url.search || url.hash) {
    throw new NsUsageError('baseUrl must not contain a query or a fragment');
  }
  url.pathname = url.pathname.replace(/\/+$/, '');
  return url;
}

/** Joins the base URL and a path built by `nsPath`, and checks the result is still below the base. */
export function resolveUrl(base: URL, path: string, query?: Record<string, string>): URL {
  // A URL's pathname is never empty: a bare origin's is `/`, which must not double the path's own slash.
  const prefix = base.pathname.replace(/\/+$/, '');
  const url = new URL(base.href);
  url.pathname = prefix + path;
  // Compared with a trailing slash: base `/portal` must not admit `/portal-other` (from `/../portal-other`).
  const below = url.pathname === prefix || url.pathname.startsWith(`${prefix}/`);
  if (url.origin !== base.origin || !below) {
    throw new NsUsageError(`Refusing a request outside ${base.origin}`);
  }
  for (const [name, value] of Object.entries(query ?? {})) url.searchParams.set(name, value);
  return url;
}
