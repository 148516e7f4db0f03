import type { Logger } from 'pino';

/** How a bot check ended: the visitor passed, failed, or the check itself could not be made. */
export type BotCheckResult = 'passed' | 'failed' | 'unavailable';

/** Verifies a token a page obtained from a challenge (Cloudflare Turnstile) for one visitor. */
export interface BotCheck {
  verify(token: string, remoteIp: string): Promise<BotCheckResult>;
}

export interface TurnstileOptions {
  secretKey: string;
  /** Cloudflare's siteverify endpoint, or a stand-in. */
  verifyUrl: string;
  logger: Logger;
  /** Siteverify usually answers in well under a second; a visitor is waiting. */
  timeoutMs?: number;
}

/** Siteverify answers a few hundred bytes: anything far larger is not Cloudflare, and is not buffered whole. */
const MAX_ANSWER_BYTES = 65_536;

/** The body as text, refusing (and cancelling) one longer than `limit` bytes. */
async function readCapped(response: Response, limit: number): Promise<string> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  if (response.body) {
    for await (const chunk of response.body) {
      size += chunk.byteLength;
      if (size > limit) {
        await response.body.cancel();
        throw new Error(`the answer is larger than ${limit} bytes`);
      }
      chunks.push(chunk);
    }
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Answers that mean our configuration is wrong, not the visitor: they must not read as "you failed". */
const OUR_FAULT = new Set(['missing-input-secret', 'invalid-input-secret', 'bad-request', 'internal-error']);

/**
 * Cloudflare Turnstile's server-side verification. Tokens are single-use and expire after 300 s, so
 * a token is never cached or retried; the secret travels only in the POST body, never in a URL or log.
 */
export function createTurnstileCheck(options: TurnstileOptions): BotCheck {
  const { secretKey, verifyUrl, logger, timeoutMs = 5_000 } = options;
  return {
    async verify(token, remoteIp) {
      let body: unknown;
      try {
        const response = await fetch(verifyUrl, {
          method: 'POST',
          body: new URLSearchParams({ secret: secretKey, response: token, remoteip: remoteIp }),
          signal: AbortSignal.timeout(timeoutMs),
          redirect: 'error',
        });
        if (!response.ok) {
          logger.error({ status: response.status }, 'Turnstile verification answered an error status');
          return 'unavailable';
        }
        body = JSON.parse(await readCapped(response, MAX_ANSWER_BYTES)) as unknown;
      } catch (error) {
        logger.error({ err: { name: (error as Error).name, message: (error as Error).message } }, 'Turnstile verification failed');
        return 'unavailable';
      }
      if (body === null || typeof body !== 'object') {
        logger.error('Turnstile verification answered something other than a JSON object');
        return 'unavailable';
      }
      const result = body as { success?: unknown; 'error-codes'?: unknown };
      if (result.success === true) return 'passed';
      const codes = Array.isArray(result['error-codes']) ? result['error-codes'].filter((code) => typeof code === 'string') : [];
      if (codes.some((code) => OUR_FAULT.has(code))) {
        logger.error({ codes }, 'Turnstile refused our verification request (check TURNSTILE_SECRET_KEY)');
        return 'unavailable';
      }
      logger.info({ codes }, 'bot check failed');
      return 'failed';
    },
  };
}
