import { minutesOf, WEEKDAYS, type OpeningHours } from './schema.js';
import { DAY, instantOf, wallClock } from './zone.js';

/**
 * Whether an id's line is open at an instant, and when it opens next. Every answer is an instant, so
 * the visitor's own zone never matters: only the id's `timezone` does. How the edges are read:
 *
 * - A range belongs to the day it starts on: `["22:00","02:00"]` on `fri` runs from Friday 22:00 to
 *   Saturday 02:00, and a `closed` date stops the ranges starting that day (not one that started the
 *   evening before). An end at or before the start crosses midnight (the schema allows it up to 12
 *   hours); `24:00` is the end of the day, as is `00:00` as an end.
 * - Several ranges a day, and ranges that overlap or touch (also across days), count as one open
 *   stretch: their union.
 * - The day clocks skip an hour (spring forward): a start or end inside the skipped hour moves to the
 *   first instant after it (`02:30` on the switch day in New York is 03:00 EDT); a range wholly inside
 *   it does not happen that day.
 * - The day clocks go back (fall back): a start that happens twice takes the first, an end the second,
 *   so the range covers both (`["01:00","01:30"]` lasts 1 h 30 min that night).
 * - `closed` dates are calendar dates in the id's zone.
 * - `nextOpen` looks ahead `LOOKAHEAD_DAYS` at most: a line closed for longer answers `null`.
 */

export const LOOKAHEAD_DAYS = 14;

interface Stretch {
  start: number;
  end: number;
}

/** `YYYY-MM-DD` of a UTC-midnight date. */
const isoDate = (date: number) => new Date(date).toISOString().slice(0, 10);

/**
 * The open stretches, merged and in order, of the ranges starting on the day before `instant`'s date
 * in the id's zone through `days` days after it.
 */
function stretches(hours: OpeningHours, instant: number, days: number): Stretch[] {
  const local = wallClock(instant, hours.timezone);
  const today = local - (((local % DAY) + DAY) % DAY);
  const closed = new Set(hours.closed ?? []);
  const found: Stretch[] = [];
  for (let day = today - DAY; day <= today + days * DAY; day += DAY) {
    if (closed.has(isoDate(day))) continue;
    for (const [from, to] of hours.weekly[WEEKDAYS[new Date(day).getUTCDay()]!] ?? []) {
      const startMinutes = minutesOf(from);
      let endMinutes = minutesOf(to);
      if (endMinutes <= startMinutes) endMinutes += 1440;
      const start = instantOf(day + startMinutes * 60_000, hours.timezone, 'earliest');
      const end = instantOf(day + endMinutes * 60_000, hours.timezone, 'latest');
      if (end > start) found.push({ start, end });
    }
  }
  found.sort((a, b) => a.start - b.start);
  const merged: Stretch[] = [];
  for (const stretch of found) {
    const last = merged[merged.length - 1];
    if (last && stretch.start <= last.end) last.end = Math.max(last.end, stretch.end);
    else merged.push({ ...stretch });
  }
  return merged;
}

/** Whether the line is open at `instant`. */
export function openAt(hours: OpeningHours, instant: Date): boolean {
  const at = instant.getTime();
  return stretches(hours, at, 0).some((stretch) => stretch.start <= at && at < stretch.end);
}

/** The first instant at or after `instant` at which the line is open (`instant` itself when open), or `null` when that is more than `LOOKAHEAD_DAYS` away. */
export function nextOpen(hours: OpeningHours, instant: Date): Date | null {
  return hoursStatus(hours, instant).nextOpen;
}

export interface HoursStatus {
  open: boolean;
  /** As `nextOpen`. */
  nextOpen: Date | null;
  /** When `open` next changes, if that is within `LOOKAHEAD_DAYS`: what a cached answer must not outlive. */
  changesAt: Date | null;
}

/** `openAt`, `nextOpen` and when the answer changes, from one look at the timetable. */
export function hoursStatus(hours: OpeningHours, instant: Date): HoursStatus {
  const at = instant.getTime();
  const horizon = at + LOOKAHEAD_DAYS * DAY;
  const next = stretches(hours, at, LOOKAHEAD_DAYS).find((stretch) => stretch.end > at);
  if (next && next.start <= at) {
    return { open: true, nextOpen: new Date(at), changesAt: next.end <= horizon ? new Date(next.end) : null };
  }
  const opens = next && next.start <= horizon ? new Date(next.start) : null;
  return { open: false, nextOpen: opens, changesAt: opens };
}

/** An instant as the routes answer it: ISO 8601 in UTC, to the second (`2026-11-26T14:00:00Z`). */
export function isoUtc(instant: Date): string {
  return `${instant.toISOString().slice(0, 19)}Z`;
}
