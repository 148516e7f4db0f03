import { readFile } from 'node:fs/promises';
import test from 'ava';
import { DEMO_BECKON_URL, serveExample } from '../serve.mjs';
import { CONFIG_ID, DOMAINS, launchChromium, openPage, startBeckon } from '../../shared/browser-harness.mjs';

const read = (name) => readFile(new URL(`../${name}`, import.meta.url), 'utf8');

test('index.html holds exactly the one tag a site owner pastes, and the README shows that same tag', async (t) => {
  const html = await read('index.html');
  const scripts = html.match(/<script\b[^>]*>/g) ?? [];
  t.is(scripts.length, 1, 'no other script: the tag alone brings the button');
  const tag = scripts[0];
  const src = /\bsrc="([^"]+)"/.exec(tag)?.[1];
  t.is(src, `${DEMO_BECKON_URL}/widget.js?id=${CONFIG_ID}`);
  t.regex(tag, /\sasync\b/, 'async: the page never waits for Beckon');
  t.true((await read('README.md')).includes(`${tag}</script>`), 'the README quotes the tag as it is in the page');
});

test('a visitor clicks the pasted button, types a number, and NetSapiens queues the call', async (t) => {
  const beckon = await startBeckon(t);
  const site = await serveExample({ port: 0, beckonUrl: beckon.url });
  t.teardown(() => site.close());
  t.not(new URL(site.url).origin, new URL(beckon.url).origin, 'the page is on its own origin, as a customer site is');

  const browser = await launchChromium(t);
  const { page, problems } = await openPage(browser);
  await page.goto(site.url);

  const widget = page.locator('call-us-button');
  await widget.waitFor();
  // The loader put the element right after its own <script>, inside the page's contact section.
  const placement = await widget.evaluate((element) => ({
    previous: element.previousElementSibling?.getAttribute('src'),
    section: element.closest('section')?.id,
    endpoint: element.getAttribute('endpoint'),
  }));
  t.deepEqual(placement, { previous: `${beckon.url}/widget.js?id=${CONFIG_ID}`, section: 'contact', endpoint: beckon.url });

  // The id's branding arrives inlined by /widget.js: the label is the one in domains.json.
  const { branding } = DOMAINS[CONFIG_ID];
  await widget.getByRole('button', { name: branding.button_text }).click();
  const dialog = widget.getByRole('dialog');
  await dialog.getByRole('heading', { name: branding.company_name }).waitFor();
  await dialog.getByRole('textbox').fill('(813) 555-1234');
  await dialog.getByRole('button', { name: 'Call me', exact: true }).click();
  await dialog.getByText("We're calling you now.").waitFor({ timeout: 10_000 });

  t.is(beckon.sandbox.calls.length, 1, 'one submit, one call');
  t.like(beckon.sandbox.calls[0], { queue: DOMAINS[CONFIG_ID].queue, destination: '+18135551234', status: 'queued' });
  t.deepEqual(problems, [], 'no console errors on the page');
});
