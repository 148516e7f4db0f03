#!/usr/bin/env node
// Places a queued call, as Beckon's click-to-call does: NetSapiens calls --to and, when it is answered,
// puts the call into --queue. Credentials come from the environment only, never from a flag.
import { qualifyQueue, toE164 } from '@beckon/ns-client';
import { runCommand } from './command.mjs';

const USAGE = `Usage: node queue-call.mjs --queue EXT@DOMAIN --to NUMBER
       node queue-call.mjs --queue EXT --domain DOMAIN --to NUMBER

Rings NUMBER (with its country code, e.g. +18135551234) and bridges the answered call into the queue.

  --queue    the call queue, 9002@example.com; a bare extension needs --domain
  --to       the number to call
  --domain   NetSapiens domain, completes a bare --queue extension
  -h, --help show this help

Environment: NS_API_BASE (the portal's origin, https://ucportal.example.net) and NS_TOKEN (an API key).`;

const OPTIONS = { queue: { type: 'string' }, to: { type: 'string' }, domain: { type: 'string' } };

await runCommand({ name: 'queue-call', usage: USAGE, options: OPTIONS, required: ['queue', 'to'] }, async (values, ns) => {
  // Checked first (NsUsageError): a bare extension without --domain, which NetSapiens would accept
  // and then fail silently, and a number without its country code.
  const queue = qualifyQueue(values.queue, values.domain);
  const to = toE164(values.to, '--to');
  // One POST, never retried: a timed-out call may still ring.
  await ns.queuedCalls.create({ queue, destination: to });
  console.log(`Queued call: NetSapiens is calling ${to} for queue ${queue}.`);
  return 0;
});
