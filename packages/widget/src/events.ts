/** The elements' events: names, detail types, and the one way each element's are created. */

import type { CallPopupCall } from './call-stream.js';

/** Detail of `call-us-submit` and `call-us-success`. */
export interface CallUsPhoneDetail {
  /** The number as the visitor typed it, trimmed. */
  phoneNumber: string;
  /** The country picked (ISO 3166, `FR`), when the id lists the countries it calls. */
  country?: string;
}

/** Detail of `call-us-hours`: whether the id's line is open, as the server last said. */
export interface CallUsHoursDetail {
  open: boolean;
  /** When a closed line opens (ISO 8601, UTC); null while open, or when the server gave no time. */
  nextOpen: string | null;
  /** The business's time zone (IANA), when the server gave it. */
  timeZone?: string;
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

/** Detail of `call-us-scheduled`: a time was booked. */
export interface CallUsScheduledDetail extends CallUsPhoneDetail {
  /** The booking's id on the server. */
  callbackId: string;
  /** The booked time (ISO 8601, UTC), as the server wrote it. */
  scheduledAt: string;
}

/** Detail of `call-us-cancelled`: a booking was cancelled. */
export interface CallUsCancelledDetail {
  callbackId: string;
}

/**
 * Where a requested call is, as the server's status stream says: `queued` (being placed), `ringing`,
 * `answered`, then `ended`; or `no-answer`, `failed`; `scheduled`, `cancelled` and `missed` (a booked
 * time that passed unplaced) concern bookings. The last five are final.
 */
export type CallUsCallStatus = 'scheduled' | 'queued' | 'ringing' | 'answered' | 'ended' | 'no-answer' | 'failed' | 'cancelled' | 'missed';

/** Detail of `call-us-status`. */
export interface CallUsStatusDetail {
  status: CallUsCallStatus;
  /** The call's id on the server. */
  callbackId: string;
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
/** The `call-us-hours` event. */
export type CallUsHoursEvent = CustomEvent<CallUsHoursDetail>;
/** The `call-us-scheduled` event. */
export type CallUsScheduledEvent = CustomEvent<CallUsScheduledDetail>;
/** The `call-us-cancelled` event. */
export type CallUsCancelledEvent = CustomEvent<CallUsCancelledDetail>;
/** The `call-us-status` event. */
export type CallUsStatusEvent = CustomEvent<CallUsStatusDetail>;

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
  'call-us-hours': CallUsHoursEvent;
  'call-us-scheduled': CallUsScheduledEvent;
  'call-us-cancelled': CallUsCancelledEvent;
  'call-us-status': CallUsStatusEvent;
}

/** Bubbling and composed, so listeners outside the shadow root and on ancestors hear them. */
export function callUsEvent<K extends keyof CallUsEventMap>(
  type: K,
  detail: CallUsEventMap[K]['detail'],
): CustomEvent<CallUsEventMap[K]['detail']> {
  return new CustomEvent(type, { bubbles: true, composed: true, detail });
}

/** Detail of `call-popup-show`. */
export interface CallPopupShowDetail {
  /** The ringing call the toast shows. */
  call: CallPopupCall;
}

/**
 * Why a toast closed: `dismissed` (the Dismiss button), `timeout` (after `auto-dismiss` seconds),
 * `answered`, or `ended` (the call ended, was missed or went to voicemail).
 */
export type CallPopupDismissReason = 'dismissed' | 'timeout' | 'answered' | 'ended';

/** Detail of `call-popup-dismiss`. */
export interface CallPopupDismissDetail {
  /** The call, as last received. */
  call: CallPopupCall;
  reason: CallPopupDismissReason;
}

/** Detail of `call-popup-open-customer`. */
export interface CallPopupOpenCustomerDetail {
  call: CallPopupCall;
  /** The customer's page (an absolute http(s) URL) the link opens. */
  url: string;
}

/** The `call-popup-show` event. */
export type CallPopupShowEvent = CustomEvent<CallPopupShowDetail>;
/** The `call-popup-dismiss` event. */
export type CallPopupDismissEvent = CustomEvent<CallPopupDismissDetail>;
/** The `call-popup-open-customer` event: cancelable, and cancelling it keeps the link from opening. */
export type CallPopupOpenCustomerEvent = CustomEvent<CallPopupOpenCustomerDetail>;

/**
 * Every event `<call-popup>` dispatches, by name, to its type. `HTMLElementEventMap`,
 * `DocumentEventMap` and `WindowEventMap` extend it (in `call-popup.ts`), so `addEventListener` is typed
 * on the element, the document and the window.
 */
export interface CallPopupEventMap {
  'call-popup-show': CallPopupShowEvent;
  'call-popup-dismiss': CallPopupDismissEvent;
  'call-popup-open-customer': CallPopupOpenCustomerEvent;
}

/** Bubbling and composed, like the button's; `cancelable` only where cancelling means something. */
export function callPopupEvent<K extends keyof CallPopupEventMap>(
  type: K,
  detail: CallPopupEventMap[K]['detail'],
  cancelable = false,
): CustomEvent<CallPopupEventMap[K]['detail']> {
  return new CustomEvent(type, { bubbles: true, composed: true, cancelable, detail });
}
