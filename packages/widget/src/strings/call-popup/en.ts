/**
 * Every piece of text `<call-popup>` shows. English is the reference: other languages implement this
 * interface, and the `strings` property overrides any key.
 */
export interface CallPopupStrings {
  /** Accessible name of the live region that holds the toasts. */
  region: string;
  /** Line above the caller in each toast. */
  incomingCall: string;
  /** Shown as the caller when the call carries neither a name nor a number. */
  unknownCaller: string;
  /** Shown instead of the customer when the caller matched no customer. */
  newCaller: string;
  /** The link to the customer's record. */
  viewCustomer: string;
  /** Read by screen readers after `viewCustomer` (the link opens a new tab); not shown. */
  newTab: string;
  /** The button that closes a toast. */
  dismiss: string;
}

export const en: CallPopupStrings = {
  region: 'Incoming calls',
  incomingCall: 'Incoming call',
  unknownCaller: 'Unknown caller',
  newCaller: 'New caller',
  viewCustomer: 'View customer',
  newTab: '(opens in a new tab)',
  dismiss: 'Dismiss',
};
