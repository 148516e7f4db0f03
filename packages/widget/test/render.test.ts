import { expect } from '@esm-bundle/chai';
import { CallUsButton } from '../src/call-us-button.js';
import { cleanup, contrast, fixture, open, part, track } from './helpers.js';
import { useMedia } from './media-helpers.js';

describe('rendering and attributes', () => {
  afterEach(cleanup);

  it('defines the tag once and upgrades to CallUsButton', async () => {
    const element = await fixture();
    expect(customElements.get('call-us-button') === CallUsButton).to.equal(true);
    expect(element instanceof CallUsButton).to.equal(true);
    expect(element.shadowRoot?.mode).to.equal('open');
  });

  it('renders a closed dialog behind a button labelled "Call us" by default', async () => {
    const element = await fixture();
    const button = part<HTMLButtonElement>(element, 'button');
    expect(button.tagName).to.equal('BUTTON');
    expect(button.type).to.equal('button');
    expect(button.textContent?.trim()).to.equal('Call us');
    expect(button.getAttribute('aria-haspopup')).to.equal('dialog');
    const dialog = part<HTMLDialogElement>(element, 'dialog');
    expect(dialog.tagName).to.equal('DIALOG');
    expect(dialog.open).to.equal(false);
  });

  it('reflects button-text, company-name and an http(s) logo-url', async () => {
    const element = await fixture({
      'button-text': 'Talk to sales',
      'company-name': 'Acme Plumbing',
      'logo-url': `${location.origin}/stub/logo.svg`,
    });
    expect(part(element, 'button').textContent?.trim()).to.equal('Talk to sales');
    const dialog = await open(element);
    const heading = element.shadowRoot?.getElementById(dialog.getAttribute('aria-labelledby') ?? '');
    expect(heading?.textContent?.trim()).to.equal('Acme Plumbing');
    const logo = part<HTMLImageElement>(element, 'logo');
    expect(logo.src).to.equal(`${location.origin}/stub/logo.svg`);
    expect(logo.alt).to.equal('');
    expect(logo.hasAttribute('alt')).to.equal(true);
  });

  it('updates when attributes change after the first render', async () => {
    const element = await fixture({ 'button-text': 'First' });
    element.setAttribute('button-text', 'Second');
    await element.updateComplete;
    expect(part(element, 'button').textContent?.trim()).to.equal('Second');
    element.removeAttribute('button-text');
    await element.updateComplete;
    expect(part(element, 'button').textContent?.trim()).to.equal('Call us');
  });

  it('labels the input, names the dialog and keeps the status line polite', async () => {
    const element = await fixture();
    const dialog = await open(element);
    const input = part<HTMLInputElement>(element, 'input');
    expect(input.type).to.equal('tel');
    expect(input.getAttribute('autocomplete')).to.equal('tel');
    expect(input.getAttribute('inputmode')).to.equal('tel');
    expect(input.labels?.[0]?.textContent?.trim()).to.equal('Your phone number');
    const name = element.shadowRoot?.getElementById(dialog.getAttribute('aria-labelledby') ?? '');
    expect(name?.textContent?.trim()).to.equal('Request a call');
    const status = part(element, 'status');
    expect(status.getAttribute('role')).to.equal('status');
    expect(status.getAttribute('aria-live')).to.equal('polite');
  });

  it('button-color sets the background, with black text on a light colour', async () => {
    const element = await fixture({ 'button-color': '#ffd60a' });
    const style = getComputedStyle(part(element, 'button'));
    expect(style.backgroundColor).to.equal('rgb(255, 214, 10)');
    expect(style.color).to.equal('rgb(0, 0, 0)');
  });

  it('picks the text colour for at least 4.5:1 contrast on any button-color (button and submit)', async () => {
    const colours = [
      '#000000',
      '#ffffff',
      '#777777',
      '#767676',
      '#808080',
      '#ff0000',
      '#00ff00',
      '#0000ff',
      '#ffd60a',
      '#0b57d0',
      '#e91e63',
      '#3c9',
      '#7a7a00',
    ];
    for (const colour of colours) {
      const element = await fixture({ 'button-color': colour });
      await open(element);
      for (const name of ['button', 'submit']) {
        const style = getComputedStyle(part(element, name));
        const ratio = contrast(style.color, style.backgroundColor);
        expect(ratio, `${name} on ${colour}: ${style.color} on ${style.backgroundColor}`).to.be.at.least(4.5);
      }
      cleanup();
    }
  });

  it('the default colours also reach 4.5:1', async () => {
    const element = await fixture();
    const style = getComputedStyle(part(element, 'button'));
    expect(contrast(style.color, style.backgroundColor)).to.be.at.least(4.5);
  });

  it('--call-us-text-color wins over the automatic text colour', async () => {
    const element = await fixture({ 'button-color': '#ffd60a' });
    element.style.setProperty('--call-us-text-color', '#102030');
    expect(getComputedStyle(part(element, 'button')).color).to.equal('rgb(16, 32, 48)');
  });

  it('--call-us-color, --call-us-radius and --call-us-font style the button', async () => {
    const element = await fixture();
    element.style.setProperty('--call-us-color', '#123456');
    element.style.setProperty('--call-us-radius', '3px');
    element.style.setProperty('--call-us-font', 'monospace');
    const style = getComputedStyle(part(element, 'button'));
    expect(style.backgroundColor).to.equal('rgb(18, 52, 86)');
    expect(style.borderTopLeftRadius).to.equal('3px');
    expect(style.fontFamily).to.equal('monospace');
  });

  it('inherits the page font when --call-us-font is unset', async () => {
    const wrapper = track(document.createElement('div'));
    wrapper.style.fontFamily = 'serif';
    document.body.append(wrapper);
    const element = await fixture({}, wrapper);
    expect(getComputedStyle(part(element, 'button')).fontFamily).to.equal('serif');
  });

  it('ignores a button-color that is not a hex colour', async () => {
    const reference = getComputedStyle(part(await fixture(), 'button')).backgroundColor;
    const element = await fixture({ 'button-color': 'red; background-image: url(https://evil.example/x)' });
    const style = getComputedStyle(part(element, 'button'));
    expect(style.backgroundColor).to.equal(reference);
    expect(style.backgroundImage).to.equal('none');
  });

  it('renders hostile branding as text and never uses a javascript: logo', async () => {
    const hostile = '<img src=x onerror="window.__pwned=1">';
    const element = await fixture({
      'button-text': hostile,
      'company-name': '<script>window.__pwned=1</script>',
      'logo-url': 'javascript:window.__pwned=1',
    });
    expect(part(element, 'button').textContent?.trim()).to.equal(hostile);
    await open(element);
    const heading = element.shadowRoot?.querySelector('h2');
    expect(heading?.textContent?.trim()).to.equal('<script>window.__pwned=1</script>');
    expect(element.shadowRoot?.querySelectorAll('img, script').length).to.equal(0);
    expect(Reflect.get(window, '__pwned')).to.equal(undefined);
  });

  it('refuses data: and other non-http logo URLs', async () => {
    for (const url of [
      'data:image/svg+xml,<svg xmlns="http://www.w3.org/2000/svg"/>',
      'ftp://example.com/logo.png',
      'javascript:void(0)',
    ]) {
      const element = await fixture({ 'logo-url': url });
      expect(element.shadowRoot?.querySelectorAll('img').length, url).to.equal(0);
      cleanup();
    }
  });

  it('exposes parts to ::part() and [part~=…] selectors', async () => {
    const sheet = document.createElement('style');
    sheet.textContent = ['button', 'dialog', 'input', 'submit', 'status']
      .map((name, index) => `call-us-button::part(${name}) { letter-spacing: ${index + 1}px; }`)
      .join('\n');
    track(sheet);
    document.head.append(sheet);
    const element = await fixture();
    await open(element);
    ['button', 'dialog', 'input', 'submit', 'status'].forEach((name, index) => {
      expect(getComputedStyle(part(element, name)).letterSpacing, name).to.equal(`${index + 1}px`);
    });
  });

  it('animates the dialog when the visitor does not ask for reduced motion (reduce: test/media/)', async () => {
    await useMedia({ reducedMotion: 'no-preference' });
    const element = await fixture();
    const dialog = await open(element);
    expect(getComputedStyle(dialog).animationName).to.equal('call-us-enter');
    expect(getComputedStyle(part(element, 'button')).transitionDuration).to.not.equal('0s');
  });

  it('gives every control a touch target of at least 44×44 CSS px', async () => {
    const element = await fixture({ 'button-text': '?' });
    await open(element);
    for (const name of ['button', 'input', 'submit', 'cancel']) {
      const box = part(element, name).getBoundingClientRect();
      expect(box.width, `${name} width`).to.be.at.least(44);
      expect(box.height, `${name} height`).to.be.at.least(44);
    }
  });

  it('hides with the hidden attribute', async () => {
    const element = await fixture({ hidden: '' });
    expect(getComputedStyle(element).display).to.equal('none');
  });
});
