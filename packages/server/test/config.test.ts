import test from 'ava';
import { ConfigError, loadConfig } from '../src/index.js';

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
    logLevel: 'info',
  });
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
