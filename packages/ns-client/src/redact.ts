/**
 * Takes credentials out of text NetSapiens (or a proxy in front of it) sent back, before that text
 * reaches an error, a log line or a form reply. An error body can echo the request — its headers, a
 * posted password — and what looks like one is cut whether or not it is this client's.
 */

export const REDACTED = '[redacted]';

/** Field names whose values are credentials: `access_token`, `client_secret`, `apikey`, `password`… */
const SECRET_NAME = /(?:token|secret|passw(?:or)?d|passcode|api[-_]?key|authorization)/i;

/** `Bearer …` and `Basic …` as in an Authorization header. */
const SCHEME_CREDENTIAL = /\b(Bearer|Basic)(\s+)([A-Za-z0-9._~+/=-]+)/gi;
/** What follows `Basic` or `Bearer` in prose (`Basic User`, `Bearer token`), not a credential. */
const PLAIN_WORD = /^[A-Za-z][a-z]*$/;
/**
 * `name=value`, `name: value` and `"name": "value"`, for secret-looking names. A value that is a
 * `Bearer …`/`Basic …` pair is left to SCHEME_CREDENTIAL, which has already cut its credential.
 */
const NAMED_CREDENTIAL = new RegExp(
  `(["']?)([\\w-]*${SECRET_NAME.source}[\\w-]*)\\1(\\s*[:=]\\s*)(?!(?:Bearer|Basic)\\s|\\[redacted\\])("(?:[^"\\\\]|\\\\.)*"|'[^']*'|[^\\s&,;"'}\\]]+)`,
  'gi',
);
/** A JSON Web Token: three base64url parts, the first starting `eyJ` (`{"`). */
const JWT = /\beyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/g;
/** Runs of base64, base64url or hex characters long enough to be a key or a token. */
const LONG_RUN = /[A-Za-z0-9_+/=-]{32,}/g;

/**
 * A long run is opaque (a token, not a word) when it mixes letters and digits. With a `/` it could be
 * a path, so it must also mix upper and lower case, as base64 does and NetSapiens' paths do not.
 */
function isOpaque(run: string): boolean {
  const letters = /[A-Za-z]/.test(run);
  const digits = /[0-9]/.test(run);
  if (!run.includes('/')) return letters && digits;
  return digits && /[a-z]/.test(run) && /[A-Z]/.test(run);
}

export function redactSecrets(text: string): string {
  return (
    text
      .replace(SCHEME_CREDENTIAL, (match, scheme: string, space: string, credential: string) =>
        PLAIN_WORD.test(credential) ? match : `${scheme}${space}${REDACTED}`,
      )
      // A quoted value stays quoted, so that redacted JSON is still JSON.
      .replace(NAMED_CREDENTIAL, (_match, quote: string, name: string, separator: string, value: string) => {
        const valueQuote = value.startsWith('"') ? '"' : '';
        return `${quote}${name}${quote}${separator}${valueQuote}${REDACTED}${valueQuote}`;
      })
      .replace(JWT, REDACTED)
      .replace(LONG_RUN, (run) => (isOpaque(run) ? REDACTED : run))
  );
}

/** The same for parsed JSON: values under secret-looking names go whole, other strings are scrubbed. */
export function redactJson(value: unknown): unknown {
  if (typeof value === 'string') return redactSecrets(value);
  if (Array.isArray(value)) return value.map(redactJson);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(Object.entries(value).map(([name, item]) => [name, SECRET_NAME.test(name) ? REDACTED : redactJson(item)]));
}
