import { requireText } from './args.js';
import { NsError, NsHttpError, NsUsageError } from './errors.js';
import type { AnswerRules } from './resources/answer-rules.js';
import type { DialRules, NsDialRule } from './resources/dial-rules.js';
import type { Users } from './resources/users.js';

export interface ProvisionWebresponderOptions {
  /** The NetSapiens domain (`api_domain` in Beckon's config). */
  domain: string;
  /** The system user calls are routed through, e.g. `8001`. */
  systemUser: string;
  /** What NetSapiens requests when such a call arrives, e.g. `https://beckon.example.net/webresponder?id=…`. */
  webhookUrl: string;
  /** The system user's e-mail address (NetSapiens requires one). */
  email: string;
  /** The dial plan for the rule; default: the one named after `domain`. */
  dialPlan?: string;
  /**
   * The dial rule's application. The portal calls it "To Web"; NetSapiens' v2 schema has no friendly
   * name for it, so the raw responder is sent. Default `sip:0@Web-Main`, which tools running against
   * v44/v45 clusters use; change it if your cluster names the responder differently.
   */
  application?: string;
}

export type StepStatus = 'created' | 'exists' | 'updated' | 'failed';

export interface StepResult {
  status: StepStatus;
  /** Why a step failed, fit for logs and form replies (never a credential). */
  error?: string;
}

export interface ProvisionResult {
  user: StepResult;
  dialRule: StepResult;
  answerRule: StepResult;
}

export const DEFAULT_WEB_APPLICATION = 'sip:0@Web-Main';

interface Resources {
  users: Users;
  dialRules: DialRules;
  answerRules: AnswerRules;
}

/**
 * Routes calls to `systemUser` to a web responder at `webhookUrl`, in the three steps NetSapiens needs:
 * the user, a To-Web dial rule matching `webresponder{systemUser}`, and the user's default answer rule
 * forwarding always to that match. Every step is idempotent (what exists is reported as such, or
 * updated when it differs), so running it again to change a URL never fails. A step's NetSapiens
 * failure is reported in its result, never thrown; the other steps still run.
 */
export async function provisionWebresponder(ns: Resources, options: ProvisionWebresponderOptions): Promise<ProvisionResult> {
  const domain = requireText(options.domain, 'domain');
  const systemUser = requireText(options.systemUser, 'systemUser');
  const webhookUrl = requireText(options.webhookUrl, 'webhookUrl');
  if (!/^https?:\/\//i.test(webhookUrl)) throw new NsUsageError('webhookUrl must be an http(s) URL');
  const email = requireText(options.email, 'email');
  const match = `webresponder${systemUser}`;
  const dialPlan = options.dialPlan ?? domain;

  const user = await step(async () => {
    try {
      await ns.users.create({
        domain,
        user: systemUser,
        firstName: 'Web',
        lastName: 'Responder',
        email,
        scope: 'Simple User',
        serviceCode: 'system-webresponder',
      });
      return 'created';
    } catch (error) {
      if (error instanceof NsHttpError && error.status === 409) return 'exists';
      throw error;
    }
  });

  const dialRule = await step(async () => {
    const wanted = {
      destinationUser: '[*]',
      destinationHost: '[*]',
      application: options.application ?? DEFAULT_WEB_APPLICATION,
      parameter: webhookUrl,
      description: `Beckon web responder for ${systemUser}`,
    };
    const existing = (await ns.dialRules.list({ domain, dialPlan }).catch(ignoreNotFound)).find((rule) => matches(rule, match));
    if (existing) {
      if (existing['dial-rule-parameter'] === webhookUrl && existing['dial-rule-application'] === wanted.application) return 'exists';
      await ns.dialRules.update({ domain, dialPlan, dialRule: requireText(existing.dialrule, 'dialrule'), ...wanted });
      return 'updated';
    }
    try {
      await ns.dialRules.create({ domain, dialPlan, match, ...wanted });
      return 'created';
    } catch (error) {
      if (error instanceof NsHttpError && (error.status === 409 || /already exists/i.test(error.nsMessage ?? ''))) return 'exists';
      throw error;
    }
  });

  const answerRule = await step(async () => {
    const rule = { domain, user: systemUser, timeFrame: '*', enabled: true, forwardAlways: { enabled: true, to: [match] } };
    try {
      await ns.answerRules.update(rule);
      return 'updated';
    } catch (error) {
      // A brand-new user may have no default rule yet: create it instead.
      if (!(error instanceof NsHttpError && error.status === 404)) throw error;
      await ns.answerRules.create(rule);
      return 'created';
    }
  });

  return { user, dialRule, answerRule };
}

async function step(run: () => Promise<Exclude<StepStatus, 'failed'>>): Promise<StepResult> {
  try {
    return { status: await run() };
  } catch (error) {
    if (error instanceof NsError) return { status: 'failed', error: error.message };
    throw error;
  }
}

function ignoreNotFound(error: unknown): NsDialRule[] {
  if (error instanceof NsHttpError && error.status === 404) return [];
  throw error;
}

/** NetSapiens may store the match as sent (`webresponder8001`) or as a URI (`sip:webresponder8001@*`). */
function matches(rule: NsDialRule, match: string): boolean {
  const stored = rule['dial-rule-matching-to-uri'];
  if (typeof stored !== 'string') return false;
  return stored.replace(/^sip:/, '').replace(/@\*$/, '') === match;
}
