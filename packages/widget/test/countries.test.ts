// Any country: an id whose /widget-config lists several countries gets a country picker; a national
// number is sent with the picked country's calling code, and the quick check uses that country's lengths.
import { expect } from '@esm-bundle/chai';
import '../src/call-us-button.js';
import type { CallUsButton } from '../src/call-us-button.js';
import {
  ENDPOINT,
  cleanup,
  clearRequests,
  fixture,
  loggedRequest,
  nextEvent,
  open,
  part,
  requests,
  sleep,
  submit,
  waitFor,
} from './helpers.js';

const options = (host: CallUsButton): string[] =>
  [...part<HTMLSelectElement>(host, 'country').options].map((option) => `${option.value} ${option.textContent?.trim() ?? ''}`);

/** A button for `id` whose countries have arrived (its picker or its placeholder shows them). */
async function countryFixture(id: string, attributes: Record<string, string> = {}): Promise<CallUsButton> {
  const host = await fixture({ endpoint: ENDPOINT, 'config-id': id, ...attributes });
  await waitFor(() => !!host.shadowRoot?.querySelector('[part~="input"][placeholder]'), 'the countries from /widget-config');
  return host;
}

const posted = async (): Promise<unknown> => JSON.parse((await loggedRequest((request) => request.method === 'POST')).body);

function pick(host: CallUsButton, code: string): void {
  const select = part<HTMLSelectElement>(host, 'country');
  select.value = code;
  select.dispatchEvent(new Event('change', { bubbles: true }));
}

describe('country picker', () => {
  beforeEach(clearRequests);
  afterEach(cleanup);

  it("lists the id's countries by name with their calling code, the default first, the rest by name; labelled; no flags", async () => {
    const host = await countryFixture('abroad');
    await open(host);
    expect(options(host)).to.deep.equal(['FR France (+33)', 'BE Belgium (+32)', 'DE Germany (+49)', 'US United States (+1)']);
    const select = part<HTMLSelectElement>(host, 'country');
    expect(select.value).to.equal('FR');
    expect(select.labels?.[0]?.textContent?.trim()).to.equal('Country');
    expect(select.querySelectorAll('img, svg').length).to.equal(0);
    expect(part<HTMLInputElement>(host, 'input').placeholder).to.equal('06 12 34 56 78');
  });

  it("names the countries in the dialog's language", async () => {
    const es = await countryFixture('abroad', { lang: 'es-MX' });
    expect(options(es).map((option) => option.slice(3))).to.deep.equal([
      'Francia (+33)',
      'Alemania (+49)',
      'Bélgica (+32)',
      'Estados Unidos (+1)',
    ]);
    const fr = await countryFixture('abroad', { lang: 'fr' });
    expect(options(fr).map((option) => option.slice(3))).to.deep.equal([
      'France (+33)',
      'Allemagne (+49)',
      'Belgique (+32)',
      'États-Unis (+1)',
    ]);
    // English stands in for German, and marks itself so: the names follow it.
    const de = await countryFixture('abroad', { lang: 'de' });
    expect(options(de)[1]).to.equal('BE Belgium (+32)');
  });

  it('the placeholder follows the picked country', async () => {
    const host = await countryFixture('abroad');
    await open(host);
    pick(host, 'BE');
    await host.updateComplete;
    expect(part<HTMLInputElement>(host, 'input').placeholder).to.equal('0450 00 12 34');
    pick(host, 'US');
    await host.updateComplete;
    expect(part<HTMLInputElement>(host, 'input').placeholder).to.equal('(201) 555-0123');
  });

  it("sends a national number with the picked country's calling code, and says which country in its events", async () => {
    const host = await countryFixture('abroad');
    await open(host);
    const submitted = nextEvent(host, 'call-us-submit');
    const succeeded = nextEvent(host, 'call-us-success');
    await submit(host, '06 12 34 56 78');
    expect((await submitted).detail).to.deep.equal({ phoneNumber: '06 12 34 56 78', country: 'FR' });
    expect(await posted()).to.deep.equal({ id: 'abroad', phone_number: '+330612345678' });
    expect((await succeeded).detail).to.deep.equal({ phoneNumber: '06 12 34 56 78', country: 'FR' });
  });

  it("sends another picked country's number with its code", async () => {
    const host = await countryFixture('abroad');
    await open(host);
    pick(host, 'US');
    await submit(host, '(201) 555-0123');
    expect(await posted()).to.deep.equal({ id: 'abroad', phone_number: '+12015550123' });
  });

  it('sends an international number (+ or 00) as it is, whatever country is picked', async () => {
    const host = await countryFixture('abroad');
    await open(host);
    await submit(host, '+44 7400 123456');
    expect(await posted()).to.deep.equal({ id: 'abroad', phone_number: '+447400123456' });
    await clearRequests();
    await submit(host, '0044 (7400) 123-456');
    expect(await posted()).to.deep.equal({ id: 'abroad', phone_number: '+447400123456' });
  });

  it("quick-checks against the picked country's lengths, with an example of a number there", async () => {
    const host = await countryFixture('abroad');
    await open(host);
    const error = part(host, 'error');
    for (const [code, refused, accepted] of [
      ['FR', '06 12 34 5', '06 12 34 56 78'],
      ['FR', '06 12 34 56 78 90 12', '6 12 34 56 78'],
      ['BE', '0450 00', '0450 00 12 34'],
      ['US', '555 0123', '1 (201) 555-0123'],
    ] as const) {
      pick(host, code);
      await submit(host, refused);
      await host.updateComplete;
      expect(error.hidden, `${code} ${refused} refused`).to.equal(false);
      const example = part<HTMLInputElement>(host, 'input').placeholder;
      expect(error.textContent?.trim()).to.equal(`Please enter a valid phone number, such as ${example}.`);
      expect(part(host, 'input').getAttribute('aria-describedby')).to.equal('error');
      await submit(host, accepted);
      await waitFor(() => (part<HTMLButtonElement>(host, 'submit').disabled ? false : true), 'the request to end');
      await host.updateComplete;
      expect(error.hidden, `${code} ${accepted} accepted`).to.equal(true);
    }
    await sleep(50);
    expect((await requests()).filter((request) => request.method === 'POST')).to.have.length(4);
  });

  it('picking another country clears the message about the number', async () => {
    const host = await countryFixture('abroad');
    await open(host);
    await submit(host, '06');
    await host.updateComplete;
    expect(part(host, 'error').hidden).to.equal(false);
    pick(host, 'DE');
    await host.updateComplete;
    expect(part(host, 'error').hidden).to.equal(true);
  });

  it('an id with one country has no picker, but its placeholder and dialling', async () => {
    const host = await countryFixture('france');
    await open(host);
    expect(host.shadowRoot?.querySelector('[part~="country"]')).to.equal(null);
    expect(part<HTMLInputElement>(host, 'input').placeholder).to.equal('06 12 34 56 78');
    await submit(host, '06 12 34 56 78');
    expect(await posted()).to.deep.equal({ id: 'france', phone_number: '+330612345678' });
  });

  it('an id that lists no countries keeps the field as it was: no picker, no placeholder, the number as typed', async () => {
    const host = await fixture({ endpoint: ENDPOINT, 'config-id': 'plain' });
    await loggedRequest((request) => request.path === '/widget-config');
    await open(host);
    expect(host.shadowRoot?.querySelector('[part~="country"]')).to.equal(null);
    expect(part(host, 'input').hasAttribute('placeholder')).to.equal(false);
    await submit(host, '813 555 1234');
    expect(await posted()).to.deep.equal({ id: 'plain', phone_number: '813 555 1234' });
  });
});
