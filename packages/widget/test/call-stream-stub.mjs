// Stand-in for the Beckon server's live call stream, served by the test runner's dev server so the
// element's EventSource stays real. It speaks the server's contract: `GET /stub/api/call-stream?token=`
// answers 401 (JSON envelope) for a token it does not accept, else Server-Sent Events with `retry:`,
// `event: connected` with `id:` where the stream starts; on a fresh connection the calls in progress
// (ringing or answered, their latest state) as `event: call` frames without `id:`; on a reconnection the
// events after `Last-Event-ID` or `?last_event_id=`; then `event: call` + `data: {"type":"call","call":{…}}`
// + `id:` (the event id) live, and heartbeat comments.
//
// Tests drive it over HTTP. A token is `<channel>:<anything>`; each test uses its own channel:
//   POST /stub/stream/<channel>/events {call}  → appends a call event (ids 1, 2, …) and sends it live
//   POST /stub/stream/<channel>/drop           → ends every open stream of the channel (a lost connection)
//   POST /stub/stream/<channel>/refuse {count} → the next `count` connections get 401 (an expired token)
//   GET  /stub/stream/<channel>/connections    → every connection: token, last_event_id, Last-Event-ID, open

const channels = new Map();

function channel(name) {
  let found = channels.get(name);
  if (!found) {
    found = { events: [], streams: new Set(), connections: [], refuse: 0 };
    channels.set(name, found);
  }
  return found;
}

function readJson(req) {
  return new Promise((resolve, reject) => {
    let data = '';
    req.setEncoding('utf8');
    req.on('data', (chunk) => (data += chunk));
    req.on('end', () => {
      try {
        resolve(data ? JSON.parse(data) : {});
      } catch (error) {
        reject(error);
      }
    });
    req.on('error', reject);
  });
}

function json(ctx, status, body) {
  ctx.status = status;
  ctx.type = 'application/json';
  ctx.body = JSON.stringify(body);
}

function frame({ id, call }) {
  return `event: call\n${id === undefined ? '' : `id: ${id}\n`}data: ${JSON.stringify({ type: 'call', call })}\n\n`;
}

/** Each call's latest state, for those ringing or answered: what a fresh connection starts with. */
function inProgress(events) {
  const latest = new Map();
  for (const event of events) latest.set(event.call.id, event);
  return [...latest.values()].filter((event) => event.call.status === 'ringing' || event.call.status === 'answered');
}

export function callStreamStub() {
  return async function callStreamStub(ctx, next) {
    if (ctx.path === '/stub/api/call-stream' && ctx.method === 'GET') {
      // The token is the credential, so any origin may read the stream.
      ctx.set('Access-Control-Allow-Origin', '*');
      const token = typeof ctx.query.token === 'string' ? ctx.query.token : '';
      const [name, rest] = token.split(':');
      if (!name || !rest) return json(ctx, 401, { status: 'error', message: 'Invalid or expired stream token.' });
      const state = channel(name);
      const queryId = typeof ctx.query.last_event_id === 'string' ? ctx.query.last_event_id : '';
      const connection = { token, last_event_id: queryId, last_event_id_header: ctx.get('Last-Event-ID'), open: true };
      state.connections.push(connection);
      if (state.refuse > 0) {
        state.refuse -= 1;
        connection.open = false;
        return json(ctx, 401, { status: 'error', message: 'Invalid or expired stream token.' });
      }
      const after = Number(connection.last_event_id_header || queryId || 0);
      ctx.respond = false;
      const res = ctx.res;
      res.writeHead(200, {
        'Content-Type': 'text/event-stream; charset=utf-8',
        'Cache-Control': 'no-cache, no-transform',
        'X-Accel-Buffering': 'no',
        'Access-Control-Allow-Origin': '*',
      });
      res.write(`retry: 1000\n\nid: ${after || state.events.length}\nevent: connected\ndata: {"type":"connected"}\n\n`);
      if (after) {
        for (const event of state.events) if (event.id > after) res.write(frame(event));
      } else {
        for (const event of inProgress(state.events)) res.write(frame({ call: event.call }));
      }
      const heartbeat = setInterval(() => res.write(': heartbeat\n\n'), 15_000);
      const stream = {
        send: (event) => res.write(frame(event)),
        end: () => res.end(),
      };
      state.streams.add(stream);
      res.on('close', () => {
        clearInterval(heartbeat);
        connection.open = false;
        state.streams.delete(stream);
      });
      return;
    }

    const match = /^\/stub\/stream\/([\w-]+)\/(events|drop|refuse|connections)$/.exec(ctx.path);
    if (!match) return next();
    const state = channel(match[1]);
    switch (match[2]) {
      case 'events': {
        const { call } = await readJson(ctx.req);
        const event = { id: state.events.length + 1, call };
        state.events.push(event);
        for (const stream of state.streams) stream.send(event);
        return json(ctx, 200, { id: event.id });
      }
      case 'drop':
        for (const stream of state.streams) stream.end();
        return json(ctx, 200, { dropped: state.streams.size });
      case 'refuse':
        state.refuse = Number((await readJson(ctx.req)).count ?? 1);
        return json(ctx, 200, { refuse: state.refuse });
      default:
        return json(ctx, 200, state.connections);
    }
  };
}
