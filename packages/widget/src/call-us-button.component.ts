import { LitElement, html, nothing, type PropertyValues, type TemplateResult } from 'lit';
import { property, query, state } from 'lit/decorators.js';
import { fetchBranding, requestCall, type CallFailure, type CallOutcome, type WidgetBranding } from './api.js';
import { parseHexColor, readableTextColor } from './contrast.js';
import { inheritedLang } from './lang.js';
import { callUsEvent } from './events.js';
import { stringsFor, type CallUsLanguage, type CallUsStrings } from './strings/index.js';
import { styles } from './styles.js';
import { httpUrl, isPlausiblePhoneNumber } from './validate.js';

/** The server's error codes (`POST /click-to-call`), and the string each is shown as. */
const ERROR_STRINGS: Partial<Record<string, keyof CallUsStrings>> = {
  not_configured: 'notConfigured',
  origin_not_allowed: 'notAllowedHere',
  verification_required: 'verificationFailed',
  verification_failed: 'verificationFailed',
  verification_unavailable: 'callFailed',
  invalid_number: 'invalidNumber',
  country_not_allowed: 'countryNotAllowed',
  number_not_allowed: 'numberNotAllowed',
  rate_limited: 'tooManyRequests',
  call_failed: 'callFailed',
  unavailable: 'genericError',
};

/**
 * The text a failed request shows. The server speaks English: an error it names by code (and any 429)
 * is shown in the visitor's language, from strings a page can override; an unknown code falls back to
 * the server's message, and no message to the generic text.
 */
function failureMessage(failure: CallFailure, text: CallUsStrings): string {
  const { status, code } = failure;
  const known = status === 429 ? 'tooManyRequests' : code && Object.hasOwn(ERROR_STRINGS, code) ? ERROR_STRINGS[code] : undefined;
  return known ? text[known] : (failure.message ?? text.genericError);
}

/** Where the element is in its flow: closed, dialog open, request in flight, or how it ended. */
type Phase = 'idle' | 'open' | 'sending' | 'success' | 'error';

/**
 * A button that opens a dialog where a visitor types their phone number; the Beckon server then asks
 * the phone system to call them back.
 *
 * @summary Click-to-call button: the visitor leaves a number and is called back.
 *
 * @attr {string} lang - Language of the built-in strings: `en`, `es` or `fr`, matched by primary subtag (so `es-MX` is Spanish), else English. Without it, the closest `lang` on an ancestor (across shadow roots) or `<html lang>` applies. The element re-renders when its own `lang` or `<html lang>` changes; an ancestor's is read whenever it renders. It is the standard HTML attribute, reflected by the native `lang` property.
 *
 * @fires {CustomEvent<Record<PropertyKey, never>>} call-us-open - The dialog opened.
 * @fires {CustomEvent<{ phoneNumber: string }>} call-us-submit - A number passed the quick check and is being sent.
 * @fires {CustomEvent<{ phoneNumber: string }>} call-us-success - The server accepted the request: the visitor is being called.
 * @fires {CustomEvent<{ message: string, status?: number, code?: string }>} call-us-error - The request failed or could not be sent. `message` is the text shown; `status` is the HTTP status when the server answered (absent for network errors); `code` is the server's error code (`invalid_number`, `rate_limited`…) when it gave one.
 * @fires {CustomEvent<Record<PropertyKey, never>>} call-us-close - The dialog closed (Escape, the cancel/close button or `hide()`).
 *
 * @csspart button - The button that opens the dialog.
 * @csspart dialog - The `<dialog>` element.
 * @csspart logo - The company logo in the dialog heading (only when `logo-url` is an http(s) URL).
 * @csspart input - The phone number field.
 * @csspart error - The inline message shown when the number does not look valid.
 * @csspart submit - The button that sends the request.
 * @csspart cancel - The button that closes the dialog.
 * @csspart status - The live status line (sending, success, error).
 *
 * @cssprop [--call-us-color=#0b57d0] - Background of the button and of the submit button. The `button-color` attribute takes precedence.
 * @cssprop [--call-us-text-color=#ffffff] - Text colour on those buttons; when set, it applies whatever the background. Without it, the text is black or white, whichever contrasts more with the colour from `button-color` (or the id's branding); with a colour set only through `--call-us-color`, it is white, so set this too when that colour is light.
 * @cssprop [--call-us-radius=8px] - Corner radius of the buttons and the dialog.
 * @cssprop --call-us-font - Font family of the button and the dialog (inherited from the page when unset).
 */
export class CallUsButton extends LitElement {
  static override styles = styles;

  /** Re-render on `lang` changes too, keeping the native `lang` property (a Lit accessor would shadow it). */
  static override get observedAttributes(): string[] {
    return [...super.observedAttributes, 'lang'];
  }

  /**
   * The Beckon id of this button: it selects the queue and the branding on the server. Required, with
   * `endpoint`, to place a call: without both the element still renders, and a submit shows the generic
   * error without sending anything.
   */
  @property({ attribute: 'config-id' }) configId = '';

  /** Base URL of the Beckon server, such as `https://beckon.example.net`. Required, with `config-id`, to place a call. */
  @property() endpoint = '';

  /** Label of the button. Default: the translated "Call us" (the `buttonText` string). */
  @property({ attribute: 'button-text' }) buttonText?: string;

  /**
   * Background of the button and of the submit button, as `#rrggbb` or `#rgb`; other values are ignored.
   * It takes precedence over `--call-us-color`, and the text on it turns black or white, whichever
   * contrasts more (at least 4.5:1), unless `--call-us-text-color` is set.
   */
  @property({ attribute: 'button-color' }) buttonColor?: string;

  /** Company name, used as the dialog heading and shown as text only. Default heading: the translated "Request a call". */
  @property({ attribute: 'company-name' }) companyName?: string;

  /** Logo beside the dialog heading; used only when it is an http(s) URL (a relative one resolves against the page). */
  @property({ attribute: 'logo-url' }) logoUrl?: string;

  /**
   * For ids the server makes require a bot check (`require_turnstile`): a function returning a
   * [Cloudflare Turnstile](https://developers.cloudflare.com/turnstile/) token the page obtained, such as
   * `() => turnstile.getResponse(widgetId)`. Called on every submit (tokens are single-use) and sent as
   * `turnstile_token`. If it throws or rejects, nothing is sent and the generic error shows; if it
   * returns no token, the request goes without one.
   */
  @property({ attribute: false }) turnstileToken?: () => string | undefined | Promise<string | undefined>;

  /** Overrides for any built-in string (the keys of `CallUsStrings`), whatever the language. Assign a new object to change them. */
  @property({ attribute: false }) strings: Partial<CallUsStrings> = {};

  @state() private phase: Phase = 'idle';
  @state() private errorMessage = '';
  @state() private invalid = false;
  /** Branding from `GET /widget-config`, used only where no attribute gives a value. */
  @state() private branding: WidgetBranding = {};

  @query('#trigger') private trigger!: HTMLButtonElement | null;
  @query('#dialog') private dialog!: HTMLDialogElement | null;
  @query('#phone') private input!: HTMLInputElement | null;
  @query('[part~="submit"]') private submitButton!: HTMLButtonElement | null;

  /** Tells a stale branding answer (for an earlier id or endpoint) from the current one. */
  private brandingRequest = 0;
  /** Follows `<html lang>`, which single-page apps change without reloading. */
  private readonly documentLang = new MutationObserver(() => this.requestUpdate());

  /** Opens the dialog and moves focus to the phone number field (what activating the button does). */
  async show(): Promise<void> {
    await this.updateComplete;
    const { dialog, input } = this;
    if (!dialog || !input || dialog.open || !this.isConnected) return;
    if (this.phase !== 'sending') {
      this.phase = 'open';
      this.errorMessage = '';
      this.invalid = false;
    }
    dialog.showModal();
    input.focus();
    this.dispatchEvent(callUsEvent('call-us-open', {}));
  }

  /**
   * Closes the dialog; focus returns to the button. A request in flight still completes and still fires
   * `call-us-success` or `call-us-error`.
   */
  hide(): void {
    if (this.dialog?.open) this.dialog.close();
  }

  override connectedCallback(): void {
    super.connectedCallback();
    this.documentLang.observe(document.documentElement, { attributeFilter: ['lang'] });
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.documentLang.disconnect();
    // A removed modal leaves the top layer but keeps `open`; closing keeps state and events consistent.
    this.hide();
  }

  override attributeChangedCallback(name: string, old: string | null, value: string | null): void {
    super.attributeChangedCallback(name, old, value);
    if (name === 'lang') this.requestUpdate();
  }

  protected override willUpdate(changed: PropertyValues<this>): void {
    if (changed.has('configId') || changed.has('endpoint')) this.loadBranding();
  }

  protected override updated(): void {
    // Set through the CSSOM, not a style attribute, so a CSP without 'unsafe-inline' allows it.
    const color = parseHexColor(this.buttonColor) ?? parseHexColor(this.branding.buttonColor);
    for (const element of [this.trigger, this.dialog]) {
      if (!element) continue;
      if (color) {
        element.style.setProperty('--_color', color);
        element.style.setProperty('--_text', `var(--call-us-text-color, ${readableTextColor(color)})`);
      } else {
        element.style.removeProperty('--_color');
        element.style.removeProperty('--_text');
      }
    }
  }

  protected override render(): TemplateResult {
    const { text, fallbackLang } = this.localized();
    const brandedLabel = this.buttonText || this.branding.buttonText;
    const company = this.companyName || this.branding.companyName;
    const logo = httpUrl(this.logoUrl || this.branding.logoUrl);
    const sending = this.phase === 'sending';

    // A native modal <dialog> rather than a role="dialog" panel: the browser makes the rest of the page
    // inert (a real focus trap), closes it on Escape, puts it in the top layer above any page z-index,
    // and restores focus on close. Branding is bound as text only, so markup in it stays inert.
    return html`
      <button
        id="trigger"
        part="button"
        type="button"
        aria-haspopup="dialog"
        lang=${(brandedLabel ? undefined : fallbackLang) ?? nothing}
        @click=${this.show}
      >
        ${brandedLabel || text.buttonText}
      </button>
      <dialog
        id="dialog"
        part="dialog"
        aria-labelledby="heading"
        aria-describedby="description"
        lang=${fallbackLang ?? nothing}
        @close=${this.onClose}
      >
        <form novalidate @submit=${this.onSubmit}>
          <div class="header">
            ${
              // Empty alt: the heading beside it already names the company, so the logo is decorative.
              logo ? html`<img part="logo" src=${logo} alt="" referrerpolicy="no-referrer" />` : nothing
            }
            <h2 id="heading">${company || text.heading}</h2>
          </div>
          <p id="description">${text.description}</p>
          <label for="phone">${text.phoneLabel}</label>
          <input
            id="phone"
            part="input"
            name="phone"
            type="tel"
            autocomplete="tel"
            inputmode="tel"
            aria-invalid=${this.invalid ? 'true' : 'false'}
            aria-describedby=${this.invalid ? 'error' : nothing}
            @input=${this.onInput}
          />
          <p id="error" part="error" ?hidden=${!this.invalid}>${text.invalidPhone}</p>
          <p part="status" role="status" aria-live="polite">${this.statusText(text)}</p>
          <div class="actions">
            <button part="submit" type="submit" ?disabled=${sending} aria-busy=${sending ? 'true' : 'false'}>${text.submit}</button>
            <button part="cancel" type="button" @click=${this.hide}>${this.phase === 'success' ? text.close : text.cancel}</button>
          </div>
        </form>
      </dialog>
    `;
  }

  private statusText(text: CallUsStrings): string {
    switch (this.phase) {
      case 'sending':
        return text.sending;
      case 'success':
        return text.success;
      case 'error':
        return this.errorMessage;
      default:
        return '';
    }
  }

  /**
   * The strings to show: the built-in ones for the requested language, then the page's overrides. With
   * `fallbackLang`, the language to mark them with because English stands in for an unsupported one.
   */
  private localized(): { text: CallUsStrings; fallbackLang: CallUsLanguage | undefined } {
    const { language, strings, matched } = stringsFor(this.requestedLanguage());
    // WCAG 3.1.2: English standing in for an unsupported page language is marked as English, unless
    // the page supplied its own strings (then their language is unknown and inheriting is right).
    const fallbackLang = !matched && Object.keys(this.strings).length === 0 ? language : undefined;
    return { text: { ...strings, ...this.strings }, fallbackLang };
  }

  /** The element's own `lang`, else the closest one up the tree (across shadow roots), else the document's. */
  private requestedLanguage(): string {
    return inheritedLang(this);
  }

  private loadBranding(): void {
    const request = ++this.brandingRequest;
    this.branding = {};
    const branded = [this.buttonText, this.buttonColor, this.companyName, this.logoUrl].some((value) => value != null);
    if (branded || !this.endpoint || !this.configId) return;
    void fetchBranding(this.endpoint, this.configId).then((branding) => {
      if (branding && request === this.brandingRequest) this.branding = branding;
    });
  }

  private onInput(): void {
    // The message describes the value that was refused; once it is edited, it no longer applies.
    this.invalid = false;
  }

  private onClose(): void {
    if (this.phase !== 'sending') this.phase = 'idle';
    // Only take focus back when it would otherwise be lost, never from elsewhere on the page.
    const active = document.activeElement;
    if (!active || active === document.body || active === this) this.trigger?.focus();
    this.dispatchEvent(callUsEvent('call-us-close', {}));
  }

  /** Check the number, announce it, get a Turnstile token if the page gives one, request the call, show how it ended. */
  private async onSubmit(event: SubmitEvent): Promise<void> {
    event.preventDefault();
    if (this.phase === 'sending') return;
    const phoneNumber = this.input?.value.trim();
    if (phoneNumber === undefined || !this.checkPhoneNumber(phoneNumber)) return;
    const { text } = this.localized();
    if (!this.endpoint || !this.configId) {
      // Misconfigured embed: nothing is sent anywhere, and the visitor gets the generic message.
      this.fail(text.genericError);
      return;
    }
    this.startSending(phoneNumber);
    const token = await this.turnstileTokenForRequest();
    if (token === false) {
      // The page's challenge failed; without a token the server refuses anyway, so say so now.
      this.fail(text.genericError);
      return;
    }
    this.showOutcome(await requestCall(this.endpoint, this.configId, phoneNumber, token), phoneNumber, text);
  }

  /** The quick check. A refused number gets the inline message and keeps focus, so the visitor can fix it. */
  private checkPhoneNumber(phoneNumber: string): boolean {
    this.invalid = !isPlausiblePhoneNumber(phoneNumber);
    if (this.invalid) this.input?.focus();
    return !this.invalid;
  }

  /** Disables the submit button (through the `sending` phase) and fires `call-us-submit`. */
  private startSending(phoneNumber: string): void {
    // The submit button is about to be disabled; focus on it would fall out of the dialog.
    if (this.shadowRoot?.activeElement === this.submitButton) this.input?.focus();
    this.phase = 'sending';
    this.dispatchEvent(callUsEvent('call-us-submit', { phoneNumber }));
  }

  /**
   * A fresh token from `turnstileToken` (tokens are single-use): undefined when the page has no hook or
   * its hook gave none, false when the page's challenge failed.
   */
  private async turnstileTokenForRequest(): Promise<string | undefined | false> {
    try {
      return (await this.turnstileToken?.()) || undefined;
    } catch {
      return false;
    }
  }

  private showOutcome(outcome: CallOutcome, phoneNumber: string, text: CallUsStrings): void {
    if (outcome.ok) this.succeed(phoneNumber);
    else this.fail(failureMessage(outcome, text), outcome.status, outcome.code);
  }

  private succeed(phoneNumber: string): void {
    // A request that ends after the dialog closed leaves the element idle, so reopening starts afresh.
    this.phase = this.dialog?.open ? 'success' : 'idle';
    this.dispatchEvent(callUsEvent('call-us-success', { phoneNumber }));
  }

  private fail(message: string, status?: number, code?: string): void {
    this.errorMessage = message;
    this.phase = this.dialog?.open ? 'error' : 'idle';
    this.dispatchEvent(callUsEvent('call-us-error', { message, ...(status === undefined ? {} : { status }), ...(code ? { code } : {}) }));
  }
}
