import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { startNsSandbox } from '@beckon/ns-client/sandbox';

const DIR = fileURLToPath(new URL('..', import.meta.url));

/** Runs `node <script> …args` as a user would, with only the environment given (plus PATH). */
async function run(script, args, env = {}) {
  const child = spawn(process.execPath, [script, ...args], {
    cwd: DIR,
    env: { PATH: process.env.PATH, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const [code] = await once(child, 'close'); // 'close': exited and its output fully read
  return { code, stdout, stderr };
}

async function sandboxFor(t) {
  const sandbox = await startNsSandbox();
  t.teardown(() => sandbox.close());
  return { sandbox, env: { NS_API_BASE: sandbox.url, NS_TOKEN: sandbox.token } };
}

const SMS_ARGS = [
  '--domain',
  'example.com',
  '--user',
  '2000',
  '--from',
  '+1 (929) 487-3999',
  '--to',
  '18135551234',
  '--message',
  'Our address: 1 Main St.',
];

// send-sms.mjs

test('send-sms sends the text and prints one line', async (t) => {
  const { sandbox, env } = await sandboxFor(t);
  const { code, stdout, stderr } = await run('send-sms.mjs', SMS_ARGS, env);
  t.is(code, 0, stderr);
  t.is(stderr, '');
  t.like(sandbox.messages, [
    {
      domain: 'example.com',
      user: '2000',
      type: 'sms',
      fromNumber: '19294873999',
      destination: '18135551234',
      message: 'Our address: 1 Main St.',
    },
  ]);
  t.is(sandbox.messages.length, 1);
  t.is(stdout.trim().split('\n').length, 1);
  t.regex(stdout, /^Sent SMS to 18135551234 from 19294873999 \(session \w{32,}\)\.\n$/);
  t.true(stdout.includes(sandbox.messages[0].sessionId));
});

test('send-sms --help prints usage, exits 0 and sends nothing', async (t) => {
  const { sandbox, env } = await sandboxFor(t);
  const { code, stdout } = await run('send-sms.mjs', ['--help'], env);
  t.is(code, 0);
  t.regex(stdout, /^Usage: node send-sms\.mjs/);
  for (const flag of ['--domain', '--user', '--from', '--to', '--message', 'NS_API_BASE', 'NS_TOKEN']) t.true(stdout.includes(flag), flag);
  t.is(sandbox.requests.length, 0);
});

test('send-sms: a missing or unknown option is a usage error, and nothing is sent', async (t) => {
  const { sandbox, env } = await sandboxFor(t);
  const missing = await run('send-sms.mjs', SMS_ARGS.slice(0, -2), env);
  t.is(missing.code, 1);
  t.regex(missing.stderr, /missing --message/);
  t.regex(missing.stderr, /--help/);
  t.is(missing.stdout, '');

  const unknown = await run('send-sms.mjs', [...SMS_ARGS, '--token', 'abc'], env);
  t.is(unknown.code, 1);
  t.regex(unknown.stderr, /Unknown option '--token'/, 'the token cannot be passed as a flag');

  const noEnv = await run('send-sms.mjs', SMS_ARGS, {});
  t.is(noEnv.code, 1);
  t.regex(noEnv.stderr, /NS_API_BASE and NS_TOKEN/);

  const badNumber = await run('send-sms.mjs', [...SMS_ARGS.slice(0, 7), '8135551234', ...SMS_ARGS.slice(8)], env);
  t.is(badNumber.code, 1, 'a ten-digit number without its country code is refused by the client');
  t.is(badNumber.stderr, 'send-sms: --to must be a phone number with its country code, e.g. +18135551234\n');
  t.is(sandbox.requests.length, 0);
});

test('send-sms: a NetSapiens failure exits 1 with its message and no token', async (t) => {
  const { sandbox, env } = await sandboxFor(t);
  sandbox.inject({ route: 'messages.send', status: 500 });
  const { code, stdout, stderr } = await run('send-sms.mjs', SMS_ARGS, env);
  t.is(code, 1);
  t.is(stdout, '');
  t.regex(
    stderr,
    /^send-sms: NetSapiens answered 500 to POST \/ns-api\/v2\/domains\/example\.com\/users\/2000\/messagesessions\/\w+\/messages/,
  );
  t.false(stderr.includes(sandbox.token));
  t.is(sandbox.messages.length, 0);
  t.is(sandbox.requests.length, 1, 'a POST is never retried');
  t.true(sandbox.requests[0].fault);
});

test('send-sms: a refused token exits 1 without printing the token', async (t) => {
  const { sandbox, env } = await sandboxFor(t);
  const wrong = 'wrong-token-5f1d9c0e7b2a';
  const { code, stderr } = await run('send-sms.mjs', SMS_ARGS, { ...env, NS_TOKEN: wrong });
  t.is(code, 1);
  t.regex(stderr, /NetSapiens answered 401/);
  t.false(stderr.includes(wrong));
  t.is(sandbox.messages.length, 0);
});

// queue-call.mjs

test('queue-call queues the call and prints one line', async (t) => {
  const { sandbox, env } = await sandboxFor(t);
  const { code, stdout, stderr } = await run('queue-call.mjs', ['--queue', '9002@example.com', '--to', '+1 (813) 555-1234'], env);
  t.is(code, 0, stderr);
  t.like(sandbox.calls, [{ api: 'v1', queue: '9002@example.com', destination: '+18135551234', status: 'queued' }]);
  t.is(sandbox.calls.length, 1);
  t.is(stdout, 'Queued call: NetSapiens is calling +18135551234 for queue 9002@example.com.\n');
});

test('queue-call completes a bare extension with --domain', async (t) => {
  const { sandbox, env } = await sandboxFor(t);
  const { code, stderr } = await run('queue-call.mjs', ['--queue', '9002', '--domain', 'example.com', '--to', '18135551234'], env);
  t.is(code, 0, stderr);
  t.like(sandbox.calls, [{ queue: '9002@example.com', destination: '+18135551234', status: 'queued' }]);
});

test('queue-call --help, usage errors, and a bare extension without --domain', async (t) => {
  const { sandbox, env } = await sandboxFor(t);
  const help = await run('queue-call.mjs', ['-h'], env);
  t.is(help.code, 0);
  t.regex(help.stdout, /^Usage: node queue-call\.mjs --queue EXT@DOMAIN --to NUMBER/);

  const missing = await run('queue-call.mjs', ['--queue', '9002@example.com'], env);
  t.is(missing.code, 1);
  t.regex(missing.stderr, /missing --to/);

  const stray = await run('queue-call.mjs', ['--queue', '9002@example.com', '--to', '18135551234', 'extra'], env);
  t.is(stray.code, 1);
  t.regex(stray.stderr, /Unexpected argument 'extra'/);

  // NetSapiens would take a bare queue with a 202 and the call would silently fail: the client refuses it.
  const bare = await run('queue-call.mjs', ['--queue', '9002', '--to', '18135551234'], env);
  t.is(bare.code, 1);
  t.regex(bare.stderr, /bare extension/);
  t.is(sandbox.requests.length, 0);
});

test('queue-call: a NetSapiens failure exits 1 with its message and no token', async (t) => {
  const { sandbox, env } = await sandboxFor(t);
  sandbox.inject({ route: 'queuedcall.create', status: 503, body: { code: 503, message: 'Service Unavailable' } });
  const { code, stdout, stderr } = await run('queue-call.mjs', ['--queue', '9002@example.com', '--to', '18135551234'], env);
  t.is(code, 1);
  t.is(stdout, '');
  t.is(stderr, 'queue-call: NetSapiens answered 503 to POST /ns-api/: Service Unavailable\n');
  t.false(stderr.includes(sandbox.token));
  t.is(sandbox.calls.length, 0);
});

// provision-webresponder.mjs

const PROVISION_ARGS = [
  '--domain',
  'example.com',
  '--system-user',
  '8001',
  '--webhook-url',
  'https://beckon.example.net/webresponder?id=example.com-sms',
  '--email',
  'ops@example.com',
];

test('provision-webresponder prints each step, and a second run changes nothing', async (t) => {
  const { sandbox, env } = await sandboxFor(t);
  const first = await run('provision-webresponder.mjs', PROVISION_ARGS, env);
  t.is(first.code, 0, first.stderr);
  t.deepEqual(first.stdout.trim().split('\n'), [
    'user        created',
    'dial rule   created',
    'answer rule updated',
    'Provisioned: calls to 8001@example.com now reach https://beckon.example.net/webresponder?id=example.com-sms',
  ]);
  t.like(sandbox.users, [{ domain: 'example.com', user: '8001', 'email-address': 'ops@example.com' }]);
  t.like(sandbox.dialRules, [
    {
      domain: 'example.com',
      dialplan: 'example.com',
      'dial-rule-matching-to-uri': 'webresponder8001',
      'dial-rule-parameter': 'https://beckon.example.net/webresponder?id=example.com-sms',
    },
  ]);
  t.is(sandbox.dialRules.length, 1);
  const forward = sandbox.answerRules.find((rule) => rule.user === '8001');
  t.deepEqual(forward?.['forward-always']?.parameters, ['webresponder8001']);

  const second = await run('provision-webresponder.mjs', PROVISION_ARGS, env);
  t.is(second.code, 0, second.stderr);
  t.deepEqual(second.stdout.trim().split('\n').slice(0, 3), ['user        exists', 'dial rule   exists', 'answer rule updated']);
  t.is(sandbox.users.length, 1);
  t.is(sandbox.dialRules.length, 1);
});

test('provision-webresponder --help and usage errors', async (t) => {
  const { sandbox, env } = await sandboxFor(t);
  const help = await run('provision-webresponder.mjs', ['--help'], env);
  t.is(help.code, 0);
  for (const flag of ['--domain', '--system-user', '--webhook-url', '--email']) t.true(help.stdout.includes(flag), flag);

  const missing = await run('provision-webresponder.mjs', PROVISION_ARGS.slice(0, 4), env);
  t.is(missing.code, 1);
  t.regex(missing.stderr, /missing --webhook-url, --email/);

  const notHttp = await run(
    'provision-webresponder.mjs',
    [...PROVISION_ARGS.slice(0, 4), '--webhook-url', 'ftp://x', '--email', 'ops@example.com'],
    env,
  );
  t.is(notHttp.code, 1);
  t.regex(notHttp.stderr, /^provision-webresponder: .*webhookUrl/);
  t.is(sandbox.requests.length, 0);
});

test('provision-webresponder: a failed step is printed, the others still run, and it exits 1 without the token', async (t) => {
  const { sandbox, env } = await sandboxFor(t);
  sandbox.inject({ route: 'dialrules.create', status: 500, body: { code: 500, message: 'Internal Error' } });
  const { code, stdout, stderr } = await run('provision-webresponder.mjs', PROVISION_ARGS, env);
  t.is(code, 1);
  const lines = stdout.trim().split('\n');
  t.is(lines[0], 'user        created');
  t.regex(
    lines[1],
    /^dial rule {3}failed: NetSapiens answered 500 to POST \/ns-api\/v2\/domains\/example\.com\/dialplans\/example\.com\/dialrules: Internal Error$/,
  );
  t.is(lines[2], 'answer rule updated');
  t.is(lines.length, 3, 'no success line');
  t.regex(stderr, /1 of 3 steps failed/);
  t.false(stdout.includes(sandbox.token) || stderr.includes(sandbox.token));
  t.is(sandbox.dialRules.length, 0);
});
