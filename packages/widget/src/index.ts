export * from './call-us-button.js';
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
