// The full metadata: the default (min) set has type patterns only where several countries share a calling
// code (NANP, +44, +61…), so elsewhere it can neither tell a premium number from an ordinary one nor check
// more than a number's length.
import { parsePhoneNumberFromString, type CountryCode, type NumberType, type PhoneNumber } from 'libphonenumber-js/max';
import type { TenantConfig } from '../tenants/schema.js';

/**
 * Where a callback may go when an id does not say: the United States with the territories that share
 * its domestic rates, and Canada. Other NANP members (much of the Caribbean) bill like international
 * calls and are a favourite of toll fraud, so an id must list them in `allowed_countries`.
 */
export const DEFAULT_COUNTRIES: readonly string[] = ['US', 'CA', 'PR', 'VI', 'GU', 'AS', 'MP'];

export type PhoneVerdict = { ok: true; e164: string } | { ok: false; reason: 'invalid' | 'country' | 'premium' };

/**
 * The kinds of number a visitor's own phone can be. Every other type is refused as `premium`: premium-rate
 * and shared-cost numbers bill the caller (here: the site owner) above ordinary rates, and personal
 * (follow-me), UAN, voicemail and pager numbers are someone's service, not a phone, and several countries
 * bill them above ordinary rates too. Toll-free numbers pass: they cost the site owner nothing extra, and a
 * visitor at work may give their office's. An allowlist, so that what is not known to be ordinary is refused.
 */
const CALLABLE_TYPES: ReadonlySet<NonNullable<NumberType>> = new Set<NonNullable<NumberType>>([
  'FIXED_LINE',
  'MOBILE',
  'FIXED_LINE_OR_MOBILE',
  'VOIP',
  'TOLL_FREE',
]);

/**
 * NANP services libphonenumber types as ordinary: the 976 exchange in any area code (pay-per-call
 * information lines) and 600 (Canadian non-geographic tariffed services, typed VoIP).
 */
const NANP_SPECIAL = /^\+1(?:600\d{7}|\d{3}976\d{4})$/;

/** Parses what a visitor typed (national NANP format by default, or international with `+`) and decides. */
export function checkPhone(input: string, tenant: Pick<TenantConfig, 'allowed_countries'>): PhoneVerdict {
  const number = parsePhoneNumberFromString(input.trim().slice(0, 40), 'US');
  // With the full metadata a number is valid exactly when it has a type (isValid() is that test), so
  // one call both validates and classifies.
  return decide(number, number?.getType(), tenant);
}

/** The policy on a number parsed once, with its type (undefined: not a valid number). */
function decide(number: PhoneNumber | undefined, type: NumberType, tenant: Pick<TenantConfig, 'allowed_countries'>): PhoneVerdict {
  if (!number || !type) return { ok: false, reason: 'invalid' };
  const e164 = number.number;
  // Before the country, so a pump trying premium numbers is logged as such whatever country it picks.
  if (!CALLABLE_TYPES.has(type) || NANP_SPECIAL.test(e164)) return { ok: false, reason: 'premium' };
  const allowed = tenant.allowed_countries ?? DEFAULT_COUNTRIES;
  if (!number.country || !allowed.includes(number.country as CountryCode)) return { ok: false, reason: 'country' };
  return { ok: true, e164 };
}

/** What NetSapiens sends as `NmsAni`, as country-code digits (`18135551234`); undefined for an extension. */
export function callerDigits(nmsAni: string | undefined): string | undefined {
  return parseCaller(nmsAni)?.number.number.slice(1);
}

/**
 * The caller NetSapiens names in `NmsAni` and whether `tenant` may text them: their country-code digits
 * and `checkPhone`'s verdict on them, from one parse of the number (the text-back's hot path); undefined
 * for an extension or anything else that is not a phone number.
 */
export function checkCaller(
  nmsAni: string | undefined,
  tenant: Pick<TenantConfig, 'allowed_countries'>,
): { digits: string; verdict: PhoneVerdict } | undefined {
  const caller = parseCaller(nmsAni);
  if (!caller) return undefined;
  // The E.164 form parses to the same number, country and type as the form NetSapiens sent (a national
  // 10 or 11 digits included): deciding on this parse is deciding on `+<digits>`.
  return { digits: caller.number.number.slice(1), verdict: decide(caller.number, caller.type, tenant) };
}

/** `NmsAni` parsed: the first reading of it that is a valid number, with that number's type. */
function parseCaller(nmsAni: string | undefined): { number: PhoneNumber; type: NonNullable<NumberType> } | undefined {
  if (!nmsAni) return undefined;
  const cleaned = (nmsAni.trim().replace(/^sip:/i, '').split('@')[0] ?? '').slice(0, 40);
  // NetSapiens sends NANP callers as 10 or 11 digits and others with their country code.
  for (const candidate of [cleaned, `+${cleaned.replace(/^\+/, '')}`]) {
    const number = parsePhoneNumberFromString(candidate, 'US');
    // With the full metadata, valid exactly when typed (see checkPhone).
    const type = number?.getType();
    if (number && type) return { number, type };
  }
  return undefined;
}
