#!/usr/bin/env node
// Sends one SMS through NetSapiens (v2 message sessions), as Beckon's text-back does.
// Credentials come from the environment only, never from a flag: flags end up in shell history and `ps`.
import { toDigits } from '@beckon/ns-client';
import { runCommand } from './command.mjs';

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

const OPTIONS = {
  domain: { type: 'string' },
  user: { type: 'string' },
  from: { type: 'string' },
  to: { type: 'string' },
  message: { type: 'string' },
};

await runCommand(
  { name: 'send-sms', usage: USAGE, options: OPTIONS, required: ['domain', 'user', 'from', 'to', 'message'] },
  async (values, ns) => {
    // Numbers without their country code are refused by their flag (NsUsageError).
    const from = toDigits(values.from, '--from');
    const to = toDigits(values.to, '--to');
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
  },
);
