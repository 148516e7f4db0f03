// Seed 003's missed-call text-back on Twilio, end to end over real HTTP: the real `start()` (routes, the
// database, the text sender) against the Twilio stand-in, whose driver plays Twilio's side of each call
// and text with signed webhooks.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import test, { type ExecutionContext } from 'ava';
import { startTextSender } from '../src/actions/texts.js';
import { createTwilioClient } from '../src/providers/twilio/client.js';
import { signTwilioRequest } from '../src/providers/twilio/signature.js';
import { startTwilioStandIn, type TwilioStandIn } from '../src/providers/twilio/stand-in/index.js';
import { createLogger, loadConfig, migrate, start, type Database, type Engine, type RunningServer } from '../src/index.js';
import { copyEmptyPglite } from '../../../examples/shared/pglite-template.mjs';
import { databaseFixture, ENGINES } from './fixtures/databases.js';
import { eventually } from './eventually.js';
import { SECRET } from './helpers.js';

const fixture = databaseFixture(test);
const quiet = createLogger('silent');

const ACCOUNT_SID = `AC${'a1'.repeat(16)}`;
const AUTH_TOKEN = 'f0'.repeat(16);
const SHOP = '+19295550100';
const OWNER = '+18135550199';
const TEXT_BACK = 'Sorry we missed you! We will call you back shortly.';

interface TwilioServer {
  running: RunningServer;
  twilio: TwilioStandIn;
  db: Database;
  logText: () => string;
  call(
    from: string,
    dialCallStatus: Parameters<TwilioStandIn['placeCall']>[0]['dialCallStatus'],
    to?: string,
  ): ReturnType<TwilioStandIn['placeCall']>;
  sms(from: string, body: string): ReturnType<TwilioStandIn['sendSms']>;
  /** The calls stored, by CallSid: their state. */
  states(): Promise<Record<string, string>>;
}

async function startTwilioServer(t: ExecutionContext, engine: Engine, env: Record<string, string> = {}): Promise<TwilioServer> {
  const twilio = await startTwilioStandIn({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN });
  t.teardown(() => twilio.close());
  const dir = await mkdtemp(join(tmpdir(), 'beckon-twilio-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const domainsFile = join(dir, 'domains.json');
  await writeFile(
    domainsFile,
    JSON.stringify({ 'shop-main': { twilio: { numbers: [SHOP], forward_to: OWNER, ring_seconds: 15, text_back: TEXT_BACK } } }),
  );
  const settings = await fixture.settings(t, engine);
  if (!settings.databaseUrl) await copyEmptyPglite(join(settings.dataDir, 'pglite'));
  let logText = '';
  const logger = createLogger(
    'debug',
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        logText += chunk.toString();
        done();
      },
    }),
  );
  const config = loadConfig({
    NS_API_BASE: 'http://127.0.0.1:9',
    NS_TOKEN: 'token',
    UPDATE_SECRET: SECRET,
    DOMAINS_FILE: domainsFile,
    PORT: '0',
    TWILIO_ACCOUNT_SID: ACCOUNT_SID,
    TWILIO_AUTH_TOKEN: AUTH_TOKEN,
    TWILIO_API_BASE: twilio.url,
    ...(settings.databaseUrl ? { DATABASE_URL: settings.databaseUrl } : { DATA_DIR: settings.dataDir }),
    ...env,
  });
  const running = await start({ config, logger });
  t.teardown(() => running.close(2_000));
  const db = running.deps.db!;
  return {
    running,
    twilio,
    db,
    logText: () => logText,
    call: (from, dialCallStatus, to = SHOP) =>
      twilio.placeCall({ voiceUrl: `${running.url}/webhooks/twilio/call`, from, to, dialCallStatus }),
    sms: (from, body) => twilio.sendSms({ smsUrl: `${running.url}/webhooks/twilio/sms`, from, to: SHOP, body }),
    async states() {
      const { rows } = await db.query<{ provider_call_id: string; state: string }>(
        "SELECT provider_call_id, state FROM calls WHERE provider = 'twilio'",
      );
      return Object.fromEntries(rows.map((row) => [row.provider_call_id, row.state]));
    },
  };
}

for (const engine of ENGINES) {
  const engineTest = engine === 'pglite' ? test.serial : test;

  engineTest(
    `a call not answered (no-answer, busy, failed, canceled) is missed, and its caller is texted once from the number called (${engine})`,
    async (t) => {
      const server = await startTwilioServer(t, engine);
      const statuses = ['no-answer', 'busy', 'failed', 'canceled'] as const;
      for (const [index, status] of statuses.entries()) {
        const caller = `+1813555010${index}`;
        const placed = await server.call(caller, status);
        t.is(placed.voice.status, 200);
        t.is(placed.voice.contentType?.split(';')[0], 'text/xml');
        t.like(placed.dial, { numbers: [OWNER], timeout: 15, method: 'POST' }, status);
        t.is(placed.action?.status, 200, `${status}: the Dial's action answered`);
        t.regex(placed.action?.body ?? '', /<Response\s*\/>|<Response><\/Response>/);
        t.true(await eventually(() => server.twilio.messages.filter((message) => message.to === caller).length === 1, 10_000), status);
        t.like(
          server.twilio.messages.find((message) => message.to === caller),
          { from: SHOP, body: TEXT_BACK },
        );
        t.is((await server.states())[placed.callSid], 'missed', status);
      }
      t.false(server.logText().includes('8135550100'), 'numbers are masked in the log');
      t.false(server.logText().includes(AUTH_TOKEN));
    },
  );

  engineTest(`an answered call is answered then ended, and nobody is texted (${engine})`, async (t) => {
    const server = await startTwilioServer(t, engine);
    const placed = await server.call('+18135550110', 'completed');
    t.is(placed.action?.status, 200);
    t.true(await eventually(async () => (await server.states())[placed.callSid] === 'ended'));
    const { rows } = await server.db.query<{ state: string }>(
      'SELECT e.state FROM call_events e JOIN calls c ON c.id = e.call_id WHERE c.provider_call_id = $1 ORDER BY e.id',
      [placed.callSid],
    );
    t.deepEqual(
      rows.map((row) => row.state),
      ['ringing', 'answered', 'ended'],
    );
    await new Promise((resolve) => setTimeout(resolve, 500));
    t.is(server.twilio.messages.length, 0);
  });

  engineTest(`a status callback Twilio sends again texts nobody twice, nor does a second call within the window (${engine})`, async (t) => {
    const server = await startTwilioServer(t, engine);
    const placed = await server.call('+18135550120', 'no-answer');
    const action = placed.action!;
    // Redelivered as Twilio sent it: same URL, parameters and signature.
    for (let again = 0; again < 2; again += 1) {
      const response = await fetch(action.sentTo, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': action.signature },
        body: new URLSearchParams(action.params),
      });
      t.is(response.status, 200);
      await response.body?.cancel();
    }
    await server.call('+18135550120', 'busy');
    t.true(await eventually(() => server.twilio.messages.length >= 1, 10_000));
    await new Promise((resolve) => setTimeout(resolve, 700));
    t.is(server.twilio.messages.length, 1, 'one text: the redeliveries and the second call within TEXT_BACK_WINDOW_MINUTES send none');
  });

  engineTest(`STOP stops the texts to that caller, START lets them go again; withheld numbers are never texted (${engine})`, async (t) => {
    const server = await startTwilioServer(t, engine);
    const stop = await server.sms('+18135550130', 'Stop');
    t.is(stop.webhook.status, 200);
    t.regex(stop.webhook.body, /<Response/);
    await server.call('+18135550130', 'no-answer');
    await server.call('+266696687', 'no-answer');
    await server.call('anonymous', 'no-answer');
    await new Promise((resolve) => setTimeout(resolve, 700));
    t.is(server.twilio.messages.length, 0);
    await server.sms('+18135550130', 'START');
    await server.call('+18135550130', 'canceled');
    t.true(await eventually(() => server.twilio.messages.length === 1, 10_000));
    t.is(server.twilio.messages[0]!.to, '+18135550130');
  });

  engineTest(`a webhook without Twilio's signature, or with a forged one, is a 403 and changes nothing (${engine})`, async (t) => {
    const server = await startTwilioServer(t, engine);
    const params = { CallSid: `CA${'0'.repeat(32)}`, From: '+18135550140', To: SHOP, CallStatus: 'ringing', AccountSid: ACCOUNT_SID };
    const url = `${server.running.url}/webhooks/twilio/call`;
    for (const signature of [undefined, 'bm90IGEgc2lnbmF0dXJl', signTwilioRequest('0'.repeat(32), url, params)]) {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...(signature ? { 'x-twilio-signature': signature } : {}) },
        body: new URLSearchParams(params),
      });
      t.is(response.status, 403, signature ?? 'no signature');
      t.notRegex(await response.text(), /<Dial/);
    }
    // Signed, then replayed with a parameter changed.
    const signature = signTwilioRequest(AUTH_TOKEN, url, params);
    const changed = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': signature },
      body: new URLSearchParams({ ...params, From: '+18135550141' }),
    });
    t.is(changed.status, 403);
    t.deepEqual(await server.states(), {});
  });

  engineTest(`a signed webhook with a NUL or a lone surrogate in a field is forwarded and recorded, never a 500 (${engine})`, async (t) => {
    const server = await startTwilioServer(t, engine);
    const callSid = `CA${'5'.repeat(32)}`;
    const params = { CallSid: callSid, From: '+18135550145', To: SHOP, CallStatus: 'ringing', CallerName: 'Ada\u0000 \uD800Lovelace' };
    const url = `${server.running.url}/webhooks/twilio/call`;
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': signTwilioRequest(AUTH_TOKEN, url, params) },
      body: new URLSearchParams(params),
    });
    t.is(response.status, 200);
    t.regex(await response.text(), /<Dial /);
    const { rows } = await server.db.query<{ from_name: string }>('SELECT from_name FROM calls WHERE provider_call_id = $1', [callSid]);
    t.deepEqual(rows, [{ from_name: 'Ada \uFFFDLovelace' }]);
  });

  engineTest(`a call to a number no id has is told so and hung up (${engine})`, async (t) => {
    const server = await startTwilioServer(t, engine);
    const placed = await server.call('+18135550150', 'no-answer', '+19295550999');
    t.is(placed.voice.status, 200);
    t.regex(placed.voice.body, /<Say>[^<]+<\/Say><Hangup\/>/);
    t.is(placed.dial, undefined);
  });
}

test("seed 003's TWILIO_PHONE_NUMBER, USER_PHONE_NUMBER and TEXT_BACK_MESSAGE serve the id twilio-default without a config entry", async (t) => {
  const server = await startTwilioServer(t, 'pglite', {
    TWILIO_PHONE_NUMBER: '+19295550177',
    USER_PHONE_NUMBER: '+18135550177',
    TEXT_BACK_MESSAGE: 'Missed you, calling back soon.',
  });
  const placed = await server.call('+18135550160', 'no-answer', '+19295550177');
  t.deepEqual(placed.dial?.numbers, ['+18135550177']);
  t.is(placed.dial?.timeout, 20);
  t.true(await eventually(() => server.twilio.messages.length === 1, 10_000));
  t.like(server.twilio.messages[0], { to: '+18135550160', from: '+19295550177', body: 'Missed you, calling back soon.' });
  const { rows } = await server.db.query<{ tenant: string }>('SELECT tenant FROM calls');
  t.deepEqual(rows, [{ tenant: 'twilio-default' }]);
});

test('Twilio down, then back: the queued text goes out once, after retries; a text Twilio refuses for good is given up at once', async (t) => {
  const twilio = await startTwilioStandIn({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN });
  t.teardown(() => twilio.close());
  const { db } = await fixture.open(t, 'postgres');
  await migrate(db, { logger: quiet });
  const client = createTwilioClient({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN, baseUrl: twilio.url, timeoutMs: 2_000 });
  twilio.inject({ route: 'messages', times: 2, status: 503 });
  const queue = (key: string, to: string) =>
    db.query(
      `INSERT INTO texts (tenant, provider, dedupe_key, to_number, from_number, body) VALUES ('shop-main', 'twilio', $1, $2, $3, 'Back soon')`,
      [key, to, SHOP],
    );
  await queue('text-back:one', '+18135550170');
  const sender = startTextSender({
    db,
    logger: quiet,
    pollMs: 50,
    retryDelaysMs: [100, 100, 100],
    senders: { twilio: async (text) => ({ providerMessageId: (await client.sendSms(text)).sid }) },
  });
  t.teardown(() => sender.close());
  t.true(await eventually(async () => (await db.query('SELECT 1 FROM texts WHERE sent_at IS NOT NULL')).rowCount === 1, 10_000));
  await queue('text-back:two', 'not-a-number');
  t.true(
    await eventually(
      async () => (await db.query('SELECT 1 FROM texts WHERE sent_at IS NOT NULL OR failed_at IS NOT NULL')).rowCount === 2,
      10_000,
    ),
  );
  const { rows } = await db.query<{
    dedupe_key: string;
    attempts: number;
    sent: boolean;
    failed: boolean;
    provider_message_id: string | null;
  }>(
    'SELECT dedupe_key, attempts, sent_at IS NOT NULL AS sent, failed_at IS NOT NULL AS failed, provider_message_id FROM texts ORDER BY dedupe_key',
  );
  t.like(rows[0], { dedupe_key: 'text-back:one', attempts: 3, sent: true, failed: false });
  t.regex(rows[0]!.provider_message_id ?? '', /^SM[0-9a-f]{32}$/);
  t.like(rows[1], { dedupe_key: 'text-back:two', attempts: 1, sent: false, failed: true }, "Twilio's 400 (invalid To) is not tried again");
  t.is(twilio.messages.filter((message) => message.to === '+18135550170').length, 1, 'sent once');
});

test('a text queued before a restart is sent by the next process: the outbox, not the process, holds it', async (t) => {
  const twilio = await startTwilioStandIn({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN });
  t.teardown(() => twilio.close());
  const { db } = await fixture.open(t, 'pglite');
  await migrate(db, { logger: quiet });
  const client = createTwilioClient({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN, baseUrl: twilio.url, timeoutMs: 2_000 });
  const senders = {
    twilio: async (text: { to: string; from: string; body: string }) => ({ providerMessageId: (await client.sendSms(text)).sid }),
  };
  twilio.inject({ route: 'messages', times: 1, status: 503 });
  await db.query(
    `INSERT INTO texts (tenant, provider, dedupe_key, to_number, from_number, body) VALUES ('shop-main', 'twilio', 'text-back:restart', '+18135550180', $1, 'Back soon')`,
    [SHOP],
  );
  const before = startTextSender({ db, logger: quiet, pollMs: 50, retryDelaysMs: [60_000], senders });
  t.true(await eventually(async () => (await db.query('SELECT 1 FROM texts WHERE attempts = 1 AND locked_until IS NULL')).rowCount === 1));
  await before.close();
  t.is(twilio.messages.length, 0);
  // The next process, once the wait is over.
  await db.query('UPDATE texts SET next_attempt_at = now()');
  const after = startTextSender({ db, logger: quiet, pollMs: 50, senders });
  t.teardown(() => after.close());
  t.true(await eventually(() => twilio.messages.length === 1, 10_000));
  await new Promise((resolve) => setTimeout(resolve, 300));
  t.is(twilio.messages.length, 1);
});
