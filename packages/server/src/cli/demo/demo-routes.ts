import { readFileSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import Router, { type RouterContext } from '@koa/router';
import type {
  NsSandbox,
  SandboxCall,
  SandboxDelivery,
  SandboxMessage,
  SandboxProvisionEvent,
  SandboxSubscription,
  SandboxSubscriptionEvent,
} from '@beckon/ns-client/sandbox';
import { issueStreamToken } from '../../api/stream-tokens.js';
import type { AppState } from '../../context.js';
import type { ServerDeps } from '../../deps.js';
import { HttpError } from '../../http-error.js';
import { readJson } from '../../middleware/body.js';
import type { RingCentralStandIn, RingCentralStandInEvents } from '../../providers/ringcentral/stand-in/index.js';
import { submitSmsForm } from '../../routes/forms.js';
import { DEMO_CALLED, DEMO_CUSTOMER, type DemoCalls } from './demo-calls.js';

export interface DemoRoutes {
  router: Router<AppState>;
  /** Ends the live streams, so a shutdown does not wait for open browser tabs. */
  close(): void;
}

/** One line of the page's live list: what the sandbox (standing in for NetSapiens) received. */
export type DemoEvent =
  | { kind: 'call'; at: string; queue: string; destination: string; status: string; reason?: string }
  | { kind: 'text'; at: string; destination: string; from?: string; message: string }
  | { kind: 'provision'; at: string; what: string; action: string; name: string }
  | { kind: 'subscription'; at: string; model: string; domain: string }
  | { kind: 'delivery'; at: string; state: string; from: string; fromName: string; to: string; status: number | null; error?: string }
  | { kind: 'ringcentral'; at: string; status: string; from: string; fromName: string; answered: number | 'failed' };

function fromCall(call: SandboxCall): DemoEvent {
  return {
    kind: 'call',
    at: call.at,
    queue: call.queue,
    destination: call.destination,
    status: call.status,
    ...(call.reason ? { reason: call.reason } : {}),
  };
}

function fromMessage(message: SandboxMessage): DemoEvent {
  const destination = Array.isArray(message.destination) ? message.destination.join(', ') : message.destination;
  return {
    kind: 'text',
    at: message.at,
    destination,
    ...(message.fromNumber ? { from: message.fromNumber } : {}),
    message: message.message,
  };
}

function fromProvision(event: SandboxProvisionEvent): DemoEvent {
  const name =
    event.kind === 'user'
      ? `user ${event.record.user}@${event.record.domain}`
      : event.kind === 'dialRule'
        ? `dial rule ${String(event.record['dial-rule-matching-to-uri'])} → ${String(event.record['dial-rule-parameter'] ?? '')}`
        : `answer rule ${event.record['time-frame']} of ${event.record.user}@${event.record.domain}`;
  return { kind: 'provision', at: new Date().toISOString(), what: event.kind, action: event.action, name };
}

// Never the post URL: it holds the webhook's secret.
function fromSubscription(subscription: SandboxSubscription): DemoEvent {
  const created = subscription['subscription-creation-datetime'];
  return { kind: 'subscription', at: `${created.replace(' ', 'T')}Z`, model: subscription.model, domain: subscription.domain };
}

function fromDelivery(delivery: SandboxDelivery): DemoEvent {
  const record = delivery.records[0];
  const attempt = delivery.attempts.at(-1);
  return {
    kind: 'delivery',
    at: attempt?.at ?? delivery.at,
    state: delivery.state ?? 'records',
    from: record?.orig_from_user ?? '',
    fromName: record?.orig_from_name ?? '',
    to: `${record?.term_user ?? ''}@${record?.term_domain ?? ''}`,
    status: attempt?.status ?? null,
    ...(attempt?.error ? { error: attempt.error } : {}),
  };
}

/** A notification the RingCentral stand-in posted: the first active call's status and caller, never the token. */
function fromRingCentral({ at, result, envelope }: RingCentralStandInEvents['delivery'][0]): DemoEvent {
  const body = envelope.body as { activeCalls?: { telephonyStatus?: string; from?: string; fromName?: string }[] } | undefined;
  const call = body?.activeCalls?.[0];
  return {
    kind: 'ringcentral',
    at,
    status: call?.telephonyStatus ?? 'notification',
    from: call?.from ?? '',
    fromName: call?.fromName ?? '',
    answered: result.status,
  };
}

/** What the demo's SMS form button submits. */
const DEMO_SMS_FORM = {
  id: 'example.com-sms',
  api_domain: 'example.com',
  user: '2000',
  ns_system_user: '8001',
  from_number: '19295550100',
  message: 'Our hours are Mon-Fri 9am-5pm. We are at 123 Main St, Tampa FL 33601.',
};

/** The demo's POSTs take JSON only: a page on another site cannot send that without a CORS preflight, which is never allowed. */
function requireJson(ctx: RouterContext<AppState>): void {
  if (!ctx.is('application/json')) throw new HttpError(415, 'Send JSON.');
}

const asset = (name: string) => readFileSync(new URL(`../../../demo/${name}`, import.meta.url));

/**
 * The demo page (`npm start`): the widget as a visitor sees it, buttons that play NetSapiens' part, and a
 * live list of what the embedded sandbox received. Only mounted in demo mode, never in production.
 */
export interface DemoOptions {
  /** The server's dependencies, once wired: the SMS form button runs the form's handler with them. */
  deps: () => ServerDeps | undefined;
  /** Where this server listens, known once it does: the simulated call reaches it there, as NetSapiens would. */
  serverUrl: () => string | undefined;
  /** The `sig` `/update-sms` writes into an id's dial rule. */
  signature: (id: string) => string;
  /** The incoming-call set-up (`setUpDemoCalls`), once started: the routes of section 4 wait for it. */
  calls: () => Promise<DemoCalls> | undefined;
  /** The RingCentral stand-in, whose calls section 4 can ring too. */
  ringcentral?: RingCentralStandIn;
}

/** The time between a simulated call's states unless the page asks for another (at most `MAX_STEP_MS`). */
const STEP_MS = 5_000;
const MAX_STEP_MS = 10_000;

export function demoRoutes(sandbox: NsSandbox, options: DemoOptions): DemoRoutes {
  const page = asset('index.html');
  const script = asset('demo.js');
  const styles = asset('demo.css');
  const streams = new Set<PassThrough>();
  const router = new Router<AppState>();

  const serve = (type: string, body: Buffer) => (ctx: RouterContext<AppState>) => {
    ctx.type = type;
    ctx.set('Cache-Control', 'no-store');
    // 'self' is all the page loads: its own files, the widgets' bundles and <call-popup>'s EventSource
    // (connect-src) on this server; images also from a config's https logo.
    ctx.set('Content-Security-Policy', "default-src 'self'; img-src 'self' data: https:; frame-ancestors 'none'");
    ctx.body = body;
  };
  router.get('/', serve('text/html; charset=utf-8', page));
  router.get('/demo/demo.js', serve('application/javascript', script));
  router.get('/demo/demo.css', serve('text/css', styles));
  router.get('/favicon.ico', (ctx) => {
    ctx.status = 204;
  });

  router.get('/demo/history', (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    ctx.body = [
      ...sandbox.calls.map(fromCall),
      ...sandbox.messages.map(fromMessage),
      ...sandbox.subscriptions.map(fromSubscription),
      ...sandbox.deliveries.filter((delivery) => delivery.attempts.length > 0).map(fromDelivery),
    ].sort((a, b) => a.at.localeCompare(b.at));
  });

  // Server-sent events: one line per thing the sandbox receives, as it happens.
  router.get('/demo/events', (ctx) => {
    const stream = new PassThrough();
    const send = (event: DemoEvent) => stream.write(`data: ${JSON.stringify(event)}\n\n`);
    const onCall = (call: SandboxCall) => send(fromCall(call));
    const onMessage = (message: SandboxMessage) => send(fromMessage(message));
    const onProvision = (event: SandboxProvisionEvent) => send(fromProvision(event));
    // A subscription's counters change on every delivery: only its creation is listed.
    const onSubscription = (event: SandboxSubscriptionEvent) => event.action === 'create' && send(fromSubscription(event.record));
    const onDelivery = (delivery: SandboxDelivery) => send(fromDelivery(delivery));
    const onRingCentral = (delivery: RingCentralStandInEvents['delivery'][0]) => send(fromRingCentral(delivery));
    options.ringcentral?.events.on('delivery', onRingCentral);
    const { events } = sandbox;
    events.on('call', onCall).on('message', onMessage).on('provision', onProvision);
    events.on('subscription', onSubscription).on('delivery', onDelivery);
    const stop = () => {
      events.off('call', onCall).off('message', onMessage).off('provision', onProvision);
      events.off('subscription', onSubscription).off('delivery', onDelivery);
      options.ringcentral?.events.off('delivery', onRingCentral);
      streams.delete(stream);
      stream.end();
    };
    ctx.req.on('close', stop);
    streams.add(stream);
    ctx.type = 'text/event-stream';
    ctx.set('Cache-Control', 'no-store');
    ctx.body = stream;
    stream.write(': connected\n\n');
  });

  // The SMS form as a Zoho form would fill it, run by the form's own handler (its secret is not needed
  // in this process). JSON only: a page on another site cannot send that without a CORS preflight, which is
  // never allowed, so no other site can make the demo write its config.
  router.post('/demo/sms-form', async (ctx) => {
    requireJson(ctx);
    const deps = options.deps();
    if (!deps) throw new HttpError(503, 'The demo is starting.');
    ctx.body = await submitSmsForm(deps, DEMO_SMS_FORM, ctx.state.log);
  });

  // A call to the system user, as NetSapiens would route it: to the URL in the dial rule `/update-sms`
  // wrote, or, while this run's sandbox has none (the SMS form not posted since the demo started), to the
  // URL that form would write. Always on this server's own address: only the path and query are taken.
  router.post('/demo/call', async (ctx) => {
    const self = options.serverUrl();
    const caller = typeof ctx.query.caller === 'string' ? ctx.query.caller.replace(/\D/g, '').slice(0, 15) : '';
    if (!self || !caller) {
      ctx.status = !self ? 503 : 400;
      ctx.body = { status: 'error', message: !self ? 'The demo is starting.' : "Give the caller's number as ?caller=." };
      return;
    }
    const rule = sandbox.dialRules.find((candidate) => String(candidate['dial-rule-matching-to-uri']).includes('webresponder8001'));
    const configured = URL.canParse(String(rule?.['dial-rule-parameter'])) ? new URL(String(rule?.['dial-rule-parameter'])) : undefined;
    const target = new URL(
      configured
        ? `${configured.pathname}${configured.search}`
        : `/webresponder?id=example.com-sms&sig=${options.signature('example.com-sms')}`,
      self,
    );
    target.searchParams.set('NmsAni', caller);
    const response = await fetch(target);
    ctx.body = { status: response.status, xml: await response.text() };
  });

  // Section 4's set-up, waited for (a subscription a stopped run left pending may hold it up to a minute).
  const demoCalls = async (): Promise<DemoCalls> => {
    const setUp = options.calls();
    if (!setUp) throw new HttpError(503, 'The demo is starting.');
    try {
      return await setUp;
    } catch (error) {
      throw new HttpError(503, `Incoming calls are not set up: ${(error as Error).message}`);
    }
  };

  // A stream token for the demo app, as a site's own backend would get one with its app key
  // (POST /api/stream-tokens) for its <call-popup>. It reads the demo id's calls only and opens a stream
  // for 5 minutes. JSON only, and no CORS: another site's page can neither send this request without a
  // preflight that is never allowed nor read the answer, so no other site gets a token.
  router.post('/demo/stream-token', async (ctx) => {
    requireJson(ctx);
    const { db, appId } = await demoCalls();
    const { token, expiresAt } = await issueStreamToken(db, appId);
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { token, expires_at: expiresAt.toISOString() };
  });

  // The demo customer calls: the sandbox delivers the call's states (ringing, answered, ended, `step_ms`
  // apart) to this server's NetSapiens webhook through the subscription made at start, as NetSapiens
  // would; with `"provider":"ringcentral"`, the RingCentral stand-in posts them (detailed presence:
  // Ringing, CallConnected, NoCall) to the RingCentral webhook with the subscription's verification
  // token. Answered at once; the deliveries follow.
  router.post('/demo/incoming-call', async (ctx) => {
    requireJson(ctx);
    const body = (await readJson(ctx, 1_024)) as { step_ms?: unknown; provider?: unknown } | undefined;
    const stepMs = body?.step_ms ?? STEP_MS;
    if (typeof stepMs !== 'number' || !Number.isInteger(stepMs) || stepMs < 0 || stepMs > MAX_STEP_MS) {
      throw new HttpError(400, `step_ms must be a whole number of milliseconds from 0 to ${MAX_STEP_MS}`);
    }
    const provider = body?.provider ?? 'netsapiens';
    if (provider !== 'netsapiens' && provider !== 'ringcentral') throw new HttpError(400, 'provider must be "netsapiens" or "ringcentral"');
    const { domain, caller } = await demoCalls();
    const { ringcentral } = options;
    if (provider === 'ringcentral') {
      if (!ringcentral) throw new HttpError(503, 'The RingCentral stand-in is not running.');
      const call = ringcentral.incomingCall({ from: caller, fromName: 'WIRELESS CALLER', to: `+1${DEMO_CALLED.dialed.slice(1)}` });
      const play = async () => {
        await call.ring();
        await sleep(stepMs);
        await call.answer();
        await sleep(stepMs);
        await call.hangUp();
      };
      play().catch((error: Error) => ctx.state.log.warn({ reason: error.message }, 'demo: simulated RingCentral call failed'));
      ctx.status = 202;
      ctx.body = { status: 'ok', provider, from: caller, customer: DEMO_CUSTOMER.name, to: `+1${DEMO_CALLED.dialed.slice(1)}` };
      return;
    }
    const call = { domain, from: caller, fromName: 'WIRELESS CALLER', to: DEMO_CALLED.user, dialed: DEMO_CALLED.dialed, stepMs };
    sandbox.simulateCall(call).catch((error: Error) => ctx.state.log.warn({ reason: error.message }, 'demo: simulated call failed'));
    ctx.status = 202;
    ctx.body = { status: 'ok', from: caller, customer: DEMO_CUSTOMER.name, to: `${DEMO_CALLED.user}@${domain}` };
  });

  return {
    router,
    close() {
      for (const stream of streams) stream.end();
      streams.clear();
    },
  };
}
