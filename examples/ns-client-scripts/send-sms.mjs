#!/usr/bin/env node
// Sends one SMS through NetSapiens (v2 message sessions), as Beckon's text-back does.
// Credentials come from the environment only, never from a flag: flags end up in shell history and `ps`.
import { parseArgs } from 'node:util';
import { createNsClient, NsError, toDigits } from '@beckon/ns-client';

const USAGE = `Usage: node send-sms.mjs --domain DOMAIN --user USER --from NUMBER --to NUMBER --message TEXT

Sends one SMS from NUMBER (an SMS number owned by USER in DOMAIN) to --to.
Numbers carry their country code: +19294873999 or 19294873999.

  --domain   NetSapiens domain, e.g. example.com
  --user     the user who owns the --from number, e.g. 2000
  --from     the SMS number to send from
  --to       who receives the text
  --message  the text
  -h, --help show this help

Environment: NS_API_BASE (the portal's origin, https://ucportal.example.net) and NS_TOKEN (an API key).`;

/** Prints why, and returns the exit code for a usage error. */
function usageError(message) {
  console.error(`send-sms: ${message}\nRun with --help for usage.`);
  return 1;
}

async function main(args) {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        domain: { type: 'string' },
        user: { type: 'string' },
        from: { type: 'string' },
        to: { type: 'string' },
        message: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true, // an unknown flag or a stray argument is a usage error, not silently ignored
    }));
  } catch (error) {
    return usageError(error.message);
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const missing = ['domain', 'user', 'from', 'to', 'message'].filter((name) => !values[name]?.trim());
  if (missing.length > 0) return usageError(`missing ${missing.map((name) => `--${name}`).join(', ')}`);

  const { NS_API_BASE, NS_TOKEN } = process.env;
  if (!NS_API_BASE || !NS_TOKEN) return usageError('set NS_API_BASE and NS_TOKEN in the environment');

  try {
    // Checked first, so that a number without its country code is reported by its flag (NsUsageError).
    const from = toDigits(values.from, '--from');
    const to = toDigits(values.to, '--to');
    const ns = createNsClient({ baseUrl: NS_API_BASE, auth: { token: NS_TOKEN } });
    // One POST, never retried: if it times out, the text may still have been sent.
    const { sessionId } = await ns.messages.sendSms({
      domain: values.domain,
      user: values.user,
      fromNumber: from,
      destination: to,
      message: values.message,
    });
    console.log(`Sent SMS to ${to} from ${from} (session ${sessionId}).`);
    return 0;
  } catch (error) {
    // Every client error is an NsError; its message names the request and NetSapiens' answer, never a credential.
    if (!(error instanceof NsError)) throw error;
    console.error(`send-sms: ${error.message}`);
    return 1;
  }
}

// An exit code rather than process.exit(): the process ends once its output is written.
process.exitCode = await main(process.argv.slice(2));
