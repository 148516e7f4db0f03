import type { Logger } from 'pino';
import type { BusMessage, Subscriber } from '../events/bus.js';

/**
 * The loop every durable action shares (event webhooks, texts): a `round` works through what is due in
 * the database, one round at a time; a new call event starts one at once, a timer every `pollMs`
 * (for retries that fell due), and a wake during a round runs another right after it. The database
 * holds the work, so a round that fails or a process that stops loses nothing.
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
  /** The process's call-event bus: each new event wakes the worker. */
  bus?:
    { subscribe(subscriber: Subscriber<BusMessage>): Promise<number>; unsubscribe(subscriber: Subscriber<BusMessage>): void } | undefined;
}

export function startWorker(options: WorkerOptions): Worker {
  let running: Promise<void> | undefined;
  let again = false;
  let closed = false;
  const isClosed = () => closed;

  const wake = (): void => {
    if (closed) return;
    if (running) {
      again = true;
      return;
    }
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

  const subscriber: Subscriber<BusMessage> = { deliver: wake, end: () => undefined };
  void options.bus?.subscribe(subscriber).catch(() => undefined);
  const timer = setInterval(wake, options.pollMs);
  timer.unref();
  wake();

  return {
    wake,
    async close() {
      closed = true;
      clearInterval(timer);
      options.bus?.unsubscribe(subscriber);
      await running;
    },
  };
}
