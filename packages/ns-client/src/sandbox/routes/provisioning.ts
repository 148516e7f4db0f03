import { dialRuleId, type SandboxDialRule, type SandboxUser } from '../state.js';
import { ACCEPTED, error, invalid, isSynchronous, param, text, without, type Reply, type Route, type RouteContext } from './shared.js';

const USER_NOT_FOUND = error(404, 'User not found');

// Request-only flags, and fields the path or the sandbox sets: a body never overrides them.
const USER_FIXED = ['synchronous', 'domain', 'user'];
const DIAL_RULE_FIXED = ['synchronous', 'domain', 'dialplan', 'dialrule', 'dial-rule-dial-plan'];
// The id is derived from the match, so an update cannot change the match (either spelling).
const DIAL_RULE_UPDATE_FIXED = [...DIAL_RULE_FIXED, 'dial-rule-matching-to-uri', 'dail-rule-matching-to-uri'];
// `order` and `is-active` are read-only in NetSapiens' model; `new-position` is an instruction, not a field.
const ANSWER_RULE_FIXED = ['synchronous', 'domain', 'user', 'time-frame', 'order', 'is-active', 'new-position'];

function createUser(context: RouteContext): Reply {
  const problem = invalid('users.create', context.body);
  if (problem) return problem;
  const domain = param(context, 'domain');
  const user = text(context.body.user);
  if (context.state.hasUser(domain, user)) return error(409, 'UID already exists.');
  const body = context.body;
  const record: SandboxUser = {
    // NetSapiens' documented default login.
    'login-username': `${user}@${domain}`,
    ...without(body, USER_FIXED),
    domain,
    user,
    'name-first-name': text(body['name-first-name']),
    'name-last-name': text(body['name-last-name']),
    'email-address': text(body['email-address']),
    'user-scope': text(body['user-scope']),
  };
  const created = context.state.createUser(record, context.settings.autoCreateAnswerRule);
  return isSynchronous(body) ? { status: 200, body: created } : ACCEPTED;
}

function getUser(context: RouteContext): Reply {
  const user = context.state.getUser(param(context, 'domain'), param(context, 'user'));
  return user ? { status: 200, body: user } : USER_NOT_FOUND;
}

/** A rule as NetSapiens returns it: `dialplan` is the sandbox's own field, `dial-rule-dial-plan` NS's. */
function wireDialRule(rule: SandboxDialRule): Record<string, unknown> {
  return without(rule, ['dialplan']);
}

function createDialRule(context: RouteContext): Reply {
  const body = context.body;
  const problem = invalid('dialrules.create', body);
  if (problem) return problem;
  const domain = param(context, 'domain');
  const dialplan = param(context, 'dialplan');
  const match = text(body['dial-rule-matching-to-uri']);
  const id = dialRuleId(match);
  if (context.state.getDialRule(domain, dialplan, id)) return error(409, 'Dial rule already exists');
  const rule: SandboxDialRule = {
    enabled: 'yes',
    ...without(body, DIAL_RULE_FIXED),
    domain,
    dialplan,
    dialrule: id,
    'dial-rule-dial-plan': dialplan,
    'dial-rule-matching-to-uri': match,
    'dial-rule-translation-destination-user': text(body['dial-rule-translation-destination-user']),
  };
  const created = context.state.createDialRule(rule);
  return isSynchronous(body) ? { status: 200, body: wireDialRule(created) } : ACCEPTED;
}

function listDialRules(context: RouteContext): Reply {
  const rules = context.state.listDialRules(param(context, 'domain'), param(context, 'dialplan'));
  return { status: 200, body: rules.map(wireDialRule) };
}

function getDialRule(context: RouteContext): Reply {
  const rule = context.state.getDialRule(param(context, 'domain'), param(context, 'dialplan'), param(context, 'dialrule'));
  return rule ? { status: 200, body: wireDialRule(rule) } : error(404, 'Dial rule not found');
}

function updateDialRule(context: RouteContext): Reply {
  const problem = invalid('dialrules.update', context.body);
  if (problem) return problem;
  const changes = without(context.body, DIAL_RULE_UPDATE_FIXED);
  const updated = context.state.updateDialRule(param(context, 'domain'), param(context, 'dialplan'), param(context, 'dialrule'), changes);
  return updated ? ACCEPTED : error(404, 'Dial rule not found');
}

function listAnswerRules(context: RouteContext): Reply {
  const domain = param(context, 'domain');
  const user = param(context, 'user');
  if (!context.state.hasUser(domain, user)) return USER_NOT_FOUND;
  return { status: 200, body: context.state.listAnswerRules(domain, user) };
}

function updateAnswerRule(context: RouteContext): Reply {
  const problem = invalid('answerrules.update', context.body);
  if (problem) return problem;
  const domain = param(context, 'domain');
  const user = param(context, 'user');
  if (!context.state.hasUser(domain, user)) return USER_NOT_FOUND;
  const changes = without(context.body, ANSWER_RULE_FIXED);
  const updated = context.state.updateAnswerRule(domain, user, param(context, 'timeframe'), changes);
  return updated ? ACCEPTED : error(404, 'Answer rule not found');
}

function createAnswerRule(context: RouteContext): Reply {
  const body = context.body;
  const problem = invalid('answerrules.create', body);
  if (problem) return problem;
  const domain = param(context, 'domain');
  const user = param(context, 'user');
  if (!context.state.hasUser(domain, user)) return USER_NOT_FOUND;
  const timeFrame = text(body['time-frame']);
  if (context.state.getAnswerRule(domain, user, timeFrame)) return error(409, 'Answer rule already exists');
  const created = context.state.createAnswerRule({
    ...without(body, ANSWER_RULE_FIXED),
    domain,
    user,
    'time-frame': timeFrame,
    enabled: text(body.enabled),
  });
  return isSynchronous(body) ? { status: 200, body: created } : ACCEPTED;
}

const USERS = '/ns-api/v2/domains/:domain/users';
const DIAL_RULES = '/ns-api/v2/domains/:domain/dialplans/:dialplan/dialrules';
const ANSWER_RULES = '/ns-api/v2/domains/:domain/users/:user/answerrules';

export const provisioningRoutes: readonly Route[] = [
  { name: 'users.create', method: 'POST', path: USERS, body: 'json', auth: true, handle: createUser },
  { name: 'users.get', method: 'GET', path: `${USERS}/:user`, body: 'none', auth: true, handle: getUser },
  { name: 'dialrules.list', method: 'GET', path: DIAL_RULES, body: 'none', auth: true, handle: listDialRules },
  { name: 'dialrules.create', method: 'POST', path: DIAL_RULES, body: 'json', auth: true, handle: createDialRule },
  { name: 'dialrules.get', method: 'GET', path: `${DIAL_RULES}/:dialrule`, body: 'none', auth: true, handle: getDialRule },
  { name: 'dialrules.update', method: 'PUT', path: `${DIAL_RULES}/:dialrule`, body: 'json', auth: true, handle: updateDialRule },
  { name: 'answerrules.list', method: 'GET', path: ANSWER_RULES, body: 'none', auth: true, handle: listAnswerRules },
  { name: 'answerrules.create', method: 'POST', path: ANSWER_RULES, body: 'json', auth: true, handle: createAnswerRule },
  { name: 'answerrules.update', method: 'PUT', path: `${ANSWER_RULES}/:timeframe`, body: 'json', auth: true, handle: updateAnswerRule },
];
