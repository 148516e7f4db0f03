import type { CallPopupCall } from '../src/call-stream.js';
import type { CallPopup } from '../src/call-popup.js';
import { ENDPOINT, track, waitFor } from './helpers.js';

/** One test's channel on the stream stand-in (call-stream-stub.mjs), with the token function it accepts. */
export interface Channel {
  name: string;
  /** A `streamToken` for the element: each call gives a new token of this channel, and is counted. */
  token: () => Promise<string>;
  /** The tokens handed out so far. */
  tokens: string[];
  /** Sends a call event on the channel; resolves with its event id. */
  send(call: Partial<CallPopupCall> & { id: string }): Promise<number>;
  /** Ends the channel's open streams, as a lost connection does. */
  drop(): Promise<void>;
  /** Makes the next `count` connections fail with 401, as an expired token does. */
  refuse(count: number): Promise<void>;
  connections(): Promise<StreamConnection[]>;
}

export interface StreamConnection {
  token: string;
  last_event_id: string;
  last_event_id_header: string;
  open: boolean;
}

async function post(path: string, body: unknown = {}): Promise<unknown> {
  const response = await fetch(path, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  return response.json();
}

/** A ringing inbound call from a known customer; `overrides` change any field. */
export function ringing(id: string, overrides: Partial<CallPopupCall> = {}): CallPopupCall {
  return {
    id,
    session_id: `ns-${id}`,
    from_number: '+15551230001',
    from_name: 'Ada Lovelace',
    to_number: '+15559870000',
    direction: 'inbound',
    status: 'ringing',
    timestamp: new Date().toISOString(),
    customer_id: 'crm-1',
    customer_name: 'Analytical Engines Ltd',
    customer_email: 'ada@example.com',
    customer_url: 'https://crm.example.com/customers/1',
    tenant: 'example.com-sales',
    provider: 'netsapiens',
    ...overrides,
  };
}

export function newChannel(): Channel {
  const name = `c${Math.random().toString(36).slice(2, 10)}`;
  const tokens: string[] = [];
  const base = `/stub/stream/${name}`;
  return {
    name,
    tokens,
    token: async () => {
      const token = `${name}:${tokens.length + 1}`;
      tokens.push(token);
      return token;
    },
    send: async (call) => ((await post(`${base}/events`, { call })) as { id: number }).id,
    drop: async () => {
      await post(`${base}/drop`);
    },
    refuse: async (count) => {
      await post(`${base}/refuse`, { count });
    },
    connections: async () => (await (await fetch(`${base}/connections`)).json()) as StreamConnection[],
  };
}

/** Creates a `<call-popup>` on `channel`, attached to `parent`, and waits until its stream is open. */
export async function popupFixture(
  channel: Channel,
  attributes: Record<string, string> = {},
  parent: ParentNode = document.body,
): Promise<CallPopup> {
  const element = document.createElement('call-popup');
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, value);
  element.endpoint = ENDPOINT;
  element.streamToken = channel.token;
  parent.append(element);
  if (parent === document.body) track(element);
  await element.updateComplete;
  await waitForOpenStreams(channel, 1);
  return element;
}

/** Polls the stand-in until `count` of the channel's streams are open. */
export async function waitForOpenStreams(channel: Channel, count: number, timeout = 5_000): Promise<void> {
  const start = performance.now();
  for (;;) {
    const open = (await channel.connections()).filter((connection) => connection.open).length;
    if (open === count) return;
    if (performance.now() - start > timeout) throw new Error(`timed out waiting for ${count} open streams (${open} open)`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export function toasts(host: CallPopup): HTMLElement[] {
  return [...(host.shadowRoot?.querySelectorAll<HTMLElement>('[part~="toast"]') ?? [])];
}

/** The toast of call `id`, if it shows. */
export function toastOf(host: CallPopup, id: string): HTMLElement | undefined {
  return toasts(host).find((toast) => toast.dataset.call === id);
}

/** The text of a part inside a toast, whitespace collapsed; '' when the toast has no such part. */
export function partText(toast: HTMLElement, name: string): string {
  return toast.querySelector(`[part~="${name}"]`)?.textContent?.replace(/\s+/g, ' ').trim() ?? '';
}

export async function waitForToasts(host: CallPopup, count: number, timeout = 3_000): Promise<HTMLElement[]> {
  await waitFor(() => toasts(host).length === count, `${count} toast(s) (now ${toasts(host).length})`, timeout);
  return toasts(host);
}
