import { recordReply, writeReply } from '../answers.js';
import { requireText } from '../args.js';
import { nsPath } from '../path.js';
import type { NsRequestOptions } from '../client.js';
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

/** What `users.create` takes; each field's wire name is given beside it. */
export interface CreateUserOptions {
  /** The NetSapiens domain (in the path). */
  domain: string;
  /** The user id (usually an extension), e.g. `8001`: `user`. */
  user: string;
  /** `name-first-name`. */
  firstName: string;
  /** `name-last-name`. */
  lastName: string;
  /** `email-address`. */
  email: string;
  /** `user-scope`; default `Basic User`, as in NetSapiens. */
  scope?: UserScope;
  /** `service-code`. A `system-…` code hides the user in the portals (e.g. `system-webresponder`). */
  serviceCode?: string;
  /** Wait until the user can be read back (200) rather than accepted (202): `synchronous: 'yes'` (`'no'` when false). Default `true`. */
  synchronous?: boolean;
}

/** What `users.get` takes; both required. */
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

/** `ns.users`: creating and reading users. */
export interface Users {
  /**
   * Creates a user: `POST /ns-api/v2/domains/{domain}/users`. A user that already exists is an
   * `NsConflictError` (409, `nsMessage` `UID already exists.`).
   *
   * @example
   * ```ts
   * await ns.users.create({ domain: 'example.com', user: '2000', firstName: 'Front', lastName: 'Desk', email: 'desk@example.com' });
   * ```
   */
  create(options: CreateUserOptions, requestOptions?: NsRequestOptions): Promise<void>;
  /**
   * Reads one user: `GET /ns-api/v2/domains/{domain}/users/{user}`. One that does not exist is an
   * `NsNotFoundError` (404); a 2xx that is not a JSON object is an `NsResponseError`.
   *
   * @example
   * ```ts
   * const user = await ns.users.get({ domain: 'example.com', user: '8001' });
   * user['service-code']; // 'system-webresponder', or undefined for most users
   * ```
   */
  get(options: GetUserOptions, requestOptions?: NsRequestOptions): Promise<NsUser>;
}

export function usersResource(request: NsRequester): Users {
  return {
    async create(options, requestOptions) {
      const domain = requireText(options.domain, 'domain');
      await request(
        {
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
        },
        requestOptions,
      );
    },

    async get(options, requestOptions) {
      const domain = requireText(options.domain, 'domain');
      const user = requireText(options.user, 'user');
      const { body } = await request<NsUser>(
        {
          method: 'GET',
          path: nsPath`/ns-api/v2/domains/${domain}/users/${user}`,
          expect: recordReply,
        },
        requestOptions,
      );
      return body;
    },
  };
}
