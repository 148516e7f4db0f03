import { NsUsageError } from './errors.js';

const SEPARATORS = /[\s().-]/g;
const E164 = /^\+[1-9]\d{7,14}$/;
/** Without `+`, at least 11 digits: a ten-digit NANP number without its `1` must not pass for `+81…`. */
const INTERNATIONAL_DIGITS = /^[1-9]\d{10,14}$/;

/**
 * `+18135551234` from `+1 (813) 555-1234` or `18135551234`. The country code is required: the client
 * does not guess one, the caller's own number policy does. Digits without `+` count only from 11
 * digits on, so `8135551234` is refused rather than read as country code 81; shorter international
 * numbers are written with `+`.
 */
export function toE164(value: string, field: string): string {
  const compact = typeof value === 'string' ? value.replace(SEPARATORS, '') : '';
  if (E164.test(compact)) return compact;
  if (INTERNATIONAL_DIGITS.test(compact)) return `+${compact}`;
  throw new NsUsageError(`${field} must be a phone number with its country code, e.g. +18135551234`);
}

/** `18135551234`: the v2 API wants digits with the country code and no `+`. */
export function toDigits(value: string, field: string): string {
  return toE164(value, field).slice(1);
}
