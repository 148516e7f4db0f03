/** Defines `<call-popup>`: with `call-us-button.ts`, the package's only modules with a side effect. */
import { CallPopup } from './call-popup.component.js';
import type { CallPopupEventMap } from './events.js';

export { CallPopup };

// Guarded: the npm build and the CDN bundle (or two copies of either) may both load on one page.
if (!customElements.get('call-popup')) customElements.define('call-popup', CallPopup);

declare global {
  interface HTMLElementTagNameMap {
    'call-popup': CallPopup;
  }
  interface HTMLElementEventMap extends CallPopupEventMap {}
  // The events bubble and are composed, so listeners on the document and the window hear them too.
  interface DocumentEventMap extends CallPopupEventMap {}
  interface WindowEventMap extends CallPopupEventMap {}
}
