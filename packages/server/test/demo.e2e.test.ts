import { spawn } from 'node:child_process';
import { request } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { launchChromium } from './browser.js';
import { eventually, serveForTest } from './helpers.js';

const cli = new URL('./fixtures/cli.ts', import.meta.url).pathname;

test("npm start's demo: the page's widget places a call that the page then lists; an incoming call pops up with the demo customer", async (t) => {
  // A process with its embedded database, Chromium and four flows: past ava's 30 s on a loaded machine.
  t.timeout(120_000);
  const data = await mkdtemp(join(tmpdir(), 'beckon-demo-'));
  // No NetSapiens settings at all: demo mode brings its own sandbox, config and secrets.
  const child = spawn(process.execPath, [`--import=${import.meta.resolve('tsx')}`, '--conditions=@beckon/source', cli, '--demo'], {
    // BECKON_DATA_DIR, DATA_DIR's deprecated name: still honoured (with a warning).
    env: { PATH: process.env.PATH ?? '', PORT: '0', BECKON_DATA_DIR: data, LOG_LEVEL: 'warn' },
  });
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
    }
    await rm(data, { recursive: true, force: true });
  });
  let output = '';
  const page = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /Demo page\s+(http:\/\/\S+)/.exec(output);
      if (match?.[1]) resolve(match[1]);
    });
    child.once('close', (code) => reject(new Error(`demo exited ${code}: ${output}`)));
  });
  t.true(output.includes(`${join(data, 'pglite')}  (embedded)`), 'the embedded database is in the data folder');
  t.true(await eventually(() => output.includes('BECKON_DATA_DIR is deprecated: set DATA_DIR instead')));

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

  // The SMS form button: provisioning shows up in the list.
  await tab.getByRole('button', { name: /SMS form/ }).click();
  await tab.locator('#events li.provision').first().waitFor();
  await tab.locator('#form-result').getByText('"dial_rule": "created"').waitFor();
  // NetSapiens now calls the signed URL of the dial rule: the next caller is texted through it.
  await tab.locator('#simulate-call input[name="caller"]').fill('(813) 555-0198');
  await tab.getByRole('button', { name: 'Simulate a call' }).click();
  await tab.locator('#events li.text', { hasText: 'text to 18135550198' }).waitFor();
  t.regex((await tab.locator('#call-result').textContent()) ?? '', /answered NetSapiens \(200\)/);

  // An incoming call: the sandbox posts its states to the subscription made at start, and <call-popup>
  // (with a stream token for the demo app) shows the matched customer until the call is answered.
  // The states come 1.5 s apart here rather than the page's 5 s.
  await tab.route('**/demo/incoming-call', (route) =>
    route.continue({ postData: JSON.stringify({ ...(route.request().postDataJSON() as object), step_ms: 1_500 }) }),
  );
  await tab.getByRole('button', { name: 'Simulate an incoming call' }).click();
  const toast = tab.locator('call-popup [part~="toast"]');
  await toast.waitFor();
  t.is(await toast.locator('[part~="caller"]').textContent(), 'WIRELESS CALLER');
  t.is(await toast.locator('[part~="customer"]').textContent(), 'Dana Reyes');
  t.is(await toast.locator('[part~="email"]').textContent(), 'dana.reyes@example.com');
  t.is(await toast.getByRole('link', { name: /View customer/ }).getAttribute('href'), 'https://example.com/customers/dana-reyes');
  await tab.locator('#events li.delivery', { hasText: 'call ringing: from 18135550142 (WIRELESS CALLER) to 2000@example.com' }).waitFor();
  await tab.locator('#incoming-result').getByText('Dana Reyes is calling from +18135550142').waitFor();
  await toast.waitFor({ state: 'detached' });
  await tab.locator('#events li.delivery', { hasText: 'call ended' }).waitFor();
  t.regex((await tab.locator('#events li.subscription').textContent()) ?? '', /webhook gets the calls of example\.com/);

  // The same customer calling a business on RingCentral: the stand-in posts detailed presence to the
  // RingCentral webhook (subscribed at start, with its verification token), and the popup shows her.
  await tab.getByRole('button', { name: 'Simulate a RingCentral call' }).click();
  await toast.waitFor();
  t.is(await toast.locator('[part~="customer"]').textContent(), 'Dana Reyes');
  await tab
    .locator('#events li.ringcentral', { hasText: "call Ringing from +18135550142 (WIRELESS CALLER), posted to Beckon's webhook (200)" })
    .waitFor();
  await tab.locator('#incoming-result').getByText('The RingCentral stand-in rings').waitFor();
  await toast.waitFor({ state: 'detached' });
  await tab.locator('#events li.ringcentral', { hasText: 'call NoCall' }).waitFor();
  t.deepEqual(problems, []);

  // A client naming another host (Host, Origin) never gets the forms' secret sent to it.
  const received: string[] = [];
  const { url: trapUrl } = await serveForTest(t, (request, response) => {
    received.push(String(request.headers['x-update-secret']));
    response.end('{}');
  });
  const origin = new URL(page).origin;
  const spoofed = await httpPost(`${origin}/demo/sms-form`, {
    host: new URL(trapUrl).host,
    origin: trapUrl,
    'content-type': 'application/json',
  });
  t.is(spoofed, 200, 'posted to the server itself');
  // A page on another site cannot send JSON without a preflight: a simple form post is refused.
  t.is(await httpPost(`${origin}/demo/sms-form`, { origin: trapUrl, 'content-type': 'application/x-www-form-urlencoded' }), 415);
  // Nor get a stream token, or ring the demo's phone.
  t.is(await httpPost(`${origin}/demo/stream-token`, { origin: trapUrl, 'content-type': 'application/x-www-form-urlencoded' }), 415);
  t.is(await httpPost(`${origin}/demo/incoming-call`, { origin: trapUrl, 'content-type': 'text/plain' }), 415);
  t.deepEqual(received, []);
});

/** A POST with exactly these headers (fetch() will not send a chosen Host). */
function httpPost(url: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const body = headers['content-type'] === 'application/json' ? '{}' : '';
    const req = request(url, { method: 'POST', headers: { ...headers, 'content-length': String(body.length) } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(body);
  });
}
