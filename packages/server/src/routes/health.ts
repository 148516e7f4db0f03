import type { Middleware } from 'koa';
import type { ServerDeps } from '../deps.js';

/**
 * `GET /health`: the process is up and serving. With Redis, its state too: while Redis is down, or while
 * the config in memory may lack changes made elsewhere (`"config":"stale"`, until a full reload
 * succeeds), this instance still serves (config from memory, limits per process), so the answer stays 200
 * and says `"degraded"` — a load balancer keeps sending traffic, monitoring sees the problem.
 */
export function health(deps?: Pick<ServerDeps, 'redis' | 'tenants'>): Middleware {
  return function health(ctx) {
    ctx.set('Cache-Control', 'no-store');
    if (!deps?.redis) {
      ctx.body = { status: 'ok' };
      return;
    }
    const ready = deps.redis.ready();
    const stale = deps.tenants.state?.() === 'stale';
    ctx.body = { status: ready && !stale ? 'ok' : 'degraded', redis: ready ? 'ok' : 'unavailable', ...(stale && { config: 'stale' }) };
  };
}
