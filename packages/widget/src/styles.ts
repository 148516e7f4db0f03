import { css } from 'lit';

/**
 * Public tokens (`--call-us-*`) are read once, in `:host`, into private `--_*` variables; the rules
 * below use only the private ones, so the styling surface stays those four properties plus the parts.
 *
 * Why some rules are as they are (said here, not in the CSS, whose comments would ship in the bundle):
 * - `--_font` is left undefined when `--call-us-font` is unset, so `font-family` falls back to
 *   inheriting the page's font.
 * - Buttons, fields and pickers are at least 44 px square: comfortable touch targets (WCAG 2.5.5/2.5.8).
 * - The coloured buttons' border is transparent, not none: forced-colours mode paints it, so they keep
 *   an outline there.
 * - Buttons in the dialog are secondary (surface colours, a grey border) unless they are the submit
 *   button, whose rule (an attribute selector) is more specific.
 * - Focus shows as two rings, dark outside and light inside, so it shows on any page and any colour.
 * - The closed note sits under the button's label, smaller and not bold: the state of the line, not its
 *   name.
 * - Motion is opt-in: visitors who ask for reduced motion get none at all.
 */
export const styles = css`
  :host {
    --_color: var(--call-us-color, #0b57d0);
    --_text: var(--call-us-text-color, #ffffff);
    --_radius: var(--call-us-radius, 8px);
    --_font: var(--call-us-font);
    --_surface: #ffffff;
    --_on-surface: #1f1f1f;
    --_border: #6b6b6b;
    --_error: #b3261e;
    --_focus-outer: #1f1f1f;
    --_focus-inner: #ffffff;
    --_shadow: rgb(0 0 0 / 0.3);
    --_backdrop: rgb(0 0 0 / 0.5);
    display: inline-block;
    font-family: var(--_font);
  }

  :host([hidden]) {
    display: none;
  }

  button,
  input,
  select {
    font: inherit;
    box-sizing: border-box;
    min-height: 44px;
    min-width: 44px;
  }

  button {
    border-radius: var(--_radius);
    padding: 0.5em 1.25em;
    cursor: pointer;
  }

  [part~='button'],
  [part~='submit'] {
    background: var(--_color);
    color: var(--_text);
    border: 2px solid transparent;
    font-weight: 600;
  }

  [part~='button']:hover,
  [part~='submit']:hover {
    box-shadow: 0 2px 8px var(--_shadow);
  }

  [part~='submit']:disabled {
    cursor: progress;
    opacity: 0.75;
  }

  dialog button {
    background: var(--_surface);
    color: var(--_on-surface);
    border: 1px solid var(--_border);
  }

  :focus-visible {
    outline: 3px solid var(--_focus-outer);
    outline-offset: 2px;
    box-shadow: 0 0 0 2px var(--_focus-inner);
  }

  [part~='dialog'] {
    box-sizing: border-box;
    width: min(24rem, calc(100vw - 2rem));
    padding: 1.5rem;
    border: 1px solid var(--_border);
    border-radius: var(--_radius);
    background: var(--_surface);
    color: var(--_on-surface);
    box-shadow: 0 8px 32px var(--_shadow);
  }

  [part~='dialog']::backdrop {
    background: var(--_backdrop);
  }

  @keyframes call-us-enter {
    from {
      opacity: 0;
      transform: translateY(0.5rem);
    }
  }

  .header {
    display: flex;
    align-items: center;
    gap: 0.75rem;
  }

  [part~='logo'] {
    max-height: 2.5rem;
    max-width: 6rem;
  }

  h2 {
    margin: 0;
    font-size: 1.25em;
  }

  p {
    margin: 0.75rem 0;
  }

  label {
    display: block;
    margin-top: 1rem;
    font-weight: 600;
  }

  [part~='closed-note'] {
    display: block;
    font-size: 0.8em;
    font-weight: 400;
  }

  input,
  select {
    display: block;
    width: 100%;
    margin-top: 0.25rem;
    padding: 0.5em 0.75em;
    border: 1px solid var(--_border);
    border-radius: calc(var(--_radius) / 2);
    background: var(--_surface);
    color: var(--_on-surface);
  }

  [part~='input'][aria-invalid='true'] {
    border: 2px solid var(--_error);
  }

  [part~='error'] {
    color: var(--_error);
  }

  .actions {
    display: flex;
    flex-wrap: wrap;
    gap: 0.75rem;
    margin-top: 1rem;
  }

  @media (prefers-reduced-motion: no-preference) {
    button {
      transition: box-shadow 150ms ease-out;
    }

    [part~='dialog'][open] {
      animation: call-us-enter 160ms ease-out;
    }
  }
`;
