import { expect } from '@esm-bundle/chai';
import type { CallUsButton } from '../src/call-us-button.js';
import type { CallUsErrorDetail } from '../src/events.js';
import '../src/call-us-button.js';
import { isPlausiblePhoneNumber } from '../src/validate.js';
import {
  ENDPOINT,
  cleanup,
  clearRequests,
  fixture,
  nextEvent,
  nodeName,
  open,
  part,
  requests,
  sleep,
  statusText,
  submit,
  track,
  waitFor,
} from './helpers.js';

const posts = async (): Promise<number> => (await requests()).filter((request) => request.method === 'POST').length;

/** Opens an element for the stub's `configId`, submits `phone`, and waits for the `call-us-error` that follows. */
async function failedSubmit(configId: string, phone = '813 555 1234'): Promise<{ element: CallUsButton; detail: CallUsErrorDetail }> {
  const element = await fixture({ endpoint: ENDPOINT, 'config-id': configId });
  await open(element);
  const failure = nextEvent(element, 'call-us-error');
  await submit(element, phone);
  return { element, detail: (await failure).detail };
}

describe('the call request', () => {
  beforeEach(clearRequests);
  afterEach(cleanup);

  it('quick-checks numbers: 7–20 characters of digits, spaces and ()+-. with at least 7 digits', () => {
    for (const good of ['8135551234', '(813) 555-1234', '+1 813.555.1234', '555 1234', '+44 20 7946 0958']) {
      expect(isPlausiblePhoneNumber(good), good).to.equal(true);
    }
    for (const bad of ['', '123456', '12-34-5', '+1 (813) 555-1234 x99', '813555123412345678901', 'call me', '813 555 12a4', '(((( ))))']) {
      expect(isPlausiblePhoneNumber(bad), bad).to.equal(false);
    }
  });

  it('refuses an implausible number inline, without sending anything', async () => {
    const element = await fixture({ endpoint: ENDPOINT, 'config-id': 'plain' });
    let submitted = 0;
    element.addEventListener('call-us-submit', () => (submitted += 1));
    await open(element);
    const input = part<HTMLInputElement>(element, 'input');
    const error = part(element, 'error');
    expect(input.getAttribute('aria-invalid')).to.equal('false');
    expect(error.hidden).to.equal(true);
    for (const value of ['', 'abc', '12345']) {
      await submit(element, value);
      await element.updateComplete;
      expect(input.getAttribute('aria-invalid'), value).to.equal('true');
      expect(error.hidden).to.equal(false);
      expect(input.getAttribute('aria-describedby')).to.equal(error.id);
      expect(error.textContent?.trim()).to.equal('Please enter a valid phone number (at least 7 digits).');
      expect(nodeName(element.shadowRoot?.activeElement), 'focus back on the input').to.equal('input[part=input]');
    }
    await sleep(50);
    expect(submitted).to.equal(0);
    expect(await posts()).to.equal(0);
    // Editing the refused value withdraws the message.
    input.value = '813';
    input.dispatchEvent(new Event('input'));
    await element.updateComplete;
    expect(input.getAttribute('aria-invalid')).to.equal('false');
    expect(input.hasAttribute('aria-describedby')).to.equal(false);
  });

  it('POSTs {id, phone_number} as JSON without cookies and reports success', async () => {
    document.cookie = 'beckon_test=secret; path=/';
    try {
      const element = await fixture({ endpoint: ENDPOINT, 'config-id': 'plain' });
      await open(element);
      const success = nextEvent(element, 'call-us-success');
      await submit(element, '  (813) 555-1234 ');
      expect((await success).detail).to.deep.equal({ phoneNumber: '(813) 555-1234' });
      await element.updateComplete;
      expect(statusText(element)).to.equal("We're calling you now.");
      expect(part(element, 'cancel').textContent?.trim()).to.equal('Close');
      const [post] = (await requests()).filter((request) => request.method === 'POST');
      expect(post?.path).to.equal('/click-to-call');
      expect(post?.contentType).to.equal('application/json');
      expect(JSON.parse(post?.body ?? '')).to.deep.equal({ id: 'plain', phone_number: '(813) 555-1234' });
      expect(post?.cookie).to.equal('');
    } finally {
      document.cookie = 'beckon_test=; path=/; max-age=0';
    }
  });

  it('sends a Turnstile token from the page when given one, asked for afresh on every submit', async () => {
    const element = await fixture({ endpoint: ENDPOINT, 'config-id': 'plain' });
    let issued = 0;
    element.turnstileToken = async () => `token-${(issued += 1)}`;
    await open(element);
    const success = nextEvent(element, 'call-us-success');
    await submit(element, '813 555 1234');
    await success;
    const [post] = (await requests()).filter((request) => request.method === 'POST');
    expect(JSON.parse(post?.body ?? '')).to.deep.equal({ id: 'plain', phone_number: '813 555 1234', turnstile_token: 'token-1' });
    expect(issued).to.equal(1);
  });

  it('shows the generic error and sends nothing when the page cannot give a token', async () => {
    const element = await fixture({ endpoint: ENDPOINT, 'config-id': 'plain' });
    element.turnstileToken = () => Promise.reject(new Error('challenge failed'));
    await open(element);
    const failure = nextEvent(element, 'call-us-error');
    await submit(element, '813 555 1234');
    expect((await failure).detail).to.deep.equal({ message: 'Something went wrong. Please try again later.' });
    expect(await posts()).to.equal(0);
  });

  it('works against a server on another origin (CORS, no credentials)', async () => {
    const crossOrigin = ENDPOINT.replace('//localhost:', '//127.0.0.1:');
    expect(crossOrigin).to.not.equal(ENDPOINT);
    const element = await fixture({ endpoint: crossOrigin, 'config-id': 'plain' });
    await open(element);
    const success = nextEvent(element, 'call-us-success');
    await submit(element, '813 555 1234');
    await success;
    const logged = await requests();
    expect(logged.map((request) => request.method)).to.include.members(['OPTIONS', 'POST']);
    expect(logged.find((request) => request.method === 'POST')?.origin).to.equal(location.origin);
  });

  it('shows a server error by its code, and passes the code on in the event', async () => {
    const { element, detail } = await failedSubmit('plain', '1-900-555-0100');
    expect(detail).to.deep.equal({ message: 'Sorry, we cannot call that number.', status: 400, code: 'number_not_allowed' });
    await element.updateComplete;
    expect(statusText(element)).to.equal('Sorry, we cannot call that number.');
  });

  it("shows the server's own message for a code it does not know", async () => {
    const { detail } = await failedSubmit('newer');
    expect(detail).to.deep.equal({ message: 'A message from a newer server.', status: 400, code: 'something_new' });
  });

  it('shows the server message for an unknown id (404)', async () => {
    const { detail } = await failedSubmit('nobody');
    expect(detail).to.deep.equal({ message: 'This call button is not configured.', status: 404, code: 'not_configured' });
  });

  it('uses its own "too many requests" text for a 429', async () => {
    const { element, detail } = await failedSubmit('busy');
    const expected = 'Too many requests. Please try again in a few minutes.';
    expect(detail).to.deep.equal({ message: expected, status: 429, code: 'rate_limited' });
    await element.updateComplete;
    expect(statusText(element)).to.equal(expected);
  });

  it('uses the generic text for a non-JSON answer', async () => {
    const { detail } = await failedSubmit('broken');
    expect(detail).to.deep.equal({ message: 'Something went wrong. Please try again later.', status: 502 });
  });

  it('uses the generic text, without a status, for a network error', async () => {
    const { element, detail } = await failedSubmit('drop');
    expect(detail.message).to.equal('Something went wrong. Please try again later.');
    expect('status' in detail).to.equal(false);
    await element.updateComplete;
    expect(statusText(element)).to.equal('Something went wrong. Please try again later.');
  });

  it('sends nothing and shows the generic text when endpoint or config-id is missing', async () => {
    const incomplete: Record<string, string>[] = [{ 'config-id': 'plain' }, { endpoint: ENDPOINT }];
    for (const attributes of incomplete) {
      const element = await fixture(attributes);
      await open(element);
      const failure = nextEvent(element, 'call-us-error');
      await submit(element, '813 555 1234');
      expect((await failure).detail).to.deep.equal({ message: 'Something went wrong. Please try again later.' });
      cleanup();
    }
    expect(await posts()).to.equal(0);
  });

  it('never submits twice: submit is disabled and busy while sending, and extra submits are ignored', async () => {
    const element = await fixture({ endpoint: ENDPOINT, 'config-id': 'slow' });
    await open(element);
    let submitted = 0;
    element.addEventListener('call-us-submit', () => (submitted += 1));
    const success = nextEvent(element, 'call-us-success');
    await submit(element, '813 555 1234');
    await element.updateComplete;
    const button = part<HTMLButtonElement>(element, 'submit');
    expect(button.disabled).to.equal(true);
    expect(button.getAttribute('aria-busy')).to.equal('true');
    expect(statusText(element)).to.equal('Sending your request…');
    // Focus stays inside the dialog although the focused submit button was disabled.
    expect(nodeName(element.shadowRoot?.activeElement)).to.equal('input[part=input]');
    button.click();
    element.shadowRoot?.querySelector('form')?.requestSubmit();
    await success;
    await element.updateComplete;
    expect(submitted).to.equal(1);
    expect(await posts()).to.equal(1);
    expect(button.disabled).to.equal(false);
    expect(button.getAttribute('aria-busy')).to.equal('false');
  });

  it('finishes a request even when the dialog was closed meanwhile', async () => {
    const element = await fixture({ endpoint: ENDPOINT, 'config-id': 'slow' });
    await open(element);
    const success = nextEvent(element, 'call-us-success');
    await submit(element, '813 555 1234');
    element.hide();
    await waitFor(() => !part<HTMLDialogElement>(element, 'dialog').open, 'the dialog to close');
    expect((await success).detail.phoneNumber).to.equal('813 555 1234');
    // Opened again, it starts afresh.
    await open(element);
    await element.updateComplete;
    expect(statusText(element)).to.equal('');
  });
});

describe('events', () => {
  beforeEach(clearRequests);
  afterEach(cleanup);

  it('dispatches every event, bubbling and composed, with its detail', async () => {
    // Inside another shadow root: only bubbling *and* composed events reach the document.
    const wrapper = track(document.createElement('div'));
    document.body.append(wrapper);
    const element = await fixture({ endpoint: ENDPOINT, 'config-id': 'plain' }, wrapper.attachShadow({ mode: 'open' }));
    const seen: Event[] = [];
    const targets: boolean[] = [];
    const names = ['call-us-open', 'call-us-submit', 'call-us-success', 'call-us-error', 'call-us-close'] as const;
    const record = (event: Event): void => {
      seen.push(event);
      // The composed path exists only while the event is being dispatched.
      targets.push(event.composedPath()[0] === element);
    };
    for (const name of names) document.addEventListener(name, record);
    try {
      await open(element);
      await submit(element, '813');
      await submit(element, '813 555 1234');
      await waitFor(() => seen.some((event) => event.type === 'call-us-success'), 'call-us-success');
      element.setAttribute('config-id', 'busy');
      await submit(element, '813 555 1234');
      await waitFor(() => seen.some((event) => event.type === 'call-us-error'), 'call-us-error');
      part(element, 'cancel').click();
      await waitFor(() => seen.some((event) => event.type === 'call-us-close'), 'call-us-close');
    } finally {
      for (const name of names) document.removeEventListener(name, record);
    }
    expect(seen.map((event) => event.type)).to.deep.equal([
      'call-us-open',
      'call-us-submit',
      'call-us-success',
      'call-us-submit',
      'call-us-error',
      'call-us-close',
    ]);
    for (const event of seen) {
      expect(event instanceof CustomEvent, event.type).to.equal(true);
      expect(event.bubbles, event.type).to.equal(true);
      expect(event.composed, event.type).to.equal(true);
    }
    expect(targets, 'dispatched on the element itself').to.deep.equal(seen.map(() => true));
    const details = seen.map((event) => (event as CustomEvent<unknown>).detail);
    expect(details).to.deep.equal([
      {},
      { phoneNumber: '813 555 1234' },
      { phoneNumber: '813 555 1234' },
      { phoneNumber: '813 555 1234' },
      { message: 'Too many requests. Please try again in a few minutes.', status: 429, code: 'rate_limited' },
      {},
    ]);
  });

  it('types events on HTMLElementEventMap, DocumentEventMap and WindowEventMap', async () => {
    const element: CallUsButton = await fixture({ endpoint: ENDPOINT, 'config-id': 'plain' });
    const numbers: string[] = [];
    // Compiles (tsc -b checks these tests) only because the detail type is declared on each map.
    const onDocument = (event: DocumentEventMap['call-us-success']) => numbers.push(`document ${event.detail.phoneNumber}`);
    const onWindow = (event: WindowEventMap['call-us-success']) => numbers.push(`window ${event.detail.phoneNumber}`);
    element.addEventListener('call-us-success', (event) => numbers.push(event.detail.phoneNumber.toUpperCase()));
    document.addEventListener('call-us-success', onDocument);
    window.addEventListener('call-us-success', onWindow);
    try {
      await open(element);
      await submit(element, '813 555 1234');
      await waitFor(() => numbers.length === 3, 'the success event, heard three times');
      expect(numbers).to.deep.equal(['813 555 1234', 'document 813 555 1234', 'window 813 555 1234']);
    } finally {
      document.removeEventListener('call-us-success', onDocument);
      window.removeEventListener('call-us-success', onWindow);
    }
  });
});

describe('several instances', () => {
  beforeEach(clearRequests);
  afterEach(cleanup);

  it('work independently on one page', async () => {
    const first = await fixture({ endpoint: ENDPOINT, 'config-id': 'plain', 'button-text': 'First' });
    const second = await fixture({ endpoint: ENDPOINT, 'config-id': 'busy', 'button-text': 'Second' });
    const secondEvents: string[] = [];
    for (const name of ['call-us-open', 'call-us-submit', 'call-us-success', 'call-us-error'] as const) {
      second.addEventListener(name, (event) => secondEvents.push(event.type));
    }
    await open(first);
    expect(part<HTMLDialogElement>(second, 'dialog').open).to.equal(false);
    const success = nextEvent(first, 'call-us-success');
    await submit(first, '813 555 1234');
    await success;
    await first.updateComplete;
    expect(statusText(first)).to.equal("We're calling you now.");
    expect(statusText(second)).to.equal('');
    expect(secondEvents).to.deep.equal([]);
    first.hide();
    await waitFor(() => !part<HTMLDialogElement>(first, 'dialog').open, 'the first dialog to close');

    await open(second);
    const failure = nextEvent(second, 'call-us-error');
    await submit(second, '813 555 0000');
    await failure;
    await second.updateComplete;
    expect(statusText(second)).to.equal('Too many requests. Please try again in a few minutes.');
    expect(secondEvents).to.deep.equal(['call-us-open', 'call-us-submit', 'call-us-error']);
    const bodies = (await requests()).filter((request) => request.method === 'POST').map((request) => JSON.parse(request.body) as unknown);
    expect(bodies).to.deep.equal([
      { id: 'plain', phone_number: '813 555 1234' },
      { id: 'busy', phone_number: '813 555 0000' },
    ]);
    // Same ids inside each shadow root, no clash: each label still points at its own input.
    expect(part<HTMLInputElement>(first, 'input').labels?.length).to.equal(1);
    expect(part<HTMLInputElement>(second, 'input').labels?.length).to.equal(1);
  });
});
