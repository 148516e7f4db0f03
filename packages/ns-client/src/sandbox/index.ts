import { randomBytes } from 'node:crypto';
import type { EventEmitter } from 'node:events';
import { isIP } from 'node:net';
import { FaultList, type SandboxFault } from './faults.js';
import type { OAuthSettings } from './routes/shared.js';
import { SandboxServer } from './server.js';
import {
  SandboxState,
  type SandboxAnswerRule,
  type SandboxCall,
  type SandboxDialRule,
  type SandboxEvents,
  type SandboxMessage,
  type SandboxRequest,
  type SandboxUser,
} from './state.js';

export { SANDBOX_ROUTE_NAMES, type SandboxFault, type SandboxRouteName } from './faults.js';
export { BODY_SCHEMAS, USER_SCOPES, validateBody, type BodySchema, type FieldRule, type FieldType, type SchemaName } from './schemas.js';
export { MAX_BODY_BYTES } from './body.js';
export {
  dialRuleId,
  MAX_RECORDED_REQUESTS,
  type SandboxAnswerRule,
  type SandboxCall,
  type SandboxDialRule,
  type SandboxEvents,
  type SandboxMessage,
  type SandboxProvisionEvent,
  type SandboxRequest,
  type SandboxSnapshot,
  type SandboxUser,
} from './state.js';

export interface NsSandboxOAuthOptions {
  clientId: string;
  clientSecret: string;
  username: string;
  password: string;
  /** Access-token lifetime; default 3600. */
  expiresInSeconds?: number;
  /** true: `/ns-api/v2/tokens` answers 404 "No Route Found", as on an older cluster. */
  legacyEndpointOnly?: boolean;
}

export interface NsSandboxOptions {
  /** Default 0: an ephemeral port. */
  port?: number;
  /** Default `127.0.0.1`. */
  host?: string;
  /** The API key accepted as a bearer token; default: a random 32-character token. */
  token?: string;
  /** Enables the OAuth token endpoints. */
  oauth?: NsSandboxOAuthOptions;
  /**
   * Default true: a user created through v2 gets a default `*` answer rule, as NetSapiens v2 does.
   * false reproduces clusters where it is missing.
   */
  autoCreateAnswerRule?: boolean;
}

/** A running sandbox. The collections are snapshots: each read returns fresh copies. */
export interface NsSandbox {
  /** `http://127.0.0.1:PORT`, without a trailing slash. */
  readonly url: string;
  readonly token: string;
  /** Queued calls received, oldest first. */
  readonly calls: readonly SandboxCall[];
  /** SMS received, oldest first. */
  readonly messages: readonly SandboxMessage[];
  readonly users: readonly SandboxUser[];
  readonly dialRules: readonly SandboxDialRule[];
  readonly answerRules: readonly SandboxAnswerRule[];
  /** Every request to the NetSapiens routes (not the `/_sandbox` control endpoints), oldest first. */
  readonly requests: readonly SandboxRequest[];
  /** `call`, `message`, `provision` and `request`, for live demo pages. */
  readonly events: EventEmitter<SandboxEvents>;
  inject(fault: SandboxFault): void;
  clearFaults(): void;
  /** Forgets calls, messages, provisioning, requests, faults and issued OAuth tokens. */
  reset(): void;
  /** Every issued OAuth access token becomes invalid (its next use answers 401); refresh tokens stay valid. */
  expireAccessTokens(): void;
  /** Every issued refresh token becomes invalid (a refresh answers 401; a password login still works). */
  revokeRefreshTokens(): void;
  /** Closes the server and destroys open connections. */
  close(): Promise<void>;
}

function requireText(value: unknown, name: string): string {
  if (typeof value !== 'string' || value.trim() === '') throw new TypeError(`${name} must be a non-empty string`);
  return value;
}

function oauthSettings(oauth: NsSandboxOAuthOptions | undefined): OAuthSettings | undefined {
  if (oauth === undefined) return undefined;
  const expiresInSeconds = oauth.expiresInSeconds ?? 3600;
  if (typeof expiresInSeconds !== 'number' || !Number.isFinite(expiresInSeconds) || expiresInSeconds <= 0) {
    throw new TypeError('oauth.expiresInSeconds must be a positive number');
  }
  return {
    clientId: requireText(oauth.clientId, 'oauth.clientId'),
    clientSecret: requireText(oauth.clientSecret, 'oauth.clientSecret'),
    username: requireText(oauth.username, 'oauth.username'),
    password: requireText(oauth.password, 'oauth.password'),
    expiresInSeconds,
    legacyEndpointOnly: oauth.legacyEndpointOnly === true,
  };
}

/** Starts a local HTTP server that answers like a NetSapiens portal's API. */
export async function startNsSandbox(options: NsSandboxOptions = {}): Promise<NsSandbox> {
  const port = options.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new TypeError('port must be a whole number from 0 to 65535');
  const host = requireText(options.host ?? '127.0.0.1', 'host');
  const token = options.token === undefined ? randomBytes(16).toString('hex') : requireText(options.token, 'token');
  // The bearer value is one header token: whitespace inside could never be presented.
  if (/\s/.test(token)) throw new TypeError('token must not contain whitespace');
  const settings = { oauth: oauthSettings(options.oauth), autoCreateAnswerRule: options.autoCreateAnswerRule !== false };

  const state = new SandboxState();
  const faults = new FaultList();
  const reset = () => {
    state.reset();
    faults.clear();
  };
  const server = new SandboxServer({ state, faults, settings, reset }, token);
  const address = await server.listen(port, host);
  const url = `http://${isIP(host) === 6 ? `[${host}]` : host}:${address.port}`;

  return {
    url,
    token,
    get calls() {
      return state.calls;
    },
    get messages() {
      return state.messages;
    },
    get users() {
      return state.users;
    },
    get dialRules() {
      return state.dialRules;
    },
    get answerRules() {
      return state.answerRules;
    },
    get requests() {
      return state.requests;
    },
    events: state.events,
    inject: (fault) => faults.inject(fault),
    clearFaults: () => faults.clear(),
    reset,
    expireAccessTokens: () => state.expireAccessTokens(),
    revokeRefreshTokens: () => state.revokeRefreshTokens(),
    close: () => server.close(),
  };
}
