import { pino, stdSerializers, type Logger, type LoggerOptions } from 'pino';
import pretty from 'pino-pretty';

export type { Logger };

/**
 * JSON logs, or (`format: 'pretty'`, the default when stdout is a terminal and no `destination` is
 * given) one readable line each, through pino-pretty in this thread. Fields named like secrets are
 * censored at the top level and one level down, as a second line of defence: the code never logs
 * secrets on purpose. Errors (`err`) go through `errorForLog`.
 */
export function createLogger(
  level: LoggerOptions['level'] = 'info',
  destination?: NodeJS.WritableStream,
  format: 'json' | 'pretty' | undefined = undefined,
): Logger {
  const options: LoggerOptions = {
    level,
    base: { service: 'beckon-server' },
    serializers: { err: errorForLog },
    redact: {
      paths: [
        'secret',
        '*.secret',
        'token',
        '*.token',
        'authorization',
        '*.authorization',
        'headers.authorization',
        'headers["x-update-secret"]',
        'password',
        '*.password',
      ],
      censor: '[redacted]',
    },
  };
  if (destination) return pino(options, destination);
  // Pretty for a person at a terminal; JSON for everything that reads logs (journald, a collector, a file).
  if ((format ?? (process.stdout.isTTY ? 'pretty' : 'json')) === 'pretty') {
    return pino(options, pretty({ sync: true, colorize: process.stdout.isTTY === true, ignore: 'pid,hostname,service' }));
  }
  return pino(options);
}

/** `+1813•••1234`: enough to tell numbers apart in a log, not enough to call one. */
export function maskPhone(number: string | undefined): string {
  if (!number) return '';
  const digits = number.replace(/\D/g, '');
  if (digits.length <= 4) return '•'.repeat(digits.length);
  const prefix = number.startsWith('+') ? `+${digits.slice(0, Math.min(4, digits.length - 4))}` : '';
  return `${prefix}•••${digits.slice(-4)}`;
}

/** A phone number in free text: a `+` and digits with the usual separators, or seven digits and more in a row (a SIP user). */
const PHONE_IN_TEXT = /\+\d[\d ().-]{5,}\d|\d{7,}/g;

/** `text` with each phone number in it masked as `maskPhone` does. */
export function maskPhonesIn(text: string): string {
  return text.replace(PHONE_IN_TEXT, (number) => maskPhone(number));
}

/**
 * What is kept of a database error (PostgreSQL's, or PGlite's, which has the same fields): what failed,
 * where in Beckon's SQL, and on which object. Its `detail` and `where` quote the values, and PGlite's
 * error carries the whole `query` and its `params` — a raw call record, a list of customers.
 */
const DATABASE_ERROR_FIELDS = new Set([
  'type',
  'message',
  'stack',
  'code',
  'severity',
  'routine',
  'position',
  'table',
  'column',
  'constraint',
]);
/** Fields that quote a query's values, dropped from any error (a database error wrapped in another). */
const VALUE_FIELDS = new Set(['query', 'params', 'queryOptions', 'detail', 'where', 'internalQuery', 'hint']);

/**
 * pino's error serializer, then: a database error keeps only `DATABASE_ERROR_FIELDS`, any other error
 * loses `VALUE_FIELDS`, the same for the errors inside it, and phone numbers in messages and stacks are
 * masked. What an operator needs is left — the message, the SQLSTATE `code`, the routine — and the line
 * has the request id of the request's logger.
 */
export function errorForLog(error: unknown): unknown {
  return scrubbed(stdSerializers.err(error as Error));
}

/** One serialized error (it has pino's `raw`: the error itself), and those it holds, scrubbed. */
function scrubbed(value: unknown): unknown {
  if (value === null || typeof value !== 'object' || !('stack' in value) || !('raw' in value)) return value;
  const database = isDatabaseError(value.raw);
  const kept: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(value)) {
    if (database ? !DATABASE_ERROR_FIELDS.has(key) : VALUE_FIELDS.has(key)) continue;
    if (typeof field === 'string' && (key === 'message' || key === 'stack')) kept[key] = maskPhonesIn(field);
    else kept[key] = Array.isArray(field) ? field.map(scrubbed) : scrubbed(field);
  }
  return kept;
}

/** PostgreSQL's errors (`pg`'s and PGlite's) have a `severity` and a five-character SQLSTATE `code`. */
function isDatabaseError(error: unknown): boolean {
  const { severity, code } = (error ?? {}) as { severity?: unknown; code?: unknown };
  return typeof severity === 'string' && typeof code === 'string' && code.length === 5;
}
