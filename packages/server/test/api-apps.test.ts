import test from 'ava';
import { ConfigError, loadConfig } from '../src/index.js';
import { INTERNAL_SECRET, startApiServer, type ApiServer } from './fixtures/api.js';
import { databaseFixture, ENGINES } from './fixtures/databases.js';

const fixture = databaseFixture(test);

const REFUSED = { status: 'error', message: 'A valid API key is required.' };
const KEY = /^bk_live_[0-9a-f]{24}_[A-Za-z0-9_-]{43}$/;

async function status(server: ApiServer, key: string, as: 'x-app-api-key' | 'bearer' = 'x-app-api-key'): Promise<number> {
  const response = await server.get('/api/calls', key, as);
  await response.body?.cancel();
  return response.status;
}

for (const engine of ENGINES) {
  // One embedded database at a time: each holds this process's event loop while it starts, and several
  // at once starved the other tests' requests on a loaded machine. PostgreSQL's run concurrently.
  const engineTest = engine === 'pglite' ? test.serial : test;
  engineTest(
    `POST /internal/apps answers seed 004's shape; the key works at once in either header and is stored only as a hash (${engine})`,
    async (t) => {
      const server = await startApiServer(t, fixture, engine);
      const response = await server.internal('/internal/apps', { name: 'CRM sync', ids: ['a.com-x'] });
      t.is(response.status, 201);
      const body = (await response.json()) as Record<string, unknown>;
      t.deepEqual(Object.keys(body).sort(), ['api_key', 'app_id', 'message', 'success']);
      t.is(body.success, true);
      t.regex(body.app_id as string, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      const key = body.api_key as string;
      t.regex(key, KEY);
      t.true(key.length >= 64);

      t.is(await status(server, key), 200);
      t.is(await status(server, key, 'bearer'), 200);

      const { rows: apps } = await server.db.query<{ name: string; ids: string[] | null }>('SELECT name, ids FROM apps');
      t.deepEqual(apps, [{ name: 'CRM sync', ids: ['a.com-x'] }]);
      const { rows: keys } = await server.db.query<{ id: string; hash: string }>('SELECT id, hash FROM api_keys');
      t.is(keys.length, 1);
      const secret = key.split('_').slice(3).join('_');
      t.is(keys[0]!.id, key.split('_')[2]!);
      t.regex(keys[0]!.hash, /^[0-9a-f]{64}$/);
      t.false(JSON.stringify(keys).includes(secret), 'the secret is not stored');

      const everyId = await server.createApp({ name: 'Everything' });
      const { rows } = await server.db.query<{ ids: string[] | null }>('SELECT ids FROM apps WHERE id = $1', [everyId.appId]);
      t.is(rows[0]!.ids, null, 'no ids: every id');
      t.not(everyId.key, key);
    },
  );

  engineTest(`GET /internal/apps lists each app with its live keys by key id, never a key or its hash (${engine})`, async (t) => {
    const server = await startApiServer(t, fixture, engine);
    const crm = await server.createApp({ name: 'CRM sync', ids: ['a.com-x'] });
    const rotated = (await (await server.internal(`/internal/apps/${crm.appId}/api-key`)).json()) as { api_key: string };
    const wall = await server.createApp({ name: 'Wallboard' });
    const response = await fetch(`${server.url}/internal/apps`, { headers: { authorization: `Bearer ${INTERNAL_SECRET}` } });
    t.is(response.status, 200);
    t.is(response.headers.get('cache-control'), 'no-store');
    const text = await response.text();
    for (const key of [crm.key, rotated.api_key, wall.key])
      t.false(text.includes(key.split('_').slice(3).join('_')), 'no secret in the list');
    const { rows: hashes } = await server.db.query<{ hash: string }>('SELECT hash FROM api_keys');
    for (const { hash } of hashes) t.false(text.includes(hash), 'no hash in the list');
    const { apps } = JSON.parse(text) as {
      apps: Array<{ app_id: string; name: string; ids: string[] | null; created_at: string; keys: Array<Record<string, string | null>> }>;
    };
    t.deepEqual(
      apps.map((app) => [app.app_id, app.name, app.ids]),
      [
        [crm.appId, 'CRM sync', ['a.com-x']],
        [wall.appId, 'Wallboard', null],
      ],
    );
    const keyId = (key: string) => key.split('_')[2];
    t.deepEqual(
      apps[0]!.keys.map((key) => [key.key_id, key.expires_at === null]),
      [
        [keyId(crm.key), false],
        [keyId(rotated.api_key), true],
      ],
      'the previous key, in its grace period, with its expiry; then the current one',
    );
    t.false(Number.isNaN(Date.parse(apps[0]!.created_at)));
    // A key past its grace period no longer works, so it is not listed.
    await server.db.query("UPDATE api_keys SET expires_at = now() - interval '1 second' WHERE expires_at IS NOT NULL");
    const after = (await (
      await fetch(`${server.url}/internal/apps`, { headers: { authorization: `Bearer ${INTERNAL_SECRET}` } })
    ).json()) as {
      apps: Array<{ keys: Array<{ key_id: string }> }>;
    };
    t.deepEqual(
      after.apps[0]!.keys.map((key) => key.key_id),
      [keyId(rotated.api_key)],
    );
    t.is((await fetch(`${server.url}/internal/apps`)).status, 401);
  });

  engineTest(
    `DELETE /internal/apps/:app_id: its keys and stream tokens stop at once, the other apps keep theirs (${engine})`,
    async (t) => {
      const server = await startApiServer(t, fixture, engine);
      const doomed = await server.createApp({ name: 'Leaked' });
      const kept = await server.createApp({ name: 'Kept' });
      const token = (await (
        await fetch(`${server.url}/api/stream-tokens`, { method: 'POST', headers: { 'x-app-api-key': doomed.key } })
      ).json()) as {
        token: string;
      };
      const remove = (appId: string, secret = INTERNAL_SECRET) =>
        fetch(`${server.url}/internal/apps/${appId}`, { method: 'DELETE', headers: { authorization: `Bearer ${secret}` } });

      t.is((await remove(doomed.appId, 'x'.repeat(40))).status, 401, 'the internal secret is required');
      t.is(await status(server, doomed.key), 200);
      const deleted = await remove(doomed.appId);
      t.is(deleted.status, 200);
      t.like(await deleted.json(), { success: true, app_id: doomed.appId });
      t.is(await status(server, doomed.key), 401);
      const stream = await fetch(`${server.url}/api/call-stream?token=${token.token}`);
      t.is(stream.status, 401, "the app's stream token no longer opens a stream");
      await stream.body?.cancel();
      t.is(await status(server, kept.key), 200);

      const again = await remove(doomed.appId);
      t.is(again.status, 404);
      t.deepEqual(await again.json(), { status: 'error', message: `No app has the id ${doomed.appId}` });
      const malformed = await remove('not-a-uuid');
      t.is(malformed.status, 400);
      t.regex(((await malformed.json()) as { message: string }).message, /app_id must be the UUID/);
      const { rows } = await server.db.query<{ n: number }>('SELECT count(*)::int AS n FROM api_keys WHERE app_id = $1', [doomed.appId]);
      t.is(rows[0]!.n, 0);
    },
  );

  engineTest(
    `answers of /api/* and /internal/* are never cached, errors included; a rotation ends the app's stream tokens (${engine})`,
    async (t) => {
      const server = await startApiServer(t, fixture, engine);
      const created = await server.internal('/internal/apps', { name: 'CRM' });
      t.is(created.headers.get('cache-control'), 'no-store');
      const { app_id: appId, api_key: key } = (await created.json()) as { app_id: string; api_key: string };
      const token = (await (
        await fetch(`${server.url}/api/stream-tokens`, { method: 'POST', headers: { 'x-app-api-key': key } })
      ).json()) as {
        token: string;
      };
      const rotated = await server.internal(`/internal/apps/${appId}/api-key`);
      t.is(rotated.headers.get('cache-control'), 'no-store');
      await rotated.body?.cancel();
      for (const path of ['/api/calls', '/api/active-calls']) {
        const answer = await server.get(path, key);
        t.is(answer.status, 200, path);
        t.is(answer.headers.get('cache-control'), 'no-store', path);
        await answer.body?.cancel();
      }
      const refused = await server.get('/api/calls', 'bk_live_nope');
      t.is(refused.status, 401);
      t.is(refused.headers.get('cache-control'), 'no-store', 'a 401 too');
      await refused.body?.cancel();
      const stream = await fetch(`${server.url}/api/call-stream?token=${token.token}`);
      t.is(stream.status, 401, 'a token got before the rotation (with a key that may have leaked) no longer opens a stream');
      await stream.body?.cancel();
    },
  );

  engineTest(`a rotated key keeps working for API_KEY_GRACE_HOURS, then stops; the new one works at once (${engine})`, async (t) => {
    const server = await startApiServer(t, fixture, engine, { graceHours: 24 });
    const { appId, key: first } = await server.createApp();
    const response = await server.internal(`/internal/apps/${appId}/api-key`);
    t.is(response.status, 200);
    const body = (await response.json()) as { api_key: string; previous_key_expires_at: string };
    t.deepEqual(Object.keys(body).sort(), ['api_key', 'previous_key_expires_at']);
    const second = body.api_key;
    t.regex(second, KEY);
    t.not(second, first);
    const graceLeft = Date.parse(body.previous_key_expires_at) - Date.now();
    t.true(Math.abs(graceLeft - 24 * 3600_000) < 60_000, `the previous key expires in 24 h (${graceLeft} ms)`);
    t.is(await status(server, second), 200, 'the new key works at once');
    t.is(await status(server, first), 200, 'the previous key still works');

    // The grace period ends: the database's clock moved past expires_at.
    await server.db.query("UPDATE api_keys SET expires_at = now() - interval '1 second' WHERE expires_at IS NOT NULL");
    const expired = await server.get('/api/calls', first);
    t.is(expired.status, 401);
    t.deepEqual(await expired.json(), REFUSED);
    t.is(await status(server, second), 200);
  });

  engineTest(`with API_KEY_GRACE_HOURS=0 the previous key stops at once (${engine})`, async (t) => {
    const server = await startApiServer(t, fixture, engine, { graceHours: 0 });
    const { appId, key: first } = await server.createApp();
    const response = await server.internal(`/internal/apps/${appId}/api-key`);
    const { api_key: second } = (await response.json()) as { api_key: string };
    t.is(await status(server, first), 401);
    t.is(await status(server, second), 200);
  });

  engineTest(`at most two live keys: a third rotation within the grace period stops the oldest at once (${engine})`, async (t) => {
    const server = await startApiServer(t, fixture, engine);
    const { appId, key: first } = await server.createApp();
    const rotate = async () => ((await (await server.internal(`/internal/apps/${appId}/api-key`)).json()) as { api_key: string }).api_key;
    const second = await rotate();
    const third = await rotate();
    t.is(await status(server, first), 401, 'the key rotated away from first stops');
    t.is(await status(server, second), 200, 'the previous key is in its grace period');
    t.is(await status(server, third), 200);
    const { rows } = await server.db.query<{ count: number }>('SELECT count(*)::int AS count FROM api_keys WHERE app_id = $1', [appId]);
    t.is(rows[0]!.count, 2);

    // Two rotations at once still leave two live keys: the app row is locked while one rotates.
    const [fourth, fifth] = await Promise.all([rotate(), rotate()]);
    const live = await Promise.all([second, third, fourth!, fifth!].map((key) => status(server, key)));
    t.deepEqual(live.filter((code) => code === 200).length, 2, live.join());
  });

  engineTest(
    `a missing, malformed, unknown, wrong or expired key is the same 401, saying nothing of which part failed (${engine})`,
    async (t) => {
      const server = await startApiServer(t, fixture, engine);
      const { key } = await server.createApp();
      const [, , id, ...rest] = key.split('_');
      const secret = rest.join('_');
      const flipped = `${secret.slice(0, -1)}${secret.endsWith('A') ? 'B' : 'A'}`;
      const candidates = [
        '',
        'nonsense',
        `bk_live_${id}_${flipped}`,
        `bk_live_${'0'.repeat(24)}_${secret}`,
        `bk_live_${id}`,
        `${key}x`,
        key.toUpperCase(),
      ];
      for (const candidate of candidates) {
        for (const as of ['x-app-api-key', 'bearer'] as const) {
          const response = await server.get('/api/calls', candidate, as);
          t.is(response.status, 401, `${as}: ${candidate}`);
          t.deepEqual(await response.json(), REFUSED);
        }
      }
      const none = await fetch(`${server.url}/api/active-calls`);
      t.is(none.status, 401);
      t.deepEqual(await none.json(), REFUSED);
      t.regex(none.headers.get('www-authenticate') ?? '', /^Bearer/);
      const basic = await fetch(`${server.url}/api/calls`, {
        headers: { authorization: `Basic ${Buffer.from(`x:${key}`).toString('base64')}` },
      });
      t.is(basic.status, 401);
      await basic.body?.cancel();

      await server.db.query("UPDATE api_keys SET expires_at = now() - interval '1 second'");
      const revoked = await server.get('/api/calls', key);
      t.is(revoked.status, 401);
      t.deepEqual(await revoked.json(), REFUSED);
    },
  );

  engineTest(`/internal/* needs the bearer secret: missing, malformed or wrong is a 401 that does not say which (${engine})`, async (t) => {
    const server = await startApiServer(t, fixture, engine);
    const attempts: Record<string, string>[] = [
      {},
      { authorization: INTERNAL_SECRET },
      { authorization: `Basic ${INTERNAL_SECRET}` },
      { authorization: `Bearer ${INTERNAL_SECRET.slice(0, -1)}` },
      { authorization: `Bearer ${INTERNAL_SECRET}x` },
      { authorization: 'Bearer ' },
      { 'x-internal-secret': INTERNAL_SECRET },
    ];
    const messages = new Set<string>();
    for (const headers of attempts) {
      const response = await fetch(`${server.url}/internal/apps`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ name: 'Nope' }),
      });
      t.is(response.status, 401, JSON.stringify(headers));
      messages.add(((await response.json()) as { message: string }).message);
    }
    t.is(messages.size, 1);
    const { rows } = await server.db.query('SELECT * FROM apps');
    t.is(rows.length, 0, 'nothing created');
    const bearer = await fetch(`${server.url}/internal/apps`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `bearer   ${INTERNAL_SECRET}` },
      body: JSON.stringify({ name: 'Case and spaces' }),
    });
    t.is(bearer.status, 201, 'the scheme is case-insensitive (RFC 9110)');
    await bearer.body?.cancel();
  });

  engineTest(
    `without INTERNAL_API_SECRET /internal/* does not exist: 404 as for any unknown path, the secret or not (${engine})`,
    async (t) => {
      const server = await startApiServer(t, fixture, engine, { internalApiSecret: null });
      const unknown = await fetch(`${server.url}/nowhere`, { method: 'POST' });
      const unknownBody = (await unknown.json()) as { message: string };
      for (const path of ['/internal/apps', '/internal/apps/550e8400-e29b-41d4-a716-446655440000/api-key']) {
        const response = await server.internal(path, { name: 'x' });
        t.is(response.status, 404, path);
        const body = (await response.json()) as { status: string; message: string };
        t.is(body.status, 'error');
        t.is(body.message, unknownBody.message.replace('/nowhere', path));
        const get = await fetch(server.url + path);
        t.is(get.status, 404, `GET ${path}: not a 405 that would show the path exists`);
        await get.body?.cancel();
      }
    },
  );

  engineTest(
    `malformed admin input is a 4xx with a message a person can act on, never a 5xx, and stores nothing (${engine})`,
    async (t) => {
      const server = await startApiServer(t, fixture, engine);
      const cases: [unknown, number, RegExp][] = [
        [undefined, 400, /Send a JSON body such as/],
        ['{"name": ', 400, /not valid JSON/],
        ['[]', 400, /must be a JSON object/],
        ['"CRM"', 400, /must be a JSON object/],
        [{}, 400, /name is required/],
        [{ name: 42 }, 400, /name is required: a string/],
        [{ name: '   ' }, 400, /name must not be empty/],
        [{ name: 'x'.repeat(201) }, 400, /at most 200 characters/],
        [{ name: 'bell\u0007' }, 400, /control characters/],
        [{ name: 'CRM', ids: 'a.com-x' }, 400, /ids must be a list of config ids/],
        [{ name: 'CRM', ids: [] }, 400, /ids must not be empty/],
        [{ name: 'CRM', ids: [7] }, 400, /ids must hold only strings/],
        [{ name: 'CRM', ids: ['a.com-x', '../etc'] }, 400, /Not a config id: "..\/etc"/],
        [{ name: 'CRM', ids: ['a.com-x', 'nobody.net-sales'] }, 400, /No config has the id "nobody.net-sales": configure it first/],
        [{ name: 'CRM', ids: Array.from({ length: 101 }, (_, index) => `a${index}.com-x`) }, 400, /at most 100 config ids/],
        [{ name: 'CRM', id: 'a.com-x' }, 400, /Unknown field\(s\) id: send name and ids only/],
        [{ name: 'x'.repeat(20_000) }, 413, /larger than 16384 bytes/],
      ];
      for (const [body, expected, message] of cases) {
        const response = await server.internal('/internal/apps', body);
        t.is(response.status, expected, JSON.stringify(body)?.slice(0, 80));
        t.regex(((await response.json()) as { message: string }).message, message);
      }
      const form = await fetch(`${server.url}/internal/apps`, {
        method: 'POST',
        headers: { authorization: `Bearer ${INTERNAL_SECRET}`, 'content-type': 'application/x-www-form-urlencoded' },
        body: 'name=CRM',
      });
      t.is(form.status, 415);
      t.regex(((await form.json()) as { message: string }).message, /application\/json/);

      for (const [appId, expected, message] of [
        ['not-a-uuid', 400, /app_id must be the UUID POST \/internal\/apps answered/],
        ["550e8400-e29b-41d4-a716-44665544000'", 400, /app_id must be the UUID/],
        ['550e8400-e29b-41d4-a716-446655440000', 404, /No app has the id 550e8400-e29b-41d4-a716-446655440000/],
      ] as const) {
        const response = await server.internal(`/internal/apps/${encodeURIComponent(appId)}/api-key`);
        t.is(response.status, expected, appId);
        t.regex(((await response.json()) as { message: string }).message, message);
      }
      const { rows } = await server.db.query('SELECT * FROM apps');
      t.is(rows.length, 0);
      t.false(
        server.harness.logs.some((line) => line.level >= 50),
        'no error logged',
      );
    },
  );

  engineTest(`no key, hash or INTERNAL_API_SECRET reaches the log (${engine})`, async (t) => {
    const server = await startApiServer(t, fixture, engine);
    const { appId, key } = await server.createApp({ name: 'CRM', ids: ['a.com-x'] });
    const rotated = ((await (await server.internal(`/internal/apps/${appId}/api-key`)).json()) as { api_key: string }).api_key;
    await status(server, key);
    await status(server, rotated, 'bearer');
    await status(server, `${key}x`);
    await (await server.internal('/internal/apps', { name: 'x' }, 'wrong-secret-but-long-enough-0123456789')).text();
    const { rows } = await server.db.query<{ hash: string }>('SELECT hash FROM api_keys');
    const log = server.harness.logText();
    t.true(log.includes(appId), 'the log names the app');
    for (const secret of [
      INTERNAL_SECRET,
      'wrong-secret-but-long-enough',
      key,
      rotated,
      ...[key, rotated].map((k) => k.split('_').slice(3).join('_')),
      ...rows.map((row) => row.hash),
    ]) {
      t.false(log.includes(secret), secret.slice(0, 12));
    }
  });
}

test('INTERNAL_API_SECRET must be at least 32 characters; API_KEY_GRACE_HOURS a whole number from 0 to 8760 (default 24)', (t) => {
  const base = { NS_API_BASE: 'https://ucportal.example.net', NS_TOKEN: 'token', UPDATE_SECRET: 'update-secret-0123456789' };
  t.is(loadConfig(base).internalApiSecret, undefined);
  t.is(loadConfig(base).apiKeyGraceHours, 24);
  t.is(loadConfig({ ...base, INTERNAL_API_SECRET: INTERNAL_SECRET }).internalApiSecret, INTERNAL_SECRET);
  t.is(loadConfig({ ...base, API_KEY_GRACE_HOURS: '0' }).apiKeyGraceHours, 0);
  const short = t.throws(() => loadConfig({ ...base, INTERNAL_API_SECRET: 'x'.repeat(31) }), { instanceOf: ConfigError });
  t.regex(short.message, /INTERNAL_API_SECRET must be at least 32 characters/);
  t.false(short.message.includes('x'.repeat(31)), 'the value is not repeated');
  for (const hours of ['-1', '1.5', 'day', '8761']) {
    t.throws(() => loadConfig({ ...base, API_KEY_GRACE_HOURS: hours }), { message: /API_KEY_GRACE_HOURS must be/ }, hours);
  }
});

test('MAX_STREAMS defaults to 80 % of MAX_CONNECTIONS and must stay below it; MAX_STREAMS_PER_APP defaults to 100', (t) => {
  const base = { NS_API_BASE: 'https://ucportal.example.net', NS_TOKEN: 'token', UPDATE_SECRET: 'update-secret-0123456789' };
  t.deepEqual(loadConfig(base).streams, { max: 800, perApp: 100 });
  t.deepEqual(loadConfig({ ...base, MAX_CONNECTIONS: '50', MAX_STREAMS_PER_APP: '5' }).streams, { max: 40, perApp: 5 });
  t.deepEqual(loadConfig({ ...base, MAX_CONNECTIONS: '2000', MAX_STREAMS: '1500' }).streams, { max: 1500, perApp: 100 });
  t.throws(() => loadConfig({ ...base, MAX_CONNECTIONS: '100', MAX_STREAMS: '100' }), {
    message: /MAX_STREAMS must be less than MAX_CONNECTIONS \(100\)/,
  });
  t.throws(() => loadConfig({ ...base, MAX_STREAMS_PER_APP: '0' }), { message: /MAX_STREAMS_PER_APP must be a whole number ≥ 1/ });
});
