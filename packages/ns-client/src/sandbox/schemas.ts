/**
 * The request-body rules of the routes the sandbox serves, kept as data so that a script can compare
 * them with NetSapiens' OpenAPI file (whose v2 paths are relative to `/ns-api/v2`).
 */

export type FieldType = 'string' | 'number' | 'boolean' | 'object' | 'array' | 'string|string[]';

export interface FieldRule {
  readonly type: FieldType;
  readonly enum?: readonly string[];
  /**
   * A RegExp source every string value must match. Not in the OpenAPI file: these are the formats
   * NetSapiens documents in prose (E.164 for the legacy API, bare digits for v2).
   */
  readonly pattern?: string;
  /** What `pattern` means, for the 400 message. */
  readonly patternHint?: string;
  /** For `object` fields: the nested rules (answer-rule features). */
  readonly required?: readonly string[];
  readonly properties?: Readonly<Record<string, FieldRule>>;
}

export interface BodySchema {
  /** The OpenAPI operations describing this body; empty for the legacy API, which has no spec. */
  readonly openapi: readonly { readonly method: string; readonly path: string }[];
  readonly required: readonly string[];
  /** Fields not listed here are not checked: NetSapiens ignores unknown fields. */
  readonly properties: Readonly<Record<string, FieldRule>>;
}

const YES_NO = ['yes', 'no'] as const;

export const USER_SCOPES = [
  'Basic User',
  'Simple User',
  'Advanced User',
  'Call Center Agent',
  'Site Manager',
  'Call Center Supervisor',
  'Office Manager',
  'Reseller',
  'Super User',
  'NDP',
  'No Portal',
] as const;

const E164: FieldRule = {
  type: 'string',
  pattern: '^\\+[0-9]{8,15}$',
  patternHint: 'must be E.164 (+ and 8 to 15 digits)',
};
const NUMBER_DIGITS: FieldRule = {
  type: 'string',
  pattern: '^[0-9]{8,15}$',
  patternHint: 'must be 8 to 15 digits with the country code and no +',
};
const SMS_DIGITS = { pattern: '^[0-9]+$', patternHint: 'must be digits with the country code and no +' } as const;

const FEATURE: FieldRule = {
  type: 'object',
  required: ['enabled'],
  properties: { enabled: { type: 'string', enum: YES_NO }, parameters: { type: 'array' } },
};

const ANSWER_RULE_FEATURES = {
  'simultaneous-ring': FEATURE,
  'do-not-disturb': FEATURE,
  'forward-always': FEATURE,
  'forward-on-active': FEATURE,
  'forward-on-busy': FEATURE,
  'forward-no-answer': FEATURE,
  'forward-when-unregistered': FEATURE,
  'forward-on-dnd': FEATURE,
  'forward-on-spam-call': FEATURE,
  'call-screening': FEATURE,
  'phone-numbers-to-allow': FEATURE,
  'phone-numbers-to-reject': FEATURE,
} as const;

// `dial-rule-application` has an enum in the spec, but clusters also take a raw responder such as
// `sip:0@Web-Main` (the "To Web" application), so it is checked as a plain string.
const SCHEMES = ['[*]', 'sip:', '<Null>'] as const;

/** What a PUT may change: everything but the match fields, which make up the rule's id. */
const DIAL_RULE_TRANSLATION = {
  enabled: { type: 'string', enum: YES_NO },
  'dial-rule-application': { type: 'string' },
  'dial-rule-parameter': { type: 'string' },
  'dial-rule-translation-destination-scheme': { type: 'string', enum: SCHEMES },
  'dial-rule-translation-destination-user': { type: 'string' },
  'dial-rule-translation-destination-host': { type: 'string' },
  'dial-rule-translation-source-name': { type: 'string' },
  'dial-rule-translation-source-scheme': { type: 'string', enum: SCHEMES },
  'dial-rule-translation-source-user': { type: 'string' },
  'dial-rule-translation-source-host': { type: 'string' },
  'dial-rule-description': { type: 'string' },
} as const satisfies Record<string, FieldRule>;

/** NetSapiens' event models, as the spec lists them. */
export const SUBSCRIPTION_MODELS = [
  'agent',
  'auditlog',
  'auditlog_lite',
  'call',
  'call_origid',
  'cdr',
  'message',
  'messagesession',
  'subscriber',
  'presence',
  'voicemail',
] as const;

/** `subscription-expires-datetime`: the spec's prose gives `YYYY-MM-DD HH:MM:SS`. */
const NS_DATE_TIME: FieldRule = {
  type: 'string',
  pattern: '^\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}:\\d{2}$',
  patternHint: 'must be YYYY-MM-DD HH:MM:SS',
};

/** What a PUT may change (besides the counters); `model` and `post-url` are checked again by the route. */
const SUBSCRIPTION_FIELDS = {
  model: { type: 'string', enum: SUBSCRIPTION_MODELS },
  'post-url': { type: 'string' },
  'subscription-geo-support': { type: 'string', enum: YES_NO },
  'subscription-expires-datetime': NS_DATE_TIME,
  'preferred-server': { type: 'string' },
} as const satisfies Record<string, FieldRule>;

const DIAL_RULE_FIELDS = {
  ...DIAL_RULE_TRANSLATION,
  'dial-rule-matching-from-uri': { type: 'string' },
  'dial-rule-matching-day-of-week': { type: 'string' },
  'dial-rule-matching-start-date': { type: 'string' },
  'dial-rule-matching-end-date': { type: 'string' },
  'dial-rule-matching-start-time': { type: 'string' },
  'dial-rule-matching-end-time': { type: 'string' },
} as const satisfies Record<string, FieldRule>;

export const BODY_SCHEMAS = {
  'tokens.password': {
    // The spec's `/tokens` lists the MFA fields as required too: they belong to the `mfa` grant only.
    openapi: [{ method: 'post', path: '/tokens' }],
    required: ['grant_type', 'client_id', 'client_secret', 'username', 'password'],
    properties: {
      grant_type: { type: 'string', enum: ['password'] },
      client_id: { type: 'string' },
      client_secret: { type: 'string' },
      username: { type: 'string' },
      password: { type: 'string' },
    },
  },
  'tokens.refresh_token': {
    openapi: [{ method: 'post', path: '/tokens#1' }],
    required: ['grant_type', 'client_id', 'client_secret', 'refresh_token'],
    properties: {
      grant_type: { type: 'string', enum: ['refresh_token'] },
      client_id: { type: 'string' },
      client_secret: { type: 'string' },
      refresh_token: { type: 'string' },
    },
  },
  'queuedcall.create': {
    openapi: [],
    required: ['format', 'uid', 'queue', 'destination'],
    properties: { format: { type: 'string' }, uid: { type: 'string' }, queue: { type: 'string' }, destination: E164 },
  },
  'queuedcall.createV2': {
    openapi: [{ method: 'post', path: '/domains/{domain}/queuedcall/{callqueue}' }],
    required: ['destination'],
    properties: { destination: NUMBER_DIGITS },
  },
  'messages.send': {
    openapi: [
      { method: 'post', path: '/domains/{domain}/users/{user}/messagesessions/{messagesession}/messages' },
      { method: 'post', path: '/domains/{domain}/users/{user}/messages' },
    ],
    required: ['type', 'message', 'destination'],
    properties: {
      type: { type: 'string' },
      message: { type: 'string' },
      destination: { type: 'string|string[]', ...SMS_DIGITS },
      'from-number': { type: 'string', ...SMS_DIGITS },
    },
  },
  'users.create': {
    openapi: [{ method: 'post', path: '/domains/{domain}/users' }],
    required: ['user', 'name-first-name', 'name-last-name', 'email-address', 'user-scope'],
    properties: {
      synchronous: { type: 'string', enum: YES_NO },
      user: { type: 'string' },
      'name-first-name': { type: 'string' },
      'name-last-name': { type: 'string' },
      'login-username': { type: 'string' },
      'email-address': { type: 'string' },
      'user-scope': { type: 'string', enum: USER_SCOPES },
      department: { type: 'string' },
      site: { type: 'string' },
      'dial-plan': { type: 'string' },
      'dial-policy': { type: 'string' },
      'caller-id-number': { type: 'string' },
      'caller-id-name': { type: 'string' },
      'service-code': { type: 'string' },
    },
  },
  'dialrules.create': {
    openapi: [{ method: 'post', path: '/domains/{domain}/dialplans/{dialplan}/dialrules' }],
    required: ['synchronous', 'dial-rule-matching-to-uri', 'dial-rule-translation-destination-user'],
    properties: { synchronous: { type: 'string', enum: YES_NO }, 'dial-rule-matching-to-uri': { type: 'string' }, ...DIAL_RULE_FIELDS },
  },
  'dialrules.update': {
    // As the spec says: the id again in the body, and the destination user even when it does not change.
    openapi: [{ method: 'put', path: '/domains/{domain}/dialplans/{dialplan}/dialrules/{dialrule}' }],
    required: ['dialrule', 'dial-rule-translation-destination-user'],
    properties: { dialrule: { type: 'string' }, ...DIAL_RULE_TRANSLATION },
  },
  'answerrules.create': {
    // The spec lists the read-only `is-active` as required: a spec bug, so it is not.
    openapi: [{ method: 'post', path: '/domains/{domain}/users/{user}/answerrules' }],
    required: ['synchronous', 'time-frame', 'enabled'],
    properties: {
      synchronous: { type: 'string', enum: YES_NO },
      'time-frame': { type: 'string' },
      enabled: { type: 'string', enum: YES_NO },
      'new-position': { type: 'string', enum: ['top', 'bottom'] },
      ...ANSWER_RULE_FEATURES,
    },
  },
  'answerrules.update': {
    openapi: [{ method: 'put', path: '/domains/{domain}/users/{user}/answerrules/{timeframe}' }],
    required: ['enabled'],
    properties: {
      enabled: { type: 'string', enum: YES_NO },
      'new-position': { type: 'string', enum: ['top', 'bottom'] },
      ...ANSWER_RULE_FEATURES,
    },
  },
  'subscriptions.create': {
    // The spec marks no field required; a subscription without `model` or `post-url` is refused by
    // the route all the same, since it could never send anything.
    openapi: [{ method: 'post', path: '/subscriptions' }],
    required: [],
    properties: { ...SUBSCRIPTION_FIELDS, domain: { type: 'string' }, user: { type: 'string' }, reseller: { type: 'string' } },
  },
  'subscriptions.update': {
    openapi: [{ method: 'put', path: '/subscriptions/{id}' }],
    required: [],
    // The counters can only be reset: the route refuses any value but 0.
    properties: { ...SUBSCRIPTION_FIELDS, 'error-count': { type: 'number' }, 'posts-count': { type: 'number' } },
  },
  'subscriptions.delete': {
    openapi: [{ method: 'delete', path: '/subscriptions/{id}' }],
    required: ['subscription_id'],
    properties: { subscription_id: { type: 'string' }, domain: { type: 'string' } },
  },
} as const satisfies Record<string, BodySchema>;

export type SchemaName = keyof typeof BODY_SCHEMAS;

function isMissing(value: unknown): boolean {
  if (value === undefined || value === null) return true;
  if (typeof value === 'string') return value.trim() === '';
  return Array.isArray(value) && value.length === 0;
}

/** A JSON object: not null, not an array. The sandbox's one check for it. */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Each field type: how a 400 names it, and the test a value must pass. */
const TYPES: Record<FieldType, readonly [name: string, test: (value: unknown) => boolean]> = {
  string: ['a string', (value) => typeof value === 'string'],
  number: ['a number', (value) => typeof value === 'number' && Number.isFinite(value)],
  boolean: ['a boolean', (value) => typeof value === 'boolean'],
  object: ['an object', isRecord],
  array: ['an array', Array.isArray],
  'string|string[]': [
    'a string or an array of strings',
    (value) => typeof value === 'string' || (Array.isArray(value) && value.every((item) => typeof item === 'string')),
  ],
};

function checkFields(
  body: Record<string, unknown>,
  required: readonly string[],
  properties: Readonly<Record<string, FieldRule>>,
  prefix: string,
): string | undefined {
  for (const field of required) {
    if (isMissing(body[field])) return `${prefix}${field} is required`;
  }
  for (const [field, rule] of Object.entries(properties)) {
    const value = body[field];
    if (value === undefined) continue;
    const name = prefix + field;
    const [typeName, hasType] = TYPES[rule.type];
    if (!hasType(value)) return `${name} must be ${typeName}`;
    const strings = typeof value === 'string' ? [value] : rule.type === 'string|string[]' ? (value as string[]) : [];
    for (const text of strings) {
      if (rule.enum && !rule.enum.includes(text)) return `${name} must be one of: ${rule.enum.join(', ')}`;
      if (rule.pattern && !new RegExp(rule.pattern).test(text)) return `${name} ${rule.patternHint ?? `must match ${rule.pattern}`}`;
    }
    if (rule.type === 'object' && (rule.required || rule.properties)) {
      const nested = checkFields(value as Record<string, unknown>, rule.required ?? [], rule.properties ?? {}, `${name}.`);
      if (nested) return nested;
    }
  }
  return undefined;
}

/** The first rule `body` breaks, as NetSapiens-style 400 text (`destination is required`), or undefined. */
export function validateBody(name: SchemaName, body: Record<string, unknown>): string | undefined {
  const schema: BodySchema = BODY_SCHEMAS[name];
  return checkFields(body, schema.required, schema.properties, '');
}
