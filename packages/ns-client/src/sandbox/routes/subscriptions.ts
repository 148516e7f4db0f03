import { randomBytes } from 'node:crypto';
import { nsDateTime } from '../call-records.js';
import { isActive, parseNsDateTime } from '../deliveries.js';
import type { SandboxSubscription } from '../state.js';
import { ACCEPTED, error, invalid, param, text, without, type Reply, type Route, type RouteContext } from './shared.js';

const NOT_FOUND = error(404, 'Subscription not found');
/** What NetSapiens sets itself: a body never overrides it. */
const FIXED = [
  'synchronous',
  'id',
  'status',
  'error-count',
  'posts-count',
  'current-active-server',
  'subscription-creation-datetime',
  'user-scope',
];
/** Without an expiry, an API key's subscription lasts 20 years. */
const DEFAULT_LIFETIME_MS = 20 * 365.25 * 24 * 3600 * 1000;

/** The problem with a post URL, never repeating it (it carries its receiver's secret). */
function postUrlProblem(value: string): Reply | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return error(400, 'post-url must be an http(s) URL');
  }
  return url.protocol === 'http:' || url.protocol === 'https:' ? undefined : error(400, 'post-url must be an http(s) URL');
}

function expiryProblem(body: Record<string, unknown>): Reply | undefined {
  const expires = body['subscription-expires-datetime'];
  return typeof expires === 'string' && parseNsDateTime(expires) === undefined
    ? error(400, 'subscription-expires-datetime must be YYYY-MM-DD HH:MM:SS')
    : undefined;
}

function createSubscription(context: RouteContext): Reply {
  const body = context.body;
  const problem = invalid('subscriptions.create', body) ?? expiryProblem(body);
  if (problem) return problem;
  // Not required by the spec's schema, but a subscription without them could never send anything.
  const model = text(body.model);
  if (model === '') return error(400, 'model is required');
  const postUrl = text(body['post-url']);
  if (postUrl === '') return error(400, 'post-url is required');
  const badUrl = postUrlProblem(postUrl);
  if (badUrl) return badUrl;
  const now = Date.now();
  const record: SandboxSubscription = {
    ...without(body, FIXED),
    id: randomBytes(16).toString('hex'),
    model,
    'post-url': postUrl,
    domain: text(body.domain) || '*',
    user: text(body.user) || '*',
    reseller: text(body.reseller) || '*',
    // The sandbox's credentials can do anything, as a Super User's.
    'user-scope': 'Super User',
    'subscription-geo-support': text(body['subscription-geo-support']) || 'yes',
    'preferred-server': text(body['preferred-server']),
    'current-active-server': '',
    status: 'pending',
    'error-count': 0,
    'posts-count': 0,
    'subscription-creation-datetime': nsDateTime(now),
    'subscription-expires-datetime': text(body['subscription-expires-datetime']) || nsDateTime(now + DEFAULT_LIFETIME_MS),
  };
  const identical = context.state.subscriptions.some(
    (other) =>
      isActive(other, now) &&
      other.model === record.model &&
      other['post-url'] === record['post-url'] &&
      other.domain === record.domain &&
      other.user === record.user,
  );
  if (identical) return error(409, 'Subscription already exists');
  // NetSapiens answers a create with the record, `synchronous` or not.
  return { status: 200, body: context.state.createSubscription(record) };
}

function getSubscription(context: RouteContext): Reply {
  const subscription = context.state.getSubscription(param(context, 'id'));
  return subscription ? { status: 200, body: subscription } : NOT_FOUND;
}

function updateSubscription(context: RouteContext): Reply {
  const body = context.body;
  const problem = invalid('subscriptions.update', body) ?? expiryProblem(body);
  if (problem) return problem;
  for (const counter of ['error-count', 'posts-count']) {
    if (body[counter] !== undefined && body[counter] !== 0) return error(400, `${counter} can only be reset to 0`);
  }
  const postUrl = body['post-url'];
  if (typeof postUrl === 'string') {
    const badUrl = postUrlProblem(postUrl);
    if (badUrl) return badUrl;
  }
  const changes = without(
    body,
    FIXED.filter((field) => field !== 'error-count' && field !== 'posts-count'),
  );
  const updated = context.state.updateSubscription(param(context, 'id'), changes as Partial<SandboxSubscription>);
  return updated ? ACCEPTED : NOT_FOUND;
}

function deleteSubscription(context: RouteContext): Reply {
  const body = context.body;
  const problem = invalid('subscriptions.delete', body);
  if (problem) return problem;
  const id = param(context, 'id');
  if (body.subscription_id !== id) return error(400, 'subscription_id must be the id in the path');
  const subscription = context.state.getSubscription(id);
  if (!subscription || (typeof body.domain === 'string' && body.domain !== subscription.domain)) return NOT_FOUND;
  context.state.deleteSubscription(id);
  return ACCEPTED;
}

const SUBSCRIPTIONS = '/ns-api/v2/subscriptions';

export const subscriptionRoutes: readonly Route[] = [
  { name: 'subscriptions.create', method: 'POST', path: SUBSCRIPTIONS, body: 'json', auth: true, handle: createSubscription },
  {
    name: 'subscriptions.list',
    method: 'GET',
    path: SUBSCRIPTIONS,
    body: 'none',
    auth: true,
    handle: ({ state }) => ({ status: 200, body: state.subscriptions }),
  },
  { name: 'subscriptions.get', method: 'GET', path: `${SUBSCRIPTIONS}/:id`, body: 'none', auth: true, handle: getSubscription },
  { name: 'subscriptions.update', method: 'PUT', path: `${SUBSCRIPTIONS}/:id`, body: 'json', auth: true, handle: updateSubscription },
  { name: 'subscriptions.delete', method: 'DELETE', path: `${SUBSCRIPTIONS}/:id`, body: 'json', auth: true, handle: deleteSubscription },
];
