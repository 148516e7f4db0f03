// Operations: GET /metrics (Prometheus, behind METRICS_TOKEN or on METRICS_PORT on loopback) and GET /ready,
// on the real start() with the NS sandbox as NetSapiens.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { createLogger, loadConfig, start } from '../src/index.js';
import { issueStreamToken } from '../src/api/stream-tokens.js';
import { copyEmptyPglite } from '../../../examples/shared/pglite-template.mjs';
import { openSse } from './fixtures/sse.js';
import { folderWithSandbox, SECRET, startHarness, TENANTS } from './helpers.js';

const METRICS_TOKEN = 'metrics-token-0123456789abcdef0123456789';

async function startWithMetrics(t: ExecutionContext, env: Record<string, string> = {}) {
  const { dir, sandbox } = await folderWithSandbox(t, 'beckon-metrics-');
  await copyEmptyPglite(join(dir, 'pglite'));
  await writeFile(join(dir, 'domains.json'), JSON.stringify(TENANTS));
  const config = loadConfig({
    NS_API_BASE: sandbox.url,
    NS_TOKEN: sandbox.token,
    UPDATE_SECRET: SECRET,
    DOMAINS_FILE: join(dir, 'domains.json'),
    DATA_DIR: dir,
    PORT: '0',
    PUBLIC_URL: 'http://beckon.test',
    LIMIT_IP_PER_MINUTE: '1',
    ...env,
  });
  const running = await start({ config, logger: createLogger('silent') });
  t.teardown(() => running.close(1_000));
  return running;
}

/** The value of one series in an exposition, or undefined when it is absent. */
function sample(exposition: string, series: string): number | undefined {
  const line = exposition.split('\n').find((each) => each.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

test('GET /metrics needs METRICS_TOKEN as a bearer token and counts requests, provider calls, limits, webhooks and streams', async (t) => {
  const running = await startWithMetrics(t, { METRICS_TOKEN });
  const scrape = async () => {
    const response = await fetch(`${running.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    t.is(response.status, 200);
    t.regex(response.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    t.is(response.headers.get('cache-control'), 'no-store');
    return response.text();
  };
  for (const authorization of [undefined, 'Bearer wrong-token', `Basic ${METRICS_TOKEN}`]) {
    const refused = await fetch(`${running.url}/metrics`, { headers: authorization ? { authorization } : {} });
    t.is(refused.status, 401, `${authorization ?? 'no header'}`);
    t.false((await refused.text()).includes('beckon_'), 'nothing of the metrics in a refusal');
  }

  const callMe = () =>
    fetch(`${running.url}/click-to-call`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id: 'example.com-sales', phone_number: '8135551234' }),
    });
  t.is((await callMe()).status, 200);
  t.is((await callMe()).status, 429, 'LIMIT_IP_PER_MINUTE=1');
  t.is((await fetch(`${running.url}/no-such-page/555-1234`)).status, 404);
  t.is((await fetch(`${running.url}/health`, { method: 'PROPFIND' })).status, 405);
  t.is((await fetch(`${running.url}/webhooks/netsapiens?id=example.com-sales&token=wrong`, { method: 'POST', body: '[]' })).status, 401);

  const { rows } = await running.deps.db!.query<{ id: string }>("INSERT INTO apps (name) VALUES ('Popup') RETURNING id");
  const stream = await openSse(`${running.url}/api/call-stream?token=${(await issueStreamToken(running.deps.db!, rows[0]!.id)).token}`);
  t.teardown(() => stream.close());
  await stream.next();

  const metrics = await scrape();
  const requests = (labels: string) => sample(metrics, `beckon_http_request_duration_seconds_count{${labels}}`);
  t.is(requests('route="/click-to-call",method="POST",status="200"'), 1);
  t.is(requests('route="/click-to-call",method="POST",status="429"'), 1);
  t.is(requests('route="unmatched",method="GET",status="404"'), 1, 'an unknown path is "unmatched", never the path itself');
  t.false(metrics.includes('555-1234'));
  t.is(requests('route="unmatched",method="other",status="405"'), 1, 'a made-up method is "other"');
  t.is(sample(metrics, 'beckon_limit_refusals_total{limit="ip"}'), 1);
  t.is(sample(metrics, 'beckon_provider_requests_total{provider="netsapiens",outcome="2xx"}'), 1, 'the call NetSapiens queued');
  t.is(sample(metrics, 'beckon_webhooks_total{provider="netsapiens",outcome="refused"}'), 1);
  t.is(sample(metrics, 'beckon_streams_connected'), 1);
  t.true((sample(metrics, 'nodejs_eventloop_lag_seconds') ?? -1) >= 0, 'the event loop lag');
  t.false(metrics.includes(METRICS_TOKEN) || metrics.includes(SECRET), 'no secret in the metrics');
});

test('METRICS_PORT serves the metrics on 127.0.0.1 without a token, and nothing else; without METRICS_TOKEN the app has no /metrics', async (t) => {
  const running = await startWithMetrics(t, { METRICS_PORT: '0' });
  t.regex(running.metricsUrl ?? '', /^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
  const response = await fetch(running.metricsUrl!);
  t.is(response.status, 200);
  t.true((await response.text()).includes('beckon_http_request_duration_seconds'));
  t.is((await fetch(running.metricsUrl!.replace('/metrics', '/health'))).status, 404, 'only the metrics on that port');
  t.is((await fetch(running.metricsUrl!, { method: 'POST' })).status, 404);
  const onTheApp = await fetch(`${running.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
  t.is(onTheApp.status, 404, 'not on the public port without METRICS_TOKEN');
});

test('GET /ready is 200 while the server takes traffic and 503 once it is stopping; /health stays 200', async (t) => {
  const harness = await startHarness();
  t.teardown(() => harness.close());
  const ready = await fetch(`${harness.url}/ready`);
  t.is(ready.status, 200);
  t.deepEqual(await ready.json(), { status: 'ready' });
  t.is(ready.headers.get('cache-control'), 'no-store');
  harness.deps.lifecycle = { stopping: true };
  const stopping = await fetch(`${harness.url}/ready`);
  t.is(stopping.status, 503);
  t.truthy(stopping.headers.get('retry-after'));
  t.deepEqual(await stopping.json(), { status: 'unavailable', stopping: true });
  t.is((await fetch(`${harness.url}/health`)).status, 200);
});

test('the real server: /ready answers 200 once wired, and its close() turns it to 503 before it stops', async (t) => {
  const running = await startWithMetrics(t);
  t.is((await fetch(`${running.url}/ready`)).status, 200);
  const closing = running.close(2_000);
  t.true(running.deps.lifecycle?.stopping, 'stopping is set as close() starts');
  await closing;
});
