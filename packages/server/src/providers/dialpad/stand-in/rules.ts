import { CALL_STATES } from '../admin.js';

/**
 * What the stand-in accepts, after Dialpad's OpenAPI description (dialpad/dialpad-python-sdk
 * `dialpad_api_spec.json`): `schemas.webhook.CreateWebhook`, `schemas.call_event_subscription.CreateCallEventSubscription`
 * and `schemas.sms_event_subscription.CreateSmsEventSubscription`. Each check returns the problem, or undefined.
 */

/** The call states a subscription may list: the current spec's enum, as Beckon's admin route checks them too. */
const CALL_STATE_SET: ReadonlySet<string> = new Set(CALL_STATES);

const TARGET_TYPES = new Set([
  'callcenter',
  'callrouter',
  'channel',
  'coachinggroup',
  'coachingteam',
  'department',
  'office',
  'room',
  'staffgroup',
  'unknown',
  'user',
]);

const SMS_DIRECTIONS = new Set(['all', 'inbound', 'outbound']);

type Body = Record<string, unknown>;

function isObject(value: unknown): value is Body {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** int64 fields: JSON integers (the spec's examples also show them as strings of digits). */
function isInt64(value: unknown): boolean {
  return (typeof value === 'number' && Number.isInteger(value)) || (typeof value === 'string' && /^-?\d{1,19}$/.test(value));
}

function optional(body: Body, field: string, check: (value: unknown) => boolean, what: string): string | undefined {
  const value = body[field];
  return value === undefined || value === null || check(value) ? undefined : `${field} must be ${what}`;
}

/** `POST /api/v2/webhooks`: `hook_url` (required), `secret` (single line). */
export function checkCreateWebhook(body: unknown): string | undefined {
  if (!isObject(body)) return 'The body must be a JSON object';
  if (typeof body.hook_url !== 'string' || body.hook_url === '') return 'hook_url is required';
  if (!URL.canParse(body.hook_url)) return 'hook_url must be a URL';
  return optional(body, 'secret', (value) => typeof value === 'string' && !/[\r\n]/.test(value), 'a single-line string');
}

function checkTarget(body: Body): string | undefined {
  return (
    optional(
      body,
      'target_type',
      (value) => typeof value === 'string' && TARGET_TYPES.has(value),
      `one of ${[...TARGET_TYPES].join(', ')}`,
    ) ??
    optional(body, 'target_id', isInt64, 'an integer') ??
    optional(body, 'enabled', (value) => typeof value === 'boolean', 'a boolean') ??
    optional(body, 'endpoint_id', isInt64, 'an integer (the webhook id)')
  );
}

/** `POST /api/v2/subscriptions/call`: `call_states` from the enum, `endpoint_id`, `enabled`, `group_calls_only`, target. */
export function checkCallSubscription(body: unknown): string | undefined {
  if (!isObject(body)) return 'The body must be a JSON object';
  const states = body.call_states;
  if (states !== undefined && states !== null) {
    if (!Array.isArray(states)) return 'call_states must be an array';
    const unknown = states.find((state) => typeof state !== 'string' || !CALL_STATE_SET.has(state));
    if (unknown !== undefined) return `call_states holds ${JSON.stringify(unknown)}, which is not a call state`;
  }
  return checkTarget(body) ?? optional(body, 'group_calls_only', (value) => typeof value === 'boolean', 'a boolean');
}

/** `POST /api/v2/subscriptions/sms`: `direction` (required, all|inbound|outbound), `include_internal`, `status`, `endpoint_id`, target. */
export function checkSmsSubscription(body: unknown): string | undefined {
  if (!isObject(body)) return 'The body must be a JSON object';
  if (typeof body.direction !== 'string' || !SMS_DIRECTIONS.has(body.direction)) return 'direction is required: all, inbound or outbound';
  return (
    checkTarget(body) ??
    optional(body, 'include_internal', (value) => typeof value === 'boolean', 'a boolean') ??
    optional(body, 'status', (value) => typeof value === 'boolean', 'a boolean')
  );
}
