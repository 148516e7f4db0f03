import { NsUsageError } from './errors.js';

const SEPARATORS = /[\s().-]/g;
const E164 = /^\+[1-9]\d{7,14}$/;
const INTERNATIONAL_DIGITS = /^[1-9]\d{7,14}$/;

/**
 * `+18135551234` from `+1 (813) 555-1234` or `18135551234`. The country code is required: the client
 * does not guess one (a ten-digit number is ambiguous), the caller's own number policy does.
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
