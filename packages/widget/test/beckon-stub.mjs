// Stand-in for the Beckon server's widget routes, served by the test runner's dev server under /stub/
// so the element's `fetch` stays real. It answers like the real server: JSON bodies, the
// {"status":"error","message"} envelope, CORS for cross-origin pages; the config id picks the case.
// Every request is logged so tests can assert what actually went over the wire. Chromium and Firefox,
// and the media groups' browsers beside them, run their tests at the same time against this one stub,
// so each test page (told apart by the test runner's session id in its Referer) reads and clears only
// its own log.
//
// Bookings and live status, as the server's contract has them:
//   ids starting `book` take bookings (`"scheduling": true`); `book` itself is open, `book-hours:…` has
//   hours as `hours:…` below. GET /click-to-call/slots lists SLOTS (none for `book-none`); a POST with
//   `scheduled_at` books one of them (202), answers 400 `invalid_schedule` for any other time (or a
//   number with 7777 in it; after that, an id starting `book-last-` has no time left), and 409
//   `already_booked` for a number with 9999 in it; a number with 8888 in it gets a booking whose cancel
//   answers 409 `not_pending`. DELETE /click-to-call/:id?token= cancels.
//   ids `live:<call>` answer an immediate call with `callback_id` <call> and a `status_token`; the call's
//   GET /click-to-call/<call>/events?token= is an SSE stream the test drives:
//     POST /stub/live/<call>/status {status, end?} → sends `event: status` (ids 1, 2, …); `end` ends it
//     GET  /stub/live/<call>/connections          → every connection: token, Last-Event-ID, open
//   The stream stays open after a final status unless told to end, so a test sees the element close it.

const BRANDING = {
  // Configured ids without branding: the element keeps its own (translated) defaults.
  plain: {},
  newer: {},
  slow: {},
  busy: {},
  broken: {},
  drop: {},
  acme: { buttonText: 'Ring Acme', buttonColor: '#ffd60a', companyName: 'Acme Plumbing', logoUrl: '/stub/logo.svg' },
  hostile: {
    buttonText: '<img src=x onerror="window.__pwned=1">',
    buttonColor: 'red; background-image: url(https://evil.example/x)',
    companyName: '<script>window.__pwned=1</script>',
    logoUrl: 'javascript:window.__pwned=1',
  },
};

/** As the real server lists them for `allowed_countries` (its libphonenumber metadata). */
const COUNTRIES = {
  FR: { code: 'FR', calling_code: '33', example: '06 12 34 56 78', lengths: [9] },
  BE: { code: 'BE', calling_code: '32', example: '0450 00 12 34', lengths: [8, 9] },
  DE: { code: 'DE', calling_code: '49', example: '01512 3456789', lengths: [4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15] },
  US: { code: 'US', calling_code: '1', example: '(201) 555-0123', lengths: [10] },
};
/** Ids with `allowed_countries`, by their countries in configured order. */
const ALLOWED = { abroad: ['FR', 'US', 'DE', 'BE'], france: ['FR'] };

/**
 * Ids with opening hours spell them out: `hours:<state>:<instant, ms since 1970>:<IANA zone>`, where
 * `closed` is closed until the instant, `closed-long` closed with no opening in sight, `opens` closed
 * until the instant and open from then on, and `late` open by its config but closed by the time a call
 * is asked for (409 `closed`, opening at the instant).
 */
function hoursOf(id) {
  const [, state, at, timezone] = /^(?:book-[\w-]*?)?hours:([a-z-]+):(\d+):(.+)$/.exec(id) ?? [];
  if (!state) return undefined;
  const next = new Date(Number(at)).toISOString().replace('.000Z', 'Z');
  const open = state === 'late' || (state === 'opens' && Date.now() >= Number(at));
  return { open, next_open: open || state === 'closed-long' ? null : next, timezone, closesWith: state === 'late' ? next : undefined };
}

/**
 * What the slots route lists, for a business in New York seen from Paris: the Saturday before the US
 * leaves daylight-saving time (6 hours apart, as in summer), 1:00 AM twice on the switch night of
 * Sunday 1 November 2026 (5:00 and 6:00 UTC), and the Monday after (5 hours apart until Europe's own
 * switch, which came a week earlier: 9:00 AM in New York is 3:00 PM in Paris again).
 */
const SLOTS = ['2026-10-31T13:00:00Z', '2026-10-31T13:15:00Z', '2026-11-01T05:00:00Z', '2026-11-01T06:00:00Z', '2026-11-02T14:00:00Z'];

/** Ids starting `book-last-` whose last time was taken. */
const taken = new Set();
/** Bookings made, by callback id: the token that cancels each and whether it still can be. */
const bookings = new Map();
/** Live calls, by callback id: their streams, connections and the statuses sent so far. */
const calls = new Map();

function call(id) {
  let found = calls.get(id);
  if (!found) {
    found = { streams: new Set(), connections: [], sent: 0 };
    calls.set(id, found);
  }
  return found;
}

const NOT_CONFIGURED = 'This call button is not configured.';
const LOGO = '<svg xmlns="http://www.w3.org/2000/svg" width="40" height="40"><rect width="40" height="40"/></svg>';

function readBody(req) {
  return new Promise((resolve, reject) => {
    let data = '';
    req.setEncoding('utf8');
    req.on('data', (chunk) => (data += chunk));
    req.on('end', () => resolve(data));
    req.on('error', reject);
  });
}

function json(ctx, status, body) {
  ctx.status = status;
  ctx.type = 'application/json';
  ctx.body = JSON.stringify(body);
}

/** The server's envelope; visitor-facing errors carry a `code` as the real server's do. */
function error(ctx, status, message, code) {
  json(ctx, status, code ? { status: 'error', message, code } : { status: 'error', message });
}

/**
 * The test page a request comes from: the session id in the URL the runner opened it at (its Referer
 * carries it), and its browser's User-Agent. A User-Agent alone is not enough: the media groups run in
 * browsers of their own with the same one. A request to another origin carries only the page's origin
 * as its Referer: it is known by its User-Agent alone.
 */
function testPage(ctx) {
  const referer = ctx.get('Referer');
  const session = referer ? (new URL(referer, 'http://localhost').searchParams.get('wtr-session-id') ?? undefined) : undefined;
  return { session, userAgent: ctx.get('User-Agent') };
}

/** Whether a logged request is `page`'s: from its session, or from its browser without a session. */
function isFrom(entry, page) {
  return entry.page.session === undefined ? entry.page.userAgent === page.userAgent : entry.page.session === page.session;
}

export function beckonStub() {
  const log = [];
  return async function beckonStub(ctx, next) {
    if (!ctx.path.startsWith('/stub/')) return next();
    const route = ctx.path.slice('/stub'.length);
    const origin = ctx.get('Origin');
    if (origin) ctx.set('Access-Control-Allow-Origin', origin);

    const page = testPage(ctx);
    if (route === '/requests') {
      if (ctx.method === 'DELETE') log.splice(0, log.length, ...log.filter((entry) => !isFrom(entry, page)));
      json(
        ctx,
        200,
        log.filter((entry) => isFrom(entry, page)).map(({ page: _, ...entry }) => entry),
      );
      return;
    }
    if (route === '/logo.svg') {
      ctx.type = 'image/svg+xml';
      ctx.body = LOGO;
      return;
    }

    const live = /^\/live\/([\w-]+)\/(status|connections)$/.exec(route);
    if (live) {
      const state = call(live[1]);
      if (live[2] === 'connections') return json(ctx, 200, state.connections);
      const { status, end } = JSON.parse(await readBody(ctx.req));
      state.sent += 1;
      for (const stream of state.streams) {
        stream.write(`event: status\nid: ${state.sent}\ndata: ${JSON.stringify({ status, at: new Date().toISOString() })}\n\n`);
        if (end) stream.end();
      }
      return json(ctx, 200, { sent: state.streams.size });
    }

    const body = ctx.method === 'POST' ? await readBody(ctx.req) : '';
    log.push({
      page,
      method: ctx.method,
      path: route,
      query: ctx.querystring,
      contentType: ctx.get('Content-Type'),
      cookie: ctx.get('Cookie'),
      origin,
      body,
    });

    if (route === '/widget-config' && ctx.method === 'GET') {
      const id = ctx.query.id;
      if (typeof id === 'string' && Object.hasOwn(ALLOWED, id))
        return json(ctx, 200, { id, countries: ALLOWED[id].map((code) => COUNTRIES[code]) });
      const hours = typeof id === 'string' ? hoursOf(id) : undefined;
      const scheduling = typeof id === 'string' && id.startsWith('book');
      if (hours) return json(ctx, 200, { id, open: hours.open, next_open: hours.next_open, timezone: hours.timezone, scheduling });
      if (scheduling || (typeof id === 'string' && id.startsWith('live:'))) return json(ctx, 200, { id, scheduling });
      const branding = typeof id === 'string' ? BRANDING[id] : undefined;
      if (!branding) return error(ctx, 404, NOT_CONFIGURED, 'not_configured');
      return json(ctx, 200, { id, ...branding });
    }

    if (route === '/click-to-call/slots' && ctx.method === 'GET') {
      const id = String(ctx.query.id ?? '');
      if (!id.startsWith('book')) return error(ctx, 404, NOT_CONFIGURED, 'not_configured');
      const none = id === 'book-none' || taken.has(id);
      return json(ctx, 200, { timezone: 'America/New_York', step_minutes: 15, slots: none ? [] : SLOTS });
    }

    const events = /^\/click-to-call\/([\w-]+)\/events$/.exec(route);
    if (events && ctx.method === 'GET') {
      const state = call(events[1]);
      const connection = { token: ctx.query.token, lastEventId: ctx.get('Last-Event-ID'), open: true };
      state.connections.push(connection);
      if (ctx.query.token !== `st-${events[1]}`) return error(ctx, 404, 'No such call.', 'not_found');
      ctx.respond = false;
      ctx.res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache', 'Access-Control-Allow-Origin': '*' });
      ctx.res.write('retry: 500\n\n');
      state.streams.add(ctx.res);
      ctx.res.on('close', () => {
        connection.open = false;
        state.streams.delete(ctx.res);
      });
      return;
    }

    const cancel = /^\/click-to-call\/([\w-]+)$/.exec(route);
    if (cancel && ctx.method === 'DELETE') {
      const booking = bookings.get(cancel[1]);
      if (!booking || ctx.query.token !== booking.token) return error(ctx, 404, 'No such booking.', 'not_found');
      if (!booking.pending) return error(ctx, 409, 'This booking is no longer pending.', 'not_pending');
      booking.pending = false;
      return json(ctx, 200, { status: 'cancelled', callback_id: cancel[1] });
    }

    if ((route === '/click-to-call' || cancel) && ctx.method === 'OPTIONS') {
      ctx.set('Access-Control-Allow-Methods', 'POST, DELETE');
      ctx.set('Access-Control-Allow-Headers', 'Content-Type');
      ctx.status = 204;
      return;
    }

    if (route === '/click-to-call' && ctx.method === 'POST') {
      if (!ctx.is('application/json')) return error(ctx, 415, 'Send JSON.');
      let fields;
      try {
        fields = JSON.parse(body);
      } catch {
        return error(ctx, 400, 'Malformed JSON.');
      }
      const id = fields?.id;
      const phone = typeof fields?.phone_number === 'string' ? fields.phone_number : '';
      if (typeof id === 'string' && id.startsWith('book') && fields.scheduled_at !== undefined) {
        // 7777: as if another visitor had just taken the time.
        if (!SLOTS.includes(fields.scheduled_at) || phone.includes('7777')) {
          if (id.startsWith('book-last-')) taken.add(id);
          return error(ctx, 400, 'That time cannot be booked.', 'invalid_schedule');
        }
        if (phone.includes('9999')) return error(ctx, 409, 'This number already has a booking.', 'already_booked');
        const callbackId = `cb-${bookings.size + 1}`;
        const token = `ct-${callbackId}`;
        bookings.set(callbackId, { token, pending: !phone.includes('8888') });
        return json(ctx, 202, {
          status: 'scheduled',
          callback_id: callbackId,
          scheduled_at: fields.scheduled_at,
          cancel_token: token,
          status_token: `st-${callbackId}`,
        });
      }
      if (typeof id === 'string' && id.startsWith('live:')) {
        const callbackId = id.slice('live:'.length);
        return json(ctx, 200, { status: 'ok', callback_id: callbackId, status_token: `st-${callbackId}` });
      }
      if (id === 'book') return json(ctx, 200, { status: 'ok' });
      if (typeof id === 'string' && Object.hasOwn(ALLOWED, id)) return json(ctx, 200, { status: 'ok' });
      const hours = typeof id === 'string' ? hoursOf(id) : undefined;
      if (hours) {
        if (!hours.closesWith) return error(ctx, 404, NOT_CONFIGURED, 'not_configured');
        const message = 'We are closed right now. We open again at a time in English.';
        return json(ctx, 409, { status: 'error', code: 'closed', message, next_open: hours.closesWith });
      }
      switch (id) {
        case 'acme':
        case 'plain':
          if (/^\D*1?\D*900/.test(phone)) return error(ctx, 400, 'Sorry, we cannot call that number.', 'number_not_allowed');
          return json(ctx, 200, { status: 'ok' });
        case 'slow':
          await new Promise((resolve) => setTimeout(resolve, 400));
          return json(ctx, 200, { status: 'ok' });
        case 'busy':
          ctx.set('Retry-After', '60');
          return error(ctx, 429, 'Too many requests. Please try again in a minute.', 'rate_limited');
        case 'broken':
          ctx.status = 502;
          ctx.type = 'text/html';
          ctx.body = '<html><body>Bad gateway</body></html>';
          return;
        case 'drop':
          // A connection that dies without an answer: the browser's fetch rejects (a network error).
          ctx.respond = false;
          ctx.req.socket.destroy();
          return;
        case 'newer':
          // A code this version of the element does not know yet: it shows the server's message.
          return error(ctx, 400, 'A message from a newer server.', 'something_new');
        default:
          return error(ctx, 404, NOT_CONFIGURED, 'not_configured');
      }
    }
    return error(ctx, 404, 'Not found.');
  };
}
