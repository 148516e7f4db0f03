import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * Knows when code runs inside one of a database's open transactions, so that a query sent to the
 * database itself from there fails at once: on PGlite, which runs one transaction at a time, it would
 * wait for the transaction around it forever; on PostgreSQL it would silently run outside it. Both
 * engines refuse it alike, so a test on either finds the mistake.
 */
export class TransactionScope {
  readonly #inside = new AsyncLocalStorage<{ open: boolean }>();

  /** Runs `work` as the body of a transaction; `open()` says whether that transaction is still running. */
  async run<T>(work: (open: () => boolean) => Promise<T>): Promise<T> {
    const state = { open: true };
    try {
      return await this.#inside.run(state, () => work(() => state.open));
    } finally {
      state.open = false;
    }
  }

  /** Throws when called from the body of a transaction that is still open. */
  refuseInside(): void {
    if (this.#inside.getStore()?.open) {
      throw new Error("A query on the database inside one of its transactions: use the transaction's own queryable (tx)");
    }
  }
}
