import { writeReply } from '../answers.js';
import { requireText } from '../args.js';
import { NsUsageError } from '../errors.js';
import { toDigits, toE164 } from '../numbers.js';
import { nsPath } from '../path.js';
import type { NsRequestOptions } from '../client.js';
import type { NsRequester } from '../request.js';

/** What `queuedCalls.create` takes. */
export interface CreateQueuedCallOptions {
  /** The call queue as `EXT@DOMAIN` (`9002@example.com`). A bare extension is completed with `domain` (through `qualifyQueue`). */
  queue: string;
  /** The number to call back, with its country code, in any common notation: `+1 (813) 555-1234`, `18135551234`. */
  destination: string;
  /** The NetSapiens domain; needed only to complete a bare extension in `queue`. */
  domain?: string;
}

/** What `queuedCalls.createV2` takes. */
export interface CreateQueuedCallV2Options {
  /** The NetSapiens domain. */
  domain: string;
  /** The queue's extension (`9002`), or `EXT@DOMAIN` where `DOMAIN` equals `domain` (another domain is an `NsUsageError`). */
  queue: string;
  /** The number to call back, with its country code. */
  destination: string;
}

const EXTENSION = /^[A-Za-z0-9_.-]+$/;
const DOMAIN = /^[A-Za-z0-9_.-]+$/;

/**
 * `9002@example.com` from `9002@example.com` (trimmed) or from `9002` and the domain `example.com`.
 * The legacy API needs the queue as `EXT@DOMAIN`. Given a bare extension it still answers 202, and the
 * call silently fails ("Call Queue not found" in NetSapiens' logs), so a bare one never leaves here.
 *
 * @throws `NsUsageError` for a bare extension without a `domain`, more than one `@`, or characters
 * outside `A-Z a-z 0-9 _ . -`.
 */
export function qualifyQueue(queue: string, domain: string | undefined): string {
  requireText(queue, 'queue');
  const [extension, queueDomain, ...rest] = queue.trim().split('@');
  if (rest.length > 0 || !extension || !EXTENSION.test(extension)) {
    throw new NsUsageError(`queue must be EXT@DOMAIN (e.g. 9002@example.com), got ${JSON.stringify(queue)}`);
  }
  if (queueDomain !== undefined) {
    if (!DOMAIN.test(queueDomain)) throw new NsUsageError(`queue has an invalid domain: ${JSON.stringify(queue)}`);
    return `${extension}@${queueDomain}`;
  }
  if (domain === undefined || !DOMAIN.test(domain)) {
    throw new NsUsageError(`queue ${JSON.stringify(queue)} is a bare extension: pass it as EXT@DOMAIN or give \`domain\``);
  }
  return `${extension}@${domain}`;
}

/** `ns.queuedCalls`: NetSapiens rings a number and bridges the answered call into a call queue. */
export interface QueuedCalls {
  /**
   * Places a queued call through the legacy API, as production click-to-call does: NetSapiens calls
   * `destination` and bridges the answered call into `queue`.
   *
   * Wire: `POST /ns-api/?object=queuedcall&action=create`, `multipart/form-data` with `format=json`,
   * `uid=<queue>`, `queue=<queue>`, `destination=<E.164>`. A cluster answers 202 with an empty body.
   * A bare extension without `domain` is refused with `NsUsageError`: NetSapiens would accept it with
   * the same 202 and the call would then fail inside the cluster with nothing to tell the caller.
   * Never retried once it may have reached NetSapiens.
   *
   * @example
   * ```ts
   * await ns.queuedCalls.create({ queue: '9002@example.com', destination: '+18135551234' });
   * await ns.queuedCalls.create({ queue: '9002', domain: 'example.com', destination: '18135551234' });
   * ```
   */
  create(options: CreateQueuedCallOptions, requestOptions?: NsRequestOptions): Promise<void>;
  /**
   * Places a queued call through the v2 route (NetSapiens v45 and later):
   * `POST /ns-api/v2/domains/{domain}/queuedcall/{extension}` with JSON `{ "destination": "<digits>" }`.
   * Never retried once it may have reached NetSapiens.
   */
  createV2(options: CreateQueuedCallV2Options, requestOptions?: NsRequestOptions): Promise<void>;
}

export function queuedCallsResource(request: NsRequester): QueuedCalls {
  return {
    async create(options, requestOptions) {
      const queue = qualifyQueue(options.queue, options.domain);
      const destination = toE164(options.destination, 'destination');
      await request(
        {
          method: 'POST',
          path: '/ns-api/',
          query: { object: 'queuedcall', action: 'create' },
          multipart: { format: 'json', uid: queue, queue, destination },
          // No shape to check: the legacy API answers 202 with an empty body (the transport still
          // refuses one that is not JSON).
        },
        requestOptions,
      );
    },

    async createV2(options, requestOptions) {
      const domain = requireText(options.domain, 'domain');
      const [extension = '', queueDomain] = qualifyQueue(options.queue, domain).split('@');
      if (queueDomain !== domain) {
        throw new NsUsageError(`queue ${JSON.stringify(options.queue)} belongs to another domain than ${JSON.stringify(domain)}`);
      }
      await request(
        {
          method: 'POST',
          path: nsPath`/ns-api/v2/domains/${domain}/queuedcall/${extension}`,
          json: { destination: toDigits(options.destination, 'destination') },
          expect: writeReply,
        },
        requestOptions,
      );
    },
  };
}
