import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';

/**
 * Webhook secrets at rest. Dialpad signs each delivery with the webhook's secret (HS256), so Beckon needs
 * the secret itself later, not a hash of it: it is sealed with AES-256-GCM under a key derived (HKDF-SHA256)
 * from `INTERNAL_API_SECRET`. That secret lives only in the environment, and is already required for the
 * admin routes that create webhooks, so there is no second key to provision or to lose; someone holding a
 * copy of the database alone reads no secret. Changing `INTERNAL_API_SECRET` makes the sealed secrets
 * unreadable: their webhooks must then be created again (docs/providers/dialpad.md says so).
 */
export interface SecretBox {
  /** `v1.<iv>.<tag>.<ciphertext>`, base64url parts. */
  seal(secret: string): string;
  /** The secret, or undefined when `sealed` was not sealed with this key (a changed INTERNAL_API_SECRET) or was altered. */
  open(sealed: string): string | undefined;
  /** HMAC-SHA256 of the secret under its own derived key: equal secrets, equal fingerprints; the secret cannot be read back. */
  fingerprint(secret: string): string;
}

const SALT = Buffer.from('beckon/dialpad/webhook-secrets');

export function createSecretBox(serverSecret: string): SecretBox {
  const derive = (info: string) => Buffer.from(hkdfSync('sha256', serverSecret, SALT, info, 32));
  const sealKey = derive('seal v1');
  const fingerprintKey = derive('fingerprint v1');
  return {
    seal(secret) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', sealKey, iv);
      const sealed = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
      return ['v1', iv, cipher.getAuthTag(), sealed]
        .map((part) => (typeof part === 'string' ? part : part.toString('base64url')))
        .join('.');
    },
    open(sealed) {
      const [version, iv, tag, data] = sealed.split('.');
      if (version !== 'v1' || iv === undefined || tag === undefined || data === undefined) return undefined;
      try {
        const decipher = createDecipheriv('aes-256-gcm', sealKey, Buffer.from(iv, 'base64url'));
        decipher.setAuthTag(Buffer.from(tag, 'base64url'));
        return Buffer.concat([decipher.update(Buffer.from(data, 'base64url')), decipher.final()]).toString('utf8');
      } catch {
        return undefined;
      }
    },
    fingerprint: (secret) => createHmac('sha256', fingerprintKey).update(secret, 'utf8').digest('hex'),
  };
}
