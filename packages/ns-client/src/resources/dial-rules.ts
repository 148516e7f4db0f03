import { listReply, writeReply } from '../answers.js';
import { requireText, yesNo } from '../args.js';
import { nsPath } from '../path.js';
import type { NsRequestOptions } from '../client.js';
import type { NsRequester } from '../request.js';

/**
 * The responder applications NetSapiens' v2 schema names; any other string is passed through as a raw
 * responder, such as `DEFAULT_WEB_APPLICATION`.
 */
export type DialRuleApplication =
  'available-number' | 'to-callqueue' | 'to-connection' | 'to-single-device' | 'to-user' | 'to-voicemail' | 'hangup' | (string & {});

/** A dial rule's fields; each one's wire name is given beside it. */
export interface DialRuleFields {
  /**
   * What the dialled user must match, e.g. `webresponder8001`: `dial-rule-matching-to-uri`, and the same
   * value as `dail-rule-matching-to-uri` (the v44 spec's spelling; NetSapiens ignores fields it does not know).
   */
  match: string;
  /** Where the translated call goes; `[*]` keeps the dialled user: `dial-rule-translation-destination-user`. */
  destinationUser: string;
  /** `[*]` keeps the dialled host: `dial-rule-translation-destination-host`. */
  destinationHost?: string;
  /** `dial-rule-application`. */
  application?: DialRuleApplication;
  /** The application's parameter (for a web responder, the URL NetSapiens requests): `dial-rule-parameter`. */
  parameter?: string;
  /** `dial-rule-description`. */
  description?: string;
  /** `enabled: 'yes' | 'no'`. */
  enabled?: boolean;
}

/** Where dial rules live: `/ns-api/v2/domains/{domain}/dialplans/{dialPlan}/dialrules`. */
export interface DialRuleLocation {
  domain: string;
  /** The dial plan; default `domain`, the name of a domain's default dial plan. */
  dialPlan?: string;
}

/** What `dialRules.create` takes: `match` and `destinationUser` are required. */
export interface CreateDialRuleOptions extends DialRuleLocation, DialRuleFields {
  /** Wait until the rule can be read back: `synchronous: 'yes'` (`'no'` when false). Default `true`. */
  synchronous?: boolean;
}

/**
 * What `dialRules.update` takes: the location, the rule's id, `destinationUser` and any other field
 * except `match`. A rule's id is derived from its match, so the match cannot change.
 */
export interface UpdateDialRuleOptions extends DialRuleLocation, Partial<Omit<DialRuleFields, 'match'>> {
  /** The rule's id (`dialrule` in what `list` returns). */
  dialRule: string;
  /** NetSapiens requires it on every update. */
  destinationUser: string;
}

/** A dial rule as NetSapiens returns it: kebab-case fields, a few typed, the rest `unknown`. */
export interface NsDialRule {
  /** The rule's id, which `update` takes as `dialRule`. */
  dialrule?: string;
  'dial-rule-matching-to-uri'?: string;
  'dial-rule-application'?: string;
  'dial-rule-parameter'?: string;
  'dial-rule-translation-destination-user'?: string;
  [field: string]: unknown;
}

/** `ns.dialRules`: the rules of a dial plan (`DialRuleLocation`). */
export interface DialRules {
  /**
   * Creates a rule: `POST …/dialrules` with `synchronous` and the fields of `DialRuleFields`.
   *
   * @example
   * ```ts
   * await ns.dialRules.create({
   *   domain: 'example.com',
   *   match: 'webresponder8001',
   *   destinationUser: '[*]',
   *   destinationHost: '[*]',
   *   application: 'sip:0@Web-Main',
   *   parameter: 'https://beckon.example.net/webresponder?id=example.com-sms',
   * });
   * ```
   */
  create(options: CreateDialRuleOptions, requestOptions?: NsRequestOptions): Promise<void>;
  /** Lists the plan's rules: `GET …/dialrules`. A 2xx that is not a JSON array is an `NsResponseError`. */
  list(options: DialRuleLocation, requestOptions?: NsRequestOptions): Promise<NsDialRule[]>;
  /**
   * Updates a rule: `PUT …/dialrules/{dialRule}` with `dialrule: <id>` in the body too (the spec wants
   * both) and the fields given.
   *
   * @example
   * ```ts
   * const rule = (await ns.dialRules.list({ domain: 'example.com' }))
   *   .find((candidate) => candidate['dial-rule-matching-to-uri'] === 'webresponder8001');
   * if (rule?.dialrule) {
   *   await ns.dialRules.update({ domain: 'example.com', dialRule: rule.dialrule, destinationUser: '[*]', parameter: 'https://…' });
   * }
   * ```
   */
  update(options: UpdateDialRuleOptions, requestOptions?: NsRequestOptions): Promise<void>;
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
    async create(options, requestOptions) {
      const { domain, dialPlan } = base(options);
      requireText(options.match, 'match');
      requireText(options.destinationUser, 'destinationUser');
      await request(
        {
          method: 'POST',
          path: nsPath`/ns-api/v2/domains/${domain}/dialplans/${dialPlan}/dialrules`,
          json: { synchronous: options.synchronous === false ? 'no' : 'yes', ...wireFields(options) },
          expect: writeReply,
        },
        requestOptions,
      );
    },

    async list(options, requestOptions) {
      const { domain, dialPlan } = base(options);
      const { body } = await request<NsDialRule[]>(
        {
          method: 'GET',
          path: nsPath`/ns-api/v2/domains/${domain}/dialplans/${dialPlan}/dialrules`,
          expect: listReply,
        },
        requestOptions,
      );
      return body;
    },

    async update(options, requestOptions) {
      const { domain, dialPlan } = base(options);
      const dialRule = requireText(options.dialRule, 'dialRule');
      requireText(options.destinationUser, 'destinationUser');
      await request(
        {
          method: 'PUT',
          path: nsPath`/ns-api/v2/domains/${domain}/dialplans/${dialPlan}/dialrules/${dialRule}`,
          // The spec wants the id in the body as well as in the path; the match is the id, so never sent.
          json: { dialrule: dialRule, ...wireFields({ ...options, match: undefined }) },
          expect: writeReply,
        },
        requestOptions,
      );
    },
  };
}
