import { recordReply, writeReply } from '../answers.js';
import { requireText } from '../args.js';
import { nsPath } from '../path.js';
import type { NsRequester } from '../request.js';

/** The portal scopes NetSapiens' v2 API accepts for `user-scope`. */
export type UserScope =
  | 'Basic User'
  | 'Simple User'
  | 'Advanced User'
  | 'Call Center Agent'
  | 'Site Manager'
  | 'Call Center Supervisor'
  | 'Office Manager'
  | 'Reseller'
  | 'Super User'
  | 'NDP'
  | 'No Portal';

export interface CreateUserOptions {
  domain: string;
  /** The user id (usually an extension), e.g. `8001`. */
  user: string;
  firstName: string;
  lastName: string;
  email: string;
  /** Default `Basic User`, as in NetSapiens. */
  scope?: UserScope;
  /** A `system-…` service code hides the user in the portals (e.g. `system-webresponder`). */
  serviceCode?: string;
  /** Wait until the user can be read back (200) rather than accepted (202). Default `true`. */
  synchronous?: boolean;
}

export interface GetUserOptions {
  domain: string;
  user: string;
}

/** A user as NetSapiens returns it: kebab-case fields, a few typed, the rest `unknown`. */
export interface NsUser {
  domain?: string;
  user?: string;
  'name-first-name'?: string;
  'name-last-name'?: string;
  'email-address'?: string;
  'user-scope'?: string;
  /** A tag such as `system-webresponder`; absent or empty for most users. */
  'service-code'?: string;
  [field: string]: unknown;
}

export interface Users {
  /** Creates a user. A user that already exists is a 409 `NsHttpError` (`UID already exists.`). */
  create(options: CreateUserOptions): Promise<void>;
  /** Reads one user. One that does not exist is a 404 `NsHttpError`. */
  get(options: GetUserOptions): Promise<NsUser>;
}

export function usersResource(request: NsRequester): Users {
  return {
    async create(options) {
      const domain = requireText(options.domain, 'domain');
      await request({
        method: 'POST',
        path: nsPath`/ns-api/v2/domains/${domain}/users`,
        json: {
          synchronous: options.synchronous === false ? 'no' : 'yes',
          user: requireText(options.user, 'user'),
          'name-first-name': requireText(options.firstName, 'firstName'),
          'name-last-name': requireText(options.lastName, 'lastName'),
          'email-address': requireText(options.email, 'email'),
          'user-scope': options.scope ?? 'Basic User',
          ...(options.serviceCode ? { 'service-code': options.serviceCode } : {}),
        },
        expect: writeReply,
      });
    },

    async get(options) {
      const domain = requireText(options.domain, 'domain');
      const user = requireText(options.user, 'user');
      const { body } = await request<NsUser>({ method: 'GET', path: nsPath`/ns-api/v2/domains/${domain}/users/${user}`, expect: recordReply });
      return body;
    },
  };
}
