import type { Logger } from 'pino';

/**
 * The loop every durable action shares (event webhooks, texts): a `round` works through what is due in
 * the database, one round at a time; a new call event starts one at once, a timer every `pollMs`
 * (for retries that fell due), and a wake during a round runs another once it ends. Rounds start at
 * most every `minGapMs`: under a stream of events each round takes up everything since the last, and a
 * round's queries are paid a few times a second instead of once per event (at 2 000 events a second,
 * three workers' rounds would otherwise cost the database more round trips than storing the events).
 * The database holds the work, so a round that fails or a process that stops loses nothing.
 */
export interface Worker {
  /** Starts a round now, or right after the one running. */
  wake(): void;
  /** Stops: no new round; waits for the one running. */
  close(): Promise<void>;
}

export interface WorkerOptions {
  /** What the worker is, for its log line when a round fails. */
  name: string;
  round: (isClosed: () => boolean) => Promise<void>;
  logger: Logger;
  pollMs: number;
  /** The least time from one round's start to the next's. Default `MIN_GAP_MS`. */
  minGapMs?: number;
  /** The process's call-event bus: each new event wakes the worker (`EventBus.onSignal`). */
  bus?: { onSignal(wake: () => void): Promise<() => void> } | undefined;
}

/** `WorkerOptions.minGapMs`'s default: what a text or an event webhook may wait for its round under load. */
export const MIN_GAP_MS = 100;

export function startWorker(options: WorkerOptions): Worker {
  const minGapMs = options.minGapMs ?? MIN_GAP_MS;
  let running: Promise<void> | undefined;
  let again = false;
  let closed = false;
  let lastStart = -Infinity;
  let delayed: NodeJS.Timeout | undefined;
  const isClosed = () => closed;

  const wake = (): void => {
    if (closed) return;
    if (running) {
      again = true;
      return;
    }
    const wait = lastStart + minGapMs - performance.now();
    if (wait > 0) {
      delayed ??= setTimeout(() => {
        delayed = undefined;
        wake();
      }, wait);
      return;
    }
    lastStart = performance.now();
    running = options
      .round(isClosed)
      .catch((error: Error) => options.logger.warn({ reason: error.message }, `${options.name}: round failed, trying again at the next`))
      .finally(() => {
        running = undefined;
        if (again) {
          again = false;
          wake();
        }
      });
  };

  // Without the bus (it could not listen), the timer still finds the work.
  const stopWaking = options.bus?.onSignal(wake).catch(() => undefined);
  const timer = setInterval(wake, options.pollMs);
  timer.unref();
  wake();

  return {
    wake,
    async close() {
      closed = true;
      clearInterval(timer);
      clearTimeout(delayed);
      (await stopWaking)?.();
      await running;
    },
  };
}
