import type { Logger } from 'pino';

/**
 * Work a request starts but does not wait for (texting a caller after NetSapiens has its answer).
 * Tracked so a graceful shutdown can let it finish; a failure is logged, never thrown.
 */
export class BackgroundTasks {
  readonly #running = new Set<Promise<void>>();
  #dropped = 0;

  /**
   * `maxRunning` bounds the memory a stalled dependency can cost: with the SMS API hanging, every call
   * would otherwise add a pending text (thousands a minute under load). Past it, new tasks are dropped
   * and logged — a caller not texted beats a server out of memory.
   */
  constructor(
    private readonly logger: Logger,
    private readonly maxRunning = 1_000,
  ) {}

  /** Starts `task` unless `maxRunning` tasks are already running; says whether it started. */
  run(name: string, task: () => Promise<void>): boolean {
    if (this.#running.size >= this.maxRunning) {
      this.#dropped += 1;
      this.logger.warn({ task: name, running: this.#running.size }, 'background task dropped: too many running');
      return false;
    }
    const promise = task()
      .catch((error: unknown) => this.logger.error({ err: error, task: name }, 'background task failed'))
      .finally(() => this.#running.delete(promise));
    this.#running.add(promise);
    return true;
  }

  get size(): number {
    return this.#running.size;
  }

  /** How many tasks `run` has dropped since this was made. */
  get dropped(): number {
    return this.#dropped;
  }

  /**
   * Waits until nothing is running, up to `timeoutMs` — including tasks started while it waits (a
   * request still being answered may start a text), so a host that drains before its HTTP server has
   * stopped loses nothing either. Resolves to false when tasks were still running at the deadline.
   */
  async drain(timeoutMs: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    let timedOut = false;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        timedOut = true;
        resolve();
      }, timeoutMs);
      timer.unref();
    });
    while (this.#running.size > 0 && !timedOut) {
      await Promise.race([Promise.allSettled([...this.#running]), timeout]);
    }
    clearTimeout(timer);
    if (this.#running.size > 0)
      this.logger.warn({ running: this.#running.size }, 'background tasks still running at the shutdown deadline');
    return this.#running.size === 0;
  }
}
