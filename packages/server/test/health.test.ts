import test from 'ava';
import { startHarness } from './helpers.js';

test('GET /health answers ok', async (t) => {
  const harness = await startHarness();
  t.teardown(() => harness.close());
  const response = await fetch(`${harness.url}/health`);
  t.is(response.status, 200);
  t.deepEqual(await response.json(), { status: 'ok' });
  t.truthy(response.headers.get('x-request-id'));
});

test('an unknown route is a JSON 404', async (t) => {
  const harness = await startHarness();
  t.teardown(() => harness.close());
  const response = await fetch(`${harness.url}/nowhere`);
  t.is(response.status, 404);
  t.like(await response.json(), { status: 'error' });
});

test('an incoming X-Request-Id is kept only when it looks like an id (8–128 of letters, digits, . _ : -)', async (t) => {
  const harness = await startHarness();
  t.teardown(() => harness.close());
  const echoed = async (value: string) =>
    (await fetch(`${harness.url}/health`, { headers: { 'x-request-id': value } })).headers.get('x-request-id');
  t.is(await echoed('abcd-1234.ef_gh:9'), 'abcd-1234.ef_gh:9');
  t.is(await echoed('a'.repeat(128)), 'a'.repeat(128));
  for (const hostile of [
    'short',
    'a'.repeat(129),
    'abcd 1234 efgh',
    'abcd1234<script>',
    '12345678%0d%0aSet-Cookie',
    '../../../etc/passwd',
  ]) {
    const given = await echoed(hostile);
    t.not(given, hostile, hostile);
    t.regex(given ?? '', /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/, 'replaced by an id of our own');
  }
  t.false(harness.logText().includes('<script>'), 'a refused id never reaches the log');
});
