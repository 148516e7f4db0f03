/**
 * What Twilio's REST API requires of the two requests Beckon sends, and what it answers when one falls
 * short, so that a client tested against the stand-in meets the real thing.
 *
 * The rules are those of Twilio's OpenAPI description, twilio/twilio-oai `spec/json/twilio_api_v2010.json`
 * (operations `CreateMessage` and `CreateCall`): the request schema's `required` names, the operation's
 * `x-twilio.conditional` groups (at least one name of each group must be sent; the spec writes them in
 * snake_case), the `format`s of `To`/`From` (`phone-number`, `endpoint`) and `Url`/`StatusCallback`
 * (`uri`), and the 1,600-character `Body`. The spec names no error codes: those, and their messages, are
 * Twilio's error dictionary's (https://www.twilio.com/docs/api/errors/<code>). Not checked: what only a
 * real account knows (whether `From` is one of its numbers, geo permissions, A2P registration).
 */

/** Twilio's JSON error body, as every 4xx/5xx of its REST API carries it. */
export interface TwilioErrorBody {
  code: number;
  message: string;
  more_info: string;
  status: number;
}

export function twilioError(status: number, code: number, message: string): TwilioErrorBody {
  return { code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status };
}

/** Wrong or missing credentials; the stand-in, which holds one account, also answers it for another AccountSid in the path. */
export const AUTHENTICATE = twilioError(401, 20003, 'Authenticate');

/** Form parameters as received: a repeated name holds every value. */
export type FormParams = Readonly<Record<string, string | readonly string[]>>;

/** Every value of a parameter, in the order sent. */
export function allValues(params: FormParams, name: string): string[] {
  const value = params[name];
  if (value === undefined) return [];
  return typeof value === 'string' ? [value] : [...value];
}

/** A parameter's first value; undefined when it was not sent or sent empty, which Twilio takes as not sent. */
export function valueOf(params: FormParams, name: string): string | undefined {
  const first = allValues(params, name)[0];
  return first === undefined || first === '' ? undefined : first;
}

/** A group of names of which at least one must be sent, and Twilio's answer when none is. */
interface PresenceRule {
  anyOf: readonly string[];
  error: TwilioErrorBody;
}

/** `CreateMessage`: `required: [To]`; `x-twilio.conditional: [[from, messaging_service_sid], [body, media_url, content_sid]]`. */
const MESSAGE_PRESENCE: readonly PresenceRule[] = [
  { anyOf: ['To'], error: twilioError(400, 21604, "A 'To' phone number is required.") },
  { anyOf: ['From', 'MessagingServiceSid'], error: twilioError(400, 21603, "A 'From' phone number is required.") },
  { anyOf: ['Body', 'MediaUrl', 'ContentSid'], error: twilioError(400, 21602, 'Message body is required.') },
];

/** `CreateCall`: `required: [To, From]`; `x-twilio.conditional: [[url, twiml, application_sid]]`. */
const CALL_PRESENCE: readonly PresenceRule[] = [
  { anyOf: ['To'], error: twilioError(400, 21201, "No 'To' number is specified") },
  { anyOf: ['From'], error: twilioError(400, 21213, "No 'From' number is specified") },
  { anyOf: ['Url', 'Twiml', 'ApplicationSid'], error: twilioError(400, 21205, 'Url parameter is required.') },
];

/** `Body`: "Can be up to 1,600 characters in length" (the spec's description); Twilio counts characters, not bytes. */
export const MAX_BODY_CHARACTERS = 1600;

const E164 = /^\+[1-9]\d{1,14}$/;
/** A channel address for Messaging (`whatsapp:+1…`, `rcs:+1…`), or a SIP/Client endpoint for Voice. */
const CHANNEL_ADDRESS = /^[a-z][a-z0-9-]*:\S+$/i;
/** An alphanumeric sender ID: up to 11 letters, digits and spaces, at least one letter. */
const ALPHANUMERIC_SENDER = /^(?=.*[A-Za-z])[A-Za-z0-9 ]{1,11}$/;
const SHORT_CODE = /^\d{5,6}$/;

function isAbsoluteHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '';
  } catch {
    return false;
  }
}

function missing(params: FormParams, rules: readonly PresenceRule[]): TwilioErrorBody | undefined {
  return rules.find((rule) => rule.anyOf.every((name) => valueOf(params, name) === undefined))?.error;
}

/** Twilio's answer to a `POST …/Messages.json` with these parameters, or undefined when it creates the message. */
export function checkMessageRequest(params: FormParams): TwilioErrorBody | undefined {
  const absent = missing(params, MESSAGE_PRESENCE);
  if (absent) return absent;
  const to = valueOf(params, 'To') ?? '';
  if (!E164.test(to) && !CHANNEL_ADDRESS.test(to)) return twilioError(400, 21211, `The 'To' number ${to} is not a valid phone number.`);
  const from = valueOf(params, 'From');
  if (from !== undefined && !E164.test(from) && !CHANNEL_ADDRESS.test(from) && !ALPHANUMERIC_SENDER.test(from) && !SHORT_CODE.test(from)) {
    return twilioError(400, 21212, `The 'From' number ${from} is not a valid phone number, shortcode, or alphanumeric sender ID.`);
  }
  const body = valueOf(params, 'Body');
  if (body !== undefined && [...body].length > MAX_BODY_CHARACTERS) {
    return twilioError(400, 21617, 'The concatenated message body exceeds the 1600 character limit.');
  }
  const statusCallback = valueOf(params, 'StatusCallback');
  if (statusCallback !== undefined && !isAbsoluteHttpUrl(statusCallback)) {
    return twilioError(400, 21609, `The StatusCallback URL ${statusCallback} is not a valid URL.`);
  }
  return undefined;
}

/** Twilio's answer to a `POST …/Calls.json` with these parameters, or undefined when it creates the call. */
export function checkCallRequest(params: FormParams): TwilioErrorBody | undefined {
  const absent = missing(params, CALL_PRESENCE);
  if (absent) return absent;
  const to = valueOf(params, 'To') ?? '';
  if (!E164.test(to) && !CHANNEL_ADDRESS.test(to)) return twilioError(400, 21211, `The 'To' number ${to} is not a valid phone number.`);
  const from = valueOf(params, 'From') ?? '';
  if (!E164.test(from) && !CHANNEL_ADDRESS.test(from))
    return twilioError(400, 21212, `The 'From' number ${from} is not a valid phone number.`);
  const url = valueOf(params, 'Url');
  if (url !== undefined && !isAbsoluteHttpUrl(url)) return twilioError(400, 21205, `Url is not a valid URL: ${url}`);
  const statusCallback = valueOf(params, 'StatusCallback');
  if (statusCallback !== undefined && !isAbsoluteHttpUrl(statusCallback)) {
    return twilioError(400, 21609, `The StatusCallback URL ${statusCallback} is not a valid URL.`);
  }
  return undefined;
}
