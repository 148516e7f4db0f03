import { LitElement, html, nothing, type TemplateResult } from 'lit';
import { repeat } from 'lit/directives/repeat.js';
import { popupStyles } from './call-popup.styles.js';
import { CallStream, type CallPopupCall } from './call-stream.js';
import { callPopupEvent, type CallPopupDismissReason } from './events.js';
import { inheritedLang } from './lang.js';
import { popupStringsFor, type CallPopupStrings } from './strings/call-popup/index.js';
import type { CallUsLanguage } from './strings/pick.js';
import { httpUrl } from './validate.js';

/** One toast on screen: `key` is this element's own, so ids in the shadow root never come from the server. */
interface Toast {
  key: number;
  call: CallPopupCall;
}

/** How many closed calls are remembered, so a replayed `ringing` does not bring a closed toast back. */
const REMEMBERED_CALLS = 500;

/**
 * Toasts for incoming calls, live: each ringing call a page's Beckon app may see shows who is calling
 * and which customer that is, with a link to the customer's record.
 *
 * @summary Incoming-call popup: a toast per ringing call, from the server's live call stream.
 *
 * @attr {string} lang - Language of the built-in strings: `en`, `es` or `fr`, matched by primary subtag, else English; without it, the closest `lang` on an ancestor (across shadow roots) or `<html lang>` applies, as on `<call-us-button>`.
 *
 * @fires {CustomEvent<{ call: CallPopupCall }>} call-popup-show - A toast appeared for a ringing call.
 * @fires {CustomEvent<{ call: CallPopupCall, reason: 'dismissed' | 'timeout' | 'answered' | 'ended' }>} call-popup-dismiss - A toast closed: Dismiss was pressed, `auto-dismiss` seconds passed, or the call was answered or ended (`ended` also covers missed and voicemail).
 * @fires {CustomEvent<{ call: CallPopupCall, url: string }>} call-popup-open-customer - "View customer" was activated. Cancelable: `preventDefault()` keeps the link from opening, for a page that shows the customer itself.
 *
 * @csspart stack - The live region (`role="status"`) holding the toasts, newest last.
 * @csspart toast - One call's toast.
 * @csspart label - The "Incoming call" line.
 * @csspart caller - The caller's name, else number, else the `unknownCaller` string.
 * @csspart number - The caller's number, under the name (only when both are known).
 * @csspart customer - The matched customer's name, or the `newCaller` string.
 * @csspart email - The customer's email (when known).
 * @csspart view - The "View customer" link (only when the customer has an http(s) URL).
 * @csspart dismiss - The Dismiss button.
 *
 * @cssprop [--call-popup-color=#0b57d0] - Accent: the toast's edge and the "View customer" link's background.
 * @cssprop [--call-popup-text-color=#ffffff] - Text colour on the accent; keep 4.5:1 contrast with `--call-popup-color`.
 * @cssprop [--call-popup-radius=8px] - Corner radius of the toasts and their buttons.
 * @cssprop [--call-popup-width=22rem] - Width of the toasts (never wider than the viewport less 2rem).
 * @cssprop --call-popup-font - Font family (inherited from the page when unset).
 * @cssprop [--call-popup-z-index=2147483000] - Stacking order of the fixed toast stack.
 */
export class CallPopup extends LitElement {
  static override styles = popupStyles;

  /**
   * The reactive properties, declared here rather than with decorators, as `<call-us-button>` does (for
   * its bundle's size budget): a field is reactive only when listed here. A state is never an attribute
   * (`attribute: false` is Lit's rule for `state`, said again for the manifest analyzer).
   */
  static override properties = {
    endpoint: {},
    streamToken: { attribute: false },
    autoDismiss: { type: Number, attribute: 'auto-dismiss' },
    strings: { attribute: false },
    toasts: { state: true, attribute: false },
  };

  /** Re-render on `lang` changes too, keeping the native `lang` property (a Lit accessor would shadow it). */
  static override get observedAttributes(): string[] {
    return [...super.observedAttributes, 'lang'];
  }

  /** Base URL of the Beckon server, such as `https://beckon.example.net`. With `streamToken`, required to connect. */
  endpoint = '';

  /**
   * A function giving a stream token for `GET {endpoint}/api/call-stream`: the page's own backend gets one
   * from `POST /api/stream-tokens` with its app key (which never reaches the browser). Called before
   * every connection, reconnections included, since tokens live only minutes. If it throws, rejects or
   * gives no token, the element tries again later with backoff.
   */
  streamToken?: () => string | Promise<string>;

  /** Seconds a toast stays when nothing closes it earlier; `0` keeps toasts until the call ends or Dismiss. */
  autoDismiss = 30;

  /** Overrides for any built-in string (the keys of `CallPopupStrings`), whatever the language. Assign a new object to change them. */
  strings: Partial<CallPopupStrings> = {};

  private toasts: Toast[] = [];

  private stream: CallStream | undefined;
  /** What `stream` was opened with. */
  private streamOf: { endpoint: string; token: NonNullable<CallPopup['streamToken']> } | undefined;
  /**
   * Where a replaced stream stopped (a new `streamToken`, or the element moved in the page): the next
   * one resumes there if it reads the same endpoint, since event ids belong to one server.
   */
  private resume: { endpoint: string; lastEventId: string } | undefined;
  private nextKey = 0;
  private readonly timers = new Map<number, ReturnType<typeof setTimeout>>();
  /** Ids of calls that had a toast, oldest first. */
  private readonly seen = new Set<string>();
  private readonly documentLang = new MutationObserver(() => this.requestUpdate());

  override connectedCallback(): void {
    super.connectedCallback();
    this.documentLang.observe(document.documentElement, { attributeFilter: ['lang'] });
    for (const toast of this.toasts) this.startTimer(toast.key);
    this.connect();
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.documentLang.disconnect();
    this.disconnect();
    for (const key of [...this.timers.keys()]) this.stopTimer(key);
  }

  override attributeChangedCallback(name: string, old: string | null, value: string | null): void {
    super.attributeChangedCallback(name, old, value);
    if (name === 'lang') this.requestUpdate();
  }

  protected override willUpdate(): void {
    this.connect();
  }

  protected override render(): TemplateResult {
    const { text, fallbackLang } = this.localized();
    // A live region that exists before any toast does, so screen readers announce each one as it is
    // added; nothing in it ever takes focus. tabindex -1: Firefox makes a scrolling box a Tab stop of
    // its own, and the controls inside are the stops (focusing one scrolls it into view).
    return html`
      <div part="stack" tabindex="-1" role="status" aria-live="polite" aria-label=${text.region} lang=${fallbackLang ?? nothing}>
        ${repeat(
          this.toasts,
          (toast) => toast.key,
          (toast) => this.renderToast(toast, text),
        )}
      </div>
    `;
  }

  private renderToast({ key, call }: Toast, text: CallPopupStrings): TemplateResult {
    const callerId = `caller-${key}`;
    const url = httpUrl(call.customer_url);
    const known = call.customer_name || call.customer_email;
    // Everything from the server is bound as text: markup in a name stays inert.
    return html`
      <div
        part="toast"
        role="group"
        aria-labelledby=${callerId}
        data-call=${call.id}
        @mouseenter=${() => this.stopTimer(key)}
        @mouseleave=${(event: MouseEvent) => this.resumeTimer(key, event)}
        @focusin=${() => this.stopTimer(key)}
        @focusout=${(event: FocusEvent) => this.resumeTimer(key, event)}
      >
        <p part="label">${text.incomingCall}</p>
        <p part="caller" id=${callerId}>${call.from_name || call.from_number || text.unknownCaller}</p>
        ${call.from_name && call.from_number ? html`<p part="number">${call.from_number}</p>` : nothing}
        <p part="customer">${known ? call.customer_name : text.newCaller}</p>
        ${call.customer_email ? html`<p part="email">${call.customer_email}</p>` : nothing}
        <div class="actions">
          ${
            url
              ? html`<a
                  part="view"
                  href=${url}
                  target="_blank"
                  rel="noopener noreferrer"
                  aria-describedby=${callerId}
                  @click=${(event: MouseEvent) => this.onView(event, call, url)}
                  >${text.viewCustomer}<span class="visually-hidden"> ${text.newTab}</span></a
                >`
              : nothing
          }
          <button part="dismiss" type="button" aria-describedby=${callerId} @click=${() => this.close(call.id, 'dismissed')}>
            ${text.dismiss}
          </button>
        </div>
      </div>
    `;
  }

  /**
   * Opens the stream when the element is in the page with an endpoint and a token function, and
   * reopens it when either changed; otherwise closes it.
   */
  private connect(): void {
    const { endpoint, streamToken } = this;
    const wanted = this.isConnected && Boolean(endpoint) && streamToken !== undefined;
    if (wanted && this.stream && this.streamOf?.endpoint === endpoint && this.streamOf.token === streamToken) return;
    this.disconnect();
    if (!wanted || !streamToken) return;
    this.streamOf = { endpoint, token: streamToken };
    this.stream = new CallStream({
      endpoint,
      token: streamToken,
      lastEventId: this.resume?.endpoint === endpoint ? this.resume.lastEventId : '',
      onCall: (call) => this.onCall(call),
    });
  }

  private disconnect(): void {
    if (!this.stream || !this.streamOf) return;
    this.resume = { endpoint: this.streamOf.endpoint, lastEventId: this.stream.lastEventId };
    this.stream.close();
    this.stream = undefined;
    this.streamOf = undefined;
  }

  private onCall(call: CallPopupCall): void {
    const shown = this.toasts.find((toast) => toast.call.id === call.id);
    if (call.status !== 'ringing') {
      if (shown) this.close(call.id, call.status === 'answered' ? 'answered' : 'ended', call);
      return;
    }
    if (shown) {
      // Still ringing, with news (a customer matched since): show the latest.
      this.toasts = this.toasts.map((toast) => (toast === shown ? { ...toast, call } : toast));
      return;
    }
    // Calls placed from here ring the caller's own phone: the popup is for calls coming in.
    if (call.direction === 'outbound' || this.seen.has(call.id)) return;
    this.remember(call.id);
    const toast = { key: this.nextKey++, call };
    this.toasts = [...this.toasts, toast];
    this.startTimer(toast.key);
    this.dispatchEvent(callPopupEvent('call-popup-show', { call }));
  }

  private remember(id: string): void {
    this.seen.add(id);
    if (this.seen.size > REMEMBERED_CALLS) this.seen.delete(this.seen.values().next().value as string);
  }

  /** Removes a call's toast and says why; `latest` is the call as the event that closed it gave it. */
  private close(id: string, reason: CallPopupDismissReason, latest?: CallPopupCall): void {
    const index = this.toasts.findIndex((toast) => toast.call.id === id);
    const toast = this.toasts[index];
    if (!toast) return;
    this.stopTimer(toast.key);
    const hadFocus = this.toastElement(toast.key)?.contains(this.shadowRoot?.activeElement ?? null) ?? false;
    this.toasts = this.toasts.filter((other) => other !== toast);
    // Only when focus was inside the toast that went away (a keyboard user's Dismiss): keep it in the
    // stack rather than drop it on the page's body. Never taken from anywhere else.
    if (hadFocus) {
      const neighbour = this.toasts[Math.min(index, this.toasts.length - 1)];
      if (neighbour)
        void this.updateComplete.then(() => this.toastElement(neighbour.key)?.querySelector<HTMLElement>('[part~="dismiss"]')?.focus());
    }
    this.dispatchEvent(callPopupEvent('call-popup-dismiss', { call: latest ?? toast.call, reason }));
  }

  private onView(event: MouseEvent, call: CallPopupCall, url: string): void {
    if (!this.dispatchEvent(callPopupEvent('call-popup-open-customer', { call, url }, true))) event.preventDefault();
  }

  private toastElement(key: number): HTMLElement | null | undefined {
    const id = `caller-${key}`;
    return this.shadowRoot?.getElementById(id)?.closest<HTMLElement>('[part~="toast"]');
  }

  private startTimer(key: number): void {
    this.stopTimer(key);
    if (!(this.autoDismiss > 0) || !this.isConnected) return;
    const timer = setTimeout(() => {
      const toast = this.toasts.find((candidate) => candidate.key === key);
      if (toast) this.close(toast.call.id, 'timeout');
    }, this.autoDismiss * 1000);
    this.timers.set(key, timer);
  }

  private stopTimer(key: number): void {
    clearTimeout(this.timers.get(key));
    this.timers.delete(key);
  }

  /**
   * The timer restarts in full once neither the pointer nor focus is on the toast: a toast someone is
   * reading or about to activate does not vanish under them (WCAG 2.2.1).
   */
  private resumeTimer(key: number, event: MouseEvent | FocusEvent): void {
    const toast = event.currentTarget as HTMLElement;
    const next = event.relatedTarget instanceof Node ? event.relatedTarget : null;
    const focusStays = event instanceof FocusEvent ? toast.contains(next) : toast.matches(':focus-within');
    const pointerStays = event instanceof FocusEvent && toast.matches(':hover');
    if (!focusStays && !pointerStays && this.toasts.some((candidate) => candidate.key === key)) this.startTimer(key);
  }

  /** The strings to show, and the language to mark them with when English stands in for the page's. */
  private localized(): { text: CallPopupStrings; fallbackLang: CallUsLanguage | undefined } {
    const { language, strings, matched } = popupStringsFor(inheritedLang(this));
    const fallbackLang = !matched && Object.keys(this.strings).length === 0 ? language : undefined;
    return { text: { ...strings, ...this.strings }, fallbackLang };
  }
}
