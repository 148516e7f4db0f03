import test from 'ava';
import { bookableSlots, checkScheduledAt, MAX_SLOTS } from '../src/callbacks/schedule.js';
import type { OpeningHours } from '../src/hours/schema.js';

/**
 * The slots a visitor may book and the times the server accepts, at fixed instants: 15-minute steps
 * inside opening hours, from at least 15 minutes on, at most 14 days ahead, across New York's
 * daylight-saving switch days.
 */

const NY = 'America/New_York';
const nineToFive: [string, string][] = [['09:00', '17:00']];
const weekdays: OpeningHours = {
  timezone: NY,
  weekly: { mon: nineToFive, tue: nineToFive, wed: nineToFive, thu: nineToFive, fri: nineToFive },
};
const iso = (dates: Date[]) => dates.map((date) => date.toISOString().replace('.000Z', 'Z'));

test('slots start at the first step at least 15 minutes away, every 15 minutes, capped at a day of steps', (t) => {
  const slots = iso(bookableSlots(undefined, new Date('2026-11-25T14:07:30Z')));
  t.is(slots.length, MAX_SLOTS);
  t.is(slots[0], '2026-11-25T14:30:00Z');
  t.is(slots[1], '2026-11-25T14:45:00Z');
  t.is(slots.at(-1), '2026-11-26T14:15:00Z');
});

test('a closed line offers the slots of its next opening, up to the closing time (exclusive), then the next day', (t) => {
  // Wednesday 2026-11-25, 18:00 EST: closed; Thanksgiving Thursday is a closed date.
  const slots = iso(bookableSlots({ ...weekdays, closed: ['2026-11-26'] }, new Date('2026-11-25T23:00:00Z')));
  t.is(slots[0], '2026-11-27T14:00:00Z', 'Friday 09:00 EST');
  t.is(slots[31], '2026-11-27T21:45:00Z', 'the last start before 17:00');
  t.is(slots[32], '2026-11-30T14:00:00Z', 'then Monday 09:00');
});

test('the spring-forward day in New York: the range keeps its local times, so its UTC steps move an hour', (t) => {
  // Sunday 2026-03-08: clocks skip 02:00–03:00. A range 01:00–04:00 lasts two hours that day.
  const hours: OpeningHours = { timezone: NY, weekly: { sun: [['01:00', '04:00']] } };
  const slots = iso(bookableSlots(hours, new Date('2026-03-07T12:00:00Z')));
  t.deepEqual(slots.slice(0, 8), [
    '2026-03-08T06:00:00Z', // 01:00 EST
    '2026-03-08T06:15:00Z',
    '2026-03-08T06:30:00Z',
    '2026-03-08T06:45:00Z',
    '2026-03-08T07:00:00Z', // 03:00 EDT: 02:xx never happens
    '2026-03-08T07:15:00Z',
    '2026-03-08T07:30:00Z',
    '2026-03-08T07:45:00Z',
  ]);
  t.is(slots[8], '2026-03-15T05:00:00Z', 'the next Sunday, 01:00 EDT');
});

test('the fall-back day in New York: the repeated hour is offered twice', (t) => {
  // Sunday 2026-11-01: 01:00–02:00 happens twice. A range 00:30–02:00 lasts 2 h 30 min.
  const hours: OpeningHours = { timezone: NY, weekly: { sun: [['00:30', '02:00']] } };
  const slots = iso(bookableSlots(hours, new Date('2026-10-31T12:00:00Z')));
  t.is(slots.filter((slot) => slot.startsWith('2026-11-01')).length, 10);
  t.is(slots[0], '2026-11-01T04:30:00Z');
  t.is(slots[9], '2026-11-01T06:45:00Z', '01:45 EST, the second time round');
});

test('?from pages on from a later instant, rounded up to a step; nothing beyond 14 days', (t) => {
  const now = new Date('2026-11-25T14:00:00Z');
  t.is(iso(bookableSlots(undefined, now, new Date('2026-11-26T14:16:00Z')))[0], '2026-11-26T14:30:00Z');
  const last = iso(bookableSlots(undefined, now, new Date('2026-12-09T13:00:00Z')));
  t.is(last.at(-1), '2026-12-09T14:00:00Z', 'exactly 14 days after now is the last');
  t.deepEqual(bookableSlots(undefined, now, new Date('2026-12-10T00:00:00Z')), []);
  t.deepEqual(bookableSlots({ timezone: NY, weekly: {} }, now), [], 'a line never open has no slots');
});

test('scheduled_at: accepted inside hours with any offset; refused with a message for each mistake', (t) => {
  const now = new Date('2026-11-25T14:00:00Z');
  const accepted = checkScheduledAt('2026-11-27T10:00:00-05:00', weekdays, now);
  t.true(accepted.ok);
  t.is(accepted.ok && accepted.at.toISOString(), '2026-11-27T15:00:00.000Z');
  t.true(checkScheduledAt('2026-11-27T15:00Z', weekdays, now).ok, 'minutes without seconds');

  const refusals: Record<string, [string, RegExp]> = {
    'no zone': ['2026-11-27T10:00:00', /ISO 8601 with its zone/],
    'not a date': ['tomorrow at ten', /ISO 8601 with its zone/],
    'a date the calendar lacks': ['2026-02-30T15:00:00Z', /does not exist/],
    'the past': ['2026-11-25T13:00:00Z', /in the past/],
    now: ['2026-11-25T14:00:00Z', /in the past/],
    'more than 14 days ahead': ['2026-12-09T15:00:00Z', /more than 14 days ahead/],
    'outside hours': ['2026-11-28T15:00:00Z', /closed at that time \(America\/New_York time\)/],
  };
  for (const [what, [value, message]] of Object.entries(refusals)) {
    const result = checkScheduledAt(value, weekdays, now);
    t.false(result.ok, what);
    if (!result.ok) t.regex(result.message, message, what);
  }
  t.true(checkScheduledAt('2026-11-28T15:00:00Z', undefined, now).ok, 'an id without hours is always open');
});
