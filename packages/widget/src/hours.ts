/** What the element says of a closed line, in the visitor's language and time zone. */
import type { LineHours } from './api.js';
import type { CallUsStrings } from './strings/index.js';

/** A day, as the slot picker groups times by. */
export const DAY: Intl.DateTimeFormatOptions = { weekday: 'long', month: 'long', day: 'numeric' };
/** A time of day, as the slot picker lists times. */
export const TIME: Intl.DateTimeFormatOptions = { hour: 'numeric', minute: '2-digit' };
/** A day and a time. */
export const WHEN: Intl.DateTimeFormatOptions = { ...DAY, ...TIME };

/**
 * Whether the line is closed, as the server last said. Its word, not the visitor's clock: a clock
 * running ahead would show a form the server still refuses (the element asks again at the opening).
 */
export function isClosed(hours: LineHours | undefined): boolean {
  return hours?.open === false;
}

/**
 * `at` in the visitor's zone, formatted with `options`; when the business's zone shows another day or
 * time, followed by the same instant there with that zone named (the `yourTime` string).
 */
export function zoned(
  at: Date,
  timeZone: string | undefined,
  text: CallUsStrings,
  lang: string,
  options: Intl.DateTimeFormatOptions,
): string {
  const format = (extra: Intl.DateTimeFormatOptions): string => new Intl.DateTimeFormat(lang, extra).format(at);
  const time = format(options);
  try {
    // A zone this browser does not know throws: then the visitor's time is all there is to show.
    if (timeZone && format({ ...WHEN, timeZone }) !== format(WHEN)) {
      const inZone = (timeZoneName: 'longGeneric' | 'long'): string => format({ weekday: 'long', ...TIME, timeZone, timeZoneName });
      // "Eastern Time" reads best, but zones without a generic name (UTC among them) come out as an
      // offset, "GMT+00:00", where the specific name ("Coordinated Universal Time") may exist.
      let business = inZone('longGeneric');
      if (/GMT[+\-−]/.test(business)) business = inZone('long');
      return text.yourTime.replace('{time}', time).replace('{business}', business);
    }
  } catch {
    // The visitor's time alone.
  }
  return time;
}

/**
 * "We're closed right now. We open again on {time}." with the time in the visitor's zone, and, when the
 * business's zone shows another time, the same instant there with that zone named.
 */
export function closedMessage(hours: LineHours, text: CallUsStrings, lang: string): string {
  const { nextOpen, timeZone } = hours;
  return `${text.closed} ${nextOpen ? text.opensAt.replace('{time}', zoned(nextOpen, timeZone, text, lang, WHEN)) : text.tryLater}`;
}
