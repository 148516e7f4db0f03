import type { Logger } from 'pino';

/**
 * Work a request starts but does not wait for (texting a caller after NetSapiens has its answer).
 * Tracked so a graceful shutdown can let it finish; a failure is logged, never thrown.
 */
export class BackgroundTasks {
  readonly #running = new Set<Promise<void>>();

  constructor(private readonly logger: Logger) {}

  run(name: string, task: () => Promise<void>): void {
    const promise = task()
      .catch((error: unknown) => this.logger.error({ err: error, task: name }, 'background task failed'))
      .finally(() => this.#running.delete(promise));
    this.#running.add(promise);
  }

  get size(): number {
    return this.#running.size;
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
    if (this.#running.size > 0) this.logger.warn({ running: this.#running.size }, 'background tasks still running at the shutdown deadline');
    return this.#running.size === 0;
  }
}
