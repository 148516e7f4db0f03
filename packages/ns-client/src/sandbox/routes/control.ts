import type { SandboxFault } from '../faults.js';
import type { SimulateCallOptions } from '../index.js';
import { isRecord } from '../schemas.js';
import { error, param, type Reply, type Route, type RouteContext } from './shared.js';

const CONTROL_PREFIX = '/_sandbox';
const NO_CONTENT: Reply = { status: 204 };

/** Whether a pathname is the harness's own: such requests are neither faulted nor logged. */
export function isControlPath(pathname: string): boolean {
  return pathname === CONTROL_PREFIX || pathname.startsWith(`${CONTROL_PREFIX}/`);
}

/** A fault as JSON can carry it: `route` is a route name or `{pattern, flags?}` (a RegExp's source). */
function faultFromJson(json: Record<string, unknown>): SandboxFault {
  const { route, ...rest } = json;
  let parsedRoute: unknown = route;
  if (isRecord(route)) {
    const { pattern, flags } = route;
    if (typeof pattern !== 'string') throw new TypeError('fault.route.pattern must be a string');
    if (flags !== undefined && typeof flags !== 'string') throw new TypeError('fault.route.flags must be a string');
    try {
      parsedRoute = new RegExp(pattern, flags);
    } catch {
      throw new TypeError('fault.route.pattern is not a valid regular expression');
    }
  }
  // Each field's type is checked by FaultList.inject, which gets the same object a caller in-process would pass.
  return { ...rest, route: parsedRoute } as SandboxFault;
}

function injectFault(context: RouteContext): Reply {
  try {
    context.faults.inject(faultFromJson(context.body));
  } catch (problem) {
    if (problem instanceof TypeError) return error(400, problem.message);
    throw problem;
  }
  return NO_CONTENT;
}

function clearFaults({ faults }: RouteContext): Reply {
  faults.clear();
  return NO_CONTENT;
}

/** A `TypeError` (what the sandbox throws for options it cannot use) is the caller's 400. */
async function refusingTypeErrors(run: () => Promise<unknown>): Promise<Reply> {
  try {
    return { status: 200, body: await run() };
  } catch (problem) {
    if (problem instanceof TypeError) return error(400, problem.message);
    throw problem;
  }
}

function simulateCall(context: RouteContext): Promise<Reply> {
  return refusingTypeErrors(() => context.deliverer.simulateCall(context.body as unknown as SimulateCallOptions));
}

function deliver(context: RouteContext): Promise<Reply> | Reply {
  const id = param(context, 'id');
  if (!context.state.getSubscription(id)) return error(404, 'Subscription not found');
  return refusingTypeErrors(() => context.deliverer.deliver(id, context.body.records));
}

function reset(context: RouteContext): Reply {
  context.reset();
  return NO_CONTENT;
}

/** The harness's own endpoints, for tests and demos in other processes; anything else under the prefix is 404. */
export const controlRoutes: readonly Route[] = [
  {
    method: 'GET',
    path: `${CONTROL_PREFIX}/state`,
    body: 'none',
    auth: false,
    handle: ({ state }) => ({ status: 200, body: state.snapshot() }),
  },
  {
    method: 'GET',
    path: `${CONTROL_PREFIX}/requests`,
    body: 'none',
    auth: false,
    handle: ({ state }) => ({ status: 200, body: state.requests }),
  },
  { method: 'POST', path: `${CONTROL_PREFIX}/faults`, body: 'json', auth: false, handle: injectFault },
  { method: 'DELETE', path: `${CONTROL_PREFIX}/faults`, body: 'none', auth: false, handle: clearFaults },
  { method: 'POST', path: `${CONTROL_PREFIX}/reset`, body: 'none', auth: false, handle: reset },
  { method: 'POST', path: `${CONTROL_PREFIX}/calls/simulate`, body: 'json', auth: false, handle: simulateCall },
  { method: 'POST', path: `${CONTROL_PREFIX}/subscriptions/:id/deliver`, body: 'json', auth: false, handle: deliver },
];
