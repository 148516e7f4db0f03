import { NsHttpError } from './errors.js';
import type { Credentials } from './auth.js';
import type { NsRequest, NsResponse, Send } from './transport.js';

/** Sends an authenticated request; what every resource calls. */
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
