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

  /** Waits for what is running, up to `timeoutMs`. */
  async drain(timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeoutMs);
      timer.unref();
    });
    await Promise.race([Promise.allSettled([...this.#running]).then(() => undefined), timeout]);
    clearTimeout(timer);
  }
}
