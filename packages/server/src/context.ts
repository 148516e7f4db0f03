import type { Logger } from 'pino';

/** What every request carries through the middleware (typed `ctx.state`). */
export interface AppState {
  requestId: string;
  /** The request's logger: every line carries its request id. */
  log: Logger;
}
