import { z } from 'zod';
import { openingHoursSchema, type OpeningHours } from '../hours/schema.js';

/** The button's look, as the click-to-call form sets it. */
export interface Branding {
  button_text?: string;
  /** `#rrggbb`. */
  button_color?: string;
  company_name?: string;
  /** An http(s) URL, or empty for none. */
  logo_url?: string;
}

/**
 * One entry of `domains.json`, keyed by its `id` (`<api_domain>-<suffix>`). Field names are the running
 * service's, so existing files keep working; fields Beckon does not know are kept as they are.
 */
export interface TenantConfig {
  /** The NetSapiens domain: required for every id but a Twilio one (with `twilio`). */
  api_domain?: string;
  /**
   * Twilio: the numbers of the account that belong to this id (its calls are found by `To`), the phone
   * they ring, how long, and the missed-call text; see docs/providers/twilio.md.
   */
  twilio?: TwilioSettings;
  /**
   * Who places the id's click-to-call: `netsapiens` (absent means it too) calls the visitor into `queue`;
   * `twilio` rings `twilio.forward_to` first and bridges the visitor when it answers (needs `twilio`).
   */
  provider?: 'netsapiens' | 'twilio';
  /** Click-to-call: the call queue, `EXT@DOMAIN`. */
  queue?: string;
  branding?: Branding;
  /** SMS text-back: the owner of `from_number`. */
  user?: string;
  /** SMS text-back: the system user inbound calls route through (`webresponder{ns_system_user}`). */
  ns_system_user?: string;
  /** SMS text-back: the number texts come from, digits with country code. */
  from_number?: string;
  /** SMS text-back: what callers are texted. */
  message?: string;
  /** Pages allowed to use the widget (`https://www.example.com`); absent means any. */
  allowed_origins?: string[];
  /** ISO 3166 countries whose numbers may be called back; default: the US and its NANP territories, and Canada. */
  allowed_countries?: string[];
  /** Click-to-call requires a Cloudflare Turnstile token (`turnstile_token`), verified with `TURNSTILE_SECRET_KEY`. */
  require_turnstile?: boolean;
  /**
   * Set by `/update-sms` once NetSapiens holds this id's signed web-responder URL: from then on
   * `/webresponder` refuses requests for the id without a valid `sig`.
   */
  webresponder_signed?: boolean;
  /**
   * Customers: an http(s) URL asked for the caller of a call no stored customer matched, as
   * `GET <url>?phone=+18135551234` (1 s timeout, answers cached); see docs/call-events.md.
   */
  customer_lookup_url?: string;
  /**
   * Receivers of every call event of this id, POSTed as JSON and signed as Standard Webhooks says
   * (`webhook-id`, `webhook-timestamp`, `webhook-signature`); see docs/call-events.md.
   */
  event_webhooks?: { url: string; secret: string }[];
  /** When click-to-call is open, in the id's zone; absent means always. See docs/hours.md. */
  hours?: OpeningHours;
  /**
   * Whether visitors may book a callback for later (`POST /click-to-call` with `scheduled_at`); absent
   * means yes for an id that can place calls. See docs/callbacks.md.
   */
  scheduled_callbacks?: boolean;
  [field: string]: unknown;
}

/** An id's Twilio settings (`twilio` in its config). */
export interface TwilioSettings {
  /** The account's numbers callers dial for this id, E.164. */
  numbers: string[];
  /** The phone a call rings, E.164 (the owner's mobile, a desk phone). */
  forward_to: string;
  /** How long it rings before the call counts as missed. Default 20. */
  ring_seconds?: number;
  /** What a caller nobody answered is texted; no text when absent. */
  text_back?: string;
}

export type Tenants = Record<string, TenantConfig>;

export const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9.-]{0,127}$/;
const DOMAIN_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
const USER_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;
const QUEUE_PATTERN = /^[A-Za-z0-9_.-]{1,64}(@[A-Za-z0-9][A-Za-z0-9_.-]{0,127})?$/;
const COLOR_PATTERN = /^#[0-9A-Fa-f]{6}$/;
/** E.164 digits: a country code (never 0) and at most 15 digits in all. */
const DIGITS_PATTERN = /^[1-9]\d{7,14}$/;
const COUNTRY_PATTERN = /^[A-Z]{2}$/;

/** No control characters (C0, DEL, C1) in text that reaches a page or a phone; a message may break lines. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\u0000-\u001F\u007F-\u009F]/;
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL_BUT_BREAKS = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]/;

const text = (max: number, control = CONTROL) =>
  z
    .string()
    .max(max, { error: `must be at most ${max} characters` })
    .refine((value) => !control.test(value), { error: 'must not contain control characters' });

const httpUrl = z.url({ protocol: /^https?$/ });

/**
 * Each field a config form can set, with the rule it must meet and, as the rule's message, what to tell
 * the person who filled the form in (`<field> <message>`). The stored config's schema is built from the
 * same rules, so a form and `domains.json` can never disagree on what a field may hold.
 */
export const fieldRules = {
  api_domain: z.string().regex(DOMAIN_PATTERN, { error: 'must be a NetSapiens domain such as example.com' }),
  queue: z.string().regex(QUEUE_PATTERN, { error: 'must be EXT@DOMAIN (e.g. 9002@example.com) or an extension' }),
  button_text: text(60),
  button_color: z.string().refine((value) => value === '' || COLOR_PATTERN.test(value), { error: 'must be a colour as #rrggbb' }),
  company_name: text(100),
  logo_url: z
    .string()
    .refine((value) => value === '' || (!CONTROL.test(value) && httpUrl.safeParse(value).success), { error: 'must be an http(s) URL' }),
  // `.` and `..` fit the pattern but are path segments NetSapiens URLs cannot name.
  user: z
    .string()
    .refine((value) => USER_PATTERN.test(value) && value !== '.' && value !== '..', { error: 'must be a NetSapiens user such as 2000' }),
  ns_system_user: z
    .string()
    .refine((value) => USER_PATTERN.test(value) && value !== '.' && value !== '..', { error: 'must be a NetSapiens user such as 8001' }),
  from_number: z.string().regex(DIGITS_PATTERN, { error: 'must be a phone number in digits with its country code, e.g. 19294873999' }),
  message: text(1000, CONTROL_BUT_BREAKS),
} as const;

export type FormField = keyof typeof fieldRules;

export const brandingSchema = z.looseObject({
  button_text: fieldRules.button_text.optional(),
  button_color: fieldRules.button_color.optional(),
  company_name: fieldRules.company_name.optional(),
  logo_url: fieldRules.logo_url.optional(),
});

const origin = z.string().refine(
  (value) => {
    if (!URL.canParse(value)) return false;
    const url = new URL(value);
    return (url.protocol === 'https:' || url.protocol === 'http:') && url.origin === value;
  },
  { error: 'must be an origin such as https://www.example.com' },
);

/** At most this many receivers per id: each call event is one request to each. */
const MAX_EVENT_WEBHOOKS = 5;
/** `whsec_` and the base64 of at least 24 bytes, as Standard Webhooks libraries make and take it. */
const WEBHOOK_SECRET = /^whsec_(?:[A-Za-z0-9+/]{4}){8,}(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

const eventWebhook = z.strictObject({
  url: z
    .string()
    .max(2_048, { error: 'must be at most 2048 characters' })
    .refine((value) => !CONTROL.test(value) && httpUrl.safeParse(value).success, { error: 'must be an http(s) URL' }),
  secret: z.string().regex(WEBHOOK_SECRET, {
    error: 'must be whsec_ and the base64 of at least 24 random bytes (e.g. echo whsec_$(openssl rand -base64 32))',
  }),
});

const E164 = /^\+[1-9]\d{7,14}$/;
const e164 = z.string().regex(E164, { error: 'must be a phone number in E.164, such as +19294873999' });

const twilioSettings = z.strictObject({
  numbers: z
    .array(e164)
    .min(1, { error: 'must list at least one of the Twilio numbers callers dial' })
    .max(20, { error: 'may list at most 20 numbers' }),
  forward_to: e164,
  ring_seconds: z
    .number()
    .int({ error: 'must be a whole number of seconds' })
    .min(5, { error: 'must be at least 5' })
    .max(120, { error: 'must be at most 120' })
    .optional(),
  text_back: text(1000, CONTROL_BUT_BREAKS).optional(),
});

/** What an entry on disk must look like to be served. */
export const tenantSchema = z
  .looseObject({
    api_domain: fieldRules.api_domain.optional(),
    twilio: twilioSettings.optional(),
    provider: z.enum(['netsapiens', 'twilio'], { error: 'must be "netsapiens" or "twilio"' }).optional(),
    queue: fieldRules.queue.optional(),
    branding: brandingSchema.optional(),
    user: fieldRules.user.optional(),
    ns_system_user: fieldRules.ns_system_user.optional(),
    from_number: fieldRules.from_number.optional(),
    message: fieldRules.message.optional(),
    allowed_origins: z.array(origin).optional(),
    allowed_countries: z.array(z.string().regex(COUNTRY_PATTERN, { error: 'must be an ISO 3166 country code such as US' })).optional(),
    require_turnstile: z.boolean().optional(),
    webresponder_signed: z.boolean().optional(),
    customer_lookup_url: z
      .string()
      .max(2_048, { error: 'must be at most 2048 characters' })
      .refine((value) => !CONTROL.test(value) && httpUrl.safeParse(value).success, { error: 'must be an http(s) URL' })
      .optional(),
    event_webhooks: z
      .array(eventWebhook)
      .max(MAX_EVENT_WEBHOOKS, { error: `may list at most ${MAX_EVENT_WEBHOOKS} receivers` })
      .refine((hooks) => new Set(hooks.map((hook) => hook.url)).size === hooks.length, { error: 'must not list a URL twice' })
      .optional(),
    hours: openingHoursSchema.optional(),
    scheduled_callbacks: z.boolean({ error: 'must be true or false' }).optional(),
  })
  .superRefine((entry, context) => {
    // Every id but a Twilio one is a NetSapiens domain's.
    if (entry.api_domain === undefined && entry.twilio === undefined) {
      context.addIssue({
        code: 'custom',
        path: ['api_domain'],
        message: 'is required (the NetSapiens domain), unless the id has a twilio block',
      });
    }
    // Click-to-call through Twilio calls forward_to from the id's Twilio number: without them there is nothing to place.
    if (entry.provider === 'twilio' && entry.twilio === undefined) {
      context.addIssue({
        code: 'custom',
        path: ['twilio'],
        message: 'is required when provider is "twilio" (the numbers to call from and forward_to, the phone to ring first)',
      });
    }
  });

export interface ParsedTenants {
  tenants: Tenants;
  /** Entries left out, each with the reason. */
  rejected: { id: string; reason: string }[];
}

/**
 * Reads the whole file's JSON. An entry that does not fit the schema is left out and reported (one
 * mistyped entry must not take every other customer down); a file that is not a JSON object throws.
 */
export function parseTenants(json: string): ParsedTenants {
  return checkTenants(parseEntries(json));
}

/** The file's entries by id, as written, not yet checked: throws when it is not JSON, or not an object. */
export function parseEntries(json: string): Record<string, unknown> {
  const data: unknown = JSON.parse(json);
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new Error('the file must hold a JSON object keyed by id');
  }
  return data as Record<string, unknown>;
}

/** Checks entries keyed by id, wherever they were read from: the valid ones, and why the others were left out. */
export function checkTenants(data: Record<string, unknown>): ParsedTenants {
  const tenants: Tenants = Object.create(null) as Tenants;
  const rejected: ParsedTenants['rejected'] = [];
  for (const [id, entry] of Object.entries(data)) {
    if (!ID_PATTERN.test(id)) {
      rejected.push({ id, reason: 'the id may hold only letters, digits, dots and hyphens' });
      continue;
    }
    const parsed = tenantSchema.safeParse(entry);
    if (parsed.success) tenants[id] = parsed.data as TenantConfig;
    else
      rejected.push({ id, reason: parsed.error.issues.map((issue) => `${issue.path.join('.') || 'entry'}: ${issue.message}`).join('; ') });
  }
  return { tenants, rejected };
}
