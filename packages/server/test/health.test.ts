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
