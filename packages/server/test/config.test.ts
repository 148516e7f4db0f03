import test from 'ava';
import { deprecatedSettings } from '../src/config.js';
import { ConfigError, loadConfig, loadDatabaseConfig } from '../src/index.js';

const minimal = { NS_API_BASE: 'https://ucportal.example.net/', NS_TOKEN: 'ns-token', UPDATE_SECRET: 'a-long-enough-secret' };

test('defaults match the running service', (t) => {
  const config = loadConfig(minimal);
  t.like(config, {
    nsApiBase: 'https://ucportal.example.net',
    port: 5100,
    host: '127.0.0.1',
    domainsFile: './domains.json',
    trustProxy: 0,
    limits: { ipPerMinute: 3, idPerHour: 30, numberPerHour: 3 },
    textBackWindowSeconds: 600,
    dataDir: './data',
    logLevel: 'info',
  });
  t.is(config.databaseUrl, undefined, 'the embedded database');
  t.is(config.publicUrl, undefined, 'resolved to the listening address at start-up');
});

test('every missing required variable is named, all at once', (t) => {
  const error = t.throws(() => loadConfig({}), { instanceOf: ConfigError });
  t.deepEqual(error?.problems, ['NS_API_BASE is required', 'NS_TOKEN is required', 'UPDATE_SECRET is required']);
});

test('invalid values are refused with a message naming the variable', (t) => {
  const cases: [Record<string, string>, RegExp][] = [
    [{ NS_API_BASE: 'ftp://x' }, /^NS_API_BASE must be an http\(s\) URL/],
    [{ PUBLIC_URL: 'not a url' }, /^PUBLIC_URL must be/],
    [{ PORT: 'eighty' }, /^PORT must be a whole number/],
    [{ LIMIT_IP_PER_MINUTE: '0' }, /^LIMIT_IP_PER_MINUTE must be a whole number ≥ 1/],
    [{ TRUST_PROXY: 'maybe' }, /^TRUST_PROXY must be/],
    [{ LOG_LEVEL: 'loud' }, /^LOG_LEVEL must be one of/],
    [{ UPDATE_SECRET: 'short' }, /^UPDATE_SECRET must be at least 16/],
    [{ PORT: '70000' }, /^PORT must be at most 65535/],
    [{ NS_API_BASE: 'https://user:pass@ucportal.example.net' }, /^NS_API_BASE must be the portal origin, without credentials/],
    [{ NS_API_BASE: 'https://ucportal.example.net/?x=1' }, /^NS_API_BASE must be the portal origin/],
    [{ REDIS_URL: 'http://127.0.0.1:6379' }, /^REDIS_URL must be a redis:\/\/ or rediss:\/\/ URL/],
    [{ TURNSTILE_VERIFY_URL: 'nope' }, /^TURNSTILE_VERIFY_URL must be/],
    [{ PROVISION_DIAL_RULE_APPLICATION: 'sip:0@Web Main' }, /^PROVISION_DIAL_RULE_APPLICATION must be/],
  ];
  for (const [override, message] of cases) {
    const error = t.throws(() => loadConfig({ ...minimal, ...override }), { instanceOf: ConfigError });
    t.is(error?.problems.length, 1, JSON.stringify(override));
    t.regex(error?.problems[0] ?? '', message);
  }
});

test('TRUST_PROXY takes true/false or a hop count; PUBLIC_URL loses its trailing slash', (t) => {
  t.is(loadConfig({ ...minimal, TRUST_PROXY: 'true' }).trustProxy, 1);
  t.is(loadConfig({ ...minimal, TRUST_PROXY: '2' }).trustProxy, 2);
  t.is(loadConfig({ ...minimal, TRUST_PROXY: 'false' }).trustProxy, 0);
  t.is(loadConfig({ ...minimal, PUBLIC_URL: 'https://beckon.example.net/' }).publicUrl, 'https://beckon.example.net');
});

test('secrets never appear in a configuration error', (t) => {
  const error = t.throws(() => loadConfig({ ...minimal, NS_TOKEN: 'super-secret-token', PORT: 'x' }), { instanceOf: ConfigError });
  t.false(error?.message.includes('super-secret-token'));
});

test('DATABASE_URL takes postgres:// and postgresql:// URLs; anything else is refused by name, the value never repeated', (t) => {
  for (const url of [
    'postgres://beckon:pw@127.0.0.1:5432/beckon',
    'postgresql://db.example.net/beckon?sslmode=require',
    'postgres://%2Fvar%2Frun%2Fpostgresql/beckon',
  ]) {
    t.is(loadConfig({ ...minimal, DATABASE_URL: ` ${url} ` }).databaseUrl, url);
  }
  for (const url of [
    'mysql://beckon:hunter2-pw@db.example.net/beckon',
    'http://hunter2-pw@db.example.net',
    'hunter2-pw',
    'postgres://hunter2 pw@x/db',
  ]) {
    const error = t.throws(() => loadConfig({ ...minimal, DATABASE_URL: url }), { instanceOf: ConfigError });
    t.deepEqual(error?.problems.length, 1, url);
    t.regex(error?.message ?? '', /DATABASE_URL must be a postgres:\/\/ or postgresql:\/\/ URL/);
    t.false(error?.message.includes('hunter2'), url);
  }
});

test('DATA_DIR defaults to ./data; BECKON_DATA_DIR, its old name, is still read when DATA_DIR is not set, and reported as deprecated', (t) => {
  t.is(loadConfig({ ...minimal, DATA_DIR: '/var/lib/beckon' }).dataDir, '/var/lib/beckon');
  t.is(loadConfig({ ...minimal, BECKON_DATA_DIR: 'old' }).dataDir, 'old');
  t.is(loadConfig({ ...minimal, BECKON_DATA_DIR: 'old', DATA_DIR: 'new' }).dataDir, 'new');
  t.deepEqual(deprecatedSettings({ BECKON_DATA_DIR: 'old' }), ['BECKON_DATA_DIR is deprecated: set DATA_DIR instead (same meaning)']);
  t.deepEqual(deprecatedSettings({ BECKON_DATA_DIR: 'old', DATA_DIR: 'new' }), []);
  t.deepEqual(deprecatedSettings({ BECKON_DATA_DIR: '' }), []);
});

test('loadDatabaseConfig (beckon-server migrate) needs nothing but the database settings', (t) => {
  t.deepEqual(loadDatabaseConfig({}), { databaseUrl: undefined, dataDir: './data' });
  t.deepEqual(loadDatabaseConfig({ DATABASE_URL: 'postgres://127.0.0.1/beckon' }), {
    databaseUrl: 'postgres://127.0.0.1/beckon',
    dataDir: './data',
  });
  t.throws(() => loadDatabaseConfig({ DATABASE_URL: 'sqlite://x' }), { instanceOf: ConfigError, message: /DATABASE_URL must be/ });
});
