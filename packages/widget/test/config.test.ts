import { expect } from '@esm-bundle/chai';
import '../src/call-us-button.js';
import { ENDPOINT, cleanup, clearRequests, fixture, loggedRequest, open, part, requests, sleep, waitFor } from './helpers.js';

const label = (element: HTMLElement): string => element.shadowRoot?.querySelector('[part~="button"]')?.textContent?.trim() ?? '';

describe('branding from GET /widget-config', () => {
  beforeEach(clearRequests);
  afterEach(cleanup);

  it('fetches and applies the branding when no branding attribute is set', async () => {
    const element = await fixture({ endpoint: ENDPOINT, 'config-id': 'acme' });
    await waitFor(() => label(element) === 'Ring Acme', 'the fetched button text');
    expect(getComputedStyle(part(element, 'button')).backgroundColor).to.equal('rgb(255, 214, 10)');
    expect(getComputedStyle(part(element, 'button')).color).to.equal('rgb(0, 0, 0)');
    await open(element);
    expect(element.shadowRoot?.querySelector('h2')?.textContent?.trim()).to.equal('Acme Plumbing');
    expect(part<HTMLImageElement>(element, 'logo').src).to.equal(`${location.origin}/stub/logo.svg`);
    const logged = (await requests()).filter((request) => request.path === '/widget-config');
    expect(logged).to.have.length(1);
    expect(logged[0]?.query).to.equal('id=acme');
    expect(logged[0]?.cookie).to.equal('');
  });

  it('accepts an endpoint with a trailing slash', async () => {
    const element = await fixture({ endpoint: `${ENDPOINT}/`, 'config-id': 'acme' });
    await waitFor(() => label(element) === 'Ring Acme', 'the fetched button text');
  });

  it('keeps the fetched branding out when a branding attribute is set, but still asks (for the hours and countries)', async () => {
    // The /widget.js loader sets every branding attribute: a page's own branding is never mixed with the
    // server's, while whether the line is open and which countries it calls can only come from the server.
    const element = await fixture({ endpoint: ENDPOINT, 'config-id': 'acme', 'button-color': '#336699' });
    await loggedRequest((request) => request.path === '/widget-config' && request.query === 'id=acme');
    await sleep(100);
    expect(label(element)).to.equal('Call us');
    await open(element);
    expect(element.shadowRoot?.querySelector('h2')?.textContent?.trim()).to.equal('Request a call');
    expect(element.shadowRoot?.querySelectorAll('img').length).to.equal(0);
  });

  it('does not fetch without an endpoint or a config id', async () => {
    await fixture({ 'config-id': 'acme' });
    await fixture({ endpoint: ENDPOINT });
    await sleep(200);
    expect(await requests()).to.deep.equal([]);
  });

  it('keeps the defaults when the id is unknown (404)', async () => {
    const element = await fixture({ endpoint: ENDPOINT, 'config-id': 'nobody' });
    const logged = await loggedRequest((request) => request.path === '/widget-config');
    expect(logged.query).to.equal('id=nobody');
    await sleep(100);
    expect(label(element)).to.equal('Call us');
    expect(element.shadowRoot?.querySelectorAll('img').length).to.equal(0);
  });

  it('treats fetched branding as text and drops a bad colour and a javascript: logo', async () => {
    const reference = getComputedStyle(part(await fixture(), 'button')).backgroundColor;
    const element = await fixture({ endpoint: ENDPOINT, 'config-id': 'hostile' });
    await waitFor(() => label(element).startsWith('<img'), 'the fetched hostile text');
    expect(label(element)).to.equal('<img src=x onerror="window.__pwned=1">');
    expect(getComputedStyle(part(element, 'button')).backgroundColor).to.equal(reference);
    await open(element);
    expect(element.shadowRoot?.querySelector('h2')?.textContent?.trim()).to.equal('<script>window.__pwned=1</script>');
    expect(element.shadowRoot?.querySelectorAll('img, script').length).to.equal(0);
    expect(Reflect.get(window, '__pwned')).to.equal(undefined);
  });

  it('lets an attribute set later win over fetched branding', async () => {
    const element = await fixture({ endpoint: ENDPOINT, 'config-id': 'acme' });
    await waitFor(() => label(element) === 'Ring Acme', 'the fetched button text');
    element.setAttribute('button-text', 'Our own label');
    await element.updateComplete;
    expect(label(element)).to.equal('Our own label');
  });

  it('refetches for a new config id and drops the old branding', async () => {
    const element = await fixture({ endpoint: ENDPOINT, 'config-id': 'acme' });
    await waitFor(() => label(element) === 'Ring Acme', 'the fetched button text');
    element.setAttribute('config-id', 'nobody');
    await element.updateComplete;
    expect(label(element)).to.equal('Call us');
    await loggedRequest((request) => request.query === 'id=nobody');
    await sleep(100);
    expect(label(element)).to.equal('Call us');
  });
});
