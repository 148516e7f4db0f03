/**
 * Wall-clock time in an IANA time zone, from the runtime's own time-zone data (`Intl.DateTimeFormat`
 * with `timeZone`): no dependency to keep up to date, and Node's ICU carries the same tz database the
 * operating systems do. Only the two conversions opening hours need are here: an instant's offset from
 * UTC in a zone, and a local date and time back to an instant, with the daylight-saving rules written
 * down where they are decided.
 */

const SECOND = 1_000;
export const DAY = 86_400_000;

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let format = formatters.get(timeZone);
  if (!format) {
    // h23: midnight is 00, never 24.
    format = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, format);
  }
  return format;
}

/** Whether the runtime knows `timeZone` as an IANA zone name. */
export function isKnownZone(timeZone: string): boolean {
  try {
    formatter(timeZone);
    return true;
  } catch {
    return false;
  }
}

/** The wall-clock time `instant` (ms) shows in `timeZone`, written as if it were UTC (ms), to the second. */
export function wallClock(instant: number, timeZone: string): number {
  const parts: Record<string, number> = {};
  for (const part of formatter(timeZone).formatToParts(instant)) {
    if (part.type !== 'literal') parts[part.type] = Number(part.value);
  }
  return Date.UTC(parts.year!, parts.month! - 1, parts.day!, parts.hour!, parts.minute!, parts.second!);
}

/** How far `timeZone`'s clocks are ahead of UTC at `instant`, in ms. */
export function offsetAt(instant: number, timeZone: string): number {
  const second = Math.floor(instant / 1_000) * 1_000;
  return wallClock(second, timeZone) - second;
}

/**
 * The instant at which clocks in `timeZone` show `local` (a wall-clock time written as if it were UTC,
 * ms). A time that happens twice (the hour clocks go back) gives its first instant for `'earliest'` and
 * its second for `'latest'`; a time that never happens (the hour clocks skip) gives the first instant
 * after the skip, whichever is asked, which is when clocks first show a time at or past it.
 */
export function instantOf(local: number, timeZone: string, pick: 'earliest' | 'latest'): number {
  // Zones change offset at most once within a day or so of any moment: the offsets a day either side and
  // at the guess are every offset the answer can have.
  const offsets = new Set([offsetAt(local - DAY, timeZone), offsetAt(local, timeZone), offsetAt(local + DAY, timeZone)]);
  const candidates = [...offsets].map((offset) => local - offset).sort((a, b) => a - b);
  const valid = candidates.filter((instant) => wallClock(instant, timeZone) === local);
  if (valid.length > 0) return pick === 'earliest' ? valid[0]! : valid[valid.length - 1]!;
  // In the skipped hour: the change lies between the candidates; find its second.
  let before = candidates[0]!;
  let after = candidates[candidates.length - 1]!;
  const offsetBefore = offsetAt(before, timeZone);
  while (after - before > SECOND) {
    const middle = before + Math.max(SECOND, Math.floor((after - before) / 2 / SECOND) * SECOND);
    if (offsetAt(middle, timeZone) === offsetBefore) before = middle;
    else after = middle;
  }
  return after;
}
