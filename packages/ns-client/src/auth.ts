import { recordReply } from './answers.js';
import { httpErrorFor, NsHttpError, NsNotFoundError, NsRateLimitError, NsUsageError } from './errors.js';
import type { Send } from './transport.js';

/**
 * An API key, sent as the bearer token as it is. There is nothing to renew, so a 401 is thrown (as
 * `NsAuthError`). Beckon's server uses one (`NS_TOKEN`).
 */
export interface NsApiKeyAuth {
  /** The API key; a blank one is an `NsUsageError`. */
  token: string;
}

/**
 * OAuth 2 password grant: the client logs in on first use, refreshes the access token ahead of expiry,
 * logs in again when a refresh fails and renews the token once after a 401 (see "Authentication" in
 * docs/ns-client.md). The four strings are required (else `NsUsageError`); they are posted to the
 * token endpoint only, and no error or log line carries them.
 */
export interface NsOAuthAuth {
  /** Sent as `client_id`. */
  clientId: string;
  /** Sent as `client_secret`. */
  clientSecret: string;
  /** The portal user to log in as, e.g. `1000@example.com`. */
  username: string;
  /** That user's password. */
  password: string;
  /** Refresh this long before the access token expires, in ms: default 60 000, never more than half the token's lifetime. */
  refreshAheadMs?: number;
}

/** How the client authenticates. Either way every request carries `Authorization: Bearer …`. */
export type NsAuth = NsApiKeyAuth | NsOAuthAuth;

/** Hands out the bearer token to present, and a new one when NetSapiens refused the last. */
export interface Credentials {
  token(): Promise<string>;
  /** After a 401: a renewed token, or `undefined` when these credentials cannot be renewed. */
  renew(refused: string): Promise<string | undefined>;
}

export function createCredentials(auth: NsAuth, send: Send): Credentials {
  if (auth && 'token' in auth) {
    if (typeof auth.token !== 'string' || auth.token.trim() === '') throw new NsUsageError('auth.token must be a non-empty string');
    const token = auth.token;
    return { token: async () => token, renew: async () => undefined };
  }
  if (auth && 'clientId' in auth) {
    for (const field of ['clientId', 'clientSecret', 'username', 'password'] as const) {
      if (typeof auth[field] !== 'string' || auth[field] === '') throw new NsUsageError(`auth.${field} must be a non-empty string`);
    }
    return new OAuthCredentials(auth, send);
  }
  throw new NsUsageError('auth must be { token } or { clientId, clientSecret, username, password }');
}

/** A token endpoint's answer, once `tokenReply` has accepted it. */
interface TokenReply {
  access_token: string;
  refresh_token?: unknown;
  expires_in?: unknown;
}

/** A token endpoint's 2xx is JSON with an access token; anything else (an HTML page, `{}`) is an NsResponseError. */
function tokenReply(body: unknown): string | undefined {
  const problem = recordReply(body);
  if (problem !== undefined) return problem;
  const token = typeof body === 'object' && body !== null && 'access_token' in body ? body.access_token : undefined;
  return typeof token === 'string' && token !== '' ? undefined : 'JSON without an access_token';
}

interface Session {
  accessToken: string;
  refreshToken: string | undefined;
  expiresAt: number;
  refreshAt: number;
}

const V2_TOKENS = '/ns-api/v2/tokens';
const LEGACY_TOKENS = '/ns-api/oauth2/token/';

class OAuthCredentials implements Credentials {
  readonly #auth: NsOAuthAuth;
  readonly #send: Send;
  #session: Session | undefined;
  /** The one token request in flight: concurrent callers share it instead of logging in twice. */
  #pending: Promise<string> | undefined;
  /** Older clusters have only the legacy endpoint; once a 404 shows that, stop asking v2. */
  #legacyEndpoint = false;

  constructor(auth: NsOAuthAuth, send: Send) {
    this.#auth = auth;
    this.#send = send;
  }

  async token(): Promise<string> {
    if (this.#pending) return this.#pending;
    const session = this.#session;
    if (!session) return this.#singleFlight(() => this.#login());
    if (Date.now() >= session.refreshAt) return this.#singleFlight(() => this.#refreshOrLogin());
    return session.accessToken;
  }

  async renew(refused: string): Promise<string> {
    if (this.#pending) return this.#pending;
    // Another request already replaced the refused token: use the new one.
    if (this.#session && this.#session.accessToken !== refused) return this.#session.accessToken;
    return this.#singleFlight(() => this.#refreshOrLogin());
  }

  #singleFlight(run: () => Promise<Session>): Promise<string> {
    const pending = run().then((session) => {
      this.#session = session;
      return session.accessToken;
    });
    this.#pending = pending;
    const clear = () => {
      if (this.#pending === pending) this.#pending = undefined;
    };
    pending.then(clear, clear);
    return pending;
  }

  async #refreshOrLogin(): Promise<Session> {
    const refreshToken = this.#session?.refreshToken;
    if (refreshToken) {
      try {
        return await this.#grant({ grant_type: 'refresh_token', refresh_token: refreshToken });
      } catch {
        // A refused or failed refresh is not fatal: the password grant below starts a new session.
      }
    }
    return this.#login();
  }

  #login(): Promise<Session> {
    return this.#grant({ grant_type: 'password', username: this.#auth.username, password: this.#auth.password });
  }

  async #grant(fields: Record<string, string>): Promise<Session> {
    const body = { ...fields, client_id: this.#auth.clientId, client_secret: this.#auth.clientSecret };
    let reply: TokenReply;
    try {
      if (this.#legacyEndpoint) throw new LegacyOnly();
      reply = (await this.#send<TokenReply>({ method: 'POST', path: V2_TOKENS, json: body, expect: tokenReply })).body;
    } catch (error) {
      if (!(error instanceof LegacyOnly) && !(error instanceof NsNotFoundError)) throw withoutBody(error, body);
      this.#legacyEndpoint = true;
      try {
        reply = (await this.#send<TokenReply>({ method: 'POST', path: LEGACY_TOKENS, form: body, expect: tokenReply })).body;
      } catch (legacyError) {
        throw withoutBody(legacyError, body);
      }
    }
    return this.#sessionFrom(reply);
  }

  #sessionFrom(reply: TokenReply): Session {
    const lifetimeMs = (typeof reply.expires_in === 'number' ? reply.expires_in : Number(reply.expires_in) || 3600) * 1000;
    const ahead = Math.min(this.#auth.refreshAheadMs ?? 60_000, lifetimeMs / 2);
    const now = Date.now();
    return {
      accessToken: reply.access_token,
      refreshToken: typeof reply.refresh_token === 'string' ? reply.refresh_token : undefined,
      expiresAt: now + lifetimeMs,
      refreshAt: now + lifetimeMs - ahead,
    };
  }
}

class LegacyOnly extends Error {}

const POSTED_SECRETS = ['password', 'client_secret', 'refresh_token'];

/**
 * A token endpoint's error body could echo what was posted: keep only NetSapiens' code and message,
 * and take the posted secrets out of the message too (before cutting it, so no prefix of one survives).
 */
function withoutBody(error: unknown, posted: Record<string, string>): unknown {
  if (!(error instanceof NsHttpError)) return error;
  const body = error.body as { code?: unknown; message?: unknown } | undefined;
  const secrets = POSTED_SECRETS.map((field) => posted[field]).filter(
    (value): value is string => typeof value === 'string' && value !== '',
  );
  const redact = (text: string) => secrets.reduce((scrubbed, secret) => scrubbed.split(secret).join('[redacted]'), text);
  const safe = {
    ...(typeof body?.code === 'number' ? { code: body.code } : {}),
    ...(typeof body?.message === 'string' ? { message: redact(body.message).slice(0, 200) } : {}),
  };
  const retryAfterMs = error instanceof NsRateLimitError ? error.retryAfterMs : undefined;
  return httpErrorFor({ method: error.method, path: error.path }, error.status, safe, { cause: error.cause, retryAfterMs });
}
