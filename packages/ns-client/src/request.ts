import { NsHttpError } from './errors.js';
import type { Credentials } from './auth.js';
import type { NsRequest, NsResponse, Send } from './transport.js';

/**
 * `ns.request`: any other NetSapiens endpoint, with the same authentication (an OAuth token is renewed
 * once after a 401), errors and retry policy as the methods; what every resource method calls. It
 * resolves to an `NsResponse` for a 2xx answer. Any other status, a 3xx included (redirects are not
 * followed), is an `NsHttpError`; a 2xx whose body is not JSON is an `NsResponseError` whatever
 * `expect` says.
 *
 * @example
 * ```ts
 * const { status, body } = await ns.request<{ total: number }>({
 *   method: 'GET',
 *   path: nsPath`/ns-api/v2/domains/${domain}/users/count`,
 * });
 * ```
 */
export type NsRequester = <T = unknown>(request: NsRequest) => Promise<NsResponse<T>>;

export function createRequester(send: Send, credentials: Credentials): NsRequester {
  return async function request<T>(request: NsRequest): Promise<NsResponse<T>> {
    const token = await credentials.token();
    try {
      return await send<T>(request, token);
    } catch (error) {
      if (!(error instanceof NsHttpError && error.status === 401)) throw error;
      // NetSapiens refused the token before acting on the request, so even a POST is safe to send
      // once more, with a renewed token. A second 401 is final.
      const renewed = await credentials.renew(token);
      if (renewed === undefined) throw error;
      return send<T>(request, renewed);
    }
  };
}
