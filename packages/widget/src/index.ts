// Named exports, not `export *`: each name here is public API, and only these are.
export { CallUsButton } from './call-us-button.js';
export { CallPopup } from './call-popup.js';
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
  CallUsCloseEvent,
  CallUsErrorDetail,
  CallUsErrorEvent,
  CallUsEventMap,
  CallUsNoDetail,
  CallUsOpenEvent,
  CallUsPhoneDetail,
  CallUsSubmitEvent,
  CallUsSuccessEvent,
} from './events.js';
export type { CallPopupStrings } from './strings/call-popup/index.js';
export type { CallUsLanguage, CallUsStrings } from './strings/index.js';
