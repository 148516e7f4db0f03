// Property-based fuzzing of every route, over real HTTP against one harness (a real NS sandbox behind it).
// fast-check picks a new seed each run and prints it, with the shrunk counterexample, when a property fails;
// replay one with `FUZZ_SEED=<seed> npx ava test/fuzz.test.ts`.
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { isDeepStrictEqual } from 'node:util';
import { Script } from 'node:vm';
import test from 'ava';
import fc from 'fast-check';
import { createMemoryLimits, loadConfig, type ServerConfig, type Tenants } from '../src/index.js';
import { SECRET, startHarness, TENANTS, type Harness } from './helpers.js';

const seed = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : undefined;
const params = (numRuns: number): fc.Parameters<unknown> => ({
  numRuns,
  includeErrorInReport: true,
  ...(seed === undefined ? {} : { seed }),
});

const FUZZ_TENANTS: Tenants = {
  ...TENANTS,
  'example.com-locked': { api_domain: 'example.com', queue: '9003@example.com', allowed_origins: ['https://www.example.com'] },
  'example.com-voice': { ...TENANTS['example.com-sms']!, voice_message: "Tom & Jerry's <shop>" },
};
/** Every limit out of reach (429s would mask everything else), whatever limits the config has. */
const DEFAULT_LIMITS = loadConfig({ NS_API_BASE: 'http://ns.invalid', NS_TOKEN: 't', UPDATE_SECRET: SECRET }).limits;
const HIGH = {
  ...(Object.fromEntries(Object.keys(DEFAULT_LIMITS).map((name) => [name, 1e9])) as ServerConfig['limits']),
  visitorBlockSeconds: 3_600,
};

/**
 * A property runs its thousands of cases as one test: on a loaded machine (two Node versions' CI, a
 * suite beside it) that outlasts ava's 30 s without a result, which is meant for a test that hangs.
 */
const PROPERTY_TIMEOUT_MS = 180_000;

let harness: Harness;
/** Cases run, per property, for the log. */
const ran: Record<string, number> = {};
const statuses: Record<string, Record<number, number>> = {};

test.before(async () => {
  harness = await startHarness({ tenants: FUZZ_TENANTS, limits: HIGH });
});
test.after.always(async () => {
  await harness?.close();
});

// ---------------------------------------------------------------------------------------------------
// What every answer must be

const ID_RE = /^[A-Za-z0-9][A-Za-z0-9.-]{0,127}$/;
const XML_RE = /^<\?xml version="1\.0" encoding="UTF-8"\?>\n<Response>(<Say>[^<>]*<\/Say>)?<Hangup\/><\/Response>\n$/;
/** Every control character: C0 (tab and line breaks included), DEL, C1. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\u0000-\u001F\u007F-\u009F]/;

interface Exchange {
  status: number;
  type: string;
  headers: Headers;
  text: string;
}

class Refuted extends Error {}

function check(condition: boolean, problem: string, exchange?: Exchange): asserts condition {
  if (condition) return;
  const answer = exchange ? `\n  answer: ${exchange.status} ${exchange.type} ${JSON.stringify(exchange.text.slice(0, 300))}` : '';
  throw new Refuted(`${problem}${answer}`);
}

/** A message a person can act on: a sentence, not a stack, a placeholder or a generic failure. */
function checkMessage(message: unknown, exchange: Exchange): void {
  check(typeof message === 'string', 'the message is not a string', exchange);
  check(message.trim().length >= 8, 'the message is too short to act on', exchange);
  check(
    !/\n\s+at |\[object |Something went wrong|Request failed \(|Internal Server Error/.test(message),
    'the message is not one a person can act on',
    exchange,
  );
}

/** The envelope's optional `code`: one of those the HTTP API document lists. */
const ERROR_CODES = new Set<string>(
  (
    JSON.parse(readFileSync(new URL('../../../docs/http-api.openapi.json', import.meta.url), 'utf8')) as {
      components: { schemas: { ErrorEnvelope: { properties: { code: { enum: string[] } } } } };
    }
  ).components.schemas.ErrorEnvelope.properties.code.enum,
);

/** `{"status":"error","message"}` as JSON, nothing else. */
function checkEnvelope(exchange: Exchange, method = 'POST'): void {
  check(/^application\/json/.test(exchange.type), 'an error that is not JSON', exchange);
  if (method === 'HEAD') return;
  let body: unknown;
  try {
    body = JSON.parse(exchange.text);
  } catch {
    check(false, 'an error body that is not JSON', exchange);
  }
  const envelope = body as Record<string, unknown>;
  const keys = Object.keys(envelope ?? {}).sort();
  const shape =
    isDeepStrictEqual(keys, ['message', 'status']) ||
    (isDeepStrictEqual(keys, ['code', 'message', 'status']) && ERROR_CODES.has(String(envelope.code)));
  check(shape && envelope.status === 'error', 'not the error envelope', exchange);
  checkMessage(envelope.message, exchange);
}

function checkXml(exchange: Exchange, method: string): void {
  check(/^text\/xml/.test(exchange.type), '/webresponder answered something other than XML', exchange);
  if (method !== 'HEAD') check(XML_RE.test(exchange.text), '/webresponder answered XML NetSapiens cannot read', exchange);
}

// ---------------------------------------------------------------------------------------------------
// After every case: nothing logged at error level, no prototype touched

const PROTOTYPES = [Object.prototype, Array.prototype, Function.prototype, String.prototype];
const protoShape = () => PROTOTYPES.map((proto) => Object.getOwnPropertyNames(proto).sort().join(',')).join('|');
const PROTO_SHAPE = protoShape();
const MARKERS = ['polluted', 'isAdmin', 'x'];
let logMark = 0;

function checkProcess(): void {
  const probe: Record<string, unknown> = {};
  for (const marker of MARKERS) check(!(marker in probe) && !(marker in []), `Object.prototype.${marker} exists: prototype pollution`);
  check(protoShape() === PROTO_SHAPE, 'a built-in prototype gained or lost a property: prototype pollution');
  const fresh = harness.logs.slice(logMark);
  logMark = harness.logs.length;
  const failure = fresh.find((line) => line.level >= 50);
  check(failure === undefined, `the server logged an error: ${JSON.stringify(failure)?.slice(0, 600)}`);
}

function count(name: string, status: number): void {
  ran[name] = (ran[name] ?? 0) + 1;
  const tally = (statuses[name] ??= {});
  tally[status] = (tally[status] ?? 0) + 1;
}

// ---------------------------------------------------------------------------------------------------
// Requests

type Body =
  | { kind: 'json'; text: string }
  | { kind: 'text'; text: string }
  | { kind: 'urlencoded'; text: string }
  | { kind: 'multipart'; parts: [string, string | { file: string }][] }
  | { kind: 'oversize'; size: number; stream: boolean };

interface Case {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: Body;
}

function bodyInit(body: Body): { body: NonNullable<RequestInit['body']>; size: number | undefined } {
  switch (body.kind) {
    case 'json':
    case 'text':
    case 'urlencoded':
      return { body: body.text, size: Buffer.byteLength(body.text) };
    case 'multipart': {
      const form = new FormData();
      for (const [name, value] of body.parts) {
        if (typeof value === 'string') form.append(name, value);
        else form.append(name, new Blob([value.file]), 'file.txt');
      }
      return { body: form, size: undefined };
    }
    case 'oversize': {
      if (!body.stream) return { body: `{"id":"${'x'.repeat(body.size - 8)}"}`, size: body.size };
      let left = body.size;
      const stream = new ReadableStream<Uint8Array>({
        pull(controller) {
          const chunk = Math.min(left, 8_192);
          controller.enqueue(new Uint8Array(chunk).fill(0x61));
          left -= chunk;
          if (left <= 0) controller.close();
        },
      });
      return { body: stream, size: body.size };
    }
  }
}

/** A header value as the server reads it: without the spaces and tabs around it (RFC 9110 §5.6.3, OWS). */
const httpTrim = (value: string | undefined): string | undefined => value?.replace(/^[ \t]+|[ \t]+$/g, '');

async function send(request: Case): Promise<Exchange> {
  const init: RequestInit & { duplex?: 'half' } = { method: request.method, headers: request.headers, redirect: 'manual' };
  if (request.body) {
    init.body = bodyInit(request.body).body;
    init.duplex = 'half';
  }
  let response: Response;
  let text: string;
  try {
    response = await fetch(harness.url + request.path, init);
    text = await response.text();
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    throw new Refuted(`no answer: ${(error as Error).message} (${cause?.code ?? ''} ${cause?.message ?? ''})`);
  }
  return { status: response.status, type: response.headers.get('content-type') ?? '', headers: response.headers, text };
}

const sizeOf = (body: Body | undefined): number => (body ? (bodyInit(body).size ?? 0) : 0);
const mediaType = (contentType: string | undefined) => (contentType ?? '').split(';')[0]!.trim().toLowerCase();

const MEDIA = { json: 'application/json', form: 'application/x-www-form-urlencoded', multipart: 'multipart/form-data' } as const;

/** The content type the server sees: the one set, or the one fetch sets for a FormData body. */
function contentTypeOf(request: Case): string {
  if (request.body?.kind === 'multipart') return MEDIA.multipart;
  return request.headers['content-type'] ?? '';
}

/** 415 and 413 as documented: an unaccepted type (or a compressed body) first, then the size. */
function bodyVerdict(request: Case, accept: string[], limit: number): 413 | 415 | 'read' {
  const encoding = request.headers['content-encoding'];
  if (!accept.includes(mediaType(contentTypeOf(request))) || (encoding && encoding !== 'identity')) return 415;
  if (request.body?.kind === 'oversize') return 413;
  return sizeOf(request.body) > limit ? 413 : 'read';
}

// ---------------------------------------------------------------------------------------------------
// Values

const printable = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((code) => String.fromCharCode(code)), maxLength: 40 });
// Header values fetch can send: Latin-1 without control characters (it refuses DEL).
const latin1 = fc.string({
  unit: fc
    .integer({ min: 0x20, max: 0xff })
    .filter((code) => code !== 0x7f)
    .map((code) => String.fromCharCode(code)),
  maxLength: 40,
});

const NASTY = [
  '',
  ' ',
  '\u0000',
  '\u0007',
  '\t',
  '\r\n',
  '\u0085',
  '\u009f',
  '\u00a0',
  '\u2028',
  '\u2029',
  '\u202e',
  '\ufeff',
  '\ud800',
  '\udfff',
  '\uffff',
  '💥',
  'é',
  '<script>alert(1)</script>',
  '"; alert(1); //',
  '${7*7}',
  '{{7*7}}',
  '../../etc/passwd',
  '%00',
  '%',
  'null',
  'undefined',
  'NaN',
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  '0',
  '-1',
  '1e309',
  'x'.repeat(2_000),
  '\u0000'.repeat(100),
  '\\',
  '\\u0000',
];
const nasty = fc.constantFrom(...NASTY);
const anyString = fc.oneof(
  { weight: 2, arbitrary: fc.string() },
  { weight: 2, arbitrary: fc.string({ unit: 'binary' }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 200 }) },
  { weight: 2, arbitrary: nasty },
);
/** Objects whose keys try to reach a prototype. */
const pollutingObject = fc.constantFrom<unknown>(
  { __proto__: null, polluted: 'yes' },
  JSON.parse('{"__proto__":{"polluted":"yes"}}'),
  JSON.parse('{"constructor":{"prototype":{"polluted":"yes"}}}'),
  JSON.parse('{"prototype":{"polluted":"yes"},"__proto__":[1]}'),
);
/** Where a string belongs: anything JSON can carry. */
const anyValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 6, arbitrary: anyString },
  { weight: 1, arbitrary: fc.oneof(fc.integer(), fc.double(), fc.constantFrom(0, -0, 1e21, 8135551234, Number.MAX_SAFE_INTEGER)) },
  { weight: 1, arbitrary: fc.boolean() },
  { weight: 1, arbitrary: fc.constant(null) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 1, arbitrary: pollutingObject },
  { weight: 1, arbitrary: fc.array(anyString, { maxLength: 3 }) },
);
const anyName = fc.oneof(
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      '__proto__',
      'constructor',
      'prototype',
      '__proto__[polluted]',
      'constructor[prototype][polluted]',
      'polluted',
      '',
      'id[]',
      'id[0]',
    ),
  },
  { weight: 1, arbitrary: fc.string({ maxLength: 12 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 6 }) },
);

type Pairs = [string, unknown][];

/** A JSON object written pair by pair: keys may repeat and may be `__proto__`. */
const jsonText = (pairs: Pairs) => `{${pairs.map(([name, value]) => `${JSON.stringify(name)}:${JSON.stringify(value)}`).join(',')}}`;
const asText = (value: unknown) => (typeof value === 'string' ? value : JSON.stringify(value));

const malformedJson = fc.oneof(
  fc.json({ maxDepth: 3 }).chain((text) => fc.nat(Math.max(0, text.length - 1)).map((cut) => text.slice(0, cut))),
  fc.json({ maxDepth: 2 }).filter((text) => !text.startsWith('{')),
  anyString,
  fc.constantFrom(
    '\ufeff{}',
    '{"a":1}x',
    '{"a":1,}',
    "{'a':1}",
    '{"a":NaN}',
    '{"a":01}',
    '[]',
    'null',
    '"x"',
    '1e999',
    '{"__proto__":',
    `{"a":${'['.repeat(1_500)}${']'.repeat(1_500)}}`,
    '['.repeat(1_900),
  ),
);

const JSON_TYPES = ['application/json', 'application/json; charset=utf-8', 'Application/JSON', 'application/json;charset=latin1'];
const OTHER_TYPES = [
  'text/plain',
  'application/xml',
  'application/vnd.api+json',
  'application/json-patch+json',
  '',
  '*/*',
  'multipart/mixed; boundary=x',
  'text/json',
];
const otherType = fc.oneof(fc.constantFrom(...OTHER_TYPES), printable, latin1);

/**
 * A POST body from field pairs, in every encoding the server may or may not accept, malformed, or over
 * the limit; sometimes with a content type that does not match, or a Content-Encoding.
 */
function postBody(pairs: fc.Arbitrary<Pairs>, limit: number): fc.Arbitrary<{ body: Body; headers: Record<string, string> }> {
  const encoded = fc.oneof(
    {
      weight: 6,
      arbitrary: fc
        .tuple(pairs, fc.constantFrom(...JSON_TYPES))
        .map(([list, type]) => ({ body: { kind: 'json', text: jsonText(list) } as Body, type })),
    },
    {
      weight: 2,
      arbitrary: fc
        .tuple(malformedJson, fc.constantFrom(...JSON_TYPES))
        .map(([text, type]) => ({ body: { kind: 'text', text } as Body, type })),
    },
    {
      weight: 2,
      arbitrary: pairs.map((list) => ({
        body: {
          kind: 'urlencoded',
          text: new URLSearchParams(list.map(([name, value]): [string, string] => [name, asText(value)])).toString(),
        } as Body,
        type: MEDIA.form,
      })),
    },
    {
      weight: 1,
      arbitrary: fc
        .tuple(anyString, fc.constantFrom(MEDIA.form, 'multipart/form-data; boundary=zz', MEDIA.multipart))
        .map(([text, type]) => ({ body: { kind: 'text', text } as Body, type })),
    },
    {
      weight: 2,
      arbitrary: fc.tuple(pairs, fc.boolean()).map(([list, file]) => ({
        body: {
          kind: 'multipart',
          parts: [
            ...list.map(([name, value]): [string, string] => [name, asText(value)]),
            ...(file ? [['upload', { file: 'data' }] as [string, { file: string }]] : []),
          ],
        } as Body,
        type: undefined,
      })),
    },
    {
      weight: 1,
      arbitrary: fc.tuple(pairs, otherType).map(([list, type]) => ({ body: { kind: 'text', text: jsonText(list) } as Body, type })),
    },
    {
      weight: 1,
      arbitrary: fc
        .record({
          size: fc.integer({ min: limit + 1, max: limit * 4 }),
          stream: fc.boolean(),
          type: fc.constantFrom(...JSON_TYPES, MEDIA.form),
        })
        .map(({ size, stream, type }) => ({
          body: { kind: 'oversize', size, stream } as Body,
          type,
        })),
    },
  );
  return fc
    .tuple(encoded, fc.constantFrom(...Array<undefined>(10).fill(undefined), 'gzip', 'identity'))
    .map(([{ body, type }, encoding]) => {
      const headers: Record<string, string> = {};
      if (type !== undefined) headers['content-type'] = type;
      if (encoding) headers['content-encoding'] = encoding;
      return { body, headers };
    });
}

/** What the server reads from a body it accepts, decoded with the platform's own decoders; `undefined` when it cannot be read as fields. */
async function decodeFields(body: Body): Promise<Map<string, string> | 'bad' | undefined> {
  const fields = new Map<string, string>();
  if (body.kind === 'json') {
    const data = JSON.parse(body.text) as Record<string, unknown>;
    for (const [name, value] of Object.entries(data)) {
      if (value === null) continue;
      if (typeof value === 'string') fields.set(name, value);
      else if (typeof value === 'number' || typeof value === 'boolean') fields.set(name, String(value));
      else return 'bad';
    }
    return fields;
  }
  let entries: [string, unknown][];
  if (body.kind === 'urlencoded') entries = [...new URLSearchParams(body.text)];
  else if (body.kind === 'multipart') entries = [...(await new Response(bodyInit(body).body).formData())];
  else return undefined;
  for (const [name, value] of entries) {
    if (typeof value !== 'string' || fields.has(name)) return 'bad';
    fields.set(name, value);
  }
  return fields;
}

// ---------------------------------------------------------------------------------------------------
// POST /click-to-call

const KNOWN_IDS = ['example.com-sales', 'example.com-locked', 'example.com-sms', 'example.com-voice', 'nobody.net-x'];
const GOOD_NUMBERS = ['8135551234', '(813) 555-1234', '+1 813 555 1234', '813.555.1234', '+1-416-555-0199'];
const BAD_NUMBERS = ['900-555-1234', '+1 876 555 1234', '+44 20 7946 0958', '555-1234', 'abc', '+1 813 555 12345678', '911', ''];

const phoneValue = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...GOOD_NUMBERS) },
  { weight: 2, arbitrary: fc.constantFrom(...BAD_NUMBERS) },
  { weight: 2, arbitrary: fc.stringMatching(/^\+?1?[2-9]\d{2}[2-9]\d{6}$/) },
  { weight: 2, arbitrary: anyValue },
);
const idValue = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...KNOWN_IDS, ' example.com-sales ') },
  { weight: 1, arbitrary: anyValue },
);

const callPairs: fc.Arbitrary<Pairs> = fc
  .record({
    id: fc.option(idValue, { nil: undefined, freq: 6 }),
    domain: fc.option(idValue, { nil: undefined, freq: 2 }),
    phone: fc.option(phoneValue, { nil: undefined, freq: 6 }),
    extra: fc.array(
      fc.tuple(
        fc.oneof(anyName, fc.constantFrom('queue', 'destination', 'id', 'phone_number')),
        fc.oneof(anyValue, fc.constant('666@evil.example')),
      ),
      { maxLength: 3 },
    ),
  })
  .map(({ id, domain, phone, extra }) => {
    const pairs: Pairs = [];
    if (id !== undefined) pairs.push(['id', id]);
    if (domain !== undefined) pairs.push(['domain', domain]);
    if (phone !== undefined) pairs.push(['phone_number', phone]);
    return [...pairs, ...extra];
  });

const ORIGINS = [undefined, 'https://www.example.com', 'https://evil.example', 'null', 'https://www.example.com.evil.example'];
const callCase: fc.Arbitrary<Case> = fc
  .tuple(postBody(callPairs, 4_096), fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...ORIGINS) }, { weight: 1, arbitrary: latin1 }))
  .map(([{ body, headers }, origin]) => ({
    method: 'POST',
    path: '/click-to-call',
    body,
    headers: origin === undefined ? headers : { ...headers, origin },
  }));

/** The statuses the README allows for this request (the number's verdict aside, unless it is one of the known ones). */
async function expectedCall(request: Case): Promise<number[]> {
  const verdict = bodyVerdict(request, [MEDIA.json], 4_096);
  if (verdict !== 'read') return [verdict];
  const body = request.body!;
  let fields: Map<string, string> | 'bad' | undefined;
  try {
    fields = await decodeFields(body);
  } catch {
    return [400];
  }
  if (fields === undefined) return [400, 404];
  if (fields === 'bad') return [400];
  const id = (fields.get('id') ?? fields.get('domain') ?? '').trim();
  const tenant = ID_RE.test(id) ? harness.deps.tenants.get(id) : undefined;
  if (!tenant?.queue) return [404];
  if (tenant.allowed_origins && !tenant.allowed_origins.includes(request.headers.origin ?? '')) return [403];
  const phone = fields.get('phone_number');
  if (phone !== undefined && GOOD_NUMBERS.includes(phone)) return [200];
  if (phone === undefined || BAD_NUMBERS.includes(phone)) return [400];
  return [200, 400];
}

async function checkCall(request: Case, exchange: Exchange, name: string): Promise<void> {
  const expected = await expectedCall(request);
  check(expected.includes(exchange.status), `expected ${expected.join(' or ')}`, exchange);
  if (exchange.status === 200) {
    check(/^application\/json/.test(exchange.type) && exchange.text === '{"status":"ok"}', 'a 200 that is not {"status":"ok"}', exchange);
  } else {
    checkEnvelope(exchange);
  }
  count(name, exchange.status);
}

test.serial('POST /click-to-call: any body, type, size or origin is a 200 or the documented 4xx, and a call only on 200', async (t) => {
  t.timeout(PROPERTY_TIMEOUT_MS);
  const queues = new Set(
    Object.values(FUZZ_TENANTS)
      .map((tenant) => tenant.queue)
      .filter(Boolean),
  );
  await fc.assert(
    fc.asyncProperty(callCase, async (request) => {
      const callsBefore = harness.sandbox.calls.length;
      const exchange = await send(request);
      await checkCall(request, exchange, 'click-to-call');
      const calls = harness.sandbox.calls.slice(callsBefore);
      check(calls.length === (exchange.status === 200 ? 1 : 0), `${calls.length} calls placed for a ${exchange.status}`, exchange);
      for (const call of calls) {
        check(queues.has(call.queue), `a call into ${call.queue}, a queue that is not configured`);
        check(/^\+[1-9]\d{7,14}$/.test(call.destination), `a call to ${call.destination}`);
      }
      checkProcess();
    }),
    params(2_000),
  );
  t.log(
    `click-to-call: ${ran['click-to-call']} cases, statuses ${JSON.stringify(statuses['click-to-call'])}, ${harness.sandbox.calls.length} calls placed`,
  );
  t.true((statuses['click-to-call']?.[200] ?? 0) > 0, 'some requests were valid');
});

// ---------------------------------------------------------------------------------------------------
// GET|POST /webresponder

const queryKey = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('id', 'NmsAni', 'NmsDnis', 'AccountUser', 'id[]', 'id[0]', 'domain') },
  { weight: 1, arbitrary: anyName },
);
const queryValue = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...KNOWN_IDS, '8135551234', '+18135551234', 'sip:18135551234@example.com', '1001', '') },
  { weight: 2, arbitrary: anyString },
);
const TEXTERS = new Map(
  Object.entries(FUZZ_TENANTS)
    .filter(([, tenant]) => tenant.message)
    .map(([id, tenant]) => [id, tenant]),
);

/** encodeURIComponent, for any string: a lone surrogate cannot be sent in a URL and is sent as U+FFFD. */
const encode = (value: string) => encodeURIComponent(value.replace(/\p{Cs}/gu, '\ufffd'));
/** A query string: pairs (keys repeat, brackets, `__proto__`), or raw text with stray `%`, `&` and `=`. */
const rawQuery = fc.oneof(
  {
    weight: 4,
    arbitrary: fc
      .array(fc.tuple(queryKey, queryValue), { maxLength: 6 })
      .map((pairs) => pairs.map(([key, value]) => `${encode(key)}=${encode(value)}`).join('&')),
  },
  {
    weight: 1,
    arbitrary: fc.string({
      unit: fc.constantFrom('a', 'i', 'd', '=', '&', '%', '2', 'F', '+', '[', ']', ';', '\u00e9', ' '),
      maxLength: 30,
    }),
  },
);

/** What NetSapiens sends: an id, the caller, and more. */
const callerQuery = fc
  .tuple(
    fc.constantFrom(...TEXTERS.keys(), 'example.com-sales'),
    fc.oneof(fc.stringMatching(/^\+?1?[2-9]\d{2}[2-9]\d{6}$/), queryValue),
    rawQuery,
  )
  .map(([id, caller, rest]) => `id=${encode(id)}&NmsAni=${encode(caller)}${rest ? `&${rest}` : ''}`);

const webresponderCase: fc.Arbitrary<Case> = fc.oneof(
  fc
    .tuple(fc.constantFrom('GET', 'HEAD'), fc.oneof(rawQuery, callerQuery))
    .map(([method, query]) => ({ method, path: `/webresponder?${query}`, headers: {} })),
  fc
    .tuple(rawQuery, postBody(fc.array(fc.tuple(queryKey, fc.oneof(queryValue, anyValue)), { maxLength: 5 }), 16_384))
    .map(([query, { body, headers }]) => ({ method: 'POST', path: `/webresponder?${query}`, body, headers })),
);

/** The first `id` of the query as sent (fetch normalises the URL first). */
const firstId = (path: string) => new URL(harness.url + path).searchParams.getAll('id')[0];

test.serial('GET|POST /webresponder: any query or body is NS XML, 200 for a well-formed id, texts only to real callers', async (t) => {
  t.timeout(PROPERTY_TIMEOUT_MS);
  await fc.assert(
    fc.asyncProperty(webresponderCase, async (request) => {
      const exchange = await send(request);
      checkXml(exchange, request.method);
      const id = firstId(request.path);
      if (request.method !== 'POST') {
        check(
          exchange.status === (ID_RE.test(id ?? '') ? 200 : 400),
          `expected ${ID_RE.test(id ?? '') ? 200 : 400} for id ${JSON.stringify(id)}`,
          exchange,
        );
      } else {
        const verdict = bodyVerdict(request, [MEDIA.form, MEDIA.json, MEDIA.multipart], 16_384);
        if (verdict === 415) {
          // A body of a type it cannot read is ignored: the query alone decides, as for a GET.
          check(
            exchange.status === (ID_RE.test(id ?? '') ? 200 : 400),
            `expected the query to decide for id ${JSON.stringify(id)}`,
            exchange,
          );
        } else if (verdict !== 'read') check(exchange.status === verdict, `expected ${verdict}`, exchange);
        else check([200, 400].includes(exchange.status), 'expected 200 or 400', exchange);
        if (verdict === 'read' && id !== undefined) {
          // The configured ?id= wins over the body's; a body NetSapiens could send (form or JSON fields) is read.
          const fields = await decodeFields(request.body!).catch(() => 'bad' as const);
          if (fields instanceof Map)
            check(
              exchange.status === (ID_RE.test(id) ? 200 : 400),
              `expected ${ID_RE.test(id) ? 200 : 400} for id ${JSON.stringify(id)}`,
              exchange,
            );
        }
      }
      if (exchange.status === 200 && request.method === 'GET') {
        check(/<Say>/.test(exchange.text) === (id === 'example.com-voice'), 'a <Say> exactly for the id with a voice message', exchange);
      }
      count('webresponder', exchange.status);
      checkProcess();
    }),
    params(1_500),
  );
  await harness.deps.background.drain(5_000);
  checkProcess();
  const texts = harness.sandbox.messages;
  const perCaller = new Map<string, number>();
  for (const text of texts) {
    const tenant = [...TEXTERS.values()].find(
      (candidate) => candidate.from_number === text.fromNumber && candidate.message === text.message,
    );
    t.truthy(tenant, `a text that no id would send: ${JSON.stringify(text)}`);
    const destination = String(text.destination);
    t.regex(destination, /^[1-9]\d{7,14}$/, 'texts go to real numbers only');
    perCaller.set(destination, (perCaller.get(destination) ?? 0) + 1);
  }
  // Two ids text (the same message from the same number): one text per caller per id within the window.
  t.true(
    [...perCaller.values()].every((n) => n <= TEXTERS.size),
    `a caller texted more than once per id: ${JSON.stringify([...perCaller])}`,
  );
  t.log(`webresponder: ${ran.webresponder} cases, statuses ${JSON.stringify(statuses.webresponder)}, ${texts.length} texts sent`);
});

// ---------------------------------------------------------------------------------------------------
// POST /update-domain and /update-sms

const FORM_FIELDS = {
  '/update-domain': ['api_domain', 'queue', 'button_text', 'button_color', 'company_name', 'logo_url'],
  '/update-sms': ['api_domain', 'user', 'ns_system_user', 'from_number', 'message'],
} as const;
type FormPath = keyof typeof FORM_FIELDS;
const BRANDING = ['button_text', 'button_color', 'company_name', 'logo_url'];

/** The documented rules for each field (docs/configuration.md), applied to the value after trimming. */
const normaliseNumber = (value: string) => {
  const digits = value.replace(/[\s().+-]/g, '');
  return /^\d{10}$/.test(digits) && !value.startsWith('+') ? `1${digits}` : digits;
};
const isUser = (value: string) => /^[A-Za-z0-9_.-]{1,64}$/.test(value) && value !== '.' && value !== '..';
const RULES: Record<string, (value: string) => boolean> = {
  api_domain: (value) => /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/.test(value),
  queue: (value) => /^[A-Za-z0-9_.-]{1,64}(@[A-Za-z0-9][A-Za-z0-9_.-]{0,127})?$/.test(value),
  button_text: (value) => value.length <= 60 && !CONTROL.test(value),
  button_color: (value) => value === '' || /^#[0-9A-Fa-f]{6}$/.test(value),
  company_name: (value) => value.length <= 100 && !CONTROL.test(value),
  logo_url: (value) => value === '' || (/^https?:\/\//i.test(value) && URL.canParse(value) && !CONTROL.test(value)),
  user: isUser,
  ns_system_user: isUser,
  from_number: (value) => /^[1-9]\d{7,14}$/.test(normaliseNumber(value)),
  message: (value) => value.trim() !== '' && value.length <= 1000 && !CONTROL.test(value.replace(/[\t\r\n]/g, ' ')),
};
/** What a valid value is stored as. */
function stored(name: string, value: string, apiDomain: string): string {
  if (name === 'queue') return value.includes('@') ? value : `${value}@${apiDomain}`;
  if (name === 'from_number') return normaliseNumber(value);
  return value;
}

const FORM_IDS = [
  'example.com-sales',
  'example.com-sms',
  'fuzz.com-a',
  'fuzz.com-b',
  'new.com-x',
  'constructor',
  'hasOwnProperty',
  'toString',
  ' fuzz.com-a ',
];
const validField: Record<string, fc.Arbitrary<string>> = {
  api_domain: fc.oneof(
    fc.constantFrom('example.com', 'fuzz.com', 'a.b-c_d', ' fuzz.com '),
    fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,20}$/),
  ),
  queue: fc.oneof(
    fc.constantFrom('500', '9002@example.com', ' 7@fuzz.com ', 'q_1.x'),
    fc.stringMatching(/^[A-Za-z0-9_.-]{1,10}(@[A-Za-z0-9][A-Za-z0-9_.-]{0,10})?$/),
  ),
  button_text: fc.oneof(
    fc.string({ maxLength: 60 }),
    fc.string({ unit: 'grapheme', maxLength: 30 }),
    fc.constantFrom('</script><script>alert(1)</script>', 'a\u2028b', 'Ring\u00a0me'),
  ),
  button_color: fc.oneof(fc.stringMatching(/^#[0-9A-Fa-f]{6}$/), fc.constant('')),
  company_name: fc.oneof(
    fc.string({ maxLength: 100 }),
    fc.string({ unit: 'grapheme', maxLength: 50 }),
    fc.constantFrom('"; alert(2); //', '<!-- & -->'),
  ),
  logo_url: fc.oneof(
    fc.webUrl(),
    fc.constantFrom(
      '',
      'https://example.com/logo.png?a=<b>',
      'https:x',
      'javascript:alert(1)',
      'http://a b',
      'https://x/\ty',
      'ftp://x.com/a.png',
    ),
  ),
  user: fc.oneof(fc.constantFrom('2000', '.', '..', 'a_b.c-d'), fc.stringMatching(/^[A-Za-z0-9_.-]{1,12}$/)),
  ns_system_user: fc.oneof(fc.constantFrom('8001', '.', '..'), fc.stringMatching(/^[A-Za-z0-9_.-]{1,12}$/)),
  from_number: fc.oneof(
    fc.constantFrom('19295550100', '(929) 555-0100', '+44 20 7946 0958', '01234567890', '+1 929 555 0100'),
    fc.stringMatching(/^\+?[0-9 ().-]{8,20}$/),
  ),
  message: fc.oneof(
    fc.string({ minLength: 1, maxLength: 200 }),
    fc.string({ unit: 'binary', maxLength: 100 }),
    fc.constantFrom('Our hours are 9-5.\r\nCall again!', 'x'.repeat(1_000), 'x'.repeat(1_001), '   '),
  ),
};

type SecretPlace = 'header' | 'field' | 'both' | 'none' | 'wrong-header' | 'wrong-field' | 'wrong-field-right-header';
const secretPlace = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom<SecretPlace>('header', 'field', 'both') },
  { weight: 2, arbitrary: fc.constantFrom<SecretPlace>('none', 'wrong-header', 'wrong-field', 'wrong-field-right-header') },
);

function formCase(path: FormPath): fc.Arbitrary<Case & { secret: SecretPlace }> {
  const fields = fc.record(
    Object.fromEntries(
      FORM_FIELDS[path].map((name) => [
        name,
        fc.option(fc.oneof({ weight: 6, arbitrary: validField[name]! }, { weight: 1, arbitrary: anyValue }), {
          nil: undefined,
          freq: path === '/update-sms' ? 5 : 2,
        }),
      ]),
    ),
  ) as fc.Arbitrary<Record<string, unknown>>;
  const pairs = fc
    .record({
      id: fc.option(fc.oneof({ weight: 6, arbitrary: fc.constantFrom(...FORM_IDS) }, { weight: 1, arbitrary: anyValue }), {
        nil: undefined,
        freq: 10,
      }),
      fields,
      extra: fc.array(fc.tuple(anyName, anyValue), { maxLength: 2 }),
      secret: secretPlace,
    })
    .map(({ id, fields: values, extra, secret }) => {
      const list: Pairs = [];
      if (secret === 'field' || secret === 'both') list.push(['secret', SECRET]);
      if (secret === 'wrong-field' || secret === 'wrong-field-right-header') list.push(['secret', `${SECRET}-wrong`]);
      if (id !== undefined) list.push(['id', id]);
      for (const [name, value] of Object.entries(values)) if (value !== undefined) list.push([name, value]);
      return { list: [...list, ...extra], secret };
    });
  // The secret's place travels with the pairs, so that the body arbitrary can stay generic.
  return pairs.chain(({ list, secret }) =>
    postBody(fc.constant(list), 65_536).map(({ body, headers }) => {
      const all = { ...headers };
      if (secret === 'header' || secret === 'both' || secret === 'wrong-field-right-header') all['x-update-secret'] = SECRET;
      if (secret === 'wrong-header') all['x-update-secret'] = 'not-the-secret';
      return { method: 'POST', path, body, headers: all, secret };
    }),
  );
}

const readDisk = async (): Promise<Record<string, Record<string, unknown>>> =>
  JSON.parse(await readFile(harness.domainsFile, 'utf8')) as Record<string, Record<string, unknown>>;
const entryOf = (all: Record<string, Record<string, unknown>>, id: string) => (Object.hasOwn(all, id) ? all[id] : undefined);

/** The status the README gives this post; undefined when the body is not one the model reads (junk), then only invariants hold. */
async function expectedForm(
  request: Case & { secret: SecretPlace },
  before: Record<string, Record<string, unknown>>,
): Promise<{ status: number; fields?: Map<string, string> } | undefined> {
  const verdict = bodyVerdict(request, [MEDIA.form, MEDIA.multipart, MEDIA.json], 65_536);
  if (verdict !== 'read') return { status: verdict };
  let fields: Map<string, string> | 'bad' | undefined;
  try {
    fields = await decodeFields(request.body!);
  } catch {
    return request.body!.kind === 'json' || request.body!.kind === 'text' ? undefined : { status: 400 };
  }
  if (fields === undefined) return undefined;
  if (fields === 'bad') return { status: 400 };
  const secret = fields.get('secret') ?? request.headers['x-update-secret'];
  if (secret !== SECRET) return { status: 401 };
  const id = (fields.get('id') ?? '').trim();
  if (!ID_RE.test(id)) return { status: 400 };
  const path = request.path as FormPath;
  for (const name of FORM_FIELDS[path]) {
    const value = fields.get(name);
    if (value !== undefined && !RULES[name]!(value.trim())) return { status: 400 };
  }
  const current = entryOf(before, id);
  const merged = (name: string) => fields.get(name)?.trim() ?? (current?.[name] as string | undefined) ?? '';
  const required = path === '/update-domain' ? ['api_domain'] : ['api_domain', 'user', 'ns_system_user', 'from_number', 'message'];
  if (required.some((name) => merged(name) === '')) return { status: 400 };
  return { status: 200, fields };
}

async function checkSaved(
  request: Case,
  fields: Map<string, string> | undefined,
  before: Record<string, Record<string, unknown>>,
  after: Record<string, Record<string, unknown>>,
  exchange: Exchange,
) {
  const body = JSON.parse(exchange.text) as { id: string; provisioning?: Record<string, string>; provisioning_errors?: unknown };
  const id = body.id;
  const entry = entryOf(after, id);
  check(entry !== undefined, `a 200 for ${id}, which is not in the file`, exchange);
  // Every other id is untouched.
  for (const other of new Set([...Object.keys(before), ...Object.keys(after)])) {
    if (other !== id)
      check(isDeepStrictEqual(entryOf(before, other), entryOf(after, other)), `${other} changed by a post to ${id}`, exchange);
  }
  // What is stored obeys the README, whatever was sent.
  const branding = (entry.branding ?? {}) as Record<string, string>;
  const valueOf = (name: string) => (BRANDING.includes(name) ? branding[name] : entry[name]) as string | undefined;
  for (const name of Object.keys(RULES)) {
    const value = valueOf(name);
    if (value !== undefined)
      check(
        typeof value === 'string' && RULES[name]!(value) && (name !== 'from_number' || /^\d+$/.test(value)),
        `stored ${name} ${JSON.stringify(value)} breaks the README's rule`,
        exchange,
      );
  }
  if (entry.queue !== undefined) check(String(entry.queue).includes('@'), 'a bare queue was stored', exchange);
  // What was sent is what is stored; a field left out keeps its value.
  const previous = entryOf(before, id);
  const previousBranding = (previous?.branding ?? {}) as Record<string, string>;
  for (const name of FORM_FIELDS[request.path as FormPath]) {
    const sent = fields?.get(name);
    const old = BRANDING.includes(name) ? previousBranding[name] : (previous?.[name] as string | undefined);
    if (sent !== undefined)
      check(
        valueOf(name) === stored(name, sent.trim(), String(entry.api_domain)),
        `${name} ${JSON.stringify(sent)} stored as ${JSON.stringify(valueOf(name))}`,
        exchange,
      );
    else if (fields !== undefined)
      check(valueOf(name) === old, `${name}, left out, changed from ${JSON.stringify(old)} to ${JSON.stringify(valueOf(name))}`, exchange);
  }
  if (request.path === '/update-sms') {
    const steps = body.provisioning ?? {};
    check(
      ['created', 'exists'].includes(steps.user ?? '') &&
        ['created', 'exists', 'updated'].includes(steps.dial_rule ?? '') &&
        ['created', 'updated'].includes(steps.answer_rule ?? ''),
      `provisioning against a healthy NS failed: ${exchange.text}`,
      exchange,
    );
    check(body.provisioning_errors === undefined, 'provisioning errors against a healthy NS', exchange);
  } else {
    // The saved branding is served, as data, by /widget-config and the loader.
    const config = await send({ method: 'GET', path: `/widget-config?id=${encodeURIComponent(id)}`, headers: {} });
    check(config.status === 200, 'the saved id is not served by /widget-config', config);
    const expected = {
      id,
      ...(branding.button_text ? { buttonText: branding.button_text } : {}),
      ...(branding.button_color ? { buttonColor: branding.button_color } : {}),
      ...(branding.company_name ? { companyName: branding.company_name } : {}),
      ...(branding.logo_url ? { logoUrl: branding.logo_url } : {}),
      // This server keeps no database: no id takes bookings.
      scheduling: false,
    };
    check(isDeepStrictEqual(JSON.parse(config.text), expected), '/widget-config does not serve what was saved', config);
    const loader = await send({ method: 'GET', path: `/widget.js?id=${encodeURIComponent(id)}`, headers: {} });
    check(loader.status === 200 && !/<\/script|<!--|[\u2028\u2029]/i.test(loader.text), 'the loader carries branding as markup', loader);
    let compiles = true;
    try {
      new Script(loader.text);
    } catch {
      compiles = false;
    }
    check(compiles, 'the loader is not valid JavaScript', loader);
  }
}

for (const [path, runs] of [
  ['/update-domain', 900],
  ['/update-sms', 700],
] as const) {
  test.serial(
    `POST ${path}: exactly the posts the README allows are saved; every other is a 4xx naming why and writes nothing`,
    async (t) => {
      t.timeout(PROPERTY_TIMEOUT_MS);
      await fc.assert(
        fc.asyncProperty(formCase(path), async (request) => {
          const text = await readFile(harness.domainsFile, 'utf8');
          const before = JSON.parse(text) as Record<string, Record<string, unknown>>;
          const provisioned = harness.sandbox.requests.length;
          const expected = await expectedForm(request, before);
          const exchange = await send(request);
          if (expected) check(exchange.status === expected.status, `expected ${expected.status}`, exchange);
          else check([200, 400, 401].includes(exchange.status), 'expected 200, 400 or 401', exchange);
          if (request.secret !== 'header' && request.secret !== 'field' && request.secret !== 'both')
            check(exchange.status !== 200, 'saved without the secret', exchange);
          if (exchange.status === 200) {
            check(/^application\/json/.test(exchange.type), 'a 200 that is not JSON', exchange);
            await checkSaved(request, expected?.fields, before, await readDisk(), exchange);
          } else {
            checkEnvelope(exchange);
            if (exchange.status === 400) {
              const { message } = JSON.parse(exchange.text) as { message: string };
              check(
                /^(id|api_domain|queue|button_text|button_color|company_name|logo_url|user|ns_system_user|from_number|message|branding\.\w+) |^The (form |request )?body|^Compressed|^.+ (must be a string|must be a text field, not a file|is given more than once)$/s.test(
                  message,
                ),
                'a 400 that does not say which field or what about the body',
                exchange,
              );
            }
            check((await readFile(harness.domainsFile, 'utf8')) === text, 'a refused post changed domains.json', exchange);
            check(harness.sandbox.requests.length === provisioned, 'a refused post reached NetSapiens', exchange);
          }
          count(path, exchange.status);
          checkProcess();
        }),
        params(runs),
      );
      t.log(`${path}: ${ran[path]} cases, statuses ${JSON.stringify(statuses[path])}`);
      t.true((statuses[path]?.[200] ?? 0) > 0 && (statuses[path]?.[400] ?? 0) > 0, 'both outcomes were exercised');
    },
  );
}

// ---------------------------------------------------------------------------------------------------
// Every path, every method: the GET routes, the bundle, health, unknown paths

const METHODS = ['GET', 'GET', 'GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'PROPFIND', 'PURGE', 'SEARCH', 'MKCOL', 'LOCK'];
const ROUTES: Record<string, string[]> = {
  '/click-to-call': ['OPTIONS', 'POST'],
  '/widget.js': ['HEAD', 'GET'],
  '/widget-config': ['HEAD', 'GET'],
  '/widget/call-us-button.js': ['HEAD', 'GET'],
  '/widget/call-us-button.iife.js': ['HEAD', 'GET'],
  '/webresponder': ['HEAD', 'GET', 'POST'],
  '/update-domain': ['POST'],
  '/update-sms': ['POST'],
  '/health': ['HEAD', 'GET'],
};
const pathArb = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...Object.keys(ROUTES)) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '/HEALTH',
      '/Widget.js',
      '/health/',
      '//health',
      '/widget',
      '/widget/',
      '/widget/x.js',
      '/widget/../health',
      '/%2e%2e/health',
      '/health%00',
      '/',
      '/favicon.ico',
      '/.env',
      '/domains.json',
      '/click-to-call/x',
    ),
  },
  { weight: 2, arbitrary: fc.webPath() },
  {
    weight: 1,
    arbitrary: fc
      .array(fc.oneof(anyString, fc.constantFrom('..', '.', '%', '%zz', '%E0%A4%A')), { minLength: 1, maxLength: 3 })
      .map((segments) => `/${segments.join('/')}`),
  },
);
const anyHeaders = fc.record(
  {
    origin: fc.oneof(fc.constantFrom('https://shop.example', 'null'), latin1),
    'access-control-request-method': fc.constantFrom('POST', 'GET', 'DELETE', ''),
    'if-none-match': fc.oneof(fc.constantFrom('*', '""', 'W/"x"'), printable),
    accept: fc.oneof(fc.constantFrom('application/json', 'text/html', '*/*', 'application/javascript'), printable),
    'x-request-id': fc.oneof(fc.constantFrom('abcdefgh-1234', 'x'.repeat(200)), latin1),
    'x-forwarded-for': fc.oneof(fc.ipV4(), latin1),
    range: fc.constantFrom('bytes=0-10', 'bytes=-1', 'bytes=999999-'),
  },
  { requiredKeys: [] },
);

/** The route a path reaches: case-insensitive, one trailing slash allowed, as the router matches. */
function routeOf(path: string): string | undefined {
  const pathname = new URL(harness.url + path).pathname.toLowerCase();
  return Object.keys(ROUTES).find((route) => pathname === route || pathname === `${route}/`);
}
/** `?id=` (or `?domain=`) as the GET routes read it: given twice, it is no id. */
function lookupId(path: string): string {
  const search = new URL(harness.url + path).searchParams;
  const values = search.getAll('id').length > 0 ? search.getAll('id') : search.getAll('domain');
  return values.length === 1 ? values[0]! : '';
}

/** Ids a body may name, whatever its declared type (the route reads form, JSON and multipart). */
function idsInBody(body: Case['body']): string[] {
  if (body?.kind !== 'text') return [];
  const ids = new URLSearchParams(body.text).getAll('id');
  try {
    const parsed: unknown = JSON.parse(body.text);
    if (parsed !== null && typeof parsed === 'object' && typeof (parsed as { id?: unknown }).id === 'string')
      ids.push((parsed as { id: string }).id);
  } catch {
    // Not JSON: the form reading above is all there is.
  }
  return ids;
}

const anyRequest: fc.Arbitrary<Case> = fc
  .record({
    method: fc.constantFrom(...METHODS),
    path: pathArb,
    query: fc.option(rawQuery, { nil: undefined }),
    headers: anyHeaders,
    body: fc.option(fc.tuple(anyString, otherType), { nil: undefined }),
  })
  .map(({ method, path, query, headers, body }) => {
    const withQuery = query === undefined ? path : `${path}?${query}`;
    if (!body || method === 'GET' || method === 'HEAD') return { method, path: withQuery, headers };
    return { method, path: withQuery, headers: { ...headers, 'content-type': body[1] }, body: { kind: 'text', text: body[0] } as Body };
  })
  .filter((request) => URL.canParse(harness.url + request.path));

async function checkAnyRequest(request: Case, exchange: Exchange): Promise<void> {
  const { method } = request;
  const route = routeOf(request.path);
  check(exchange.status < 500, 'a 5xx', exchange);
  if (!route) {
    check(exchange.status === 404, 'an unknown path that is not a 404', exchange);
    checkEnvelope(exchange, method);
    return;
  }
  const allowed = ROUTES[route]!;
  if (!allowed.includes(method)) {
    if (method === 'OPTIONS') {
      check(
        exchange.status === 200 && exchange.headers.get('allow') === allowed.join(', '),
        'OPTIONS is not answered with Allow',
        exchange,
      );
      return;
    }
    check(exchange.status === 405, `${method} ${route} is not a 405`, exchange);
    check(exchange.headers.get('allow') === allowed.join(', '), 'a 405 without the right Allow', exchange);
    checkEnvelope(exchange, method);
    return;
  }
  const id = lookupId(request.path);
  const known = ID_RE.test(id) && harness.deps.tenants.get(id) !== undefined;
  switch (route) {
    case '/health':
      check(exchange.status === 200 && (method === 'HEAD' || exchange.text === '{"status":"ok"}'), '/health is not ok', exchange);
      return;
    case '/widget.js':
      check(/^application\/javascript/.test(exchange.type), '/widget.js is not JavaScript', exchange);
      check(exchange.status === (known ? 200 : 404), `expected ${known ? 200 : 404} for id ${JSON.stringify(id)}`, exchange);
      if (method === 'GET') {
        if (known) new Script(exchange.text);
        else check(/^\/\/ .+\n$/.test(exchange.text), 'a 404 that is not a JS comment', exchange);
      }
      return;
    case '/widget-config':
      check(exchange.status === (known ? 200 : 404), `expected ${known ? 200 : 404} for id ${JSON.stringify(id)}`, exchange);
      if (known) check(method === 'HEAD' || (JSON.parse(exchange.text) as { id: string }).id === id, 'the config of another id', exchange);
      else checkEnvelope(exchange, method);
      return;
    case '/widget/call-us-button.js':
    case '/widget/call-us-button.iife.js':
      check(/^application\/javascript/.test(exchange.type), 'the bundle is not JavaScript', exchange);
      check(
        exchange.status === 200 || (exchange.status === 304 && request.headers['if-none-match'] === '*'),
        'the bundle is not served',
        exchange,
      );
      return;
    case '/webresponder':
      checkXml(exchange, method);
      {
        // 403 only where a signature decides: a `sig` in the query, or an id the fuzzed SMS form has signed.
        const query = new URL(harness.url + request.path).searchParams;
        const named = [...query.getAll('id'), ...idsInBody(request.body)];
        const signed = query.has('sig') || named.some((candidate) => harness.deps.tenants.get(candidate)?.webresponder_signed === true);
        check([200, 400, 413, ...(signed ? [403] : [])].includes(exchange.status), 'an unexpected /webresponder status', exchange);
      }
      return;
    case '/click-to-call':
      if (method === 'OPTIONS') {
        // A header's value does not include the whitespace around it (RFC 9110 §5.5): an Origin of " " arrives
        // empty. HTTP's whitespace is space and tab only; JavaScript's trim() would also strip a no-break space.
        const origin = httpTrim(request.headers.origin);
        const preflight = Boolean(origin && httpTrim(request.headers['access-control-request-method']));
        check(exchange.status === (preflight ? 204 : 200), 'OPTIONS /click-to-call', exchange);
        if (preflight)
          check(exchange.headers.get('access-control-allow-origin') === origin, 'the preflight does not echo the origin', exchange);
        return;
      }
      check([400, 404, 413, 415].includes(exchange.status), 'an unexpected /click-to-call status', exchange);
      checkEnvelope(exchange, method);
      return;
    default:
      // The forms, without their secret.
      check([400, 401, 413, 415].includes(exchange.status), 'an unexpected form status', exchange);
      checkEnvelope(exchange, method);
  }
}

test.serial("every path and method: the documented answer in the route's own format, 404 elsewhere, never a 5xx", async (t) => {
  t.timeout(PROPERTY_TIMEOUT_MS);
  await fc.assert(
    fc.asyncProperty(anyRequest, async (request) => {
      const exchange = await send(request);
      await checkAnyRequest(request, exchange);
      count('any', exchange.status);
      checkProcess();
    }),
    params(2_000),
  );
  t.log(`any path/method: ${ran.any} cases, statuses ${JSON.stringify(statuses.any)}`);
  t.is(statuses.any?.[500] ?? 0, 0);
});

// ---------------------------------------------------------------------------------------------------
// Low limits: 429 is the only difference they make

test.serial('with low limits, a request answers as with high ones, or 429 with Retry-After where it would have been a 200', async (t) => {
  t.timeout(PROPERTY_TIMEOUT_MS);
  const high = harness.deps.limits;
  const low = createMemoryLimits({
    limits: { ...HIGH, ipPerMinute: 3, idPerHour: 4, numberPerHour: 1, numbersPerVisitorPerHour: 2 },
    textBackWindowSeconds: 600,
  });
  const numbers = fc.integer({ min: 2_000_000, max: 9_999_999 }).map((n) => `813${n}`);
  const validish = fc
    .tuple(
      fc.constantFrom('example.com-sales', 'example.com-sales', 'example.com-sms', 'nobody.net-x', 'bad id'),
      fc.oneof(numbers, fc.constantFrom('8135551234', '900-555-1234', 'abc')),
    )
    .map(([id, phone]): Case => ({
      method: 'POST',
      path: '/click-to-call',
      headers: { 'content-type': 'application/json' },
      body: { kind: 'json', text: JSON.stringify({ id, phone_number: phone }) },
    }));
  const limited = fc.oneof({ weight: 3, arbitrary: validish }, { weight: 1, arbitrary: callCase });
  try {
    await fc.assert(
      fc.asyncProperty(limited, async (request) => {
        harness.deps.limits = high;
        const unlimited = await send(request);
        harness.deps.limits = low;
        const callsBefore = harness.sandbox.calls.length;
        const exchange = await send(request);
        if (exchange.status !== unlimited.status) {
          check(
            unlimited.status === 200 && exchange.status === 429,
            `${unlimited.status} without limits, ${exchange.status} with them`,
            exchange,
          );
          check(Number(exchange.headers.get('retry-after')) >= 1, 'a 429 without Retry-After', exchange);
          check(harness.sandbox.calls.length === callsBefore, 'a call placed with a 429', exchange);
        }
        if (exchange.status !== 200) checkEnvelope(exchange);
        count('limits', exchange.status);
        checkProcess();
      }),
      params(500),
    );
  } finally {
    harness.deps.limits = high;
  }
  t.log(`low limits: ${ran.limits} cases, statuses ${JSON.stringify(statuses.limits)}`);
  t.true((statuses.limits?.[429] ?? 0) > 0, 'the limits were reached');
});

test.serial('afterwards: no prototype polluted, the server still healthy, nothing logged at error level', async (t) => {
  t.is(({} as Record<string, unknown>).polluted, undefined);
  t.is(protoShape(), PROTO_SHAPE);
  t.deepEqual(await (await fetch(`${harness.url}/health`)).json(), { status: 'ok' });
  await harness.deps.background.drain(5_000);
  t.deepEqual(
    harness.logs.filter((line) => line.level >= 50).map((line) => line.msg),
    [],
  );
  const total = Object.values(ran).reduce((sum, n) => sum + n, 0);
  t.log(`${total} cases in all`);
  t.true(total >= 7_000);
});
