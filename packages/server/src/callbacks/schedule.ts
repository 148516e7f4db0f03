import { hoursStatus, LOOKAHEAD_DAYS, openAt } from '../hours/open.js';
import type { OpeningHours } from '../hours/schema.js';
import { DAY } from '../hours/zone.js';

/**
 * When a callback may be booked: on the 15-minute steps (UTC quarter hours, which are the id's own
 * quarter hours in every zone whose offset is a whole number of quarter hours — all of today's) inside
 * the id's opening hours (an id without hours is always open), at least `MIN_LEAD_MS` from now and at
 * most `LOOKAHEAD_DAYS` ahead.
 */

export const STEP_MINUTES = 15;
const STEP_MS = STEP_MINUTES * 60_000;
/** The first slot offered is at least this far off: time for the visitor to read it, book it and be ready. */
export const MIN_LEAD_MS = 15 * 60_000;
/** Slots per answer: a day of 15-minute steps. `?from=` pages further. */
export const MAX_SLOTS = 96;
export const MAX_AHEAD_MS = LOOKAHEAD_DAYS * DAY;

/** The first step at or after `ms`. */
function stepAtOrAfter(ms: number): number {
  return Math.ceil(ms / STEP_MS) * STEP_MS;
}

/**
 * The next bookable start instants, in order: from the first step at least `MIN_LEAD_MS` after `now`
 * (or at `from`, when later), up to `LOOKAHEAD_DAYS` after `now`, at most `MAX_SLOTS`. Walks the
 * timetable stretch by stretch (`hoursStatus`), not step by step, so a line closed for days costs a few
 * looks, not a thousand.
 */
export function bookableSlots(hours: OpeningHours | undefined, now: Date, from?: Date): Date[] {
  const horizon = now.getTime() + MAX_AHEAD_MS;
  let at = stepAtOrAfter(Math.max(now.getTime() + MIN_LEAD_MS, from?.getTime() ?? 0));
  const slots: Date[] = [];
  while (slots.length < MAX_SLOTS && at <= horizon) {
    if (!hours) {
      slots.push(new Date(at));
      at += STEP_MS;
      continue;
    }
    const status = hoursStatus(hours, new Date(at));
    if (!status.open) {
      if (!status.nextOpen) break;
      at = stepAtOrAfter(status.nextOpen.getTime());
      continue;
    }
    // Every step before the line closes again (or the horizon) is open.
    const closes = status.changesAt?.getTime() ?? Number.POSITIVE_INFINITY;
    for (; at < closes && at <= horizon && slots.length < MAX_SLOTS; at += STEP_MS) slots.push(new Date(at));
  }
  return slots;
}

/** ISO 8601 with a date, a time to the minute at least, and a zone (`Z` or an offset): no local time left to guess. */
const ISO_WITH_ZONE = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/i;

/** `scheduled_at` read, or why it cannot be booked (a message the visitor or the page's developer can act on). */
export type ScheduleCheck = { ok: true; at: Date } | { ok: false; message: string };

/**
 * Checks a requested `scheduled_at`: ISO 8601 with its zone, in the future (at least a minute on), at
 * most `LOOKAHEAD_DAYS` ahead, and when the line is open. It need not be on a step: a slot from
 * `bookableSlots` always is, and any other open instant is as good to call at.
 */
export function checkScheduledAt(value: string, hours: OpeningHours | undefined, now: Date): ScheduleCheck {
  const text = value.trim();
  const match = ISO_WITH_ZONE.exec(text);
  const at = match ? new Date(text) : undefined;
  if (!match || !at || Number.isNaN(at.getTime())) {
    return {
      ok: false,
      message:
        'scheduled_at must be a date and time in ISO 8601 with its zone, such as 2026-11-26T14:00:00Z (pick one of GET /click-to-call/slots).',
    };
  }
  // A date the calendar lacks (02-30) parses as another day: compare the written date to the parsed one in its own offset.
  const [, year, month, day] = match;
  const offsetText = match[7]!.toUpperCase();
  const offsetMinutes =
    offsetText === 'Z' ? 0 : Number(offsetText.slice(0, 1) + '1') * (Number(offsetText.slice(1, 3)) * 60 + Number(offsetText.slice(-2)));
  const local = new Date(at.getTime() + offsetMinutes * 60_000).toISOString().slice(0, 10);
  if (local !== `${year}-${month}-${day}`)
    return { ok: false, message: `scheduled_at names a date that does not exist (${year}-${month}-${day}).` };
  if (at.getTime() <= now.getTime() + 60_000) return { ok: false, message: 'scheduled_at is in the past: pick a time from now on.' };
  if (at.getTime() > now.getTime() + MAX_AHEAD_MS) {
    return {
      ok: false,
      message: `scheduled_at is more than ${LOOKAHEAD_DAYS} days ahead: pick a time within the next ${LOOKAHEAD_DAYS} days.`,
    };
  }
  if (hours && !openAt(hours, at)) {
    return {
      ok: false,
      message: `We are closed at that time (${hours.timezone} time): pick one of the open slots (GET /click-to-call/slots).`,
    };
  }
  return { ok: true, at };
}
