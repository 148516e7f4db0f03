/**
 * Faults the stand-in plays on request: Twilio answering an error, answering late, or not at all. They
 * are how tests show that a text that could not be sent is retried, and that a POST which may have
 * reached Twilio is not sent twice.
 */
import { STATUS_CODES } from 'node:http';
import { twilioError, type TwilioErrorBody } from './rules.js';

/** The endpoints a fault can target. */
export const TWILIO_STAND_IN_ROUTES = ['messages', 'calls'] as const;
export type TwilioStandInRoute = (typeof TWILIO_STAND_IN_ROUTES)[number];

export interface TwilioStandInFault {
  /** `messages` (`POST …/Messages.json`) or `calls` (`POST …/Calls.json`); default: either. */
  route?: TwilioStandInRoute;
  /** How many matching requests it takes; default 1. `Infinity` keeps it until `clearFaults()`/`reset()`. */
  times?: number;
  /** Answer this status (400–599) with Twilio's error body instead of handling the request. */
  status?: number;
  /**
   * The error body's `code`; default `20000 + status`, the family Twilio's own generic errors use
   * (20429 Too Many Requests, 20500 Internal Server Error, 20503 Service Unavailable).
   */
  code?: number;
  /** The error body's `message`; default the status's reason phrase. */
  message?: string;
  /** Wait this long first; alone, the request is then handled normally (a slow Twilio). */
  delayMs?: number;
  /** Close the connection without an answer (and without creating anything). */
  drop?: boolean;
}

/** What happens to a faulted request. */
export interface FaultAction {
  delayMs?: number;
  drop?: boolean;
  error?: TwilioErrorBody;
}

interface ArmedFault {
  route: TwilioStandInRoute | undefined;
  remaining: number;
  action: FaultAction;
}

/** Checks a fault and copies what it needs: changing the caller's object later changes nothing. */
function arm(fault: TwilioStandInFault): ArmedFault {
  if (typeof fault !== 'object' || fault === null) throw new TypeError('A fault must be an object');
  const { route, times = 1, status, code, message, delayMs, drop } = fault;
  if (route !== undefined && !TWILIO_STAND_IN_ROUTES.includes(route)) {
    throw new TypeError(`fault.route must be one of: ${TWILIO_STAND_IN_ROUTES.join(', ')}`);
  }
  if (typeof times !== 'number' || !(times >= 1) || (Number.isFinite(times) && !Number.isInteger(times))) {
    throw new TypeError('fault.times must be a whole number of at least 1 (or Infinity)');
  }
  if (status !== undefined && (!Number.isInteger(status) || status < 400 || status > 599)) {
    throw new TypeError('fault.status must be an HTTP error status from 400 to 599');
  }
  if ((code !== undefined || message !== undefined) && status === undefined)
    throw new TypeError('fault.code and fault.message need fault.status');
  if (code !== undefined && !Number.isInteger(code)) throw new TypeError('fault.code must be a whole number');
  if (delayMs !== undefined && (typeof delayMs !== 'number' || !Number.isFinite(delayMs) || delayMs < 0)) {
    throw new TypeError('fault.delayMs must be a non-negative number of milliseconds');
  }
  if (drop !== undefined && typeof drop !== 'boolean') throw new TypeError('fault.drop must be a boolean');
  if (status === undefined && delayMs === undefined && drop !== true) throw new TypeError('A fault needs status, delayMs or drop');
  if (status !== undefined && drop === true) throw new TypeError('A fault cannot both answer a status and drop the connection');
  const action: FaultAction = {
    ...(delayMs !== undefined ? { delayMs } : {}),
    ...(drop ? { drop } : {}),
    ...(status !== undefined ? { error: twilioError(status, code ?? 20000 + status, message ?? STATUS_CODES[status] ?? 'Error') } : {}),
  };
  return { route, remaining: times, action };
}

export class FaultList {
  #faults: ArmedFault[] = [];

  inject(fault: TwilioStandInFault): void {
    this.#faults.push(arm(fault));
  }

  clear(): void {
    this.#faults = [];
  }

  /** The first armed fault for this endpoint, used up by one; undefined when none applies. */
  take(route: TwilioStandInRoute): FaultAction | undefined {
    const index = this.#faults.findIndex((fault) => fault.route === undefined || fault.route === route);
    const fault = this.#faults[index];
    if (!fault) return undefined;
    fault.remaining -= 1;
    if (fault.remaining <= 0) this.#faults.splice(index, 1);
    return fault.action;
  }
}
