import { maskPhone } from '../../logging.js';
import type { TwilioSettings } from '../../tenants/schema.js';
import { TwilioError, type TwilioClient } from './client.js';

/** Text for XML content and attributes. */
function xml(value: string): string {
  return value.replace(/[<>&"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

/**
 * What the business's phone runs once it answers: dial the visitor, showing the business's Twilio
 * number. Both numbers are escaped although the schema and the phone check only let E.164 through:
 * this string is a program Twilio runs on the account.
 */
export function bridgeTwiml(callerId: string, visitor: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?><Response><Dial callerId="${xml(callerId)}"><Number>${xml(visitor)}</Number></Dial></Response>`;
}

/** A phone number in Twilio's messages (they quote `To` and `From`): a `+` and digits, or seven digits and more. */
const NUMBER_IN_TEXT = /\+?\d{7,}/g;

/**
 * Click-to-call on Twilio, business first: one Calls API request rings the id's `forward_to` from its
 * first Twilio number, with inline TwiML (no webhook round trip) that bridges the visitor when the
 * business answers. The visitor's phone only rings once someone is there to talk to them.
 *
 * Sent once: a POST that may have reached Twilio is never sent again (the business's phone could ring
 * twice), so a failure is the caller's to report.
 */
export function twilioClickToCall(client: TwilioClient, settings: TwilioSettings) {
  const [from = ''] = settings.numbers;
  return {
    /** What the log calls this call. */
    kind: 'twilio call',
    async place(visitor: string): Promise<Record<string, string>> {
      const call = await client.createCall({ to: settings.forward_to, from, twiml: bridgeTwiml(from, visitor) });
      return { callSid: call.sid, business: maskPhone(settings.forward_to) };
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
