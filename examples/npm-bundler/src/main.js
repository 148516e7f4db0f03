// @ts-check
// The page's script, bundled by rollup (rollup.config.mjs) into dist/main.js. Importing the package
// defines <call-us-button>; the elements already in index.html upgrade as soon as this runs.
import { CallUsButton } from '@beckon/widget';

/** @type {HTMLOListElement | null} */
const log = document.querySelector('#call-log');
/** @type {HTMLElement | null} */
const thanks = document.querySelector('#thanks');

/** @param {string} line */
function record(line) {
  const item = document.createElement('li');
  item.textContent = line; // text, never markup: the detail comes from what a visitor typed
  log?.append(item);
}

// Listeners go on the elements themselves: the package types its events on HTMLElementEventMap, so
// here `event.detail` is known to be `{ phoneNumber }`, or `{ message, status? }` for errors. (The
// events also bubble and are composed, so a listener on `document` hears them too, but TypeScript
// would see plain `Event`s there.)
for (const button of document.querySelectorAll('call-us-button')) {
  button.addEventListener('call-us-open', () => record('call-us-open'));
  button.addEventListener('call-us-close', () => record('call-us-close'));
  button.addEventListener('call-us-submit', (event) => record(`call-us-submit ${event.detail.phoneNumber}`));

  button.addEventListener('call-us-success', (event) => {
    record(`call-us-success ${event.detail.phoneNumber}`);
    if (thanks) thanks.textContent = `Thanks! One of our grocers is calling ${event.detail.phoneNumber} now.`;
    // A real site would record a conversion here, e.g. for its analytics.
  });

  button.addEventListener('call-us-error', (event) => {
    const { message, status } = event.detail;
    // `status` is absent when the server could not be reached at all.
    record(`call-us-error ${status ?? 'network'} ${message}`);
  });
}

// The class is exported too: for instanceof checks, or to call show()/hide() from the page's own UI.
for (const link of document.querySelectorAll('[data-open-call-us]')) {
  link.addEventListener('click', (event) => {
    const target = document.getElementById(link.getAttribute('data-open-call-us') ?? '');
    if (!(target instanceof CallUsButton)) return; // let the link do its default if the id is wrong
    event.preventDefault();
    void target.show();
  });
}
