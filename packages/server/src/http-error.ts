export interface HttpErrorOptions {
  /** A stable code for errors a visitor sees (`rate_limited`): the widget shows its own text for it. */
  code?: string;
  /** Headers the answer must carry, such as `Retry-After` or `Allow`. */
  headers?: Record<string, string>;
}

/**
 * An answer that refuses a request, with a message a person can act on. Thrown anywhere below the error
 * envelope (`middleware/errors.ts`), which turns it into `{"status":"error","message","code"?}`; any other
 * error is a 500 whose detail goes to the log only. The message is English; `code` is what a client
 * translates.
 */
export class HttpError extends Error {
  override name = 'HttpError';
  readonly status: number;
  readonly code: string | undefined;
  readonly headers: Record<string, string>;

  constructor(status: number, message: string, options: HttpErrorOptions = {}) {
    super(message);
    this.status = status;
    this.code = options.code;
    this.headers = options.headers ?? {};
  }
}
