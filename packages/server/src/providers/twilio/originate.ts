import { maskPhone } from '../../logging.js';
import type { TwilioSettings } from '../../tenants/schema.js';
import { TwilioError, type TwilioClient } from './client.js';

/** Text for XML content and attributes. */
function xml(value: string): string {
  return value.replace(/[<>&"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

/** Where Twilio posts a click-to-call's progress (`twilioClickToCallStatusWebhook`). */
export const DIAL_STATUS_PATH = '/webhooks/twilio/dial-status';

/** The visitor's leg's events Beckon asks for: each moves the callback's live status (docs/callbacks.md). */
export const VISITOR_LEG_EVENTS = 'initiated ringing answered completed';

/** The status callback URL of `id`'s click-to-calls, under `publicUrl` (absolute: Twilio signs the URL it requests). */
export function dialStatusUrl(publicUrl: string, id: string): string {
  return `${publicUrl.replace(/\/+$/, '')}${DIAL_STATUS_PATH}?id=${encodeURIComponent(id)}`;
}

/**
 * What the business's phone runs once it answers: dial the visitor, showing the business's Twilio
 * number; with `statusCallback`, the visitor's leg reports its progress there. Every value is escaped
 * although the schema and the phone check only let E.164 through: this string is a program Twilio
 * runs on the account.
 */
export function bridgeTwiml(callerId: string, visitor: string, statusCallback?: string): string {
  const progress = statusCallback ? ` statusCallback="${xml(statusCallback)}" statusCallbackEvent="${VISITOR_LEG_EVENTS}"` : '';
  return `<?xml version="1.0" encoding="UTF-8"?><Response><Dial callerId="${xml(callerId)}"><Number${progress}>${xml(visitor)}</Number></Dial></Response>`;
}

/** A phone number in Twilio's messages (they quote `To` and `From`): a `+` and digits, or seven digits and more. */
const NUMBER_IN_TEXT = /\+?\d{7,}/g;

/**
 * Click-to-call on Twilio, business first: one Calls API request rings the id's `forward_to` from its
 * first Twilio number, with inline TwiML (no webhook round trip) that bridges the visitor when the
 * business answers. The visitor's phone only rings once someone is there to talk to them.
 *
 * With `publicUrl` (when Twilio can reach it), both legs report to `DIAL_STATUS_PATH`: the visitor's
 * leg its progress (the `<Number>`'s `statusCallback`), the business's leg its end (the call's
 * `StatusCallback`), which is how a business that never answers ends the visitor's wait too. The call's
 * SID is returned to be kept with the callback: every status callback names it (as `ParentCallSid` for
 * the visitor's leg).
 *
 * Sent once: a POST that may have reached Twilio is never sent again (the business's phone could ring
 * twice), so a failure is the caller's to report.
 */
export function twilioClickToCall(client: TwilioClient, settings: TwilioSettings, publicUrl?: string) {
  const [from = ''] = settings.numbers;
  return {
    /** What the log calls this call. */
    kind: 'twilio call',
    async place(visitor: string, id: string): Promise<{ log: Record<string, string>; providerCallSid: string }> {
      const statusCallback = publicUrl ? dialStatusUrl(publicUrl, id) : undefined;
      const call = await client.createCall({
        to: settings.forward_to,
        from,
        twiml: bridgeTwiml(from, visitor, statusCallback),
        ...(statusCallback ? { statusCallback } : {}),
      });
      return { log: { callSid: call.sid, business: maskPhone(settings.forward_to) }, providerCallSid: call.sid };
    },
    /** What the log may say of a failure: Twilio's status and error code, and its message with every number in it masked. */
    failure(error: unknown): Record<string, unknown> {
      const reason = error instanceof Error ? error.message.replace(NUMBER_IN_TEXT, (number) => maskPhone(number)) : 'unknown';
      return {
        business: maskPhone(settings.forward_to),
        reason,
        ...(error instanceof TwilioError ? { status: error.status, code: error.code } : {}),
      };
    },
  };
}
