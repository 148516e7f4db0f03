/**
 * What each kind of NetSapiens endpoint answers on success, as `NsRequest.expect` checks: each returns
 * what is wrong with a parsed 2xx body (`undefined` when empty), or `undefined` when it fits.
 */

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A v2 write: 202 `{code, message}`, 200 with the record (synchronous), `{}`, or nothing. */
export function writeReply(body: unknown): string | undefined {
  return body === undefined || isRecord(body) ? undefined : 'JSON that is not an object';
}

/** A read of one record: a JSON object. */
export function recordReply(body: unknown): string | undefined {
  if (body === undefined) return 'an empty body, not an object';
  return isRecord(body) ? undefined : 'JSON that is not an object';
}

/** A list read: a JSON array, `[]` when there is nothing. */
export function listReply(body: unknown): string | undefined {
  if (body === undefined) return 'an empty body, not a list';
  return Array.isArray(body) ? undefined : 'JSON that is not a list';
}
