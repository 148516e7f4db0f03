import { writeReply } from '../answers.js';
import { requireText, yesNo } from '../args.js';
import { nsPath } from '../path.js';
import type { NsRequestOptions } from '../client.js';
import type { NsRequester } from '../request.js';

/**
 * A forwarding feature of an answer rule: on or off, and where to. Sent as
 * `{ enabled: 'yes' | 'no', parameters: to ?? [] }`.
 */
export interface Forwarding {
  enabled: boolean;
  /** Destinations: users, numbers, or dial-rule matches such as `webresponder8001`. */
  to?: string[];
}

/**
 * An answer rule's fields; each one's wire name is given beside it. The read-only `is-active`, which the
 * spec lists as required, is never sent.
 */
export interface AnswerRuleFields {
  /** `enabled: 'yes' | 'no'`; default `true`. */
  enabled?: boolean;
  /** `forward-always`. */
  forwardAlways?: Forwarding;
  /** `forward-on-busy`. */
  forwardOnBusy?: Forwarding;
  /** `forward-no-answer`. */
  forwardNoAnswer?: Forwarding;
  /** `forward-when-unregistered`. */
  forwardWhenUnregistered?: Forwarding;
}

/** What `answerRules.update` and `answerRules.create` take: whose rule, for which time frame, and its fields. */
export interface AnswerRuleOptions extends AnswerRuleFields {
  domain: string;
  user: string;
  /** The time frame the rule applies in; `*` (the default) is the catch-all default rule. */
  timeFrame?: string;
}

/** `ns.answerRules`: a user's answer rule for one time frame. */
export interface AnswerRules {
  /**
   * Updates the user's rule for a time frame: `PUT /ns-api/v2/domains/{domain}/users/{user}/answerrules/{timeFrame}`.
   * A user without a rule for that time frame answers 404 (`NsNotFoundError`).
   *
   * @example
   * ```ts
   * await ns.answerRules.update({
   *   domain: 'example.com',
   *   user: '8001',
   *   forwardAlways: { enabled: true, to: ['webresponder8001'] },
   * });
   * ```
   */
  update(options: AnswerRuleOptions, requestOptions?: NsRequestOptions): Promise<void>;
  /**
   * Creates the user's rule for a time frame: `POST …/users/{user}/answerrules` with `synchronous`
   * (`'yes'` unless `synchronous: false`), `time-frame` and the fields.
   */
  create(options: AnswerRuleOptions & { synchronous?: boolean }, requestOptions?: NsRequestOptions): Promise<void>;
}

const FEATURES = {
  forwardAlways: 'forward-always',
  forwardOnBusy: 'forward-on-busy',
  forwardNoAnswer: 'forward-no-answer',
  forwardWhenUnregistered: 'forward-when-unregistered',
} as const;

function wireFields(fields: AnswerRuleFields): Record<string, unknown> {
  // The spec also lists the read-only `is-active` as required: a spec bug, so it is never sent.
  const wire: Record<string, unknown> = { enabled: yesNo(fields.enabled ?? true) };
  for (const [option, name] of Object.entries(FEATURES) as [keyof typeof FEATURES, string][]) {
    const feature = fields[option];
    if (feature) wire[name] = { enabled: yesNo(feature.enabled), parameters: feature.to ?? [] };
  }
  return wire;
}

export function answerRulesResource(request: NsRequester): AnswerRules {
  return {
    async update(options, requestOptions) {
      const domain = requireText(options.domain, 'domain');
      const user = requireText(options.user, 'user');
      const timeFrame = options.timeFrame ?? '*';
      await request(
        {
          method: 'PUT',
          path: nsPath`/ns-api/v2/domains/${domain}/users/${user}/answerrules/${timeFrame}`,
          json: wireFields(options),
          expect: writeReply,
        },
        requestOptions,
      );
    },

    async create(options, requestOptions) {
      const domain = requireText(options.domain, 'domain');
      const user = requireText(options.user, 'user');
      await request(
        {
          method: 'POST',
          path: nsPath`/ns-api/v2/domains/${domain}/users/${user}/answerrules`,
          json: {
            synchronous: options.synchronous === false ? 'no' : 'yes',
            'time-frame': options.timeFrame ?? '*',
            ...wireFields(options),
          },
          expect: writeReply,
        },
        requestOptions,
      );
    },
  };
}
