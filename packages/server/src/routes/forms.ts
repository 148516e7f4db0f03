import { qualifyQueue } from '@beckon/ns-client';
import type { Middleware } from 'koa';
import { ZodError } from 'zod';
import type { ServerDeps } from '../deps.js';
import type { Logger } from '../logging.js';
import type { BodyState, Fields } from '../middleware/body.js';
import { HttpError } from '../http-error.js';
import { isLocalOnly } from '../config.js';
import { secretMatches, webresponderKey, webresponderSignature } from '../guards/secrets.js';
import {
  brandingSchema,
  COLOR_PATTERN,
  DOMAIN_PATTERN,
  ID_PATTERN,
  QUEUE_PATTERN,
  USER_PATTERN,
  type Branding,
  type TenantConfig,
} from '../tenants/schema.js';
import { TenantStoreBusyError } from '../tenants/store.js';

/** The forms' shared secret, as field `secret` or header `X-Update-Secret`; checked before anything is read into config. */
export function requireSecret(deps: ServerDeps): Middleware<BodyState> {
  return async function requireSecret(ctx, next) {
    const given = ctx.state.fields.secret ?? ctx.get('X-Update-Secret');
    if (!given || !secretMatches(given, deps.config.updateSecret)) {
      ctx.state.log.warn('form post with a missing or wrong secret');
      throw new HttpError(401, 'A valid secret is required (field "secret" or header X-Update-Secret).');
    }
    return next();
  };
}

type Check = (value: string) => string | undefined;

// C0 (tabs and line breaks included: only `message` may hold them, and it checks them apart), DEL and C1.
const CONTROL = /[\u0000-\u001F\u007F-\u009F]/;

const checks = {
  api_domain: (value) => (DOMAIN_PATTERN.test(value) ? undefined : 'must be a NetSapiens domain such as example.com'),
  queue: (value) => (QUEUE_PATTERN.test(value) ? undefined : 'must be EXT@DOMAIN (e.g. 9002@example.com) or an extension'),
  button_text: (value) => textProblem(value, 60),
  button_color: (value) => (value === '' || COLOR_PATTERN.test(value) ? undefined : 'must be a colour as #rrggbb'),
  company_name: (value) => textProblem(value, 100),
  logo_url: (value) => (value === '' || (isHttpUrl(value) && !CONTROL.test(value)) ? undefined : 'must be an http(s) URL'),
  user: (value) => (isUser(value) ? undefined : 'must be a NetSapiens user such as 2000'),
  ns_system_user: (value) => (isUser(value) ? undefined : 'must be a NetSapiens user such as 8001'),
  // A country code never starts with 0 (the stored config refuses it).
  from_number: (value) => (/^[1-9]\d{10,14}$/.test(value) ? undefined : 'must be a phone number in digits with its country code, e.g. 19294873999'),
  message: (value) => (value.trim() === '' ? 'must not be empty' : textProblem(value.replace(/[\r\n\t]/g, ' '), 1000)),
} satisfies Record<string, Check>;

type FieldName = keyof typeof checks;

function textProblem(value: string, max: number): string | undefined {
  if (value.length > max) return `must be at most ${max} characters`;
  if (CONTROL.test(value)) return 'must not contain control characters';
  return undefined;
}

function isHttpUrl(value: string): boolean {
  if (!URL.canParse(value)) return false;
  const protocol = new URL(value).protocol;
  // The stored config's own rule as well: it refuses some URLs the platform parses (`https:x`).
  return (protocol === 'https:' || protocol === 'http:') && brandingSchema.shape.logo_url.safeParse(value).success;
}

/** `.` and `..` fit the pattern but are path segments NetSapiens URLs cannot name. */
function isUser(value: string): boolean {
  return USER_PATTERN.test(value) && value !== '.' && value !== '..';
}

/** Forms send numbers the way people type them; keep digits, and give a ten-digit NANP number its 1. */
function normaliseNumber(value: string): string {
  const digits = value.replace(/[\s().+-]/g, '');
  return /^\d{10}$/.test(digits) ? `1${digits}` : digits;
}

/** Reads the id and the named fields a form sent, trimmed; a field left out stays out (its stored value is kept). */
function readForm(fields: Fields, names: FieldName[]): { id: string; values: Partial<Record<FieldName, string>> } {
  const id = (fields.id ?? '').trim();
  if (!id) throw new HttpError(400, 'id is required');
  if (!ID_PATTERN.test(id)) throw new HttpError(400, 'id may hold only letters, digits, dots and hyphens (e.g. example.com-sales)');
  const values: Partial<Record<FieldName, string>> = {};
  for (const name of names) {
    const raw = fields[name];
    if (raw === undefined) continue;
    const value = name === 'from_number' ? normaliseNumber(raw.trim()) : raw.trim();
    const problem = checks[name](value);
    if (problem) throw new HttpError(400, `${name} ${problem}`);
    values[name] = value;
  }
  return { id, values };
}

function requireMerged<K extends keyof TenantConfig>(entry: TenantConfig, names: K[]): void {
  for (const name of names) {
    if (entry[name] === undefined || entry[name] === '') throw new HttpError(400, `${String(name)} is required`);
  }
}

async function save(deps: ServerDeps, id: string, change: (current: TenantConfig | undefined) => TenantConfig): Promise<TenantConfig> {
  try {
    return await deps.tenants.update(id, change);
  } catch (error) {
    if (error instanceof TenantStoreBusyError) throw new HttpError(503, 'The configuration is busy; please submit again.', { headers: { 'Retry-After': '1' } });
    // The store refused the entry: a value the checks above let through (a 400 naming it, never a 500).
    if (error instanceof ZodError) {
      const issue = error.issues[0];
      throw new HttpError(400, `${issue?.path.map(String).join('.') || 'the entry'} is not accepted: ${issue?.message ?? 'invalid'}`);
    }
    throw error;
  }
}

/** `POST /update-domain`: the click-to-call form. Upserts queue and branding, keeping the id's SMS fields. */
export function updateDomain(deps: ServerDeps): Middleware<BodyState> {
  return async function updateDomain(ctx) {
    const { id, values } = readForm(ctx.state.fields, ['api_domain', 'queue', 'button_text', 'button_color', 'company_name', 'logo_url']);
    await save(deps, id, (current) => {
      const entry: TenantConfig = { ...current, api_domain: values.api_domain ?? current?.api_domain ?? '' };
      requireMerged(entry, ['api_domain']);
      // Stored as EXT@api_domain: NetSapiens accepts a bare extension and then fails the call silently.
      if (values.queue !== undefined) entry.queue = qualifyQueue(values.queue, entry.api_domain);
      const branding: Branding = { ...current?.branding };
      for (const name of ['button_text', 'button_color', 'company_name', 'logo_url'] as const) {
        if (values[name] !== undefined) branding[name] = values[name];
      }
      if (Object.keys(branding).length > 0) entry.branding = branding;
      return entry;
    });
    ctx.state.log.info({ id }, 'click-to-call config saved');
    ctx.body = { status: 'ok', id };
  };
}

/** What `/update-sms` answers: each provisioning step's outcome, and why for those that did not succeed. */
export interface SmsFormReply {
  status: 'ok';
  id: string;
  provisioning: Record<ProvisioningStep, string>;
  provisioning_errors?: Partial<Record<ProvisioningStep, string>>;
}

/**
 * `POST /update-sms`: the SMS form. Upserts the SMS fields (keeping click-to-call's), then provisions
 * NetSapiens so calls to the system user reach `/webresponder?id=…&sig=…`. The config is saved first and
 * stays saved whatever NetSapiens answers; the reply gives each provisioning step's outcome.
 */
export function updateSms(deps: ServerDeps): Middleware<BodyState> {
  return async function updateSms(ctx) {
    ctx.body = await submitSmsForm(deps, ctx.state.fields, ctx.state.log);
  };
}

/** The SMS form's work, for the route and for callers in this process (the demo page's button). */
export async function submitSmsForm(deps: ServerDeps, fields: Fields, log: Logger): Promise<SmsFormReply> {
  const { id, values } = readForm(fields, ['api_domain', 'user', 'ns_system_user', 'from_number', 'message']);
  const entry = await save(deps, id, (current) => {
    const next: TenantConfig = { ...current, api_domain: values.api_domain ?? current?.api_domain ?? '' };
    for (const name of ['user', 'ns_system_user', 'from_number', 'message'] as const) {
      if (values[name] !== undefined) next[name] = values[name];
    }
    requireMerged(next, ['api_domain', 'user', 'ns_system_user', 'from_number', 'message']);
    return next;
  });
  log.info({ id }, 'SMS config saved');

  const provisioning = await provision(deps, id, entry, log);
  if (SIGNED_RULE.has(provisioning.dial_rule.status) && entry.webresponder_signed !== true) {
    // NetSapiens now sends the signed URL: from here on, /webresponder refuses this id's unsigned requests.
    await save(deps, id, (current) => ({ ...(current ?? entry), webresponder_signed: true }));
  }
  const failures = Object.entries(provisioning).filter(([, step]) => step.status === 'failed' || step.status === 'refused');
  if (failures.length > 0) log.warn({ id, failures: Object.fromEntries(failures) }, 'provisioning incomplete');
  return {
    status: 'ok',
    id,
    provisioning: { user: provisioning.user.status, dial_rule: provisioning.dial_rule.status, answer_rule: provisioning.answer_rule.status },
    ...(failures.length > 0 ? { provisioning_errors: Object.fromEntries(failures.map(([step, outcome]) => [step, outcome.error ?? ''])) } : {}),
  };
}

/** Dial-rule outcomes after which NetSapiens holds the signed URL. */
const SIGNED_RULE = new Set(['created', 'updated', 'exists']);

type ProvisioningStep = 'user' | 'dial_rule' | 'answer_rule';

type Provisioning = Record<ProvisioningStep, { status: string; error?: string }>;

/** The three NetSapiens steps for an id's SMS settings; a failure is reported per step, never thrown. */
async function provision(deps: ServerDeps, id: string, entry: TenantConfig, log: Logger): Promise<Provisioning> {
  const { publicUrl, nsApiBase } = deps.config;
  if (isLocalOnly(publicUrl) && nsApiBase && !isLocalOnly(nsApiBase)) {
    // A dial rule pointing at 127.0.0.1 would send every call of this id nowhere: do not provision.
    const failed = { status: 'failed', error: `not attempted: NetSapiens cannot reach ${publicUrl}; set PUBLIC_URL to this server's public address` };
    return { user: failed, dial_rule: failed, answer_rule: failed };
  }
  try {
    const result = await deps.ns.provisionWebresponder({
      domain: entry.api_domain,
      systemUser: entry.ns_system_user ?? '',
      webhookUrl: `${publicUrl}/webresponder?id=${encodeURIComponent(id)}&sig=${webresponderSignature(webresponderKey(deps.config), id)}`,
      email: deps.config.provisionEmail ?? `webresponder@${entry.api_domain}`,
      application: deps.config.provisionApplication,
    });
    return { user: result.user, dial_rule: result.dialRule, answer_rule: result.answerRule };
  } catch (error) {
    log.error({ err: error, id }, 'provisioning failed');
    const failed = { status: 'failed', error: 'provisioning could not run; see the server log' };
    return { user: failed, dial_rule: failed, answer_rule: failed };
  }
}
