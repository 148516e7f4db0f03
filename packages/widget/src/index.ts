// Named exports, not `export *`: each name here is public API, and only these are.
export { CallUsButton } from './call-us-button.js';
export type {
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
export type { CallUsLanguage, CallUsStrings } from './strings/index.js';
