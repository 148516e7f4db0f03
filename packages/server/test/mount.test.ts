import test from 'ava';
import Koa from 'koa';
import { createRouter, type TenantStore } from '../src/index.js';
import { serveForTest, startHarness } from './helpers.js';

test('createRouter() mounts into an existing Koa app beside its own routes', async (t) => {
  const harness = await startHarness();
  t.teardown(() => harness.close());
  const host = new Koa();
  host.use(async (ctx, next) => {
    if (ctx.path === '/hello') ctx.body = 'hello from the host app';
    else await next();
  });
  const router = createRouter(harness.deps);
  host.use(router.routes()).use(router.allowedMethods());
  const { url } = await serveForTest(t, host.callback());

  t.is(await (await fetch(`${url}/hello`)).text(), 'hello from the host app');
  const call = await fetch(`${url}/click-to-call`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ id: 'example.com-sales', phone_number: '8135551234' }),
  });
  t.deepEqual(await call.json(), { status: 'ok' });
  t.is(harness.sandbox.calls.length, 1);
  const invalid = await fetch(`${url}/click-to-call`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{' });
  t.is(invalid.status, 400);
  t.like(await invalid.json(), { status: 'error' }, 'the envelope comes with the router');
  t.truthy(invalid.headers.get('x-request-id'));
});

test('a store that cannot answer makes click-to-call a 500 with a plain message, and nothing is called', async (t) => {
  const harness = await startHarness();
  t.teardown(() => harness.close());
  // A store whose backend is down (a later Redis store can be): every read throws.
  const unavailable: TenantStore = {
    get: () => {
      throw new Error('store backend unreachable');
    },
    size: () => 0,
    ids: () => [],
    update: () => Promise.reject(new Error('store backend unreachable')),
    close: () => Promise.resolve(),
  };
  const app = new Koa();
  const router = createRouter({ ...harness.deps, tenants: unavailable });
  app.use(router.routes());
  const { url } = await serveForTest(t, app.callback());
  const response = await fetch(`${url}/click-to-call`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ id: 'example.com-sales', phone_number: '8135551234' }),
  });
  t.is(response.status, 500);
  const body = (await response.json()) as { status: string; message: string };
  t.is(body.status, 'error');
  t.is(body.message, 'Service temporarily unavailable.');
  t.false(JSON.stringify(body).includes('unreachable'), 'no internal detail in the body');
  t.is(harness.sandbox.calls.length, 0);
});

test('a host app whose body parser read the body first gets a 500 that says so at once, not a hung request', async (t) => {
  const harness = await startHarness();
  t.teardown(() => harness.close());
  const host = new Koa();
  // What a global body parser does: read the whole stream and keep the result on ctx.request.body.
  host.use(async (ctx, next) => {
    let text = '';
    for await (const chunk of ctx.req) text += String(chunk);
    (ctx.request as { body?: unknown }).body = text;
    await next();
  });
  const router = createRouter(harness.deps);
  host.use(router.routes());
  const { url } = await serveForTest(t, host.callback());
  const response = await fetch(`${url}/click-to-call`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ id: 'example.com-sales', phone_number: '8135551234' }),
    signal: AbortSignal.timeout(3_000),
  });
  t.is(response.status, 500);
  t.regex(harness.logText(), /mount your body parser after Beckon's router/);
  t.is(harness.sandbox.calls.length, 0);
});
