import type { Logger } from 'pino';
import type { Database, Queryable } from '../db/database.js';
import { maskPhone } from '../logging.js';
import type { Metrics } from '../metrics/metrics.js';
import { startWorker, type Worker, type WorkerOptions } from './worker.js';

/**
 * Texts sent through a provider's API, durably: `queueText` writes one into the `texts` outbox inside
 * the transaction that stores the event calling for it (store, then act), after the checks that keep a
 * public number from becoming an SMS cannon; `startTextSender` sends what is due, tries again after a
 * failure Twilio (or another provider) may get over, and gives up after the last delay.
 */

/** A text to send, and why: one per `dedupeKey` (e.g. `text-back:<CallSid>`) per provider, ever. */
export interface TextRequest {
  tenant: string;
  provider: string;
  dedupeKey: string;
  /** E.164. */
  to: string;
  /** E.164: the provider's number the text comes from. */
  from: string;
  body: string;
}

export interface TextPolicy {
  /** A number is texted at most once per id within this many seconds (`TEXT_BACK_WINDOW_MINUTES`). */
  windowSeconds: number;
  /** Texts an id may send per hour (`LIMIT_TEXTS_PER_ID_PER_HOUR`): a flood of calls cannot run up the bill. */
  perIdPerHour: number;
}

/** What `queueText` did: `queued`, or why not. */
export type QueueOutcome = 'queued' | 'already queued' | 'not a phone number' | 'opted out' | 'texted recently' | 'id limit reached';

const E164 = /^\+[1-9]\d{7,14}$/;

/**
 * Queues `text` in the caller's transaction, unless: it was queued before (a redelivered webhook), `to`
 * is not a number that can take a text, `to` asked this number to stop, `to` was texted by this id
 * within the window, or the id used up its texts for the hour.
 */
export async function queueText(tx: Queryable, text: TextRequest, policy: TextPolicy): Promise<QueueOutcome> {
  if (!E164.test(text.to)) return 'not a phone number';
  const { rows } = await tx.query<{ opted_out: boolean; recent: boolean; this_hour: number; queued: boolean }>(
    `SELECT
       EXISTS (SELECT 1 FROM text_opt_outs WHERE from_number = $1 AND to_number = $2) AS opted_out,
       EXISTS (SELECT 1 FROM texts WHERE tenant = $3 AND to_number = $2 AND created_at > now() - make_interval(secs => $4)) AS recent,
       (SELECT count(*)::int FROM texts WHERE tenant = $3 AND created_at > now() - interval '1 hour') AS this_hour,
       EXISTS (SELECT 1 FROM texts WHERE provider = $5 AND dedupe_key = $6) AS queued`,
    [text.from, text.to, text.tenant, policy.windowSeconds, text.provider, text.dedupeKey],
  );
  const found = rows[0]!;
  if (found.queued) return 'already queued';
  if (found.opted_out) return 'opted out';
  if (found.recent) return 'texted recently';
  if (found.this_hour >= policy.perIdPerHour) return 'id limit reached';
  const inserted = await tx.query(
    `INSERT INTO texts (tenant, provider, dedupe_key, to_number, from_number, body) VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (provider, dedupe_key) DO NOTHING`,
    [text.tenant, text.provider, text.dedupeKey, text.to, text.from, text.body],
  );
  return inserted.rowCount === 1 ? 'queued' : 'already queued';
}

/** Records that `to` texted STOP (`stop`) or START to the number `from`: texts from `from` to `to` stop, or may go again. */
export async function recordOptOut(db: Queryable, from: string, to: string, stop: boolean): Promise<void> {
  if (stop) {
    await db.query('INSERT INTO text_opt_outs (from_number, to_number) VALUES ($1, $2) ON CONFLICT DO NOTHING', [from, to]);
  } else {
    await db.query('DELETE FROM text_opt_outs WHERE from_number = $1 AND to_number = $2', [from, to]);
  }
}

/**
 * Sends one text through a provider; resolves to the provider's id of the message. A failure with
 * `retryable: false` (the provider refused this text for good: an invalid number, a recipient who
 * opted out with the carrier) is not tried again.
 */
export type TextSender = (text: { to: string; from: string; body: string }) => Promise<{ providerMessageId: string }>;

/** After a failure, the next attempt waits 30 s, 2 min, 10 min, 30 min, then 1 h twice (about 3 h in all); then it is given up. */
export const DEFAULT_TEXT_RETRY_DELAYS_MS: readonly number[] = [30_000, 120_000, 600_000, 1_800_000, 3_600_000, 3_600_000];
const LEASE = "interval '2 minutes'";
const BATCH = 20;

export interface TextSenderOptions {
  db: Database;
  /** One sender per provider named in `texts.provider`; texts of a provider without one wait. */
  senders: Readonly<Record<string, TextSender>>;
  logger: Logger;
  bus?: WorkerOptions['bus'];
  pollMs?: number;
  retryDelaysMs?: readonly number[];
  /** Counts each text sent, and each given up (`beckon_texts_total`). */
  metrics?: Pick<Metrics, 'text'>;
}

interface ClaimedText {
  id: number;
  tenant: string;
  provider: string;
  to_number: string;
  from_number: string;
  body: string;
  attempts: number;
}

export function startTextSender(options: TextSenderOptions): Worker {
  const { db, senders, logger, metrics } = options;
  const retryDelaysMs = options.retryDelaysMs ?? DEFAULT_TEXT_RETRY_DELAYS_MS;
  const providers = Object.keys(senders);

  const claim = () =>
    db
      .query<ClaimedText>(
        `UPDATE texts t SET locked_until = now() + ${LEASE}, attempts = t.attempts + 1
         WHERE t.id IN (
           SELECT id FROM texts
           WHERE sent_at IS NULL AND failed_at IS NULL AND next_attempt_at <= now() AND (locked_until IS NULL OR locked_until < now())
             AND provider = ANY($2::text[])
           ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED)
         RETURNING t.id, t.tenant, t.provider, t.to_number, t.from_number, t.body, t.attempts`,
        [BATCH, providers],
      )
      .then((result) => result.rows);

  const send = async (text: ClaimedText): Promise<void> => {
    const log = { id: text.tenant, provider: text.provider, to: maskPhone(text.to_number), attempt: text.attempts };
    try {
      const { providerMessageId } = await senders[text.provider]!({ to: text.to_number, from: text.from_number, body: text.body });
      await db.query('UPDATE texts SET sent_at = now(), locked_until = NULL, provider_message_id = $2, last_error = NULL WHERE id = $1', [
        text.id,
        providerMessageId,
      ]);
      logger.info(log, 'text sent');
      metrics?.text(text.provider, 'sent');
    } catch (error) {
      // A provider's message may repeat the number ("The 'To' number +1… is not valid"): masked before it is logged or stored.
      const reason = (error as Error).message.replace(/\+?\d[\d ().-]{6,}\d/g, (number) => maskPhone(number));
      const delay = (error as { retryable?: boolean }).retryable === false ? undefined : retryDelaysMs[text.attempts - 1];
      if (delay === undefined) {
        await db.query('UPDATE texts SET failed_at = now(), locked_until = NULL, last_error = $2 WHERE id = $1', [text.id, reason]);
        logger.error({ ...log, reason }, 'text not sent: given up');
        metrics?.text(text.provider, 'failed');
        return;
      }
      await db.query(
        'UPDATE texts SET next_attempt_at = now() + make_interval(secs => $2), locked_until = NULL, last_error = $3 WHERE id = $1',
        [text.id, delay / 1000, reason],
      );
      logger.warn({ ...log, reason, retryInMs: delay }, 'text not sent: trying again later');
    }
  };

  const round = async (isClosed: () => boolean): Promise<void> => {
    for (let claimed = await claim(); claimed.length > 0 && !isClosed(); claimed = await claim()) {
      await Promise.all(claimed.map(send));
    }
  };

  return startWorker({ name: 'texts', round, logger, pollMs: options.pollMs ?? 5_000, bus: options.bus });
}
