/**
 * What RingCentral's API requires of the requests Beckon sends, and what it answers when one falls
 * short, so that a client tested against the stand-in meets the real thing.
 *
 * From RingCentral's OpenAPI description, ringcentral/ringcentral-api-docs `specs/ringcentral_openapi3.json`:
 * `createSubscription` (`POST /restapi/v1.0/subscription`: `required: [deliveryMode, eventFilters]`,
 * `deliveryMode.transportType` one of PubNub, WebHook, RC/APNS, RC/GCM, `address` mandatory for WebHook,
 * `expiresIn` an integer), `updateSubscription` (`PUT …/{subscriptionId}`: `required: [eventFilters]`),
 * `renewSubscription` (`POST …/{subscriptionId}/renew`, no body), `readSubscription`, `listSubscriptions`,
 * `deleteSubscription` (204), and `SubscriptionInfo` for the answers (`status`: Active, Suspended,
 * Blacklisted). The token endpoint (`POST /restapi/oauth/token`, form-encoded, HTTP Basic with the client
 * id and secret, `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=<JWT>` or a
 * `refresh_token` grant) is from the same repository's `docs/authentication/jwt-flow.md`; the WebHook
 * handshake (a POST with `Validation-Token` that must come back in a 200 within 3 s) and the errors
 * `SUB-520`/`SUB-525` from `docs/notifications/webhooks/creating-webhooks.md` and its troubleshooting page.
 */

/** RingCentral's REST error body. */
export interface RingCentralErrorBody {
  errorCode: string;
  message: string;
  errors: { errorCode: string; message: string; parameterName?: string }[];
}

export function rcError(errorCode: string, message: string, parameterName?: string): RingCentralErrorBody {
  return { errorCode, message, errors: [{ errorCode, message, ...(parameterName ? { parameterName } : {}) }] };
}

export const TRANSPORT_TYPES = ['PubNub', 'WebHook', 'RC/APNS', 'RC/GCM'] as const;
/** The spec's ceiling for a WebHook's `expiresIn` (20 years); other transports get 7 days. */
export const WEBHOOK_MAX_EXPIRES_IN = 630_720_000;
export const OTHER_MAX_EXPIRES_IN = 604_800;
/** What RingCentral grants when `expiresIn` is not given. */
export const DEFAULT_EXPIRES_IN = 604_800;
/** The handshake's deadline. */
export const HANDSHAKE_TIMEOUT_MS = 3_000;
export const JWT_GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

const isObject = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === 'object' && !Array.isArray(value);

/** The checks of `createSubscription`'s body: the error to answer, or the request as the stand-in keeps it. */
export function checkCreateSubscription(
  body: unknown,
):
  | { error: RingCentralErrorBody }
  | { eventFilters: string[]; transportType: string; address: string; verificationToken?: string; expiresIn?: number } {
  if (!isObject(body)) return { error: rcError('CMN-101', 'Parameter [body] value is invalid') };
  const filters = checkEventFilters(body.eventFilters);
  if ('error' in filters) return filters;
  const mode = body.deliveryMode;
  if (!isObject(mode)) return { error: rcError('CMN-100', 'Parameter [deliveryMode] is missing', 'deliveryMode') };
  const transportType = mode.transportType;
  if (typeof transportType !== 'string' || !(TRANSPORT_TYPES as readonly string[]).includes(transportType)) {
    return { error: rcError('CMN-101', 'Parameter [deliveryMode.transportType] value is invalid', 'deliveryMode.transportType') };
  }
  if (transportType !== 'WebHook')
    return { error: rcError('SUB-504', 'The stand-in delivers over WebHook only', 'deliveryMode.transportType') };
  if (typeof mode.address !== 'string' || !/^https?:\/\//i.test(mode.address) || !URL.canParse(mode.address)) {
    return { error: rcError('CMN-100', 'Parameter [deliveryMode.address] is missing or is not a URL', 'deliveryMode.address') };
  }
  if (mode.verificationToken !== undefined && typeof mode.verificationToken !== 'string') {
    return { error: rcError('CMN-101', 'Parameter [deliveryMode.verificationToken] value is invalid', 'deliveryMode.verificationToken') };
  }
  const expiresIn = checkExpiresIn(body.expiresIn, WEBHOOK_MAX_EXPIRES_IN);
  if (typeof expiresIn === 'object') return expiresIn;
  return {
    eventFilters: filters.eventFilters,
    transportType,
    address: mode.address,
    ...(typeof mode.verificationToken === 'string' ? { verificationToken: mode.verificationToken } : {}),
    ...(expiresIn !== undefined ? { expiresIn } : {}),
  };
}

/** `updateSubscription`'s body: `eventFilters` required, `expiresIn` optional. */
export function checkUpdateSubscription(body: unknown): { error: RingCentralErrorBody } | { eventFilters: string[]; expiresIn?: number } {
  if (!isObject(body)) return { error: rcError('CMN-101', 'Parameter [body] value is invalid') };
  const filters = checkEventFilters(body.eventFilters);
  if ('error' in filters) return filters;
  const expiresIn = checkExpiresIn(body.expiresIn, WEBHOOK_MAX_EXPIRES_IN);
  if (typeof expiresIn === 'object') return expiresIn;
  return { eventFilters: filters.eventFilters, ...(expiresIn !== undefined ? { expiresIn } : {}) };
}

function checkEventFilters(value: unknown): { error: RingCentralErrorBody } | { eventFilters: string[] } {
  if (!Array.isArray(value) || value.length === 0 || !value.every((item) => typeof item === 'string' && item.startsWith('/restapi/'))) {
    return { error: rcError('CMN-100', 'Parameter [eventFilters] is missing or holds no event filter URI', 'eventFilters') };
  }
  return { eventFilters: value as string[] };
}

function checkExpiresIn(value: unknown, max: number): { error: RingCentralErrorBody } | number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > max) {
    return { error: rcError('CMN-101', `Parameter [expiresIn] value is invalid: a whole number of seconds up to ${max}`, 'expiresIn') };
  }
  return value;
}
