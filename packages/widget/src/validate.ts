/** Checks on what visitors type and what branding supplies, before either is used. */
import type { DialCountry } from './api.js';

const PHONE_CHARACTERS = /^[\d\s()+\-.]{7,20}$/;

/**
 * A quick plausibility check so obvious typos get an instant answer: 7–20 characters of digits,
 * spaces and `()+-.`, at least 7 of them digits. The server does the real validation.
 */
export function isPlausiblePhoneNumber(value: string): boolean {
  return PHONE_CHARACTERS.test(value) && (value.match(/\d/g)?.length ?? 0) >= 7;
}

/**
 * The absolute URL for an `http:`/`https:` value (relative values resolve against the page), else
 * undefined: `javascript:`, `data:` and other schemes never reach an `<img src>`.
 */
export function httpUrl(value: string | null | undefined): string | undefined {
  if (!value) return undefined;
  try {
    const url = new URL(value, document.baseURI);
    return url.protocol === 'https:' || url.protocol === 'http:' ? url.href : undefined;
  } catch {
    return undefined;
  }
}

/** Digits after a `+` or `00`: what the visitor typed is international, whatever country is picked. */
const INTERNATIONAL = /^(?:\+|00)/;

/**
 * The number to send for what the visitor typed with `country` picked: `+`, its calling code and the
 * digits of a national number (the server strips a national prefix after a calling code as it does in
 * a national number), `+` and the digits of an international one, or, without a country, as typed.
 */
export function dialledNumber(typed: string, country: DialCountry | undefined): string {
  if (!country) return typed;
  const digits = typed.replace(/\D/g, '');
  return INTERNATIONAL.test(typed) ? `+${digits.replace(/^00/, '')}` : `+${country.callingCode}${digits}`;
}

/**
 * The quick check with a country picked, from the lengths the server's metadata gives for it: a national
 * number has at least its shortest length and at most its longest plus three (a national prefix, such
 * as 0 in France or 1 in the US); an international one has 5 to 15 digits (E.164). Lenient on purpose:
 * the server does the real validation, and this must never refuse what it would accept.
 */
export function isPlausibleIn(typed: string, country: DialCountry): boolean {
  if (!/^\+?[\d\s()\-.]+$/.test(typed)) return false;
  const digits = typed.replace(/\D/g, '');
  if (INTERNATIONAL.test(typed)) return /^\d{5,15}$/.test(digits.replace(/^00/, ''));
  const { lengths } = country;
  return lengths.length === 0 ? digits.length >= 4 : digits.length >= Math.min(...lengths) && digits.length <= Math.max(...lengths) + 3;
}
