// <call-popup> against a stand-in for the server's live call stream (call-stream-stub.mjs): a real
// EventSource over HTTP, real timers, real focus.
import { expect } from '@esm-bundle/chai';
import { sendKeys } from '@web/test-runner-commands';
import type { CallPopupDismissEvent, CallPopupOpenCustomerEvent, CallPopupShowEvent } from '../src/index.js';
import '../src/call-popup.js';
import { popupStringsFor } from '../src/strings/call-popup/index.js';
import { ENDPOINT, cleanup, nextEvent, nodeName, sleep, track, waitFor } from './helpers.js';
import { newChannel, partText, popupFixture, ringing, toastOf, toasts, waitForOpenStreams, waitForToasts } from './popup-helpers.js';

/** An input on the page, focused, as an agent typing notes elsewhere has it. */
function focusedPageInput(): HTMLInputElement {
  const input = track(document.createElement('input'));
  input.setAttribute('aria-label', 'Notes');
  document.body.prepend(input);
  input.focus();
  return input;
}

describe('<call-popup>', () => {
  afterEach(cleanup);

  it('shows a toast for a ringing call: caller, number, customer, email, and a View customer link to a new tab', async () => {
    const channel = newChannel();
    const host = await popupFixture(channel);
    const shown = nextEvent(host, 'call-popup-show');
    await channel.send(ringing('1'));
    const [toast] = await waitForToasts(host, 1);
    if (!toast) throw new Error('no toast');
    expect(partText(toast, 'label')).to.equal('Incoming call');
    expect(partText(toast, 'caller')).to.equal('Ada Lovelace');
    expect(partText(toast, 'number')).to.equal('+15551230001');
    expect(partText(toast, 'customer')).to.equal('Analytical Engines Ltd');
    expect(partText(toast, 'email')).to.equal('ada@example.com');
    const link = toast.querySelector<HTMLAnchorElement>('[part~="view"]');
    expect(link?.href).to.equal('https://crm.example.com/customers/1');
    expect(link?.target).to.equal('_blank');
    expect(link?.rel).to.equal('noopener noreferrer');
    expect(partText(toast, 'view')).to.equal('View customer (opens in a new tab)');
    expect(partText(toast, 'dismiss')).to.equal('Dismiss');

    const event: CallPopupShowEvent = await shown;
    expect(event.detail.call).to.include({ id: '1', from_name: 'Ada Lovelace', status: 'ringing' });
    expect(event.bubbles && event.composed).to.equal(true);
    const [connection] = await channel.connections();
    expect(connection?.token).to.equal(`${channel.name}:1`);
    expect(connection?.last_event_id).to.equal('');
  });

  it('says "New caller" without a customer, the number without a name, and "Unknown caller" without either', async () => {
    const channel = newChannel();
    const host = await popupFixture(channel);
    const stranger = { customer_id: null, customer_name: null, customer_email: null, customer_url: null };
    await channel.send(ringing('1', { ...stranger, from_name: null }));
    await channel.send(ringing('2', { ...stranger, from_name: null, from_number: null }));
    await channel.send(ringing('3', { customer_name: null, customer_url: null }));
    await waitForToasts(host, 3);
    const [first, second, third] = ['1', '2', '3'].map((id) => toastOf(host, id));
    if (!first || !second || !third) throw new Error('a toast is missing');
    expect(partText(first, 'caller')).to.equal('+15551230001');
    expect(partText(first, 'number')).to.equal('', 'the number is not repeated');
    expect(partText(first, 'customer')).to.equal('New caller');
    expect(first.querySelector('[part~="view"]'), 'no link without a customer URL').to.equal(null);
    expect(partText(second, 'caller')).to.equal('Unknown caller');
    // A customer known by email alone is not a new caller.
    expect(partText(third, 'customer')).to.equal('');
    expect(partText(third, 'email')).to.equal('ada@example.com');
  });

  it('stacks several ringing calls, newest last, and closes each on its own', async () => {
    const channel = newChannel();
    const host = await popupFixture(channel);
    await channel.send(ringing('1'));
    await channel.send(ringing('2', { from_name: 'Grace Hopper' }));
    await channel.send(ringing('3', { from_name: 'Alan Turing' }));
    const stack = await waitForToasts(host, 3);
    expect(stack.map((toast) => partText(toast, 'caller'))).to.deep.equal(['Ada Lovelace', 'Grace Hopper', 'Alan Turing']);
    await channel.send(ringing('2', { status: 'answered' }));
    await waitForToasts(host, 2);
    expect(toasts(host).map((toast) => toast.dataset.call)).to.deep.equal(['1', '3']);
  });

  it('closes a toast when its call is answered, ended, missed or goes to voicemail, saying why', async () => {
    const channel = newChannel();
    const host = await popupFixture(channel);
    const reasons: Record<string, string> = {};
    host.addEventListener('call-popup-dismiss', (event: CallPopupDismissEvent) => {
      reasons[event.detail.call.id] = `${event.detail.reason}/${event.detail.call.status}`;
    });
    for (const id of ['1', '2', '3', '4']) await channel.send(ringing(id));
    await waitForToasts(host, 4);
    await channel.send(ringing('1', { status: 'answered' }));
    await channel.send(ringing('2', { status: 'ended' }));
    await channel.send(ringing('3', { status: 'missed' }));
    await channel.send(ringing('4', { status: 'voicemail' }));
    await waitForToasts(host, 0);
    expect(reasons).to.deep.equal({ '1': 'answered/answered', '2': 'ended/ended', '3': 'ended/missed', '4': 'ended/voicemail' });
  });

  it('closes a toast on Dismiss, firing call-popup-dismiss (bubbling, composed)', async () => {
    const channel = newChannel();
    const host = await popupFixture(channel);
    await channel.send(ringing('1'));
    const [toast] = await waitForToasts(host, 1);
    const dismissed = nextEvent(document, 'call-popup-dismiss');
    toast?.querySelector<HTMLButtonElement>('[part~="dismiss"]')?.click();
    const event = await dismissed;
    expect(event.detail.reason).to.equal('dismissed');
    expect(event.detail.call.id).to.equal('1');
    await waitForToasts(host, 0);
  });

  it('closes a toast after auto-dismiss seconds, but not while focus is in it', async () => {
    const channel = newChannel();
    const host = await popupFixture(channel, { 'auto-dismiss': '0.3' });
    const reasons: string[] = [];
    host.addEventListener('call-popup-dismiss', (event) => reasons.push(event.detail.reason));
    await channel.send(ringing('1'));
    await waitForToasts(host, 1);
    await waitForToasts(host, 0, 2_000);
    expect(reasons).to.deep.equal(['timeout']);

    await channel.send(ringing('2'));
    const [toast] = await waitForToasts(host, 1);
    const dismiss = toast?.querySelector<HTMLButtonElement>('[part~="dismiss"]');
    dismiss?.focus();
    await sleep(600);
    expect(toasts(host).length, 'a focused toast stays').to.equal(1);
    dismiss?.blur();
    await waitForToasts(host, 0, 2_000);
    expect(reasons).to.deep.equal(['timeout', 'timeout']);
  });

  it('keeps toasts with auto-dismiss="0" until the call ends', async () => {
    const channel = newChannel();
    const host = await popupFixture(channel, { 'auto-dismiss': '0' });
    await channel.send(ringing('1'));
    await waitForToasts(host, 1);
    await sleep(300);
    expect(toasts(host).length).to.equal(1);
  });

  it('reconnects after a lost connection: asks streamToken again and resumes after the last event id', async () => {
    const channel = newChannel();
    const host = await popupFixture(channel);
    await channel.send(ringing('1'));
    const lastId = await channel.send(ringing('2'));
    await waitForToasts(host, 2);
    await channel.drop();
    // Sent while the element is away: the next connection must replay it, and only it.
    await channel.send(ringing('1', { status: 'answered' }));
    await channel.send(ringing('3', { from_name: 'Alan Turing' }));
    await waitFor(() => toastOf(host, '3') !== undefined, 'the call sent while disconnected', 5_000);
    expect(toasts(host).map((toast) => toast.dataset.call)).to.deep.equal(['2', '3']);
    expect(channel.tokens).to.deep.equal([`${channel.name}:1`, `${channel.name}:2`]);
    const connections = await channel.connections();
    expect(connections.map((connection) => [connection.token, connection.last_event_id])).to.deep.equal([
      [`${channel.name}:1`, ''],
      [`${channel.name}:2`, String(lastId)],
    ]);
  });

  it('opened while calls ring, shows them at once, and not those already answered or ended', async () => {
    const channel = newChannel();
    await channel.send(ringing('1'));
    await channel.send(ringing('2'));
    await channel.send(ringing('2', { status: 'answered' }));
    await channel.send(ringing('3', { from_name: 'Grace Hopper' }));
    await channel.send(ringing('4'));
    await channel.send(ringing('4', { status: 'ended' }));
    const host = await popupFixture(channel);
    await waitFor(() => toasts(host).length === 2, 'the calls ringing when the popup opened');
    expect(toasts(host).map((toast) => toast.dataset.call)).to.deep.equal(['1', '3']);
    expect(partText(toastOf(host, '3')!, 'caller')).to.equal('Grace Hopper');
  });

  it('a lost connection before any call event resumes from where the stream started, missing nothing', async () => {
    const channel = newChannel();
    const started = await channel.send(ringing('1', { status: 'ended' }));
    const host = await popupFixture(channel);
    await channel.drop();
    await channel.send(ringing('2'));
    await channel.send(ringing('2', { status: 'answered' }));
    let connections = await channel.connections();
    for (const deadline = performance.now() + 5_000; connections.length < 2 && performance.now() < deadline;) {
      await sleep(50);
      connections = await channel.connections();
    }
    expect(connections.map((connection) => connection.last_event_id)).to.deep.equal(['', String(started)]);
    expect(toasts(host).length).to.equal(0);
  });

  it('resumes after the last id when streamToken changes or the element moves; another endpoint starts afresh', async () => {
    const channel = newChannel();
    const host = await popupFixture(channel);
    const lastId = await channel.send(ringing('1'));
    await waitForToasts(host, 1);
    host.streamToken = async () => channel.token();
    await waitFor(() => channel.tokens.length === 2, 'a second connection');
    await waitForOpenStreams(channel, 1);
    host.remove();
    document.body.append(host);
    await waitFor(() => channel.tokens.length === 3, 'a third token');
    // Wait for the third connection itself: changing the endpoint earlier would rightly cancel it.
    for (let tries = 0; (await channel.connections()).length < 3; tries += 1) {
      if (tries > 100) throw new Error('no third connection');
      await sleep(20);
    }
    host.endpoint = `${ENDPOINT}/`;
    await waitFor(() => channel.tokens.length === 4, 'a fourth connection');
    await waitForOpenStreams(channel, 1);
    const connections = await channel.connections();
    expect(connections.map((connection) => connection.last_event_id)).to.deep.equal(['', String(lastId), String(lastId), '']);
  });

  it('retries with a fresh token when the stream refuses one (an expired token is a 401)', async () => {
    const channel = newChannel();
    await channel.refuse(1);
    const host = await popupFixture(channel);
    expect(channel.tokens.length).to.equal(2);
    await channel.send(ringing('1'));
    await waitForToasts(host, 1);
    const connections = await channel.connections();
    expect(connections.map((connection) => connection.open)).to.deep.equal([false, true]);
  });

  it('retries when streamToken throws or gives no token', async () => {
    const channel = newChannel();
    let calls = 0;
    const element = document.createElement('call-popup');
    element.endpoint = ENDPOINT;
    element.streamToken = () => {
      calls += 1;
      if (calls === 1) throw new Error('backend down');
      if (calls === 2) return '';
      return channel.token();
    };
    document.body.append(track(element));
    await waitForOpenStreams(channel, 1, 8_000);
    expect(calls).to.equal(3);
  });

  it('closes its stream when removed from the page, and opens none without endpoint or streamToken', async () => {
    const channel = newChannel();
    const host = await popupFixture(channel);
    host.remove();
    await waitForOpenStreams(channel, 0);

    const idle = newChannel();
    const element = document.createElement('call-popup');
    element.streamToken = idle.token;
    document.body.append(track(element));
    await sleep(200);
    expect(idle.tokens).to.deep.equal([]);
  });

  it('shows markup in a caller name or customer as text, and links only to http(s) URLs', async () => {
    const channel = newChannel();
    const host = await popupFixture(channel);
    const hostile = '<img src=x onerror="window.__pwned=1">';
    await channel.send(
      ringing('1', {
        from_name: hostile,
        customer_name: '<script>window.__pwned=1</script>',
        customer_email: '<b>x</b>@example.com',
        customer_url: 'javascript:window.__pwned=1',
      }),
    );
    await channel.send(ringing('2', { customer_url: 'data:text/html,<script>alert(1)</script>' }));
    const [toast] = await waitForToasts(host, 2);
    if (!toast) throw new Error('no toast');
    expect(partText(toast, 'caller')).to.equal(hostile);
    expect(partText(toast, 'customer')).to.equal('<script>window.__pwned=1</script>');
    expect(host.shadowRoot?.querySelectorAll('img, script, b').length).to.equal(0);
    expect(host.shadowRoot?.querySelectorAll('[part~="view"]').length, 'no link to javascript: or data:').to.equal(0);
    await sleep(50);
    expect((window as unknown as { __pwned?: number }).__pwned).to.equal(undefined);
  });

  it('never moves focus: toasts come and go while the page keeps it', async () => {
    const channel = newChannel();
    const host = await popupFixture(channel);
    const input = focusedPageInput();
    await channel.send(ringing('1'));
    await channel.send(ringing('2'));
    await waitForToasts(host, 2);
    expect(nodeName(document.activeElement)).to.equal('input');
    await channel.send(ringing('1', { status: 'answered' }));
    await waitForToasts(host, 1);
    expect(nodeName(document.activeElement)).to.equal('input');
    expect(input.matches(':focus')).to.equal(true);
  });

  it('is keyboard reachable: Tab reaches View customer then Dismiss; Enter on Dismiss keeps focus in the stack', async () => {
    const channel = newChannel();
    const host = await popupFixture(channel, { 'auto-dismiss': '0' });
    focusedPageInput();
    await channel.send(ringing('1'));
    await channel.send(ringing('2', { customer_url: null }));
    await waitForToasts(host, 2);
    const focused = (): string =>
      nodeName(host.shadowRoot?.activeElement) +
      (host.shadowRoot?.activeElement?.closest('[part~="toast"]') as HTMLElement | null)?.dataset.call;
    await sendKeys({ press: 'Tab' });
    expect(focused()).to.equal('a[part=view]1');
    await sendKeys({ press: 'Tab' });
    expect(focused()).to.equal('button[part=dismiss]1');
    await sendKeys({ press: 'Enter' });
    await waitForToasts(host, 1);
    // The button that had focus is gone: focus goes to the next toast's Dismiss, not to the page's body.
    await waitFor(() => focused() === 'button[part=dismiss]2', 'focus on the remaining toast');
  });

  it('ignores outbound calls, and a replayed ringing for a call already closed', async () => {
    const channel = newChannel();
    const host = await popupFixture(channel);
    await channel.send(ringing('1', { direction: 'outbound' }));
    await channel.send(ringing('2'));
    await waitForToasts(host, 1);
    toastOf(host, '2')?.querySelector<HTMLButtonElement>('[part~="dismiss"]')?.click();
    await waitForToasts(host, 0);
    await channel.send(ringing('2'));
    await channel.send(ringing('3'));
    await waitFor(() => toastOf(host, '3') !== undefined, 'the next call');
    expect(toasts(host).map((toast) => toast.dataset.call)).to.deep.equal(['3']);
  });

  it('updates a ringing toast when the call is matched to a customer while it rings', async () => {
    const channel = newChannel();
    const host = await popupFixture(channel);
    await channel.send(ringing('1', { customer_name: null, customer_email: null, customer_url: null }));
    const [toast] = await waitForToasts(host, 1);
    if (!toast) throw new Error('no toast');
    expect(partText(toast, 'customer')).to.equal('New caller');
    await channel.send(ringing('1'));
    await waitFor(() => partText(toast, 'customer') === 'Analytical Engines Ltd', 'the matched customer');
  });

  it('fires call-popup-open-customer on View customer; cancelling it keeps the link from opening', async () => {
    const channel = newChannel();
    const host = await popupFixture(channel);
    await channel.send(ringing('1'));
    const [toast] = await waitForToasts(host, 1);
    let seen: CallPopupOpenCustomerEvent | undefined;
    host.addEventListener('call-popup-open-customer', (event) => {
      seen = event;
      event.preventDefault();
    });
    const click = new MouseEvent('click', { bubbles: true, composed: true, cancelable: true });
    toast?.querySelector('[part~="view"]')?.dispatchEvent(click);
    expect(seen?.detail.url).to.equal('https://crm.example.com/customers/1');
    expect(seen?.detail.call.id).to.equal('1');
    expect(seen?.bubbles && seen.composed && seen.cancelable).to.equal(true);
    expect(click.defaultPrevented, 'the navigation was cancelled').to.equal(true);
    expect(toasts(host).length, 'the toast stays').to.equal(1);
  });

  it('speaks Spanish and French by lang, and takes overrides through strings', async () => {
    const channel = newChannel();
    const region = track(document.createElement('div'));
    region.lang = 'es-MX';
    document.body.append(region);
    const host = await popupFixture(channel, {}, region);
    await channel.send(ringing('1', { customer_name: null, customer_email: null }));
    const [toast] = await waitForToasts(host, 1);
    if (!toast) throw new Error('no toast');
    expect(partText(toast, 'customer')).to.equal('Llamante nuevo');
    expect(partText(toast, 'dismiss')).to.equal('Descartar');
    expect(host.shadowRoot?.querySelector('[part~="stack"]')?.getAttribute('aria-label')).to.equal('Llamadas entrantes');
    host.lang = 'fr';
    await host.updateComplete;
    expect(partText(toast, 'dismiss')).to.equal('Ignorer');
    host.strings = { dismiss: 'Fermer' };
    await host.updateComplete;
    expect(partText(toast, 'dismiss')).to.equal('Fermer');
  });

  it('marks English as English when the page language has no strings', async () => {
    const channel = newChannel();
    const region = track(document.createElement('div'));
    region.lang = 'de';
    document.body.append(region);
    const host = await popupFixture(channel, {}, region);
    expect(host.shadowRoot?.querySelector('[part~="stack"]')?.getAttribute('lang')).to.equal('en');
  });

  it('has every string translated in Spanish and French', () => {
    const keys = Object.keys(popupStringsFor('en').strings).sort();
    for (const language of ['es', 'fr']) {
      const { strings, matched } = popupStringsFor(language);
      expect(matched).to.equal(true);
      expect(Object.keys(strings).sort()).to.deep.equal(keys);
      for (const [key, value] of Object.entries(strings)) {
        expect(value, `${language}.${key} is translated`).to.not.equal(Reflect.get(popupStringsFor('en').strings, key));
      }
    }
  });
});
