// The browsers of the call-events benchmark, run in a process of their own (service.mjs's `streams`
// role): many `GET /api/call-stream` connections on raw sockets. While the streams are live, a socket's
// data handler only notes the time and keeps the bytes, so that reading one stream delays the next as
// little as it can (an event reaches every socket at once, and one process takes them one after the
// other); the bytes are parsed afterwards, each event dated by the read that completed it.

import { connect } from 'node:net';

const now = () => performance.timeOrigin + performance.now();

/**
 * Opens `path` on `base` (http://host:port) as an `EventSource` would, and resolves once the stream said
 * `connected`; rejects on any other answer, or after `timeoutMs`.
 */
export function openStream(base, path, timeoutMs = 30_000) {
  const { hostname, port } = new URL(base);
  const socket = connect({ host: hostname, port: Number(port), noDelay: true });
  const reads = [];
  return new Promise((resolve, reject) => {
    let head = '';
    const timer = setTimeout(() => fail(new Error(`no "connected" within ${timeoutMs} ms`)), timeoutMs);
    const fail = (error) => {
      clearTimeout(timer);
      socket.destroy();
      reject(error);
    };
    socket.once('error', fail);
    socket.on('data', (chunk) => {
      reads.push({ at: now(), chunk });
      if (head === undefined) return;
      head += chunk.toString('latin1');
      if (!head.startsWith('HTTP/1.1 200')) {
        if (head.includes('\r\n\r\n')) fail(new Error(`the stream answered ${head.split('\r\n')[0]}`));
        return;
      }
      if (!head.includes('event: connected')) return;
      head = undefined;
      clearTimeout(timer);
      socket.off('error', fail);
      // Errors after the start (the server closing at the end) are ends, not failures.
      socket.on('error', () => undefined);
      resolve({ reads, close: () => socket.destroy() });
    });
    socket.write(`GET ${path} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nAccept: text/event-stream\r\nCache-Control: no-cache\r\n\r\n`);
  });
}

/**
 * A stream's `call` events as `[session_id|status, time]`, the time being when the read that completed
 * the event arrived. Decodes the HTTP answer (headers, then chunked transfer encoding) and the SSE
 * events in it, read by read.
 */
export function callEvents(reads) {
  const events = [];
  let pending = Buffer.alloc(0);
  let inHeaders = true;
  let chunkLeft = 0;
  let body = '';
  for (const { at, chunk } of reads) {
    pending = Buffer.concat([pending, chunk]);
    for (;;) {
      if (inHeaders) {
        const end = pending.indexOf('\r\n\r\n');
        if (end < 0) break;
        pending = pending.subarray(end + 4);
        inHeaders = false;
      } else if (chunkLeft > 0) {
        const take = Math.min(chunkLeft, pending.length);
        if (take === 0) break;
        body += pending.subarray(0, take).toString('utf8');
        pending = pending.subarray(take);
        chunkLeft -= take;
        // The CRLF after a chunk's data is read with the next size line.
      } else {
        const line = pending.indexOf('\r\n', pending[0] === 0x0d ? 2 : 0);
        if (line < 0) break;
        const size = parseInt(pending.subarray(0, line).toString('latin1').trim(), 16);
        pending = pending.subarray(line + 2);
        if (size === 0) break;
        chunkLeft = size;
      }
    }
    for (let end = body.indexOf('\n\n'); end >= 0; end = body.indexOf('\n\n')) {
      const block = body.slice(0, end);
      body = body.slice(end + 2);
      if (!block.includes('event: call')) continue;
      const data = block.split('\n').find((line) => line.startsWith('data: '));
      const { call } = JSON.parse(data.slice(6));
      events.push([`${call.session_id}|${call.status}`, at]);
    }
  }
  return events;
}
