import test from 'ava';
import { CALL_STATES, movesForward, nextState, type CallState } from '../src/events/states.js';

test('a call moves ringing → answered → ended, and ringing → missed | voicemail', (t) => {
  t.is(nextState(undefined, 'ringing'), 'ringing');
  t.is(nextState('ringing', 'answered'), 'answered');
  t.is(nextState('answered', 'ended'), 'ended');
  t.is(nextState('ringing', 'missed'), 'missed');
  t.is(nextState('ringing', 'voicemail'), 'voicemail');
});

test('"over" is ended for a call that was answered, missed for one that never was', (t) => {
  t.is(nextState('answered', 'over'), 'ended');
  t.is(nextState('ringing', 'over'), 'missed');
  t.is(nextState('ringing', 'over', true), 'ended', 'an answer time reported with it: the answered delivery was lost or is late');
  t.is(nextState(undefined, 'over'), 'missed', 'the first delivery seen says the call is gone, unanswered');
  t.is(nextState(undefined, 'over', true), 'ended');
});

test('a late or repeated signal changes nothing', (t) => {
  t.is(nextState('ringing', 'ringing'), undefined, 'repeated');
  t.is(nextState('answered', 'answered'), undefined, 'repeated');
  t.is(nextState('answered', 'ringing'), undefined, 'a late ringing after the answer');
  t.is(nextState('ended', 'ringing'), undefined, 'a late ringing after the end');
  t.is(nextState('ended', 'answered'), undefined, 'a late answer after the end');
  t.is(nextState('missed', 'answered'), undefined, 'a missed call stays missed');
  t.is(nextState('answered', 'missed'), undefined, 'an answered call is never missed');
  t.is(nextState('answered', 'voicemail'), undefined);
  t.is(nextState('ended', 'over'), undefined, 'a repeated teardown');
  t.is(nextState('missed', 'over', true), undefined, 'final states are final');
});

test('no state moves to itself or back, and the final states go nowhere', (t) => {
  const rank: Record<CallState, number> = { ringing: 0, answered: 1, missed: 2, voicemail: 2, ended: 2 };
  for (const from of CALL_STATES) {
    t.false(movesForward(from, from), `${from} → ${from}`);
    for (const to of CALL_STATES) if (movesForward(from, to)) t.true(rank[to] > rank[from], `${from} → ${to} moves forward`);
  }
  for (const final of ['missed', 'voicemail', 'ended'] as const)
    t.true(
      CALL_STATES.every((to) => !movesForward(final, to)),
      final,
    );
});
