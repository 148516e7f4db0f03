import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/** Compares digests, so neither the content nor the length of the secret leaks through timing. */
export function secretMatches(given: string, expected: string): boolean {
  const digest = (value: string) => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(given), digest(expected));
}

/**
 * The key `/webresponder` URLs are signed with: `WEBRESPONDER_SECRET`, or one derived from
 * `UPDATE_SECRET` (never the forms' secret itself, which must not travel in a dial rule).
 */
export function webresponderKey(config: { updateSecret: string; webresponderSecret?: string | undefined }): string {
  return (
    config.webresponderSecret ?? createHmac('sha256', config.updateSecret).update('beckon webresponder URL key v1').digest('base64url')
  );
}

/**
 * The `sig` of an id's web-responder URL. Beckon writes the dial rule itself, so the URL is a capability:
 * NetSapiens sends it back as it was given; anyone else cannot make one for an id.
 */
export function webresponderSignature(key: string, id: string): string {
  return createHmac('sha256', key).update(`webresponder:${id}`).digest('base64url');
}
