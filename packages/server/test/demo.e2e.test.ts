import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { launchChromium } from './browser.js';

const cli = new URL('./fixtures/cli.ts', import.meta.url).pathname;

test('npm start\'s demo: the page\'s widget places a call that the page then lists', async (t) => {
  const data = await mkdtemp(join(tmpdir(), 'beckon-demo-'));
  // No NetSapiens settings at all: demo mode brings its own sandbox, config and secrets.
  const child = spawn(process.execPath, [`--import=${import.meta.resolve('tsx')}`, '--conditions=@beckon/source', cli, '--demo'], {
    env: { PATH: process.env.PATH ?? '', PORT: '0', BECKON_DATA_DIR: data, LOG_LEVEL: 'warn' },
  });
  t.teardown(async () => {
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
    await rm(data, { recursive: true, force: true });
  });
  const page = await new Promise<string>((resolve, reject) => {
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /Demo page\s+(http:\/\/\S+)/.exec(output);
      if (match?.[1]) resolve(match[1]);
    });
    child.once('exit', (code) => reject(new Error(`demo exited ${code}: ${output}`)));
  });

  const browser = await launchChromium();
  t.teardown(() => browser.close());
  const tab = await browser.newPage();
  const problems: string[] = [];
  tab.on('pageerror', (error) => problems.push(error.message));
  tab.on('console', (message) => {
    if (message.type() === 'error') problems.push(message.text());
  });
  await tab.goto(page);
  const widget = tab.locator('call-us-button');
  await widget.locator('[part~="button"]').click();
  await widget.getByRole('textbox').fill('(813) 555-1234');
  await widget.getByRole('textbox').press('Enter');
  await widget.getByText("We're calling you now").waitFor();
  const listed = tab.locator('#events li.call');
  await listed.waitFor();
  t.regex((await listed.textContent()) ?? '', /queued call to \+18135551234, into queue 9002@example\.com/);

  await tab.keyboard.press('Escape');
  await tab.getByRole('button', { name: 'Simulate a call' }).click();
  await tab.locator('#events li.text').waitFor();
  t.regex((await tab.locator('#events li.text').textContent()) ?? '', /text to 18135550199 from 19295550100/);
  t.deepEqual(problems, []);
});
