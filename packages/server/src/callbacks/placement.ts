import { NsNetworkError, NsServerError } from '@beckon/ns-client';
import { isLocalOnly } from '../config.js';
import type { ServerDeps } from '../deps.js';
import { TwilioError } from '../providers/twilio/client.js';
import { twilioClickToCall } from '../providers/twilio/originate.js';
import type { TenantConfig } from '../tenants/schema.js';

/** A call placed: what the log says of it, and the provider's id of it (Twilio's CallSid; NetSapiens gives none). */
export interface Placed {
  log: Record<string, string>;
  providerCallSid?: string;
}

/** How an id's calls are placed, and what the log says of one (numbers masked). */
export interface CallPlacement {
  /** The provider whose call events tell how the call goes (`netsapiens`, `twilio`). */
  provider: string;
  /** `queued call`, `twilio call`. */
  kind: string;
  /**
   * Places `id`'s call to the visitor's number (E.164), once: never retried here. What to log of it, and
   * the provider's id of the call when it gives one (kept with the callback for its status callbacks).
   */
  place(visitor: string, id: string): Promise<Placed>;
  /** What to log of a failure. */
  failure(error: unknown): Record<string, unknown>;
}

/**
 * How `tenant`'s click-to-call is placed: NetSapiens calls the visitor into the id's `queue`; with
 * `provider: "twilio"`, Twilio rings the business's phone first and bridges the visitor when it answers.
 * `not_configured` when the id has nothing to call into, `unavailable` when its provider is not set up
 * on this server. The one path for calls placed at once and for booked ones.
 */
export function placementFor(
  deps: Pick<ServerDeps, 'ns' | 'twilio'> & { config?: Pick<ServerDeps['config'], 'publicUrl' | 'twilio'> },
  tenant: TenantConfig,
): CallPlacement | 'not_configured' | 'unavailable' {
  if (tenant.provider === 'twilio') {
    if (!tenant.twilio) return 'not_configured';
    return deps.twilio
      ? { provider: 'twilio', ...twilioClickToCall(deps.twilio, tenant.twilio, statusUrlBase(deps.config)) }
      : 'unavailable';
  }
  const { queue, api_domain: domain } = tenant;
  if (!queue) return 'not_configured';
  return {
    provider: 'netsapiens',
    kind: 'queued call',
    place: async (destination) => {
      await deps.ns.queuedCalls.create({ queue, domain, destination });
      return { log: {} };
    },
    failure: (error) => ({ err: error }),
  };
}

/**
 * The public address Twilio's status callbacks go to, or none when Twilio could not reach it: the
 * server's address is this machine's only (no `PUBLIC_URL`) while Twilio is not on this machine (as
 * `/update-sms` refuses to give NetSapiens a local address). A stand-in on this machine reaches it.
 */
function statusUrlBase(config: Pick<ServerDeps['config'], 'publicUrl' | 'twilio'> | undefined): string | undefined {
  if (!config) return undefined;
  const { publicUrl, twilio } = config;
  return isLocalOnly(publicUrl) && !(twilio && isLocalOnly(twilio.apiBase)) ? undefined : publicUrl;
}

/**
 * Whether `tenant` takes bookings here: a database to keep them, an id that can place calls, and
 * `scheduled_callbacks` not false. What `/widget-config` says as `scheduling`.
 */
export function schedulingAllowed(deps: Pick<ServerDeps, 'db' | 'ns' | 'twilio'>, tenant: TenantConfig): boolean {
  return deps.db !== undefined && tenant.scheduled_callbacks !== false && typeof placementFor(deps, tenant) !== 'string';
}

/** Connection failures that show the request was never sent: trying again cannot call anyone twice. */
const NOT_SENT = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

/**
 * Whether a failed placement of a booking may be tried once more: the provider answered 5xx (it says it
 * did not do it), or the connection was never made. A 4xx is final (trying again gets the same answer);
 * a timeout or a connection cut after the request went out may have been carried out, and a visitor
 * called twice is worse than one told the call failed.
 */
export function placementRetryable(error: unknown): boolean {
  if (error instanceof NsServerError) return true;
  if (error instanceof NsNetworkError) return error.code !== undefined && NOT_SENT.has(error.code);
  if (error instanceof TwilioError) return error.status !== undefined && error.status >= 500;
  return false;
}
