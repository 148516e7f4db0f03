// Seed 004's automation against the Dialpad stand-in, over real HTTP on a real `start()`: an app, its
// webhook (Dialpad creates it with a secret Beckon keeps sealed), the call and SMS subscriptions, then
// events the stand-in signs with that secret reaching the app's API — and no key or secret in clear in
// the database or the log. Also the client's retries, and the stand-in checked against Dialpad's OpenAPI.
import test from 'ava';
import { Ajv } from 'ajv';
import { createDialpadClient, signDialpadEvent, type Database } from '../src/index.js';
import { databaseFixture, ENGINES } from './fixtures/databases.js';
import { CREATE_CALL_SUBSCRIPTION, CREATE_SMS_SUBSCRIPTION, CREATE_WEBHOOK } from './fixtures/dialpad-oai-rules.js';
import {
  callEvent,
  DIALPAD_API_KEY,
  ENV_WEBHOOK_SECRET,
  INTERNAL_SECRET,
  newCall,
  smsEvent,
  startDialpadServer,
  type DialpadServer,
} from './fixtures/dialpad.js';

const fixture = databaseFixture(test);
const ajv = new Ajv({ strict: false, validateFormats: false, allErrors: true });
const REQUEST_SCHEMAS: Record<string, object> = {
  '/api/v2/webhooks': CREATE_WEBHOOK,
  '/api/v2/subscriptions/call': CREATE_CALL_SUBSCRIPTION,
  '/api/v2/subscriptions/sms': CREATE_SMS_SUBSCRIPTION,
};

/** Every row of every table, as text: where a secret in clear would show. */
async function everyRow(db: Database): Promise<string> {
  const { rows: tables } = await db.query<{ table_name: string }>(
    "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'",
  );
  let text = '';
  for (const { table_name: table } of tables) {
    const { rows } = await db.query(`SELECT row_to_json(t)::text AS row FROM "${table}" t`);
    text += rows.map((row) => (row as { row: string }).row).join('\n');
  }
  return text;
}

/** App → webhook → subscriptions, as an operator runs them; the webhook's Dialpad id. */
async function automate(server: DialpadServer, appId: string, body: Record<string, unknown> = {}): Promise<string> {
  const created = await server.internal('POST', `/internal/webhooks/create?app_id=${appId}`, body);
  if (created.status !== 201) throw new Error(`webhooks/create: ${created.status} ${await created.text()}`);
  const { webhook_id: webhookId } = (await created.json()) as { webhook_id: string };
  const subscribed = await server.internal('POST', '/internal/subscriptions/dialpad', { app_id: appId, webhook_id: webhookId });
  if (subscribed.status !== 201) throw new Error(`subscriptions/dialpad: ${subscribed.status} ${await subscribed.text()}`);
  return webhookId;
}

for (const engine of ENGINES) {
  const engineTest = engine === 'pglite' ? test.serial : test;

  engineTest(
    `the automated setup (app → webhook → subscriptions) makes Dialpad's events reach the app's API, and only its own (${engine})`,
    async (t) => {
      const server = await startDialpadServer(t, fixture, engine);
      const { appId, key } = await server.createApp(['b.com-y']);
      const other = await server.createApp(['a.com-x']);

      const created = await server.internal('POST', `/internal/webhooks/create?app_id=${appId}`, {});
      t.is(created.status, 201);
      const createdBody = (await created.json()) as Record<string, unknown>;
      t.like(createdBody, {
        success: true,
        id: 'b.com-y',
        message: 'Webhook created. Its secret is stored sealed and is not shown again.',
      });
      t.regex(String(createdBody.next_step), /POST \/internal\/subscriptions\/dialpad/);
      const webhookId = String(createdBody.webhook_id);
      const [webhook] = server.dialpad.webhooks;
      t.is(webhook!.id, webhookId);
      t.is(webhook!.hook_url, `${server.url}/webhooks/dialpad`, 'the default webhook_url is this server’s');
      t.regex(webhook!.secret!, /^[A-Za-z0-9_-]{43}$/, 'a generated secret: 32 random bytes');
      t.false(JSON.stringify(createdBody).includes(webhook!.secret!));

      const subscribed = await server.internal('POST', '/internal/subscriptions/dialpad', { app_id: appId, webhook_id: webhookId });
      t.is(subscribed.status, 201);
      const subscriptions = (await subscribed.json()) as { subscriptions: { kind: string; subscription_id: string }[] };
      t.deepEqual(
        subscriptions.subscriptions.map((item) => item.kind),
        ['call', 'sms'],
      );
      t.deepEqual(
        server.dialpad.subscriptions.map((item) => [item.kind, item.body.endpoint_id]),
        [
          ['call', Number(webhookId)],
          ['sms', Number(webhookId)],
        ],
        'linked by endpoint_id, as the current spec names it',
      );
      t.deepEqual(server.dialpad.subscriptions[0]!.body.call_states, [
        'ringing',
        'calling',
        'connected',
        'missed',
        'voicemail',
        'voicemail_uploaded',
        'hangup',
      ]);

      const listed = (await (await server.internal('GET', `/internal/webhooks?app_id=${appId}`)).json()) as { webhooks: unknown[] };
      t.like(listed.webhooks[0], { webhook_id: webhookId, app_id: appId, id: 'b.com-y', status: 'active' });
      t.false(JSON.stringify(listed).includes(webhook!.secret!));
      const all = (await (await server.internal('GET', '/internal/subscriptions')).json()) as { subscriptions: Record<string, unknown>[] };
      t.deepEqual(
        all.subscriptions.filter((row) => row.provider === 'dialpad').map((row) => [row.id, row.kind, row.webhook_id, row.app_id]),
        [
          ['b.com-y', 'call', webhookId, appId],
          ['b.com-y', 'sms', webhookId, appId],
        ],
      );

      // Dialpad's side: events signed with the webhook's secret, posted to its hook_url.
      const callId = newCall();
      t.is((await server.dialpad.deliver(webhookId, callEvent(callId, 'ringing'))).status, 200);
      t.is((await server.dialpad.deliver(webhookId, callEvent(callId, 'missed'))).status, 200);
      t.is((await server.dialpad.deliver(webhookId, smsEvent())).status, 200);
      // DIALPAD_WEBHOOK_SECRET's events go to the default id (a.com-x), the other app's.
      await server.deliver(await signDialpadEvent(callEvent(newCall(), 'ringing'), ENV_WEBHOOK_SECRET));

      const calls = (await (await server.get('/api/calls', key)).json()) as {
        calls: { tenant: string; session_id: string; status: string }[];
      };
      t.deepEqual(
        calls.calls.map((call) => [call.tenant, call.session_id, call.status]),
        [['b.com-y', String(callId), 'missed']],
      );
      const messages = (await (await server.get('/api/messages', key)).json()) as { messages: { tenant: string }[] };
      t.deepEqual(
        messages.messages.map((message) => message.tenant),
        ['b.com-y'],
      );
      const othersCalls = (await (await server.get('/api/calls', other.key)).json()) as { calls: { tenant: string }[] };
      t.deepEqual(
        othersCalls.calls.map((call) => call.tenant),
        ['a.com-x'],
        'the other app sees only its id',
      );
      t.deepEqual(await (await server.get('/api/messages', other.key)).json(), { messages: [] });

      // Every request Beckon sent Dialpad fits the published request schemas, and was authorized with the key.
      for (const request of server.dialpad.requests.filter((item) => item.method === 'POST')) {
        const valid = ajv.validate(REQUEST_SCHEMAS[request.path]!, request.body);
        t.true(valid, `${request.path}: ${ajv.errorsText()}`);
        t.is(request.status, 200);
      }

      // No key or secret in clear: not in any table, not in any log line. Nor a caller's number in the log.
      const stored = await everyRow(server.db);
      const log = server.logText();
      for (const [name, secret] of Object.entries({
        'the webhook secret': webhook!.secret!,
        'an app key': key,
        'the other app key': other.key,
        'the Dialpad API key': DIALPAD_API_KEY,
        'the internal API secret': INTERNAL_SECRET,
        DIALPAD_WEBHOOK_SECRET: ENV_WEBHOOK_SECRET,
      })) {
        t.false(stored.includes(secret), `${name} is not in the database`);
        t.false(log.includes(secret), `${name} is not in the log`);
      }
      t.false(log.includes('4165551234'), 'phone numbers are not logged in clear');
      t.true(log.length > 0);
    },
  );

  engineTest(
    `messages page by offset and by after; an app key rotated keeps working in its grace window, then is a 401 (${engine})`,
    async (t) => {
      const server = await startDialpadServer(t, fixture, engine);
      const { appId, key } = await server.createApp(['a.com-x']);
      for (let index = 0; index < 5; index += 1)
        await server.deliver(await signDialpadEvent(smsEvent({ text: `text ${index}` }), ENV_WEBHOOK_SECRET));
      const texts = async (query: string, apiKey = key) => {
        const response = await server.get(`/api/messages${query}`, apiKey);
        t.is(response.status, 200, query);
        return (await response.json()) as { messages: { text: string }[]; next?: string };
      };
      t.deepEqual(
        (await texts('?limit=2&offset=1')).messages.map((message) => message.text),
        ['text 3', 'text 2'],
      );
      const seen: string[] = [];
      let after = '';
      for (let page = 0; page < 5; page += 1) {
        const { messages, next } = await texts(`?limit=2${after ? `&after=${after}` : ''}`);
        seen.push(...messages.map((message) => message.text));
        if (!next) break;
        after = next;
      }
      t.deepEqual(seen, ['text 4', 'text 3', 'text 2', 'text 1', 'text 0']);
      t.is((await server.get('/api/messages?limit=101', key)).status, 400);
      t.is((await server.get('/api/voicemails?after=nonsense', key)).status, 400);

      const rotated = await server.internal('POST', `/internal/apps/${appId}/api-key`);
      t.is(rotated.status, 200);
      const { api_key: newKey } = (await rotated.json()) as { api_key: string };
      t.is((await texts('?limit=1', newKey)).messages.length, 1);
      t.is((await texts('?limit=1', key)).messages.length, 1, 'the old key works in the grace window');
      // The grace window ends (as the database's clock would say after API_KEY_GRACE_HOURS).
      await server.db.query("UPDATE api_keys SET expires_at = now() - interval '1 second' WHERE expires_at IS NOT NULL");
      t.is((await server.get('/api/messages', key)).status, 401);
      t.is((await server.get('/api/voicemails', key)).status, 401);
      t.is((await server.get('/api/messages', newKey)).status, 200);
    },
  );
}

test('the admin routes answer bad input with a 4xx saying what to send, never a 5xx', async (t) => {
  const server = await startDialpadServer(t, fixture, 'postgres');
  const { appId } = await server.createApp(['a.com-x', 'b.com-y']);
  const cases: [string, 'GET' | 'POST', string, unknown, number, RegExp][] = [
    ['no app_id', 'POST', '/internal/webhooks/create', {}, 400, /app_id must be the UUID/],
    ['an unknown app', 'POST', '/internal/webhooks/create?app_id=550e8400-e29b-41d4-a716-446655440000', {}, 404, /No app has the id/],
    ['an unknown field', 'POST', `/internal/webhooks/create?app_id=${appId}`, { hook: 'x' }, 400, /Unknown field\(s\) hook/],
    ['a short secret', 'POST', `/internal/webhooks/create?app_id=${appId}`, { webhook_secret: 'short' }, 400, /32 to 256 visible/],
    ['a bad URL', 'POST', `/internal/webhooks/create?app_id=${appId}`, { webhook_url: 'ftp://x' }, 400, /http\(s\) URL/],
    ['an id the app does not read', 'POST', `/internal/webhooks/create?app_id=${appId}`, { id: 'c.com-z' }, 400, /does not read the id/],
    ['a bad webhook_id', 'POST', '/internal/subscriptions/dialpad', { app_id: appId, webhook_id: 'x' }, 400, /webhook_id must be/],
    ['an unknown webhook', 'POST', '/internal/subscriptions/dialpad', { app_id: appId, webhook_id: '123' }, 404, /no webhook 123/],
    [
      'a call state Dialpad does not have',
      'POST',
      '/internal/subscriptions/dialpad',
      { app_id: appId, webhook_id: '123', call_states: ['ringing', 'rang'] },
      400,
      /call_states may hold only/,
    ],
    ['a bad app_id to list', 'GET', '/internal/webhooks?app_id=nope', undefined, 400, /app_id must be the UUID/],
  ];
  for (const [name, method, path, body, status, message] of cases) {
    const response = await server.internal(method, path, body);
    t.is(response.status, status, name);
    t.regex(((await response.json()) as { message: string }).message, message, name);
  }
  // The app reads two ids and none is named: the default id (DIALPAD_DEFAULT_ID, a.com-x) is used.
  const created = await server.internal('POST', `/internal/webhooks/create?app_id=${appId}`, { webhook_secret: 's'.repeat(40) });
  t.is(created.status, 201);
  t.like(await created.json(), { id: 'a.com-x' });
  const again = await server.internal('POST', `/internal/webhooks/create?app_id=${appId}`, {
    webhook_secret: 's'.repeat(40),
    id: 'b.com-y',
  });
  t.is(again.status, 409, 'a secret another webhook has would make deliveries ambiguous');
  t.is(server.dialpad.webhooks.length, 1);
});

test('Dialpad failing: a create is never repeated (502, the webhook failed), reads are retried on 429/5xx', async (t) => {
  const server = await startDialpadServer(t, fixture, 'postgres');
  const { appId } = await server.createApp(['a.com-x']);

  const secret = 'r'.repeat(40);
  server.dialpad.inject({ route: 'webhooks', method: 'POST', status: 503 });
  const refused = await server.internal('POST', `/internal/webhooks/create?app_id=${appId}`, { webhook_secret: secret });
  t.is(refused.status, 502);
  t.regex(((await refused.json()) as { message: string }).message, /Dialpad did not create the webhook: Dialpad answered 503/);
  t.is(server.dialpad.requests.filter((request) => request.method === 'POST').length, 1, 'not repeated');

  server.dialpad.inject({ route: 'webhooks', method: 'POST', dropAfterWork: true });
  const unanswered = await server.internal('POST', `/internal/webhooks/create?app_id=${appId}`, {});
  t.is(unanswered.status, 502);
  t.regex(((await unanswered.json()) as { message: string }).message, /it may have been created: check your Dialpad webhooks/);
  t.is(server.dialpad.requests.filter((request) => request.method === 'POST').length, 2, 'not repeated either');
  const { rows } = await server.db.query<{ status: string }>('SELECT status FROM dialpad_webhooks ORDER BY id');
  t.deepEqual(rows, [{ status: 'failed' }, { status: 'failed' }]);
  // A failed webhook's secret verifies nothing: the webhook Dialpad may have made cannot post into the database.
  const made = server.dialpad.webhooks[0]!;
  const token = await signDialpadEvent(callEvent(newCall(), 'ringing'), made.secret!);
  t.is((await server.deliver(token)).status, 401);

  // The operator tries again with the secret of the webhook that failed: taken.
  const webhookId = await automate(server, appId, { webhook_secret: secret });
  t.is(server.dialpad.webhooks.find((webhook) => webhook.id === webhookId)?.secret, secret);
  server.dialpad.inject({ route: 'subscriptions', method: 'POST', status: 429 });
  const limited = await server.internal('POST', '/internal/subscriptions/dialpad', { app_id: appId, webhook_id: webhookId, sms: false });
  t.is(limited.status, 502);
  t.regex(((await limited.json()) as { message: string }).message, /Dialpad did not create the call subscription: Dialpad answered 429/);

  const client = createDialpadClient({ apiKey: DIALPAD_API_KEY, baseUrl: server.dialpad.url, backoffMs: 10 });
  server.dialpad.inject({ route: 'webhooks', method: 'GET', status: 503, times: 2 });
  const before = server.dialpad.requests.length;
  t.true((await client.webhooks.list()).some((webhook) => webhook.id === webhookId));
  t.is(server.dialpad.requests.length - before, 3, 'two 503s, then the answer');
  server.dialpad.inject({ route: 'webhooks', method: 'GET', status: 500, times: 10 });
  await t.throwsAsync(client.webhooks.list(), { message: /Dialpad answered 500 to GET \/webhooks/ });
  const wrongKey = createDialpadClient({ apiKey: 'wrong-key-0123456789', baseUrl: server.dialpad.url, backoffMs: 10 });
  const error = await t.throwsAsync(wrongKey.webhooks.list(), { message: /Dialpad answered 401/ });
  t.false(error!.message.includes('wrong-key'), 'the key is never in an error');
});

test('the stand-in refuses what Dialpad’s OpenAPI refuses, and asks for the API key', async (t) => {
  const server = await startDialpadServer(t, fixture, 'postgres');
  const post = (path: string, body: unknown, key = DIALPAD_API_KEY) =>
    fetch(`${server.dialpad.url}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  const webhook = (await (await post('/api/v2/webhooks', { hook_url: 'https://example.com/hook', secret: 's3' })).json()) as {
    id: number;
    signature: { algo: string; type: string; secret: string };
  };
  t.deepEqual(webhook.signature, { algo: 'HS256', type: 'jwt', secret: 's3' }, 'Dialpad echoes the secret');
  const cases: [string, string, unknown, boolean][] = [
    ['/api/v2/webhooks', 'no hook_url', {}, false],
    ['/api/v2/webhooks', 'hook_url only', { hook_url: 'https://example.com/2' }, true],
    ['/api/v2/subscriptions/call', 'a call state not in the enum', { endpoint_id: webhook.id, call_states: ['rang'] }, false],
    ['/api/v2/subscriptions/call', 'states and endpoint_id', { endpoint_id: webhook.id, call_states: ['ringing', 'hangup'] }, true],
    ['/api/v2/subscriptions/call', 'a target_type not in the enum', { endpoint_id: webhook.id, target_type: 'team' }, false],
    ['/api/v2/subscriptions/sms', 'no direction', { endpoint_id: webhook.id }, false],
    ['/api/v2/subscriptions/sms', 'direction all', { endpoint_id: webhook.id, direction: 'all', status: true }, true],
    ['/api/v2/subscriptions/sms', 'status not a boolean', { endpoint_id: webhook.id, direction: 'all', status: 'yes' }, false],
  ];
  for (const [path, name, body, accepted] of cases) {
    t.is(ajv.validate(REQUEST_SCHEMAS[path]!, body), accepted, `the spec: ${name}`);
    t.is((await post(path, body)).status, accepted ? 200 : 400, `the stand-in: ${name}`);
  }
  t.is((await post('/api/v2/webhooks', { hook_url: 'https://example.com/3' }, 'wrong')).status, 401);
});
