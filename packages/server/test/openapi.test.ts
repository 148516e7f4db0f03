import { createHash, createHmac } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import test, { type ExecutionContext } from 'ava';
// The named export: under NodeNext the default import of this CommonJS module is not constructable.
import { Ajv2020 } from 'ajv/dist/2020.js';
import {
  createApp,
  createLogger,
  createTurnstileCheck,
  loadWidgetBundle,
  startDialpadStandIn,
  type DialpadStandIn,
  TenantStoreBusyError,
  type TenantStore,
  type Tenants,
} from '../src/index.js';
import { DIALPAD_TEST_SECRET, INTERNAL_SECRET, startApiServer, insertCall, type ApiServer } from './fixtures/api.js';
import { databaseFixture } from './fixtures/databases.js';
import { DIAL_STATUS_PATH } from '../src/providers/twilio/originate.js';
import { signTwilioRequest } from '../src/providers/twilio/signature.js';
import { SECRET, serveForTest, startHarness, TENANTS, TWILIO_AUTH_TOKEN, type Harness, type HarnessOptions } from './helpers.js';
import { eventually } from './eventually.js';

/**
 * docs/http-api.openapi.json checked against real responses: each request in the table goes to a real
 * server (wired to the NS sandbox); its status must be documented for that path and method, its content
 * type documented for that status, its body valid against the documented schema, and every header the
 * document marks as required present and valid.
 */

interface Reference {
  $ref: string;
}
interface HeaderObject {
  required?: boolean;
  schema: { type?: string };
}
interface ResponseObject {
  description: string;
  headers?: Record<string, HeaderObject | Reference>;
  content?: Record<string, { schema: unknown }>;
}
interface Operation {
  responses: Record<string, ResponseObject | Reference>;
}
interface OpenApi {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, unknown>; responses: Record<string, ResponseObject> };
}

const spec = JSON.parse(await readFile(new URL('../../../docs/http-api.openapi.json', import.meta.url), 'utf8')) as OpenApi;

// Strict, so a misspelt keyword in the document fails; the OpenAPI fields around the schemas are declared
// as keywords so the whole document can be added. strictTypes/strictRequired are style checks, not errors.
const ajv = new Ajv2020({ strict: true, strictTypes: false, strictRequired: false, allErrors: true, validateFormats: false });
for (const keyword of ['openapi', 'info', 'jsonSchemaDialect', 'servers', 'tags', 'paths', 'components']) ajv.addKeyword(keyword);
ajv.addSchema(spec, 'spec');

const OPERATION_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

/** A JSON pointer from its segments. */
const pointer = (...segments: string[]) => `#/${segments.map((segment) => segment.replace(/~/g, '~0').replace(/\//g, '~1')).join('/')}`;

/** Follows a `$ref` into this document: the object and where it is. */
function deref<T>(node: T | Reference, at: string): { node: T; at: string } {
  if (node && typeof node === 'object' && '$ref' in node) {
    const target = node.$ref;
    let value: unknown = spec;
    for (const segment of target.replace(/^#\//, '').split('/')) {
      value = (value as Record<string, unknown>)[segment.replace(/~1/g, '/').replace(/~0/g, '~')];
    }
    if (value === undefined) throw new Error(`${target} does not resolve`);
    return { node: value as T, at: target };
  }
  return { node: node as T, at };
}

const validators = new Map<string, ReturnType<typeof ajv.compile>>();
function validatorAt(at: string) {
  let validate = validators.get(at);
  if (!validate) {
    validate = ajv.compile({ $ref: `spec${at}` });
    validators.set(at, validate);
  }
  return validate;
}

/** The documented response for what the server answered, or why there is none. */
function documentedResponse(
  method: string,
  path: string,
  status: number,
  allow: string | null,
): { response: ResponseObject; at: string } | string {
  const template = templateOf(path);
  const pathItem = spec.paths[template];
  if (!pathItem) {
    if (status !== 404) return `${path} is not documented, and ${status} is not what an unknown path gets`;
    return named('NotFound');
  }
  const operation = pathItem[method.toLowerCase()];
  if (!operation) {
    if (status !== 405) return `${method} ${path} is not documented, and ${status} is not 405`;
    // The methods the server says it takes must be exactly the documented ones (GET implying HEAD).
    const documented = Object.keys(pathItem)
      .filter((key) => OPERATION_METHODS.includes(key))
      .map((key) => key.toUpperCase());
    if (documented.includes('GET')) documented.push('HEAD');
    const served = (allow ?? '')
      .split(',')
      .map((name) => name.trim())
      .filter(Boolean);
    if (served.sort().join() !== documented.sort().join())
      return `Allow: ${allow} differs from the documented methods of ${path}: ${documented.join(', ')}`;
    return named('MethodNotAllowed');
  }
  const response = operation.responses[String(status)];
  if (!response) return `${status} is not documented for ${method} ${path} (documented: ${Object.keys(operation.responses).join(', ')})`;
  const { node, at } = deref(response, pointer('paths', template, method.toLowerCase(), 'responses', String(status)));
  return { response: node, at };
}

/** The documented path a concrete one is an instance of (`/internal/apps/{app_id}/api-key`), or the path itself. */
function templateOf(path: string): string {
  if (spec.paths[path]) return path;
  const segments = path.split('/');
  const template = Object.keys(spec.paths).find((candidate) => {
    const parts = candidate.split('/');
    return parts.length === segments.length && parts.every((part, index) => /^\{\w+\}$/.test(part) || part === segments[index]);
  });
  return template ?? path;
}

/** A response from `components.responses`. */
function named(name: string): { response: ResponseObject; at: string } {
  const at = pointer('components', 'responses', name);
  const response = spec.components.responses[name];
  if (!response) throw new Error(`${at} is not in the document`);
  return { response, at };
}

/** A stream never ends by itself: its text up to the end of its `connected` event, then it is closed. */
async function streamStart(response: Response): Promise<string> {
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let text = '';
  while (!/event: connected\n[^]*?\n\n/.test(text)) {
    const chunk = await reader.read();
    if (chunk.done) break;
    text += decoder.decode(chunk.value, { stream: true });
  }
  await reader.cancel();
  return text;
}

/** Checks a real response against the document; returns the parsed body for further assertions. */
async function conforms(t: ExecutionContext, method: string, url: string, response: Response): Promise<unknown> {
  const path = new URL(url).pathname;
  const found = documentedResponse(method, path, response.status, response.headers.get('allow'));
  if (typeof found === 'string') {
    t.fail(found);
    return undefined;
  }
  const { response: documented, at } = found;

  for (const [name, headerOrRef] of Object.entries(documented.headers ?? {})) {
    const { node: header, at: headerAt } = deref<HeaderObject>(
      headerOrRef,
      `${at}/headers/${name.replace(/~/g, '~0').replace(/\//g, '~1')}`,
    );
    const raw = response.headers.get(name);
    if (raw === null) {
      if (header.required) t.fail(`${method} ${path} ${response.status}: the documented header ${name} is missing`);
      continue;
    }
    const validate = validatorAt(`${headerAt}/schema`);
    const value = header.schema.type === 'integer' || typeof (header.schema as { const?: unknown }).const === 'number' ? Number(raw) : raw;
    if (!validate(value))
      t.fail(`${method} ${path} ${response.status}: header ${name}: ${JSON.stringify(raw)} ${ajv.errorsText(validate.errors)}`);
  }

  const text = (response.headers.get('content-type') ?? '').startsWith('text/event-stream')
    ? await streamStart(response)
    : await response.text();
  if (!documented.content) {
    t.is(text, '', `${method} ${path} ${response.status} is documented without a body`);
    return undefined;
  }
  const mediaType = (response.headers.get('content-type') ?? '').split(';')[0]?.trim() ?? '';
  if (!(mediaType in documented.content)) {
    t.fail(
      `${method} ${path} ${response.status}: ${mediaType || 'no content type'} is not documented (documented: ${Object.keys(documented.content).join(', ')})`,
    );
    return undefined;
  }
  const body: unknown = mediaType === 'application/json' ? JSON.parse(text) : text;
  const validate = validatorAt(`${at}/content/${mediaType.replace(/\//g, '~1')}/schema`);
  t.true(validate(body), `${method} ${path} ${response.status} ${mediaType}: ${ajv.errorsText(validate.errors)}\n${text.slice(0, 300)}`);
  return body;
}

// ── the servers ──────────────────────────────────────────────────────────────────────────────────

const tenants: Tenants = {
  ...TENANTS,
  'example.com-locked': { api_domain: 'example.com', queue: '9002@example.com', allowed_origins: ['https://www.example.com'] },
  'example.com-voice': { ...TENANTS['example.com-sms']!, voice_message: 'We are open <9 to 5> & closed on Sundays.' },
  'example.com-signed': { ...TENANTS['example.com-sms']!, webresponder_signed: true },
  'example.com-guarded': { api_domain: 'example.com', queue: '9002@example.com', require_turnstile: true },
  'shop-twilio': { provider: 'twilio', twilio: { numbers: ['+19295550100'], forward_to: '+18135550199', ring_seconds: 15 } },
};

/** A real Turnstile check; the rows that use it are refused before it would reach siteverify. */
const turnstile = createTurnstileCheck({
  secretKey: 'turnstile-secret',
  verifyUrl: 'http://127.0.0.1:9/siteverify',
  logger: createLogger('silent'),
});

/**
 * A store whose backend is down, for the 500s and 503s the file store gives only on a failing disk:
 * reads throw; writes report the lock as busy, or fail outright for ids starting with `broken`.
 */
const unavailableStore: TenantStore = {
  get: () => {
    throw new Error('store backend unreachable');
  },
  size: () => 0,
  ids: () => [],
  update: (id) => Promise.reject(id.startsWith('broken') ? new Error('disk full') : new TenantStoreBusyError('locked')),
  close: () => Promise.resolve(),
};

interface Server {
  url: string;
  harness: Harness;
  /** The app and database of a row with `database`. */
  api?: ApiServer;
  /** The Dialpad stand-in of a row with `dialpad`. */
  dialpad?: DialpadStandIn;
}

const databases = databaseFixture(test);

async function serve(
  t: ExecutionContext,
  options: HarnessOptions,
  store: 'file' | 'unavailable',
  database?: Row['database'],
  withDialpad?: boolean,
  ringcentral?: boolean,
): Promise<Server> {
  if (database) {
    const dialpad = withDialpad ? await startDialpadStandIn({ apiKey: 'dialpad-api-key-for-tests' }) : undefined;
    if (dialpad) t.teardown(() => dialpad.close());
    const api = await startApiServer(t, databases, 'postgres', {
      internalApiSecret: database === 'without secret' ? null : INTERNAL_SECRET,
      ...(dialpad ? { dialpad } : {}),
      ringcentral,
    });
    return { url: api.url, harness: api.harness, api, ...(dialpad ? { dialpad } : {}) };
  }
  const harness = await startHarness({ tenants, ...options });
  t.teardown(() => harness.close());
  if (store === 'file') return { url: harness.url, harness };
  const { url } = await serveForTest(t, createApp({ ...harness.deps, tenants: unavailableStore }).callback());
  return { url, harness };
}

const METRICS_TOKEN = 'openapi-metrics-token-0123456789abcdef';

// ── the requests ─────────────────────────────────────────────────────────────────────────────────

interface Row {
  method: string;
  /** Path and query. */
  path: string;
  /** The status this request must get (a list when either is right). */
  status: number | number[];
  headers?: Record<string, string>;
  body?: string | FormData;
  harness?: HarnessOptions;
  store?: 'file' | 'unavailable';
  /**
   * A migrated database of its own, and INTERNAL_API_SECRET set (`INTERNAL_SECRET`) or not. On the file's
   * throwaway PostgreSQL: a PGlite per row, all starting at once, blocked the event loop long enough for
   * the rows waiting on the NS sandbox to time out (and the file with them).
   */
  database?: 'with secret' | 'without secret';
  /** With `database`: Dialpad's settings (DIALPAD_API_KEY, DIALPAD_WEBHOOK_SECRET `DIALPAD_TEST_SECRET`) and a stand-in (`server.dialpad`). */
  dialpad?: boolean;
  /** With `database`: RingCentral settings pointing at a stand-in (`server.api.ringcentral`), PUBLIC_URL the server's own address. */
  ringcentral?: boolean;
  /** Run first, against the same server; may give more request headers. */
  before?: (server: Server) => Promise<Record<string, string> | void> | void;
  /** Headers that must be documented for this response and present on it. */
  documentedHeaders?: string[];
  /** More assertions on the parsed body. */
  then?: (t: ExecutionContext, body: unknown, server: Server) => unknown;
}

const asJson = (value: unknown): Pick<Row, 'headers' | 'body'> => ({
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(value),
});
const asForm = (fields: Record<string, string>, headers: Record<string, string> = {}): Pick<Row, 'headers' | 'body'> => ({
  headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
  body: new URLSearchParams(fields).toString(),
});
function asMultipart(fields: Record<string, string>): Pick<Row, 'body'> {
  const body = new FormData();
  for (const [name, value] of Object.entries(fields)) body.append(name, value);
  return { body };
}

const call = (phone_number: string, id = 'example.com-sales') => asJson({ id, phone_number });
async function callFirst(server: Server, phone_number: string): Promise<void> {
  await (await server.harness.post('/click-to-call', { id: 'example.com-sales', phone_number })).text();
}
const SMS_FORM = {
  secret: SECRET,
  id: 'acme.com-sms',
  api_domain: 'acme.com',
  user: '2000',
  ns_system_user: '8001',
  from_number: '(929) 555-0100',
  message: 'We are at 1 Main St.',
};
const APP_ID = '550e8400-e29b-41d4-a716-446655440000';
/** A JSON body (when given) and the internal secret (or `secret`). */
const admin = (body?: unknown, secret = INTERNAL_SECRET): Pick<Row, 'headers' | 'body'> => ({
  headers: { authorization: `Bearer ${secret}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
  ...(body === undefined ? {} : { body: JSON.stringify(body) }),
});
/** A compact HS256 JWT as Dialpad signs its events, made synchronously: the table is built before the tests are declared. */
function signHs256(payload: Record<string, unknown>, secret: string): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const input = `${part({ alg: 'HS256', typ: 'JWT' })}.${part(payload)}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}
// Dialpad: events signed with DIALPAD_WEBHOOK_SECRET (stored under a.com-x), and the stand-in's first webhook id.
const DIALPAD_SMS = signHs256(
  {
    id: 7001,
    created_date: Date.UTC(2026, 2, 1, 12),
    direction: 'inbound',
    from_number: '+14165551234',
    to_number: ['+18135550100'],
    text: 'Hi',
  },
  DIALPAD_TEST_SECRET,
);
const DIALPAD_VOICEMAIL = signHs256(
  {
    call_id: 6001,
    state: 'voicemail_uploaded',
    direction: 'inbound',
    external_number: '+14165551234',
    internal_number: '+18135550100',
    voicemail_link: 'https://dialpad.com/r/vm/1',
  },
  DIALPAD_TEST_SECRET,
);
/** The id the stand-in gives the first webhook it creates (its ids count up from there). */
const FIRST_DIALPAD_WEBHOOK = '5030715509751809';
const asJwt = (token: string): Pick<Row, 'headers' | 'body'> => ({ headers: { 'content-type': 'application/jwt' }, body: token });
/** The app `APP_ID`, reading a.com-x. */
async function dialpadApp({ api }: Server): Promise<void> {
  await api!.db.query("INSERT INTO apps (id, name, ids) VALUES ($1, 'CRM', ARRAY['a.com-x'])", [APP_ID]);
}
/** The app `APP_ID` and its webhook (`FIRST_DIALPAD_WEBHOOK`), with `secret` when given. */
async function dialpadWebhook(server: Server, secret?: string): Promise<void> {
  await dialpadApp(server);
  const response = await server.api!.internal(`/internal/webhooks/create?app_id=${APP_ID}`, secret ? { webhook_secret: secret } : {});
  if (response.status !== 201) throw new Error(`webhooks/create: ${response.status} ${await response.text()}`);
}
/** An app reading a.com-x, and an event delivered: the key's header. */
async function withDialpadEvent(server: Server, token: string): Promise<Record<string, string>> {
  const { key } = await server.api!.createApp({ name: 'CRM', ids: ['a.com-x'] });
  const delivered = await fetch(`${server.url}/webhooks/dialpad`, {
    method: 'POST',
    headers: { 'content-type': 'application/jwt' },
    body: token,
  });
  if (delivered.status !== 200) throw new Error(`webhooks/dialpad: ${delivered.status}`);
  // The answer waits up to 2 s for the event to be normalized, then leaves it to the background: on a
  // loaded machine the row may land just after it.
  const normalized = () =>
    server
      .api!.db.query("SELECT 1 FROM deliveries WHERE provider = 'dialpad' AND processed_at IS NULL")
      .then(({ rowCount }) => rowCount === 0);
  if (!(await eventually(normalized, 20_000))) throw new Error('webhooks/dialpad: the event was not normalized within 20 s');
  return { 'x-app-api-key': key };
}
/** An app seeing example.com-sales, two of its calls (ringing, answered, one with a customer) and one of another id: the key's header. */
async function withCalls({ api }: Server): Promise<Record<string, string>> {
  const { key } = await api!.createApp({ name: 'CRM', ids: ['example.com-sales'] });
  const { rows } = await api!.db.query<{ id: number }>(
    `INSERT INTO customers (tenant, external_id, name, email, phone_e164, url)
     VALUES ('example.com-sales', 'crm-42', 'Sarah Customer', 'sarah@example.com', '+14165551234', 'https://crm.example.com/42') RETURNING id`,
  );
  await insertCall(api!.db, { tenant: 'example.com-sales', customer_id: rows[0]!.id });
  await insertCall(api!.db, { tenant: 'example.com-sales', state: 'answered', from_number: '1001' });
  await insertCall(api!.db, { tenant: 'example.com-sms' });
  return { 'x-app-api-key': key };
}
/** The token of example.com-sales's NetSapiens subscription in the webhook rows, and the URL carrying it. */
const WEBHOOK_TOKEN = 'openapi-webhook-token-0123456789abcdefghijk';
const WEBHOOK = `/webhooks/netsapiens?id=example.com-sales&token=${WEBHOOK_TOKEN}`;
/** Subscribes example.com-sales to NetSapiens deliveries with `WEBHOOK_TOKEN`. */
async function subscribed({ api }: Server): Promise<void> {
  await api!.db.query(
    `INSERT INTO subscriptions (tenant, provider, provider_subscription_id, secret_hash, status)
     VALUES ('example.com-sales', 'netsapiens', 'sub-1', $1, 'active')`,
    [createHash('sha256').update(WEBHOOK_TOKEN).digest('hex')],
  );
}
/** The verification token of example.com-sales's RingCentral subscription in the webhook rows. */
const RC_TOKEN = 'openapi-ringcentral-token-0123456789abcdefgh';
const RC_WEBHOOK = '/webhooks/ringcentral?id=example.com-sales';
/** A detailed-presence notification of one ringing call. */
const RC_NOTIFICATION = {
  uuid: 'openapi-notification-1',
  event: '/restapi/v1.0/account/~/extension/101/presence?detailedTelephonyState=true',
  timestamp: '2026-01-05T10:00:00.000Z',
  subscriptionId: 'rc-sub-1',
  ownerId: '101',
  body: {
    telephonyStatus: 'Ringing',
    activeCalls: [
      {
        id: 'c1',
        direction: 'Inbound',
        from: '+14165551234',
        fromName: 'Sarah Customer',
        to: '+15879876543',
        telephonyStatus: 'Ringing',
        telephonySessionId: 's-openapi-1',
      },
    ],
  },
};
/** Subscribes example.com-sales to RingCentral notifications with `RC_TOKEN`. */
async function ringcentralSubscribed({ api }: Server): Promise<void> {
  await api!.db.query(
    `INSERT INTO subscriptions (tenant, provider, provider_subscription_id, secret_hash, status)
     VALUES ('example.com-sales', 'ringcentral', 'rc-sub-1', $1, 'active')`,
    [createHash('sha256').update(RC_TOKEN).digest('hex')],
  );
}
/** Stream tokens for the call-stream rows' paths, one per row (rows run at once); set by `before`. */
const streamTokens: Record<string, string> = {};
function withStreamToken(row: string): Row['before'] {
  return async ({ api }) => {
    const { key } = await api!.createApp({ name: 'Popup', ids: ['example.com-sales'] });
    const response = await fetch(`${api!.url}/api/stream-tokens`, { method: 'POST', headers: { 'x-app-api-key': key } });
    streamTokens[row] = ((await response.json()) as { token: string }).token;
  };
}
/** A call record as a NetSapiens `call` subscription posts it (the fields Beckon reads). */
const CALL_RECORD = {
  orig_callid: 'a1b2c3d4@192.0.2.10',
  orig_from_uri: 'sip:18135551234@192.0.2.10',
  orig_from_name: 'ADA LOVELACE',
  orig_to_user: '19295550100',
  orig_user: '',
  term_user: '2000',
  term_call_info: 'alerting',
  time_start: '2026-11-25 20:15:00',
  time_answer: '0000-00-00 00:00:00',
};
const version = loadWidgetBundle()?.version ?? 'unbuilt';
/** A Twilio webhook's form, signed as Twilio signs it: over the harness's PUBLIC_URL (`http://beckon.test`) and this path. */
const signedForm = (path: string, fields: Record<string, string>) =>
  asForm(fields, { 'x-twilio-signature': signTwilioRequest(TWILIO_AUTH_TOKEN, `http://beckon.test${path}`, fields) });
const CALL_SID = `CA${'0123456789abcdef'.repeat(2)}`;
/** A call to shop-twilio's number, as Twilio posts it. */
const TWILIO_CALL = {
  CallSid: CALL_SID,
  AccountSid: `AC${'a1'.repeat(16)}`,
  From: '+18135551234',
  To: '+19295550100',
  CallStatus: 'ringing',
};
const DIAL_STATUS = `/webhooks/twilio/call/status/${CALL_SID}`;
/** A Twilio click-to-call's status callback URL, as Beckon gives it to Twilio. */
const CALL_PROGRESS = `${DIAL_STATUS_PATH}?id=shop-twilio`;

/** A time `POST /click-to-call` can book on ids without hours: two days on, on a quarter hour. */
const BOOKABLE_AT = new Date(Math.ceil((Date.now() + 2 * 86_400_000) / 900_000) * 900_000).toISOString().replace('.000Z', 'Z');
/** Bookings made by the callback rows' `before`, by row (rows run at once). */
const bookings: Record<string, { callback_id: string; cancel_token: string; status_token: string }> = {};
/** Books a callback for `row` on the row's database server; with `status`, sets it as the worker would have. */
function withBooking(row: string, options: { cancel?: boolean; status?: string } = {}): Row['before'] {
  return async ({ api }) => {
    const response = await fetch(`${api!.url}/click-to-call`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id: 'example.com-sales', phone_number: '8135551234', scheduled_at: BOOKABLE_AT }),
    });
    const booked = (await response.json()) as { callback_id: string; cancel_token: string; status_token: string };
    bookings[row] = booked;
    if (options.cancel) {
      await (await fetch(`${api!.url}/click-to-call/${booked.callback_id}?token=${booked.cancel_token}`, { method: 'DELETE' })).text();
    }
    if (options.status) await api!.db.query('UPDATE callbacks SET status = $2 WHERE id = $1', [booked.callback_id, options.status]);
  };
}
const booking = (row: string) =>
  bookings[row] ?? { callback_id: '00000000-0000-4000-8000-000000000000', cancel_token: '', status_token: '' };

const rows: Record<string, Row> = {
  // POST /click-to-call and its preflight
  'click-to-call: CORS preflight': {
    method: 'OPTIONS',
    path: '/click-to-call',
    status: 204,
    headers: { origin: 'https://shop.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
  },
  'click-to-call: OPTIONS that is not a preflight': { method: 'OPTIONS', path: '/click-to-call', status: 200 },
  'click-to-call: a call is placed': {
    method: 'POST',
    path: '/click-to-call',
    status: 200,
    ...call('(813) 555-1234'),
    headers: { 'content-type': 'application/json', origin: 'https://shop.example', 'x-request-id': 'openapi-test-0001' },
    then: (t, body, { harness }) => {
      t.deepEqual(body, { status: 'ok' });
      t.is(harness.sandbox.calls.length, 1);
    },
  },
  'click-to-call: the older "domain" key': {
    method: 'POST',
    path: '/click-to-call',
    status: 200,
    ...asJson({ domain: 'example.com-sales', phone_number: '8135551234' }),
  },
  'click-to-call: malformed JSON': {
    method: 'POST',
    path: '/click-to-call',
    status: 400,
    headers: { 'content-type': 'application/json' },
    body: '{"id": ',
  },
  'click-to-call: an object where a string belongs': {
    method: 'POST',
    path: '/click-to-call',
    status: 400,
    ...asJson({ id: { $ne: 1 }, phone_number: '8135551234' }),
  },
  'click-to-call: an invalid number': { method: 'POST', path: '/click-to-call', status: 400, ...call('555-1234') },
  'click-to-call: a premium number': { method: 'POST', path: '/click-to-call', status: 400, ...call('900-555-1234') },
  'click-to-call: a country the id does not allow': { method: 'POST', path: '/click-to-call', status: 400, ...call('+44 20 7946 0958') },
  'click-to-call: an origin the id does not allow': {
    method: 'POST',
    path: '/click-to-call',
    status: 403,
    ...call('8135551234', 'example.com-locked'),
    headers: { 'content-type': 'application/json', origin: 'https://evil.example' },
  },
  'click-to-call: an unknown id': { method: 'POST', path: '/click-to-call', status: 404, ...call('8135551234', 'nobody.net-sales') },
  'click-to-call: an id without a queue': { method: 'POST', path: '/click-to-call', status: 404, ...call('8135551234', 'example.com-sms') },
  'click-to-call: a body over 4 KB': { method: 'POST', path: '/click-to-call', status: 413, ...call('x'.repeat(5_000)) },
  'click-to-call: a form body': {
    method: 'POST',
    path: '/click-to-call',
    status: 415,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: 'id=example.com-sales&phone_number=8135551234',
  },
  'click-to-call: the per-address limit': {
    method: 'POST',
    path: '/click-to-call',
    status: 429,
    ...call('8135550002'),
    harness: { limits: { ipPerMinute: 1 } },
    before: (server) => callFirst(server, '8135550001'),
    documentedHeaders: ['Retry-After'],
  },
  'click-to-call: the per-number limit': {
    method: 'POST',
    path: '/click-to-call',
    status: 429,
    ...call('8135550001'),
    harness: { limits: { numberPerHour: 1 } },
    before: (server) => callFirst(server, '+1 813 555 0001'),
    documentedHeaders: ['Retry-After'],
  },
  'click-to-call: a visitor trying one distinct number too many': {
    method: 'POST',
    path: '/click-to-call',
    status: 429,
    ...call('8135550002'),
    harness: { limits: { numbersPerVisitorPerHour: 1 } },
    before: (server) => callFirst(server, '8135550001'),
    documentedHeaders: ['Retry-After'],
  },
  'click-to-call: Turnstile required, no token': {
    method: 'POST',
    path: '/click-to-call',
    status: 403,
    ...call('8135551234', 'example.com-guarded'),
    harness: { botCheck: turnstile },
  },
  'click-to-call: Turnstile required, none configured': {
    method: 'POST',
    path: '/click-to-call',
    status: 503,
    ...call('8135551234', 'example.com-guarded'),
  },
  'click-to-call: NetSapiens fails': {
    method: 'POST',
    path: '/click-to-call',
    status: 502,
    ...call('8135551234'),
    before: ({ harness }) => harness.sandbox.inject({ route: 'queuedcall.create', status: 503 }),
  },
  'click-to-call: a Twilio id rings the business first': {
    method: 'POST',
    path: '/click-to-call',
    status: 200,
    ...call('8135551234', 'shop-twilio'),
    harness: { twilio: true },
    then: (t, body, { harness }) => {
      t.deepEqual(body, { status: 'ok' });
      t.like(harness.twilio!.calls, [{ to: '+18135550199', from: '+19295550100' }]);
      t.is(harness.sandbox.calls.length, 0);
    },
  },
  'click-to-call: Twilio fails': {
    method: 'POST',
    path: '/click-to-call',
    status: 502,
    ...call('8135551234', 'shop-twilio'),
    harness: { twilio: true },
    before: ({ harness }) => harness.twilio!.inject({ route: 'calls', status: 503 }),
  },
  'click-to-call: a Twilio id, no Twilio settings': {
    method: 'POST',
    path: '/click-to-call',
    status: 503,
    ...call('8135551234', 'shop-twilio'),
  },
  'click-to-call: outside opening hours': {
    method: 'POST',
    path: '/click-to-call',
    status: 409,
    ...call('8135551234', 'example.com-closed'),
    harness: {
      tenants: {
        ...tenants,
        'example.com-closed': { api_domain: 'example.com', queue: '9002', hours: { timezone: 'America/New_York', weekly: {} } },
      },
    },
    then: (t, body, { harness }) => {
      t.like(body, { code: 'closed', next_open: null });
      t.is(harness.sandbox.calls.length, 0);
    },
  },
  'click-to-call: the store cannot be read': {
    method: 'POST',
    path: '/click-to-call',
    status: 500,
    ...call('8135551234'),
    store: 'unavailable',
  },
  'click-to-call: GET': { method: 'GET', path: '/click-to-call', status: 405, documentedHeaders: ['Allow'] },
  'click-to-call: a call placed is recorded for its live status': {
    method: 'POST',
    path: '/click-to-call',
    status: 200,
    database: 'with secret',
    ...call('8135551234'),
    then: (t, body) => t.like(body, { status: 'ok' }),
  },
  'click-to-call: a callback booked': {
    method: 'POST',
    path: '/click-to-call',
    status: 202,
    database: 'with secret',
    ...asJson({ id: 'example.com-sales', phone_number: '8135551234', scheduled_at: BOOKABLE_AT }),
    then: (t, body) => t.like(body, { status: 'scheduled', scheduled_at: BOOKABLE_AT }),
  },
  'click-to-call: a booking at a time that cannot be booked': {
    method: 'POST',
    path: '/click-to-call',
    status: 400,
    database: 'with secret',
    ...asJson({ id: 'example.com-sales', phone_number: '8135551234', scheduled_at: '2026-01-01T10:00:00' }),
    then: (t, body) => t.like(body, { code: 'invalid_schedule' }),
  },
  'click-to-call: a second booking for one number': {
    method: 'POST',
    path: '/click-to-call',
    status: 409,
    database: 'with secret',
    ...asJson({ id: 'example.com-sales', phone_number: '8135551234', scheduled_at: BOOKABLE_AT }),
    before: withBooking('second'),
    then: (t, body) => t.like(body, { code: 'already_booked' }),
  },
  'click-to-call: a booking where the server keeps no database': {
    method: 'POST',
    path: '/click-to-call',
    status: 409,
    ...asJson({ id: 'example.com-sales', phone_number: '8135551234', scheduled_at: BOOKABLE_AT }),
    then: (t, body) => t.like(body, { code: 'scheduling_disabled' }),
  },

  // Callback slots, cancelling and live status (docs/callbacks.md)
  'slots: an id': {
    method: 'GET',
    path: '/click-to-call/slots?id=example.com-sales',
    status: 200,
    database: 'with secret',
    documentedHeaders: ['Cache-Control', 'Access-Control-Allow-Origin'],
    then: (t, body) => t.is((body as { slots: string[] }).slots.length, 96),
  },
  'slots: a from that is no time': {
    method: 'GET',
    path: '/click-to-call/slots?id=example.com-sales&from=soon',
    status: 400,
    database: 'with secret',
  },
  'slots: an unknown id': { method: 'GET', path: '/click-to-call/slots?id=nobody.net-sales', status: 404 },
  'slots: no database, no bookings': { method: 'GET', path: '/click-to-call/slots?id=example.com-sales', status: 409 },
  'slots: the store cannot be read': {
    method: 'GET',
    path: '/click-to-call/slots?id=example.com-sales',
    status: 500,
    store: 'unavailable',
  },
  'cancel: CORS preflight': {
    method: 'OPTIONS',
    path: '/click-to-call/00000000-0000-4000-8000-000000000000',
    status: 204,
    database: 'with secret',
    headers: { origin: 'https://shop.example', 'access-control-request-method': 'DELETE' },
  },
  'cancel: a booking': {
    method: 'DELETE',
    get path() {
      const { callback_id, cancel_token } = booking('cancel');
      return `/click-to-call/${callback_id}?token=${cancel_token}`;
    },
    status: 200,
    database: 'with secret',
    before: withBooking('cancel'),
    then: (t, body) => t.like(body, { status: 'cancelled' }),
  },
  'cancel: a wrong token': {
    method: 'DELETE',
    get path() {
      return `/click-to-call/${booking('wrongCancel').callback_id}?token=wrong`;
    },
    status: 404,
    database: 'with secret',
    before: withBooking('wrongCancel'),
  },
  'cancel: a booking placed already': {
    method: 'DELETE',
    get path() {
      const { callback_id, cancel_token } = booking('placed');
      return `/click-to-call/${callback_id}?token=${cancel_token}`;
    },
    status: 409,
    database: 'with secret',
    before: withBooking('placed', { status: 'queued' }),
  },
  'callback status: a stream to its final status': {
    method: 'GET',
    get path() {
      const { callback_id, status_token } = booking('stream');
      return `/click-to-call/${callback_id}/events?token=${status_token}&last_event_id=0`;
    },
    status: 200,
    database: 'with secret',
    before: withBooking('stream', { cancel: true }),
    documentedHeaders: ['X-Accel-Buffering', 'Access-Control-Allow-Origin', 'Cache-Control'],
    then: (t, body) => t.regex(String(body), /event: status\ndata: \{"status":"scheduled".*event: status\ndata: \{"status":"cancelled"/s),
  },
  'callback status: Last-Event-ID not an event id': {
    method: 'GET',
    get path() {
      const { callback_id, status_token } = booking('badResume');
      return `/click-to-call/${callback_id}/events?token=${status_token}`;
    },
    status: 400,
    database: 'with secret',
    headers: { 'last-event-id': 'latest' },
    before: withBooking('badResume'),
  },
  'callback status: a wrong token': {
    method: 'GET',
    get path() {
      return `/click-to-call/${booking('wrongStatus').callback_id}/events?token=wrong`;
    },
    status: 401,
    database: 'with secret',
    before: withBooking('wrongStatus'),
  },
  'callback status: an unknown callback': {
    method: 'GET',
    path: '/click-to-call/00000000-0000-4000-8000-000000000000/events?token=any',
    status: 404,
    database: 'with secret',
  },

  // The widget
  'widget.js: an id': { method: 'GET', path: '/widget.js?id=example.com-sales', status: 200 },
  'widget.js: the older ?domain=': { method: 'GET', path: '/widget.js?domain=example.com-sales', status: 200 },
  'widget.js: an unknown id': { method: 'GET', path: '/widget.js?id=nobody.net-sales', status: 404 },
  'widget.js: the store cannot be read': { method: 'GET', path: '/widget.js?id=example.com-sales', status: 500, store: 'unavailable' },
  'widget.js: DELETE': { method: 'DELETE', path: '/widget.js', status: 405 },
  'widget-config: an id': {
    method: 'GET',
    path: '/widget-config?id=example.com-sales',
    status: 200,
    then: (t, body) =>
      t.deepEqual(body, {
        id: 'example.com-sales',
        buttonText: 'Call us',
        buttonColor: '#ff9900',
        companyName: 'Example Co',
        scheduling: false,
      }),
  },
  'widget-config: an id with opening hours': {
    method: 'GET',
    path: '/widget-config?id=example.com-closed',
    status: 200,
    harness: {
      tenants: {
        ...tenants,
        'example.com-closed': { api_domain: 'example.com', queue: '9002', hours: { timezone: 'Europe/London', weekly: {} } },
      },
    },
    then: (t, body) =>
      t.deepEqual(body, { id: 'example.com-closed', open: false, next_open: null, timezone: 'Europe/London', scheduling: false }),
  },
  'widget-config: an id with allowed_countries': {
    method: 'GET',
    path: '/widget-config?id=example.com-abroad',
    status: 200,
    harness: {
      tenants: { ...tenants, 'example.com-abroad': { api_domain: 'example.com', queue: '9002', allowed_countries: ['FR', 'BE'] } },
    },
    then: (t, body) =>
      t.deepEqual(body, {
        id: 'example.com-abroad',
        scheduling: false,
        countries: [
          { code: 'FR', calling_code: '33', example: '06 12 34 56 78', lengths: [9] },
          { code: 'BE', calling_code: '32', example: '0450 00 12 34', lengths: [8, 9] },
        ],
      }),
  },
  'widget-config: an unknown id': { method: 'GET', path: '/widget-config?id=nobody.net-sales', status: 404 },
  'widget-config: the store cannot be read': {
    method: 'GET',
    path: '/widget-config?id=example.com-sales',
    status: 500,
    store: 'unavailable',
  },
  'bundle: ES module': { method: 'GET', path: '/widget/call-us-button.js', status: 200 },
  'bundle: classic script under its version': { method: 'GET', path: `/widget/call-us-button.iife.js?v=${version}`, status: 200 },
  'bundle: revalidation': {
    method: 'GET',
    path: '/widget/call-us-button.js',
    status: 304,
    before: async ({ url }) => {
      const first = await fetch(`${url}/widget/call-us-button.js`);
      await first.arrayBuffer();
      // As a browser revalidates: fetch() would otherwise add `Cache-Control: no-cache` to a conditional request.
      return { 'if-none-match': first.headers.get('etag') ?? '', 'cache-control': 'max-age=0' };
    },
  },
  'bundle: POST': { method: 'POST', path: '/widget/call-us-button.iife.js', status: 405 },
  'popup bundle: ES module': { method: 'GET', path: '/widget/call-popup.js', status: 200 },
  'popup bundle: revalidation': {
    method: 'GET',
    path: '/widget/call-popup.js',
    status: 304,
    before: async ({ url }) => {
      const first = await fetch(`${url}/widget/call-popup.js`);
      await first.arrayBuffer();
      return { 'if-none-match': first.headers.get('etag') ?? '', 'cache-control': 'max-age=0' };
    },
  },
  'popup bundle: POST': { method: 'POST', path: '/widget/call-popup.js', status: 405 },
  'source map: ES module': { method: 'GET', path: '/widget/call-us-button.js.map', status: 200 },
  'source map: classic script under its version': { method: 'GET', path: `/widget/call-us-button.iife.js.map?v=${version}`, status: 200 },
  'source map: revalidation': {
    method: 'GET',
    path: '/widget/call-popup.js.map',
    status: 304,
    before: async ({ url }) => {
      const first = await fetch(`${url}/widget/call-popup.js.map`);
      await first.arrayBuffer();
      return { 'if-none-match': first.headers.get('etag') ?? '', 'cache-control': 'max-age=0' };
    },
  },
  'source map: the popup bundle': { method: 'GET', path: '/widget/call-popup.js.map', status: 200 },

  // GET|POST /webresponder
  'webresponder: GET from NetSapiens': {
    method: 'GET',
    path: '/webresponder?id=example.com-sms&NmsAni=8135551234&NmsDnis=19295550100&AccountDomain=example.com',
    status: 200,
  },
  'webresponder: a voice message': {
    method: 'GET',
    path: '/webresponder?id=example.com-voice&NmsAni=8135551234',
    status: 200,
    then: (t, body) => t.regex(String(body), /<Say>We are open &lt;9 to 5&gt; &amp; closed on Sundays\.<\/Say><Hangup\/>/),
  },
  'webresponder: an unknown id': { method: 'GET', path: '/webresponder?id=nobody.net-sms&NmsAni=8135551234', status: 200 },
  'webresponder: no id': { method: 'GET', path: '/webresponder?NmsAni=8135551234', status: 400 },
  'webresponder: the store cannot be read': { method: 'GET', path: '/webresponder?id=example.com-sms', status: 500, store: 'unavailable' },
  'webresponder: POST form': {
    method: 'POST',
    path: '/webresponder?id=example.com-sms',
    status: 200,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: 'NmsAni=%2B18135550001&AccountUser=8001',
  },
  'webresponder: POST JSON with the id in the body': {
    method: 'POST',
    path: '/webresponder',
    status: 200,
    ...asJson({ id: 'example.com-sms', NmsAni: '18135550002' }),
  },
  'webresponder: POST multipart': {
    method: 'POST',
    path: '/webresponder?id=example.com-sms',
    status: 200,
    ...asMultipart({ NmsAni: '18135550003' }),
  },
  'webresponder: POST malformed JSON': {
    method: 'POST',
    path: '/webresponder?id=example.com-sms',
    status: 400,
    headers: { 'content-type': 'application/json' },
    body: '{',
  },
  'webresponder: POST over 16 KB': {
    method: 'POST',
    path: '/webresponder?id=example.com-sms',
    status: 413,
    ...asJson({ NmsAni: 'x'.repeat(17_000) }),
  },
  'webresponder: POST text/plain (body ignored, the query decides)': {
    method: 'POST',
    path: '/webresponder?id=example.com-sms&NmsAni=18135550004',
    status: 200,
    headers: { 'content-type': 'text/plain' },
    body: 'NmsAni=1',
  },
  'webresponder: POST with the store down': {
    method: 'POST',
    path: '/webresponder?id=example.com-sms',
    status: 500,
    store: 'unavailable',
    ...asJson({ NmsAni: '18135550002' }),
  },
  'webresponder: a signed id without its sig': {
    method: 'GET',
    path: '/webresponder?id=example.com-signed&NmsAni=8135551234',
    status: 403,
  },
  'webresponder: POST for a signed id with a wrong sig': {
    method: 'POST',
    path: '/webresponder?id=example.com-signed&sig=forged',
    status: 403,
    ...asForm({ NmsAni: '8135551234' }),
  },
  'webresponder: the per-address limit': {
    method: 'GET',
    path: '/webresponder?id=example.com-sms&NmsAni=8135551234',
    status: 429,
    harness: { limits: { webresponderPerMinute: 1 } },
    before: async ({ url }) =>
      void (await fetch(`${url}/webresponder?id=example.com-sms&NmsAni=8135550001`).then((response) => response.text())),
  },
  'webresponder: POST over the per-address limit': {
    method: 'POST',
    path: '/webresponder?id=example.com-sms',
    status: 429,
    harness: { limits: { webresponderPerMinute: 1 } },
    ...asForm({ NmsAni: '8135551234' }),
    before: async ({ url }) =>
      void (await fetch(`${url}/webresponder?id=example.com-sms&NmsAni=8135550001`).then((response) => response.text())),
  },
  'webresponder: PUT': { method: 'PUT', path: '/webresponder', status: 405 },

  // The forms
  'update-domain: Zoho form-urlencoded': {
    method: 'POST',
    path: '/update-domain',
    status: 200,
    ...asForm({
      secret: SECRET,
      id: 'shop.net-sales',
      api_domain: 'shop.net',
      queue: '500',
      button_text: 'Ring me',
      button_color: '#112233',
      company_name: 'Shop',
      logo_url: '',
    }),
    then: (t, body) => t.deepEqual(body, { status: 'ok', id: 'shop.net-sales' }),
  },
  'update-domain: multipart': {
    method: 'POST',
    path: '/update-domain',
    status: 200,
    ...asMultipart({ secret: SECRET, id: 'example.com-sales', button_color: '#abcdef' }),
  },
  'update-domain: JSON, secret as a header': {
    method: 'POST',
    path: '/update-domain',
    status: 200,
    ...asJson({ id: 'example.com-sales', company_name: 'JSON Co' }),
    headers: { 'content-type': 'application/json', 'x-update-secret': SECRET },
  },
  'update-domain: a wrong secret': {
    method: 'POST',
    path: '/update-domain',
    status: 401,
    ...asForm({ id: 'example.com-sales' }, { 'x-update-secret': 'wrong' }),
  },
  'update-domain: no secret': { method: 'POST', path: '/update-domain', status: 401, ...asForm({ id: 'example.com-sales' }) },
  'update-domain: an invalid field': {
    method: 'POST',
    path: '/update-domain',
    status: 400,
    ...asForm({ secret: SECRET, id: 'example.com-sales', button_color: 'red' }),
  },
  'update-domain: a new id without api_domain': {
    method: 'POST',
    path: '/update-domain',
    status: 400,
    ...asForm({ secret: SECRET, id: 'new.com-x', queue: '500' }),
  },
  'update-domain: a body over 64 KB': {
    method: 'POST',
    path: '/update-domain',
    status: 413,
    ...asForm({ secret: SECRET, id: 'example.com-sales', company_name: 'x'.repeat(70_000) }),
  },
  'update-domain: text/plain': {
    method: 'POST',
    path: '/update-domain',
    status: 415,
    headers: { 'content-type': 'text/plain' },
    body: 'id=x',
  },
  'update-domain: the file is locked': {
    method: 'POST',
    path: '/update-domain',
    status: 503,
    store: 'unavailable',
    documentedHeaders: ['Retry-After'],
    ...asForm({ secret: SECRET, id: 'example.com-sales', company_name: 'Busy' }),
  },
  'update-domain: the write fails': {
    method: 'POST',
    path: '/update-domain',
    status: 500,
    store: 'unavailable',
    ...asForm({ secret: SECRET, id: 'broken.com-x', api_domain: 'broken.com' }),
  },
  'update-domain: GET': { method: 'GET', path: '/update-domain', status: 405 },
  'update-sms: provisions NetSapiens': {
    method: 'POST',
    path: '/update-sms',
    status: 200,
    ...asForm(SMS_FORM),
    then: (t, body) =>
      t.deepEqual(body, {
        status: 'ok',
        id: 'acme.com-sms',
        provisioning: { user: 'created', dial_rule: 'created', answer_rule: 'updated' },
      }),
  },
  'update-sms: a provisioning step fails': {
    method: 'POST',
    path: '/update-sms',
    status: 200,
    ...asForm(SMS_FORM),
    before: ({ harness }) => harness.sandbox.inject({ route: 'dialrules.create', status: 403 }),
    then: (t, body) => {
      t.like(body, { provisioning: { user: 'created', dial_rule: 'failed', answer_rule: 'updated' } });
      t.regex((body as { provisioning_errors: { dial_rule: string } }).provisioning_errors.dial_rule, /403/);
    },
  },
  'update-sms: an empty ns_system_user': {
    method: 'POST',
    path: '/update-sms',
    status: 400,
    ...asForm({ ...SMS_FORM, ns_system_user: '', id: 'new.com-sms' }),
  },
  'update-sms: a wrong secret': { method: 'POST', path: '/update-sms', status: 401, ...asForm({ ...SMS_FORM, secret: 'nope' }) },
  'update-sms: a body over 64 KB': {
    method: 'POST',
    path: '/update-sms',
    status: 413,
    ...asJson({ ...SMS_FORM, message: 'x'.repeat(70_000) }),
  },
  'update-sms: text/plain': { method: 'POST', path: '/update-sms', status: 415, headers: { 'content-type': 'text/plain' }, body: 'id=x' },
  'update-sms: the file is locked': {
    method: 'POST',
    path: '/update-sms',
    status: 503,
    store: 'unavailable',
    documentedHeaders: ['Retry-After'],
    ...asForm(SMS_FORM),
  },
  'update-sms: the write fails': {
    method: 'POST',
    path: '/update-sms',
    status: 500,
    store: 'unavailable',
    ...asForm({ ...SMS_FORM, id: 'broken.com-sms' }),
  },
  'update-sms: DELETE': { method: 'DELETE', path: '/update-sms', status: 405 },

  // Apps and their keys (/internal/*), and reading calls (/api/*): with a database
  'internal apps: created': {
    method: 'POST',
    path: '/internal/apps',
    status: 201,
    database: 'with secret',
    ...admin({ name: 'CRM sync', ids: ['example.com-sales'] }),
  },
  'internal apps: every id': { method: 'POST', path: '/internal/apps', status: 201, database: 'with secret', ...admin({ name: 'All' }) },
  'internal apps: no name': { method: 'POST', path: '/internal/apps', status: 400, database: 'with secret', ...admin({ ids: [] }) },
  'internal apps: an id not configured': {
    method: 'POST',
    path: '/internal/apps',
    status: 400,
    database: 'with secret',
    ...admin({ name: 'CRM', ids: ['nobody.net-sales'] }),
  },
  'internal apps: a wrong secret': {
    method: 'POST',
    path: '/internal/apps',
    status: 401,
    database: 'with secret',
    ...admin({ name: 'CRM' }, 'not-the-internal-secret-0123456789abcdef'),
    documentedHeaders: ['WWW-Authenticate'],
  },
  'internal apps: INTERNAL_API_SECRET unset': {
    method: 'POST',
    path: '/internal/apps',
    status: 404,
    database: 'without secret',
    ...admin({ name: 'CRM' }),
  },
  'internal apps: a body over 16 KB': {
    method: 'POST',
    path: '/internal/apps',
    status: 413,
    database: 'with secret',
    ...admin({ name: 'x'.repeat(17_000) }),
  },
  'internal apps: a form body': {
    method: 'POST',
    path: '/internal/apps',
    status: 415,
    database: 'with secret',
    headers: { authorization: `Bearer ${INTERNAL_SECRET}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: 'name=CRM',
  },
  'internal apps: the database is down': {
    method: 'POST',
    path: '/internal/apps',
    status: 503,
    database: 'with secret',
    ...admin({ name: 'CRM' }),
    before: ({ api }) => api!.db.close(),
    documentedHeaders: ['Retry-After'],
  },
  'api key: rotated': {
    method: 'POST',
    path: `/internal/apps/${APP_ID}/api-key`,
    status: 200,
    database: 'with secret',
    ...admin(),
    before: async ({ api }) => void (await api!.db.query("INSERT INTO apps (id, name) VALUES ($1, 'CRM')", [APP_ID])),
  },
  'api key: an app id that is not a UUID': {
    method: 'POST',
    path: '/internal/apps/550e8400/api-key',
    status: 400,
    database: 'with secret',
    ...admin(),
  },
  'api key: no secret': {
    method: 'POST',
    path: `/internal/apps/${APP_ID}/api-key`,
    status: 401,
    database: 'with secret',
    documentedHeaders: ['WWW-Authenticate'],
  },
  'api key: an unknown app': { method: 'POST', path: `/internal/apps/${APP_ID}/api-key`, status: 404, database: 'with secret', ...admin() },
  'api key: the database is down': {
    method: 'POST',
    path: `/internal/apps/${APP_ID}/api-key`,
    status: 503,
    database: 'with secret',
    ...admin(),
    before: ({ api }) => api!.db.close(),
  },
  'apps: listed': {
    method: 'GET',
    path: '/internal/apps',
    status: 200,
    database: 'with secret',
    ...admin(),
    before: async ({ api }) => void (await api!.createApp({ name: 'CRM', ids: ['example.com-sales'] })),
    documentedHeaders: ['Cache-Control'],
    then: (t, body) => t.like((body as { apps: unknown[] }).apps[0], { name: 'CRM', ids: ['example.com-sales'] }),
  },
  'apps: listed without the secret': {
    method: 'GET',
    path: '/internal/apps',
    status: 401,
    database: 'with secret',
    documentedHeaders: ['WWW-Authenticate'],
  },
  'apps: listed, INTERNAL_API_SECRET unset': { method: 'GET', path: '/internal/apps', status: 404, database: 'without secret', ...admin() },
  'apps: listed while the database is down': {
    method: 'GET',
    path: '/internal/apps',
    status: 503,
    database: 'with secret',
    ...admin(),
    before: ({ api }) => api!.db.close(),
  },
  'app deleted': {
    method: 'DELETE',
    path: `/internal/apps/${APP_ID}`,
    status: 200,
    database: 'with secret',
    ...admin(),
    before: async ({ api }) => void (await api!.db.query("INSERT INTO apps (id, name) VALUES ($1, 'CRM')", [APP_ID])),
  },
  'app deleted: not a UUID': { method: 'DELETE', path: '/internal/apps/550e8400', status: 400, database: 'with secret', ...admin() },
  'app deleted: no secret': {
    method: 'DELETE',
    path: `/internal/apps/${APP_ID}`,
    status: 401,
    database: 'with secret',
    documentedHeaders: ['WWW-Authenticate'],
  },
  'app deleted: an unknown app': { method: 'DELETE', path: `/internal/apps/${APP_ID}`, status: 404, database: 'with secret', ...admin() },
  'app deleted: the database is down': {
    method: 'DELETE',
    path: `/internal/apps/${APP_ID}`,
    status: 503,
    database: 'with secret',
    ...admin(),
    before: ({ api }) => api!.db.close(),
  },
  'customers: stored': {
    method: 'POST',
    path: '/internal/customers',
    status: 200,
    database: 'with secret',
    ...admin({ id: 'example.com-sales', customers: [{ external_id: 'crm-42', name: 'Ada Lovelace', phone: '(813) 555-1234' }] }),
    then: (t, body) => t.deepEqual(body, { status: 'ok', upserted: 1, created: 1, updated: 0, unchanged: 0 }),
  },
  'customers: an invalid customer': {
    method: 'POST',
    path: '/internal/customers',
    status: 400,
    database: 'with secret',
    ...admin({ id: 'example.com-sales', customers: [{ external_id: 'crm-42', email: 'not-an-email' }] }),
  },
  'customers: a wrong secret': {
    method: 'POST',
    path: '/internal/customers',
    status: 401,
    database: 'with secret',
    ...admin({ id: 'example.com-sales', customers: [] }, 'not-the-internal-secret-0123456789abcdef'),
    documentedHeaders: ['WWW-Authenticate'],
  },
  'customers: an unknown id': {
    method: 'POST',
    path: '/internal/customers',
    status: 404,
    database: 'with secret',
    ...admin({ id: 'nobody.net-sales', customers: [{ external_id: 'crm-42' }] }),
  },
  'customers: a body over 16 MiB': {
    method: 'POST',
    path: '/internal/customers',
    status: 413,
    database: 'with secret',
    ...admin({ id: 'example.com-sales', customers: [{ external_id: 'crm-42', name: 'x'.repeat(16_777_216) }] }),
  },
  'customers: a form body': {
    method: 'POST',
    path: '/internal/customers',
    status: 415,
    database: 'with secret',
    headers: { authorization: `Bearer ${INTERNAL_SECRET}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: 'id=example.com-sales',
  },
  'customers: the database is down': {
    method: 'POST',
    path: '/internal/customers',
    status: 503,
    database: 'with secret',
    ...admin({ id: 'example.com-sales', customers: [{ external_id: 'crm-42' }] }),
    before: ({ api }) => api!.db.close(),
    documentedHeaders: ['Retry-After'],
  },
  'calls: a page': {
    method: 'GET',
    path: '/api/calls?limit=1',
    status: 200,
    database: 'with secret',
    before: withCalls,
    then: (t, body) => t.truthy((body as { next?: string }).next, 'two calls, one per page: next'),
  },
  'calls: the key as a bearer token, by offset': {
    method: 'GET',
    path: '/api/calls?offset=1',
    status: 200,
    database: 'with secret',
    before: async (server) => ({ authorization: `Bearer ${(await withCalls(server))['x-app-api-key']}` }),
  },
  'calls: limit over 100': { method: 'GET', path: '/api/calls?limit=101', status: 400, database: 'with secret', before: withCalls },
  'calls: no key': { method: 'GET', path: '/api/calls', status: 401, database: 'with secret', documentedHeaders: ['WWW-Authenticate'] },
  'calls: the database is down': {
    method: 'GET',
    path: '/api/calls',
    status: 503,
    database: 'with secret',
    before: async (server) => {
      const headers = await withCalls(server);
      await server.api!.db.close();
      return headers;
    },
  },
  'active calls: ringing and answered': {
    method: 'GET',
    path: '/api/active-calls',
    status: 200,
    database: 'with secret',
    before: withCalls,
    then: (t, body) => t.is((body as { calls: unknown[] }).calls.length, 2),
  },
  'active calls: a wrong key': {
    method: 'GET',
    path: '/api/active-calls',
    status: 401,
    database: 'with secret',
    headers: { 'x-app-api-key': `bk_live_${'0'.repeat(24)}_${'A'.repeat(43)}` },
  },
  'active calls: the database is down': {
    method: 'GET',
    path: '/api/active-calls',
    status: 503,
    database: 'with secret',
    before: async (server) => {
      const headers = await withCalls(server);
      await server.api!.db.close();
      return headers;
    },
  },

  // The live stream: a token with the app's key, then the stream with the token
  'stream token: created': {
    method: 'POST',
    path: '/api/stream-tokens',
    status: 201,
    database: 'with secret',
    before: async ({ api }) => ({ 'x-app-api-key': (await api!.createApp({ name: 'Popup' })).key }),
    documentedHeaders: ['Cache-Control'],
  },
  'stream token: no key': { method: 'POST', path: '/api/stream-tokens', status: 401, database: 'with secret' },
  'stream token: the database is down': {
    method: 'POST',
    path: '/api/stream-tokens',
    status: 503,
    database: 'with secret',
    headers: { 'x-app-api-key': `bk_live_${'0'.repeat(24)}_${'A'.repeat(43)}` },
    before: ({ api }) => api!.db.close(),
  },
  'call stream: connected': {
    method: 'GET',
    get path() {
      return `/api/call-stream?token=${streamTokens.connected ?? ''}`;
    },
    status: 200,
    database: 'with secret',
    before: withStreamToken('connected'),
    documentedHeaders: ['X-Accel-Buffering', 'Access-Control-Allow-Origin'],
  },
  'call stream: Last-Event-ID not an event id': {
    method: 'GET',
    get path() {
      return `/api/call-stream?token=${streamTokens.badLastEventId ?? ''}`;
    },
    status: 400,
    database: 'with secret',
    headers: { 'last-event-id': 'latest' },
    before: withStreamToken('badLastEventId'),
  },
  'call stream: no token': { method: 'GET', path: '/api/call-stream', status: 401, database: 'with secret' },
  'call stream: the database is down': {
    method: 'GET',
    path: `/api/call-stream?token=bst_${'A'.repeat(43)}`,
    status: 503,
    database: 'with secret',
    before: ({ api }) => api!.db.close(),
  },

  // NetSapiens deliveries and subscriptions: with a database
  'netsapiens webhook: a delivery stored': {
    method: 'POST',
    path: WEBHOOK,
    status: 200,
    database: 'with secret',
    before: subscribed,
    ...asJson([CALL_RECORD]),
    then: (t, body) => t.deepEqual(body, { status: 'ok', received: 1, stored: 1 }),
  },
  'netsapiens webhook: a record nested too deep is skipped, the rest stored': {
    method: 'POST',
    path: WEBHOOK,
    status: 200,
    database: 'with secret',
    before: subscribed,
    headers: { 'content-type': 'application/json' },
    body: `[${JSON.stringify(CALL_RECORD)},{"orig_callid":"deep","x":${'['.repeat(100)}${']'.repeat(100)}}]`,
    then: (t, body) => t.deepEqual(body, { status: 'ok', received: 2, stored: 1, skipped: 1 }),
  },
  'netsapiens webhook: more than 500 records': {
    method: 'POST',
    path: WEBHOOK,
    status: 413,
    database: 'with secret',
    before: subscribed,
    ...asJson(Array.from({ length: 501 }, (_, i) => ({ ...CALL_RECORD, orig_callid: `bulk-${i}` }))),
  },
  'netsapiens webhook: not an array': {
    method: 'POST',
    path: WEBHOOK,
    status: 400,
    database: 'with secret',
    before: subscribed,
    ...asJson(CALL_RECORD),
  },
  'netsapiens webhook: a wrong token': {
    method: 'POST',
    path: `/webhooks/netsapiens?id=example.com-sales&token=${'x'.repeat(43)}`,
    status: 401,
    database: 'with secret',
    before: subscribed,
    ...asJson([CALL_RECORD]),
  },
  'netsapiens webhook: a body over 1 MiB': {
    method: 'POST',
    path: WEBHOOK,
    status: 413,
    database: 'with secret',
    before: subscribed,
    ...asJson([{ ...CALL_RECORD, notes: 'x'.repeat(1_100_000) }]),
  },
  'netsapiens webhook: text/plain': {
    method: 'POST',
    path: WEBHOOK,
    status: 415,
    database: 'with secret',
    before: subscribed,
    headers: { 'content-type': 'text/plain' },
    body: JSON.stringify([CALL_RECORD]),
  },
  'netsapiens webhook: the database is down': {
    method: 'POST',
    path: WEBHOOK,
    status: 503,
    database: 'with secret',
    before: async (server) => {
      await subscribed(server);
      await server.api!.db.close();
    },
    ...asJson([CALL_RECORD]),
    documentedHeaders: ['Retry-After'],
  },
  'netsapiens webhook: GET': { method: 'GET', path: '/webhooks/netsapiens', status: 405, database: 'with secret' },

  // Twilio's webhooks: mounted with the Twilio settings, signed with TWILIO_AUTH_TOKEN; no database needed
  'twilio call: a ringing call is forwarded': {
    method: 'POST',
    path: '/webhooks/twilio/call',
    status: 200,
    harness: { twilio: true },
    ...signedForm('/webhooks/twilio/call', TWILIO_CALL),
    then: (t, body) =>
      t.regex(
        String(body),
        /<Dial timeout="15" action="http:\/\/beckon\.test\/webhooks\/twilio\/call\/status\/CA[0-9a-f]{32}" method="POST"><Number>\+18135550199<\/Number><\/Dial>/,
      ),
  },
  'twilio call: another status': {
    method: 'POST',
    path: '/webhooks/twilio/call',
    status: 200,
    harness: { twilio: true },
    ...signedForm('/webhooks/twilio/call', { ...TWILIO_CALL, CallStatus: 'completed' }),
    then: (t, body) => t.regex(String(body), /<Response><\/Response>/),
  },
  'twilio call: a number no id has': {
    method: 'POST',
    path: '/webhooks/twilio/call',
    status: 200,
    harness: { twilio: true },
    ...signedForm('/webhooks/twilio/call', { ...TWILIO_CALL, To: '+19295550999' }),
    then: (t, body) => t.regex(String(body), /<Say>[^<]+<\/Say><Hangup\/>/),
  },
  'twilio call: no signature': {
    method: 'POST',
    path: '/webhooks/twilio/call',
    status: 403,
    harness: { twilio: true },
    ...asForm(TWILIO_CALL),
  },
  'twilio call: signed, then a parameter changed': {
    method: 'POST',
    path: '/webhooks/twilio/call',
    status: 403,
    harness: { twilio: true },
    headers: signedForm('/webhooks/twilio/call', TWILIO_CALL).headers!,
    body: new URLSearchParams({ ...TWILIO_CALL, From: '+18135550000' }).toString(),
  },
  'twilio call: a body over 64 KiB': {
    method: 'POST',
    path: '/webhooks/twilio/call',
    status: 413,
    harness: { twilio: true },
    ...signedForm('/webhooks/twilio/call', { ...TWILIO_CALL, CallerName: 'x'.repeat(70_000) }),
  },
  'twilio call: JSON': {
    method: 'POST',
    path: '/webhooks/twilio/call',
    status: 415,
    harness: { twilio: true },
    ...asJson(TWILIO_CALL),
  },
  'twilio call: GET': { method: 'GET', path: '/webhooks/twilio/call', status: 405, harness: { twilio: true } },
  'twilio dial status: missed': {
    method: 'POST',
    path: DIAL_STATUS,
    status: 200,
    harness: { twilio: true },
    ...signedForm(DIAL_STATUS, { ...TWILIO_CALL, CallStatus: 'in-progress', DialCallStatus: 'no-answer' }),
  },
  "twilio dial status: the path's CallSid is not the form's": {
    method: 'POST',
    path: `/webhooks/twilio/call/status/CA${'f'.repeat(32)}`,
    status: 400,
    harness: { twilio: true },
    ...signedForm(`/webhooks/twilio/call/status/CA${'f'.repeat(32)}`, { ...TWILIO_CALL, DialCallStatus: 'busy' }),
  },
  'twilio dial status: a wrong signature': {
    method: 'POST',
    path: DIAL_STATUS,
    status: 403,
    harness: { twilio: true },
    ...asForm({ ...TWILIO_CALL, DialCallStatus: 'busy' }, { 'x-twilio-signature': 'bm90IGEgc2lnbmF0dXJlIGF0IGFsbA==' }),
  },
  'twilio dial status: a body over 64 KiB': {
    method: 'POST',
    path: DIAL_STATUS,
    status: 413,
    harness: { twilio: true },
    ...signedForm(DIAL_STATUS, { ...TWILIO_CALL, DialCallStatus: 'busy', CallerName: 'x'.repeat(70_000) }),
  },
  'twilio dial status: multipart': {
    method: 'POST',
    path: DIAL_STATUS,
    status: 415,
    harness: { twilio: true },
    ...asMultipart({ ...TWILIO_CALL, DialCallStatus: 'busy' }),
  },
  'twilio click-to-call status: the visitor answers': {
    method: 'POST',
    path: CALL_PROGRESS,
    status: 200,
    harness: { twilio: true },
    ...signedForm(CALL_PROGRESS, { ...TWILIO_CALL, CallSid: `CA${'1'.repeat(32)}`, ParentCallSid: CALL_SID, CallStatus: 'in-progress' }),
  },
  'twilio click-to-call status: no id in the URL': {
    method: 'POST',
    path: DIAL_STATUS_PATH,
    status: 400,
    harness: { twilio: true },
    ...signedForm(DIAL_STATUS_PATH, { ...TWILIO_CALL, CallStatus: 'completed' }),
  },
  'twilio click-to-call status: no signature': {
    method: 'POST',
    path: CALL_PROGRESS,
    status: 403,
    harness: { twilio: true },
    ...asForm({ ...TWILIO_CALL, CallStatus: 'completed' }),
  },
  'twilio click-to-call status: a body over 64 KiB': {
    method: 'POST',
    path: CALL_PROGRESS,
    status: 413,
    harness: { twilio: true },
    ...signedForm(CALL_PROGRESS, { ...TWILIO_CALL, CallStatus: 'completed', CallerName: 'x'.repeat(70_000) }),
  },
  'twilio click-to-call status: JSON': {
    method: 'POST',
    path: CALL_PROGRESS,
    status: 415,
    harness: { twilio: true },
    ...asJson({ ...TWILIO_CALL, CallStatus: 'completed' }),
  },
  'twilio sms: STOP': {
    method: 'POST',
    path: '/webhooks/twilio/sms',
    status: 200,
    harness: { twilio: true },
    ...signedForm('/webhooks/twilio/sms', { MessageSid: `SM${'0'.repeat(32)}`, From: '+18135551234', To: '+19295550100', Body: 'STOP' }),
  },
  'twilio sms: no signature': {
    method: 'POST',
    path: '/webhooks/twilio/sms',
    status: 403,
    harness: { twilio: true },
    ...asForm({ From: '+18135551234', To: '+19295550100', Body: 'STOP' }),
  },
  'twilio sms: a body over 64 KiB': {
    method: 'POST',
    path: '/webhooks/twilio/sms',
    status: 413,
    harness: { twilio: true },
    ...asForm({ Body: 'x'.repeat(70_000) }),
  },
  'twilio sms: text/plain': {
    method: 'POST',
    path: '/webhooks/twilio/sms',
    status: 415,
    harness: { twilio: true },
    headers: { 'content-type': 'text/plain' },
    body: 'Body=STOP',
  },
  'subscriptions: the list': {
    method: 'GET',
    path: '/internal/subscriptions',
    status: 200,
    database: 'with secret',
    ...admin(),
    before: subscribed,
    then: (t, body) => t.like(body, { subscriptions: [{ provider: 'netsapiens', id: 'example.com-sales', status: 'active' }] }),
  },
  'subscriptions: no secret': {
    method: 'GET',
    path: '/internal/subscriptions',
    status: 401,
    database: 'with secret',
    documentedHeaders: ['WWW-Authenticate'],
  },
  'subscriptions: INTERNAL_API_SECRET unset': { method: 'GET', path: '/internal/subscriptions', status: 404, database: 'without secret' },
  'subscriptions: the database is down': {
    method: 'GET',
    path: '/internal/subscriptions',
    status: 503,
    database: 'with secret',
    ...admin(),
    before: ({ api }) => api!.db.close(),
  },
  'subscribe netsapiens: created': {
    method: 'POST',
    path: '/internal/subscriptions/netsapiens',
    status: 201,
    database: 'with secret',
    ...admin({ id: 'example.com-sales' }),
    then: (t, body, { harness }) => {
      t.like(body, { status: 'ok', id: 'example.com-sales', action: 'created' });
      t.is(harness.sandbox.subscriptions.length, 1);
    },
  },
  'subscribe netsapiens: renewed': {
    method: 'POST',
    path: '/internal/subscriptions/netsapiens',
    status: 200,
    database: 'with secret',
    ...admin({ id: 'example.com-sales' }),
    before: async ({ url }) => {
      const { headers, body } = admin({ id: 'example.com-sales' });
      await (await fetch(`${url}/internal/subscriptions/netsapiens`, { method: 'POST', headers, body: body as string })).text();
    },
    then: (t, body) => t.like(body, { action: 'renewed' }),
  },
  'subscribe netsapiens: no id': {
    method: 'POST',
    path: '/internal/subscriptions/netsapiens',
    status: 400,
    database: 'with secret',
    ...admin({ name: 'example.com-sales' }),
  },
  'subscribe netsapiens: a wrong secret': {
    method: 'POST',
    path: '/internal/subscriptions/netsapiens',
    status: 401,
    database: 'with secret',
    ...admin({ id: 'example.com-sales' }, 'not-the-internal-secret-0123456789abcdef'),
  },
  'subscribe netsapiens: an unknown id': {
    method: 'POST',
    path: '/internal/subscriptions/netsapiens',
    status: 404,
    database: 'with secret',
    ...admin({ id: 'nobody.net-sales' }),
  },
  'subscribe netsapiens: a body over 4 KB': {
    method: 'POST',
    path: '/internal/subscriptions/netsapiens',
    status: 413,
    database: 'with secret',
    ...admin({ id: 'x'.repeat(5_000) }),
  },
  'subscribe netsapiens: a form body': {
    method: 'POST',
    path: '/internal/subscriptions/netsapiens',
    status: 415,
    database: 'with secret',
    headers: { authorization: `Bearer ${INTERNAL_SECRET}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: 'id=example.com-sales',
  },
  'subscribe netsapiens: another creation under way': {
    method: 'POST',
    path: '/internal/subscriptions/netsapiens',
    status: 409,
    database: 'with secret',
    ...admin({ id: 'example.com-sales' }),
    before: async ({ api }) =>
      void (await api!.db.query(
        "INSERT INTO subscriptions (tenant, provider, secret_hash, status) VALUES ('example.com-sales', 'netsapiens', 'x', 'pending')",
      )),
  },
  'subscribe netsapiens: NetSapiens fails': {
    method: 'POST',
    path: '/internal/subscriptions/netsapiens',
    status: 502,
    database: 'with secret',
    ...admin({ id: 'example.com-sales' }),
    before: ({ harness }) => harness.sandbox.inject({ route: 'subscriptions.create', status: 503 }),
  },
  'subscribe netsapiens: the database is down': {
    method: 'POST',
    path: '/internal/subscriptions/netsapiens',
    status: 503,
    database: 'with secret',
    ...admin({ id: 'example.com-sales' }),
    before: ({ api }) => api!.db.close(),
  },

  // Dialpad
  'dialpad webhook: a signed event': {
    method: 'POST',
    path: '/webhooks/dialpad',
    status: 200,
    database: 'with secret',
    dialpad: true,
    ...asJwt(DIALPAD_SMS),
    then: (t, body) => t.deepEqual(body, { status: 'ok', stored: 1 }),
  },
  'dialpad webhook: not a verifiable JWT': {
    method: 'POST',
    path: '/webhooks/dialpad',
    status: 401,
    database: 'with secret',
    dialpad: true,
    ...asJwt('eyJhbGciOiJub25lIn0.eyJpZCI6MX0.'),
  },
  'dialpad webhook: over 1 MiB': {
    method: 'POST',
    path: '/webhooks/dialpad',
    status: 413,
    database: 'with secret',
    dialpad: true,
    ...asJwt('a'.repeat(1_048_577)),
  },
  'dialpad webhook: compressed': {
    method: 'POST',
    path: '/webhooks/dialpad',
    status: 415,
    database: 'with secret',
    dialpad: true,
    headers: { 'content-type': 'application/jwt', 'content-encoding': 'gzip' },
    body: DIALPAD_SMS,
  },
  'dialpad webhook: the database is down': {
    method: 'POST',
    path: '/webhooks/dialpad',
    status: 503,
    database: 'with secret',
    dialpad: true,
    ...asJwt(DIALPAD_SMS),
    before: ({ api }) => api!.db.close(),
    documentedHeaders: ['Retry-After'],
  },
  'messages: a page': {
    method: 'GET',
    path: '/api/messages?limit=1',
    status: 200,
    database: 'with secret',
    dialpad: true,
    before: (server) => withDialpadEvent(server, DIALPAD_SMS),
    then: (t, body) => t.like(body, { messages: [{ provider: 'dialpad', tenant: 'a.com-x', text: 'Hi' }] }),
  },
  'messages: limit over 100': { method: 'GET', path: '/api/messages?limit=101', status: 400, database: 'with secret', before: withCalls },
  'messages: no key': {
    method: 'GET',
    path: '/api/messages',
    status: 401,
    database: 'with secret',
    documentedHeaders: ['WWW-Authenticate'],
  },
  'messages: the database is down': {
    method: 'GET',
    path: '/api/messages',
    status: 503,
    database: 'with secret',
    before: async (server) => {
      const headers = await withCalls(server);
      await server.api!.db.close();
      return headers;
    },
  },
  'voicemails: a page, by offset': {
    method: 'GET',
    path: '/api/voicemails?offset=0',
    status: 200,
    database: 'with secret',
    dialpad: true,
    before: (server) => withDialpadEvent(server, DIALPAD_VOICEMAIL),
    then: (t, body) =>
      t.like(body, { voicemails: [{ provider: 'dialpad', session_id: '6001', recording_url: 'https://dialpad.com/r/vm/1' }] }),
  },
  'voicemails: offset and after together': {
    method: 'GET',
    path: '/api/voicemails?offset=1&after=x',
    status: 400,
    database: 'with secret',
    before: withCalls,
  },
  'voicemails: no key': {
    method: 'GET',
    path: '/api/voicemails',
    status: 401,
    database: 'with secret',
    documentedHeaders: ['WWW-Authenticate'],
  },
  'voicemails: the database is down': {
    method: 'GET',
    path: '/api/voicemails',
    status: 503,
    database: 'with secret',
    before: async (server) => {
      const headers = await withCalls(server);
      await server.api!.db.close();
      return headers;
    },
  },
  'dialpad webhook create: created': {
    method: 'POST',
    path: `/internal/webhooks/create?app_id=${APP_ID}`,
    status: 201,
    database: 'with secret',
    dialpad: true,
    ...admin({}),
    before: dialpadApp,
    then: (t, body, { dialpad }) => {
      t.like(body, { success: true, id: 'a.com-x', webhook_id: FIRST_DIALPAD_WEBHOOK });
      t.is(dialpad!.webhooks.length, 1);
    },
  },
  'dialpad webhook create: app_id is not a UUID': {
    method: 'POST',
    path: '/internal/webhooks/create?app_id=42',
    status: 400,
    database: 'with secret',
    dialpad: true,
    ...admin({}),
  },
  'dialpad webhook create: a wrong secret': {
    method: 'POST',
    path: `/internal/webhooks/create?app_id=${APP_ID}`,
    status: 401,
    database: 'with secret',
    dialpad: true,
    ...admin({}, 'not-the-internal-secret-0123456789abcdef'),
  },
  'dialpad webhook create: an unknown app': {
    method: 'POST',
    path: `/internal/webhooks/create?app_id=${APP_ID}`,
    status: 404,
    database: 'with secret',
    dialpad: true,
    ...admin({}),
  },
  'dialpad webhook create: a secret another webhook has': {
    method: 'POST',
    path: `/internal/webhooks/create?app_id=${APP_ID}`,
    status: 409,
    database: 'with secret',
    dialpad: true,
    ...admin({ webhook_secret: 'w'.repeat(40) }),
    before: (server) => dialpadWebhook(server, 'w'.repeat(40)),
  },
  'dialpad webhook create: a body over 8 KB': {
    method: 'POST',
    path: `/internal/webhooks/create?app_id=${APP_ID}`,
    status: 413,
    database: 'with secret',
    dialpad: true,
    ...admin({ webhook_url: `https://example.com/${'x'.repeat(9_000)}` }),
  },
  'dialpad webhook create: a form body': {
    method: 'POST',
    path: `/internal/webhooks/create?app_id=${APP_ID}`,
    status: 415,
    database: 'with secret',
    dialpad: true,
    headers: { authorization: `Bearer ${INTERNAL_SECRET}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: 'webhook_url=x',
  },
  'dialpad webhook create: Dialpad fails': {
    method: 'POST',
    path: `/internal/webhooks/create?app_id=${APP_ID}`,
    status: 502,
    database: 'with secret',
    dialpad: true,
    ...admin({}),
    before: async (server) => {
      await dialpadApp(server);
      server.dialpad!.inject({ route: 'webhooks', method: 'POST', status: 500 });
    },
  },
  'dialpad webhook create: the database is down': {
    method: 'POST',
    path: `/internal/webhooks/create?app_id=${APP_ID}`,
    status: 503,
    database: 'with secret',
    dialpad: true,
    ...admin({}),
    before: ({ api }) => api!.db.close(),
  },
  'dialpad webhooks: an app’s': {
    method: 'GET',
    path: `/internal/webhooks?app_id=${APP_ID}`,
    status: 200,
    database: 'with secret',
    dialpad: true,
    ...admin(),
    before: (server) => dialpadWebhook(server),
    then: (t, body) => t.like(body, { webhooks: [{ webhook_id: FIRST_DIALPAD_WEBHOOK, status: 'active', subscriptions: [] }] }),
  },
  'dialpad webhooks: app_id is not a UUID': {
    method: 'GET',
    path: '/internal/webhooks?app_id=x',
    status: 400,
    database: 'with secret',
    ...admin(),
  },
  'dialpad webhooks: no secret': { method: 'GET', path: '/internal/webhooks', status: 401, database: 'with secret' },
  'dialpad webhooks: INTERNAL_API_SECRET unset': { method: 'GET', path: '/internal/webhooks', status: 404, database: 'without secret' },
  'dialpad webhooks: the database is down': {
    method: 'GET',
    path: '/internal/webhooks',
    status: 503,
    database: 'with secret',
    ...admin(),
    before: ({ api }) => api!.db.close(),
  },
  'subscribe dialpad: created': {
    method: 'POST',
    path: '/internal/subscriptions/dialpad',
    status: 201,
    database: 'with secret',
    dialpad: true,
    ...admin({ app_id: APP_ID, webhook_id: FIRST_DIALPAD_WEBHOOK }),
    before: (server) => dialpadWebhook(server),
    then: (t, body, { dialpad }) => {
      t.like(body, { success: true, webhook_id: FIRST_DIALPAD_WEBHOOK, subscriptions: [{ kind: 'call' }, { kind: 'sms' }] });
      t.is(dialpad!.subscriptions.length, 2);
    },
  },
  'subscribe dialpad: no body': {
    method: 'POST',
    path: '/internal/subscriptions/dialpad',
    status: 400,
    database: 'with secret',
    dialpad: true,
    ...admin(),
  },
  'subscribe dialpad: a wrong secret': {
    method: 'POST',
    path: '/internal/subscriptions/dialpad',
    status: 401,
    database: 'with secret',
    dialpad: true,
    ...admin({ app_id: APP_ID, webhook_id: 1 }, 'not-the-internal-secret-0123456789abcdef'),
  },
  'subscribe dialpad: an unknown webhook': {
    method: 'POST',
    path: '/internal/subscriptions/dialpad',
    status: 404,
    database: 'with secret',
    dialpad: true,
    ...admin({ app_id: APP_ID, webhook_id: 1 }),
    before: dialpadApp,
  },
  'subscribe dialpad: a body over 8 KB': {
    method: 'POST',
    path: '/internal/subscriptions/dialpad',
    status: 413,
    database: 'with secret',
    dialpad: true,
    ...admin({ app_id: APP_ID, webhook_id: 1, call_states: Array.from({ length: 1_000 }, () => 'ringing') }),
  },
  'subscribe dialpad: a form body': {
    method: 'POST',
    path: '/internal/subscriptions/dialpad',
    status: 415,
    database: 'with secret',
    dialpad: true,
    headers: { authorization: `Bearer ${INTERNAL_SECRET}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: 'app_id=x',
  },
  'subscribe dialpad: Dialpad fails': {
    method: 'POST',
    path: '/internal/subscriptions/dialpad',
    status: 502,
    database: 'with secret',
    dialpad: true,
    ...admin({ app_id: APP_ID, webhook_id: FIRST_DIALPAD_WEBHOOK }),
    before: async (server) => {
      await dialpadWebhook(server);
      server.dialpad!.inject({ route: 'subscriptions', method: 'POST', status: 429 });
    },
  },
  'subscribe dialpad: the database is down': {
    method: 'POST',
    path: '/internal/subscriptions/dialpad',
    status: 503,
    database: 'with secret',
    dialpad: true,
    ...admin({ app_id: APP_ID, webhook_id: 1 }),
    before: ({ api }) => api!.db.close(),
  },
  'subscriptions: Dialpad’s after NetSapiens’': {
    method: 'GET',
    path: '/internal/subscriptions',
    status: 200,
    database: 'with secret',
    dialpad: true,
    ...admin(),
    before: async (server) => {
      await dialpadWebhook(server);
      const { headers, body } = admin({ app_id: APP_ID, webhook_id: FIRST_DIALPAD_WEBHOOK });
      const created = await fetch(`${server.url}/internal/subscriptions/dialpad`, { method: 'POST', headers, body: body as string });
      if (created.status !== 201) throw new Error(`subscriptions/dialpad: ${created.status} ${await created.text()}`);
    },
    then: (t, body) =>
      t.like(body, {
        subscriptions: [
          { provider: 'dialpad', id: 'a.com-x', kind: 'call', webhook_id: FIRST_DIALPAD_WEBHOOK, app_id: APP_ID },
          { provider: 'dialpad', kind: 'sms' },
        ],
      }),
  },
  // RingCentral notifications and subscriptions: with a database (and for subscribing, the RingCentral settings)
  'ringcentral webhook: the creation handshake': {
    method: 'POST',
    path: '/webhooks/ringcentral',
    status: 200,
    database: 'with secret',
    headers: { 'validation-token': '6a3c1b2e-0000-4000-8000-000000000001' },
    documentedHeaders: ['Validation-Token'],
    then: (t, body) => t.deepEqual(body, { status: 'ok' }),
  },
  'ringcentral webhook: a notification stored': {
    method: 'POST',
    path: RC_WEBHOOK,
    status: 200,
    database: 'with secret',
    before: ringcentralSubscribed,
    ...asJson(RC_NOTIFICATION),
    headers: { 'content-type': 'application/json', 'verification-token': RC_TOKEN },
    then: (t, body) => t.deepEqual(body, { status: 'ok', stored: 2, events: 1 }),
  },
  'ringcentral webhook: a bad handshake token': {
    method: 'POST',
    path: '/webhooks/ringcentral',
    status: 400,
    database: 'with secret',
    headers: { 'validation-token': 'two words' },
  },
  'ringcentral webhook: a wrong verification token': {
    method: 'POST',
    path: RC_WEBHOOK,
    status: 401,
    database: 'with secret',
    before: ringcentralSubscribed,
    body: JSON.stringify(RC_NOTIFICATION),
    headers: { 'content-type': 'application/json', 'verification-token': 'x'.repeat(43) },
  },
  'ringcentral webhook: a body over 64 KB': {
    method: 'POST',
    path: RC_WEBHOOK,
    status: 413,
    database: 'with secret',
    before: ringcentralSubscribed,
    body: JSON.stringify({ ...RC_NOTIFICATION, padding: 'x'.repeat(70_000) }),
    headers: { 'content-type': 'application/json', 'verification-token': RC_TOKEN },
  },
  'ringcentral webhook: text/plain': {
    method: 'POST',
    path: RC_WEBHOOK,
    status: 415,
    database: 'with secret',
    before: ringcentralSubscribed,
    body: JSON.stringify(RC_NOTIFICATION),
    headers: { 'content-type': 'text/plain', 'verification-token': RC_TOKEN },
  },
  'ringcentral webhook: the database is down': {
    method: 'POST',
    path: RC_WEBHOOK,
    status: 503,
    database: 'with secret',
    before: async (server) => {
      await ringcentralSubscribed(server);
      await server.api!.db.close();
    },
    body: JSON.stringify(RC_NOTIFICATION),
    headers: { 'content-type': 'application/json', 'verification-token': RC_TOKEN },
    documentedHeaders: ['Retry-After'],
  },
  'subscribe ringcentral: created': {
    method: 'POST',
    path: '/internal/subscriptions/ringcentral',
    status: 201,
    database: 'with secret',
    ringcentral: true,
    ...admin({ id: 'example.com-sales' }),
    then: (t, body, { api }) => {
      t.like(body, { status: 'ok', id: 'example.com-sales', action: 'created' });
      t.is(api!.ringcentral!.subscriptions.length, 1);
    },
  },
  'subscribe ringcentral: renewed': {
    method: 'POST',
    path: '/internal/subscriptions/ringcentral',
    status: 200,
    database: 'with secret',
    ringcentral: true,
    ...admin({ id: 'example.com-sales' }),
    before: async ({ url }) => {
      const { headers, body } = admin({ id: 'example.com-sales' });
      await (await fetch(`${url}/internal/subscriptions/ringcentral`, { method: 'POST', headers, body: body as string })).text();
    },
    then: (t, body) => t.like(body, { action: 'renewed' }),
  },
  'subscribe ringcentral: no id': {
    method: 'POST',
    path: '/internal/subscriptions/ringcentral',
    status: 400,
    database: 'with secret',
    ringcentral: true,
    ...admin({ name: 'example.com-sales' }),
  },
  'subscribe ringcentral: a wrong secret': {
    method: 'POST',
    path: '/internal/subscriptions/ringcentral',
    status: 401,
    database: 'with secret',
    ringcentral: true,
    ...admin({ id: 'example.com-sales' }, 'not-the-internal-secret-0123456789abcdef'),
  },
  'subscribe ringcentral: an unknown id': {
    method: 'POST',
    path: '/internal/subscriptions/ringcentral',
    status: 404,
    database: 'with secret',
    ringcentral: true,
    ...admin({ id: 'nobody.net-sales' }),
  },
  'subscribe ringcentral: a body over 4 KB': {
    method: 'POST',
    path: '/internal/subscriptions/ringcentral',
    status: 413,
    database: 'with secret',
    ringcentral: true,
    ...admin({ id: 'x'.repeat(5_000) }),
  },
  'subscribe ringcentral: a form body': {
    method: 'POST',
    path: '/internal/subscriptions/ringcentral',
    status: 415,
    database: 'with secret',
    ringcentral: true,
    headers: { authorization: `Bearer ${INTERNAL_SECRET}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: 'id=example.com-sales',
  },
  'subscribe ringcentral: another creation under way': {
    method: 'POST',
    path: '/internal/subscriptions/ringcentral',
    status: 409,
    database: 'with secret',
    ringcentral: true,
    ...admin({ id: 'example.com-sales' }),
    before: async ({ api }) =>
      void (await api!.db.query(
        "INSERT INTO subscriptions (tenant, provider, secret_hash, status) VALUES ('example.com-sales', 'ringcentral', 'x', 'pending')",
      )),
  },
  'subscribe ringcentral: RingCentral fails': {
    method: 'POST',
    path: '/internal/subscriptions/ringcentral',
    status: 502,
    database: 'with secret',
    ringcentral: true,
    ...admin({ id: 'example.com-sales' }),
    before: ({ api }) => api!.ringcentral!.inject({ route: 'subscription.create', status: 503 }),
  },
  'subscribe ringcentral: the database is down': {
    method: 'POST',
    path: '/internal/subscriptions/ringcentral',
    status: 503,
    database: 'with secret',
    ringcentral: true,
    ...admin({ id: 'example.com-sales' }),
    before: ({ api }) => api!.db.close(),
  },

  // Health, and what is not a route
  'health: up': { method: 'GET', path: '/health', status: 200 },
  'ready: taking traffic': { method: 'GET', path: '/ready', status: 200 },
  'ready: stopping': {
    method: 'GET',
    path: '/ready',
    status: 503,
    documentedHeaders: ['Retry-After'],
    before: (server) => {
      server.harness.deps.lifecycle = { stopping: true };
    },
  },
  'metrics: with METRICS_TOKEN': {
    method: 'GET',
    path: '/metrics',
    status: 200,
    harness: { metricsToken: METRICS_TOKEN },
    headers: { authorization: `Bearer ${METRICS_TOKEN}` },
  },
  'metrics: a wrong token': {
    method: 'GET',
    path: '/metrics',
    status: 401,
    harness: { metricsToken: METRICS_TOKEN },
    headers: { authorization: 'Bearer not-the-token' },
    documentedHeaders: ['WWW-Authenticate'],
  },
  'health: POST': { method: 'POST', path: '/health', status: 405 },
  'an unknown path': { method: 'GET', path: '/nowhere', status: 404 },
  // Koa's router would say 501; an unknown method is the client's mistake, so it is a 405 like any other.
  'a method no route implements': { method: 'PROPFIND', path: '/health', status: 405 },
};

/**
 * At most `count` rows at a time, each holding its turn until its teardowns have run (its servers closed,
 * its database dropped). All at once, the rows' databases (a CREATE DATABASE, a pool and a LISTEN
 * connection each) could pass the cluster's connection limit on a loaded CI machine, failing every
 * database row, and the rows waiting on the NS sandbox timed out. Fewer at once is no slower here.
 */
function turns(count: number): (t: ExecutionContext) => Promise<void> {
  let free = count;
  const waiting: (() => void)[] = [];
  const release = () => {
    const next = waiting.shift();
    if (next) next();
    else free += 1;
  };
  return async (t) => {
    if (free > 0) free -= 1;
    else await new Promise<void>((resolve) => waiting.push(resolve));
    // Registered first, so it runs last: ava runs teardowns in reverse order.
    t.teardown(release);
  };
}
const turn = turns(32);

for (const [title, row] of Object.entries(rows)) {
  test(`${row.method} ${row.path.split('?')[0]}: ${title}`, async (t) => {
    await turn(t);
    const server = await serve(t, row.harness ?? {}, row.store ?? 'file', row.database, row.dialpad, row.ringcentral);
    const extraHeaders = (await row.before?.(server)) ?? {};
    const url = server.url + row.path;
    const response = await fetch(url, { method: row.method, headers: { ...row.headers, ...extraHeaders }, body: row.body ?? null });
    const expected = Array.isArray(row.status) ? row.status : [row.status];
    t.true(expected.includes(response.status), `status ${response.status}, expected ${expected.join(' or ')}`);
    for (const name of row.documentedHeaders ?? []) {
      const found = documentedResponse(row.method, new URL(url).pathname, response.status, response.headers.get('allow'));
      t.true(
        typeof found !== 'string' && Object.keys(found.response.headers ?? {}).includes(name),
        `${name} is documented for ${response.status}`,
      );
      t.truthy(response.headers.get(name), `${name} is sent`);
    }
    if (row.headers?.['x-request-id'])
      t.is(response.headers.get('x-request-id'), row.headers['x-request-id'], 'a well-formed request id is echoed');
    const body = await conforms(t, row.method, url, response);
    await row.then?.(t, body, server);
  });
}

test('every operation in the document, and every status it documents, is exercised above', (t) => {
  // Statuses the table cannot reach: a GET body (fetch cannot send one), an unbuilt widget bundle, and a
  // 304 the bundle routes do not give yet (the revalidation row accepts either).
  const unreachable = new Set([
    'GET /webresponder 413',
    'GET /webresponder 415',
    'GET /widget/call-us-button.js 503',
    'GET /widget/call-us-button.iife.js 503',
    'GET /widget/call-us-button.js 304',
    'GET /widget/call-us-button.iife.js 304',
    'GET /widget/call-popup.js 503',
    'GET /widget/call-us-button.js.map 503',
    'GET /widget/call-us-button.iife.js.map 503',
    'GET /widget/call-popup.js.map 503',
    'GET /widget/call-us-button.js.map 304',
    'GET /widget/call-us-button.iife.js.map 304',
    // An unreachable database is a 503 on these; a 500 would be a bug.
    'POST /internal/apps 500',
    'POST /internal/apps/{app_id}/api-key 500',
    'GET /internal/apps 500',
    'DELETE /internal/apps/{app_id} 500',
    'POST /internal/customers 500',
    'GET /api/calls 500',
    'GET /api/active-calls 500',
    'POST /api/stream-tokens 500',
    'GET /api/call-stream 500',
    // Needs MAX_STREAMS_PER_APP streams open (100 by default): pinned in stream-api.test.ts, which lowers the limits.
    'GET /api/call-stream 429',
    // Pinned in callbacks.test.ts: the contract rows' database server has no id with allowed_origins.
    'DELETE /click-to-call/{callback_id} 403',
    // Pinned in callbacks-status.test.ts (five streams of one callback open, then a sixth).
    'GET /click-to-call/{callback_id}/events 429',
    // Only while the server shuts down: its bus is closed.
    'GET /click-to-call/{callback_id}/events 503',
    'POST /webhooks/netsapiens 500',
    'POST /webhooks/dialpad 500',
    'GET /api/messages 500',
    'GET /api/voicemails 500',
    'GET /internal/webhooks 500',
    'POST /webhooks/ringcentral 500',
    // Twilio's routes read the config from memory and answer TwiML whatever the database does: a 500 would be a bug.
    'POST /webhooks/twilio/call 500',
    'POST /webhooks/twilio/call/status/{callSid} 500',
    'POST /webhooks/twilio/sms 500',
    // A database failing while a click-to-call's status is recorded: a 500, which Twilio's console shows (it does not retry).
    'POST /webhooks/twilio/dial-status 500',
  ]);
  const exercised = new Set(
    Object.values(rows).flatMap((row) =>
      (Array.isArray(row.status) ? row.status : [row.status]).map(
        (status) => `${row.method} ${templateOf(row.path.split('?')[0]!)} ${status}`,
      ),
    ),
  );
  const missing: string[] = [];
  for (const [path, pathItem] of Object.entries(spec.paths)) {
    for (const [method, operation] of Object.entries(pathItem)) {
      if (!OPERATION_METHODS.includes(method)) continue;
      for (const status of Object.keys(operation.responses)) {
        const key = `${method.toUpperCase()} ${path} ${status}`;
        if (!exercised.has(key) && !unreachable.has(key)) missing.push(key);
      }
    }
  }
  t.deepEqual(missing, []);
});

test('the document is OpenAPI 3.1, its references resolve and its schemas compile', (t) => {
  t.regex(spec.openapi, /^3\.1\.\d+$/);
  const refs: string[] = [];
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) node.forEach(walk);
    else if (node && typeof node === 'object') {
      for (const [key, value] of Object.entries(node)) {
        if (key === '$ref' && typeof value === 'string') refs.push(value);
        else walk(value);
      }
    }
  };
  walk(spec);
  t.true(refs.length > 0);
  for (const target of refs) t.notThrows(() => deref({ $ref: target }, ''), target);
  for (const name of Object.keys(spec.components.schemas)) t.notThrows(() => validatorAt(pointer('components', 'schemas', name)), name);
  for (const required of [
    'ErrorEnvelope',
    'ClickToCallRequest',
    'UpdateDomainForm',
    'UpdateSmsForm',
    'UpdateSmsResponse',
    'WidgetConfig',
  ]) {
    t.truthy(spec.components.schemas[required], required);
  }
});

test('UpdateSmsResponse: provisioning_errors appears exactly for the failed and refused steps', (t) => {
  const validate = validatorAt(pointer('components', 'schemas', 'UpdateSmsResponse'));
  const base = { status: 'ok', id: 'acme.com-sms' };
  t.true(validate({ ...base, provisioning: { user: 'exists', dial_rule: 'updated', answer_rule: 'created' } }));
  t.true(
    validate({
      ...base,
      provisioning: { user: 'exists', dial_rule: 'failed', answer_rule: 'updated' },
      provisioning_errors: { dial_rule: 'why' },
    }),
  );
  t.false(
    validate({ ...base, provisioning: { user: 'exists', dial_rule: 'failed', answer_rule: 'updated' } }),
    'a failure without its reason',
  );
  const refused = { user: 'refused', dial_rule: 'refused', answer_rule: 'refused' };
  t.true(validate({ ...base, provisioning: refused, provisioning_errors: { user: 'why', dial_rule: 'why', answer_rule: 'why' } }));
  t.false(validate({ ...base, provisioning: refused }), 'a refusal without its reason');
  t.false(
    validate({
      ...base,
      provisioning: { user: 'exists', dial_rule: 'exists', answer_rule: 'updated' },
      provisioning_errors: { dial_rule: 'why' },
    }),
    'a reason without a failure',
  );
  t.false(
    validate({ ...base, provisioning: { user: 'exists', dial_rule: 'exists', answer_rule: 'updated' }, extra: 1 }),
    'no other fields',
  );
});
