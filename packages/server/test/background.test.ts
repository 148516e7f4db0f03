import { setTimeout as sleep } from 'node:timers/promises';
import test from 'ava';
import { BackgroundTasks, createLogger } from '../src/index.js';

test('drain waits for tasks started while it waits, and reports a deadline it could not meet', async (t) => {
  const tasks = new BackgroundTasks(createLogger('silent'));
  const done: string[] = [];
  tasks.run('first', async () => {
    await sleep(30);
    done.push('first');
    // A request still being answered when shutdown began starts one more text.
    tasks.run('late', async () => {
      await sleep(30);
      done.push('late');
    });
  });
  t.true(await tasks.drain(2_000));
  t.deepEqual(done, ['first', 'late']);

  tasks.run('stuck', () => sleep(4_000));
  const started = Date.now();
  t.false(await tasks.drain(50));
  t.true(Date.now() - started < 2_000, 'gives up at the deadline, not when the task ends');
  t.is(tasks.size, 1);
});

test('a failed task is logged, never thrown', async (t) => {
  const lines: string[] = [];
  const { Writable } = await import('node:stream');
  const tasks = new BackgroundTasks(
    createLogger('info', new Writable({ write: (chunk, _encoding, next) => (lines.push(String(chunk)), next()) })),
  );
  tasks.run('text-back', () => Promise.reject(new Error('NS down')));
  t.true(await tasks.drain(1_000));
  t.regex(lines.join(''), /"task":"text-back".*"msg":"background task failed"/);
});

test('past maxRunning, a task is dropped and logged instead of queued', async (t) => {
  const lines: string[] = [];
  const { Writable } = await import('node:stream');
  const tasks = new BackgroundTasks(
    createLogger('info', new Writable({ write: (chunk, _encoding, next) => (lines.push(String(chunk)), next()) })),
    2,
  );
  let ran = 0;
  const slow = () => sleep(30).then(() => void (ran += 1));
  t.deepEqual([tasks.run('text-back', slow), tasks.run('text-back', slow), tasks.run('text-back', slow)], [true, true, false]);
  t.true(await tasks.drain(1_000));
  t.is(ran, 2);
  t.regex(lines.join(''), /"running":2.*"msg":"background task dropped: too many running"/);
  t.true(tasks.run('text-back', slow), 'room again once they finished');
  await tasks.drain(1_000);
});
