import { createNsClient } from '@beckon/ns-client';
import test, { type ExecutionContext } from 'ava';
import { placementFor } from '../src/callbacks/placement.js';
import { createTwilioClient } from '../src/providers/twilio/client.js';
import { DIAL_STATUS_PATH } from '../src/providers/twilio/originate.js';
import { signTwilioRequest } from '../src/providers/twilio/signature.js';
import {
  parseTwiml,
  startTwilioStandIn,
  type LegOutcome,
  type TwilioPlayedCall,
  type TwilioStandIn,
} from '../src/providers/twilio/stand-in/index.js';
import { createLogger, migrate, openDatabase, type Database, type Engine, type Tenants } from '../src/index.js';
import { databaseFixture, ENGINES } from './fixtures/databases.js';
import { eventually, startHarness, TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, type Harness } from './helpers.js';

/**
 * Live status of a Twilio click-to-call, end to end over real HTTP: Beckon places the call through the
 * Twilio stand-in (business first, inline TwiML dialling the visitor), the stand-in plays it — the
 * business answers or not, the visitor's leg rings and answers or not — and posts each leg's signed
 * status callbacks to `POST /webhooks/twilio/dial-status`, which moves the callback; the status stream
 * (SSE) shows it. On PostgreSQL the stream is held by a second instance, so each status crosses
 * LISTEN/NOTIFY.
 */

const databases = databaseFixture(test);
const ID = 'shop-main';
const SHOP = '+19295550100';
const OWNER = '+18135550199';
const VISITOR = '+18135551234';
/** The harness's PUBLIC_URL: the address Twilio is given (and signs), which the stand-in maps to the harness. */
const PUBLIC_URL = 'http://beckon.test';
const TENANTS: Tenants = { [ID]: { provider: 'twilio', twilio: { numbers: [SHOP], forward_to: OWNER } } };

interface Setup {
  placing: Harness;
  streaming: Harness;
  twilio: TwilioStandIn;
  db: Database;
  /** A click-to-call now: the callback, and the SID of the call Twilio was asked to make. */
  call(): Promise<{ callback_id: string; status_token: string; callSid: string }>;
  play(callSid: string, answer: LegOutcome, dialed?: LegOutcome): Promise<TwilioPlayedCall>;
  statuses(callbackId: string): Promise<string[]>;
}

async function setup(t: ExecutionContext, engine: Engine): Promise<Setup> {
  const settings = await databases.settings(t, engine);
  const db = await openDatabase(settings, { logger: createLogger('silent') });
  t.teardown(() => db.close());
  await migrate(db, { logger: createLogger('silent') });
  const placing = await startHarness({ db, twilio: true, tenants: TENANTS, publicUrl: PUBLIC_URL });
  t.teardown(() => placing.close());
  let streaming = placing;
  if (engine === 'postgres') {
    const other = await openDatabase(settings, { logger: createLogger('silent') });
    t.teardown(() => other.close());
    streaming = await startHarness({ db: other, tenants: TENANTS, publicUrl: PUBLIC_URL });
    t.teardown(() => streaming.close());
  }
  const twilio = placing.twilio!;
  return {
    placing,
    streaming,
    twilio,
    db,
    async call() {
      const response = await placing.post('/click-to-call', { id: ID, phone_number: VISITOR });
      t.is(response.status, 200);
      const body = (await response.json()) as { callback_id: string; status_token: string };
      const created = twilio.calls.at(-1)!;
      return { ...body, callSid: created.sid };
    },
    play: (callSid, answer, dialed) => twilio.playCall(callSid, { answer, dialed, publicUrl: PUBLIC_URL, beckonUrl: placing.url }),
    async statuses(callbackId) {
      const { rows } = await db.query<{ status: string }>('SELECT status FROM callback_events WHERE callback_id = $1 ORDER BY id', [
        callbackId,
      ]);
      return rows.map((row) => row.status);
    },
  };
}

/** Reads a status stream to its end (or `timeoutMs`): the statuses it sent, and whether the server ended it. */
/** `onFirst`: called once the first status has arrived (the stream is open and has sent where the callback is). */
async function readStatuses(url: string, onFirst?: () => void, timeoutMs = 15_000): Promise<{ statuses: string[]; ended: boolean }> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), timeoutMs);
  let text = '';
  let ended = false;
  try {
    const response = await fetch(url, { signal: abort.signal });
    const decoder = new TextDecoder();
    for await (const chunk of response.body!) {
      text += decoder.decode(chunk as Uint8Array, { stream: true });
      if (/^data: /m.test(text)) onFirst?.();
    }
    ended = true;
  } catch {
    // Timed out: `ended` stays false.
  } finally {
    clearTimeout(timer);
  }
  const statuses = [...text.matchAll(/^data: (.*)$/gm)].map((match) => (JSON.parse(match[1]!) as { status: string }).status);
  return { statuses, ended };
}

const streamUrl = (harness: Harness, callback: { callback_id: string; status_token: string }) =>
  `${harness.url}/click-to-call/${callback.callback_id}/events?token=${callback.status_token}`;

/** Posts one of Twilio's status callbacks again, exactly as it was sent (same URL, form and signature). */
async function redeliver(harness: Harness, exchange: TwilioPlayedCall['statusCallbacks'][number]): Promise<Response> {
  return fetch(`${harness.url}${exchange.url.slice(PUBLIC_URL.length)}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': exchange.signature },
    body: new URLSearchParams(exchange.params).toString(),
  });
}

for (const engine of ENGINES) {
  // Each PGlite holds the process's event loop while it starts, long enough to time out another test's
  // request to the sandbox (NetSapiens answering in this same process): one PGlite test at a time.
  const engineTest = engine === 'pglite' ? test.serial : test;
  engineTest(
    `${engine}: the business answers, the visitor answers and hangs up: the stream shows queued → ringing → answered → ended`,
    async (t) => {
      const { streaming, twilio, call, play, db } = await setup(t, engine);
      const callback = await call();

      // What Twilio was asked: the business's leg reports its end, the visitor's leg each step.
      const [created] = twilio.calls;
      const statusUrl = `${PUBLIC_URL}${DIAL_STATUS_PATH}?id=${ID}`;
      t.like(created, { to: OWNER, from: SHOP, statusCallback: statusUrl, statusCallbackEvents: ['completed'] });
      const number = parseTwiml(created!.twiml!).children[0]!.children[0]!;
      t.deepEqual(number.attributes, { statusCallback: statusUrl, statusCallbackEvent: 'initiated ringing answered completed' });
      t.is(number.text, VISITOR);
      const { rows } = await db.query<{ provider_call_sid: string }>('SELECT provider_call_sid FROM callbacks WHERE id = $1', [
        callback.callback_id,
      ]);
      t.is(rows[0]?.provider_call_sid, callback.callSid, "the call's SID is kept with the callback");

      // The call is played once the stream has its first status: opened later (on a loaded machine), it
      // would start from the callback's status at that moment, not from `queued`.
      let opened!: () => void;
      const first = new Promise<void>((resolve) => (opened = resolve));
      const stream = readStatuses(streamUrl(streaming, callback), opened);
      await Promise.race([first, stream]);
      const played = await play(callback.callSid, 'answered', 'answered');
      t.deepEqual(
        played.statusCallbacks.map((sent) => [sent.leg, sent.params.CallStatus, sent.status, sent.problem]),
        [
          ['dialed', 'initiated', 200, undefined],
          ['dialed', 'ringing', 200, undefined],
          ['dialed', 'in-progress', 200, undefined],
          ['dialed', 'completed', 200, undefined],
          ['parent', 'completed', 200, undefined],
        ],
      );
      t.true(played.statusCallbacks.every((sent) => sent.body === ''));
      const { statuses, ended } = await stream;
      t.deepEqual(statuses, ['queued', 'ringing', 'answered', 'ended']);
      t.true(ended, 'the stream ends after the final status');
    },
  );

  engineTest(`${engine}: a visitor who is busy or does not answer ends as no-answer; a failed visitor leg as failed`, async (t) => {
    const { call, play, statuses } = await setup(t, engine);
    const expected: [LegOutcome, string[]][] = [
      ['no-answer', ['queued', 'ringing', 'no-answer']],
      ['busy', ['queued', 'no-answer']],
      ['failed', ['queued', 'failed']],
    ];
    for (const [dialed, history] of expected) {
      const callback = await call();
      await play(callback.callSid, 'answered', dialed);
      t.deepEqual(await statuses(callback.callback_id), history, dialed);
    }
  });

  engineTest(`${engine}: a business that never answers (or whose call fails) ends the visitor's callback too`, async (t) => {
    const { call, play, statuses } = await setup(t, engine);
    const expected: [LegOutcome, string][] = [
      ['no-answer', 'no-answer'],
      ['busy', 'no-answer'],
      ['failed', 'failed'],
    ];
    for (const [answer, final] of expected) {
      const callback = await call();
      const played = await play(callback.callSid, answer);
      t.deepEqual(played.dialed, [], 'the visitor is never rung');
      t.deepEqual(await statuses(callback.callback_id), ['queued', final], answer);
    }
  });

  engineTest(`${engine}: a status callback delivered again, or late after a later one, changes nothing`, async (t) => {
    const { placing, call, play, statuses } = await setup(t, engine);
    const callback = await call();
    const played = await play(callback.callSid, 'answered', 'answered');
    t.deepEqual(await statuses(callback.callback_id), ['queued', 'ringing', 'answered', 'ended']);
    for (const sent of played.statusCallbacks) {
      const again = await redeliver(placing, sent);
      t.is(again.status, 200, String(sent.params.CallStatus));
    }
    t.deepEqual(await statuses(callback.callback_id), ['queued', 'ringing', 'answered', 'ended']);
  });

  engineTest(`${engine}: a status callback without Twilio's signature is refused before anything is read or stored`, async (t) => {
    const { placing, call, statuses } = await setup(t, engine);
    const callback = await call();
    const path = `${DIAL_STATUS_PATH}?id=${ID}`;
    const form = {
      CallSid: `CA${'1'.repeat(32)}`,
      ParentCallSid: callback.callSid,
      CallStatus: 'in-progress',
      AccountSid: TWILIO_ACCOUNT_SID,
    };
    const attempts: [string, Record<string, string>][] = [
      ['no signature', {}],
      ['signed with another token', { 'x-twilio-signature': signTwilioRequest('not-the-token', `${PUBLIC_URL}${path}`, form) }],
      [
        'signed for another id',
        { 'x-twilio-signature': signTwilioRequest(TWILIO_AUTH_TOKEN, `${PUBLIC_URL}${DIAL_STATUS_PATH}?id=x`, form) },
      ],
    ];
    for (const [name, headers] of attempts) {
      const response = await fetch(`${placing.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
        body: new URLSearchParams(form).toString(),
      });
      t.is(response.status, 403, name);
    }
    t.deepEqual(await statuses(callback.callback_id), ['queued'], 'nothing stored');
    // The same form, signed: it is applied.
    const signed = await fetch(`${placing.url}${path}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'x-twilio-signature': signTwilioRequest(TWILIO_AUTH_TOKEN, `${PUBLIC_URL}${path}`, form),
      },
      body: new URLSearchParams(form).toString(),
    });
    t.is(signed.status, 200);
    t.is(await signed.text(), '');
    t.deepEqual(await statuses(callback.callback_id), ['queued', 'answered']);
    // `ringing` arriving late (Twilio's callbacks are not ordered) does not move it back.
    const late = { ...form, CallStatus: 'ringing' };
    const lateResponse = await fetch(`${placing.url}${path}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'x-twilio-signature': signTwilioRequest(TWILIO_AUTH_TOKEN, `${PUBLIC_URL}${path}`, late),
      },
      body: new URLSearchParams(late).toString(),
    });
    t.is(lateResponse.status, 200);
    t.deepEqual(await statuses(callback.callback_id), ['queued', 'answered']);
  });

  engineTest(`${engine}: a call no callback has (another id's, or unknown) is a 200 and changes nothing`, async (t) => {
    const { placing, call, db, statuses } = await setup(t, engine);
    const callback = await call();
    const send = async (id: string, form: Record<string, string>) => {
      const path = `${DIAL_STATUS_PATH}?id=${id}`;
      return fetch(`${placing.url}${path}`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          'x-twilio-signature': signTwilioRequest(TWILIO_AUTH_TOKEN, `${PUBLIC_URL}${path}`, form),
        },
        body: new URLSearchParams(form).toString(),
      });
    };
    const before = (await db.query('SELECT id FROM callback_events')).rowCount;
    t.is((await send(ID, { CallSid: `CA${'2'.repeat(32)}`, CallStatus: 'no-answer' })).status, 200, 'unknown SID');
    t.is((await send('other-id', { CallSid: callback.callSid, CallStatus: 'no-answer' })).status, 200, 'another id');
    t.is((await db.query('SELECT id FROM callback_events')).rowCount, before);
    t.deepEqual(await statuses(callback.callback_id), ['queued']);
    t.is((await send('', { CallSid: callback.callSid, CallStatus: 'no-answer' })).status, 400, 'no id in the URL');
  });
}

test.serial('pglite: a booked Twilio callback placed by the worker keeps its SID, and its status callbacks move it', async (t) => {
  const { placing, twilio, db, play, statuses } = await setup(t, 'pglite');
  const { startCallbackWorker } = await import('../src/index.js');
  const at = new Date(Math.ceil((Date.now() + 2 * 86_400_000) / 900_000) * 900_000);
  const booked = await placing.post('/click-to-call', { id: ID, phone_number: VISITOR, scheduled_at: at.toISOString() });
  t.is(booked.status, 202);
  const { callback_id } = (await booked.json()) as { callback_id: string };
  const worker = startCallbackWorker({
    db,
    tenants: placing.deps.tenants,
    placementFor: (tenant) => placementFor(placing.deps, tenant),
    logger: createLogger('silent'),
    pollMs: 50,
    now: () => new Date(at.getTime() + 1_000),
  });
  t.teardown(() => worker.close());
  t.true(await eventually(async () => (await statuses(callback_id)).includes('queued'), 5_000));
  const [created] = twilio.calls;
  const { rows } = await db.query<{ provider_call_sid: string }>('SELECT provider_call_sid FROM callbacks WHERE id = $1', [callback_id]);
  t.is(rows[0]?.provider_call_sid, created!.sid);
  await play(created!.sid, 'answered', 'no-answer');
  t.deepEqual(await statuses(callback_id), ['scheduled', 'queued', 'ringing', 'no-answer']);
});

test('without a PUBLIC_URL Twilio can reach (a local address, Twilio not on this machine), no status callbacks are asked for', async (t) => {
  const standIn = await startTwilioStandIn({ accountSid: TWILIO_ACCOUNT_SID, authToken: TWILIO_AUTH_TOKEN });
  t.teardown(() => standIn.close());
  const twilio = createTwilioClient({ accountSid: TWILIO_ACCOUNT_SID, authToken: TWILIO_AUTH_TOKEN, baseUrl: standIn.url });
  const settings = { accountSid: TWILIO_ACCOUNT_SID, authToken: TWILIO_AUTH_TOKEN };
  // Never asked: the id is on Twilio.
  const ns = createNsClient({ baseUrl: 'http://127.0.0.1:9', auth: { token: 'unused' } });
  const tenant = TENANTS[ID]!;
  const place = (publicUrl: string, apiBase: string) => {
    const placement = placementFor({ ns, twilio, config: { publicUrl, twilio: { ...settings, apiBase } } }, tenant);
    if (typeof placement === 'string') throw new Error(placement);
    return placement.place(VISITOR, ID);
  };
  await place('http://127.0.0.1:5100', 'https://api.twilio.com');
  await place('https://beckon.example.com', 'https://api.twilio.com');
  const [unreachable, reachable] = standIn.calls;
  t.is(unreachable!.statusCallback, null);
  t.deepEqual(parseTwiml(unreachable!.twiml!).children[0]!.children[0]!.attributes, {});
  t.is(reachable!.statusCallback, `https://beckon.example.com${DIAL_STATUS_PATH}?id=${ID}`);
});
