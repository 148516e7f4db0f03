import { qualifyQueue } from '@beckon/ns-client';
import type { Middleware } from 'koa';
import { ZodError } from 'zod';
import type { ServerDeps } from '../deps.js';
import type { Logger } from '../logging.js';
import type { BodyState, Fields } from '../middleware/body.js';
import { HttpError } from '../http-error.js';
import { isLocalOnly } from '../config.js';
import { secretMatches, webresponderKey, webresponderSignature } from '../guards/secrets.js';
import { fieldRules, ID_PATTERN, type Branding, type FormField, type TenantConfig } from '../tenants/schema.js';
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

/**
 * Forms send numbers the way people type them: keep the digits. Ten digits without a `+` are a NANP
 * number written without its 1; with a `+`, the country code is already there (`+45 33 12 34 56`).
 */
function normaliseNumber(value: string): string {
  const digits = value.replace(/[\s().+-]/g, '');
  return /^\d{10}$/.test(digits) && !value.startsWith('+') ? `1${digits}` : digits;
}

/** Reads the id and the named fields a form sent, trimmed; a field left out stays out (its stored value is kept). */
function readForm(fields: Fields, names: FormField[]): { id: string; values: Partial<Record<FormField, string>> } {
  const id = (fields.id ?? '').trim();
  if (!id) throw new HttpError(400, 'id is required');
  if (!ID_PATTERN.test(id)) throw new HttpError(400, 'id may hold only letters, digits, dots and hyphens (e.g. example.com-sales)');
  const values: Partial<Record<FormField, string>> = {};
  for (const name of names) {
    const raw = fields[name];
    if (raw === undefined) continue;
    const value = name === 'from_number' ? normaliseNumber(raw.trim()) : raw.trim();
    const checked = fieldRules[name].safeParse(value);
    if (!checked.success) throw new HttpError(400, `${name} ${checked.error.issues[0]?.message ?? 'is not accepted'}`);
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
    if (error instanceof TenantStoreBusyError)
      throw new HttpError(503, 'The configuration is busy; please submit again.', { headers: { 'Retry-After': '1' } });
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
    provisioning: {
      user: provisioning.user.status,
      dial_rule: provisioning.dial_rule.status,
      answer_rule: provisioning.answer_rule.status,
    },
    ...(failures.length > 0
      ? { provisioning_errors: Object.fromEntries(failures.map(([step, outcome]) => [step, outcome.error ?? ''])) }
      : {}),
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
    const failed = {
      status: 'failed',
      error: `not attempted: NetSapiens cannot reach ${publicUrl}; set PUBLIC_URL to this server's public address`,
    };
    return { user: failed, dial_rule: failed, answer_rule: failed };
  }
  // requireMerged made sure of it before the entry was saved.
  const domain = entry.api_domain ?? '';
  try {
    const result = await deps.ns.provisionWebresponder({
      domain,
      systemUser: entry.ns_system_user ?? '',
      webhookUrl: `${publicUrl}/webresponder?id=${encodeURIComponent(id)}&sig=${webresponderSignature(webresponderKey(deps.config), id)}`,
      email: deps.config.provisionEmail ?? `webresponder@${domain}`,
      application: deps.config.provisionApplication,
    });
    return { user: result.user, dial_rule: result.dialRule, answer_rule: result.answerRule };
  } catch (error) {
    log.error({ err: error, id }, 'provisioning failed');
    const failed = { status: 'failed', error: 'provisioning could not run; see the server log' };
    return { user: failed, dial_rule: failed, answer_rule: failed };
  }
}
