#!/usr/bin/env node
// Sets up a NetSapiens web responder, as Beckon's /update-sms form does: a system user, a To-Web dial rule
// that calls --webhook-url, and an answer rule forwarding the user's calls to it. Safe to run again: what
// exists is kept or updated. Credentials come from the environment only, never from a flag.
import { runCommand } from './command.mjs';

const USAGE = `Usage: node provision-webresponder.mjs --domain DOMAIN --system-user USER --webhook-url URL --email ADDRESS

Routes calls to USER in DOMAIN to URL (NetSapiens' "To Web" responder), in three steps: the system
user, the dial rule matching webresponder{USER}, and USER's answer rule. Re-running it is safe.

  --domain       NetSapiens domain, e.g. example.com
  --system-user  the system user calls are routed through, e.g. 8001
  --webhook-url  what NetSapiens calls, e.g. https://beckon.example.net/webresponder?id=example.com-sms
  --email        the e-mail address of the system user
  --dial-plan    the dial plan for the rule (default: the domain)
  --application  the dial rule's application (default: sip:0@Web-Main)
  -h, --help     show this help

Environment: NS_API_BASE (the portal's origin, https://ucportal.example.net) and NS_TOKEN (an API key).`;

const OPTIONS = {
  domain: { type: 'string' },
  'system-user': { type: 'string' },
  'webhook-url': { type: 'string' },
  email: { type: 'string' },
  'dial-plan': { type: 'string' },
  application: { type: 'string' },
};

await runCommand(
  { name: 'provision-webresponder', usage: USAGE, options: OPTIONS, required: ['domain', 'system-user', 'webhook-url', 'email'] },
  async (values, ns) => {
    // It does not throw for NetSapiens failures: each step reports `failed` with its error and the others
    // still run. It throws NsUsageError for unusable options (a webhook URL that is not http(s), …)
    // before sending anything.
    const result = await ns.provisionWebresponder({
      domain: values.domain,
      systemUser: values['system-user'],
      webhookUrl: values['webhook-url'],
      email: values.email,
      dialPlan: values['dial-plan'],
      application: values.application,
    });
    const steps = [
      ['user', result.user],
      ['dial rule', result.dialRule],
      ['answer rule', result.answerRule],
    ];
    for (const [name, step] of steps) {
      // A step's error is an NsError message: the request and NetSapiens' answer, never a credential.
      console.log(`${name.padEnd(12)}${step.status}${step.error ? `: ${step.error}` : ''}`);
    }
    const failed = steps.filter(([, step]) => step.status === 'failed').length;
    if (failed > 0) {
      console.error(`provision-webresponder: ${failed} of 3 steps failed; fix the cause and run it again (it is safe to re-run).`);
      return 1;
    }
    console.log(`Provisioned: calls to ${values['system-user']}@${values.domain} now reach ${values['webhook-url']}`);
    return 0;
  },
);
