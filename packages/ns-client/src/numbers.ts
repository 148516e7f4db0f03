import { NsUsageError } from './errors.js';

const SEPARATORS = /[\s().-]/g;
const E164 = /^\+[1-9]\d{7,14}$/;
/** Without `+`, at least 11 digits: a ten-digit NANP number without its `1` must not pass for `+81…`. */
const INTERNATIONAL_DIGITS = /^[1-9]\d{10,14}$/;

/**
 * `+18135551234` from `+1 (813) 555-1234` or `18135551234`: the E.164 form the legacy API wants.
 * Spaces, `(`, `)`, `.` and `-` are dropped; what is left must be `+` and 8–15 digits, or 11–15 digits
 * without `+` (which get one), the first digit not 0.
 *
 * The country code is required: the client does not guess one, the caller's own number policy does.
 * Digits without `+` count only from 11 digits on, so a ten-digit `8135551234` is refused rather than
 * read as country code 81: normalise local numbers to E.164 before calling, and write shorter
 * international numbers with `+`. Each resource method converts numbers itself; this is exported for
 * callers that check a number first.
 *
 * @param field - The argument's name, for the error message.
 * @throws `NsUsageError` for anything else, naming `field`.
 */
export function toE164(value: string, field: string): string {
  const compact = typeof value === 'string' ? value.replace(SEPARATORS, '') : '';
  if (E164.test(compact)) return compact;
  if (INTERNATIONAL_DIGITS.test(compact)) return `+${compact}`;
  throw new NsUsageError(`${field} must be a phone number with its country code, e.g. +18135551234`);
}

/** `18135551234`: `toE164` without the `+`, the digits-with-country-code form the v2 API wants. Same rules and errors. */
export function toDigits(value: string, field: string): string {
  return toE164(value, field).slice(1);
}
