import type { ServerConfig } from '../../config.js';
import type { TenantConfig } from '../../tenants/schema.js';
import type { ConfigState } from '../../tenants/redis-store.js';
import type { TenantStore } from '../../tenants/store.js';

/** The id seed 003's one-number settings define. */
export const SINGLE_NUMBER_ID = 'twilio-default';

/**
 * Seed 003's setup (`TWILIO_PHONE_NUMBER` rings `USER_PHONE_NUMBER`, `TEXT_BACK_MESSAGE` for a missed
 * caller) as the id `twilio-default`, served beside the configured ids without a config entry. An entry
 * of that id in the config wins, so the shortcut can be grown out of without a restart's surprise.
 */
export function withSingleNumberId(
  store: TenantStore & { state?(): ConfigState },
  single: NonNullable<NonNullable<ServerConfig['twilio']>['single']>,
): TenantStore & { state?(): ConfigState } {
  const entry: TenantConfig = {
    twilio: { numbers: [single.number], forward_to: single.forwardTo, ...(single.textBack ? { text_back: single.textBack } : {}) },
  };
  const configured = () => store.get(SINGLE_NUMBER_ID) !== undefined;
  return {
    get: (id) => store.get(id) ?? (id === SINGLE_NUMBER_ID ? entry : undefined),
    ids: () => (configured() ? store.ids() : [...store.ids(), SINGLE_NUMBER_ID]),
    size: () => store.size() + (configured() ? 0 : 1),
    update: (id, change) => store.update(id, change),
    close: () => store.close(),
    ...(store.state ? { state: () => store.state!() } : {}),
  };
}
