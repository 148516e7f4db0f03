import type { Middleware } from 'koa';
import type { ServerDeps } from '../deps.js';

/**
 * `GET /health`: the process is up and serving. With Redis, or a PostgreSQL server (`DATABASE_URL`), their
 * state too: while one is down, or while the config in memory may lack changes made elsewhere
 * (`"config":"stale"`, until a full reload succeeds), this instance still serves what does not need it
 * (config from memory, limits per process), so the answer stays 200 and says `"degraded"` — a load
 * balancer keeps sending traffic, monitoring sees the problem. The embedded database lives in this
 * process: it is not reported.
 */
export function health(deps?: Pick<ServerDeps, 'redis' | 'tenants' | 'db'>): Middleware {
  return function health(ctx) {
    ctx.set('Cache-Control', 'no-store');
    const redis = deps?.redis && (deps.redis.ready() ? 'ok' : 'unavailable');
    const database = deps?.db?.engine === 'postgres' ? (deps.db.ready() ? 'ok' : 'unavailable') : undefined;
    const stale = deps?.redis !== undefined && deps.tenants.state?.() === 'stale';
    const ok = redis !== 'unavailable' && database !== 'unavailable' && !stale;
    ctx.body = {
      status: ok ? 'ok' : 'degraded',
      ...(redis && { redis }),
      ...(database && { database }),
      ...(stale && { config: 'stale' }),
    };
  };
}

/**
 * `GET /ready`: whether this instance should get traffic now — 200 `{"status":"ready"}`, or 503
 * `{"status":"unavailable", …}` naming what is missing: Redis (with `REDIS_URL`) or PostgreSQL (with
 * `DATABASE_URL`) unreachable, or the server shutting down (`"stopping":true`). Before the server is
 * wired every request, this one included, is a 503 already. `/health` stays 200 meanwhile: the process
 * is alive and should not be restarted for a dependency's outage.
 */
export function ready(deps: Pick<ServerDeps, 'redis' | 'db' | 'lifecycle'>): Middleware {
  return function ready(ctx) {
    ctx.set('Cache-Control', 'no-store');
    const redis = deps.redis && !deps.redis.ready() ? 'unavailable' : undefined;
    const database = deps.db?.engine === 'postgres' && !deps.db.ready() ? 'unavailable' : undefined;
    const stopping = deps.lifecycle?.stopping === true;
    if (!redis && !database && !stopping) {
      ctx.body = { status: 'ready' };
      return;
    }
    ctx.status = 503;
    ctx.set('Retry-After', '5');
    ctx.body = { status: 'unavailable', ...(redis && { redis }), ...(database && { database }), ...(stopping && { stopping }) };
  };
}
