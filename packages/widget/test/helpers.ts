import type { CallUsButton } from '../src/call-us-button.js';

/** The stub Beckon server served by the test runner (see beckon-stub.mjs). */
export const ENDPOINT = `${location.origin}/stub`;

export interface LoggedRequest {
  method: string;
  path: string;
  query: string;
  contentType: string;
  cookie: string;
  origin: string;
  body: string;
}

const created: Element[] = [];

/** Creates a `<call-us-button>` with these attributes, attached to `parent`, and waits for its first render. */
export async function fixture(attributes: Record<string, string> = {}, parent: ParentNode = document.body): Promise<CallUsButton> {
  const element = document.createElement('call-us-button');
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, value);
  parent.append(element);
  if (parent === document.body) created.push(element);
  await element.updateComplete;
  return element;
}

/** Keeps a container (and whatever it holds) until `cleanup()`. */
export function track<T extends Element>(element: T): T {
  created.push(element);
  return element;
}

export function cleanup(): void {
  for (const element of created.splice(0)) element.remove();
}

/** The element in the shadow root carrying `part`; fails the test when there is none. */
export function part<T extends HTMLElement = HTMLElement>(host: CallUsButton, name: string): T {
  const found = host.shadowRoot?.querySelector<T>(`[part~="${name}"]`);
  if (!found) throw new Error(`no part "${name}"`);
  return found;
}

export async function requests(): Promise<LoggedRequest[]> {
  const response = await fetch('/stub/requests');
  return (await response.json()) as LoggedRequest[];
}

export async function clearRequests(): Promise<void> {
  await fetch('/stub/requests', { method: 'DELETE' });
}

/** Polls the stub's log until a request matching `match` arrives, and returns it. */
export async function loggedRequest(match: (request: LoggedRequest) => boolean, timeout = 3_000): Promise<LoggedRequest> {
  const start = performance.now();
  for (;;) {
    const found = (await requests()).find(match);
    if (found) return found;
    if (performance.now() - start > timeout) throw new Error('timed out waiting for a request');
    await sleep(20);
  }
}

/** Polls until `check` holds, failing with `what` after `timeout` ms. */
export async function waitFor(check: () => boolean, what: string, timeout = 3_000): Promise<void> {
  const start = performance.now();
  while (!check()) {
    if (performance.now() - start > timeout) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Resolves with the next `type` event on `target`. */
export function nextEvent<K extends keyof HTMLElementEventMap>(target: EventTarget, type: K): Promise<HTMLElementEventMap[K]> {
  return new Promise((resolve) => {
    target.addEventListener(type, (event) => resolve(event as HTMLElementEventMap[K]), { once: true });
  });
}

/** Opens the dialog the way a visitor does, by clicking the button. */
export async function open(host: CallUsButton): Promise<HTMLDialogElement> {
  part(host, 'button').click();
  const dialog = part<HTMLDialogElement>(host, 'dialog');
  await waitFor(() => dialog.open, 'the dialog to open');
  return dialog;
}

/** Types `phone` into the field and submits the form as pressing Enter would. */
export async function submit(host: CallUsButton, phone: string): Promise<void> {
  const input = part<HTMLInputElement>(host, 'input');
  input.value = phone;
  input.dispatchEvent(new Event('input', { bubbles: true, composed: true }));
  await host.updateComplete;
  part(host, 'submit').click();
}

/** What the status line says, whitespace collapsed. */
export function statusText(host: CallUsButton): string {
  return part(host, 'status').textContent?.replace(/\s+/g, ' ').trim() ?? '';
}

/**
 * A short name for a node, such as `input[part=input]`. Assertions compare these, never nodes: a
 * failing assertion on a DOM node makes the runner serialise the whole tree and stall.
 */
export function nodeName(node: Element | null | undefined): string {
  if (!node) return String(node);
  const partName = node.getAttribute('part');
  return partName ? `${node.localName}[part=${partName}]` : node.localName;
}

/** `[r, g, b]` (0–255) from a computed `rgb(…)`/`rgba(…)` colour. */
export function rgb(computed: string): [number, number, number] {
  const match = /^rgba?\((\d+),\s*(\d+),\s*(\d+)/.exec(computed);
  if (!match) throw new Error(`not an rgb() colour: ${computed}`);
  return [Number(match[1]), Number(match[2]), Number(match[3])];
}

/** WCAG 2 contrast ratio, computed here independently of the element's own helper. */
export function contrast(first: string, second: string): number {
  const luminance = (computed: string): number => {
    const [r, g, b] = rgb(computed).map((value) => {
      const channel = value / 255;
      return channel <= 0.04045 ? channel / 12.92 : ((channel + 0.055) / 1.055) ** 2.4;
    }) as [number, number, number];
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const [light, dark] = [luminance(first), luminance(second)].sort((a, b) => b - a) as [number, number];
  return (light + 0.05) / (dark + 0.05);
}
