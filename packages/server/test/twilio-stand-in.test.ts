import test, { type ExecutionContext } from 'ava';
import Koa from 'koa';
import { parseTwilioForm, twilioWebhookUrl, verifyTwilioSignature } from '../src/providers/twilio/signature.js';
import {
  startTwilioStandIn,
  type DialCallStatus,
  type TwilioErrorBody,
  type TwilioStandIn,
  type TwilioStandInOptions,
} from '../src/providers/twilio/stand-in/index.js';
import { ACCOUNT_SID_PATTERN, CREATE_CALL, CREATE_MESSAGE, toFormName } from './fixtures/twilio-oai-rules.js';
import { serveForTest } from './helpers.js';

const ACCOUNT_SID = 'AC0123456789abcdef0123456789abcdef';
const AUTH_TOKEN = 'f0e1d2c3b4a5968778695a4b3c2d1e0f';
const PUBLIC_URL = 'https://beckon.example.com';
const BUSINESS = '+18135550100';
const OWNER = '+18135550199';
const CALLER = '+18135551234';
const HEX32 = '0123456789abcdef0123456789abcdef';

async function startStandIn(t: ExecutionContext, options: Partial<TwilioStandInOptions> = {}): Promise<TwilioStandIn> {
  const standIn = await startTwilioStandIn({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN, ...options });
  t.teardown(() => standIn.close());
  return standIn;
}

function basic(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}

interface Answer {
  status: number;
  headers: Headers;
  body: unknown;
}

/** A form POST to the stand-in, as Beckon's client sends it; its own connection each time. */
async function post(
  standIn: TwilioStandIn,
  resource: 'Messages' | 'Calls',
  params: Record<string, string | string[]>,
  options: { authorization?: string | null; accountSid?: string } = {},
): Promise<Answer> {
  const form = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) for (const item of [value].flat()) form.append(name, item);
  const authorization = options.authorization === undefined ? basic(ACCOUNT_SID, AUTH_TOKEN) : options.authorization;
  const response = await fetch(`${standIn.url}/2010-04-01/Accounts/${options.accountSid ?? ACCOUNT_SID}/${resource}.json`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', connection: 'close', ...(authorization ? { authorization } : {}) },
    body: form.toString(),
  });
  return { status: response.status, headers: response.headers, body: await response.json() };
}

const TEXT = { To: CALLER, From: BUSINESS, Body: 'Sorry we missed your call, we will call you back.' };
const CALL = { To: OWNER, From: BUSINESS, Url: `${PUBLIC_URL}/webhooks/twilio/connect` };

function twilioError(status: number, code: number, message: string): TwilioErrorBody {
  return { code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status };
}

test('wrong, missing or foreign credentials: 401 with code 20003, a Basic challenge, and nothing created', async (t) => {
  const standIn = await startStandIn(t);
  const refused = [
    await post(standIn, 'Messages', TEXT, { authorization: null }),
    await post(standIn, 'Messages', TEXT, { authorization: basic(ACCOUNT_SID, 'not-the-token') }),
    await post(standIn, 'Calls', CALL, { authorization: `Bearer ${AUTH_TOKEN}` }),
    await post(standIn, 'Calls', CALL, { accountSid: `AC${'f'.repeat(32)}` }),
  ];
  for (const answer of refused) {
    t.is(answer.status, 401);
    t.deepEqual(answer.body, twilioError(401, 20003, 'Authenticate'));
    t.is(answer.headers.get('www-authenticate'), 'Basic realm="Twilio API"');
  }
  t.deepEqual(standIn.messages, []);
  t.deepEqual(standIn.calls, []);
  t.deepEqual(
    standIn.requests.map((request) => request.authorized),
    [false, false, false, true],
  );
  t.false(JSON.stringify(standIn.requests).includes(AUTH_TOKEN), 'no credential is recorded');
});

test("Messages.json answers Twilio's error for each rule broken, and creates nothing", async (t) => {
  const standIn = await startStandIn(t);
  const { To: _to, ...withoutTo } = TEXT;
  const { From: _from, ...withoutFrom } = TEXT;
  const { Body: _body, ...withoutBody } = TEXT;
  const cases: Array<[Record<string, string>, TwilioErrorBody]> = [
    [withoutTo, twilioError(400, 21604, "A 'To' phone number is required.")],
    [{ ...TEXT, To: '' }, twilioError(400, 21604, "A 'To' phone number is required.")],
    [withoutFrom, twilioError(400, 21603, "A 'From' phone number is required.")],
    [withoutBody, twilioError(400, 21602, 'Message body is required.')],
    [{ ...TEXT, To: '813-555-1234' }, twilioError(400, 21211, "The 'To' number 813-555-1234 is not a valid phone number.")],
    [
      { ...TEXT, From: '+1 (813) 555' },
      twilioError(400, 21212, "The 'From' number +1 (813) 555 is not a valid phone number, shortcode, or alphanumeric sender ID."),
    ],
    [{ ...TEXT, Body: 'x'.repeat(1601) }, twilioError(400, 21617, 'The concatenated message body exceeds the 1600 character limit.')],
    [{ ...TEXT, StatusCallback: '/relative' }, twilioError(400, 21609, 'The StatusCallback URL /relative is not a valid URL.')],
  ];
  for (const [params, expected] of cases) {
    const answer = await post(standIn, 'Messages', params);
    t.is(answer.status, 400, JSON.stringify(params));
    t.deepEqual(answer.body, expected);
  }
  t.deepEqual(standIn.messages, []);
  t.deepEqual(
    standIn.requests.map((request) => request.errorCode),
    cases.map(([, expected]) => expected.code),
  );
});

test("Calls.json answers Twilio's error for each rule broken, and creates nothing", async (t) => {
  const standIn = await startStandIn(t);
  const { To: _to, ...withoutTo } = CALL;
  const { From: _from, ...withoutFrom } = CALL;
  const { Url: _url, ...withoutUrl } = CALL;
  const cases: Array<[Record<string, string>, TwilioErrorBody]> = [
    [withoutTo, twilioError(400, 21201, "No 'To' number is specified")],
    [withoutFrom, twilioError(400, 21213, "No 'From' number is specified")],
    [withoutUrl, twilioError(400, 21205, 'Url parameter is required.')],
    [{ ...CALL, To: 'owner' }, twilioError(400, 21211, "The 'To' number owner is not a valid phone number.")],
    [{ ...CALL, From: '8135550100' }, twilioError(400, 21212, "The 'From' number 8135550100 is not a valid phone number.")],
    [{ ...CALL, Url: 'ftp://beckon.example.com/twiml' }, twilioError(400, 21205, 'Url is not a valid URL: ftp://beckon.example.com/twiml')],
  ];
  for (const [params, expected] of cases) {
    const answer = await post(standIn, 'Calls', params);
    t.is(answer.status, 400, JSON.stringify(params));
    t.deepEqual(answer.body, expected);
  }
  t.deepEqual(standIn.calls, []);
});

test('anything but the two create endpoints is a 404 (or a 405 for another method) in Twilio error shape', async (t) => {
  const standIn = await startStandIn(t);
  const auth = { authorization: basic(ACCOUNT_SID, AUTH_TOKEN) };
  const notFound = await fetch(`${standIn.url}/2010-04-01/Accounts/${ACCOUNT_SID}/Recordings.json`, { headers: auth });
  t.is(notFound.status, 404);
  t.deepEqual(await notFound.json(), twilioError(404, 20404, 'The requested resource was not found'));
  const listing = await fetch(`${standIn.url}/2010-04-01/Accounts/${ACCOUNT_SID}/Messages.json`, { headers: auth });
  t.is(listing.status, 405);
  t.like(await listing.json(), { code: 20004, status: 405 });
});

test('a text is created: 201 with the Message resource, recorded with its parameters', async (t) => {
  const standIn = await startStandIn(t);
  const statusCallback = `${PUBLIC_URL}/webhooks/twilio/sms/status`;
  const answer = await post(standIn, 'Messages', { ...TEXT, StatusCallback: statusCallback });
  t.is(answer.status, 201);
  const resource = answer.body as Record<string, unknown>;
  t.regex(String(resource.sid), /^SM[0-9a-f]{32}$/);
  t.like(resource, {
    account_sid: ACCOUNT_SID,
    api_version: '2010-04-01',
    to: CALLER,
    from: BUSINESS,
    body: TEXT.Body,
    status: 'queued',
    direction: 'outbound-api',
    num_segments: '1',
    num_media: '0',
    error_code: null,
    uri: `/2010-04-01/Accounts/${ACCOUNT_SID}/Messages/${String(resource.sid)}.json`,
  });
  t.regex(
    String(resource.date_created),
    /^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} \+0000$/,
    'RFC 2822, as Twilio writes dates',
  );

  t.is(standIn.messages.length, 1);
  t.like(standIn.messages[0], {
    sid: resource.sid,
    to: CALLER,
    from: BUSINESS,
    body: TEXT.Body,
    statusCallback,
    messagingServiceSid: null,
  });
  t.deepEqual(standIn.messages[0]?.resource, resource);
  t.like(standIn.requests[0], { method: 'POST', route: 'messages', authorized: true, status: 201, errorCode: null, fault: false });
  t.deepEqual(standIn.requests[0]?.params, { ...TEXT, StatusCallback: statusCallback });
});

test('a long or non-GSM text counts its segments as Twilio bills them', async (t) => {
  const standIn = await startStandIn(t);
  const segments = async (body: string) =>
    ((await post(standIn, 'Messages', { ...TEXT, Body: body })).body as { num_segments: string }).num_segments;
  t.is(await segments('a'.repeat(160)), '1');
  t.is(await segments('a'.repeat(161)), '2');
  t.is(await segments(`${'a'.repeat(158)}€`), '1', '€ takes two septets: 160 in all');
  t.is(await segments(`${'a'.repeat(159)}€`), '2', '€ takes two septets: 161 in all');
  t.is(await segments('é'.repeat(160)), '1', 'é is in the GSM alphabet');
  t.is(await segments('ł'.repeat(70)), '1');
  t.is(await segments('ł'.repeat(71)), '2', 'outside GSM-7, 70 UCS-2 characters fit one segment');
});

test('a call is created: 201 with the Call resource, recorded with its URL, callbacks and timeout', async (t) => {
  const standIn = await startStandIn(t);
  const statusCallback = `${PUBLIC_URL}/webhooks/twilio/call/progress`;
  const answer = await post(standIn, 'Calls', {
    ...CALL,
    StatusCallback: statusCallback,
    StatusCallbackEvent: ['initiated', 'answered', 'completed'],
    Timeout: '20',
  });
  t.is(answer.status, 201);
  const resource = answer.body as Record<string, unknown>;
  t.regex(String(resource.sid), /^CA[0-9a-f]{32}$/);
  t.like(resource, {
    account_sid: ACCOUNT_SID,
    to: OWNER,
    to_formatted: '(813) 555-0199',
    from: BUSINESS,
    status: 'queued',
    direction: 'outbound-api',
    uri: `/2010-04-01/Accounts/${ACCOUNT_SID}/Calls/${String(resource.sid)}.json`,
  });
  t.is(standIn.calls.length, 1);
  t.like(standIn.calls[0], {
    sid: resource.sid,
    to: OWNER,
    from: BUSINESS,
    url: CALL.Url,
    method: 'POST',
    twiml: null,
    statusCallback,
    timeout: 20,
  });
  t.deepEqual(standIn.calls[0]?.statusCallbackEvents, ['initiated', 'answered', 'completed']);

  const inline = await post(standIn, 'Calls', {
    To: OWNER,
    From: BUSINESS,
    Twiml: `<Response><Dial callerId="${BUSINESS}"><Number>${CALLER}</Number></Dial></Response>`,
  });
  t.is(inline.status, 201);
  t.like(standIn.calls[1], {
    url: null,
    twiml: `<Response><Dial callerId="${BUSINESS}"><Number>${CALLER}</Number></Dial></Response>`,
    timeout: null,
  });
});

// The rules of twilio-oai (test/fixtures/twilio-oai-rules.ts), enforced by the stand-in.
const COMPLETE_REQUESTS: Record<string, Record<string, string>> = {
  CreateMessage: { ...TEXT, MessagingServiceSid: `MG${HEX32}`, MediaUrl: 'https://beckon.example.com/logo.png', ContentSid: `HX${HEX32}` },
  CreateCall: { ...CALL, Twiml: '<Response><Say>Hello</Say></Response>', ApplicationSid: `AP${HEX32}` },
};

for (const operation of [CREATE_MESSAGE, CREATE_CALL]) {
  const resource = operation === CREATE_MESSAGE ? 'Messages' : 'Calls';
  const complete = COMPLETE_REQUESTS[operation.operationId] ?? {};
  const conditionalNames = (group: readonly string[]) => group.map(toFormName);
  const without = (names: readonly string[]) => Object.fromEntries(Object.entries(complete).filter(([name]) => !names.includes(name)));

  test(`twilio-oai ${operation.operationId}: a complete request is ${operation.successStatus}, answered with exactly the schema's properties`, async (t) => {
    const standIn = await startStandIn(t);
    t.regex(standIn.accountSid, ACCOUNT_SID_PATTERN);
    t.true(standIn.url.length > 0 && operation.path.replace('{AccountSid}', ACCOUNT_SID).endsWith(`/${resource}.json`));
    const answer = await post(standIn, resource, complete);
    t.is(answer.status, operation.successStatus);
    t.regex(answer.headers.get('content-type') ?? '', /^application\/json/);
    const body = answer.body as Record<string, unknown>;
    t.deepEqual(Object.keys(body).sort(), [...operation.responseProperties].sort());
    t.true(operation.statusEnum.includes(String(body.status)), `status ${String(body.status)} is one of the spec's`);
  });

  test(`twilio-oai ${operation.operationId}: each required parameter (${operation.required.join(', ')}) missing is a 400`, async (t) => {
    const standIn = await startStandIn(t);
    for (const name of operation.required) {
      const answer = await post(standIn, resource, without([name]));
      t.is(answer.status, 400, `without ${name}`);
      t.like(answer.body, { status: 400 });
    }
    t.is(standIn.messages.length + standIn.calls.length, 0);
  });

  test(`twilio-oai ${operation.operationId}: of each x-twilio.conditional group none is a 400, any one alone is enough`, async (t) => {
    const standIn = await startStandIn(t);
    for (const group of operation.conditional.map(conditionalNames)) {
      const answer = await post(standIn, resource, without(group));
      t.is(answer.status, 400, `none of ${group.join(', ')}`);
      for (const name of group) {
        const alone = await post(standIn, resource, without(group.filter((member) => member !== name)));
        t.is(alone.status, 201, `${name} alone`);
      }
    }
  });
}

test('startTwilioStandIn refuses an AccountSid of the wrong shape and an empty token', async (t) => {
  await t.throwsAsync(startTwilioStandIn({ accountSid: 'AC123', authToken: AUTH_TOKEN }), { instanceOf: TypeError });
  await t.throwsAsync(startTwilioStandIn({ accountSid: `SK${HEX32}`, authToken: AUTH_TOKEN }), { instanceOf: TypeError });
  await t.throwsAsync(startTwilioStandIn({ accountSid: ACCOUNT_SID, authToken: '' }), { instanceOf: TypeError });
});

test('a fault answers its status in Twilio error shape the given number of times, then requests go through', async (t) => {
  const standIn = await startStandIn(t);
  standIn.inject({ route: 'messages', status: 503, times: 2 });
  standIn.inject({ route: 'calls', status: 429, code: 20429, message: 'Too Many Requests' });
  t.deepEqual((await post(standIn, 'Messages', TEXT)).body, twilioError(503, 20503, 'Service Unavailable'));
  t.is((await post(standIn, 'Messages', TEXT)).status, 503);
  t.is((await post(standIn, 'Messages', TEXT)).status, 201);
  t.deepEqual((await post(standIn, 'Calls', CALL)).body, twilioError(429, 20429, 'Too Many Requests'));
  t.is((await post(standIn, 'Calls', CALL)).status, 201);
  t.is(standIn.messages.length, 1);
  t.is(standIn.calls.length, 1);
  t.deepEqual(
    standIn.requests.map((request) => [request.route, request.status, request.fault]),
    [
      ['messages', 503, true],
      ['messages', 503, true],
      ['messages', 201, false],
      ['calls', 429, true],
      ['calls', 201, false],
    ],
  );
});

test('a delay fault answers late and then creates the text; a drop closes the connection and creates nothing', async (t) => {
  const standIn = await startStandIn(t);
  standIn.inject({ route: 'messages', delayMs: 400 });
  const started = performance.now();
  t.is((await post(standIn, 'Messages', TEXT)).status, 201);
  t.true(performance.now() - started >= 390, 'answered after the delay');

  standIn.inject({ drop: true });
  await t.throwsAsync(post(standIn, 'Messages', TEXT));
  t.is(standIn.messages.length, 1, 'the dropped text was not created');
  t.like(standIn.requests.at(-1), { fault: true, status: null });
});

test('reset forgets requests, texts, calls and faults; invalid faults are refused', async (t) => {
  const standIn = await startStandIn(t);
  await post(standIn, 'Messages', TEXT);
  await post(standIn, 'Calls', CALL);
  standIn.inject({ status: 500, times: Infinity });
  standIn.reset();
  t.deepEqual([standIn.requests, standIn.messages, standIn.calls], [[], [], []]);
  t.is((await post(standIn, 'Messages', TEXT)).status, 201, 'the fault is gone');
  t.throws(() => standIn.inject({ route: 'messages' }), { instanceOf: TypeError });
  t.throws(() => standIn.inject({ status: 200 }), { instanceOf: TypeError });
  t.throws(() => standIn.inject({ status: 500, drop: true }), { instanceOf: TypeError });
});

test('close ends the stand-in: the next request is refused', async (t) => {
  const standIn = await startStandIn(t);
  await standIn.close();
  await t.throwsAsync(post(standIn, 'Messages', TEXT));
});

/** What a tiny stand-in for Beckon received from the driver, each request's signature checked with signature.ts. */
interface Received {
  method: string;
  path: string;
  params: Record<string, string | string[]>;
  genuine: boolean;
}

/**
 * A Koa app answering the webhooks of a Twilio number as Beckon would, reached at 127.0.0.1 while
 * Twilio believes it requests `publicUrl`: the URL checked is `publicUrl` + the request's path and query.
 */
async function startReceiver(
  t: ExecutionContext,
  answers: { call?: (params: Record<string, string | string[]>) => { type: string; body: string }; publicUrl?: string } = {},
): Promise<{ url: string; received: Received[] }> {
  const publicUrl = answers.publicUrl ?? PUBLIC_URL;
  const received: Received[] = [];
  const app = new Koa();
  app.use(async (ctx) => {
    const chunks: Buffer[] = [];
    for await (const chunk of ctx.req) chunks.push(chunk as Buffer);
    const posted = ctx.method === 'POST' ? parseTwilioForm(Buffer.concat(chunks)) : {};
    const genuine = verifyTwilioSignature({
      authToken: AUTH_TOKEN,
      signature: ctx.get('X-Twilio-Signature'),
      url: twilioWebhookUrl(publicUrl, ctx.url),
      params: posted,
    });
    const params = ctx.method === 'POST' ? posted : parseTwilioForm(ctx.querystring);
    received.push({ method: ctx.method, path: ctx.path, params, genuine });
    if (!genuine) {
      ctx.status = 403;
      return;
    }
    const callSid = String(params.CallSid);
    if (ctx.path === '/webhooks/twilio/call') {
      const answer = answers.call?.(params) ?? {
        type: 'text/xml',
        body: `<?xml version="1.0" encoding="UTF-8"?><Response><Dial timeout="20" action="/webhooks/twilio/call/status/${callSid}" method="POST"><Number>${OWNER}</Number></Dial></Response>`,
      };
      ctx.type = answer.type;
      ctx.body = answer.body;
    } else if (ctx.path.startsWith('/webhooks/twilio/call/status/')) {
      ctx.type = 'text/xml';
      ctx.body = '<Response><Say>Sorry, nobody could take your call. We will text you.</Say><Hangup/></Response>';
    } else if (ctx.path === '/webhooks/twilio/sms') {
      ctx.type = 'text/xml';
      ctx.body = '<Response/>';
    } else if (ctx.path.startsWith('/status/')) {
      // A status callback: Twilio reads only the status.
      ctx.body = '';
    } else ctx.status = 404;
  });
  const { url } = await serveForTest(t, app.callback());
  return { url, received };
}

const FOLLOWED: DialCallStatus[] = ['no-answer', 'busy', 'failed', 'canceled', 'completed'];

for (const dialCallStatus of FOLLOWED) {
  test(`driver, DialCallStatus ${dialCallStatus}: a signed ringing webhook, the <Dial> followed to its action with a signed callback`, async (t) => {
    const standIn = await startStandIn(t);
    const beckon = await startReceiver(t);
    const call = await standIn.placeCall({
      voiceUrl: `${beckon.url}/webhooks/twilio/call`,
      signingUrl: `${PUBLIC_URL}/webhooks/twilio/call`,
      from: CALLER,
      to: BUSINESS,
      dialCallStatus,
    });

    t.regex(call.callSid, /^CA[0-9a-f]{32}$/);
    t.deepEqual(
      beckon.received.map((request) => [request.method, request.path, request.genuine]),
      [
        ['POST', '/webhooks/twilio/call', true],
        ['POST', `/webhooks/twilio/call/status/${call.callSid}`, true],
      ],
    );
    const [ringing, action] = beckon.received;
    t.like(ringing?.params, {
      AccountSid: ACCOUNT_SID,
      ApiVersion: '2010-04-01',
      CallSid: call.callSid,
      CallStatus: 'ringing',
      Direction: 'inbound',
      From: CALLER,
      Caller: CALLER,
      To: BUSINESS,
      Called: BUSINESS,
      FromCountry: 'US',
    });
    const talked = dialCallStatus === 'completed';
    t.like(action?.params, {
      CallSid: call.callSid,
      From: CALLER,
      To: BUSINESS,
      DialCallStatus: dialCallStatus,
      DialCallDuration: talked ? '42' : '0',
      DialCallSid: call.dial?.dialCallSid,
      CallStatus: dialCallStatus === 'canceled' ? 'completed' : 'in-progress',
    });
    t.regex(String(action?.params.DialCallSid), /^CA[0-9a-f]{32}$/);
    t.not(action?.params.DialCallSid, call.callSid, 'the forwarded leg is a call of its own');

    t.like(call.voice, { status: 200, url: `${PUBLIC_URL}/webhooks/twilio/call`, sentTo: `${beckon.url}/webhooks/twilio/call` });
    t.is(call.voice.problem, undefined);
    t.deepEqual(call.dial && { numbers: call.dial.numbers, timeout: call.dial.timeout, method: call.dial.method }, {
      numbers: [OWNER],
      timeout: 20,
      method: 'POST',
    });
    t.like(call.action, { status: 200, url: `${PUBLIC_URL}/webhooks/twilio/call/status/${call.callSid}` });
    t.deepEqual(
      call.action?.twiml?.children.map((verb) => verb.name),
      ['Say', 'Hangup'],
    );
  });
}

test('driver: Beckon refusing the signature (a driver with another token) is a 403, and no Dial is followed', async (t) => {
  const standIn = await startStandIn(t, { authToken: 'a-different-auth-token' });
  const beckon = await startReceiver(t);
  const call = await standIn.placeCall({
    voiceUrl: `${beckon.url}/webhooks/twilio/call`,
    signingUrl: `${PUBLIC_URL}/webhooks/twilio/call`,
    from: CALLER,
    to: BUSINESS,
    dialCallStatus: 'no-answer',
  });
  t.is(call.voice.status, 403);
  t.is(call.voice.problem, '11200 HTTP retrieval failure: status 403');
  t.is(call.dial, undefined);
  t.is(beckon.received.length, 1);
  t.false(beckon.received[0]?.genuine);
});

test('driver: signed for the URL Beckon was reached at (no signingUrl) does not verify against PUBLIC_URL', async (t) => {
  const standIn = await startStandIn(t);
  const beckon = await startReceiver(t);
  const call = await standIn.placeCall({
    voiceUrl: `${beckon.url}/webhooks/twilio/call`,
    from: CALLER,
    to: BUSINESS,
    dialCallStatus: 'busy',
  });
  t.is(call.voice.status, 403);
  t.is(call.voice.url, `${beckon.url}/webhooks/twilio/call`);
});

test('driver: a <Dial method=GET> with an absolute action under a PUBLIC_URL path prefix is requested there with the parameters in its query', async (t) => {
  const standIn = await startStandIn(t);
  const publicUrl = 'https://example.com/beckon';
  const beckon = await startReceiver(t, {
    publicUrl,
    call: (params) => ({
      type: 'application/xml',
      body: `<Response><Say>One moment</Say><Dial method="GET" action="${publicUrl}/webhooks/twilio/call/status/${String(params.CallSid)}?attempt=1" callerId="${BUSINESS}">${OWNER}</Dial></Response>`,
    }),
  });
  const call = await standIn.placeCall({
    voiceUrl: `${beckon.url}/webhooks/twilio/call`,
    signingUrl: `${publicUrl}/webhooks/twilio/call`,
    from: CALLER,
    to: BUSINESS,
    dialCallStatus: 'no-answer',
  });
  t.like(call.dial, {
    numbers: [OWNER],
    method: 'GET',
    callerId: BUSINESS,
    action: `${publicUrl}/webhooks/twilio/call/status/${call.callSid}?attempt=1`,
  });
  t.is(call.action?.status, 200);
  const action = beckon.received[1];
  t.like(action, { method: 'GET', path: `/webhooks/twilio/call/status/${call.callSid}`, genuine: true });
  t.like(action?.params, { attempt: '1', DialCallStatus: 'no-answer', CallSid: call.callSid });
  t.true(call.action?.sentTo.startsWith(`${beckon.url}/webhooks/twilio/call/status/${call.callSid}?attempt=1&`));
});

test('driver: an answer Twilio cannot use is reported with its error code, and nothing is followed', async (t) => {
  const standIn = await startStandIn(t);
  const answers = [
    { type: 'application/json', body: '{"status":"ok"}', problem: /^12300 Invalid Content-Type: application\/json/ },
    { type: 'text/xml', body: '<Response><Dial action="/x">', problem: /^12100 Document parse failure: <Dial> is never closed/ },
    { type: 'text/xml', body: '<Reply/>', problem: /^12100 Document parse failure: The root element is <Reply>/ },
    { type: 'text/xml', body: '', problem: /^12100 Document parse failure: The document is empty/ },
  ];
  for (const answer of answers) {
    const beckon = await startReceiver(t, { call: () => answer });
    const call = await standIn.placeCall({
      voiceUrl: `${beckon.url}/webhooks/twilio/call`,
      signingUrl: `${PUBLIC_URL}/webhooks/twilio/call`,
      from: CALLER,
      to: BUSINESS,
      dialCallStatus: 'no-answer',
    });
    t.regex(call.voice.problem ?? '', answer.problem);
    t.is(call.action, undefined);
    t.is(beckon.received.length, 1);
  }
});

test('driver: a <Dial> without action is reported, and Twilio requests nothing more', async (t) => {
  const standIn = await startStandIn(t);
  const beckon = await startReceiver(t, {
    call: () => ({
      type: 'text/xml',
      body: `<Response><Dial timeout="15"><Number>${OWNER}</Number><Number>+18135550198</Number></Dial></Response>`,
    }),
  });
  const call = await standIn.placeCall({
    voiceUrl: `${beckon.url}/webhooks/twilio/call`,
    signingUrl: `${PUBLIC_URL}/webhooks/twilio/call`,
    from: CALLER,
    to: BUSINESS,
    dialCallStatus: 'no-answer',
  });
  t.like(call.dial, { numbers: [OWNER, '+18135550198'], timeout: 15 });
  t.is(call.dial?.action, undefined);
  t.is(call.action, undefined);
  t.is(beckon.received.length, 1);
});

test('driver: a Beckon that does not answer in time is a retrieval failure, not a rejection', async (t) => {
  const standIn = await startStandIn(t);
  const { url } = await serveForTest(t, () => undefined);
  const call = await standIn.placeCall({
    voiceUrl: `${url}/webhooks/twilio/call`,
    from: CALLER,
    to: BUSINESS,
    dialCallStatus: 'no-answer',
    timeoutMs: 300,
  });
  t.is(call.voice.status, null);
  t.regex(call.voice.problem ?? '', /^11200 HTTP retrieval failure/);
});

test('driver: an incoming STOP text is a signed Messaging webhook; an empty TwiML answer is fine', async (t) => {
  const standIn = await startStandIn(t);
  const beckon = await startReceiver(t);
  const sms = await standIn.sendSms({
    smsUrl: `${beckon.url}/webhooks/twilio/sms`,
    signingUrl: `${PUBLIC_URL}/webhooks/twilio/sms`,
    from: CALLER,
    to: BUSINESS,
    body: 'STOP',
  });
  t.regex(sms.messageSid, /^SM[0-9a-f]{32}$/);
  t.like(beckon.received[0], { method: 'POST', path: '/webhooks/twilio/sms', genuine: true });
  t.like(beckon.received[0]?.params, {
    AccountSid: ACCOUNT_SID,
    MessageSid: sms.messageSid,
    SmsSid: sms.messageSid,
    SmsStatus: 'received',
    From: CALLER,
    To: BUSINESS,
    Body: 'STOP',
    NumMedia: '0',
  });
  t.like(sms.webhook, { status: 200 });
  t.is(sms.webhook.problem, undefined);
  t.is(sms.webhook.twiml?.name, 'Response');
});

test("driver options are checked: URLs must be absolute http(s), the DialCallStatus one of Twilio's", async (t) => {
  const standIn = await startStandIn(t);
  await t.throwsAsync(standIn.placeCall({ voiceUrl: '/webhooks/twilio/call', from: CALLER, to: BUSINESS, dialCallStatus: 'no-answer' }), {
    instanceOf: TypeError,
  });
  await t.throwsAsync(
    standIn.placeCall({ voiceUrl: 'http://127.0.0.1:1/x', from: CALLER, to: BUSINESS, dialCallStatus: 'voicemail' as DialCallStatus }),
    { instanceOf: TypeError },
  );
  await t.throwsAsync(standIn.sendSms({ smsUrl: 'ftp://127.0.0.1/x', from: CALLER, to: BUSINESS, body: 'STOP' }), {
    instanceOf: TypeError,
  });
});

/** A call created as Beckon's Twilio click-to-call creates one: inline TwiML dialling the visitor, both legs reporting. */
function clickToCall(numberEvents: string, callEvents: string[]): Record<string, string | string[]> {
  return {
    To: OWNER,
    From: BUSINESS,
    Twiml: `<Response><Dial callerId="${BUSINESS}"><Number statusCallback="${PUBLIC_URL}/status/visitor?id=shop&amp;x=1" statusCallbackEvent="${numberEvents}">${CALLER}</Number></Dial></Response>`,
    StatusCallback: `${PUBLIC_URL}/status/business?id=shop`,
    StatusCallbackEvent: callEvents,
  };
}

test('driver, a created call: the business answers, the <Number> leg rings and answers; each leg posts its signed status callbacks in order', async (t) => {
  const standIn = await startStandIn(t);
  const beckon = await startReceiver(t);
  const created = await post(standIn, 'Calls', clickToCall('initiated ringing answered completed', ['ringing', 'completed']));
  t.is(created.status, 201);
  const sid = (created.body as { sid: string }).sid;
  const played = await standIn.playCall(sid, { answer: 'answered', dialed: 'answered', publicUrl: PUBLIC_URL, beckonUrl: beckon.url });

  t.deepEqual(
    beckon.received.map((request) => [request.path, request.params.CallStatus, request.params.SequenceNumber, request.genuine]),
    [
      ['/status/business', 'ringing', '0', true],
      ['/status/visitor', 'initiated', '0', true],
      ['/status/visitor', 'ringing', '1', true],
      ['/status/visitor', 'in-progress', '2', true],
      ['/status/visitor', 'completed', '3', true],
      ['/status/business', 'completed', '1', true],
    ],
  );
  t.deepEqual(played.dialed, [{ number: CALLER, callSid: played.dialed[0]!.callSid, callerId: BUSINESS }]);
  const visitorLeg = beckon.received[4]!.params;
  t.like(visitorLeg, {
    AccountSid: ACCOUNT_SID,
    CallSid: played.dialed[0]!.callSid,
    ParentCallSid: sid,
    Direction: 'outbound-dial',
    From: BUSINESS,
    To: CALLER,
    CallbackSource: 'call-progress-events',
    CallDuration: '42',
  });
  t.regex(String(visitorLeg.Timestamp), /^\w{3}, \d{2} \w{3} \d{4} \d\d:\d\d:\d\d \+0000$/);
  t.like(beckon.received[5]!.params, { CallSid: sid, Direction: 'outbound-api', From: BUSINESS, To: OWNER });
  t.false('ParentCallSid' in beckon.received[5]!.params);
  t.true(played.statusCallbacks.every((sent) => sent.status === 200 && sent.problem === undefined));
  // The query Beckon put in the URL is kept (and signed) as written.
  t.true(played.statusCallbacks[1]!.url.endsWith('/status/visitor?id=shop&x=1'));
});

test('driver, a created call: a business that does not answer never rings the <Number>; a busy visitor never rings; unknown SIDs are refused', async (t) => {
  const standIn = await startStandIn(t);
  const beckon = await startReceiver(t);
  const first = await post(standIn, 'Calls', clickToCall('initiated ringing answered completed', ['completed']));
  const unanswered = await standIn.playCall((first.body as { sid: string }).sid, {
    answer: 'no-answer',
    publicUrl: PUBLIC_URL,
    beckonUrl: beckon.url,
  });
  t.deepEqual(unanswered.dialed, []);
  t.deepEqual(
    beckon.received.map((request) => [request.path, request.params.CallStatus]),
    [['/status/business', 'no-answer']],
  );

  // Only `completed` asked of the <Number>: a busy line reports just how it ended.
  const second = await post(standIn, 'Calls', clickToCall('completed', ['completed']));
  await standIn.playCall((second.body as { sid: string }).sid, {
    answer: 'answered',
    dialed: 'busy',
    publicUrl: PUBLIC_URL,
    beckonUrl: beckon.url,
  });
  t.deepEqual(
    beckon.received.slice(1).map((request) => [request.path, request.params.CallStatus]),
    [
      ['/status/visitor', 'busy'],
      ['/status/business', 'completed'],
    ],
  );
  await t.throwsAsync(standIn.playCall(`CA${HEX32}`, { answer: 'answered' }), { instanceOf: TypeError });
});
