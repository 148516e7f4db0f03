import { setMaxListeners } from 'node:events';
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';
import type { NsCallRecord } from '../resources/subscriptions.js';
import { callRecords, newCallId, origidRecord, queuedCallRecords, type CallRecords, type CallStory } from './call-records.js';
import type { NsSandboxDeliveryOptions, SimulateCallOptions, SimulatedCall } from './index.js';
import { isRecord } from './schemas.js';
import type { SandboxCall, SandboxCallState, SandboxDelivery, SandboxDeliveryAttempt, SandboxState, SandboxSubscription } from './state.js';

/** `NsSandboxOptions.queuedCallLegs` with its defaults applied. */
export interface QueuedCallLegs {
  answer: boolean | ((destination: string) => boolean);
  delayMs: number;
  stepMs: number;
}

/** The delivery options in force, defaults applied. */
export type DeliverySettings = Required<NsSandboxDeliveryOptions>;

/** The models whose subscriptions receive a simulated call's records. */
const CALL_MODELS = new Set(['call', 'call_origid']);
const STATES: readonly SandboxCallState[] = ['ringing', 'answered', 'ended'];
const E164 = /^\+[1-9][0-9]{7,14}$/;

/** NetSapiens counts a post as an error when it gets no answer or "a response code that is above a 302". */
function isDelivered(status: number | null): boolean {
  return status !== null && status >= 200 && status <= 302;
}

/** `YYYY-MM-DD HH:MM:SS` (UTC) as epoch ms; undefined when it is not a real date and time. */
export function parseNsDateTime(value: string): number | undefined {
  const ms = Date.parse(`${value.replace(' ', 'T')}Z`);
  return Number.isNaN(ms) || new Date(ms).toISOString().slice(0, 19).replace('T', ' ') !== value ? undefined : ms;
}

export function isActive(subscription: SandboxSubscription, now = Date.now()): boolean {
  const expires = parseNsDateTime(subscription['subscription-expires-datetime']);
  return expires !== undefined && expires > now;
}

function text(value: unknown, name: string): string {
  if (typeof value !== 'string' || value.trim() === '') throw new TypeError(`${name} must be a non-empty string`);
  return value;
}

/** Checks `simulateCall`'s options (they may come as JSON from the control endpoint) into a story and its delivery order. */
function story(options: SimulateCallOptions): { story: CallStory; order: SandboxCallState[] } {
  if (!isRecord(options)) throw new TypeError('simulateCall takes an options object');
  const from = text(options.from, 'from');
  const to = text(options.to, 'to');
  const { answer = true, stepMs = 0, fromName = '' } = options;
  if (typeof answer !== 'boolean') throw new TypeError('answer must be a boolean');
  if (typeof stepMs !== 'number' || !Number.isFinite(stepMs) || stepMs < 0) throw new TypeError('stepMs must be a non-negative number');
  if (typeof fromName !== 'string') throw new TypeError('fromName must be a string');
  const states = STATES.filter((state) => answer || state !== 'answered');
  const order = options.order ?? states;
  if (!Array.isArray(order) || order.length === 0 || !order.every((state) => states.includes(state))) {
    throw new TypeError(`order must list states of this call: ${states.join(', ')}`);
  }
  return {
    story: {
      domain: text(options.domain, 'domain'),
      // An E.164 caller arrives as digits with the country code, as v2 writes numbers.
      fromUser: E164.test(from) ? from.slice(1) : from,
      fromName,
      to,
      dialed: options.dialed === undefined ? to : text(options.dialed, 'dialed'),
      answer,
      callId: options.callId === undefined ? newCallId() : text(options.callId, 'callId'),
      startedAt: Date.now(),
      stepMs,
    },
    order: [...order],
  };
}

type PostResult = Pick<SandboxDeliveryAttempt, 'status' | 'error'>;

/**
 * Sends deliveries as NetSapiens does: one POST of a JSON array, `Content-Type: application/json`, no
 * signature, no redirect followed, retried after a failure. Nothing here logs: a post URL holds its
 * receiver's secret.
 */
export class Deliverer {
  readonly #state: SandboxState;
  readonly #settings: DeliverySettings;
  readonly #http = new HttpAgent({ keepAlive: true });
  readonly #https = new HttpsAgent({ keepAlive: true });
  /** Aborted by reset() (then replaced) and close(): deliveries under way stop. */
  #stop = new AbortController();
  #closed = false;

  constructor(state: SandboxState, settings: DeliverySettings) {
    this.#state = state;
    this.#settings = settings;
    setMaxListeners(0, this.#stop.signal);
  }

  /** Stops every delivery under way; later ones go out as usual. */
  stopAll(): void {
    this.#stop.abort();
    this.#stop = new AbortController();
    setMaxListeners(0, this.#stop.signal);
  }

  close(): void {
    this.#closed = true;
    this.#stop.abort();
    this.#http.destroy();
    this.#https.destroy();
  }

  /** `NsSandbox.deliver`: `records` as they are, to one subscription. Throws `TypeError` for an unknown subscription or records that are not objects. */
  deliver(subscriptionId: string, records: unknown): Promise<SandboxDelivery> {
    const subscription = this.#state.getSubscription(text(subscriptionId, 'subscriptionId'));
    if (!subscription) throw new TypeError(`There is no subscription ${subscriptionId}`);
    if (!Array.isArray(records) || !records.every(isRecord)) throw new TypeError('records must be an array of objects');
    return this.#send(subscription, records as NsCallRecord[], undefined);
  }

  /** `NsSandbox.simulateCall`: each state's record, in `order`, to every matching subscription active at that moment. */
  async simulateCall(options: SimulateCallOptions): Promise<SimulatedCall> {
    const { story: call, order } = story(options);
    const records = callRecords(call);
    const deliveries = await this.#deliverStates(records, order, call.stepMs, call.domain, call.to);
    return { callId: call.callId, records, deliveries };
  }

  /**
   * A queued call's leg to its destination (`NsSandboxOptions.queuedCallLegs`): ringing, then answered
   * and ended, or ended unanswered, to the subscriptions of the queue's domain (for every user, or the
   * queue's own extension), `delayMs` after the call was queued and `stepMs` apart.
   */
  async simulateQueuedCallLeg(call: SandboxCall, legs: QueuedCallLegs): Promise<SimulatedCall | undefined> {
    if (call.status !== 'queued' || !call.domain) return undefined;
    const signal = this.#stop.signal;
    if (legs.delayMs > 0 && !(await this.#wait(legs.delayMs, signal))) return undefined;
    const queue = call.queue.slice(0, call.queue.indexOf('@'));
    // Numbers go out as digits with the country code, as v2 writes them.
    const destination = call.destination.replace(/^\+/, '');
    const answer = typeof legs.answer === 'function' ? legs.answer(call.destination) : legs.answer;
    const callId = newCallId();
    const records = queuedCallRecords({
      domain: call.domain,
      queue,
      destination,
      answer,
      callId,
      startedAt: Date.now(),
      stepMs: legs.stepMs,
    });
    const order = STATES.filter((state) => answer || state !== 'answered');
    const deliveries = await this.#deliverStates(records, order, legs.stepMs, call.domain, queue);
    return { callId, records, deliveries };
  }

  /** Each state's record, in `order`, `stepMs` apart, to every active call subscription of `domain` (and `user`, or `*`) at that moment. */
  async #deliverStates(
    records: CallRecords,
    order: readonly SandboxCallState[],
    stepMs: number,
    domain: string,
    user: string,
  ): Promise<SandboxDelivery[]> {
    const signal = this.#stop.signal;
    const deliveries: SandboxDelivery[] = [];
    for (const [index, state] of order.entries()) {
      if (index > 0 && stepMs > 0 && !(await this.#wait(stepMs, signal))) break;
      if (signal.aborted) break;
      const record = records[state];
      if (!record) continue;
      const targets = this.#state.subscriptions.filter(
        (subscription) =>
          isActive(subscription) &&
          CALL_MODELS.has(subscription.model) &&
          (subscription.domain === '*' || subscription.domain === domain) &&
          (subscription.user === '*' || subscription.user === user),
      );
      const sent = await Promise.all(
        targets.map((subscription) => this.#send(subscription, [subscription.model === 'call' ? record : origidRecord(record)], state)),
      );
      deliveries.push(...sent);
    }
    return deliveries;
  }

  async #send(subscription: SandboxSubscription, records: NsCallRecord[], state: SandboxCallState | undefined): Promise<SandboxDelivery> {
    const signal = this.#stop.signal;
    // The caller's copy and the recorded one start alike and get the same attempts.
    const delivery = this.#state.startDelivery({ subscriptionId: subscription.id, model: subscription.model, state, records });
    const body = JSON.stringify(records);
    const attempts = 1 + this.#settings.retries;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      // Retries back off exponentially: backoffMs, then twice that, and so on.
      if (attempt > 1 && !(await this.#wait(this.#settings.backoffMs * 2 ** (attempt - 2), signal))) break;
      if (signal.aborted) break;
      const at = new Date().toISOString();
      const result = await this.#post(new URL(subscription['post-url']), body, signal);
      const ok = isDelivered(result.status);
      this.#state.countAttempt(subscription.id, ok);
      const made: SandboxDeliveryAttempt = { attempt, at, ...result, ok };
      delivery.attempts.push(made);
      delivery.outcome = ok ? 'delivered' : attempt === attempts ? 'failed' : 'sending';
      this.#state.recordAttempt(delivery.id, made, delivery.outcome);
      if (ok) return delivery;
    }
    if (delivery.outcome === 'sending') {
      delivery.outcome = 'failed';
      this.#state.recordAttempt(delivery.id, undefined, 'failed');
    }
    return delivery;
  }

  /** Waits; false when the deliveries were stopped meanwhile. */
  async #wait(ms: number, signal: AbortSignal): Promise<boolean> {
    try {
      await sleep(ms, undefined, { signal });
      return true;
    } catch {
      return false;
    }
  }

  #post(url: URL, body: string, signal: AbortSignal): Promise<PostResult> {
    return new Promise((resolve) => {
      let timedOut = false;
      let done = false;
      const https = url.protocol === 'https:';
      const request = (https ? httpsRequest : httpRequest)(url, {
        method: 'POST',
        agent: https ? this.#https : this.#http,
        headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) },
        signal,
      });
      const timer = setTimeout(() => {
        timedOut = true;
        request.destroy();
      }, this.#settings.timeoutMs);
      const finish = (result: PostResult) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        resolve(result);
      };
      const cutShort = () => finish({ status: null, error: timedOut ? 'timeout' : signal.aborted ? 'aborted' : 'ECONNRESET' });
      request.on('response', (response) => {
        // The answer is read to its end, as a client that reuses its connection does, and dropped.
        response.resume();
        response.on('end', () => finish({ status: response.statusCode ?? null }));
        // An answer cut off before its end is no answer.
        response.on('error', cutShort);
        response.on('close', cutShort);
      });
      request.on('error', (problem: NodeJS.ErrnoException) => {
        if (timedOut) finish({ status: null, error: 'timeout' });
        else if (signal.aborted || this.#closed) finish({ status: null, error: 'aborted' });
        else finish({ status: null, error: problem.code ?? 'failed' });
      });
      request.end(body);
    });
  }
}
