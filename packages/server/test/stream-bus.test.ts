// The bus on its own, over a stand-in for the database's listen and reads: what it reads and when.
import test from 'ava';
import { createLogger } from '../src/index.js';
import { EventBus, type BusMessage } from '../src/events/bus.js';
import { eventually } from './helpers.js';

/** A channel and a table of messages: `signal()` is a notification, `reconnect()` a LISTEN connection back. */
function standIn() {
  const table: BusMessage[] = [];
  let handler: (() => void) | undefined;
  let onReconnect: (() => void) | undefined;
  const reads: number[] = [];
  let failures = 0;
  return {
    table,
    reads,
    failNext(count: number) {
      failures = count;
    },
    signal: () => handler?.(),
    reconnect: () => onReconnect?.(),
    bus: new EventBus<BusMessage>({
      db: {
        listen: async (_channel, listener, options) => {
          handler = () => listener('');
          onReconnect = options?.onReconnect;
          return async () => {
            handler = undefined;
          };
        },
      },
      channel: 'call_events',
      logger: createLogger('silent'),
      retryMs: 20,
      read: async (after, limit) => {
        reads.push(after);
        if (failures > 0) {
          failures -= 1;
          throw Object.assign(new Error('connection terminated'), { code: 'ECONNRESET' });
        }
        return table.filter((message) => message.id > after).slice(0, limit);
      },
      latest: async () => table.at(-1)?.id ?? 0,
    }),
  };
}

function collector() {
  const got: number[] = [];
  let ended = false;
  return {
    got,
    ended: () => ended,
    subscriber: {
      deliver: (message: BusMessage) => void got.push(message.id),
      end: () => void (ended = true),
    },
  };
}

test('a subscriber gets what is recorded after it joined, once and in order; a burst of notifications is one read', async (t) => {
  const { table, reads, signal, bus } = standIn();
  table.push({ id: 1 }, { id: 2 });
  const one = collector();
  t.is(await bus.subscribe(one.subscriber), 2, 'it starts after the latest');
  table.push({ id: 3 }, { id: 4 }, { id: 5 });
  for (let index = 0; index < 50; index += 1) signal();
  t.true(await eventually(() => one.got.length === 3));
  await new Promise((resolve) => setTimeout(resolve, 50));
  t.deepEqual(one.got, [3, 4, 5]);
  t.deepEqual(reads, [2], 'fifty signals, one read');
});

test('a failed read is tried again; a LISTEN reconnection reads what its lost notifications would have signalled', async (t) => {
  const { table, failNext, signal, reconnect, bus } = standIn();
  const one = collector();
  await bus.subscribe(one.subscriber);
  failNext(2);
  table.push({ id: 1 });
  signal();
  t.true(await eventually(() => one.got.length === 1, 2_000), 'read after two failures');
  table.push({ id: 2 }, { id: 3 });
  reconnect();
  t.true(await eventually(() => one.got.length === 3));
  t.deepEqual(one.got, [1, 2, 3]);
});

test('with nobody subscribed nothing is read; the next subscriber starts from the latest; closing ends subscribers and refuses new ones', async (t) => {
  const { table, reads, signal, bus } = standIn();
  const one = collector();
  await bus.subscribe(one.subscriber);
  bus.unsubscribe(one.subscriber);
  table.push({ id: 1 });
  signal();
  await new Promise((resolve) => setTimeout(resolve, 30));
  t.deepEqual(reads, []);
  const two = collector();
  t.is(await bus.subscribe(two.subscriber), 1);
  t.is(bus.size, 1);
  await bus.close();
  t.true(two.ended());
  t.false(one.ended(), 'one had left');
  t.is(bus.size, 0);
  await t.throwsAsync(bus.subscribe(collector().subscriber), { name: 'BusClosedError' });
});

test('a waker is woken by every notification and reconnection without the bus reading anything; a stream joining makes it read; stopped, it hears no more', async (t) => {
  const { table, reads, signal, reconnect, bus } = standIn();
  let wakes = 0;
  const stop = await bus.onSignal(() => void (wakes += 1));
  t.is(bus.size, 0, 'a waker is no subscriber');
  table.push({ id: 1 });
  signal();
  signal();
  reconnect();
  t.is(wakes, 3);
  await new Promise((resolve) => setTimeout(resolve, 30));
  t.deepEqual(reads, [], 'nothing read for wakers alone');
  const one = collector();
  t.is(await bus.subscribe(one.subscriber), 1);
  table.push({ id: 2 });
  signal();
  t.true(await eventually(() => one.got.length === 1));
  t.is(wakes, 4, 'woken beside the stream');
  stop();
  signal();
  t.is(wakes, 4);
  await bus.close();
  await t.throwsAsync(
    bus.onSignal(() => undefined),
    { name: 'BusClosedError' },
  );
});
