import { randomBytes } from 'node:crypto';
import { writeReply } from '../answers.js';
import { requireText } from '../args.js';
import { NsUsageError } from '../errors.js';
import { toDigits } from '../numbers.js';
import { nsPath } from '../path.js';
import type { NsRequestOptions } from '../client.js';
import type { NsRequester } from '../request.js';

/** What `messages.sendSms` takes. */
export interface SendSmsOptions {
  /** The NetSapiens domain. */
  domain: string;
  /** The user who owns `fromNumber`. */
  user: string;
  /** An SMS number of `user`, with its country code (`+19294873999` or `19294873999`). */
  fromNumber: string;
  /** Who receives the text, with its country code. */
  destination: string;
  /** The text; must not be blank. */
  message: string;
  /** A message-session id to reuse (at least 32 characters of `[A-Za-z0-9_]`); by default each text gets a fresh one from `newSessionId`. */
  sessionId?: string;
}

/** What `messages.sendSms` resolves to. */
export interface SentSms {
  /** The message-session id the text was sent in. */
  sessionId: string;
}

/** `ns.messages`: SMS. */
export interface Messages {
  /**
   * Sends one SMS through the v2 message-session API:
   * `POST /ns-api/v2/domains/{domain}/users/{user}/messagesessions/{sessionId}/messages`, JSON
   * `{ type: 'sms', message, destination, 'from-number' }` with both numbers as digits without `+`.
   * Never retried once it may have reached NetSapiens.
   *
   * @example
   * ```ts
   * const { sessionId } = await ns.messages.sendSms({
   *   domain: 'example.com',
   *   user: '1001',               // the user who owns fromNumber
   *   fromNumber: '+19294873999', // an SMS number of that user
   *   destination: '+18135551234',
   *   message: 'Our address: 1 Main St.',
   * });
   * ```
   */
  sendSms(options: SendSmsOptions, requestOptions?: NsRequestOptions): Promise<SentSms>;
}

const SESSION_ID = /^[A-Za-z0-9_]{32,}$/;

/** A fresh random message-session id: 40 hex characters (NetSapiens wants a caller-generated one of at least 32 characters from `[A-Za-z0-9_]`). */
export function newSessionId(): string {
  return randomBytes(20).toString('hex');
}

export function messagesResource(request: NsRequester): Messages {
  return {
    async sendSms(options, requestOptions) {
      const sessionId = options.sessionId ?? newSessionId();
      if (!SESSION_ID.test(sessionId)) throw new NsUsageError('sessionId must be at least 32 characters of [A-Za-z0-9_]');
      const domain = requireText(options.domain, 'domain');
      const user = requireText(options.user, 'user');
      await request(
        {
          method: 'POST',
          path: nsPath`/ns-api/v2/domains/${domain}/users/${user}/messagesessions/${sessionId}/messages`,
          json: {
            type: 'sms',
            message: requireText(options.message, 'message'),
            destination: toDigits(options.destination, 'destination'),
            'from-number': toDigits(options.fromNumber, 'fromNumber'),
          },
          expect: writeReply,
        },
        requestOptions,
      );
      return { sessionId };
    },
  };
}
