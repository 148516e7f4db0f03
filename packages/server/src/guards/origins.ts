import type { TenantConfig } from '../tenants/schema.js';

/**
 * An id listing `allowed_origins` is served only to pages on those origins. Browsers always send
 * `Origin` on a cross-origin POST, so a missing one is refused too. (A non-browser client can forge
 * the header: this keeps other sites from embedding a widget, the limits keep scripts in check.)
 */
export function originAllowed(tenant: Pick<TenantConfig, 'allowed_origins'>, origin: string | undefined): boolean {
  const allowed = tenant.allowed_origins;
  if (!allowed || allowed.length === 0) return true;
  return origin !== undefined && allowed.includes(origin);
}
