import test from 'ava';
import { setTimeout as sleep } from 'node:timers/promises';
import { startWorker } from '../src/actions/worker.js';
import { createLogger } from '../src/index.js';

const quiet = createLogger('silent');

test('a stream of wakes runs rounds at most every minGapMs, and a round always follows the last wake', async (t) => {
  const starts: number[] = [];
  const worker = startWorker({
    name: 'test',
    logger: quiet,
    pollMs: 60_000,
    minGapMs: 50,
    round: async () => {
      starts.push(performance.now());
      await sleep(5);
    },
  });
  t.teardown(() => worker.close());
  await sleep(20);
  const first = starts.length;
  t.is(first, 1, 'the first round runs at start');

  let lastWake = 0;
  const firstWake = performance.now();
  for (let i = 0; i < 100; i++) {
    worker.wake();
    lastWake = performance.now();
    await sleep(3);
  }
  await sleep(150);
  const rounds = starts.slice(first);
  const gaps = rounds.slice(1).map((start, index) => start - rounds[index]!);
  t.true(rounds.length >= 2, `${rounds.length} rounds for 100 wakes`);
  // However slow the machine makes the loop above, rounds come at most once per gap of the time it took.
  const span = rounds.at(-1)! - firstWake;
  t.true(rounds.length <= Math.ceil(span / 50) + 1, `${rounds.length} rounds for 100 wakes over ${span.toFixed(0)} ms`);
  t.true(
    gaps.every((gap) => gap >= 49),
    `gaps ${gaps.map((gap) => gap.toFixed(0)).join(', ')} ms`,
  );
  t.true(rounds.at(-1)! >= lastWake - 5, 'the last wake was followed by a round (none is lost in the gap)');
});

test('after a quiet spell, a wake starts a round at once', async (t) => {
  const starts: number[] = [];
  const worker = startWorker({
    name: 'test',
    logger: quiet,
    pollMs: 60_000,
    minGapMs: 50,
    round: async () => void starts.push(performance.now()),
  });
  t.teardown(() => worker.close());
  await sleep(80);
  const woken = performance.now();
  worker.wake();
  await sleep(1);
  t.is(starts.length, 2);
  t.true(starts[1]! - woken < 5);
});
