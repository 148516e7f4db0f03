import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { folderWithSandbox } from './helpers.js';
import { copyEmptyPglite } from '../../../examples/shared/pglite-template.mjs';

const cli = new URL('./fixtures/cli.ts', import.meta.url).pathname;
// The child runs in a temporary directory, where a bare `tsx` would not resolve.
const nodeArgs = [`--import=${import.meta.resolve('tsx')}`, '--conditions=@beckon/source', cli];

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `beckon-server` (from source) in a clean directory with only the given environment. */
function runCli(env: Record<string, string>, cwd: string, args: string[] = []): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...nodeArgs, ...args], {
      cwd,
      env: { PATH: process.env.PATH ?? '', ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr })); // 'close': exited and its output fully read
  });
}

test('a missing required variable stops the server with a message naming it', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'beckon-cli-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const result = await runCli({ NS_API_BASE: 'https://ns.example.net', UPDATE_SECRET: 'a-long-enough-secret' }, dir);
  t.is(result.code, 1);
  t.regex(result.stderr, /NS_TOKEN is required/);
  t.notRegex(result.stderr, /a-long-enough-secret/);
});

test('reads .env, listens, answers /health, and stops on SIGTERM', async (t) => {
  const { dir, sandbox } = await folderWithSandbox(t, 'beckon-cli-');
  // The embedded database in ./data, as the server finds it after its first start (a fresh one costs ~3 s of CPU).
  await copyEmptyPglite(join(dir, 'data/pglite'));
  await writeFile(join(dir, '.env'), `NS_API_BASE=${sandbox.url}\nNS_TOKEN=${sandbox.token}\nUPDATE_SECRET=a-long-enough-secret\nPORT=0\n`);
  const child = spawn(process.execPath, nodeArgs, { cwd: dir, env: { PATH: process.env.PATH ?? '' } });
  const url = await new Promise<string>((resolve, reject) => {
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /"url":"(http:\/\/[^"]+)"/.exec(output);
      if (match?.[1]) resolve(match[1]);
    });
    child.on('close', (code) => reject(new Error(`exited ${code}: ${output}`)));
  });
  t.deepEqual(await (await fetch(`${url}/health`)).json(), { status: 'ok' });
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  child.kill('SIGTERM');
  t.is(await exited, 0);
});

test('a DOMAINS_FILE in a folder that does not exist stops start-up, saying which folder', async (t) => {
  const { dir, sandbox } = await folderWithSandbox(t, 'beckon-cli-');
  const missing = join(dir, 'no-such-folder');
  const result = await runCli(
    {
      NS_API_BASE: sandbox.url,
      NS_TOKEN: sandbox.token,
      UPDATE_SECRET: 'a-long-enough-secret',
      PORT: '0',
      DOMAINS_FILE: join(missing, 'domains.json'),
    },
    dir,
  );
  t.is(result.code, 1);
  t.regex(result.stderr, /^beckon-server cannot start\.\n/);
  t.true(result.stderr.includes(`${missing} (the folder of DOMAINS_FILE) does not exist`));
});

test('without PUBLIC_URL, a server whose NetSapiens is elsewhere warns at start that its own address is unreachable', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'beckon-cli-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await copyEmptyPglite(join(dir, 'data/pglite'));
  const child = spawn(process.execPath, nodeArgs, {
    cwd: dir,
    env: {
      PATH: process.env.PATH ?? '',
      NS_API_BASE: 'https://ucportal.example.net',
      NS_TOKEN: 'ns-token',
      UPDATE_SECRET: 'a-long-enough-secret',
      PORT: '0',
    },
  });
  const output = await new Promise<string>((resolve, reject) => {
    let text = '';
    child.stdout.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      if (text.includes('beckon-server listening') && text.includes('\n', text.indexOf('PUBLIC_URL is not set'))) resolve(text);
    });
    child.on('close', (code) => reject(new Error(`exited ${code}: ${text}`)));
  });
  const exited = new Promise((resolve) => child.on('exit', resolve));
  child.kill('SIGTERM');
  await exited;
  const warning = output.split('\n').find((line) => line.includes('PUBLIC_URL is not set'));
  t.like(JSON.parse(warning ?? '{}'), { level: 40 });
});

test('--version prints the package version; an unknown option prints the usage and exits 2', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'beckon-cli-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const { version } = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  const shown = await runCli({}, dir, ['--version']);
  t.is(shown.code, 0);
  t.is(shown.stdout, `beckon-server ${version}\n`);
  const unknown = await runCli({}, dir, ['--nope']);
  t.is(unknown.code, 2);
  t.regex(unknown.stderr, /Unknown option '--nope'[\s\S]*Usage: beckon-server/);
});
