import '@beckon/widget'; // defines <call-us-button> before React renders it, so `strings` is set as a property
import type {} from '@beckon/widget/react'; // JSX types for <call-us-button> and <call-popup>
import { useState } from 'react';
import { createRoot } from 'react-dom/client';

const STRINGS = { heading: 'Talk to sales' }; // one object across renders

function App() {
  const [events, setEvents] = useState<string[]>([]);
  return (
    <main>
      <call-us-button
        endpoint="https://beckon.example.net"
        config-id="acme"
        button-text="Call me back"
        strings={STRINGS}
        oncall-us-open={() => setEvents((seen) => [...seen, 'open'])}
        oncall-us-success={(event) => setEvents((seen) => [...seen, `calling ${event.detail.phoneNumber}`])}
        oncall-us-error={(event) => setEvents((seen) => [...seen, `error ${event.detail.message}`])}
      />
      <ol aria-label="Events">
        {events.map((line, index) => (
          <li key={index}>{line}</li>
        ))}
      </ol>
    </main>
  );
}

createRoot(document.getElementById('root')!).render(<App />);
