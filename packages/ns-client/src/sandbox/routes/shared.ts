import type { Deliverer } from '../deliveries.js';
import type { FaultList, SandboxRouteName } from '../faults.js';
import type { NsSandboxOAuthOptions } from '../index.js';
import { validateBody, type SchemaName } from '../schemas.js';
import type { SandboxState } from '../state.js';

/** The OAuth settings in force, defaults applied. */
export type OAuthSettings = Required<NsSandboxOAuthOptions>;

export interface SandboxSettings {
  oauth: OAuthSettings | undefined;
  autoCreateAnswerRule: boolean;
}

/** An answer. `body` is sent as JSON; without one the body is empty. */
export interface Reply {
  status: number;
  body?: unknown;
  headers?: Readonly<Record<string, string>>;
}

/**
 * How a route reads its body. `json`: v2 is JSON only, whatever the content type says. `form`:
 * multipart or url-encoded fields (the legacy API). `json-or-form`: by content type (the legacy token
 * endpoint). `none`: not read.
 */
export type BodyMode = 'json' | 'form' | 'json-or-form' | 'none';

/** The running sandbox's parts, which the server hands every route. */
export interface SandboxParts {
  state: SandboxState;
  settings: SandboxSettings;
  faults: FaultList;
  /** Sends call records to subscriptions' post URLs. */
  deliverer: Deliverer;
  /** Forgets everything, as `NsSandbox.reset()` does. */
  reset(): void;
}

export interface RouteContext extends SandboxParts {
  /** Path parameters, percent-decoded. */
  params: Readonly<Record<string, string>>;
  query: URLSearchParams;
  /** The parsed body: an object for `json` routes (`{}` when empty), string fields for `form` ones. */
  body: Record<string, unknown>;
}

export interface Route {
  /** What faults and the request log call it; the control endpoints, neither faulted nor logged, have none. */
  name?: SandboxRouteName;
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** Segments such as `/ns-api/v2/domains/:domain/users`; `:name` captures one segment. */
  path: string;
  /** Query parameters the route needs with these exact values (the legacy API routes by query). */
  query?: Readonly<Record<string, string>>;
  body: BodyMode;
  /** Whether a bearer token is required. */
  auth: boolean;
  /** Whether the body may hold secrets and so must stay out of the request log. */
  secretBody?: boolean;
  handle(context: RouteContext): Reply | Promise<Reply>;
}

export function error(status: number, message: string): Reply {
  return { status, body: { code: status, message } };
}

export const NO_ROUTE: Reply = error(404, 'No Route Found');

/** What a v2 write answers without `synchronous: "yes"`. */
export const ACCEPTED: Reply = { status: 202, body: { code: 202, message: 'Accepted' } };

/** 400 with the first broken rule, or undefined when the body is valid. */
export function invalid(schema: SchemaName, body: Record<string, unknown>): Reply | undefined {
  const problem = validateBody(schema, body);
  return problem === undefined ? undefined : error(400, problem);
}

/** A field's value when it is a string, else `''`. */
export function text(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

export function isSynchronous(body: Record<string, unknown>): boolean {
  return body.synchronous === 'yes';
}

/** `body` without the listed fields (request-only flags and fields that identify the record). */
export function without(body: Record<string, unknown>, fields: readonly string[]): Record<string, unknown> {
  return Object.fromEntries(Object.entries(body).filter(([field]) => !fields.includes(field)));
}

export function param(context: RouteContext, name: string): string {
  const value = context.params[name];
  // The router fills every `:name` of the route's path, so a miss is a bug in the route table.
  if (value === undefined) throw new Error(`Route parameter ${name} is missing`);
  return value;
}

export interface RouteMatch {
  route: Route;
  params: Record<string, string>;
}

/** Splits a pathname into percent-decoded segments, ignoring a trailing slash; undefined if malformed. */
export function pathSegments(pathname: string): string[] | undefined {
  const trimmed = pathname.length > 1 ? pathname.replace(/\/+$/, '') : pathname;
  try {
    return trimmed
      .split('/')
      .slice(1)
      .map((segment) => decodeURIComponent(segment));
  } catch {
    return undefined;
  }
}

export function matchRoute(
  routes: readonly Route[],
  method: string,
  segments: readonly string[],
  query: URLSearchParams,
): RouteMatch | undefined {
  for (const route of routes) {
    if (route.method !== method) continue;
    const pattern = route.path.split('/').slice(1);
    if (pattern.length !== segments.length) continue;
    const params: Record<string, string> = {};
    const matches = pattern.every((part, index) => {
      const segment = segments[index] ?? '';
      if (!part.startsWith(':')) return part === segment;
      params[part.slice(1)] = segment;
      return segment !== '';
    });
    if (!matches) continue;
    if (route.query && !Object.entries(route.query).every(([name, value]) => query.get(name) === value)) continue;
    return { route, params };
  }
  return undefined;
}
