import { css } from 'lit';

/**
 * As on the button: public tokens (`--call-popup-*`) are read once, in `:host`, into private `--_*`
 * variables, and the rules use only those.
 */
export const popupStyles = css`
  :host {
    --_color: var(--call-popup-color, #0b57d0);
    --_text: var(--call-popup-text-color, #ffffff);
    --_radius: var(--call-popup-radius, 8px);
    --_width: var(--call-popup-width, 22rem);
    --_font: var(--call-popup-font);
    --_surface: #ffffff;
    --_on-surface: #1f1f1f;
    --_muted: #474747;
    --_border: #6b6b6b;
    --_focus-outer: #1f1f1f;
    --_focus-inner: #ffffff;
    --_shadow: rgb(0 0 0 / 0.3);
    /* Fixed to a corner of the viewport; a page that wants it elsewhere overrides these on the element. */
    position: fixed;
    inset-block-end: 1rem;
    inset-inline-end: 1rem;
    z-index: var(--call-popup-z-index, 2147483000);
    display: block;
    font-family: var(--_font);
  }

  :host([hidden]) {
    display: none;
  }

  [part~='stack'] {
    display: flex;
    flex-direction: column;
    gap: 0.75rem;
    width: min(var(--_width), calc(100vw - 2rem));
    max-height: calc(100vh - 2rem);
    overflow-y: auto;
  }

  [part~='toast'] {
    box-sizing: border-box;
    padding: 1rem;
    border: 1px solid var(--_border);
    border-inline-start: 6px solid var(--_color);
    border-radius: var(--_radius);
    background: var(--_surface);
    color: var(--_on-surface);
    box-shadow: 0 4px 16px var(--_shadow);
    overflow-wrap: anywhere;
  }

  p {
    margin: 0;
  }

  [part~='label'],
  [part~='number'],
  [part~='email'] {
    color: var(--_muted);
    font-size: 0.875em;
  }

  [part~='caller'] {
    font-size: 1.125em;
    font-weight: 600;
  }

  [part~='customer'] {
    margin-top: 0.5rem;
  }

  .actions {
    display: flex;
    flex-wrap: wrap;
    gap: 0.5rem;
    margin-top: 0.75rem;
  }

  a,
  button {
    font: inherit;
    box-sizing: border-box;
    /* WCAG 2.5.5/2.5.8: comfortable touch targets. */
    min-height: 44px;
    min-width: 44px;
    display: inline-flex;
    align-items: center;
    padding: 0.5em 1em;
    border-radius: var(--_radius);
    cursor: pointer;
  }

  [part~='view'] {
    background: var(--_color);
    color: var(--_text);
    /* Transparent, not none: forced-colours mode paints it, so the link keeps an outline there. */
    border: 2px solid transparent;
    font-weight: 600;
    text-decoration: none;
  }

  [part~='dismiss'] {
    background: var(--_surface);
    color: var(--_on-surface);
    border: 1px solid var(--_border);
  }

  /* Two rings, dark outside and light inside, so focus shows on any page and any colour. */
  :focus-visible {
    outline: 3px solid var(--_focus-outer);
    outline-offset: 2px;
    box-shadow: 0 0 0 2px var(--_focus-inner);
  }

  .visually-hidden {
    position: absolute;
    width: 1px;
    height: 1px;
    overflow: hidden;
    clip-path: inset(50%);
    white-space: nowrap;
  }

  @keyframes call-popup-enter {
    from {
      opacity: 0;
      transform: translateY(0.5rem);
    }
  }

  /* Motion is opt-in: people who ask for reduced motion get none at all. */
  @media (prefers-reduced-motion: no-preference) {
    [part~='toast'] {
      animation: call-popup-enter 160ms ease-out;
    }
  }
`;
