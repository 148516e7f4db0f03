import { writeReply } from '../answers.js';
import { requireText } from '../args.js';
import { NsUsageError } from '../errors.js';
import { toDigits, toE164 } from '../numbers.js';
import { nsPath } from '../path.js';
import type { NsRequester } from '../request.js';

export interface CreateQueuedCallOptions {
  /** The call queue as `EXT@DOMAIN` (`9002@example.com`). A bare extension is completed with `domain`. */
  queue: string;
  /** The number to call back, with its country code: `+18135551234`. */
  destination: string;
  /** The NetSapiens domain, used to complete a bare extension in `queue`. */
  domain?: string;
}

export interface CreateQueuedCallV2Options {
  domain: string;
  /** The queue's extension (`9002`), or `EXT@DOMAIN` when the domain matches `domain`. */
  queue: string;
  destination: string;
}

const EXTENSION = /^[A-Za-z0-9_.-]+$/;
const DOMAIN = /^[A-Za-z0-9_.-]+$/;

/**
 * The legacy API needs the queue as `EXT@DOMAIN`. Given a bare extension it still answers 202, and the
 * call silently fails ("Call Queue not found" in NetSapiens' logs), so a bare one never leaves here.
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

export interface QueuedCalls {
  /**
   * Places a queued call through the legacy API (`?object=queuedcall&action=create`): NetSapiens
   * calls `destination` and bridges the answered call into `queue`. Never retried once sent.
   */
  create(options: CreateQueuedCallOptions): Promise<void>;
  /** Places a queued call through the v2 API (NetSapiens v45 and later). */
  createV2(options: CreateQueuedCallV2Options): Promise<void>;
}

export function queuedCallsResource(request: NsRequester): QueuedCalls {
  return {
    async create(options) {
      const queue = qualifyQueue(options.queue, options.domain);
      const destination = toE164(options.destination, 'destination');
      await request({
        method: 'POST',
        path: '/ns-api/',
        query: { object: 'queuedcall', action: 'create' },
        multipart: { format: 'json', uid: queue, queue, destination },
        // No shape to check: the legacy API answers 202 with an empty body (the transport still
        // refuses one that is not JSON).
      });
    },

    async createV2(options) {
      const domain = requireText(options.domain, 'domain');
      const [extension = '', queueDomain] = qualifyQueue(options.queue, domain).split('@');
      if (queueDomain !== domain) {
        throw new NsUsageError(`queue ${JSON.stringify(options.queue)} belongs to another domain than ${JSON.stringify(domain)}`);
      }
      await request({
        method: 'POST',
        path: nsPath`/ns-api/v2/domains/${domain}/queuedcall/${extension}`,
        json: { destination: toDigits(options.destination, 'destination') },
        expect: writeReply,
      });
    },
  };
}
