import type { Middleware } from 'koa';
import type { AppState } from '../context.js';
import { secretMatches } from '../guards/secrets.js';
import { HttpError } from '../http-error.js';

const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i;

/**
 * Guards an admin route (`/internal/*`): the request must carry `Authorization: Bearer <INTERNAL_API_SECRET>`.
 * Refused with a 401 that does not say whether the header was missing, malformed or wrong; compared in
 * constant time. Without a secret the route answers 404 as an unknown path does: `addRoutes` does not
 * even mount `/internal` then, and this is the same answer should it be mounted anyway. Runs before the
 * body is read, so an unauthenticated request costs no parsing.
 */
export function requireInternalSecret(secret: string | undefined): Middleware<AppState> {
  return requireBearer(secret, { variable: 'INTERNAL_API_SECRET', what: 'the internal API secret', realm: 'beckon-internal' });
}

/** `requireInternalSecret`'s check for any route behind a bearer secret set in `variable` (`/metrics` and `METRICS_TOKEN`). */
export function requireBearer(secret: string | undefined, names: { variable: string; what: string; realm: string }): Middleware<AppState> {
  return async function requireBearer(ctx, next) {
    if (!secret) throw new HttpError(404, `There is no ${ctx.method} ${ctx.path} here`);
    const given = BEARER.exec(ctx.get('Authorization'))?.[1] ?? '';
    if (!secretMatches(given, secret)) {
      throw new HttpError(401, `Send ${names.what} as Authorization: Bearer <${names.variable}>.`, {
        headers: { 'WWW-Authenticate': `Bearer realm="${names.realm}"` },
      });
    }
    await next();
  };
}
