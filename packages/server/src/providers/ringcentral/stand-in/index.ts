/**
 * A RingCentral stand-in for tests and demos, shaped like the NetSapiens sandbox and the Twilio
 * stand-in: a local HTTP server speaking the part of RingCentral's API Beckon uses (the JWT-grant token
 * endpoint, WebHook subscriptions with their creation handshake), and a driver playing RingCentral's
 * side of calls: it posts detailed-presence or telephony-session notifications to each subscribed
 * address with its verification token, and blacklists a subscription whose deliveries keep failing.
 * Point `RINGCENTRAL_SERVER_URL` at `standIn.url`.
 */
import { randomUUID } from 'node:crypto';
import type { EventEmitter } from 'node:events';
import { isIP } from 'node:net';
import {
  info,
  RingCentralStandInServer,
  type DeliveryResult,
  type RingCentralStandInEvents,
  type RingCentralStandInFault,
  type StandInRequest,
  type StandInSubscription,
} from './server.js';

export type {
  DeliveryResult,
  RingCentralStandInEvents,
  RingCentralStandInFault,
  RingCentralStandInRoute,
  StandInRequest,
  StandInSubscription,
} from './server.js';
export { rcError, WEBHOOK_MAX_EXPIRES_IN, type RingCentralErrorBody } from './rules.js';

export interface RingCentralStandInOptions {
  clientId: string;
  clientSecret: string;
  /** The JWT credential the token endpoint accepts. */
  jwt: string;
  /** The longest subscription lifetime granted, in seconds, whatever is asked (RingCentral may grant less). */
  maxExpiresIn?: number;
  /** Access tokens' lifetime; default 3600 s. */
  accessTokenSeconds?: number;
  /** Failed deliveries in a row after which a subscription is blacklisted; default 3. */
  blacklistAfterFailures?: number;
  /** How long a delivery waits for the answer; default 3000 ms. */
  deliveryTimeoutMs?: number;
  port?: number;
  host?: string;
}

/** Who calls whom, for `incomingCall`. */
export interface StandInCallOptions {
  /** The caller's number, as RingCentral gives it (E.164). */
  from: string;
  fromName?: string;
  /** The number called. */
  to: string;
  /**
   * `presence` (default): detailed presence notifications (`activeCalls[]`, `from`/`to` plain strings),
   * to subscriptions with a `/presence` filter; `telephony`: telephony session notifications
   * (`parties[]`, `status.code`), to subscriptions with a `/telephony/sessions` filter.
   */
  shape?: 'presence' | 'telephony';
}

/** A call the stand-in plays; each step notifies every active subscription of its shape. */
export interface StandInCall {
  telephonySessionId: string;
  ring(): Promise<DeliveryResult[]>;
  answer(): Promise<DeliveryResult[]>;
  /** The caller reaches voicemail (telephony sessions' `Voicemail`; presence has no such state and says nothing). */
  voicemail(): Promise<DeliveryResult[]>;
  hangUp(): Promise<DeliveryResult[]>;
}

export interface RingCentralStandIn {
  /** `http://127.0.0.1:PORT`: the `RINGCENTRAL_SERVER_URL` to give Beckon. */
  readonly url: string;
  /** The subscriptions as RingCentral shows them (never their verification tokens). */
  readonly subscriptions: readonly Record<string, unknown>[];
  /** Every request received, with the status answered. */
  readonly requests: readonly StandInRequest[];
  /** `delivery` and `subscription` as they happen, for live demo pages. */
  readonly events: EventEmitter<RingCentralStandInEvents>;
  /** Makes the next matching requests answer an error. */
  inject(fault: RingCentralStandInFault): void;
  clearFaults(): void;
  /** Marks a subscription blacklisted, as RingCentral does after failed deliveries: it is never delivered to again. */
  blacklist(id: string, reason?: string): void;
  /** Removes a subscription, as when it expired on RingCentral's side or was deleted elsewhere: it is a 404 from then on. */
  forget(id: string): void;
  /** The next `count` deliveries fail as if the address could not be reached (they count toward blacklisting). */
  failDeliveries(count: number): void;
  /** Revokes every access token: the client's next request is a 401. */
  revokeTokens(): void;
  /** Posts one notification (`body` with `event`) to every active subscription with a matching filter, or to `subscriptionId`. */
  notify(event: string, body: Record<string, unknown>, options?: { subscriptionId?: string }): Promise<DeliveryResult[]>;
  /** Sends the notification with this `uuid` again, unchanged, as RingCentral does when it had no 200. */
  redeliver(uuid: string): Promise<DeliveryResult>;
  incomingCall(options: StandInCallOptions): StandInCall;
  close(): Promise<void>;
}

const OWNER = '101';
const PRESENCE_EVENT = `/restapi/v1.0/account/~/extension/${OWNER}/presence?detailedTelephonyState=true`;
const TELEPHONY_EVENT = `/restapi/v1.0/account/~/extension/${OWNER}/telephony/sessions`;

/** Whether a subscription's filters cover an event (by kind: presence or telephony sessions). */
function covers(subscription: StandInSubscription, event: string): boolean {
  const kind = event.includes('/telephony/sessions') ? '/telephony/sessions' : '/presence';
  return subscription.eventFilters.some((filter) => filter.includes(kind));
}

/**
 * Starts a local server answering like RingCentral's API for one app and one user.
 *
 * @example
 * ```ts
 * const rc = await startRingCentralStandIn({ clientId: 'id', clientSecret: 'secret', jwt: 'jwt' });
 * // RINGCENTRAL_SERVER_URL=rc.url … then, once Beckon subscribed:
 * const call = rc.incomingCall({ from: '+14165551234', fromName: 'Dana', to: '+15879876543' });
 * await call.ring();
 * ```
 */
export async function startRingCentralStandIn(options: RingCentralStandInOptions): Promise<RingCentralStandIn> {
  for (const name of ['clientId', 'clientSecret', 'jwt'] as const) {
    if (typeof options[name] !== 'string' || options[name] === '') throw new TypeError(`${name} must be a non-empty string`);
  }
  const server = new RingCentralStandInServer({
    clientId: options.clientId,
    clientSecret: options.clientSecret,
    jwt: options.jwt,
    maxExpiresIn: options.maxExpiresIn,
    accessTokenSeconds: options.accessTokenSeconds ?? 3_600,
    blacklistAfterFailures: options.blacklistAfterFailures ?? 3,
    deliveryTimeoutMs: options.deliveryTimeoutMs ?? 3_000,
  });
  const host = options.host ?? '127.0.0.1';
  const address = await server.listen(options.port ?? 0, host);
  let sequence = 0;

  const notify: RingCentralStandIn['notify'] = async (event, body, { subscriptionId } = {}) => {
    const targets = [...server.subscriptions.values()].filter((subscription) =>
      subscriptionId ? subscription.id === subscriptionId : subscription.status === 'Active' && covers(subscription, event),
    );
    const results: DeliveryResult[] = [];
    for (const subscription of targets) {
      // A blacklisted subscription is never delivered to again.
      if (subscription.status !== 'Active') continue;
      const envelope = {
        uuid: randomUUID(),
        event,
        timestamp: new Date().toISOString(),
        subscriptionId: subscription.id,
        ownerId: OWNER,
        body,
      };
      results.push(await server.deliver(subscription, envelope));
    }
    return results;
  };

  const incomingCall = (call: StandInCallOptions): StandInCall => {
    const telephonySessionId = `s-${randomUUID()}`;
    const sessionId = String(Math.floor(Math.random() * 1e11));
    const startTime = new Date().toISOString();
    const presence = (status: string) =>
      notify(PRESENCE_EVENT, {
        extensionId: OWNER,
        telephonyStatus: status,
        activeCalls: [
          {
            id: `c-${telephonySessionId}`,
            direction: 'Inbound',
            from: call.from,
            ...(call.fromName ? { fromName: call.fromName } : {}),
            to: call.to,
            telephonyStatus: status,
            startTime,
            sessionId,
            partyId: `p-${telephonySessionId}-2`,
            telephonySessionId,
            ...(status === 'NoCall' ? { terminationType: 'final' } : {}),
          },
        ],
        sequence: ++sequence,
        presenceStatus: status === 'NoCall' ? 'Available' : 'Busy',
        totalActiveCalls: status === 'NoCall' ? 0 : 1,
      });
    const telephony = (code: string, missedCall = false) =>
      notify(TELEPHONY_EVENT, {
        sequence: ++sequence,
        sessionId,
        telephonySessionId,
        eventTime: new Date().toISOString(),
        accountId: '1',
        parties: [
          {
            id: `p-${telephonySessionId}-2`,
            extensionId: OWNER,
            direction: 'Inbound',
            from: { phoneNumber: call.from, ...(call.fromName ? { name: call.fromName } : {}) },
            to: { phoneNumber: call.to, extensionId: OWNER },
            status: { code },
            missedCall,
          },
        ],
        origin: { type: 'Call' },
      });
    const telephonyShape = call.shape === 'telephony';
    let answered = false;
    return {
      telephonySessionId,
      ring: () => (telephonyShape ? telephony('Proceeding') : presence('Ringing')),
      answer: () => {
        answered = true;
        return telephonyShape ? telephony('Answered') : presence('CallConnected');
      },
      voicemail: () => (telephonyShape ? telephony('Voicemail') : Promise.resolve([])),
      hangUp: () => (telephonyShape ? telephony('Disconnected', !answered) : presence('NoCall')),
    };
  };

  return {
    url: `http://${isIP(host) === 6 ? `[${host}]` : host}:${address.port}`,
    get subscriptions() {
      return [...server.subscriptions.values()].map(info);
    },
    get requests() {
      return [...server.requests];
    },
    events: server.events,
    inject: (fault) => server.inject(fault),
    clearFaults: () => server.clearFaults(),
    blacklist: (id, reason = 'I/O operation is failed. Details: [Read timed out]') => server.blacklist(id, reason),
    forget: (id) => {
      if (!server.subscriptions.delete(id)) throw new TypeError(`No subscription ${id}`);
    },
    failDeliveries: (count) => server.failDeliveries(count),
    revokeTokens: () => server.revokeTokens(),
    notify,
    redeliver: (uuid) => server.redeliver(uuid),
    incomingCall,
    close: () => server.close(),
  };
}
