import type { Logger } from 'pino';

/** What every request carries through the middleware (typed `ctx.state`). */
export interface AppState {
  requestId: string;
  /** The request's logger: every line carries its request id. */
  log: Logger;
  /**
   * Why a request was refused (the 4xx message), for the request's log line: form posts come from
   * Zoho, whose users never see the answer, so the log is where an operator finds the reason.
   */
  refusal?: string;
}
