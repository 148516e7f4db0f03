import { LitElement, html, nothing, type PropertyValues, type TemplateResult } from 'lit';
import {
  cancelCall,
  fetchConfig,
  fetchSlots,
  requestCall,
  callUrl,
  type CallFailure,
  type CallOutcome,
  type CallSlots,
  type DialCountry,
  type LineHours,
  type WidgetBranding,
} from './api.js';
import { parseHexColor, readableTextColor } from './contrast.js';
import { DAY, TIME, WHEN, closedMessage, isClosed, zoned } from './hours.js';
import { inheritedLang } from './lang.js';
import { callUsEvent, type CallUsCallStatus, type CallUsEventMap, type CallUsPhoneDetail } from './events.js';
import { stringsFor, type CallUsLanguage, type CallUsStrings } from './strings/index.js';
import { styles } from './styles.js';
import { dialledNumber, httpUrl, isPlausibleIn, isPlausiblePhoneNumber } from './validate.js';

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
  invalid_schedule: 'slotTaken',
  already_booked: 'alreadyBooked',
  not_pending: 'notCancellable',
};

/**
 * What each step of the call's live status is shown as, the final ones (after which nothing more
 * happens to the call) marked `true`.
 */
const STATUS_STRINGS: Record<CallUsCallStatus, [keyof CallUsStrings, boolean?]> = {
  scheduled: ['success'],
  queued: ['success'],
  ringing: ['ringing'],
  answered: ['answered'],
  ended: ['ended', true],
  'no-answer': ['noAnswer', true],
  failed: ['callFailed', true],
  cancelled: ['cancelled', true],
  missed: ['noAnswer', true],
};

/** A time the visitor booked here, kept in memory only: the cancel token is a credential. */
interface Booking {
  callbackId: string;
  /** The booked time (ISO 8601, UTC). */
  at: string;
  cancelToken?: string;
  /** The business's zone, as the times to book named it. */
  timeZone?: string;
}

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

/** The longest delay `setTimeout` takes (about 24.8 days); a line's next opening is at most 14 days away. */
const MAX_TIMEOUT_MS = 2 ** 31 - 1;

/** Where the element is in its flow: closed, dialog open, request in flight, or how it ended. */
type Phase = 'idle' | 'open' | 'sending' | 'success' | 'error' | 'cancelled';

/**
 * A button that opens a dialog where a visitor types their phone number; the Beckon server then asks
 * the phone system to call them back. For an id with opening hours, the button says when the line is
 * closed and the dialog says when it opens, in the visitor's time zone; for an id that takes bookings,
 * the dialog offers times to be called at when the line is closed, or on request ("Call me later"), and
 * shows the booking with a button that cancels it; after an immediate call, it follows the call live
 * ("We're ringing you now", "Connected"); for an id that calls several countries, the dialog has a
 * country picker.
 *
 * @summary Click-to-call button: the visitor leaves a number and is called back.
 *
 * @attr {string} lang - Language of the built-in strings: `en`, `es` or `fr`, matched by primary subtag (so `es-MX` is Spanish), else English. Without it, the closest `lang` on an ancestor (across shadow roots) or `<html lang>` applies. The element re-renders when its own `lang` or `<html lang>` changes; an ancestor's is read whenever it renders. It is the standard HTML attribute, reflected by the native `lang` property.
 *
 * @fires {CustomEvent<Record<PropertyKey, never>>} call-us-open - The dialog opened.
 * @fires {CustomEvent<{ phoneNumber: string, country?: string }>} call-us-submit - A number passed the quick check and is being sent. `country` is the one picked, when the id lists its countries.
 * @fires {CustomEvent<{ phoneNumber: string, country?: string }>} call-us-success - The server accepted the request: the visitor is being called.
 * @fires {CustomEvent<{ message: string, status?: number, code?: string }>} call-us-error - The request failed or could not be sent. `message` is the text shown; `status` is the HTTP status when the server answered (absent for network errors); `code` is the server's error code (`invalid_number`, `rate_limited`, `closed`…) when it gave one.
 * @fires {CustomEvent<{ phoneNumber: string, country?: string, callbackId: string, scheduledAt: string }>} call-us-scheduled - The server booked a time (`scheduledAt`, ISO 8601, UTC) to call the visitor at. `callbackId` names the booking.
 * @fires {CustomEvent<{ callbackId: string }>} call-us-cancelled - The visitor cancelled their booking, and the server confirmed it.
 * @fires {CustomEvent<{ status: 'scheduled' | 'queued' | 'ringing' | 'answered' | 'ended' | 'no-answer' | 'failed' | 'cancelled' | 'missed', callbackId: string }>} call-us-status - A step of an immediate call, from the server's live status stream (servers that give a `status_token`): `queued`, `ringing`, `answered`, then `ended`, or `no-answer`/`failed`. The stream closes after a final step, or when the element leaves the page.
 * @fires {CustomEvent<Record<PropertyKey, never>>} call-us-close - The dialog closed (Escape, the cancel/close button or `hide()`).
 * @fires {CustomEvent<{ open: boolean, nextOpen: string | null, timeZone?: string }>} call-us-hours - The server said whether the id's line is open (only for an id with opening hours): on each `/widget-config` answer, and when a request found the line closed. `nextOpen` is when a closed line opens (ISO 8601, UTC), `timeZone` the business's zone.
 *
 * @csspart button - The button that opens the dialog.
 * @csspart closed-note - The "Closed now" note inside the button, while the line is closed.
 * @csspart dialog - The `<dialog>` element.
 * @csspart logo - The company logo in the dialog heading (only when `logo-url` is an http(s) URL).
 * @csspart country - The country picker (a `<select>`), for an id that calls several countries.
 * @csspart input - The phone number field.
 * @csspart error - The inline message shown when the number does not look valid.
 * @csspart slot - The picker of times to book (a `<select>`, times grouped by day), for an id that takes bookings.
 * @csspart submit - The button that sends the request (or books the picked time).
 * @csspart later - The "Call me later" button, offering times to book while the line is open.
 * @csspart cancel-booking - The button that cancels a booking.
 * @csspart cancel - The button that closes the dialog.
 * @csspart status - The live status line (sending, success and the call's progress, error, the booking, closed and when the line opens).
 *
 * @cssprop [--call-us-color=#0b57d0] - Background of the button and of the submit button. The `button-color` attribute takes precedence.
 * @cssprop [--call-us-text-color=#ffffff] - Text colour on those buttons; when set, it applies whatever the background. Without it, the text is black or white, whichever contrasts more with the colour from `button-color` (or the id's branding); with a colour set only through `--call-us-color`, it is white, so set this too when that colour is light.
 * @cssprop [--call-us-radius=8px] - Corner radius of the buttons and the dialog.
 * @cssprop --call-us-font - Font family of the button and the dialog (inherited from the page when unset).
 */
export class CallUsButton extends LitElement {
  static override styles = styles;

  /**
   * The reactive properties, declared here rather than with `@property`/`@state` decorators: the
   * decorators' runtime and TypeScript's `__decorate` calls cost ≈430 B gzip in the CDN bundle, which
   * has a budget (issue 17). A field is reactive only when listed here; the fields below keep their
   * types, defaults and docs. A state is never an attribute (`attribute: false` is Lit's rule for
   * `state`, said again for the manifest analyzer, which would otherwise list states as attributes).
   */
  static override properties = {
    configId: { attribute: 'config-id' },
    endpoint: {},
    buttonText: { attribute: 'button-text' },
    buttonColor: { attribute: 'button-color' },
    companyName: { attribute: 'company-name' },
    logoUrl: { attribute: 'logo-url' },
    turnstileToken: { attribute: false },
    strings: { attribute: false },
    phase: { state: true, attribute: false },
    errorMessage: { state: true, attribute: false },
    invalid: { state: true, attribute: false },
    branding: { state: true, attribute: false },
    hours: { state: true, attribute: false },
    countries: { state: true, attribute: false },
    countryCode: { state: true, attribute: false },
    scheduling: { state: true, attribute: false },
    slots: { state: true, attribute: false },
    booking: { state: true, attribute: false },
    callStatus: { state: true, attribute: false },
  };

  /** Re-render on `lang` changes too, keeping the native `lang` property (a Lit accessor would shadow it). */
  static override get observedAttributes(): string[] {
    return [...super.observedAttributes, 'lang'];
  }

  /**
   * The Beckon id of this button: it selects the queue and the branding on the server. Required, with
   * `endpoint`, to place a call: without both the element still renders, and a submit shows the generic
   * error without sending anything.
   */
  configId = '';

  /** Base URL of the Beckon server, such as `https://beckon.example.net`. Required, with `config-id`, to place a call. */
  endpoint = '';

  /** Label of the button. Default: the translated "Call us" (the `buttonText` string). */
  buttonText?: string;

  /**
   * Background of the button and of the submit button, as `#rrggbb` or `#rgb`; other values are ignored.
   * It takes precedence over `--call-us-color`, and the text on it turns black or white, whichever
   * contrasts more (at least 4.5:1), unless `--call-us-text-color` is set.
   */
  buttonColor?: string;

  /** Company name, used as the dialog heading and shown as text only. Default heading: the translated "Request a call". */
  companyName?: string;

  /** Logo beside the dialog heading; used only when it is an http(s) URL (a relative one resolves against the page). */
  logoUrl?: string;

  /**
   * For ids the server makes require a bot check (`require_turnstile`): a function returning a
   * [Cloudflare Turnstile](https://developers.cloudflare.com/turnstile/) token the page obtained, such as
   * `() => turnstile.getResponse(widgetId)`. Called on every submit (tokens are single-use) and sent as
   * `turnstile_token`. If it throws or rejects, nothing is sent and the generic error shows; if it
   * returns no token, the request goes without one.
   */
  turnstileToken?: () => string | undefined | Promise<string | undefined>;

  /** Overrides for any built-in string (the keys of `CallUsStrings`), whatever the language. Assign a new object to change them. */
  strings: Partial<CallUsStrings> = {};

  private phase: Phase = 'idle';
  private errorMessage = '';
  private invalid = false;
  /** Branding from `GET /widget-config`, used only where no attribute gives a value. */
  private branding: WidgetBranding = {};
  /** Whether the line is open, for an id with opening hours: from `GET /widget-config` or a 409 `closed`. */
  private hours?: LineHours;
  /** The countries the id calls, its default first, when `GET /widget-config` lists them. */
  private countries?: DialCountry[];
  /** The picked country's code; empty for the id's default. */
  private countryCode = '';
  /** Whether the id takes bookings, from `GET /widget-config`. */
  private scheduling = false;
  /** The times to book, once fetched: while set, the dialog books one instead of calling now. */
  private slots?: CallSlots;
  /** The time booked here, until it is cancelled and the dialog closed. */
  private booking?: Booking;
  /** The latest step of the immediate call, from its status stream. */
  private callStatus?: CallUsCallStatus;

  /** Tells a stale config answer (for an earlier id or endpoint) from the current one. */
  #configRequest = 0;
  /** Asks the server again when a closed line is due to open. */
  #openingTimer?: ReturnType<typeof setTimeout>;
  /** Follows `<html lang>`, which single-page apps change without reloading. */
  readonly #documentLang = new MutationObserver(() => this.requestUpdate());
  /** The immediate call's status stream, open until a final step or until the element leaves the page. */
  #statusStream?: EventSource;

  // Getters rather than `@query`: private names minify, and the bundle has a size budget.
  get #trigger(): HTMLButtonElement | null {
    return this.renderRoot.querySelector('#trigger');
  }
  get #dialog(): HTMLDialogElement | null {
    return this.renderRoot.querySelector('#dialog');
  }
  get #input(): HTMLInputElement | null {
    return this.renderRoot.querySelector('#phone');
  }
  get #submitButton(): HTMLButtonElement | null {
    return this.renderRoot.querySelector('[part~="submit"]');
  }
  get #cancelButton(): HTMLButtonElement | null {
    return this.renderRoot.querySelector('[part~="cancel"]');
  }
  get #slotPicker(): HTMLSelectElement | null {
    return this.renderRoot.querySelector('#slot');
  }

  /** Opens the dialog and moves focus to the phone number field (what activating the button does). */
  async show(): Promise<void> {
    await this.updateComplete;
    const dialog = this.#dialog;
    if (!dialog || dialog.open || !this.isConnected) return;
    if (this.phase !== 'sending') {
      this.phase = 'open';
      this.errorMessage = '';
      this.invalid = false;
    }
    // Times change: a closed line's are fetched afresh on each opening.
    if (this.scheduling && isClosed(this.hours)) void this.#loadSlots();
    dialog.showModal();
    // The field, even with a country picker (or the times to book) before it; a closed line that takes
    // no booking has none, and its Close button takes focus.
    (this.#input ?? this.#cancelButton)?.focus();
    this.#fire('call-us-open', {});
  }

  /**
   * Closes the dialog; focus returns to the button. A request in flight still completes and still fires
   * `call-us-success` or `call-us-error`.
   */
  hide(): void {
    if (this.#dialog?.open) this.#dialog.close();
  }

  override connectedCallback(): void {
    super.connectedCallback();
    this.#documentLang.observe(document.documentElement, { attributeFilter: ['lang'] });
    this.#watchOpening();
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.#documentLang.disconnect();
    clearTimeout(this.#openingTimer);
    this.#statusStream?.close();
    // A removed modal leaves the top layer but keeps `open`; closing keeps state and events consistent.
    this.hide();
  }

  override attributeChangedCallback(name: string, old: string | null, value: string | null): void {
    super.attributeChangedCallback(name, old, value);
    if (name === 'lang') this.requestUpdate();
  }

  protected override willUpdate(changed: PropertyValues<this>): void {
    if (changed.has('configId') || changed.has('endpoint')) this.#loadConfig(true);
  }

  protected override updated(): void {
    // Set through the CSSOM, not a style attribute, so a CSP without 'unsafe-inline' allows it.
    const color = parseHexColor(this.buttonColor) ?? parseHexColor(this.branding.buttonColor);
    for (const element of [this.#trigger, this.#dialog]) {
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
    const { text, fallbackLang } = this.#localized();
    const brandedLabel = this.buttonText || this.branding.buttonText;
    const company = this.companyName || this.branding.companyName;
    const logo = httpUrl(this.logoUrl || this.branding.logoUrl);
    const { phase, booking, slots } = this;
    const sending = phase === 'sending';
    const closed = isClosed(this.hours);
    // A booking replaces the form; otherwise a closed line takes a number only to book a time.
    const form = !booking && (!closed || slots);

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
        ${closed ? html`<span part="closed-note" lang=${fallbackLang ?? nothing}>${text.closedNote}</span>` : nothing}
      </button>
      <dialog
        id="dialog"
        part="dialog"
        aria-labelledby="heading"
        aria-describedby=${closed || slots || booking ? 'status' : 'description'}
        lang=${fallbackLang ?? nothing}
        @close=${this.#onClose}
      >
        <form novalidate @submit=${this.#onSubmit}>
          <div class="header">
            ${
              // Empty alt: the heading beside it already names the company, so the logo is decorative.
              logo ? html`<img part="logo" src=${logo} alt="" referrerpolicy="no-referrer" />` : nothing
            }
            <h2 id="heading">${company || text.heading}</h2>
          </div>
          ${form ? this.#renderNumberFields(text, slots) : nothing}
          <p id="status" part="status" role="status" aria-live="polite">${this.#statusText(text, closed)}</p>
          <div class="actions">
            ${
              form
                ? html`<button part="submit" type="submit" ?disabled=${sending} aria-busy=${sending ? 'true' : 'false'}>
                    ${text.submit}
                  </button>`
                : nothing
            }
            ${
              form && !slots && this.scheduling && !sending && phase !== 'success'
                ? html`<button part="later" type="button" @click=${this.#onLater}>${text.later}</button>`
                : nothing
            }
            ${
              booking?.cancelToken && phase !== 'cancelled'
                ? html`<button part="cancel-booking" type="button" @click=${this.#onCancelBooking}>${text.cancelBooking}</button>`
                : nothing
            }
            <button part="cancel" type="button" @click=${this.hide}>
              ${closed || booking || phase === 'success' ? text.close : text.cancel}
            </button>
          </div>
        </form>
      </dialog>
    `;
  }

  /**
   * The description, the country picker when the id calls several countries, and the number field; to
   * book a time, the picker of `slots` instead of the description.
   */
  #renderNumberFields(text: CallUsStrings, slots: CallSlots | undefined): TemplateResult {
    const countries = this.countries;
    const country = this.#pickedCountry();
    const invalidText = country?.example ? text.invalidPhoneExample.replace('{example}', country.example) : text.invalidPhone;
    return html`
      ${slots ? this.#renderSlots(text, slots) : html`<p id="description">${text.description}</p>`}
      ${
        countries && countries.length > 1
          ? html`
              <label for="country">${text.countryLabel}</label>
              <select id="country" part="country" autocomplete="country" @change=${this.#onCountry}>
                ${this.#countryOptions(countries).map(
                  ({ code, callingCode, name }) =>
                    html`<option value=${code} ?selected=${code === country?.code}>${name} (+${callingCode})</option>`,
                )}
              </select>
            `
          : nothing
      }
      <label for="phone">${text.phoneLabel}</label>
      <input
        id="phone"
        part="input"
        name="phone"
        type="tel"
        autocomplete="tel"
        inputmode="tel"
        placeholder=${country?.example ?? nothing}
        aria-invalid=${this.invalid ? 'true' : 'false'}
        aria-describedby=${this.invalid ? 'error' : nothing}
        @input=${this.#onInput}
      />
      <p id="error" part="error" ?hidden=${!this.invalid}>${invalidText}</p>
    `;
  }

  /**
   * The times to book, grouped by day in the visitor's zone (a native `<select>` with an `<optgroup>`
   * per day: keyboard and screen readers know it), each in the visitor's time, and in the business's
   * with its zone named when that shows another time.
   */
  #renderSlots(text: CallUsStrings, { slots, timeZone }: CallSlots): TemplateResult {
    const lang = this.#textLanguage();
    const days = new Map<string, [string, Date][]>();
    for (const slot of slots) {
      const at = new Date(slot);
      const day = new Intl.DateTimeFormat(lang, DAY).format(at);
      days.set(day, [...(days.get(day) ?? []), [slot, at]]);
    }
    return html`
      <label for="slot">${text.slotLabel}</label>
      <select id="slot" part="slot">
        ${[...days].map(
          ([day, times]) =>
            html`<optgroup label=${day}>
              ${times.map(([slot, at]) => html`<option value=${slot}>${zoned(at, timeZone, text, lang, TIME)}</option>`)}
            </optgroup>`,
        )}
      </select>
    `;
  }

  /** The id's default first, then the others by their name in the dialog's language. */
  #countryOptions(countries: DialCountry[]): (DialCountry & { name: string })[] {
    const lang = this.#textLanguage();
    let names: Intl.DisplayNames | undefined;
    try {
      names = new Intl.DisplayNames([lang], { type: 'region' });
    } catch {
      // An invalid language tag: the codes stand in for names.
    }
    const [first, ...rest] = countries.map((country) => ({ ...country, name: names?.of(country.code) ?? country.code }));
    return first ? [first, ...rest.sort((a, b) => a.name.localeCompare(b.name, lang))] : [];
  }

  /** The picked country, else the id's default; undefined when the id does not list its countries. */
  #pickedCountry(): DialCountry | undefined {
    return this.countries?.find((country) => country.code === this.countryCode) ?? this.countries?.[0];
  }

  #statusText(text: CallUsStrings, closed: boolean): string {
    const { phase, booking } = this;
    if (phase === 'sending') return text.sending;
    if (phase === 'error') return this.errorMessage;
    if (phase === 'cancelled') return text.cancelled;
    if (booking) return text.booked.replace('{time}', zoned(new Date(booking.at), booking.timeZone, text, this.#textLanguage(), WHEN));
    if (phase === 'success') return text[this.callStatus ? STATUS_STRINGS[this.callStatus][0] : 'success'];
    return closed && this.hours ? closedMessage(this.hours, text, this.#textLanguage()) : '';
  }

  /**
   * The strings to show: the built-in ones for the requested language, then the page's overrides. With
   * `fallbackLang`, the language to mark them with because English stands in for an unsupported one.
   */
  #localized(): { text: CallUsStrings; fallbackLang: CallUsLanguage | undefined } {
    const { language, strings, matched } = stringsFor(this.#requestedLanguage());
    // WCAG 3.1.2: English standing in for an unsupported page language is marked as English, unless
    // the page supplied its own strings (then their language is unknown and inheriting is right).
    const fallbackLang = !matched && Object.keys(this.strings).length === 0 ? language : undefined;
    return { text: { ...strings, ...this.strings }, fallbackLang };
  }

  /** The element's own `lang`, else the closest one up the tree (across shadow roots), else the document's. */
  #requestedLanguage(): string {
    return inheritedLang(this);
  }

  /** The language of country names and dates: the dialog's (English where English stands in). */
  #textLanguage(): string {
    return this.#localized().fallbackLang ?? (this.#requestedLanguage() || 'en');
  }

  /**
   * Asks `GET /widget-config` for the id's branding, hours and countries. `fresh`: for a new id or
   * endpoint, so what was known of the old one is dropped; otherwise it stays until the answer.
   * Branding is kept out when any branding attribute is set, so a page's own branding is never mixed
   * with the server's; hours and countries always apply.
   */
  #loadConfig(fresh: boolean): void {
    const request = ++this.#configRequest;
    if (fresh) {
      this.branding = {};
      this.hours = undefined;
      this.countries = undefined;
      this.countryCode = '';
      this.scheduling = false;
      this.slots = undefined;
      this.booking = undefined;
    }
    clearTimeout(this.#openingTimer);
    if (!this.endpoint || !this.configId) return;
    void fetchConfig(this.endpoint, this.configId).then((config) => {
      if (!config || request !== this.#configRequest) return;
      const branded = [this.buttonText, this.buttonColor, this.companyName, this.logoUrl].some((value) => value != null);
      this.branding = branded ? {} : config.branding;
      this.countries = config.countries;
      this.scheduling = config.scheduling;
      if (config.hours) this.#learnHours(config.hours);
      if (this.scheduling && isClosed(this.hours)) void this.#loadSlots();
    });
  }

  /** Shows what the server said of the line's hours, says it in `call-us-hours`, and waits for it to open. */
  #learnHours(hours: LineHours): void {
    this.hours = { ...hours, timeZone: hours.timeZone ?? this.hours?.timeZone };
    const { open, nextOpen, timeZone } = this.hours;
    this.#watchOpening();
    this.#fire('call-us-hours', { open, nextOpen: nextOpen?.toISOString() ?? null, ...(timeZone ? { timeZone } : {}) });
  }

  /** While the line is closed with a known opening time, asks the server again once that time comes. */
  #watchOpening(): void {
    clearTimeout(this.#openingTimer);
    const opens = this.hours?.open === false ? this.hours.nextOpen : undefined;
    if (!opens || !this.isConnected) return;
    // A second past the opening, so the server's clock agrees; at least two seconds, so a visitor's clock
    // running ahead of the server's makes the element ask again every two seconds at most (the answers
    // are cacheable until the server's opening anyway).
    const delay = Math.min(Math.max(opens.getTime() - Date.now() + 1_000, 2_000), MAX_TIMEOUT_MS);
    this.#openingTimer = setTimeout(() => this.#loadConfig(false), delay);
  }

  /** Fetches the times to book; none (or a failed request) leaves `slots` unset. */
  async #loadSlots(): Promise<void> {
    const request = this.#configRequest;
    const found = await fetchSlots(this.endpoint, this.configId);
    if (request === this.#configRequest) this.slots = found?.slots.length ? found : undefined;
  }

  /** "Call me later": the times to book replace the immediate call, and the picker takes focus from the button, now gone. */
  async #onLater(): Promise<void> {
    await this.#loadSlots();
    if (!this.slots) return this.#fail(this.#localized().text.noSlots);
    this.phase = 'open';
    await this.updateComplete;
    this.#slotPicker?.focus();
  }

  /** Cancels the booking (DELETE with its cancel token); focus moves from the Cancel button, then gone, to Close. */
  async #onCancelBooking(): Promise<void> {
    const { booking } = this;
    if (!booking?.cancelToken || this.phase === 'sending') return;
    const { text } = this.#localized();
    this.phase = 'sending';
    const outcome = await cancelCall(this.endpoint, booking.callbackId, booking.cancelToken);
    if (!outcome.ok)
      return this.#fail(outcome.status === 404 ? text.notCancellable : failureMessage(outcome, text), outcome.status, outcome.code);
    this.phase = 'cancelled';
    this.#fire('call-us-cancelled', { callbackId: booking.callbackId });
    await this.updateComplete;
    this.#cancelButton?.focus();
  }

  #onInput(): void {
    // The message describes the value that was refused; once it is edited, it no longer applies.
    this.invalid = false;
  }

  #onCountry(event: Event): void {
    this.countryCode = (event.target as HTMLSelectElement).value;
    this.invalid = false;
  }

  #onClose(): void {
    if (this.phase === 'cancelled') this.booking = undefined;
    if (this.phase !== 'sending') this.phase = 'idle';
    // An open line offers a call now again; a closed line's times are fetched afresh on the next opening.
    if (!isClosed(this.hours)) this.slots = undefined;
    // Only take focus back when it would otherwise be lost, never from elsewhere on the page.
    const active = document.activeElement;
    if (!active || active === document.body || active === this) this.#trigger?.focus();
    this.#fire('call-us-close', {});
  }

  /** Check the number, announce it, get a Turnstile token if the page gives one, request the call, show how it ended. */
  async #onSubmit(event: SubmitEvent): Promise<void> {
    event.preventDefault();
    if (this.phase === 'sending') return;
    const phoneNumber = this.#input?.value.trim();
    const country = this.#pickedCountry();
    if (phoneNumber === undefined || !this.#checkPhoneNumber(phoneNumber, country)) return;
    const { text } = this.#localized();
    if (!this.endpoint || !this.configId) {
      // Misconfigured embed: nothing is sent anywhere, and the visitor gets the generic message.
      this.#fail(text.genericError);
      return;
    }
    const detail = { phoneNumber, ...(country ? { country: country.code } : {}) };
    const scheduledAt = this.slots ? this.#slotPicker?.value : undefined;
    this.#startSending(detail);
    const token = await this.#turnstileTokenForRequest();
    if (token === false) {
      // The page's challenge failed; without a token the server refuses anyway, so say so now.
      this.#fail(text.genericError);
      return;
    }
    const outcome = await requestCall(this.endpoint, this.configId, dialledNumber(phoneNumber, country), token, scheduledAt);
    this.#showOutcome(outcome, detail, text, scheduledAt);
  }

  /** The quick check. A refused number gets the inline message and keeps focus, so the visitor can fix it. */
  #checkPhoneNumber(phoneNumber: string, country: DialCountry | undefined): boolean {
    this.invalid = !(country ? isPlausibleIn(phoneNumber, country) : isPlausiblePhoneNumber(phoneNumber));
    if (this.invalid) this.#input?.focus();
    return !this.invalid;
  }

  /** Disables the submit button (through the `sending` phase) and fires `call-us-submit`. */
  #startSending(detail: CallUsPhoneDetail): void {
    // The submit button is about to be disabled; focus on it would fall out of the dialog.
    if (this.shadowRoot?.activeElement === this.#submitButton) this.#input?.focus();
    this.phase = 'sending';
    this.#fire('call-us-submit', detail);
  }

  /**
   * A fresh token from `turnstileToken` (tokens are single-use): undefined when the page has no hook or
   * its hook gave none, false when the page's challenge failed.
   */
  async #turnstileTokenForRequest(): Promise<string | undefined | false> {
    try {
      return (await this.turnstileToken?.()) || undefined;
    } catch {
      return false;
    }
  }

  #showOutcome(outcome: CallOutcome, detail: CallUsPhoneDetail, text: CallUsStrings, scheduledAt?: string): void {
    if (!outcome.ok) {
      if (outcome.code === 'closed') return this.#foundClosed(outcome, text);
      // The picked time was taken or has passed: offer the times still free. With none left on a
      // closed line, the form goes, and focus with it: Close takes it, as when the line closes.
      if (outcome.code === 'invalid_schedule')
        void this.#loadSlots()
          .then(() => this.updateComplete)
          .then(() => this.shadowRoot?.activeElement || this.#cancelButton?.focus());
      return this.#fail(failureMessage(outcome, text), outcome.status, outcome.code);
    }
    const { callbackId = '', statusToken, cancelToken } = outcome;
    // A request that ends after the dialog closed leaves the element idle, so reopening starts afresh.
    this.phase = this.#dialog?.open ? 'success' : 'idle';
    if (scheduledAt) {
      const at = outcome.scheduledAt ?? scheduledAt;
      this.booking = { callbackId, at, cancelToken, timeZone: this.slots?.timeZone ?? this.hours?.timeZone };
      this.#fire('call-us-scheduled', { ...detail, callbackId, scheduledAt: at });
      // The form, and the submit button with it, is gone: Close takes focus, away from "Cancel the call".
      void this.updateComplete.then(() => this.#dialog?.open && this.#cancelButton?.focus());
      return;
    }
    this.callStatus = undefined;
    this.#fire('call-us-success', detail);
    // An older server gives no status token: then the success text is all there is to say.
    if (callbackId && statusToken) this.#followCall(callbackId, statusToken);
  }

  /**
   * Follows the call's live status (Server-Sent Events): each step is shown in the live region and
   * reported in `call-us-status`. EventSource reconnects by itself (sending `Last-Event-ID`); the stream
   * is closed after a final step, on another call, and when the element leaves the page.
   */
  #followCall(callbackId: string, statusToken: string): void {
    this.#statusStream?.close();
    const stream = (this.#statusStream = new EventSource(callUrl(this.endpoint, callbackId, statusToken, '/events')));
    stream.addEventListener('status', (event) => {
      let status: unknown;
      try {
        status = (JSON.parse((event as MessageEvent<string>).data) as { status?: unknown }).status;
      } catch {
        return;
      }
      // A step this version does not know, or one heard again after a reconnection, changes nothing.
      if (typeof status !== 'string' || !Object.hasOwn(STATUS_STRINGS, status) || status === this.callStatus) return;
      const step = status as CallUsCallStatus;
      this.callStatus = step;
      this.#fire('call-us-status', { status: step, callbackId });
      if (STATUS_STRINGS[step][1]) stream.close();
    });
  }

  /**
   * The line closed since the element last asked (409 `closed`): the dialog turns into its closed state,
   * which the live region announces, and focus moves from the field, now gone, to Close.
   */
  #foundClosed(failure: CallFailure, text: CallUsStrings): void {
    this.#learnHours({ open: false, nextOpen: failure.nextOpen });
    if (this.scheduling) void this.#loadSlots();
    const open = this.#dialog?.open;
    this.phase = open ? 'open' : 'idle';
    const message = closedMessage({ open: false, nextOpen: failure.nextOpen, timeZone: this.hours?.timeZone }, text, this.#textLanguage());
    this.#fire('call-us-error', { message, status: failure.status ?? 409, code: 'closed' });
    // Inside a modal dialog, focus lost with the field it was on would land on the page's body.
    if (open) void this.updateComplete.then(() => this.shadowRoot?.activeElement || this.#cancelButton?.focus());
  }

  /** Dispatches one of the element's events (see `CallUsEventMap`). */
  #fire<K extends keyof CallUsEventMap>(type: K, detail: CallUsEventMap[K]['detail']): void {
    this.dispatchEvent(callUsEvent(type, detail));
  }

  #fail(message: string, status?: number, code?: string): void {
    this.errorMessage = message;
    this.phase = this.#dialog?.open ? 'error' : 'idle';
    this.#fire('call-us-error', { message, ...(status === undefined ? {} : { status }), ...(code ? { code } : {}) });
  }
}
