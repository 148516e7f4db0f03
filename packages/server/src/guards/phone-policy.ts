import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js';
import type { TenantConfig } from '../tenants/schema.js';

/**
 * Where a callback may go when an id does not say: the United States with the territories that share
 * its domestic rates, and Canada. Other NANP members (much of the Caribbean) bill like international
 * calls and are a favourite of toll fraud, so an id must list them in `allowed_countries`.
 */
export const DEFAULT_COUNTRIES: readonly string[] = ['US', 'CA', 'PR', 'VI', 'GU', 'AS', 'MP'];

export type PhoneVerdict =
  | { ok: true; e164: string }
  | { ok: false; reason: 'invalid' | 'country' | 'premium' };

/** NANP premium and special services: 900 and 976 numbers bill the caller (here: the site owner). */
const NANP_PREMIUM = /^\+1(900|976)\d{7}$|^\+1\d{3}976\d{4}$/;

/** Parses what a visitor typed (national NANP format by default, or international with `+`) and decides. */
export function checkPhone(input: string, tenant: Pick<TenantConfig, 'allowed_countries'>): PhoneVerdict {
  const number = parsePhoneNumberFromString(input.trim().slice(0, 40), 'US');
  if (!number || !number.isValid()) return { ok: false, reason: 'invalid' };
  const e164 = number.number;
  if (NANP_PREMIUM.test(e164)) return { ok: false, reason: 'premium' };
  const allowed = tenant.allowed_countries ?? DEFAULT_COUNTRIES;
  if (!number.country || !allowed.includes(number.country as CountryCode)) return { ok: false, reason: 'country' };
  return { ok: true, e164 };
}

/** What NetSapiens sends as `NmsAni`, as country-code digits (`18135551234`); undefined for an extension. */
export function callerDigits(nmsAni: string | undefined): string | undefined {
  if (!nmsAni) return undefined;
  const cleaned = (nmsAni.trim().replace(/^sip:/i, '').split('@')[0] ?? '').slice(0, 40);
  // NetSapiens sends NANP callers as 10 or 11 digits and others with their country code.
  for (const candidate of [cleaned, `+${cleaned.replace(/^\+/, '')}`]) {
    const number = parsePhoneNumberFromString(candidate, 'US');
    if (number?.isValid()) return number.number.slice(1);
  }
  return undefined;
}
