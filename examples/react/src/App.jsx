import { useState } from 'react';
import { CALL_US_STRINGS } from './strings.js';

/**
 * A product page with the call-back button. `endpoint` is the Beckon server, `configId` the id that
 * selects the call queue on it.
 * @param {{ endpoint: string, configId: string }} props
 */
export function App({ endpoint, configId }) {
  const [calling, setCalling] = useState('');
  const [failure, setFailure] = useState('');
  const [events, setEvents] = useState(/** @type {string[]} */ ([]));
  const note = (/** @type {string} */ line) => setEvents((lines) => [...lines, line]);

  return (
    <main>
      <h1>Acme Cloud</h1>
      <p>Not sure which plan fits? Our sales team will call you back.</p>

      {/*
        React 19 passes props to a custom element as properties when the element has a property of
        that name (endpoint, strings), else as attributes (config-id, button-text). button-text is a
        branding attribute: with one set, the element does not fetch the id's branding from the server,
        whose company name would otherwise replace the heading given in `strings`.

        Events: a prop `on` + the exact event name becomes addEventListener(name). The names contain
        dashes and are lower case, so the prop is `oncall-us-success` — not `onCallUsSuccess`, which
        would listen for an event called "CallUsSuccess".
      */}
      <call-us-button
        endpoint={endpoint}
        config-id={configId}
        button-text="Talk to sales"
        strings={CALL_US_STRINGS}
        oncall-us-open={() => note('call-us-open')}
        oncall-us-submit={(event) => {
          setFailure('');
          note(`call-us-submit ${event.detail.phoneNumber}`);
        }}
        oncall-us-success={(event) => {
          setCalling(event.detail.phoneNumber);
          note(`call-us-success ${event.detail.phoneNumber}`);
        }}
        oncall-us-error={(event) => {
          // The element shows the message in its dialog too; the page keeps it after the dialog closes.
          setFailure(event.detail.message);
          note(`call-us-error ${event.detail.status ?? 'network'}`);
        }}
        oncall-us-close={() => note('call-us-close')}
      />

      {/* Present from the start, so screen readers announce what is written into it later. */}
      <p role="status">{calling ? `Your phone will ring in a moment: we're calling ${calling}.` : ''}</p>
      {failure ? <p role="alert">We could not request the call: {failure}</p> : null}

      <h2>Events React handled</h2>
      <ol aria-label="Events React handled">
        {events.map((line, index) => (
          <li key={index}>{line}</li>
        ))}
      </ol>
    </main>
  );
}
