import type { Middleware, ParameterizedContext } from 'koa';
import { queueText, recordOptOut, type TextPolicy } from '../../actions/texts.js';
import { advanceProviderCall, type CallbackStatus } from '../../callbacks/store.js';
import type { AppState } from '../../context.js';
import type { Database } from '../../db/database.js';
import { receiveDelivery, storableText, type DeliveryItem } from '../../events/intake.js';
import type { CallSignal } from '../../events/states.js';
import { HttpError } from '../../http-error.js';
import { maskPhone } from '../../logging.js';
import { readRaw } from '../../middleware/body.js';
import type { TenantConfig, TwilioSettings } from '../../tenants/schema.js';
import type { TenantStore } from '../../tenants/store.js';
import { parseTwilioForm, TWILIO_SIGNATURE_HEADER, twilioWebhookUrl, verifyTwilioSignature } from './signature.js';

/**
 * Twilio's webhooks: an incoming call (`POST /webhooks/twilio/call`, the number's Voice URL), the end of
 * the `<Dial>` that forwarded it (`POST /webhooks/twilio/call/status/:callSid`, its `action`), and an
 * incoming text (`POST /webhooks/twilio/sms`, the number's Messaging URL, for STOP and START).
 *
 * Every request is verified first (`X-Twilio-Signature` over `PUBLIC_URL` + the path and query + the
 * form): a missing or wrong signature is a 403 and nothing else happens. The id is the one whose
 * `twilio.numbers` holds the call's `To`. Each answer is TwiML, even when Beckon's database is away: a
 * caller must never hear Twilio's "application error" because of Beckon, so the call is still
 * forwarded and the failure logged.
 */

export const PROVIDER = 'twilio';
const FORM_LIMIT = 64 * 1024;
/** Caller ids that are no number to text back: withheld (Twilio's `+266696687`, "anonymous"), restricted, unknown. */
const NO_CALLER = new Set(['', 'anonymous', 'restricted', 'unknown', 'private', '+266696687']);
/** What a missed `<Dial>` ends with (`DialCallStatus`). */
const MISSED = new Set(['no-answer', 'busy', 'failed', 'canceled']);
/** The keywords carriers and Twilio treat as opting out, and back in. */
const STOP_WORDS = new Set(['STOP', 'STOPALL', 'UNSUBSCRIBE', 'CANCEL', 'END', 'QUIT', 'REVOKE', 'OPTOUT']);
const START_WORDS = new Set(['START', 'YES', 'UNSTOP']);
const CALL_SID = /^CA[0-9a-f]{32}$/;

export interface TwilioWebhookDeps {
  db: Database | undefined;
  tenants: Pick<TenantStore, 'get' | 'ids'>;
  /** The account's auth token (`TWILIO_AUTH_TOKEN`): the signatures' key. */
  authToken: string;
  /** `PUBLIC_URL`: the URL Twilio requested is built from it, never from `Host` or `X-Forwarded-*`. */
  publicUrl: string;
  /** The text-back's window and per-id cap, as `/webresponder` applies them. */
  textPolicy: TextPolicy;
  /** The clock a callback's status is stamped with (`deps.clock`); default the system's. */
  now?: () => Date;
}

type Form = Record<string, string | string[]>;

/** Text for XML content and attributes. */
function xml(value: string): string {
  return value.replace(/[<>&"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

function twiml(ctx: ParameterizedContext<AppState>, body: string): void {
  ctx.type = 'text/xml';
  ctx.body = `<?xml version="1.0" encoding="UTF-8"?>\n<Response>${body}</Response>\n`;
}

function field(form: Form, name: string): string {
  const value = form[name];
  return typeof value === 'string' ? value : (value?.[0] ?? '');
}

/** Reads and verifies the request: its form, or a 403 (and nothing else) when Twilio did not sign it. */
async function verifiedForm(ctx: ParameterizedContext<AppState>, deps: TwilioWebhookDeps): Promise<Form> {
  const raw = await readRaw(ctx, { accept: ['form'], limit: FORM_LIMIT });
  const form = raw ? parseTwilioForm(raw.raw) : {};
  const valid = verifyTwilioSignature({
    authToken: deps.authToken,
    signature: ctx.get(TWILIO_SIGNATURE_HEADER) || undefined,
    url: twilioWebhookUrl(deps.publicUrl, ctx.url),
    params: form,
  });
  if (!valid) {
    ctx.state.log.warn(
      { path: ctx.path },
      'twilio webhook refused: missing or wrong X-Twilio-Signature (check PUBLIC_URL and TWILIO_AUTH_TOKEN)',
    );
    throw new HttpError(403, 'X-Twilio-Signature is missing or does not match this request');
  }
  // Verified as sent; stored as the database can hold it (a NUL or a lone surrogate in a caller name must not cost the call its record).
  return Object.fromEntries(
    Object.entries(form).map(([name, value]) => [
      storableText(name),
      typeof value === 'string' ? storableText(value) : value.map(storableText),
    ]),
  );
}

/** The id whose Twilio numbers hold `to`, with its settings. */
function tenantFor(tenants: TwilioWebhookDeps['tenants'], to: string): { id: string; settings: TwilioSettings } | undefined {
  for (const id of tenants.ids()) {
    const tenant: TenantConfig | undefined = tenants.get(id);
    if (tenant?.twilio?.numbers.includes(to)) return { id, settings: tenant.twilio };
  }
  return undefined;
}

function callItem(form: Form, key: string, signal: CallSignal): DeliveryItem {
  const from = field(form, 'From');
  const callerName = field(form, 'CallerName');
  return {
    dedupeKey: `${field(form, 'CallSid')}:${key}`,
    body: form,
    change: {
      providerCallId: field(form, 'CallSid'),
      direction: 'inbound',
      signal,
      at: new Date(),
      ...(NO_CALLER.has(from.toLowerCase()) ? {} : { fromNumber: from, fromE164: from }),
      ...(callerName ? { fromName: callerName } : {}),
      toNumber: field(form, 'To'),
    },
  };
}

/** `POST /webhooks/twilio/call`: a ringing call is forwarded to the id's phone for `ring_seconds`, and is a `ringing` call event. */
export function twilioCallWebhook(deps: TwilioWebhookDeps): Middleware<AppState> {
  return async function twilioCall(ctx) {
    const form = await verifiedForm(ctx, deps);
    const callSid = field(form, 'CallSid');
    const found = tenantFor(deps.tenants, field(form, 'To'));
    if (!found) {
      ctx.state.log.warn({ to: maskPhone(field(form, 'To')) }, 'twilio call to a number no id has: hung up');
      twiml(ctx, '<Say>Sorry, this number is not taking calls.</Say><Hangup/>');
      return;
    }
    if (field(form, 'CallStatus') !== 'ringing' || !CALL_SID.test(callSid)) {
      twiml(ctx, '');
      return;
    }
    const { id, settings } = found;
    if (deps.db) {
      await receiveDelivery(deps.db, { provider: PROVIDER, tenant: id, items: [callItem(form, 'ringing', 'ringing')] }).catch(
        (error: Error) =>
          // The caller comes first: the call is forwarded all the same.
          ctx.state.log.error({ id, reason: error.message }, 'twilio call not recorded (the call is forwarded all the same)'),
      );
    }
    // Absolute: Twilio resolves a path against the host alone, losing any prefix PUBLIC_URL has.
    const action = `${deps.publicUrl.replace(/\/+$/, '')}/webhooks/twilio/call/status/${callSid}`;
    twiml(
      ctx,
      `<Dial timeout="${settings.ring_seconds ?? 20}" action="${xml(action)}" method="POST"><Number>${xml(settings.forward_to)}</Number></Dial>`,
    );
  };
}

/**
 * `POST /webhooks/twilio/call/status/:callSid`: how the forwarded call ended. Answered: `answered`, then
 * `ended`. Not answered (no-answer, busy, failed, canceled): `missed`, and the id's `text_back` queued
 * for the caller in the same transaction — once per call however often Twilio sends this, and within
 * the opt-outs, window and hourly cap of `queueText`.
 */
export function twilioDialStatusWebhook(deps: TwilioWebhookDeps): Middleware<AppState> {
  return async function twilioDialStatus(ctx) {
    const form = await verifiedForm(ctx, deps);
    const callSid = (ctx.params as Record<string, string>).callSid ?? '';
    if (!CALL_SID.test(callSid) || field(form, 'CallSid') !== callSid) {
      throw new HttpError(400, 'The CallSid in the path must be the CallSid of the form');
    }
    const found = tenantFor(deps.tenants, field(form, 'To'));
    const status = field(form, 'DialCallStatus');
    twiml(ctx, '');
    if (!found || !deps.db) return;
    const { id, settings } = found;
    const log = ctx.state.log;
    const missed = MISSED.has(status);
    const items = missed
      ? [callItem(form, `dial:${status}`, 'missed')]
      : status === 'completed' || status === 'answered'
        ? [callItem(form, 'dial:answered', 'answered'), callItem(form, 'dial:completed', 'ended')]
        : [];
    if (items.length === 0) return;
    const caller = field(form, 'From');
    const text = missed && settings.text_back && !NO_CALLER.has(caller.toLowerCase()) ? settings.text_back : undefined;
    try {
      await receiveDelivery(deps.db, { provider: PROVIDER, tenant: id, items }, async (tx) => {
        if (!text) return;
        const outcome = await queueText(
          tx,
          { tenant: id, provider: PROVIDER, dedupeKey: `text-back:${callSid}`, to: caller, from: field(form, 'To'), body: text },
          deps.textPolicy,
        );
        if (outcome !== 'already queued') log.info({ id, to: maskPhone(caller), outcome }, 'twilio missed-call text-back');
      });
    } catch (error) {
      // Twilio does not send this again: the text-back of this call is lost, and says so.
      log.error({ id, reason: (error as Error).message }, 'twilio call status not recorded: no text-back for this call');
    }
  };
}

/** The visitor's leg (the bridge's `<Number>`): what each of its `CallStatus` means for the callback. */
const VISITOR_LEG: Readonly<Record<string, CallbackStatus>> = {
  ringing: 'ringing',
  'in-progress': 'answered',
  // Twilio's `completed` means the leg was connected: the visitor answered, talked and hung up (or was hung up on).
  completed: 'ended',
  busy: 'no-answer',
  'no-answer': 'no-answer',
  canceled: 'no-answer',
  failed: 'failed',
};
/** The business's leg ends (`StatusCallbackEvent=completed`) with one of these. */
const BUSINESS_LEG_ENDS = new Set(['completed', 'busy', 'no-answer', 'canceled', 'failed']);

/**
 * What a status callback of a click-to-call means for its callback, given the callback's status now:
 * the visitor's leg (it has a `ParentCallSid`) moves it as `VISITOR_LEG` says; the business's own leg
 * ending ends it — `ended` once the visitor answered, otherwise `no-answer` (`failed` when the call to
 * the business failed): nobody was there, or the business hung up while the visitor's phone rang.
 */
function clickToCallStatus(leg: 'visitor' | 'business', callStatus: string): (current: CallbackStatus) => CallbackStatus | undefined {
  if (leg === 'visitor') return () => VISITOR_LEG[callStatus];
  if (!BUSINESS_LEG_ENDS.has(callStatus)) return () => undefined;
  return (current) => (current === 'answered' ? 'ended' : callStatus === 'failed' ? 'failed' : 'no-answer');
}

/**
 * `POST /webhooks/twilio/dial-status?id=<id>`: a Twilio click-to-call's progress, the `statusCallback`
 * of the bridge's `<Number>` (the visitor's leg: `initiated`, `ringing`, `in-progress`, then how it
 * ended) and the `StatusCallback` of the call to the business (its end). Verified first. The callback is
 * the one placed for `id` whose call is the business's leg: the `ParentCallSid` of the visitor's leg,
 * the `CallSid` of the business's. Its status only moves forward (`advanceProviderCall`), so a status
 * delivered twice or late changes nothing, and a call Beckon does not know (a callback recorded nowhere,
 * another server's) is answered 200 and ignored: Twilio wants a 2xx, and sending it again would not
 * help. The answer is an empty 200: a status callback's body is not read.
 */
export function twilioClickToCallStatusWebhook(deps: TwilioWebhookDeps): Middleware<AppState> {
  return async function twilioClickToCallStatus(ctx) {
    const form = await verifiedForm(ctx, deps);
    const id = ctx.query.id;
    if (typeof id !== 'string' || id === '') throw new HttpError(400, 'The URL must name the id: ?id=<id>, as Beckon placed it');
    const parent = field(form, 'ParentCallSid');
    const leg = parent ? 'visitor' : 'business';
    const sid = parent || field(form, 'CallSid');
    const callStatus = field(form, 'CallStatus');
    ctx.status = 200;
    ctx.body = '';
    if (!deps.db || !CALL_SID.test(sid)) return;
    const at = deps.now?.() ?? new Date();
    const result = await advanceProviderCall(
      deps.db,
      { provider: PROVIDER, tenant: id, providerCallSid: sid },
      clickToCallStatus(leg, callStatus),
      at,
    );
    const log = ctx.state.log;
    if (result.outcome === 'unknown') log.info({ id, leg, callStatus }, 'twilio click-to-call status for a call no callback has: ignored');
    else if (result.outcome === 'advanced')
      log.info({ id, callback: result.callbackId, leg, callStatus, status: result.status }, 'callback status');
  };
}

/** `POST /webhooks/twilio/sms`: STOP (and the other opt-out words) stops the id's texts to the sender; START lets them go again. */
export function twilioSmsWebhook(deps: TwilioWebhookDeps): Middleware<AppState> {
  return async function twilioSms(ctx) {
    const form = await verifiedForm(ctx, deps);
    twiml(ctx, '');
    const word = field(form, 'Body').trim().toUpperCase();
    const stop = STOP_WORDS.has(word);
    if (!deps.db || (!stop && !START_WORDS.has(word))) return;
    const [from, to] = [field(form, 'From'), field(form, 'To')];
    try {
      await recordOptOut(deps.db, to, from, stop);
    } catch (error) {
      // Twilio does not send a text's webhook again: say so loudly (its own STOP handling still applies on long codes).
      ctx.state.log.error({ from: maskPhone(from), reason: (error as Error).message }, `twilio ${word} not recorded`);
      return;
    }
    ctx.state.log.info(
      { from: maskPhone(from), to: maskPhone(to) },
      stop ? 'texts stopped: the number sent STOP' : 'texts allowed again: START',
    );
  };
}
