import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { ServerConfig } from '../config.js';
import { HttpError } from '../http-error.js';

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
  /** Distinct numbers per client address per hour; going over blocks the address (`blockDuration`). */
  visitorNumbers: RateLimiterAbstract;
  /** Remembers which numbers a client address submitted this hour (key `address|number`, one point). */
  visitorSeen: RateLimiterAbstract;
  /** One text per caller per id per window. */
  textBack: RateLimiterAbstract;
  /** Texts per id per hour, whoever the callers are. */
  idTexts: RateLimiterAbstract;
  /** `/webresponder` requests per client address per minute: the route is public. */
  webresponder: RateLimiterAbstract;
}

type LimitSettings = Pick<ServerConfig, 'limits' | 'textBackWindowSeconds'>;

/** Every limiter's options but its store: the one place the limits' shape is defined. */
export function limiterOptions(config: LimitSettings) {
  const { limits } = config;
  return {
    ip: { keyPrefix: 'ip', points: limits.ipPerMinute, duration: 60 },
    id: { keyPrefix: 'id', points: limits.idPerHour, duration: 3600 },
    number: { keyPrefix: 'number', points: limits.numberPerHour, duration: 3600 },
    visitorNumbers: {
      keyPrefix: 'visitor-numbers',
      points: limits.numbersPerVisitorPerHour,
      duration: 3600,
      blockDuration: limits.visitorBlockSeconds,
    },
    visitorSeen: { keyPrefix: 'visitor-seen', points: 1, duration: 3600 },
    textBack: { keyPrefix: 'text-back', points: 1, duration: config.textBackWindowSeconds },
    idTexts: { keyPrefix: 'id-texts', points: limits.textsPerIdPerHour, duration: 3600 },
    webresponder: { keyPrefix: 'webresponder', points: limits.webresponderPerMinute, duration: 60 },
  } satisfies Record<keyof Limits, object>;
}

/** The limits kept in this process's memory: right for one process, per-process with several. */
export function createMemoryLimits(config: LimitSettings): Limits {
  const options = limiterOptions(config);
  return {
    ip: new RateLimiterMemory(options.ip),
    id: new RateLimiterMemory(options.id),
    number: new RateLimiterMemory(options.number),
    visitorNumbers: new RateLimiterMemory(options.visitorNumbers),
    visitorSeen: new RateLimiterMemory(options.visitorSeen),
    textBack: new RateLimiterMemory(options.textBack),
    idTexts: new RateLimiterMemory(options.idTexts),
    webresponder: new RateLimiterMemory(options.webresponder),
  };
}

/**
 * The limits kept in Redis, shared by every instance. Each has an in-memory insurance limiter with the
 * same settings: while Redis is down, limits hold per process instead of failing requests.
 */
export function createRedisLimits(config: LimitSettings, redis: Redis, prefix = 'beckon:'): Limits {
  const options = limiterOptions(config);
  const shared = <K extends keyof Limits>(name: K) =>
    new RateLimiterRedis({
      ...options[name],
      keyPrefix: `${prefix}limit:${options[name].keyPrefix}`,
      storeClient: redis,
      // Do not wait for a reconnect: go straight to the insurance limiter.
      rejectIfRedisNotReady: true,
      insuranceLimiter: new RateLimiterMemory(options[name]),
    });
  return {
    ip: shared('ip'),
    id: shared('id'),
    number: shared('number'),
    visitorNumbers: shared('visitorNumbers'),
    visitorSeen: shared('visitorSeen'),
    textBack: shared('textBack'),
    idTexts: shared('idTexts'),
    webresponder: shared('webresponder'),
  };
}

/**
 * Refuses a client address that submitted more distinct numbers this hour than allowed, for the block
 * time, whichever number it sends next (someone cycling through other people's numbers). Repeating one
 * number does not count against it; the per-number limit covers that.
 */
export async function checkVisitorNumbers(limits: Limits, visitor: string, e164: string, message: string): Promise<void> {
  const blocked = await limits.visitorNumbers.get(visitor);
  if (blocked && blocked.consumedPoints > limits.visitorNumbers.points) throw tooMany(blocked, message);
  // The first submission of this number in the hour takes the one point; later ones are refused by it.
  if (await tryConsume(limits.visitorSeen, `${visitor}|${e164}`)) await consume(limits.visitorNumbers, visitor, message);
}

function tooMany(result: RateLimiterRes, message: string): HttpError {
  const seconds = Math.max(1, Math.ceil(result.msBeforeNext / 1000));
  return new HttpError(429, message, { headers: { 'Retry-After': String(seconds) }, code: 'rate_limited' });
}

/** Takes one point, or throws a 429 with `Retry-After` (whole seconds) and the given message. */
export async function consume(limiter: RateLimiterAbstract, key: string, message: string): Promise<void> {
  try {
    await limiter.consume(key);
  } catch (rejection) {
    // The limiter rejects with a RateLimiterRes when the key is over its limit, and with an Error when its store fails.
    if (!(rejection instanceof RateLimiterRes)) throw rejection;
    throw tooMany(rejection, message);
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

/** True when the key has no point left this window; reads without taking one (and without creating state). */
export async function usedUp(limiter: RateLimiterAbstract, key: string): Promise<boolean> {
  const result = await limiter.get(key);
  return result !== null && result.remainingPoints <= 0;
}

/**
 * The address a client connected from, without the port a proxy may have written with it into
 * `X-Forwarded-For` (`203.0.113.7:51234`, `[2001:db8::1]:443`): keyed with its port, one client would
 * get a fresh limit for every connection.
 */
export function clientAddress(ip: string): string {
  const v4 = /^(\d{1,3}(?:\.\d{1,3}){3}):\d{1,5}$/.exec(ip);
  if (v4?.[1]) return v4[1];
  const bracketed = /^\[([0-9A-Fa-f:.]+(?:%[\w.-]+)?)\](?::\d{1,5})?$/.exec(ip);
  if (bracketed?.[1]) return bracketed[1];
  return ip;
}

/**
 * The key a client address is limited under. An IPv6 host usually holds a whole /64 and can rotate
 * through it at will, so IPv6 addresses count per /64; an IPv4-mapped address (`::ffff:1.2.3.4`) is
 * its IPv4 address.
 */
export function clientKey(ip: string): string {
  const address = clientAddress(ip).replace(/%.*$/, '').toLowerCase();
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/.exec(address);
  if (mapped?.[1]) return mapped[1];
  if (!address.includes(':')) return address;
  const [head = '', tail] = address.split('::');
  const front = head ? head.split(':') : [];
  const back = tail ? tail.split(':') : [];
  const groups = tail === undefined ? front : [...front, ...Array<string>(Math.max(0, 8 - front.length - back.length)).fill('0'), ...back];
  return `${groups
    .slice(0, 4)
    .map((group) => Number.parseInt(group || '0', 16).toString(16))
    .join(':')}::/64`;
}
