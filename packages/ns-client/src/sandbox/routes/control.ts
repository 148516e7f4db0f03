import type { FaultList, SandboxFault } from '../faults.js';
import type { SandboxState } from '../state.js';
import { error, NO_ROUTE, type Reply } from './shared.js';

export const CONTROL_PREFIX = '/_sandbox';

export interface ControlContext {
  state: SandboxState;
  faults: FaultList;
  /** Forgets everything, as `NsSandbox.reset()` does. */
  reset(): void;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A fault as JSON can carry it: `route` is a route name or `{pattern, flags?}` (a RegExp's source). */
function faultFromJson(json: unknown): SandboxFault {
  if (!isRecord(json)) throw new TypeError('A fault must be a JSON object');
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

/** The harness's own endpoints, for tests and demos in other processes. `body` is the parsed JSON body. */
export function handleControl(context: ControlContext, method: string, pathname: string, body: unknown): Reply {
  const path = pathname.replace(/\/+$/, '');
  if (method === 'GET' && path === `${CONTROL_PREFIX}/state`) return { status: 200, body: context.state.snapshot() };
  if (method === 'GET' && path === `${CONTROL_PREFIX}/requests`) return { status: 200, body: context.state.requests };
  if (method === 'POST' && path === `${CONTROL_PREFIX}/faults`) {
    try {
      context.faults.inject(faultFromJson(body));
    } catch (problem) {
      if (problem instanceof TypeError) return error(400, problem.message);
      throw problem;
    }
    return { status: 204 };
  }
  if (method === 'DELETE' && path === `${CONTROL_PREFIX}/faults`) {
    context.faults.clear();
    return { status: 204 };
  }
  if (method === 'POST' && path === `${CONTROL_PREFIX}/reset`) {
    context.reset();
    return { status: 204 };
  }
  return NO_ROUTE;
}
