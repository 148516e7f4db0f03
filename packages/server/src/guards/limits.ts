import { RateLimiterMemory, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { ServerConfig } from '../config.js';
import { ApiError } from '../middleware/errors.js';

/**
 * The counters that stand between a public form and a phone system. Each is a rate-limiter-flexible
 * limiter, so a shared store (Redis) can replace the in-memory one without touching the routes.
 */
export interface Limits {
  /** Click-to-call requests per client address per minute. */
  ip: RateLimiterAbstract;
  /** Click-to-call requests per id per hour: caps what one widget can cost. */
  id: RateLimiterAbstract;
  /** Callbacks to one number per hour, across every id: stops call bombing. */
  number: RateLimiterAbstract;
  /** One text per caller per id per window. */
  textBack: RateLimiterAbstract;
}

export function createMemoryLimits(config: Pick<ServerConfig, 'limits' | 'textBackWindowSeconds'>): Limits {
  return {
    ip: new RateLimiterMemory({ keyPrefix: 'ip', points: config.limits.ipPerMinute, duration: 60 }),
    id: new RateLimiterMemory({ keyPrefix: 'id', points: config.limits.idPerHour, duration: 3600 }),
    number: new RateLimiterMemory({ keyPrefix: 'number', points: config.limits.numberPerHour, duration: 3600 }),
    textBack: new RateLimiterMemory({ keyPrefix: 'text-back', points: 1, duration: config.textBackWindowSeconds }),
  };
}

/** Takes one point, or throws a 429 with `Retry-After` (whole seconds) and the given message. */
export async function consume(limiter: RateLimiterAbstract, key: string, message: string): Promise<void> {
  try {
    await limiter.consume(key);
  } catch (rejection) {
    // The limiter rejects with a RateLimiterRes when the key is over its limit, and with an Error when its store fails.
    if (!(rejection instanceof RateLimiterRes)) throw rejection;
    const seconds = Math.max(1, Math.ceil(rejection.msBeforeNext / 1000));
    throw new ApiError(429, message, { 'Retry-After': String(seconds) });
  }
}

/** True when the key still had a point (and takes it); false when it is used up. */
export async function tryConsume(limiter: RateLimiterAbstract, key: string): Promise<boolean> {
  try {
    await limiter.consume(key);
    return true;
  } catch (rejection) {
    if (rejection instanceof RateLimiterRes) return false;
    throw rejection;
  }
}
