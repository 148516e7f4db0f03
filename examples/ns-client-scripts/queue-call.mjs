#!/usr/bin/env node
// Places a queued call, as Beckon's click-to-call does: NetSapiens calls --to and, when it is answered,
// puts the call into --queue. Credentials come from the environment only, never from a flag.
import { parseArgs } from 'node:util';
import { createNsClient, NsError, qualifyQueue, toE164 } from '@beckon/ns-client';

const USAGE = `Usage: node queue-call.mjs --queue EXT@DOMAIN --to NUMBER
       node queue-call.mjs --queue EXT --domain DOMAIN --to NUMBER

Rings NUMBER (with its country code, e.g. +18135551234) and bridges the answered call into the queue.

  --queue    the call queue, 9002@example.com; a bare extension needs --domain
  --to       the number to call
  --domain   NetSapiens domain, completes a bare --queue extension
  -h, --help show this help

Environment: NS_API_BASE (the portal's origin, https://ucportal.example.net) and NS_TOKEN (an API key).`;

/** Prints why, and returns the exit code for a usage error. */
function usageError(message) {
  console.error(`queue-call: ${message}\nRun with --help for usage.`);
  return 1;
}

async function main(args) {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        queue: { type: 'string' },
        to: { type: 'string' },
        domain: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }));
  } catch (error) {
    return usageError(error.message);
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const missing = ['queue', 'to'].filter((name) => !values[name]?.trim());
  if (missing.length > 0) return usageError(`missing ${missing.map((name) => `--${name}`).join(', ')}`);

  const { NS_API_BASE, NS_TOKEN } = process.env;
  if (!NS_API_BASE || !NS_TOKEN) return usageError('set NS_API_BASE and NS_TOKEN in the environment');

  try {
    // Checked first (NsUsageError): a bare extension without --domain, which NetSapiens would accept
    // and then fail silently, and a number without its country code.
    const queue = qualifyQueue(values.queue, values.domain);
    const to = toE164(values.to, '--to');
    const ns = createNsClient({ baseUrl: NS_API_BASE, auth: { token: NS_TOKEN } });
    // One POST, never retried: a timed-out call may still ring.
    await ns.queuedCalls.create({ queue, destination: to });
    console.log(`Queued call: NetSapiens is calling ${to} for queue ${queue}.`);
    return 0;
  } catch (error) {
    // Every client error is an NsError; its message names the request and NetSapiens' answer, never a credential.
    if (!(error instanceof NsError)) throw error;
    console.error(`queue-call: ${error.message}`);
    return 1;
  }
}

// An exit code rather than process.exit(): the process ends once its output is written.
process.exitCode = await main(process.argv.slice(2));
