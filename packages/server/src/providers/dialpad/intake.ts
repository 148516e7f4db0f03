import type { Middleware, ParameterizedContext } from 'koa';
import type { Logger } from 'pino';
import { startWorker, type Worker, type WorkerOptions } from '../../actions/worker.js';
import type { BackgroundTasks } from '../../background.js';
import type { AppState } from '../../context.js';
import type { Database, Queryable } from '../../db/database.js';
import { moveCall, recordCallEvents, type PendingCallEvent } from '../../events/calls.js';
import { storedOrRedeliver } from '../../api/unavailable.js';
import { storableText } from '../../events/intake.js';
import { countryOfId } from '../../events/phone.js';
import { HttpError } from '../../http-error.js';
import { readLimited } from '../../middleware/body.js';
import { maskPhonesIn } from '../../logging.js';
import type { TenantStore } from '../../tenants/store.js';
import { PROVIDER, readDialpadEvent, type DialpadEvent } from './events.js';
import { isCompactJwt, tokenKey, verifyDialpadToken } from './jwt.js';
import type { SecretBox } from './secrets.js';
import { loadSigners } from './store.js';

/** The largest delivery read: transcripts and recaps make call events large; 1 MiB is far above them. */
export const WEBHOOK_BODY_LIMIT = 1_048_576;
/** How long the answer waits for the normalization before going out anyway (Dialpad gives up at 5 s). */
const PROCESS_WAIT_MS = 2_000;
/** A delivery whose normalization failed is tried again after 30 s, doubling up to an hour, at most this many times. */
export const MAX_ATTEMPTS = 10;
const FIRST_RETRY_SECONDS = 30;
const LAST_RETRY_SECONDS = 3_600;
/** While a worker holds a delivery, no other takes it up. */
const LEASE_SECONDS = 120;

const REFUSED = 'The body must be a JWT signed (HS256) with the secret of a Dialpad webhook this server knows';

export interface DialpadIntakeDeps {
  db: Database;
  tenants: Pick<TenantStore, 'get'>;
  /** Opens the secrets of the webhooks Beckon created; absent without INTERNAL_API_SECRET (none can exist then). */
  secrets: SecretBox | undefined;
  /** `DIALPAD_WEBHOOK_SECRET` and `DIALPAD_DEFAULT_ID`: a webhook created by hand, its events stored under that id. */
  fallback: { secret: string; tenant: string } | undefined;
  background: BackgroundTasks;
}

/**
 * `POST /webhooks/dialpad`: a Dialpad event, as a compact JWT (any content type: Dialpad does not document
 * one). Verified before anything is stored (HS256 only) against the secrets of the webhooks Beckon
 * created, then `DIALPAD_WEBHOOK_SECRET`; the secret that verifies says which id the event belongs to.
 * Anything that does not verify — `alg: none`, another algorithm, a wrong secret, a tampered payload, not
 * a JWT at all — is the same 401, and nothing is stored. A verified token is stored in `deliveries`
 * (deduplicated by its SHA-256: a redelivery is stored once) and answered 200; its normalization into
 * calls, messages or voicemails runs from the stored row, up to `PROCESS_WAIT_MS` before the answer and
 * in the background after, and is retried by `startDialpadProcessor` should it fail. A 503 while the
 * database cannot store (Dialpad redelivers on 5xx).
 */
export function dialpadWebhook(deps: DialpadIntakeDeps): Middleware<AppState> {
  const { db } = deps;
  return async function dialpadWebhook(ctx) {
    const token = tokenIn(await readBody(ctx));
    // Not even shaped like a signed JWT: refused without a look at the database.
    if (token === undefined || !isCompactJwt(token)) {
      ctx.state.log.info({ reason: 'not a JWT' }, 'dialpad delivery refused');
      throw new HttpError(401, REFUSED);
    }
    const signers = await storedOrRedeliver(ctx, PROVIDER, () => loadSigners(db, deps.secrets, deps.fallback));
    const verified = await verifyDialpadToken(token, signers);
    if (!verified) {
      ctx.state.log.info({ reason: signers.length === 0 ? 'no secret configured' : 'not verified' }, 'dialpad delivery refused');
      throw new HttpError(401, signers.length === 0 ? `${REFUSED}: none is configured (DIALPAD_WEBHOOK_SECRET)` : REFUSED);
    }
    const { tenant, webhookId } = verified.owner;
    const payload = storable(verified.payload) as Record<string, unknown>;
    const stored = await storedOrRedeliver(ctx, PROVIDER, () =>
      db.query<{ id: number }>(
        `INSERT INTO deliveries (provider, tenant, dedupe_key, body, retry_at)
         VALUES ($1, $2, $3, $4::jsonb, now() + make_interval(secs => $5))
         ON CONFLICT (provider, tenant, dedupe_key) DO NOTHING RETURNING id`,
        [PROVIDER, tenant, tokenKey(token), JSON.stringify({ jwt: token, webhook: webhookId ?? null, payload }), FIRST_RETRY_SECONDS],
      ),
    );
    const deliveryId = stored.rows[0]?.id;
    ctx.state.log.debug({ id: tenant, webhook: webhookId, delivery: deliveryId, redelivery: deliveryId === undefined }, 'dialpad delivery');
    if (deliveryId !== undefined) {
      const processing = processDelivery({ db, tenants: deps.tenants, logger: ctx.state.log }, Number(deliveryId));
      deps.background.run('dialpad delivery', () => processing);
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([processing, new Promise((resolve) => (timer = setTimeout(resolve, PROCESS_WAIT_MS)))]);
      clearTimeout(timer);
    }
    ctx.body = { status: 'ok', stored: deliveryId === undefined ? 0 : 1 };
  };
}

/** The body's text, at most `WEBHOOK_BODY_LIMIT` bytes (413 past it), uncompressed (415 otherwise). */
async function readBody(ctx: ParameterizedContext<AppState>): Promise<string> {
  const encoding = ctx.get('Content-Encoding');
  if (encoding && encoding !== 'identity') throw new HttpError(415, 'Compressed request bodies are not accepted');
  return (await readLimited(ctx, WEBHOOK_BODY_LIMIT)).toString('utf8');
}

/** The token in a body: the body itself, trimmed, or a JSON string holding it. */
function tokenIn(body: string): string | undefined {
  const trimmed = body.trim();
  if (!trimmed.startsWith('"')) return trimmed === '' ? undefined : trimmed;
  try {
    const parsed: unknown = JSON.parse(trimmed);
    return typeof parsed === 'string' ? parsed.trim() : undefined;
  } catch {
    return undefined;
  }
}

/** A copy of a JSON value PostgreSQL can hold (`storableText` on every string, keys included), at most 32 levels deep. */
function storable(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return storableText(value);
  if (value === null || typeof value !== 'object') return value;
  if (depth >= 32) return null;
  if (Array.isArray(value)) return value.map((item) => storable(item, depth + 1));
  return Object.fromEntries(Object.entries(value).map(([key, item]) => [storableText(key), storable(item, depth + 1)]));
}

export interface ProcessDeps {
  db: Database;
  tenants: Pick<TenantStore, 'get'>;
  logger: Logger;
}

/**
 * Normalizes one stored Dialpad delivery in a transaction: the call change (through the shared pipeline,
 * so it reaches the stream, the popup and the relays), the voicemail, the text; then marks it processed.
 * A delivery already processed (by another instance, or a redelivery racing its first) is left as it is.
 * Never throws: a failure is recorded on the row (`attempts`, `error`, `retry_at`) for the worker to try again.
 */
export async function processDelivery(deps: ProcessDeps, deliveryId: number): Promise<void> {
  const { db } = deps;
  try {
    const { rows } = await db.query<{ tenant: string; body: { payload?: unknown }; received_at: Date }>(
      `SELECT tenant, body, received_at FROM deliveries WHERE id = $1 AND provider = $2 AND processed_at IS NULL`,
      [deliveryId, PROVIDER],
    );
    const row = rows[0];
    if (!row) return;
    const payload = row.body.payload;
    const event: DialpadEvent =
      payload !== null && typeof payload === 'object' && !Array.isArray(payload)
        ? readDialpadEvent(payload as Record<string, unknown>, countryOfId(deps.tenants, row.tenant), row.received_at)
        : { kind: 'other' };
    await db.transaction(async (tx) => {
      // The delivery's row first: of two processors of it (the intake's and a worker's), the second waits, then finds it done.
      const locked = await tx.query('SELECT id FROM deliveries WHERE id = $1 AND processed_at IS NULL FOR UPDATE', [deliveryId]);
      if (locked.rows.length === 0) return;
      const pending = await apply(tx, row.tenant, deliveryId, event);
      await tx.query('UPDATE deliveries SET processed_at = now(), attempts = attempts + 1, error = NULL, retry_at = NULL WHERE id = $1', [
        deliveryId,
      ]);
      // Last, as the shared pipeline requires: the call event is inserted under the call-events lock, held to commit.
      if (pending) await recordCallEvents(tx, [pending]);
    });
    if (event.kind !== 'other') deps.logger.debug({ id: row.tenant, delivery: deliveryId, kind: event.kind }, 'dialpad delivery processed');
  } catch (error) {
    const reason = maskPhonesIn((error as Error).message ?? String(error)).slice(0, 500);
    const retry = await db
      .query<{ attempts: number }>(
        `UPDATE deliveries SET attempts = attempts + 1, error = $2,
           retry_at = CASE WHEN attempts + 1 >= $3 THEN NULL
             ELSE now() + make_interval(secs => LEAST($5::float8, $4::float8 * power(2, LEAST(attempts, 16)))) END
         WHERE id = $1 AND processed_at IS NULL RETURNING attempts`,
        [deliveryId, reason, MAX_ATTEMPTS, FIRST_RETRY_SECONDS, LAST_RETRY_SECONDS],
      )
      .then(
        (result) => result.rows[0]?.attempts,
        () => undefined,
      );
    const givenUp = retry !== undefined && retry >= MAX_ATTEMPTS;
    deps.logger[givenUp ? 'error' : 'warn'](
      { delivery: deliveryId, attempts: retry, reason },
      givenUp ? 'dialpad delivery not processed: given up' : 'dialpad delivery not processed: trying again later',
    );
  }
}

/** Writes the event's rows (the call's, the voicemail's, the message's); the call event it calls for, to record last. */
async function apply(tx: Queryable, tenant: string, deliveryId: number, event: DialpadEvent): Promise<PendingCallEvent | undefined> {
  if (event.kind === 'call') {
    const moved = event.change ? await moveCall(tx, { ...event.change, tenant, provider: PROVIDER, deliveryId }) : undefined;
    const callId = moved?.callId;
    const voicemail = event.voicemail;
    if (voicemail) {
      await tx.query(
        `INSERT INTO voicemails (tenant, provider, provider_call_id, call_id, from_number, from_name, to_number, recording_url,
           transcription, left_at, delivery_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
         ON CONFLICT (tenant, provider, provider_call_id) DO UPDATE SET
           call_id = COALESCE(voicemails.call_id, EXCLUDED.call_id),
           recording_url = COALESCE(EXCLUDED.recording_url, voicemails.recording_url),
           transcription = COALESCE(EXCLUDED.transcription, voicemails.transcription),
           from_name = COALESCE(voicemails.from_name, EXCLUDED.from_name),
           updated_at = now()`,
        [
          tenant,
          PROVIDER,
          voicemail.providerCallId,
          callId ?? null,
          voicemail.fromNumber ?? null,
          voicemail.fromName ?? null,
          voicemail.toNumber ?? null,
          voicemail.recordingUrl ?? null,
          voicemail.transcription ?? null,
          voicemail.leftAt,
          deliveryId,
        ],
      );
    }
    return moved?.event;
  }
  if (event.kind === 'sms') {
    const { message } = event;
    await tx.query(
      `INSERT INTO messages (tenant, provider, provider_message_id, direction, from_number, to_numbers, body, status, sent_at, delivery_id)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
       ON CONFLICT (tenant, provider, provider_message_id) DO UPDATE SET
         status = COALESCE(EXCLUDED.status, messages.status),
         body = COALESCE(messages.body, EXCLUDED.body),
         updated_at = now()`,
      [
        tenant,
        PROVIDER,
        message.providerMessageId,
        message.direction,
        message.fromNumber ?? null,
        message.toNumbers,
        message.body ?? null,
        message.status ?? null,
        message.sentAt,
        deliveryId,
      ],
    );
  }
  return undefined;
}

/**
 * Takes up the Dialpad deliveries whose normalization has not succeeded yet — failed, or cut short by a
 * restart — when their `retry_at` comes (30 s, doubling up to an hour, `MAX_ATTEMPTS` in all). Each is
 * claimed for `LEASE_SECONDS` first, so that of several instances one takes it.
 */
export function startDialpadProcessor(options: ProcessDeps & { pollMs?: number; bus?: WorkerOptions['bus'] }): Worker {
  const { db } = options;
  const claim = () =>
    db
      .query<{ id: number }>(
        `UPDATE deliveries SET retry_at = now() + make_interval(secs => $3) WHERE id IN (
           SELECT id FROM deliveries
           WHERE provider = $1 AND processed_at IS NULL AND attempts < $2 AND COALESCE(retry_at, received_at) <= now()
           ORDER BY id LIMIT 20 FOR UPDATE SKIP LOCKED)
         RETURNING id`,
        [PROVIDER, MAX_ATTEMPTS, LEASE_SECONDS],
      )
      .then((result) => result.rows.map((row) => Number(row.id)));
  const round = async (isClosed: () => boolean): Promise<void> => {
    for (let claimed = await claim(); claimed.length > 0 && !isClosed(); claimed = await claim()) {
      for (const id of claimed) await processDelivery(options, id);
    }
  };
  return startWorker({ name: 'dialpad deliveries', round, logger: options.logger, pollMs: options.pollMs ?? 10_000, bus: options.bus });
}
