import test from 'ava';
import { hoursStatus, nextOpen, openAt } from '../src/hours/open.js';
import type { OpeningHours } from '../src/hours/schema.js';
import { checkTenants } from '../src/tenants/schema.js';

/**
 * Opening hours computed at fixed instants: the daylight-saving switch days of New York (2026-03-08,
 * 2026-11-01) and London (2026-03-29, 2026-10-25), ranges across midnight, 24:00, closed dates, the
 * 14-day look-ahead, and visitors in other zones (the answers are instants, whatever zone asks).
 */

const NY = 'America/New_York';
const LONDON = 'Europe/London';
const nineToFive: [string, string][] = [['09:00', '17:00']];
const weekdays = (zone: string, closed?: string[]): OpeningHours => ({
  timezone: zone,
  weekly: { mon: nineToFive, tue: nineToFive, wed: nineToFive, thu: nineToFive, fri: nineToFive },
  ...(closed ? { closed } : {}),
});
const sundays = (zone: string, ...ranges: [string, string][]): OpeningHours => ({ timezone: zone, weekly: { sun: ranges } });
const allDay: [string, string][] = [['00:00', '24:00']];

interface Case {
  hours: OpeningHours;
  /** ISO 8601 with any offset. */
  at: string;
  open: boolean;
  /** What `nextOpen` answers, in UTC. */
  next: string | null;
}

const cases: Record<string, Case> = {
  'New York, a Wednesday in winter at 09:00 EST (14:00Z)': {
    hours: weekdays(NY),
    at: '2026-11-25T14:00:00Z',
    open: true,
    next: '2026-11-25T14:00:00Z',
  },
  'New York, a minute before opening': { hours: weekdays(NY), at: '2026-11-25T13:59:00Z', open: false, next: '2026-11-25T14:00:00Z' },
  'New York, 17:00 is closed (ends are exclusive); Thursday is a closed date, so Friday': {
    hours: weekdays(NY, ['2026-11-26']),
    at: '2026-11-25T22:00:00Z',
    open: false,
    next: '2026-11-27T14:00:00Z',
  },
  'New York in summer: 09:00 EDT is 13:00Z': { hours: weekdays(NY), at: '2026-07-01T13:00:00Z', open: true, next: '2026-07-01T13:00:00Z' },
  'New York in summer, 12:59Z is 08:59 EDT': { hours: weekdays(NY), at: '2026-07-01T12:59:00Z', open: false, next: '2026-07-01T13:00:00Z' },
  'spring forward, New York: a range from 02:30 (skipped) starts at 03:00 EDT (07:00Z)': {
    hours: sundays(NY, ['02:30', '05:00']),
    at: '2026-03-08T06:59:00Z',
    open: false,
    next: '2026-03-08T07:00:00Z',
  },
  'spring forward, New York: open from the first instant after the skip': {
    hours: sundays(NY, ['02:30', '05:00']),
    at: '2026-03-08T07:00:00Z',
    open: true,
    next: '2026-03-08T07:00:00Z',
  },
  'spring forward, New York: a range wholly in the skipped hour does not happen that day': {
    hours: sundays(NY, ['02:00', '02:59']),
    at: '2026-03-08T06:00:00Z',
    open: false,
    next: '2026-03-15T06:00:00Z',
  },
  'spring forward, New York: 09:00 that Sunday is already EDT (13:00Z)': {
    hours: sundays(NY, ['09:00', '17:00']),
    at: '2026-03-08T12:00:00Z',
    open: false,
    next: '2026-03-08T13:00:00Z',
  },
  'fall back, New York: 01:00–01:30 covers the first 01:00 EDT': {
    hours: sundays(NY, ['01:00', '01:30']),
    at: '2026-11-01T05:00:00Z',
    open: true,
    next: '2026-11-01T05:00:00Z',
  },
  'fall back, New York: … and the second, 01:15 EST (06:15Z)': {
    hours: sundays(NY, ['01:00', '01:30']),
    at: '2026-11-01T06:15:00Z',
    open: true,
    next: '2026-11-01T06:15:00Z',
  },
  'fall back, New York: closed at the second 01:30; next Sunday 01:00 EST': {
    hours: sundays(NY, ['01:00', '01:30']),
    at: '2026-11-01T06:30:00Z',
    open: false,
    next: '2026-11-08T06:00:00Z',
  },
  'spring forward, London: 01:30 (skipped) starts at 02:00 BST (01:00Z)': {
    hours: sundays(LONDON, ['01:30', '03:00']),
    at: '2026-03-29T00:59:00Z',
    open: false,
    next: '2026-03-29T01:00:00Z',
  },
  'spring forward, London: 09:00 BST is 08:00Z': {
    hours: sundays(LONDON, ['09:00', '17:00']),
    at: '2026-03-29T08:00:00Z',
    open: true,
    next: '2026-03-29T08:00:00Z',
  },
  'fall back, London: 01:00–01:30 covers 01:20 GMT, its second pass': {
    hours: sundays(LONDON, ['01:00', '01:30']),
    at: '2026-10-25T01:20:00Z',
    open: true,
    next: '2026-10-25T01:20:00Z',
  },
  'fall back, London: it started at the first 01:00 (00:00Z)': {
    hours: sundays(LONDON, ['01:00', '01:30']),
    at: '2026-10-24T23:59:00Z',
    open: false,
    next: '2026-10-25T00:00:00Z',
  },
  "across midnight: Friday's 22:00–02:00 is open at Saturday 01:30": {
    hours: { timezone: NY, weekly: { fri: [['22:00', '02:00']] } },
    at: '2026-11-28T06:30:00Z',
    open: true,
    next: '2026-11-28T06:30:00Z',
  },
  'across midnight: closed at 02:00, next Friday 22:00 EST': {
    hours: { timezone: NY, weekly: { fri: [['22:00', '02:00']] } },
    at: '2026-11-28T07:00:00Z',
    open: false,
    next: '2026-12-05T03:00:00Z',
  },
  'across midnight: a closed Friday closes its night': {
    hours: { timezone: NY, weekly: { fri: [['22:00', '02:00']] }, closed: ['2026-11-27'] },
    at: '2026-11-28T06:30:00Z',
    open: false,
    next: '2026-12-05T03:00:00Z',
  },
  'across midnight: a closed Saturday does not (the range belongs to Friday)': {
    hours: { timezone: NY, weekly: { fri: [['22:00', '02:00']] }, closed: ['2026-11-28'] },
    at: '2026-11-28T06:30:00Z',
    open: true,
    next: '2026-11-28T06:30:00Z',
  },
  '24:00 is the end of the day: open at 23:59': {
    hours: { timezone: NY, weekly: { mon: [['18:00', '24:00']] } },
    at: '2026-11-24T04:59:00Z',
    open: true,
    next: '2026-11-24T04:59:00Z',
  },
  '24:00: closed at midnight': {
    hours: { timezone: NY, weekly: { mon: [['18:00', '24:00']] } },
    at: '2026-11-24T05:00:00Z',
    open: false,
    next: '2026-11-30T23:00:00Z',
  },
  'no weekly ranges: never open, so no next opening': {
    hours: { timezone: NY, weekly: {} },
    at: '2026-11-25T14:00:00Z',
    open: false,
    next: null,
  },
  'closed for the next 15 days: beyond the 14-day look-ahead': {
    hours: weekdays(
      NY,
      Array.from({ length: 15 }, (_, day) => new Date(Date.UTC(2026, 10, 25 + day)).toISOString().slice(0, 10)),
    ),
    at: '2026-11-25T12:00:00Z',
    open: false,
    next: null,
  },
  'closed for the next 13 days: the first day after them': {
    hours: weekdays(
      NY,
      Array.from({ length: 13 }, (_, day) => new Date(Date.UTC(2026, 10, 25 + day)).toISOString().slice(0, 10)),
    ),
    at: '2026-11-25T12:00:00Z',
    open: false,
    next: '2026-12-08T14:00:00Z',
  },
  'a visitor in Tokyo, already Thursday there: the line is open (Wednesday 12:00 in New York)': {
    hours: { timezone: NY, weekly: { wed: nineToFive } },
    at: '2026-11-26T02:00:00+09:00',
    open: true,
    next: '2026-11-25T17:00:00Z',
  },
  'a visitor in Los Angeles, 05:30 there: opens at 06:00 their time, the same instant': {
    hours: weekdays(NY),
    at: '2026-11-25T05:30:00-08:00',
    open: false,
    next: '2026-11-25T06:00:00-08:00',
  },
};

for (const [title, row] of Object.entries(cases)) {
  test(title, (t) => {
    const at = new Date(row.at);
    t.is(openAt(row.hours, at), row.open, 'openAt');
    t.is(nextOpen(row.hours, at)?.toISOString() ?? null, row.next === null ? null : new Date(row.next).toISOString(), 'nextOpen');
  });
}

test('the same instant written in any zone gets the same answers', (t) => {
  const hours = weekdays(NY);
  const answers = ['2026-11-25T13:30:00Z', '2026-11-25T22:30:00+09:00', '2026-11-25T05:30:00-08:00', '2026-11-25T13:30:00+00:00'].map(
    (at) => JSON.stringify(hoursStatus(hours, new Date(at))),
  );
  t.is(new Set(answers).size, 1);
  t.is(answers[0], JSON.stringify({ open: false, nextOpen: '2026-11-25T14:00:00.000Z', changesAt: '2026-11-25T14:00:00.000Z' }));
});

test('overlapping and touching ranges are one open stretch: the status changes at the end of their union', (t) => {
  const hours: OpeningHours = {
    timezone: NY,
    weekly: {
      mon: [
        ['09:00', '13:00'],
        ['12:00', '17:00'],
        ['18:00', '24:00'],
      ],
      tue: [['00:00', '08:00']],
    },
  };
  t.deepEqual(hoursStatus(hours, new Date('2026-11-23T17:30:00Z')), {
    open: true,
    nextOpen: new Date('2026-11-23T17:30:00Z'),
    changesAt: new Date('2026-11-23T22:00:00Z'),
  });
  // Monday 18:00–24:00 and Tuesday 00:00–08:00 touch at midnight: open through it, closing at 08:00.
  t.deepEqual(hoursStatus(hours, new Date('2026-11-24T04:59:00Z')).changesAt, new Date('2026-11-24T13:00:00Z'));
});

test('always open: every day 00:00–24:00 is open at any instant and never changes within the look-ahead', (t) => {
  const hours: OpeningHours = {
    timezone: LONDON,
    weekly: { mon: allDay, tue: allDay, wed: allDay, thu: allDay, fri: allDay, sat: allDay, sun: allDay },
  };
  for (const at of ['2026-03-29T01:00:00Z', '2026-10-25T00:30:00Z', '2026-11-25T00:00:00Z']) {
    t.deepEqual(hoursStatus(hours, new Date(at)), { open: true, nextOpen: new Date(at), changesAt: null }, at);
  }
});

/** Why checkTenants refuses an entry with these hours ('' when it takes it). */
function refusal(hours: unknown): string {
  const { rejected } = checkTenants({ 'example.com-sales': { api_domain: 'example.com', queue: '9002', hours } });
  return rejected.map((entry) => entry.reason).join('; ');
}

test('the tenant schema takes hours with several ranges, 24:00, a midnight crossing and closed dates', (t) => {
  t.is(
    refusal({
      timezone: NY,
      weekly: {
        mon: [
          ['09:00', '12:00'],
          ['13:00', '17:00'],
        ],
        fri: [['22:00', '02:00']],
        sat: allDay,
      },
      closed: ['2026-12-25'],
    }),
    '',
  );
  t.is(refusal({ timezone: 'UTC', weekly: {} }), '');
});

const refusals: Record<string, [unknown, string]> = {
  'an unknown zone': [
    { timezone: 'America/New_Yrok', weekly: {} },
    'hours.timezone: "America/New_Yrok" is not a time zone this server knows: use an IANA name such as America/New_York',
  ],
  'an offset instead of a zone': [
    { timezone: '+05:00', weekly: {} },
    'hours.timezone: "+05:00" is not a time zone this server knows: use an IANA name such as America/New_York',
  ],
  '25:00': [
    { timezone: NY, weekly: { mon: [['09:00', '25:00']] } },
    'hours.weekly.mon.0.1: "25:00" is not an end time: use HH:MM from 00:00 to 23:59, or 24:00 for the end of the day',
  ],
  '24:00 as a start': [
    { timezone: NY, weekly: { mon: [['24:00', '02:00']] } },
    'hours.weekly.mon.0.0: "24:00" is not a start time: use HH:MM from 00:00 to 23:59',
  ],
  'a start and end swapped': [
    { timezone: NY, weekly: { tue: [['17:00', '09:00']] } },
    'hours.weekly.tue.0: ends (09:00) before it starts (17:00): if you meant 09:00–17:00, swap them; a range crossing midnight (such as ["22:00","02:00"]) may last at most 12 hours',
  ],
  'an empty range': [
    { timezone: NY, weekly: { tue: [['09:00', '09:00']] } },
    'hours.weekly.tue.0: starts and ends at 09:00: a range lasts at least a minute (a whole day is ["00:00","24:00"])',
  ],
  'an unknown weekday': [
    { timezone: NY, weekly: { monday: nineToFive } },
    'hours.weekly.monday: is not a weekday: use mon, tue, wed, thu, fri, sat or sun',
  ],
  'a range that is not a pair': [
    { timezone: NY, weekly: { mon: ['09:00-17:00'] } },
    'hours.weekly.mon.0: must be a list of [start, end] pairs such as [["09:00","17:00"]]',
  ],
  'a date that does not exist': [
    { timezone: NY, weekly: {}, closed: ['2026-02-30'] },
    'hours.closed.0: "2026-02-30" is not a date: use YYYY-MM-DD, such as 2026-12-25',
  ],
  'a field hours do not have': [
    { timezone: NY, weekly: {}, holidays: [] },
    'hours: has holidays, which it does not know: hours take timezone, weekly and closed',
  ],
  'no weekly': [{ timezone: NY }, 'hours.weekly: is required: ranges per weekday, such as {"mon":[["09:00","17:00"]]}'],
};

for (const [title, [hours, reason]] of Object.entries(refusals)) {
  test(`the tenant schema refuses hours with ${title}, saying what to write instead`, (t) => {
    t.is(refusal(hours), reason);
  });
}
