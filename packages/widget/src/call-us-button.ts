/** Defines `<call-us-button>`: with `call-popup.ts`, the package's only modules with a side effect. */
import { CallUsButton } from './call-us-button.component.js';
import type { CallUsEventMap } from './events.js';

export { CallUsButton };

// Guarded: the npm build and the CDN bundle (or two copies of either) may both load on one page.
if (!customElements.get('call-us-button')) customElements.define('call-us-button', CallUsButton);

declare global {
  interface HTMLElementTagNameMap {
    'call-us-button': CallUsButton;
  }
  interface HTMLElementEventMap extends CallUsEventMap {}
  // The events bubble and are composed, so listeners on the document and the window hear them too.
  interface DocumentEventMap extends CallUsEventMap {}
  interface WindowEventMap extends CallUsEventMap {}
}
