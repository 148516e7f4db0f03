/** A call's state, the same for every provider. */
export type CallState = 'ringing' | 'answered' | 'missed' | 'voicemail' | 'ended';

export const CALL_STATES: readonly CallState[] = ['ringing', 'answered', 'missed', 'voicemail', 'ended'];

/**
 * What a provider says happened to a call: one of the states, or `over` when it only says the call is
 * gone (NetSapiens' `remove: "yes"`), which is `ended` for a call that was answered and `missed` for
 * one that never was.
 */
export type CallSignal = CallState | 'over';

/** Where each state may go. Missed, voicemail and ended are final. */
const FORWARD: Readonly<Record<CallState, readonly CallState[]>> = {
  ringing: ['answered', 'missed', 'voicemail', 'ended'],
  answered: ['ended'],
  missed: [],
  voicemail: [],
  ended: [],
};

/** Whether a call in state `from` may move to `to`: only forward, never back, never to itself. */
export function movesForward(from: CallState, to: CallState): boolean {
  return FORWARD[from].includes(to);
}

/**
 * The state a call takes on `signal`, or undefined when the signal changes nothing (a late or repeated
 * delivery). `current` is undefined for a call not seen before: any signal starts it. `answered` says
 * the provider reports the call as answered at some point (an answer time), so that `over` is `ended`
 * even when the answered delivery itself was lost or is late.
 */
export function nextState(current: CallState | undefined, signal: CallSignal, answered = false): CallState | undefined {
  const target = signal === 'over' ? (answered || current === 'answered' ? 'ended' : 'missed') : signal;
  if (current === undefined) return target;
  return movesForward(current, target) ? target : undefined;
}
