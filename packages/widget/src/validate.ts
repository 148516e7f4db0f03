/** Checks on what visitors type and what branding supplies, before either is used. */

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
