// Dialpad's webhook (`POST /webhooks/dialpad`) over real HTTP on a real `start()`, on PGlite and on a
// real PostgreSQL: what verifies is stored once and normalized into calls, messages and voicemails that
// the REST API serves; what does not verify is a 401 and leaves the database as it was.
import { createHmac, generateKeyPairSync } from 'node:crypto';
import test from 'ava';
import fc from 'fast-check';
import { SignJWT } from 'jose';
import { signDialpadEvent, startDialpadProcessor, createLogger } from '../src/index.js';
import { databaseFixture, ENGINES } from './fixtures/databases.js';
import { openSse } from './fixtures/sse.js';
import {
  callEvent,
  DEFAULT_ID,
  ENV_WEBHOOK_SECRET,
  newCall,
  smsEvent,
  startDialpadServer,
  type DialpadServer,
} from './fixtures/dialpad.js';

const fixture = databaseFixture(test);

async function count(server: DialpadServer, table: string): Promise<number> {
  const { rows } = await server.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`);
  return rows[0]!.n;
}

function b64(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

/** A token signed with HMAC of `hash` but any header: what jose must refuse for any alg but HS256. */
function hmacToken(header: Record<string, unknown>, payload: Record<string, unknown>, secret: string, hash = 'sha256'): string {
  const signingInput = `${b64(header)}.${b64(payload)}`;
  return `${signingInput}.${createHmac(hash, secret).update(signingInput).digest('base64url')}`;
}

for (const engine of ENGINES) {
  const engineTest = engine === 'pglite' ? test.serial : test;

  engineTest(
    `a call's events, signed with DIALPAD_WEBHOOK_SECRET, become one call of the default id in /api/calls (${engine})`,
    async (t) => {
      const server = await startDialpadServer(t, fixture, engine);
      const { key } = await server.createApp();
      const callId = newCall();
      const connectedAt = Date.UTC(2026, 2, 1, 12, 0, 5);
      for (const event of [
        callEvent(callId, 'ringing'),
        callEvent(callId, 'connected', { date_connected: connectedAt, event_timestamp: connectedAt }),
        callEvent(callId, 'hangup', {
          date_connected: connectedAt,
          date_ended: connectedAt + 60_000,
          event_timestamp: connectedAt + 60_000,
        }),
      ]) {
        const started = Date.now();
        const response = await server.deliver(await signDialpadEvent(event, ENV_WEBHOOK_SECRET));
        t.is(response.status, 200);
        t.true(Date.now() - started < 5_000, 'answered within Dialpad’s 5 s');
        t.deepEqual(await response.json(), { status: 'ok', stored: 1 });
      }
      const calls = (await (await server.get('/api/calls', key)).json()) as { calls: Record<string, unknown>[] };
      t.is(calls.calls.length, 1);
      t.like(calls.calls[0], {
        tenant: DEFAULT_ID,
        provider: 'dialpad',
        session_id: String(callId),
        from_number: '+14165551234',
        from_name: 'Ada Caller',
        to_number: '+18135550100',
        direction: 'inbound',
        status: 'ended',
      });
      const events = await server.db.query<{ state: string }>('SELECT state FROM call_events ORDER BY id');
      t.deepEqual(
        events.rows.map((row) => row.state),
        ['ringing', 'answered', 'ended'],
      );
      const deliveries = await server.db.query<{ processed: boolean; body: { jwt: string } }>(
        "SELECT processed_at IS NOT NULL AS processed, body FROM deliveries WHERE provider = 'dialpad'",
      );
      t.is(deliveries.rows.length, 3);
      t.true(
        deliveries.rows.every((row) => row.processed && row.body.jwt.split('.').length === 3),
        'the raw token is kept, processed',
      );
    },
  );

  engineTest(
    `alg none, HS512, RS256, a wrong secret, a tampered payload, an expired token and garbage are 401s storing nothing (${engine})`,
    async (t) => {
      const server = await startDialpadServer(t, fixture, engine);
      const callId = newCall();
      const event = callEvent(callId, 'ringing');
      const valid = await signDialpadEvent(event, ENV_WEBHOOK_SECRET);
      const [header, , signature] = valid.split('.');
      const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
      const forged: Record<string, string> = {
        'alg none': `${b64({ alg: 'none', typ: 'JWT' })}.${b64(event)}.`,
        'alg none with a signature': `${b64({ alg: 'none', typ: 'JWT' })}.${b64(event)}.${signature}`,
        'HS512 with the right secret': hmacToken({ alg: 'HS512', typ: 'JWT' }, event, ENV_WEBHOOK_SECRET, 'sha512'),
        'RS256 signed with some RSA key': await new SignJWT(event).setProtectedHeader({ alg: 'RS256' }).sign(privateKey),
        'RS256 header over an HS256 signature': hmacToken({ alg: 'RS256', typ: 'JWT' }, event, ENV_WEBHOOK_SECRET),
        'a wrong secret': await signDialpadEvent(event, 'another-secret-0123456789abcdef0123456789'),
        'a tampered payload': `${header}.${b64({ ...event, external_number: '+15555550199' })}.${signature}`,
        'an expired token': await new SignJWT(event)
          .setProtectedHeader({ alg: 'HS256' })
          .setExpirationTime(Math.floor(Date.now() / 1000) - 60)
          .sign(new TextEncoder().encode(ENV_WEBHOOK_SECRET)),
        garbage: 'not a token at all',
        'JSON instead of a JWT': JSON.stringify(event),
        'an empty body': '',
        'three dots': '..',
      };
      for (const [name, token] of Object.entries(forged)) {
        const response = await server.deliver(token);
        t.is(response.status, 401, name);
        const body = (await response.json()) as { status: string; message: string };
        t.is(body.status, 'error', name);
        t.regex(body.message, /JWT signed \(HS256\)/, name);
      }
      t.is(await count(server, 'deliveries'), 0);
      t.is(await count(server, 'calls'), 0);
      // The same event, genuinely signed, is taken: the refusals were about the signatures.
      t.is((await server.deliver(valid)).status, 200);
      t.is(await count(server, 'calls'), 1);
    },
  );

  engineTest(
    `a redelivered token is stored once and moves the call once; text/plain and a JSON string are read too (${engine})`,
    async (t) => {
      const server = await startDialpadServer(t, fixture, engine);
      const callId = newCall();
      const token = await signDialpadEvent(callEvent(callId, 'ringing'), ENV_WEBHOOK_SECRET);
      t.deepEqual(await (await server.deliver(token)).json(), { status: 'ok', stored: 1 });
      t.deepEqual(await (await server.deliver(token, 'text/plain')).json(), { status: 'ok', stored: 0 });
      t.deepEqual(await (await server.deliver(JSON.stringify(token), 'application/json')).json(), { status: 'ok', stored: 0 });
      t.is(await count(server, 'deliveries'), 1);
      t.is(await count(server, 'call_events'), 1);
      // A late ringing after the hangup changes nothing (states only move forward).
      await server.deliver(await signDialpadEvent(callEvent(callId, 'hangup'), ENV_WEBHOOK_SECRET));
      await server.deliver(await signDialpadEvent(callEvent(callId, 'ringing', { event_timestamp: Date.now() }), ENV_WEBHOOK_SECRET));
      const { rows } = await server.db.query<{ state: string }>('SELECT state FROM calls');
      t.deepEqual(rows, [{ state: 'missed' }]);
    },
  );

  engineTest(`a Dialpad call reaches the live stream (what <call-popup> shows) like any provider's (${engine})`, async (t) => {
    const server = await startDialpadServer(t, fixture, engine);
    const { key } = await server.createApp([DEFAULT_ID]);
    const tokenResponse = await fetch(`${server.url}/api/stream-tokens`, { method: 'POST', headers: { 'x-app-api-key': key } });
    const { token } = (await tokenResponse.json()) as { token: string };
    const stream = await openSse(`${server.url}/api/call-stream?token=${token}`);
    t.teardown(() => stream.close());
    const callId = newCall();
    await server.deliver(await signDialpadEvent(callEvent(callId, 'ringing'), ENV_WEBHOOK_SECRET));
    const [event] = await stream.calls(1);
    t.like(JSON.parse(event!.data!), {
      type: 'call',
      call: { provider: 'dialpad', session_id: String(callId), status: 'ringing', from_name: 'Ada Caller' },
    });
  });

  engineTest(`SMS events become messages and voicemails become voicemails, each served by its API (${engine})`, async (t) => {
    const server = await startDialpadServer(t, fixture, engine);
    const { key } = await server.createApp();
    const sms = smsEvent();
    await server.deliver(await signDialpadEvent(sms, ENV_WEBHOOK_SECRET));
    // A status update of the same message changes its status, not the number of messages.
    await server.deliver(await signDialpadEvent({ ...sms, message_status: 'read', event_timestamp: Date.now() }, ENV_WEBHOOK_SECRET));
    const callId = newCall();
    await server.deliver(await signDialpadEvent(callEvent(callId, 'ringing'), ENV_WEBHOOK_SECRET));
    await server.deliver(await signDialpadEvent(callEvent(callId, 'voicemail'), ENV_WEBHOOK_SECRET));
    await server.deliver(
      await signDialpadEvent(
        callEvent(callId, 'voicemail_uploaded', {
          voicemail_link: 'https://dialpad.com/r/voicemail/abc',
          transcription_text: 'Hi, please call me back.',
          date_ended: Date.UTC(2026, 2, 1, 12, 1, 0),
        }),
        ENV_WEBHOOK_SECRET,
      ),
    );
    const messages = (await (await server.get('/api/messages', key)).json()) as { messages: unknown[] };
    t.deepEqual(messages, {
      messages: [
        {
          id: (messages.messages[0] as { id: string }).id,
          tenant: DEFAULT_ID,
          provider: 'dialpad',
          message_id: String(sms.id),
          direction: 'inbound',
          from_number: '+14165551234',
          to_numbers: ['+18135550100'],
          text: 'Can you call me back?',
          status: 'read',
          timestamp: '2026-03-01T12:05:00.000Z',
        },
      ],
    });
    const voicemails = (await (await server.get('/api/voicemails', key)).json()) as { voicemails: Record<string, unknown>[] };
    t.is(voicemails.voicemails.length, 1);
    const calls = (await (await server.get('/api/calls', key)).json()) as { calls: { id: string; status: string }[] };
    t.like(voicemails.voicemails[0], {
      tenant: DEFAULT_ID,
      provider: 'dialpad',
      session_id: String(callId),
      call_id: calls.calls[0]!.id,
      from_number: '+14165551234',
      from_name: 'Ada Caller',
      recording_url: 'https://dialpad.com/r/voicemail/abc',
      transcription: 'Hi, please call me back.',
    });
    t.is(calls.calls[0]!.status, 'voicemail');
  });

  engineTest(
    `a delivery whose normalization fails is still a 200, kept with its error, and the worker retries it (${engine})`,
    async (t) => {
      const server = await startDialpadServer(t, fixture, engine);
      // The messages table gone for a while: storing the delivery works, normalizing it cannot.
      await server.db.query('ALTER TABLE messages RENAME TO messages_away');
      const sms = smsEvent();
      const response = await server.deliver(await signDialpadEvent(sms, ENV_WEBHOOK_SECRET));
      t.is(response.status, 200, 'stored is what the answer says: Dialpad must not redeliver');
      const failed = await server.db.query<{ processed: boolean; attempts: number; error: string; retrying: boolean }>(
        "SELECT processed_at IS NOT NULL AS processed, attempts, error, retry_at > now() AS retrying FROM deliveries WHERE provider = 'dialpad'",
      );
      t.like(failed.rows[0], { processed: false, attempts: 1, retrying: true });
      t.regex(failed.rows[0]!.error, /messages/);
      t.regex(server.logText(), /dialpad delivery not processed: trying again later/);

      await server.db.query('ALTER TABLE messages_away RENAME TO messages');
      await server.db.query("UPDATE deliveries SET retry_at = now() - interval '1 second' WHERE provider = 'dialpad'");
      const worker = startDialpadProcessor({
        db: server.db,
        tenants: server.running.deps.tenants,
        logger: createLogger('silent'),
        pollMs: 50,
      });
      t.teardown(() => worker.close());
      const deadline = Date.now() + 5_000;
      let stored = 0;
      while (Date.now() < deadline && stored === 0) {
        stored = await count(server, 'messages');
        if (stored === 0) await new Promise((resolve) => setTimeout(resolve, 50));
      }
      t.is(stored, 1);
      const done = await server.db.query<{ processed: boolean; attempts: number; error: string | null }>(
        "SELECT processed_at IS NOT NULL AS processed, attempts, error FROM deliveries WHERE provider = 'dialpad'",
      );
      t.deepEqual(done.rows, [{ processed: true, attempts: 2, error: null }]);
    },
  );

  engineTest(
    `a delivery stored but not normalized (a crash after the answer) is processed from its row by the worker (${engine})`,
    async (t) => {
      const server = await startDialpadServer(t, fixture, engine);
      const callId = newCall();
      // As the intake stores it, with the normalization never run: the process stopped right after the commit.
      await server.db.query(
        `INSERT INTO deliveries (provider, tenant, dedupe_key, body, retry_at) VALUES ('dialpad', $1, 'jwt:crashed', $2::jsonb, now() - interval '1 second')`,
        [DEFAULT_ID, JSON.stringify({ jwt: 'a.b.c', webhook: null, payload: callEvent(callId, 'missed') })],
      );
      const worker = startDialpadProcessor({
        db: server.db,
        tenants: server.running.deps.tenants,
        logger: createLogger('silent'),
        pollMs: 50,
      });
      t.teardown(() => worker.close());
      const deadline = Date.now() + 5_000;
      let state: string | undefined;
      while (Date.now() < deadline && !state) {
        const { rows } = await server.db.query<{ state: string }>('SELECT state FROM calls WHERE provider_call_id = $1', [String(callId)]);
        state = rows[0]?.state;
        if (!state) await new Promise((resolve) => setTimeout(resolve, 50));
      }
      t.is(state, 'missed');
      const { rows } = await server.db.query<{ processed: boolean; attempts: number }>(
        "SELECT processed_at IS NOT NULL AS processed, attempts FROM deliveries WHERE dedupe_key = 'jwt:crashed'",
      );
      t.deepEqual(rows, [{ processed: true, attempts: 1 }]);
    },
  );
}

test('a body over 1 MiB is a 413 and a compressed one a 415, storing nothing', async (t) => {
  const server = await startDialpadServer(t, fixture, 'postgres');
  t.is((await server.deliver('a'.repeat(1_048_577))).status, 413);
  const compressed = await fetch(`${server.url}/webhooks/dialpad`, {
    method: 'POST',
    headers: { 'content-type': 'application/jwt', 'content-encoding': 'gzip' },
    body: 'x',
  });
  t.is(compressed.status, 415);
  t.is(await count(server, 'deliveries'), 0);
});

test('property: any body is a 2xx or a 4xx, never a 5xx; what verifies is stored and normalized, what does not leaves nothing', async (t) => {
  const server = await startDialpadServer(t, fixture, 'postgres');
  const scalar = fc.oneof(
    fc.string(),
    fc.integer(),
    fc.double({ noNaN: true }),
    fc.boolean(),
    fc.constant(null),
    fc.constantFrom(1_772_366_400_000, '1772366400000', -1, 9e15, 'ringing', 'hangup', '+14165551234', '4165551234', 'x\u0000y'),
  );
  const field = fc.constantFrom(
    'call_id',
    'state',
    'direction',
    'external_number',
    'internal_number',
    'date_started',
    'date_connected',
    'date_ended',
    'event_timestamp',
    'voicemail_link',
    'transcription_text',
    'id',
    'from_number',
    'to_number',
    'text',
    'message_status',
    'created_date',
    'contact',
  );
  const payload = fc.dictionary(field, fc.oneof(scalar, fc.array(scalar, { maxLength: 3 }), fc.dictionary(fc.string(), scalar)), {
    maxKeys: 10,
  });
  const body = fc.oneof(
    fc.string(),
    payload.map((event) => ({ event, signed: true })),
    fc.tuple(payload, fc.string({ minLength: 1 })).map(([event, secret]) => ({ event, secret })),
  );
  let refused = 0;
  await fc.assert(
    fc.asyncProperty(body, async (input) => {
      const deliveriesBefore = await count(server, 'deliveries');
      const token =
        typeof input === 'string'
          ? input
          : await signDialpadEvent(input.event, 'signed' in input ? ENV_WEBHOOK_SECRET : `${input.secret}-not-the-secret`);
      const response = await server.deliver(token);
      const text = await response.text();
      if (response.status >= 500) throw new Error(`${response.status} for ${JSON.stringify(input)}: ${text}`);
      const verified = typeof input !== 'string' && 'signed' in input;
      if (!verified) {
        refused += 1;
        if (response.status !== 401) throw new Error(`${response.status} for an unverifiable body ${JSON.stringify(input)}`);
        if ((await count(server, 'deliveries')) !== deliveriesBefore) throw new Error('a refused body was stored');
      } else if (response.status !== 200) throw new Error(`${response.status} for a signed event ${JSON.stringify(input)}: ${text}`);
    }),
    { numRuns: 150 },
  );
  t.true(refused > 0);
  // Every verified event was normalized: none is left failing.
  const { rows } = await server.db.query<{ error: string | null }>(
    "SELECT error FROM deliveries WHERE provider = 'dialpad' AND processed_at IS NULL",
  );
  t.deepEqual(rows, []);
});
