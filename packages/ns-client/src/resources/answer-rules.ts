import { writeReply } from '../answers.js';
import { requireText, yesNo } from '../args.js';
import { nsPath } from '../path.js';
import type { NsRequester } from '../request.js';

/** A forwarding feature of an answer rule: on or off, and where to. */
export interface Forwarding {
  enabled: boolean;
  /** Destinations: users, numbers, or dial-rule matches such as `webresponder8001`. */
  to?: string[];
}

export interface AnswerRuleFields {
  enabled?: boolean;
  forwardAlways?: Forwarding;
  forwardOnBusy?: Forwarding;
  forwardNoAnswer?: Forwarding;
  forwardWhenUnregistered?: Forwarding;
}

export interface AnswerRuleOptions extends AnswerRuleFields {
  domain: string;
  user: string;
  /** The time frame the rule applies in; `*` (the default) is the catch-all default rule. */
  timeFrame?: string;
}

export interface AnswerRules {
  /** Updates the user's rule for a time frame. A user without one answers 404 (`NsHttpError`). */
  update(options: AnswerRuleOptions): Promise<void>;
  /** Creates the user's rule for a time frame. */
  create(options: AnswerRuleOptions & { synchronous?: boolean }): Promise<void>;
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
    async update(options) {
      const domain = requireText(options.domain, 'domain');
      const user = requireText(options.user, 'user');
      const timeFrame = options.timeFrame ?? '*';
      await request({
        method: 'PUT',
        path: nsPath`/ns-api/v2/domains/${domain}/users/${user}/answerrules/${timeFrame}`,
        json: wireFields(options),
        expect: writeReply,
      });
    },

    async create(options) {
      const domain = requireText(options.domain, 'domain');
      const user = requireText(options.user, 'user');
      await request({
        method: 'POST',
        path: nsPath`/ns-api/v2/domains/${domain}/users/${user}/answerrules`,
        json: {
          synchronous: options.synchronous === false ? 'no' : 'yes',
          'time-frame': options.timeFrame ?? '*',
          ...wireFields(options),
        },
        expect: writeReply,
      });
    },
  };
}
