import { listReply, writeReply } from '../answers.js';
import { requireText, yesNo } from '../args.js';
import { nsPath } from '../path.js';
import type { NsRequester } from '../request.js';

/** The responder applications NetSapiens' v2 API names; other values are passed through as the raw responder. */
export type DialRuleApplication =
  | 'available-number'
  | 'to-callqueue'
  | 'to-connection'
  | 'to-single-device'
  | 'to-user'
  | 'to-voicemail'
  | 'hangup'
  | (string & {});

export interface DialRuleFields {
  /** What the dialled user must match, e.g. `webresponder8001`. */
  match: string;
  /** Where the translated call goes; `[*]` keeps the dialled user. */
  destinationUser: string;
  /** `[*]` keeps the dialled host. */
  destinationHost?: string;
  application?: DialRuleApplication;
  /** The application's parameter: for a web responder, the URL NetSapiens requests. */
  parameter?: string;
  description?: string;
  enabled?: boolean;
}

export interface DialRuleLocation {
  domain: string;
  /** The dial plan; a domain's default dial plan is named after the domain (the default here). */
  dialPlan?: string;
}

export interface CreateDialRuleOptions extends DialRuleLocation, DialRuleFields {
  /** Wait until the rule can be read back. Default `true`. */
  synchronous?: boolean;
}

/** A PUT cannot change what a rule matches (that is its id); NetSapiens requires the destination user. */
export interface UpdateDialRuleOptions extends DialRuleLocation, Partial<Omit<DialRuleFields, 'match'>> {
  /** The rule's id (`dialrule` in what `list` returns). */
  dialRule: string;
  destinationUser: string;
}

/** A dial rule as NetSapiens returns it (kebab-case fields). */
export interface NsDialRule {
  dialrule?: string;
  'dial-rule-matching-to-uri'?: string;
  'dial-rule-application'?: string;
  'dial-rule-parameter'?: string;
  'dial-rule-translation-destination-user'?: string;
  [field: string]: unknown;
}

export interface DialRules {
  create(options: CreateDialRuleOptions): Promise<void>;
  list(options: DialRuleLocation): Promise<NsDialRule[]>;
  update(options: UpdateDialRuleOptions): Promise<void>;
}

function wireFields(fields: Partial<DialRuleFields>): Record<string, string> {
  const wire: Record<string, string> = {};
  if (fields.match !== undefined) {
    wire['dial-rule-matching-to-uri'] = fields.match;
    // NetSapiens v44's spec spells the match field `dail-rule-…`; unknown fields are ignored, so both go.
    wire['dail-rule-matching-to-uri'] = fields.match;
  }
  if (fields.destinationUser !== undefined) wire['dial-rule-translation-destination-user'] = fields.destinationUser;
  if (fields.destinationHost !== undefined) wire['dial-rule-translation-destination-host'] = fields.destinationHost;
  if (fields.application !== undefined) wire['dial-rule-application'] = fields.application;
  if (fields.parameter !== undefined) wire['dial-rule-parameter'] = fields.parameter;
  if (fields.description !== undefined) wire['dial-rule-description'] = fields.description;
  if (fields.enabled !== undefined) wire.enabled = yesNo(fields.enabled);
  return wire;
}

export function dialRulesResource(request: NsRequester): DialRules {
  const base = (options: DialRuleLocation) => {
    const domain = requireText(options.domain, 'domain');
    return { domain, dialPlan: options.dialPlan ?? domain };
  };
  return {
    async create(options) {
      const { domain, dialPlan } = base(options);
      requireText(options.match, 'match');
      requireText(options.destinationUser, 'destinationUser');
      await request({
        method: 'POST',
        path: nsPath`/ns-api/v2/domains/${domain}/dialplans/${dialPlan}/dialrules`,
        json: { synchronous: options.synchronous === false ? 'no' : 'yes', ...wireFields(options) },
        expect: writeReply,
      });
    },

    async list(options) {
      const { domain, dialPlan } = base(options);
      const { body } = await request<NsDialRule[]>({
        method: 'GET',
        path: nsPath`/ns-api/v2/domains/${domain}/dialplans/${dialPlan}/dialrules`,
        expect: listReply,
      });
      return body;
    },

    async update(options) {
      const { domain, dialPlan } = base(options);
      const dialRule = requireText(options.dialRule, 'dialRule');
      requireText(options.destinationUser, 'destinationUser');
      await request({
        method: 'PUT',
        path: nsPath`/ns-api/v2/domains/${domain}/dialplans/${dialPlan}/dialrules/${dialRule}`,
        // The spec wants the id in the body as well as in the path; the match is the id, so never sent.
        json: { dialrule: dialRule, ...wireFields({ ...options, match: undefined }) },
        expect: writeReply,
      });
    },
  };
}
