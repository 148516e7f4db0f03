// Entry point, bundled by build.mjs into dist/main.js.
//
// The widget is imported before anything renders: React 19 sets a prop as a property only when the
// element already has that property, which is true once <call-us-button> is defined. Rendered before
// the definition, `strings` would be written as the attribute strings="[object Object]" instead.
import '@beckon/widget';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App.jsx';

// index.html has it; the cast says so to the type check (tsconfig.json).
const container = /** @type {HTMLElement} */ (document.getElementById('root'));
// Where the Beckon server is, from the host page: deployments change it without rebuilding the app.
const { endpoint = '', configId = '' } = container.dataset;

createRoot(container).render(
  <StrictMode>
    <App endpoint={endpoint} configId={configId} />
  </StrictMode>,
);
