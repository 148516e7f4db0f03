import { createHash, timingSafeEqual } from 'node:crypto';
import { error, invalid, text, type OAuthSettings, type Reply, type Route, type RouteContext } from './shared.js';

/** Compares secrets in constant time (digests first, so lengths do not leak either). */
export function sameSecret(presented: string, expected: string): boolean {
  const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();
  return timingSafeEqual(digest(presented), digest(expected));
}

// One message for every credential mistake: which part was wrong is not for the caller to learn.
const BAD_CREDENTIALS = error(401, 'Invalid credentials');
const GRANTS = ['password', 'refresh_token'];

function grant(context: RouteContext, oauth: OAuthSettings): Reply {
  const body = context.body;
  const grantType = body.grant_type;
  if (grantType === undefined || grantType === null || grantType === '') return error(400, 'grant_type is required');
  if (typeof grantType !== 'string' || !GRANTS.includes(grantType)) {
    return error(400, `grant_type must be one of: ${GRANTS.join(', ')}`);
  }
  const problem = invalid(grantType === 'password' ? 'tokens.password' : 'tokens.refresh_token', body);
  if (problem) return problem;
  // Both checks always run, so a wrong client id takes as long as a wrong secret.
  const clientOk = sameSecret(text(body.client_id), oauth.clientId) && sameSecret(text(body.client_secret), oauth.clientSecret);
  if (grantType === 'password') {
    const userOk = sameSecret(text(body.username), oauth.username) && sameSecret(text(body.password), oauth.password);
    if (!clientOk || !userOk) return BAD_CREDENTIALS;
  } else if (!clientOk || !context.state.consumeRefreshToken(text(body.refresh_token))) {
    return BAD_CREDENTIALS;
  }
  const tokens = context.state.issueTokens(oauth.expiresInSeconds);
  const [user = oauth.username, domain = ''] = oauth.username.split('@');
  return {
    status: 200,
    body: {
      access_token: tokens.accessToken,
      expires_in: tokens.expiresInSeconds,
      refresh_token: tokens.refreshToken,
      token_type: 'Bearer',
      scope: 'Super User',
      domain,
      user,
      username: oauth.username,
      uid: oauth.username,
      client_id: oauth.clientId,
      apiversion: 'Version: 45.0',
    },
  };
}

/** The token endpoints, when OAuth is on: none without it, only the legacy one on an "older cluster". */
export function tokenRoutes(oauth: OAuthSettings | undefined): Route[] {
  if (!oauth) return [];
  const handle = (context: RouteContext) => grant(context, oauth);
  const legacy: Route = {
    name: 'tokens',
    method: 'POST',
    path: '/ns-api/oauth2/token',
    body: 'json-or-form',
    auth: false,
    secretBody: true,
    handle,
  };
  if (oauth.legacyEndpointOnly) return [legacy];
  return [{ name: 'tokens', method: 'POST', path: '/ns-api/v2/tokens', body: 'json', auth: false, secretBody: true, handle }, legacy];
}
