/** The element's events: names, detail types, and the one way they are created. */

/** Detail of `call-us-submit` and `call-us-success`. */
export interface CallUsPhoneDetail {
  /** The number as the visitor typed it, trimmed. */
  phoneNumber: string;
}

/** Detail of `call-us-error`. */
export interface CallUsErrorDetail {
  /** The text shown to the visitor. */
  message: string;
  /** The HTTP status, when the server answered at all. */
  status?: number;
  /** The server's error code (`invalid_number`, `rate_limited`…), when it gave one. */
  code?: string;
}

/** `call-us-open` and `call-us-close` carry no detail. */
export type CallUsNoDetail = Record<PropertyKey, never>;

/** The `call-us-open` event. */
export type CallUsOpenEvent = CustomEvent<CallUsNoDetail>;
/** The `call-us-close` event. */
export type CallUsCloseEvent = CustomEvent<CallUsNoDetail>;
/** The `call-us-submit` event. */
export type CallUsSubmitEvent = CustomEvent<CallUsPhoneDetail>;
/** The `call-us-success` event. */
export type CallUsSuccessEvent = CustomEvent<CallUsPhoneDetail>;
/** The `call-us-error` event. */
export type CallUsErrorEvent = CustomEvent<CallUsErrorDetail>;

/**
 * Every event `<call-us-button>` dispatches, by name, to its type. `HTMLElementEventMap`,
 * `DocumentEventMap` and `WindowEventMap` extend it, so `addEventListener` is typed on the element, the
 * document and the window.
 *
 * @remarks The one list: the global maps extend it in `call-us-button.ts`, and `callUsEvent` takes its
 * names and detail types from it.
 */
export interface CallUsEventMap {
  'call-us-open': CallUsOpenEvent;
  'call-us-submit': CallUsSubmitEvent;
  'call-us-success': CallUsSuccessEvent;
  'call-us-error': CallUsErrorEvent;
  'call-us-close': CallUsCloseEvent;
}

/** Bubbling and composed, so listeners outside the shadow root and on ancestors hear them. */
export function callUsEvent<K extends keyof CallUsEventMap>(
  type: K,
  detail: CallUsEventMap[K]['detail'],
): CustomEvent<CallUsEventMap[K]['detail']> {
  return new CustomEvent(type, { bubbles: true, composed: true, detail });
}
