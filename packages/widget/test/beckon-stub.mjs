// Stand-in for the Beckon server's widget routes, served by the test runner's dev server under /stub/
// so the element's `fetch` stays real. It answers like the real server: JSON bodies, the
// {"status":"error","message"} envelope, CORS for cross-origin pages; the config id picks the case.
// Every request is logged so tests can assert what actually went over the wire. Chromium and Firefox
// run their tests at the same time against this one stub, so each browser (told apart by its
// User-Agent) reads and clears only its own log.

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
  const [, state, at, timezone] = /^hours:([a-z-]+):(\d+):(.+)$/.exec(id) ?? [];
  if (!state) return undefined;
  const next = new Date(Number(at)).toISOString().replace('.000Z', 'Z');
  const open = state === 'late' || (state === 'opens' && Date.now() >= Number(at));
  return { open, next_open: open || state === 'closed-long' ? null : next, timezone, closesWith: state === 'late' ? next : undefined };
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

export function beckonStub() {
  const log = [];
  return async function beckonStub(ctx, next) {
    if (!ctx.path.startsWith('/stub/')) return next();
    const route = ctx.path.slice('/stub'.length);
    const origin = ctx.get('Origin');
    if (origin) ctx.set('Access-Control-Allow-Origin', origin);

    const browser = ctx.get('User-Agent');
    if (route === '/requests') {
      if (ctx.method === 'DELETE') log.splice(0, log.length, ...log.filter((entry) => entry.browser !== browser));
      json(
        ctx,
        200,
        log.filter((entry) => entry.browser === browser).map(({ browser: _, ...entry }) => entry),
      );
      return;
    }
    if (route === '/logo.svg') {
      ctx.type = 'image/svg+xml';
      ctx.body = LOGO;
      return;
    }

    const body = ctx.method === 'POST' ? await readBody(ctx.req) : '';
    log.push({
      browser,
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
      if (hours) return json(ctx, 200, { id, open: hours.open, next_open: hours.next_open, timezone: hours.timezone });
      const branding = typeof id === 'string' ? BRANDING[id] : undefined;
      if (!branding) return error(ctx, 404, NOT_CONFIGURED, 'not_configured');
      return json(ctx, 200, { id, ...branding });
    }

    if (route === '/click-to-call' && ctx.method === 'OPTIONS') {
      ctx.set('Access-Control-Allow-Methods', 'POST');
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
