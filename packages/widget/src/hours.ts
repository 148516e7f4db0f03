/** What the element says of a closed line, in the visitor's language and time zone. */
import type { LineHours } from './api.js';
import type { CallUsStrings } from './strings/index.js';

const WHEN: Intl.DateTimeFormatOptions = { weekday: 'long', month: 'long', day: 'numeric', hour: 'numeric', minute: '2-digit' };

/**
 * Whether the line is closed, as the server last said. Its word, not the visitor's clock: a clock
 * running ahead would show a form the server still refuses (the element asks again at the opening).
 */
export function isClosed(hours: LineHours | undefined): boolean {
  return hours?.open === false;
}

/**
 * "We're closed right now. We open again on {time}." with the time in the visitor's zone, and, when the
 * business's zone shows another time, the same instant there with that zone named.
 */
export function closedMessage(hours: LineHours, text: CallUsStrings, lang: string): string {
  const { nextOpen, timeZone } = hours;
  if (!nextOpen) return `${text.closed} ${text.tryLater}`;
  const format = (options: Intl.DateTimeFormatOptions): string => new Intl.DateTimeFormat(lang, options).format(nextOpen);
  let time = format(WHEN);
  try {
    // A zone this browser does not know throws: then the visitor's time is all there is to show.
    if (timeZone && format({ ...WHEN, timeZone }) !== time) {
      const inZone = (timeZoneName: 'longGeneric' | 'long'): string =>
        format({ weekday: 'long', hour: 'numeric', minute: '2-digit', timeZone, timeZoneName });
      // "Eastern Time" reads best, but zones without a generic name (UTC among them) come out as an
      // offset, "GMT+00:00", where the specific name ("Coordinated Universal Time") may exist.
      let business = inZone('longGeneric');
      if (/GMT[+\-−]/.test(business)) business = inZone('long');
      time = text.yourTime.replace('{time}', time).replace('{business}', business);
    }
  } catch {
    // The visitor's time alone.
  }
  return `${text.closed} ${text.opensAt.replace('{time}', time)}`;
}
