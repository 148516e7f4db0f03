import { z } from 'zod';
import { isKnownZone } from './zone.js';

/**
 * An id's opening hours (`hours` in its config). Weekly ranges are in the id's zone; see `open.ts` for
 * how each edge (midnight, 24:00, the daylight-saving switch days, closed dates) is read.
 */
export interface OpeningHours {
  /** An IANA zone, e.g. `America/New_York`. */
  timezone: string;
  /** Per weekday (`mon` … `sun`), `[start, end]` ranges as `HH:MM`; a day not listed is closed. */
  weekly: Partial<Record<Weekday, [string, string][]>>;
  /** Dates (`YYYY-MM-DD`, in the id's zone) on which no range starts. */
  closed?: string[];
}

export const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

/** Ranges per day at most, and closed dates at most: enough for any real timetable, and bounds the work per request. */
const MAX_RANGES_PER_DAY = 12;
const MAX_CLOSED_DATES = 1_000;
/** A range that crosses midnight may last this long at most; a longer one is read as a start and end swapped. */
export const MAX_OVERNIGHT_MINUTES = 12 * 60;

const TIME = /^(?:[01]\d|2[0-3]):[0-5]\d$/;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
/** IANA names: `Area/Location` (or `UTC`); no offsets like `+05:00`, whose clocks never change. */
const ZONE_NAME = /^[A-Za-z][A-Za-z0-9_+-]*(?:\/[A-Za-z0-9_+-]+)*$/;

/** `HH:MM` as minutes after midnight; `24:00` is 1440. */
export function minutesOf(time: string): number {
  return Number(time.slice(0, 2)) * 60 + Number(time.slice(3, 5));
}

function isCalendarDate(value: string): boolean {
  const match = DATE.exec(value);
  if (!match) return false;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const date = new Date(Date.UTC(year, month - 1, day));
  return date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
}

const RANGE_SHAPE = 'must be a list of [start, end] pairs such as [["09:00","17:00"]]';

const range = z.tuple([z.string(), z.string()], { error: RANGE_SHAPE }).superRefine(([start, end], context) => {
  if (!TIME.test(start)) {
    context.addIssue({
      code: 'custom',
      path: [0],
      message: `${JSON.stringify(start)} is not a start time: use HH:MM from 00:00 to 23:59`,
    });
  }
  if (!TIME.test(end) && end !== '24:00') {
    context.addIssue({
      code: 'custom',
      path: [1],
      message: `${JSON.stringify(end)} is not an end time: use HH:MM from 00:00 to 23:59, or 24:00 for the end of the day`,
    });
  }
  if (!TIME.test(start) || (!TIME.test(end) && end !== '24:00')) return;
  const from = minutesOf(start);
  const to = minutesOf(end);
  if (from === to) {
    context.addIssue({
      code: 'custom',
      message: `starts and ends at ${start}: a range lasts at least a minute (a whole day is ["00:00","24:00"])`,
    });
  } else if (to < from && to + 1440 - from > MAX_OVERNIGHT_MINUTES) {
    context.addIssue({
      code: 'custom',
      message:
        `ends (${end}) before it starts (${start}): if you meant ${end}–${start}, swap them; a range crossing midnight ` +
        `(such as ["22:00","02:00"]) may last at most ${MAX_OVERNIGHT_MINUTES / 60} hours`,
    });
  }
});

const dayRanges = z
  .array(range, { error: RANGE_SHAPE })
  .max(MAX_RANGES_PER_DAY, { error: `may list at most ${MAX_RANGES_PER_DAY} ranges` });

/** The rule for `hours` in the tenant schema: every message says what to write instead. */
export const openingHoursSchema = z.strictObject(
  {
    timezone: z
      .string({ error: 'is required: an IANA time zone such as America/New_York' })
      .refine((zone) => ZONE_NAME.test(zone) && isKnownZone(zone), {
        error: (issue) => `${JSON.stringify(issue.input)} is not a time zone this server knows: use an IANA name such as America/New_York`,
      }),
    weekly: z
      .record(z.string(), dayRanges, { error: 'is required: ranges per weekday, such as {"mon":[["09:00","17:00"]]}' })
      .superRefine((weekly, context) => {
        for (const key of Object.keys(weekly)) {
          if (!(WEEKDAYS as readonly string[]).includes(key)) {
            context.addIssue({
              code: 'custom',
              path: [key],
              message: 'is not a weekday: use mon, tue, wed, thu, fri, sat or sun',
            });
          }
        }
      }),
    closed: z
      .array(
        z
          .string()
          .refine(isCalendarDate, { error: (issue) => `${JSON.stringify(issue.input)} is not a date: use YYYY-MM-DD, such as 2026-12-25` }),
      )
      .max(MAX_CLOSED_DATES, { error: `may list at most ${MAX_CLOSED_DATES} dates` })
      .optional(),
  },
  {
    error: (issue) =>
      issue.code === 'unrecognized_keys'
        ? `has ${issue.keys.join(', ')}, which it does not know: hours take timezone, weekly and closed`
        : 'must be an object with timezone, weekly and optionally closed',
  },
);
