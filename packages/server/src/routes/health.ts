import type { Middleware } from 'koa';
import type { ServerDeps } from '../deps.js';

/**
 * `GET /health`: the process is up and serving. With Redis, its state too: while Redis is down this
 * instance still serves (config from memory, limits per process), so the answer stays 200 and says
 * `"degraded"` — a load balancer keeps sending traffic, monitoring sees the outage.
 */
export function health(deps?: Pick<ServerDeps, 'redis'>): Middleware {
  return function health(ctx) {
    ctx.set('Cache-Control', 'no-store');
    const redis = deps?.redis;
    if (!redis) {
      ctx.body = { status: 'ok' };
      return;
    }
    const ready = redis.ready();
    ctx.body = { status: ready ? 'ok' : 'degraded', redis: ready ? 'ok' : 'unavailable' };
  };
}
