/**
 * The RingCentral REST calls Beckon makes — JWT-grant login and token refresh, and WebHook
 * subscriptions (create, renew, read, list, delete) — through the official `@ringcentral/sdk`, which
 * keeps the access token, refreshes it before it expires and logs in again with the JWT when the
 * refresh token has run out too.
 *
 * The SDK is given Node's own `fetch` (not its bundled node-fetch 2) with a timeout per request, and a
 * token store in memory: nothing is written to disk. Its errors carry the request (the Authorization
 * header, the JWT in a login's body): they never leave this module. A `RingCentralError` carries
 * RingCentral's status, `errorCode` and message only.
 */
import { SDK } from '@ringcentral/sdk';

export interface RingCentralClientOptions {
  /** `RINGCENTRAL_SERVER_URL`: `https://platform.ringcentral.com`, or a stand-in's URL. */
  serverUrl: string;
  clientId: string;
  clientSecret: string;
  /** The JWT credential made in the Developer Console (`RINGCENTRAL_JWT_TOKEN`). */
  jwt: string;
  /** How long one request may take. Default 10 s. */
  timeoutMs?: number;
}

/** RingCentral refused a request, or could not be reached. Never holds a credential. */
export class RingCentralError extends Error {
  override name = 'RingCentralError';
  constructor(
    message: string,
    /** RingCentral's HTTP status; undefined when it did not answer. */
    readonly status: number | undefined,
    /** RingCentral's `errorCode` (`CMN-102`, `SUB-520`…) or OAuth `error`, when it gave one. */
    readonly errorCode: string | undefined,
  ) {
    super(message);
  }

  /** The subscription does not exist (any more): a 404. */
  get notFound(): boolean {
    return this.status === 404;
  }
}

/** A subscription as RingCentral shows it (`SubscriptionInfo`). */
export interface RingCentralSubscription {
  id: string;
  /** `Active`, `Suspended` or `Blacklisted`. A blacklisted subscription is never delivered to again. */
  status: string;
  eventFilters: string[];
  /** When it ends, ISO 8601. */
  expirationTime: string | undefined;
  address: string | undefined;
  /** Why RingCentral blacklisted it, when it did. */
  blacklistedReason: string | undefined;
}

export interface CreateSubscriptionRequest {
  eventFilters: string[];
  /** Where RingCentral posts the notifications. */
  address: string;
  /** Sent back in the `Verification-Token` header of every notification. */
  verificationToken: string;
  expiresIn: number;
}

export interface RingCentralClient {
  subscriptions: {
    /** `POST /restapi/v1.0/subscription` (RingCentral first posts its handshake to `address`). */
    create(request: CreateSubscriptionRequest): Promise<RingCentralSubscription>;
    /** `POST /restapi/v1.0/subscription/{id}/renew`: the subscription's lifetime starts again. */
    renew(id: string): Promise<RingCentralSubscription>;
    /** `GET /restapi/v1.0/subscription/{id}`. */
    get(id: string): Promise<RingCentralSubscription>;
    /** `GET /restapi/v1.0/subscription`: this app's subscriptions for the JWT's user. */
    list(): Promise<RingCentralSubscription[]>;
    /** `DELETE /restapi/v1.0/subscription/{id}`. */
    delete(id: string): Promise<void>;
  };
}

const SUBSCRIPTION = '/restapi/v1.0/subscription';

/** What the SDK's errors hold that may be shown: the answer's status and body (never the request). */
interface SdkError {
  message?: string;
  response?: { status?: number; clone(): { json(): Promise<unknown> } } | null;
}

type TokenStorage = NonNullable<NonNullable<ConstructorParameters<typeof SDK>[0]>['localStorage']>;

/** The SDK keeps its tokens in a `Storage`; this one keeps them in this process only. */
function memoryStorage(): TokenStorage {
  const items = new Map<string, string>();
  return {
    get length() {
      return items.size;
    },
    clear: () => items.clear(),
    getItem: (key: string) => items.get(key) ?? null,
    key: (index: number) => [...items.keys()][index] ?? null,
    removeItem: (key: string) => void items.delete(key),
    setItem: (key: string, value: string) => void items.set(key, String(value)),
  };
}

export function createRingCentralClient(options: RingCentralClientOptions): RingCentralClient {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const timedFetch: typeof fetch = (input, init) => fetch(input, { ...init, redirect: 'error', signal: AbortSignal.timeout(timeoutMs) });
  const sdk = new SDK({
    server: options.serverUrl.replace(/\/+$/, ''),
    clientId: options.clientId,
    clientSecret: options.clientSecret,
    fetch: timedFetch,
    Request,
    Response,
    Headers,
    localStorage: memoryStorage(),
    // Beckon's name in RingCentral's logs; not a credential.
    appName: 'beckon',
  });
  const platform = sdk.platform();
  let login: Promise<void> | undefined;

  const logIn = () =>
    (login ??= platform.login({ jwt: options.jwt }).then(
      () => undefined,
      async (error: unknown) => {
        login = undefined;
        throw await describe(error, 'login (JWT grant)');
      },
    ));

  /** Runs `call` logged in; a 401 (the tokens revoked, or past their refresh) logs in again once. */
  async function send(what: string, call: () => Promise<Response>): Promise<unknown> {
    await logIn();
    let response: Response;
    try {
      response = await call();
    } catch (error) {
      const status = (error as SdkError).response?.status;
      const expired = status === 401 || /refresh token/i.test((error as SdkError).message ?? '');
      if (!expired) throw await describe(error, what);
      login = undefined;
      await logIn();
      try {
        response = await call();
      } catch (again) {
        throw await describe(again, what);
      }
    }
    return response.status === 204 ? undefined : response.json().catch(() => undefined);
  }

  const path = (id: string) => `${SUBSCRIPTION}/${encodeURIComponent(id)}`;
  return {
    subscriptions: {
      create: async (request) =>
        subscriptionOf(
          await send('subscription create', () =>
            platform.post(SUBSCRIPTION, {
              eventFilters: request.eventFilters,
              deliveryMode: { transportType: 'WebHook', address: request.address, verificationToken: request.verificationToken },
              expiresIn: request.expiresIn,
            }),
          ),
        ),
      renew: async (id) => subscriptionOf(await send('subscription renew', () => platform.post(`${path(id)}/renew`))),
      get: async (id) => subscriptionOf(await send('subscription read', () => platform.get(path(id)))),
      list: async () => {
        const body = (await send('subscription list', () => platform.get(SUBSCRIPTION))) as { records?: unknown } | undefined;
        return Array.isArray(body?.records) ? body.records.map(subscriptionOf) : [];
      },
      delete: async (id) => {
        await send('subscription delete', () => platform.delete(path(id)));
      },
    },
  };
}

/** A `RingCentralError` from whatever the SDK threw: the status, code and message RingCentral answered, nothing of the request. */
async function describe(error: unknown, what: string): Promise<RingCentralError> {
  const response = (error as SdkError).response;
  if (!response) {
    const cause = error as Error;
    const reason = cause.name === 'TimeoutError' ? 'no answer in time' : 'it could not be reached';
    return new RingCentralError(`RingCentral ${what} failed: ${reason}`, undefined, undefined);
  }
  const body = (await response
    .clone()
    .json()
    .catch(() => ({}))) as { errorCode?: unknown; message?: unknown; error?: unknown; error_description?: unknown };
  const code = typeof body.errorCode === 'string' ? body.errorCode : typeof body.error === 'string' ? body.error : undefined;
  const said = [body.message, body.error_description].find((value): value is string => typeof value === 'string');
  return new RingCentralError(
    `RingCentral ${what} answered ${response.status}${code ? ` (${code.slice(0, 40)})` : ''}${said ? `: ${said.slice(0, 300)}` : ''}`,
    response.status,
    code,
  );
}

function subscriptionOf(value: unknown): RingCentralSubscription {
  const body = (value ?? {}) as {
    id?: unknown;
    status?: unknown;
    eventFilters?: unknown;
    expirationTime?: unknown;
    deliveryMode?: { address?: unknown };
    blacklistedData?: { reason?: unknown };
  };
  if (typeof body.id !== 'string') throw new RingCentralError('RingCentral answered a subscription without an id', 200, undefined);
  return {
    id: body.id,
    status: typeof body.status === 'string' ? body.status : 'Active',
    eventFilters: Array.isArray(body.eventFilters) ? body.eventFilters.filter((item): item is string => typeof item === 'string') : [],
    expirationTime: typeof body.expirationTime === 'string' ? body.expirationTime : undefined,
    address: typeof body.deliveryMode?.address === 'string' ? body.deliveryMode.address : undefined,
    blacklistedReason: typeof body.blacklistedData?.reason === 'string' ? body.blacklistedData.reason : undefined,
  };
}
