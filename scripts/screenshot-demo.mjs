// Regenerates docs/images/demo.png from the real demo: starts `beckon-server --demo`, plays the four
// flows in Chromium, and screenshots the page while the incoming call's toast shows. Run after `npm run build`: node scripts/screenshot-demo.mjs
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { chromiumLaunchOptions } from '../examples/shared/chromium.mjs';

const data = mkdtempSync(join(tmpdir(), 'beckon-shot-'));
const server = spawn(process.execPath, ['packages/server/bin/beckon-server.js', '--demo'], {
  env: { ...process.env, PORT: '0', DATA_DIR: data, LOG_LEVEL: 'warn' },
});
const url = await new Promise((resolve, reject) => {
  let output = '';
  server.stdout.on('data', (chunk) => {
    output += chunk;
    const match = /Demo page\s+(http:\/\/\S+)/.exec(output);
    if (match) resolve(match[1]);
  });
  server.once('exit', () => reject(new Error(output)));
});
const browser = await chromium.launch(chromiumLaunchOptions());
try {
  const page = await browser.newPage({ viewport: { width: 1000, height: 1100 } });
  await page.goto(url);
  const widget = page.locator('call-us-button');
  await widget.locator('[part~="button"]').click();
  await widget.getByRole('textbox').fill('(813) 555-1234');
  await widget.getByRole('textbox').press('Enter');
  await page.locator('#events li.call').waitFor();
  await page.keyboard.press('Escape');
  await page.getByRole('button', { name: 'Simulate a call' }).click();
  await page.locator('#events li.text').waitFor();
  await page.getByRole('button', { name: 'Submit the SMS form' }).click();
  await page.locator('#events li.provision').first().waitFor();
  // The call rings 10 s rather than 5 s: time enough for the screenshot on a busy machine.
  await page.route('**/demo/incoming-call', (route) => route.continue({ postData: JSON.stringify({ step_ms: 10_000 }) }));
  await page.getByRole('button', { name: 'Simulate an incoming call' }).click();
  await page.locator('call-popup [part~="toast"]').waitFor();
  await page.locator('#events li.delivery').waitFor();
  // The toast is fixed to the viewport's corner: the viewport takes the whole page, so it shows in place.
  const height = await page.evaluate('document.documentElement.scrollHeight');
  await page.setViewportSize({ width: 1000, height });
  await page.screenshot({ path: 'docs/images/demo.png', fullPage: true });
  console.log('wrote docs/images/demo.png');
} finally {
  await browser.close();
  server.kill('SIGTERM');
  rmSync(data, { recursive: true, force: true });
}
