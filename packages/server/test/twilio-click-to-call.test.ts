// Click-to-call on Twilio over real HTTP: the real `start()` against the Twilio stand-in (and the NS
// sandbox, for an id on NetSapiens beside it). The business is called first; its answer runs inline TwiML
// that dials the visitor. Click-to-call touches no database, so one engine serves: PostgreSQL, whose
// databases are cheap to make for tests running at once.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { startNsSandbox, type NsSandbox } from '@beckon/ns-client/sandbox';
import test, { type ExecutionContext } from 'ava';
import { bridgeTwiml } from '../src/providers/twilio/originate.js';
import { parseTwiml, startTwilioStandIn, type TwilioStandIn } from '../src/providers/twilio/stand-in/index.js';
import { createLogger, loadConfig, start, type RunningServer, type Tenants } from '../src/index.js';
import { checkTenants } from '../src/tenants/schema.js';
import { databaseFixture } from './fixtures/databases.js';
import { SECRET, TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN } from './helpers.js';

const fixture = databaseFixture(test);

const SHOP = '+19295550100';
const SHOP_OTHER = '+19295550101';
const OWNER = '+18135550199';

const TENANTS: Tenants = {
  'shop-main': {
    provider: 'twilio',
    twilio: { numbers: [SHOP, SHOP_OTHER], forward_to: OWNER },
    allowed_origins: ['https://shop.example'],
  },
  // Texts back missed calls, but names no provider: its click-to-call stays NetSapiens', which it has no queue for.
  'shop-textback': { twilio: { numbers: ['+19295550102'], forward_to: OWNER, text_back: 'Missed you' } },
  'example.com-sales': { api_domain: 'example.com', queue: '9002@example.com' },
};

interface LogLine {
  msg: string;
  [field: string]: unknown;
}

interface Server {
  url: string;
  twilio: TwilioStandIn;
  ns: NsSandbox;
  logs: LogLine[];
  logText(): string;
  /** From the page `shop-main` allows, unless `headers` say otherwise. */
  call(id: string, phone_number: string, headers?: Record<string, string>): Promise<Response>;
}

/** Beckon with the Twilio settings pointing at the stand-in (unless `twilio: false`), the limits loosened unless `env` sets them. */
async function startServer(t: ExecutionContext, env: Record<string, string> = {}, options: { twilio?: boolean } = {}): Promise<Server> {
  const twilio = await startTwilioStandIn({ accountSid: TWILIO_ACCOUNT_SID, authToken: TWILIO_AUTH_TOKEN });
  t.teardown(() => twilio.close());
  const ns = await startNsSandbox();
  t.teardown(() => ns.close());
  const dir = await mkdtemp(join(tmpdir(), 'beckon-twilio-c2c-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const domainsFile = join(dir, 'domains.json');
  await writeFile(domainsFile, JSON.stringify(TENANTS));
  let raw = '';
  const logs: LogLine[] = [];
  const logger = createLogger(
    'debug',
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        raw += chunk.toString();
        for (const line of chunk.toString().split('\n').filter(Boolean)) logs.push(JSON.parse(line) as LogLine);
        done();
      },
    }),
  );
  const settings = await fixture.settings(t, 'postgres');
  const config = loadConfig({
    NS_API_BASE: ns.url,
    NS_TOKEN: ns.token,
    UPDATE_SECRET: SECRET,
    DOMAINS_FILE: domainsFile,
    PORT: '0',
    DATABASE_URL: settings.databaseUrl!,
    DATA_DIR: settings.dataDir,
    LIMIT_IP_PER_MINUTE: '100',
    LIMIT_ID_PER_HOUR: '100',
    LIMIT_NUMBER_PER_HOUR: '100',
    LIMIT_NUMBERS_PER_VISITOR_PER_HOUR: '100',
    ...(options.twilio === false
      ? {}
      : { TWILIO_ACCOUNT_SID: TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN: TWILIO_AUTH_TOKEN, TWILIO_API_BASE: twilio.url }),
    ...env,
  });
  const running: RunningServer = await start({ config, logger });
  t.teardown(() => running.close(2_000));
  return {
    url: running.url,
    twilio,
    ns,
    logs,
    logText: () => raw,
    call: (id, phone_number, headers = {}) =>
      fetch(`${running.url}/click-to-call`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', origin: 'https://shop.example', ...headers },
        body: JSON.stringify({ id, phone_number }),
      }),
  };
}

const callsPlaced = (server: Server) => server.twilio.requests.filter((request) => request.route === 'calls').length;
const settle = () => new Promise((resolve) => setTimeout(resolve, 300));

test("a Twilio id's click-to-call rings the business from the id's first Twilio number, and its answer dials the visitor", async (t) => {
  const server = await startServer(t);
  const response = await server.call('shop-main', '(813) 555-0142');
  t.is(response.status, 200);
  // With a database the call is recorded for its live status (docs/callbacks.md).
  const body = (await response.json()) as Record<string, string>;
  t.is(body.status, 'ok');
  t.regex(body.callback_id ?? '', /^[0-9a-f-]{36}$/);
  t.truthy(body.status_token);

  t.is(server.twilio.calls.length, 1);
  const [placed] = server.twilio.calls;
  t.like(placed, { to: OWNER, from: SHOP, url: null });
  const twiml = parseTwiml(placed!.twiml ?? '');
  t.deepEqual(
    twiml.children.map((verb) => verb.name),
    ['Dial'],
  );
  const [dial] = twiml.children;
  t.deepEqual(dial!.attributes, { callerId: SHOP });
  t.deepEqual(
    dial!.children.map((noun) => [noun.name, noun.text]),
    [['Number', '+18135550142']],
  );
  t.is(server.ns.calls.length, 0, 'NetSapiens is not asked');

  const line = server.logs.find((entry) => entry.msg === 'twilio call placed');
  t.like(line, { id: 'shop-main', to: '+1813•••0142', business: '+1813•••0199', callSid: placed!.sid });
  t.false(server.logText().includes('8135550142'), "the visitor's number is masked in the log");
  t.false(server.logText().includes('8135550199'), "the business's number is masked in the log");
});

test('a NetSapiens id beside it is placed as before, and an id with a twilio block but no provider (nor queue) has no click-to-call', async (t) => {
  const server = await startServer(t);
  t.is((await server.call('example.com-sales', '8135550143')).status, 200);
  t.like(server.ns.calls[0], { queue: '9002@example.com', destination: '+18135550143', status: 'queued' });
  t.truthy(server.logs.find((entry) => entry.msg === 'queued call placed'));

  const textBackOnly = await server.call('shop-textback', '8135550144');
  t.is(textBackOnly.status, 404);
  t.like(await textBackOnly.json(), { status: 'error', code: 'not_configured' });
  t.is(callsPlaced(server), 0, 'Twilio is never asked');
  t.is(server.ns.calls.length, 1);
});

test("the visitor's number, the page's origin and the limits are checked as for NetSapiens, before Twilio is asked", async (t) => {
  const server = await startServer(t, { LIMIT_NUMBER_PER_HOUR: '1' });
  const refused: [string, Record<string, string>, number, string][] = [
    ['555-1234', {}, 400, 'invalid_number'],
    ['900-555-1234', {}, 400, 'number_not_allowed'],
    ['+44 20 7946 0958', {}, 400, 'country_not_allowed'],
    ['8135550145', { origin: 'https://evil.example' }, 403, 'origin_not_allowed'],
  ];
  for (const [number, headers, status, code] of refused) {
    const response = await server.call('shop-main', number, headers);
    t.is(response.status, status, number);
    t.like(await response.json(), { status: 'error', code }, number);
  }
  t.is(callsPlaced(server), 0);

  t.is((await server.call('shop-main', '8135550146')).status, 200);
  const limited = await server.call('shop-main', '+1 813 555 0146');
  t.is(limited.status, 429, 'LIMIT_NUMBER_PER_HOUR');
  t.truthy(limited.headers.get('retry-after'));
  t.is(callsPlaced(server), 1);
  t.like(
    server.logs.find((entry) => entry.msg === 'rate limit reached'),
    { limit: 'number', id: 'shop-main', to: '+1813•••0146' },
  );
});

test('Twilio failing (a 5xx, no answer at all, a refusal) is a 502 after one request: the business is never rung twice', async (t) => {
  const server = await startServer(t);
  server.twilio.inject({ route: 'calls', status: 503, times: Infinity });
  const failed = await server.call('shop-main', '8135550147');
  t.is(failed.status, 502);
  t.like(await failed.json(), { status: 'error', code: 'call_failed' });
  await settle();
  t.is(callsPlaced(server), 1, 'not retried');
  t.like(
    server.logs.find((entry) => entry.msg === 'twilio call failed'),
    { id: 'shop-main', to: '+1813•••0147', business: '+1813•••0199', status: 503, code: 20503 },
  );

  server.twilio.clearFaults();
  server.twilio.inject({ route: 'calls', drop: true, times: Infinity });
  const dropped = await server.call('shop-main', '8135550148');
  t.is(dropped.status, 502);
  await settle();
  t.is(callsPlaced(server), 2, 'a request that may have reached Twilio is not sent again');
  t.is(server.twilio.calls.length, 0);

  // Twilio's messages quote the numbers: the log keeps the message, masked.
  server.twilio.clearFaults();
  server.twilio.inject({ route: 'calls', status: 400, code: 21211, message: `The 'To' number ${OWNER} is not a valid phone number.` });
  const refused = await server.call('shop-main', '8135550149');
  t.is(refused.status, 502);
  t.like(
    server.logs.findLast((entry) => entry.msg === 'twilio call failed'),
    {
      status: 400,
      code: 21211,
      reason: "Twilio Calls answered 400 (code 21211): The 'To' number +1813•••0199 is not a valid phone number.",
    },
  );
  t.false(/8135550147|8135550148|8135550149|8135550199/.test(server.logText()), 'numbers are masked in the log');
  t.false(server.logText().includes(TWILIO_AUTH_TOKEN));
});

test('a Twilio id on a server without the Twilio settings is a 503, logged, and nothing is placed', async (t) => {
  const server = await startServer(t, {}, { twilio: false });
  const response = await server.call('shop-main', '8135550149');
  t.is(response.status, 503);
  t.like(await response.json(), { status: 'error', code: 'unavailable' });
  t.is(callsPlaced(server), 0);
  t.is(server.ns.calls.length, 0);
  t.regex(server.logs.find((entry) => entry.msg.includes('TWILIO_ACCOUNT_SID'))?.msg ?? '', /through Twilio/);
});

test('provider in the tenant schema: "twilio" needs the twilio block, and nothing but netsapiens or twilio is accepted', (t) => {
  const twilio = { numbers: [SHOP], forward_to: OWNER };
  const { tenants, rejected } = checkTenants({
    'shop-twilio': { provider: 'twilio', twilio },
    'shop-ns': { provider: 'netsapiens', api_domain: 'example.com', queue: '9002@example.com' },
    'shop-bare': { provider: 'twilio', api_domain: 'example.com' },
    'shop-sip': { provider: 'sip', twilio },
  });
  t.deepEqual(Object.keys(tenants).sort(), ['shop-ns', 'shop-twilio']);
  t.deepEqual(rejected.map((entry) => entry.id).sort(), ['shop-bare', 'shop-sip']);
  t.regex(rejected.find((entry) => entry.id === 'shop-bare')!.reason, /^twilio: is required when provider is "twilio"/);
  t.regex(rejected.find((entry) => entry.id === 'shop-sip')!.reason, /^provider: must be "netsapiens" or "twilio"/);
});

test('the bridge TwiML escapes both numbers: whatever they hold, Twilio reads them back as given', (t) => {
  const odd = `+1"><Hangup/><Number>&'`;
  const dial = parseTwiml(bridgeTwiml(odd, `${odd}2`)).children[0]!;
  t.is(dial.attributes.callerId, odd);
  t.deepEqual(
    dial.children.map((noun) => [noun.name, noun.text]),
    [['Number', `${odd}2`]],
  );
});
