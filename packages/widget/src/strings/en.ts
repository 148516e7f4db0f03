/**
 * Every piece of text the element shows. English is the reference: other languages implement this
 * interface, and the `strings` property overrides any key.
 */
export interface CallUsStrings {
  /** Label of the button that opens the dialog (when no `button-text` is given). */
  buttonText: string;
  /** Dialog heading when no company name is known. */
  heading: string;
  /** One sentence under the heading saying what happens. */
  description: string;
  /** Label of the phone number field. */
  phoneLabel: string;
  /** Label of the button that sends the request. */
  submit: string;
  /** Label of the button that closes the dialog before a call was requested. */
  cancel: string;
  /** Label of that same button once the call was requested. */
  close: string;
  /** Status while the request is on its way. */
  sending: string;
  /** Status once the server accepted the request. */
  success: string;
  /** Inline error when the number does not look like a phone number. */
  invalidPhone: string;
  /** Status when the server answers 429: a rate limit was reached. */
  tooManyRequests: string;
  /**
   * Status when the server cannot be reached or answers without a usable message, and when the element
   * cannot send the request (no `endpoint` or `config-id`, or `turnstileToken` threw).
   */
  genericError: string;
  // The server's errors, by their `code` (the server's own message is English).
  /** Status when the server knows no such id. */
  notConfigured: string;
  /** Status when the id does not accept requests from this page's origin (its `allowed_origins`). */
  notAllowedHere: string;
  /** Status when the bot check the id requires was missing or failed. */
  verificationFailed: string;
  /** Status when the server finds the number is not a valid phone number. */
  invalidNumber: string;
  /** Status when the id does not call numbers in that country. */
  countryNotAllowed: string;
  /** Status when the number is of a kind the server never calls (premium-rate, for example). */
  numberNotAllowed: string;
  /** Status when the phone system could not place the call, or the bot check could not be run. */
  callFailed: string;
  // A country picker, for an id that calls several countries.
  /** Label of the country picker. */
  countryLabel: string;
  /** Inline error when the number does not fit the picked country; `{example}` is a number there. */
  invalidPhoneExample: string;
  // Opening hours, for an id that has them.
  /** Beside the button's label while the line is closed. */
  closedNote: string;
  /** Status in the dialog while the line is closed (and after a request found it closed). */
  closed: string;
  /** After `closed`: when the line opens. `{time}` is a date and time, in the visitor's zone. */
  opensAt: string;
  /**
   * What `{time}` in `opensAt` becomes when the business's zone differs from the visitor's: `{time}`
   * is the time in the visitor's zone, `{business}` the same instant in the business's, zone named.
   */
  yourTime: string;
  /** After `closed` when the server gave no opening time (closed beyond the next 14 days). */
  tryLater: string;
  // Booking a time, for an id that takes bookings.
  /** Label of the button that offers times to book instead of a call now. */
  later: string;
  /** Label of the picker of times to book. */
  slotLabel: string;
  /** Status when no time can be booked (none free, or the times could not be fetched). */
  noSlots: string;
  /** Status once a time is booked. `{time}` is its date and time, in the visitor's zone. */
  booked: string;
  /** Label of the button that cancels the booking. */
  cancelBooking: string;
  /** Status once the booking (or the call) is cancelled. */
  cancelled: string;
  /** Status when the booked time is no longer free or bookable (`invalid_schedule`). */
  slotTaken: string;
  /** Status when this number already has a booking with this id (`already_booked`). */
  alreadyBooked: string;
  /** Status when the booking can no longer be cancelled: its call was placed, or it is gone (`not_pending`, 404). */
  notCancellable: string;
  // The call's live status, after an immediate call.
  /** The visitor's phone is ringing. */
  ringing: string;
  /** The visitor answered and is connected. */
  answered: string;
  /** The call ended. */
  ended: string;
  /** The visitor did not answer (or a booked call's time was missed). */
  noAnswer: string;
}

export const en: CallUsStrings = {
  buttonText: 'Call us',
  heading: 'Request a call',
  description: "Enter your phone number and we'll call you right away.",
  phoneLabel: 'Your phone number',
  submit: 'Call me',
  cancel: 'Cancel',
  close: 'Close',
  sending: 'Sending your request…',
  success: "We're calling you now.",
  invalidPhone: 'Please enter a valid phone number (at least 7 digits).',
  tooManyRequests: 'Too many requests. Please try again in a few minutes.',
  genericError: 'Something went wrong. Please try again later.',
  notConfigured: 'This call button is not configured.',
  notAllowedHere: 'This call button cannot be used on this site.',
  verificationFailed: 'Please complete the verification and try again.',
  invalidNumber: 'Please enter a valid phone number.',
  countryNotAllowed: 'Sorry, we cannot call numbers in that country.',
  numberNotAllowed: 'Sorry, we cannot call that number.',
  callFailed: 'Could not place your call right now. Please try again.',
  countryLabel: 'Country',
  invalidPhoneExample: 'Please enter a valid phone number, such as {example}.',
  closedNote: 'Closed now',
  closed: "We're closed right now.",
  opensAt: 'We open again on {time}.',
  yourTime: '{time} your time ({business})',
  tryLater: 'Please try again later.',
  later: 'Call me later',
  slotLabel: 'When should we call?',
  noSlots: 'No time is free to book.',
  booked: "Booked: we'll call you on {time}.",
  cancelBooking: 'Cancel the call',
  cancelled: 'Your call is cancelled.',
  slotTaken: 'That time is taken. Please pick another.',
  alreadyBooked: 'You already have a call booked.',
  notCancellable: 'This call can no longer be cancelled.',
  ringing: "We're ringing you now.",
  answered: 'Connected.',
  ended: 'The call has ended.',
  noAnswer: "We couldn't reach you.",
};
