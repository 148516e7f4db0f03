// The NetSapiens side of the intake benchmark, run inside the sandbox's process (service.mjs): call
// records posted to the post-url of the sandbox's subscription as the sandbox's deliverer posts them —
// one record per POST of a JSON array, keep-alive connections — with a call's states in order (the next
// only once the previous was answered), and a share of redeliveries of records already sent (NetSapiens
// retrying a post whose answer it missed; some race their original). Not through `sandbox.deliver()`
// itself: its bookkeeping (deep copies of every delivery, a search through the last 10 000) costs about
// a millisecond of CPU per delivery, and 2 000 a second would take the cores the server needs. Two ways
// to load:
//   rate    open loop: deliveries fall due at a fixed rate whatever the answers, as calls arrive; a
//           delivery's time runs from when it fell due, so waiting for a free sender counts
//   closed  `concurrency` senders, each posting again as soon as it is answered: the most it takes
// It keeps what it needs to say afterwards what the database must hold: every distinct record answered
// 200 is one delivery row and one call event, every call whose ringing record was answered one call row.

import { connect } from 'node:net';
import { Samples } from './lib.mjs';

const now = () => performance.timeOrigin + performance.now();
/** Redeliveries are drawn from this many records sent last. */
const RECENT = 1_000;
/** Calls made by this process so far: every run's calls have ids no other run's have. */
let serial = 0;

/**
 * Makes calls shaped exactly like `template` (one call's records as the sandbox built them: ringing,
 * answered, ended), each with ids and a caller of its own: the template's values are replaced where
 * they stand whole (a quoted value, a SIP URI's user), never inside another value.
 */
function callFactory(template, callers) {
  const { orig_callid: callId, term_callid: termCallId, sessionId, orig_from_user: fromUser } = template.ringing;
  const texts = ['ringing', 'answered', 'ended'].map((state) => [state, JSON.stringify(template[state])]);
  return () => {
    const n = serial++;
    const tag = `${process.pid.toString(16)}${n.toString(16).padStart(10, '0')}`;
    const newSession = `${sessionId.slice(0, 14)}${String(n % 1_000_000).padStart(6, '0')}`;
    const newTerm = `${newSession}-${tag.padStart(32, '0')}`;
    const newCallId = `bench${tag}@192.0.2.10`;
    const caller = callers[n % callers.length];
    let next;
    // Built from the last state back, so each item points at the one that follows it.
    for (const [state, text] of texts.slice().reverse()) {
      const record = text
        .replaceAll(termCallId, newTerm)
        .replaceAll(callId, newCallId)
        .replaceAll(`"${sessionId}"`, `"${newSession}"`)
        .replaceAll(`"${fromUser}"`, `"${caller}"`)
        .replaceAll(`sip:${fromUser}@`, `sip:${caller}@`);
      // The body NetSapiens posts: a JSON array of one record.
      next = { key: `${newCallId}|${state}`, state, text: `[${record}]`, next };
    }
    return next;
  };
}

/**
 * Keep-alive connections to one server, posting one request at a time on each. Not node:http's client:
 * it costs about 90 µs of CPU a post here (measured alone against a bare server, 2 000 posts/s), and
 * this process shares the machine's cores with the server it measures; each post here is one write of
 * bytes prepared once, and its answer is read as far as its status and Content-Length (Beckon's answers
 * always have one). An answer without one is reported as such, and fails the run's check.
 */
class Connections {
  constructor(url) {
    this.host = url.hostname;
    this.port = Number(url.port || 80);
    this.head = `POST ${url.pathname}${url.search} HTTP/1.1\r\nhost: ${url.host}\r\ncontent-type: application/json\r\ncontent-length: `;
    /** Connections waiting for a post, the most recently used last (as node:http's agent, so the rest may time out idle). */
    this.idle = [];
    this.all = new Set();
  }

  /** One POST of `body` (JSON text); resolves to the answer's status, or to what went wrong when there was none. */
  post(body) {
    const connection = this.idle.pop() ?? this.open();
    return new Promise((resolve) => {
      connection.pending = { resolve, timer: setTimeout(() => connection.socket.destroy(new Error('timeout')), 30_000) };
      connection.socket.write(`${this.head}${Buffer.byteLength(body)}\r\n\r\n${body}`);
    });
  }

  open() {
    const socket = connect({ host: this.host, port: this.port, noDelay: true });
    const connection = { socket, pending: undefined, buffer: Buffer.alloc(0) };
    this.all.add(connection);
    const settle = (outcome) => {
      const { pending } = connection;
      if (!pending) return;
      connection.pending = undefined;
      clearTimeout(pending.timer);
      pending.resolve(outcome);
    };
    socket.on('data', (chunk) => {
      connection.buffer = connection.buffer.length === 0 ? chunk : Buffer.concat([connection.buffer, chunk]);
      const end = connection.buffer.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = connection.buffer.toString('latin1', 0, end);
      const length = /\r\ncontent-length: *(\d+)/i.exec(head);
      if (!length) {
        settle('an answer without Content-Length');
        socket.destroy();
        return;
      }
      const size = end + 4 + Number(length[1]);
      if (connection.buffer.length < size) return;
      connection.buffer = connection.buffer.subarray(size);
      const closing = /\r\nconnection: *close/i.test(head);
      settle(Number(head.slice(9, 12)));
      if (closing) socket.end();
      else this.idle.push(connection);
    });
    socket.on('error', (error) => settle(error.code ?? error.message));
    socket.on('close', () => {
      settle('cut short');
      this.all.delete(connection);
      const at = this.idle.indexOf(connection);
      if (at >= 0) this.idle.splice(at, 1);
    });
    return connection;
  }

  close() {
    for (const { socket } of this.all) socket.destroy();
  }
}

/**
 * Runs one load against `postUrl` (a subscription's) and resolves once every delivery started has been
 * answered (or failed). Options: `template` (see callFactory), `callers` (the callers' numbers as
 * digits), `mode` ('rate' | 'closed'), `rate` (deliveries/s, open loop), `concurrency` (senders, closed
 * loop), `seconds`, `redeliverShare` (0.1: one delivery in ten is a redelivery), `maxInFlight` (open
 * loop: posts under way at once, as NetSapiens' senders are not endless).
 */
export async function runIntake(options) {
  const { postUrl, mode, seconds, redeliverShare = 0.1, maxInFlight = 256 } = options;
  const url = new URL(postUrl);
  const connections = new Connections(url);
  const newCall = callFactory(options.template, options.callers);
  const ready = [];
  const recent = [];
  const answered = new Set();
  const statuses = {};
  const samples = new Samples();
  let calls = 0;
  let redeliveries = 0;
  let sent = 0;
  let firstAt;
  let lastAt = 0;

  /** The next delivery: a redelivery, else the next state of a call whose last state was answered, else a new call. */
  const pick = () => {
    if (recent.length > 0 && Math.random() < redeliverShare) {
      redeliveries++;
      return { ...recent[Math.floor(Math.random() * recent.length)], redelivery: true };
    }
    const item = ready.shift() ?? newCall();
    if (item.state === 'ringing') calls++;
    recent.push(item);
    if (recent.length > RECENT) recent.shift();
    return item;
  };

  const send = async (item, from) => {
    sent++;
    firstAt ??= now();
    const status = await connections.post(item.text);
    const at = now();
    lastAt = Math.max(lastAt, at);
    samples.push(at - from);
    statuses[status] = (statuses[status] ?? 0) + 1;
    if (status !== 200) return;
    answered.add(item.key);
    if (!item.redelivery && item.next) ready.push(item.next);
  };

  let backlogPeak = 0;
  let abandoned = 0;
  if (mode === 'closed') {
    const end = now() + seconds * 1_000;
    const sender = async () => {
      while (now() < end) await send(pick(), now());
    };
    await Promise.all(Array.from({ length: options.concurrency }, sender));
  } else {
    const interval = 1_000 / options.rate;
    const total = Math.round(options.rate * seconds);
    // Two seconds behind is a server that does not keep up: stop rather than queue without end.
    const giveUpAt = Math.max(100, options.rate * 2);
    await new Promise((resolve) => {
      const start = now();
      const due = [];
      let scheduled = 0;
      let inFlight = 0;
      let stopped = false;
      const pump = () => {
        while (inFlight < maxInFlight && due.length > 0) {
          inFlight++;
          send(pick(), due.shift()).finally(() => {
            inFlight--;
            pump();
          });
        }
        if (stopped && inFlight === 0 && due.length === 0) resolve();
      };
      const timer = setInterval(() => {
        const target = Math.min(total, Math.floor((now() - start) / interval) + 1);
        while (scheduled < target) due.push(start + scheduled++ * interval);
        backlogPeak = Math.max(backlogPeak, due.length);
        if (due.length > giveUpAt) {
          abandoned = total - scheduled + due.length;
          due.length = 0;
          scheduled = total;
        }
        if (scheduled === total) {
          stopped = true;
          clearInterval(timer);
        }
        pump();
      }, 1);
    });
  }

  connections.close();
  const [p50, p99, max] = samples.percentiles(50, 99, 100);
  const ok = statuses[200] ?? 0;
  return {
    mode,
    sent,
    ok,
    statuses,
    redeliveries,
    calls,
    // What the database must hold: one delivery row and one call event per distinct record answered 200.
    distinctAnswered: answered.size,
    callsAnswered: [...answered].filter((key) => key.endsWith('|ringing')).length,
    wallMs: lastAt - (firstAt ?? lastAt),
    rate: ok / ((lastAt - (firstAt ?? lastAt)) / 1_000),
    p50,
    p99,
    max,
    backlogPeak,
    abandoned,
  };
}
