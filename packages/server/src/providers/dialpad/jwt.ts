import { createHash } from 'node:crypto';
import { jwtVerify, type JWTPayload } from 'jose';

/** A compact JWS: three base64url parts. Anything else is refused before a key is tried. */
const COMPACT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/** Whether `token` has the shape of a signed compact JWT: what is not is refused before any secret is looked up. */
export function isCompactJwt(token: string): boolean {
  return COMPACT.test(token);
}

/** A secret a delivery may be signed with, and what it stands for (the webhook it belongs to). */
export interface Signer<T> {
  secret: string;
  owner: T;
}

/**
 * The payload of a Dialpad delivery and whose secret signed it, or undefined when none did. The
 * algorithm is pinned to HS256 (`alg: none`, HS512, RS256 and the rest are refused whatever the header
 * says, so a public key can never be used as an HMAC secret), the signature is checked by `jose` in
 * constant time, and `exp`/`nbf` are honoured when present (Dialpad documents neither). Signers are
 * tried in order; the first whose secret verifies wins.
 */
export async function verifyDialpadToken<T>(
  token: string,
  signers: readonly Signer<T>[],
): Promise<{ payload: JWTPayload; owner: T } | undefined> {
  if (!isCompactJwt(token)) return undefined;
  for (const signer of signers) {
    try {
      const { payload } = await jwtVerify(token, new TextEncoder().encode(signer.secret), { algorithms: ['HS256'] });
      return { payload, owner: signer.owner };
    } catch {
      // Not this secret (or not a token any secret verifies): try the next.
    }
  }
  return undefined;
}

/** The dedupe key of a delivery: the SHA-256 of the token as received, so a redelivery is stored once. */
export function tokenKey(token: string): string {
  return `jwt:${createHash('sha256').update(token, 'utf8').digest('hex')}`;
}
