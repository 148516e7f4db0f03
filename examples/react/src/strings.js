// The element's text for this site, in its `strings` property. A module-level constant on purpose:
// React assigns a custom element's property again whenever the prop is a different object, and a new
// literal on every render would make the element re-render each time for nothing.
export const CALL_US_STRINGS = Object.freeze({
  heading: 'Talk to our sales team',
  description: 'Leave your number and someone from sales will call you within a minute.',
  submit: 'Call me now',
});
