import { expect } from '@esm-bundle/chai';
import '../src/call-us-button.js';
import { stringsFor } from '../src/strings/index.js';
import { ENDPOINT, cleanup, fixture, open, part, statusText, submit, track, waitFor } from './helpers.js';

const label = (element: HTMLElement): string => element.shadowRoot?.querySelector('[part~="button"]')?.textContent?.trim() ?? '';
const heading = (element: HTMLElement): string => element.shadowRoot?.querySelector('h2')?.textContent?.trim() ?? '';

describe('languages and strings', () => {
  const documentLang = document.documentElement.getAttribute('lang');
  afterEach(() => {
    cleanup();
    if (documentLang === null) document.documentElement.removeAttribute('lang');
    else document.documentElement.setAttribute('lang', documentLang);
  });

  it('speaks Spanish with lang="es"', async () => {
    const element = await fixture({ lang: 'es' });
    expect(label(element)).to.equal('Llámenos');
    await open(element);
    expect(heading(element)).to.equal('Solicitar una llamada');
    expect(part<HTMLInputElement>(element, 'input').labels?.[0]?.textContent?.trim()).to.equal('Su número de teléfono');
    expect(part(element, 'submit').textContent?.trim()).to.equal('Llámenme');
    expect(part(element, 'cancel').textContent?.trim()).to.equal('Cancelar');
  });

  it('speaks French with lang="fr-CA" (matched by primary subtag)', async () => {
    const element = await fixture({ lang: 'fr-CA' });
    expect(label(element)).to.equal('Appelez-nous');
    await open(element);
    expect(heading(element)).to.equal('Demander un appel');
  });

  it('takes the closest lang of an ancestor, across a shadow root', async () => {
    const wrapper = track(document.createElement('div'));
    wrapper.setAttribute('lang', 'es-MX');
    const root = wrapper.attachShadow({ mode: 'open' });
    document.body.append(wrapper);
    const element = await fixture({}, root);
    expect(label(element)).to.equal('Llámenos');
  });

  it('follows the document language, also when it changes later', async () => {
    document.documentElement.setAttribute('lang', 'fr');
    const element = await fixture();
    expect(label(element)).to.equal('Appelez-nous');
    document.documentElement.setAttribute('lang', 'es');
    await waitFor(() => label(element) === 'Llámenos', 'Spanish after <html lang> changed');
  });

  it('switches language when its own lang attribute or property changes', async () => {
    const element = await fixture({ lang: 'en' });
    expect(label(element)).to.equal('Call us');
    element.setAttribute('lang', 'fr');
    await element.updateComplete;
    expect(label(element)).to.equal('Appelez-nous');
    element.lang = 'es';
    await element.updateComplete;
    expect(label(element)).to.equal('Llámenos');
    expect(element.getAttribute('lang')).to.equal('es');
  });

  it('falls back to English for other languages and marks that text as English', async () => {
    const element = await fixture({ lang: 'de' });
    expect(label(element)).to.equal('Call us');
    expect(part(element, 'button').getAttribute('lang')).to.equal('en');
    expect(part(element, 'dialog').getAttribute('lang')).to.equal('en');
    const spanish = await fixture({ lang: 'es' });
    expect(part(spanish, 'button').hasAttribute('lang')).to.equal(false);
  });

  it('lets the strings property override any built-in string', async () => {
    const element = await fixture({ lang: 'de', endpoint: ENDPOINT, 'config-id': 'plain' });
    element.strings = { buttonText: 'Rufen Sie uns an', heading: 'Rückruf', submit: 'Anrufen', success: 'Wir rufen Sie an.' };
    await element.updateComplete;
    expect(label(element)).to.equal('Rufen Sie uns an');
    // Page-supplied strings are in the page's language, so they are not marked as English.
    expect(part(element, 'button').hasAttribute('lang')).to.equal(false);
    await open(element);
    expect(heading(element)).to.equal('Rückruf');
    expect(part(element, 'submit').textContent?.trim()).to.equal('Anrufen');
    expect(part(element, 'cancel').textContent?.trim()).to.equal('Cancel');
    await submit(element, '813 555 1234');
    await waitFor(() => statusText(element) === 'Wir rufen Sie an.', 'the overridden success text');
  });

  it('translates the validation message and the 429 message', async () => {
    const element = await fixture({ lang: 'es', endpoint: ENDPOINT, 'config-id': 'busy' });
    await open(element);
    await submit(element, '12');
    await element.updateComplete;
    expect(part(element, 'error').textContent?.trim()).to.equal(stringsFor('es').strings.invalidPhone);
    await submit(element, '813 555 1234');
    await waitFor(() => statusText(element) === stringsFor('es').strings.tooManyRequests, 'the Spanish 429 message');
  });

  it("shows the server's coded errors in the visitor's language", async () => {
    const element = await fixture({ lang: 'fr', endpoint: ENDPOINT, 'config-id': 'plain' });
    await open(element);
    await submit(element, '1-900-555-0100');
    await waitFor(() => statusText(element) === stringsFor('fr').strings.numberNotAllowed, 'the French refusal');
    const unknown = await fixture({ lang: 'es', endpoint: ENDPOINT, 'config-id': 'nobody' });
    await open(unknown);
    await submit(unknown, '813 555 1234');
    await waitFor(() => statusText(unknown) === 'Este botón de llamada no está configurado.', 'the Spanish "not configured"');
  });

  it('stringsFor matches by primary subtag and reports fallbacks', () => {
    expect(stringsFor('es-MX').language).to.equal('es');
    expect(stringsFor('FR_ca').language).to.equal('fr');
    expect(stringsFor('pt-BR')).to.include({ language: 'en', matched: false });
    expect(stringsFor('').matched).to.equal(false);
    expect(stringsFor('en-GB').matched).to.equal(true);
  });

  it('has every key translated in every built-in language', () => {
    const keys = Object.keys(stringsFor('en').strings).sort();
    for (const language of ['es', 'fr']) {
      const { strings } = stringsFor(language);
      expect(Object.keys(strings).sort(), language).to.deep.equal(keys);
      for (const key of keys) {
        const value = Reflect.get(strings, key);
        expect(value, `${language}.${key}`).to.be.a('string').and.not.equal('');
        expect(value, `${language}.${key} is translated`).to.not.equal(Reflect.get(stringsFor('en').strings, key));
      }
    }
  });
});
