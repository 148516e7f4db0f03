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

export type CallUsOpenEvent = CustomEvent<CallUsNoDetail>;
export type CallUsCloseEvent = CustomEvent<CallUsNoDetail>;
export type CallUsSubmitEvent = CustomEvent<CallUsPhoneDetail>;
export type CallUsSuccessEvent = CustomEvent<CallUsPhoneDetail>;
export type CallUsErrorEvent = CustomEvent<CallUsErrorDetail>;

/**
 * Every event `<call-us-button>` dispatches, by name: the one list. `HTMLElementEventMap`,
 * `DocumentEventMap` and `WindowEventMap` extend it (in `call-us-button.ts`), and `callUsEvent` takes
 * its names and detail types from it.
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
