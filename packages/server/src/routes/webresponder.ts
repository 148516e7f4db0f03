import type { Middleware } from 'koa';
import type { AppState } from '../context.js';
import type { ServerDeps } from '../deps.js';
import { clientKey, tryConsume, usedUp } from '../guards/limits.js';
import { secretMatches, webresponderKey, webresponderSignature } from '../guards/secrets.js';
import { checkCaller } from '../guards/phone-policy.js';
import { maskPhone, type Logger } from '../logging.js';
import { readFields, type Fields } from '../middleware/body.js';
import { HttpError } from '../http-error.js';
import { nsResponse, type NsVerb } from './ns-xml.js';
import { ID_PATTERN, type TenantConfig } from '../tenants/schema.js';

/**
 * `GET|POST /webresponder?id=`: NetSapiens asks what to do with a call. It gets its XML at once — the
 * caller hears silence while we think — and the text to the caller is sent afterwards, in the background.
 * Every answer it gives is XML, errors included, because NetSapiens is the only client (a wrong method
 * or an unexpected failure is answered by the app, in JSON, before or after this route).
 */
export function webresponder(deps: ServerDeps): Middleware<AppState> {
  const key = webresponderKey(deps.config);
  return async function webresponder(ctx) {
    ctx.type = 'text/xml';
    // Before anything else: the route is public, and each request may start a text.
    if (!(await tryConsume(deps.limits.webresponder, clientKey(ctx.ip)))) {
      ctx.state.refusal = 'too many requests from this address (LIMIT_WEBRESPONDER_PER_MINUTE)';
      deps.metrics?.limitRefused('webresponder');
      ctx.status = 429;
      ctx.body = nsResponse([{ verb: 'Hangup' }]);
      return;
    }
    let params: Fields;
    try {
      // NetSapiens keeps the query of the configured URL (`?id=`) and adds its own parameters, by query or body.
      params = { ...(await readFields(ctx, { accept: ['form', 'json', 'multipart'], limit: 16_384 })), ...firstValues(ctx.query) };
    } catch (error) {
      if (!(error instanceof HttpError)) throw error;
      if (error.status === 415) {
        // NetSapiens' POST encoding is not pinned down, and the old service read any: rather than hang
        // up on a caller, ignore a body it cannot read and go on with the query (`?id=` and NmsAni).
        ctx.state.log.warn(
          { contentType: ctx.get('Content-Type'), encoding: ctx.get('Content-Encoding') },
          'webresponder body ignored: unsupported type',
        );
        params = firstValues(ctx.query);
      } else {
        ctx.status = error.status;
        ctx.body = nsResponse([{ verb: 'Hangup' }]);
        return;
      }
    }
    const id = params.id ?? '';
    if (!ID_PATTERN.test(id)) {
      ctx.status = 400;
      ctx.body = nsResponse([{ verb: 'Hangup' }]);
      return;
    }
    const tenant = deps.tenants.get(id);
    // `sig` comes from the URL Beckon wrote into the dial rule, never from a body.
    const signature = firstValues(ctx.query).sig;
    if (signature !== undefined || tenant?.webresponder_signed === true) {
      if (!signature || !secretMatches(signature, webresponderSignature(key, id))) {
        ctx.state.log.warn({ id }, 'webresponder refused: unsigned or wrongly signed URL');
        ctx.state.refusal = 'unsigned or wrongly signed URL';
        ctx.status = 403;
        ctx.body = nsResponse([{ verb: 'Hangup' }]);
        return;
      }
    } else if (tenant) {
      ctx.state.log.warn({ id }, 'webresponder URL is not signed: re-submit the SMS form to sign it');
    }
    const verbs: NsVerb[] = [];
    if (typeof tenant?.voice_message === 'string' && tenant.voice_message) verbs.push({ verb: 'Say', text: tenant.voice_message });
    verbs.push({ verb: 'Hangup' });
    ctx.body = nsResponse(verbs);
    if (!tenant) {
      ctx.state.log.warn({ id }, 'webresponder for an unknown id');
      return;
    }
    const log = ctx.state.log;
    if (!deps.background.run('text-back', () => textBack(deps, log, id, tenant, params.NmsAni))) deps.metrics?.text(PROVIDER, 'dropped');
  };
}

async function textBack(deps: ServerDeps, log: Logger, id: string, tenant: TenantConfig, nmsAni: string | undefined): Promise<void> {
  const { api_domain: domain, user, from_number: fromNumber, message } = tenant;
  if (!domain || !user || !fromNumber || !message) {
    log.info({ id }, 'no text sent: the id has no SMS settings');
    return;
  }
  const checked = checkCaller(nmsAni, tenant);
  if (!checked) {
    log.info({ id }, 'no text sent: the caller is not a phone number');
    return;
  }
  const { digits: caller, verdict: policy } = checked;
  const to = maskPhone(`+${caller}`);
  // Anyone can call this URL with any NmsAni: text only numbers this id would call back (no premium
  // numbers, only its countries), so the route cannot be turned into an SMS pump to costly destinations.
  if (!policy.ok) {
    log.warn({ id, to, reason: policy.reason }, 'no text sent: the caller number is not one this id may text');
    deps.metrics?.text(PROVIDER, 'refused-number');
    return;
  }
  // The id's cap is looked at first: once it is used up, a flood of distinct callers creates no per-caller state.
  if (await usedUp(deps.limits.idTexts, id)) {
    log.warn({ id, to }, 'no text sent: this id reached its texts per hour (LIMIT_TEXTS_PER_ID_PER_HOUR)');
    deps.metrics?.text(PROVIDER, 'limited');
    return;
  }
  if (!(await tryConsume(deps.limits.textBack, `${id}:${caller}`))) {
    log.info({ id, to }, 'no text sent: this caller was texted within the window');
    deps.metrics?.text(PROVIDER, 'recent');
    return;
  }
  if (!(await tryConsume(deps.limits.idTexts, id))) {
    log.warn({ id, to }, 'no text sent: this id reached its texts per hour (LIMIT_TEXTS_PER_ID_PER_HOUR)');
    deps.metrics?.text(PROVIDER, 'limited');
    return;
  }
  try {
    await deps.ns.messages.sendSms({ domain, user, fromNumber, destination: caller, message });
    log.info({ id, to }, 'text sent');
    deps.metrics?.text(PROVIDER, 'sent');
  } catch (error) {
    // Not retried: the text may have gone out, and a caller texted twice is worse than one not texted.
    log.error({ err: error, id, to }, 'text failed');
    deps.metrics?.text(PROVIDER, 'failed');
  }
}

/** The text-back's provider, as the metrics name it. */
const PROVIDER = 'netsapiens';

function firstValues(query: Record<string, string | string[] | undefined>): Fields {
  const fields: Fields = Object.create(null) as Fields;
  for (const [name, value] of Object.entries(query)) {
    const first = Array.isArray(value) ? value[0] : value;
    if (typeof first === 'string') fields[name] = first;
  }
  return fields;
}
