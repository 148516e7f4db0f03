// The call's live status after an immediate call: the element opens the server's status stream (a real
// EventSource against the stub's SSE route, driven by the test; see beckon-stub.mjs), shows each step
// in its live region, reports it in `call-us-status`, and closes the stream on a final step and when
// it leaves the page. An older server gives no status token: the element then says what it always did.
import { expect } from '@esm-bundle/chai';
import '../src/call-us-button.js';
import type { CallUsButton } from '../src/call-us-button.js';
import type { CallUsStatusDetail } from '../src/events.js';
import { ENDPOINT, cleanup, clearRequests, fixture, open, part, requests, sleep, statusText, submit, waitFor } from './helpers.js';

interface StreamConnection {
  token: string;
  lastEventId: string;
  open: boolean;
}

/** A call id of its own for each test (both browsers share the stub). */
const newCall = (): string => `call-${Math.random().toString(36).slice(2)}`;

async function connections(call: string): Promise<StreamConnection[]> {
  return (await (await fetch(`/stub/live/${call}/connections`)).json()) as StreamConnection[];
}

/** Sends one step down the call's open streams; `end` then ends them (a dropped connection). */
async function send(call: string, status: string, end = false): Promise<void> {
  await fetch(`/stub/live/${call}/status`, { method: 'POST', body: JSON.stringify({ status, end }) });
}

/** Polls the stub until `check` holds for the call's connections. */
async function until(call: string, check: (all: StreamConnection[]) => boolean, what: string): Promise<StreamConnection[]> {
  const start = performance.now();
  for (;;) {
    const all = await connections(call);
    if (check(all)) return all;
    if (performance.now() - start > 3_000) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(all)}`);
    await sleep(20);
  }
}

/** An element that asked for a call now and is following it (its stream open). */
async function calling(call: string): Promise<{ host: CallUsButton; heard: CallUsStatusDetail[] }> {
  const host = await fixture({ endpoint: ENDPOINT, 'config-id': `live:${call}` });
  const heard: CallUsStatusDetail[] = [];
  host.addEventListener('call-us-status', (event) => heard.push(event.detail));
  await open(host);
  await submit(host, '813 555 1234');
  await until(call, (all) => all.some((connection) => connection.open), 'the status stream');
  return { host, heard };
}

async function step(host: CallUsButton, call: string, status: string, text: string, heard: CallUsStatusDetail[]): Promise<void> {
  const before = heard.length;
  await send(call, status);
  await waitFor(() => heard.length > before, `call-us-status ${status}`);
  await host.updateComplete;
  expect(statusText(host)).to.equal(text);
  expect(part(host, 'status').getAttribute('role')).to.equal('status');
}

describe('live call status', () => {
  beforeEach(clearRequests);
  afterEach(cleanup);

  it('shows each step in the live region and reports it, then closes the stream at the end', async () => {
    const call = newCall();
    const { host, heard } = await calling(call);
    const [connection] = await connections(call);
    expect(connection?.token).to.equal(`st-${call}`);
    expect(statusText(host)).to.equal("We're calling you now.");

    await step(host, call, 'queued', "We're calling you now.", heard);
    await step(host, call, 'ringing', "We're ringing you now.", heard);
    await step(host, call, 'answered', 'Connected.', heard);
    await step(host, call, 'ended', 'The call has ended.', heard);
    expect(heard).to.deep.equal(['queued', 'ringing', 'answered', 'ended'].map((status) => ({ status, callbackId: call })));

    // The stub keeps the stream open after a final step: the element is the one closing it, for good.
    await until(call, (all) => all.every((each) => !each.open), 'the element to close the stream');
    await sleep(800);
    expect(await connections(call)).to.have.length(1);
  });

  it("says when the visitor could not be reached, in the visitor's language", async () => {
    const call = newCall();
    document.documentElement.lang = 'fr';
    try {
      const { host, heard } = await calling(call);
      await step(host, call, 'ringing', 'Votre téléphone sonne.', heard);
      await step(host, call, 'no-answer', "Nous n'avons pas pu vous joindre.", heard);
      await until(call, (all) => all.every((each) => !each.open), 'the element to close the stream');
    } finally {
      document.documentElement.lang = 'en';
    }
  });

  it('ignores a step it does not know and a step heard twice', async () => {
    const call = newCall();
    const { host, heard } = await calling(call);
    await step(host, call, 'ringing', "We're ringing you now.", heard);
    await send(call, 'teleported');
    await send(call, 'ringing');
    await step(host, call, 'answered', 'Connected.', heard);
    expect(heard.map((detail) => detail.status)).to.deep.equal(['ringing', 'answered']);
  });

  it('reconnects by itself after a dropped connection, from the last step it heard', async () => {
    const call = newCall();
    const { host, heard } = await calling(call);
    await step(host, call, 'ringing', "We're ringing you now.", heard);
    await send(call, 'answered', true);
    const all = await until(call, (each) => each.length === 2 && each[1]!.open, 'a second connection');
    expect(all[1]?.lastEventId).to.equal('2');
    await step(host, call, 'ended', 'The call has ended.', heard);
  });

  it('closes the stream when the element leaves the page', async () => {
    const call = newCall();
    const { host, heard } = await calling(call);
    await step(host, call, 'ringing', "We're ringing you now.", heard);
    host.remove();
    await until(call, (all) => all.every((each) => !each.open), 'the element to close the stream');
  });

  it('an older server (no status token): the success message, and no stream', async () => {
    const host = await fixture({ endpoint: ENDPOINT, 'config-id': 'plain' });
    await open(host);
    const success = new Promise((resolve) => host.addEventListener('call-us-success', resolve, { once: true }));
    await submit(host, '813 555 1234');
    await success;
    await sleep(200);
    await host.updateComplete;
    expect(statusText(host)).to.equal("We're calling you now.");
    expect((await requests()).map((request) => `${request.method} ${request.path}`)).to.deep.equal([
      'GET /widget-config',
      'POST /click-to-call',
    ]);
  });
});
