import { ACCEPTED, error, invalid, param, text, type Route, type RouteContext, type Reply } from './shared.js';

const QUALIFIED_QUEUE = /^[^@]+@[^@]+$/;
const SESSION_ID = /^[A-Za-z0-9_]{32,}$/;
const QUEUE_NOT_FOUND = 'Call Queue not found';

function createLegacyQueuedCall(context: RouteContext): Reply {
  // The legacy API reads its fields like PHP's $_REQUEST: the query string, then the body over it.
  const fields: Record<string, unknown> = { ...Object.fromEntries(context.query), ...context.body };
  const problem = invalid('queuedcall.create', fields);
  if (problem) return problem;
  const queue = text(fields.queue);
  const qualified = QUALIFIED_QUEUE.test(queue);
  context.state.addCall({
    api: 'v1',
    queue,
    destination: text(fields.destination),
    uid: text(fields.uid),
    ...(qualified ? { domain: queue.slice(queue.indexOf('@') + 1) } : {}),
    // A bare extension is accepted all the same: the call then fails silently inside NetSapiens.
    ...(qualified ? { status: 'queued' as const } : { status: 'failed' as const, reason: QUEUE_NOT_FOUND }),
  });
  return { status: 202 };
}

function createQueuedCallV2(context: RouteContext): Reply {
  const problem = invalid('queuedcall.createV2', context.body);
  if (problem) return problem;
  const domain = param(context, 'domain');
  const callqueue = param(context, 'callqueue');
  // The path takes a bare extension: `9002@domain` there names no queue, and fails like a bare legacy one.
  const found = !callqueue.includes('@');
  context.state.addCall({
    api: 'v2',
    queue: `${callqueue}@${domain}`,
    destination: text(context.body.destination),
    domain,
    ...(found ? { status: 'queued' as const } : { status: 'failed' as const, reason: QUEUE_NOT_FOUND }),
  });
  return { status: 200, body: {} };
}

function sendMessage(context: RouteContext): Reply {
  const sessionId = context.params.sessionId;
  if (sessionId !== undefined && !SESSION_ID.test(sessionId)) {
    return error(400, 'messagesession must be at least 32 characters of [A-Za-z0-9_]');
  }
  const problem = invalid('messages.send', context.body);
  if (problem) return problem;
  const { type, message, destination } = context.body;
  const fromNumber = context.body['from-number'];
  context.state.addMessage({
    domain: param(context, 'domain'),
    user: param(context, 'user'),
    ...(sessionId !== undefined ? { sessionId } : {}),
    type: text(type),
    message: text(message),
    destination: Array.isArray(destination) ? destination.map(text) : text(destination),
    ...(typeof fromNumber === 'string' ? { fromNumber } : {}),
  });
  return ACCEPTED;
}

export const callRoutes: readonly Route[] = [
  {
    name: 'queuedcall.create',
    method: 'POST',
    path: '/ns-api',
    query: { object: 'queuedcall', action: 'create' },
    body: 'form',
    auth: true,
    handle: createLegacyQueuedCall,
  },
  {
    name: 'queuedcall.createV2',
    method: 'POST',
    path: '/ns-api/v2/domains/:domain/queuedcall/:callqueue',
    body: 'json',
    auth: true,
    handle: createQueuedCallV2,
  },
  {
    name: 'messages.send',
    method: 'POST',
    path: '/ns-api/v2/domains/:domain/users/:user/messagesessions/:sessionId/messages',
    body: 'json',
    auth: true,
    handle: sendMessage,
  },
  {
    name: 'messages.send',
    method: 'POST',
    path: '/ns-api/v2/domains/:domain/users/:user/messages',
    body: 'json',
    auth: true,
    handle: sendMessage,
  },
];
