import { requireText } from './args.js';
import type { NsRequestOptions } from './client.js';
import { NsAbortError, NsError, NsConflictError, NsHttpError, NsNotFoundError, NsUsageError } from './errors.js';
import type { AnswerRules } from './resources/answer-rules.js';
import type { DialRules, NsDialRule } from './resources/dial-rules.js';
import { requestOptions } from './request.js';
import type { NsUser, Users } from './resources/users.js';

/** What `provisionWebresponder` takes. */
export interface ProvisionWebresponderOptions {
  /** The NetSapiens domain (`api_domain` in Beckon's config). */
  domain: string;
  /** The system user calls are routed through, e.g. `8001`. */
  systemUser: string;
  /** What NetSapiens requests when such a call arrives: an http(s) URL, e.g. `https://beckon.example.net/webresponder?id=example.com-sms`. */
  webhookUrl: string;
  /** The system user's e-mail address (NetSapiens requires one). */
  email: string;
  /** The dial plan the rule goes in; default: `domain`, the name of the domain's default dial plan. */
  dialPlan?: string;
  /** The dial rule's application; default `DEFAULT_WEB_APPLICATION` (`sip:0@Web-Main`). */
  application?: string;
}

/**
 * What a provisioning step did: `created`, `exists` (already as wanted, left alone), `updated`,
 * `refused` (left alone on purpose, because `systemUser` is an existing user that is not a web
 * responder) or `failed` (NetSapiens' error, or `not attempted: …`, in `error`).
 */
export type StepStatus = 'created' | 'exists' | 'updated' | 'refused' | 'failed';

/** One step of `provisionWebresponder`. */
export interface StepResult {
  status: StepStatus;
  /** Why a step failed or was refused, fit for logs and form replies (never a credential). */
  error?: string;
}

/** What `provisionWebresponder` resolves to: one result per step. */
export interface ProvisionResult {
  /** The system user. */
  user: StepResult;
  /** The dial rule matching `webresponder{systemUser}`. */
  dialRule: StepResult;
  /** The user's default (`*`) answer rule. */
  answerRule: StepResult;
}

/**
 * The default dial-rule application of `provisionWebresponder`. The portal calls this application
 * "To Web", but NetSapiens' v2 schema has no name for it, so the raw responder is sent: `sip:0@Web-Main`
 * is what tools running against v44/v45 clusters write. It has not been confirmed on every cluster, so
 * it is an option: if yours names the web responder differently, pass `application` (a rule written
 * with another application is updated on the next run). List the rule after a first run to check (see
 * "Checking what was provisioned" in docs/operations.md).
 */
export const DEFAULT_WEB_APPLICATION = 'sip:0@Web-Main';
/** What provisioning creates its system user with, and so what marks a user it may change. */
const WEB_RESPONDER_SERVICE_CODE = 'system-webresponder';

interface Resources {
  users: Users;
  dialRules: DialRules;
  answerRules: AnswerRules;
}

/**
 * Whether provisioning may change `systemUser`'s answer rule: only when it is a web-responder system
 * user (created by this run, or carrying the service code). Forwarding a person's extension to the
 * web responder would stop their phone ringing.
 */
type Owner = { kind: 'mine' } | { kind: 'refused'; why: string } | { kind: 'unknown'; why: string };

/**
 * `NsClient.provisionWebresponder`, documented there: the user, a To-Web dial rule matching
 * `webresponder{systemUser}`, and the user's default answer rule forwarding always to that match. Every
 * step is idempotent, so running it again to change a URL never fails.
 */
export async function provisionWebresponder(
  ns: Resources,
  options: ProvisionWebresponderOptions,
  call?: NsRequestOptions,
): Promise<ProvisionResult> {
  // Checked first: a bad timeoutMs must not turn into three failed steps.
  requestOptions(call);
  const domain = requireText(options.domain, 'domain');
  const systemUser = requireText(options.systemUser, 'systemUser');
  const webhookUrl = requireText(options.webhookUrl, 'webhookUrl');
  if (!/^https?:\/\//i.test(webhookUrl)) throw new NsUsageError('webhookUrl must be an http(s) URL');
  const email = requireText(options.email, 'email');
  const match = `webresponder${systemUser}`;
  const dialPlan = options.dialPlan ?? domain;

  const { user, owner } = await systemUserStep(ns, domain, systemUser, email, call);
  if (owner.kind === 'refused') {
    const refused = (): StepResult => ({ status: 'refused', error: owner.why });
    return { user, dialRule: refused(), answerRule: refused() };
  }

  const dialRule = await step(async () => {
    const wanted = {
      destinationUser: '[*]',
      destinationHost: '[*]',
      application: options.application ?? DEFAULT_WEB_APPLICATION,
      parameter: webhookUrl,
      description: `Beckon web responder for ${systemUser}`,
    };
    const existing = (await ns.dialRules.list({ domain, dialPlan }, call).catch(ignoreNotFound)).find((rule) => matches(rule, match));
    if (existing) {
      if (existing['dial-rule-parameter'] === webhookUrl && existing['dial-rule-application'] === wanted.application) return 'exists';
      await ns.dialRules.update({ domain, dialPlan, dialRule: requireText(existing.dialrule, 'dialrule'), ...wanted }, call);
      return 'updated';
    }
    try {
      await ns.dialRules.create({ domain, dialPlan, match, ...wanted }, call);
      return 'created';
    } catch (error) {
      if (error instanceof NsConflictError || (error instanceof NsHttpError && /already exists/i.test(error.nsMessage ?? '')))
        return 'exists';
      throw error;
    }
  });

  const answerRule: StepResult =
    owner.kind === 'unknown'
      ? { status: 'failed', error: `not attempted: ${owner.why}` }
      : await step(async () => {
          const rule = { domain, user: systemUser, timeFrame: '*', enabled: true, forwardAlways: { enabled: true, to: [match] } };
          try {
            await ns.answerRules.update(rule, call);
            return 'updated';
          } catch (error) {
            // A brand-new user may have no default rule yet: create it instead.
            if (!(error instanceof NsNotFoundError)) throw error;
            await ns.answerRules.create(rule, call);
            return 'created';
          }
        });

  return { user, dialRule, answerRule };
}

/**
 * Creates the system user, and when that does not succeed (409, or a failure that may or may not have
 * created it) reads it: only NetSapiens' record says whether it is a web-responder user or a person's.
 */
async function systemUserStep(
  ns: Resources,
  domain: string,
  systemUser: string,
  email: string,
  call: NsRequestOptions | undefined,
): Promise<{ user: StepResult; owner: Owner }> {
  let createError: NsError;
  try {
    await ns.users.create(
      {
        domain,
        user: systemUser,
        firstName: 'Web',
        lastName: 'Responder',
        email,
        scope: 'Simple User',
        serviceCode: WEB_RESPONDER_SERVICE_CODE,
      },
      call,
    );
    return { user: { status: 'created' }, owner: { kind: 'mine' } };
  } catch (error) {
    if (!isFailure(error)) throw error;
    createError = error;
  }
  const exists = createError instanceof NsConflictError;
  let existing: NsUser;
  try {
    existing = await ns.users.get({ domain, user: systemUser }, call);
  } catch (error) {
    if (!isFailure(error)) throw error;
    const missing = !exists && error instanceof NsNotFoundError;
    return {
      user: {
        status: 'failed',
        error: exists
          ? `user ${systemUser} exists, but reading it to check its service code failed: ${error.message}`
          : createError.message,
      },
      owner: {
        kind: 'unknown',
        why: missing
          ? `user ${systemUser} does not exist`
          : `user ${systemUser} could not be checked to be a web-responder system user, so its answer rule was left alone`,
      },
    };
  }
  const serviceCode = existing['service-code'];
  if (serviceCode === WEB_RESPONDER_SERVICE_CODE) {
    return { user: exists ? { status: 'exists' } : { status: 'failed', error: createError.message }, owner: { kind: 'mine' } };
  }
  const why =
    `user ${systemUser} exists and is not a web-responder system user (service code: ${describeServiceCode(serviceCode)}): ` +
    'its answer rule was left alone; choose another systemUser';
  return { user: { status: 'refused', error: why }, owner: { kind: 'refused', why } };
}

/** NetSapiens' value, quoted and cut short: it ends up in form replies. */
function describeServiceCode(serviceCode: unknown): string {
  return typeof serviceCode === 'string' && serviceCode.trim() !== '' ? JSON.stringify(serviceCode.slice(0, 40)) : 'none';
}

async function step(run: () => Promise<Exclude<StepStatus, 'failed' | 'refused'>>): Promise<StepResult> {
  try {
    return { status: await run() };
  } catch (error) {
    if (isFailure(error)) return { status: 'failed', error: error.message };
    throw error;
  }
}

/** A step's failure, reported in the result. An abort is not one: the caller asked to stop, so it rejects the whole run. */
function isFailure(error: unknown): error is NsError {
  return error instanceof NsError && !(error instanceof NsAbortError);
}

function ignoreNotFound(error: unknown): NsDialRule[] {
  if (error instanceof NsNotFoundError) return [];
  throw error;
}

/** NetSapiens may store the match as sent (`webresponder8001`) or as a URI (`sip:webresponder8001@*`). */
function matches(rule: NsDialRule, match: string): boolean {
  const stored = rule['dial-rule-matching-to-uri'];
  if (typeof stored !== 'string') return false;
  return stored.replace(/^sip:/, '').replace(/@\*$/, '') === match;
}
