// Named exports, not `export *`: each name here is public API, and only these are.
// Importing the package defines <call-us-button>, as it always has. <call-popup> is defined by
// `@beckon/widget/call-popup.js`: its class is exported here without its tag's side effect, so an app
// that shows only the button does not bundle the popup (the component module is side-effect free).
export { CallUsButton } from './call-us-button.js';
export { CallPopup } from './call-popup.component.js';
// For the popup's `HTMLElementTagNameMap` and event map entries, which live with its tag.
export type {} from './call-popup.js';
export type { CallPopupCall } from './call-stream.js';
export type {
  CallPopupDismissDetail,
  CallPopupDismissEvent,
  CallPopupDismissReason,
  CallPopupEventMap,
  CallPopupOpenCustomerDetail,
  CallPopupOpenCustomerEvent,
  CallPopupShowDetail,
  CallPopupShowEvent,
  CallUsCallStatus,
  CallUsCancelledDetail,
  CallUsCancelledEvent,
  CallUsCloseEvent,
  CallUsErrorDetail,
  CallUsErrorEvent,
  CallUsEventMap,
  CallUsHoursDetail,
  CallUsHoursEvent,
  CallUsNoDetail,
  CallUsOpenEvent,
  CallUsPhoneDetail,
  CallUsScheduledDetail,
  CallUsScheduledEvent,
  CallUsStatusDetail,
  CallUsStatusEvent,
  CallUsSubmitEvent,
  CallUsSuccessEvent,
} from './events.js';
export type { CallPopupStrings } from './strings/call-popup/index.js';
export type { CallUsLanguage, CallUsStrings } from './strings/index.js';
