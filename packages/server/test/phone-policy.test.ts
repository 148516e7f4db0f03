import test from 'ava';
import fc from 'fast-check';
import { callerDigits, checkCaller, checkPhone } from '../src/guards/phone-policy.js';
import { startHarness, TENANTS } from './helpers.js';

const DEFAULTS = {};
const ABROAD = { allowed_countries: ['US', 'CA', 'GB', 'FR', 'DE', 'AU', 'IT'] };

/** Numbers that bill the caller (here: the site owner) above ordinary rates, as libphonenumber types them. */
const PREMIUM_AND_SHARED_COST = [
  ['+44 909 879 0000', 'GB premium rate'],
  ['+44 871 123 4567', 'GB 087 service number (typed premium rate)'],
  ['+33 8 99 12 34 56', 'FR premium rate'],
  ['+33 8 10 12 34 56', 'FR shared cost'],
  ['+49 900 1234567', 'DE premium rate'],
  ['+49 180 1234567', 'DE shared cost'],
  ['+61 1900 123 456', 'AU premium rate'],
  ['+61 1300 123 456', 'AU shared cost'],
  ['+61 13 12 34', 'AU shared cost, six digits'],
  ['900-555-1234', 'NANP 900'],
] as const;

/** Numbers that are someone's service rather than a visitor's phone, several billed above ordinary rates. */
const NOT_A_PHONE = [
  ['+44 70 1234 5678', 'GB personal (follow-me) number'],
  ['+49 700 12345678', 'DE personal number'],
  ['+44 55 1234 5678', 'GB UAN (corporate)'],
  ['+33 8 06 12 34 56', 'FR UAN'],
  ['+49 181 12345', 'DE UAN'],
  ['+49 16013 1234567', 'DE mobile voicemail'],
  ['+39 331 2345 6789', 'IT mobile voicemail'],
  ['+44 7640 123456', 'GB pager'],
  ['+49 164 1234567', 'DE pager'],
] as const;

/** NANP special services, under the default countries (US and CA among them). */
const NANP_SPECIAL = [
  ...['500', '533', '544', '566', '577', '588'].map(
    (npa) => [`+1 ${npa} 234 5678`, `NANP ${npa} personal communications service`] as const,
  ),
  ['+1 600 234 5678', 'Canadian non-geographic tariffed services (typed VoIP)'],
  ['+1 622 234 5678', 'Canadian non-geographic personal number'],
  ['+1 813 976 1234', 'NANP 976 exchange'],
  ['310-1234', 'Canadian 310 universal access number, seven digits'],
] as const;

test('premium-rate and shared-cost numbers are refused in every allowed country, not only NANP 900', (t) => {
  for (const [number, kind] of PREMIUM_AND_SHARED_COST) t.deepEqual(checkPhone(number, ABROAD), { ok: false, reason: 'premium' }, kind);
});

test('personal, UAN, voicemail and pager numbers are refused as premium', (t) => {
  for (const [number, kind] of NOT_A_PHONE) t.deepEqual(checkPhone(number, ABROAD), { ok: false, reason: 'premium' }, kind);
});

test('NANP personal communications (5XX), Canadian non-geographic (600, 622), 976 and 310 numbers are refused under the default countries', (t) => {
  for (const [number, kind] of NANP_SPECIAL) t.deepEqual(checkPhone(number, DEFAULTS), { ok: false, reason: 'premium' }, kind);
});

test('a premium number is refused as premium even where its country is not allowed', (t) => {
  t.deepEqual(checkPhone('+44 909 879 0000', DEFAULTS), { ok: false, reason: 'premium' });
});

test('ordinary numbers still pass: fixed line, mobile, VoIP and toll-free, under the defaults and in allowed countries', (t) => {
  const cases = [
    ['(813) 555-1234', DEFAULTS, '+18135551234'],
    ['+1-416-555-0199', DEFAULTS, '+14165550199'],
    ['+1 787 555 1234', DEFAULTS, '+17875551234'],
    ['1-800-555-1234', DEFAULTS, '+18005551234'],
    ['+44 20 7946 0958', ABROAD, '+442079460958'],
    ['+44 7400 123456', ABROAD, '+447400123456'],
    ['+44 56 1234 5678', ABROAD, '+445612345678'],
    ['+44 800 123 4567', ABROAD, '+448001234567'],
    ['+33 1 23 45 67 89', ABROAD, '+33123456789'],
    ['+33 6 12 34 56 78', ABROAD, '+33612345678'],
    ['+33 9 12 34 56 78', ABROAD, '+33912345678'],
    ['+33 800 12 34 56', ABROAD, '+33800123456'],
    ['+49 30 12345678', ABROAD, '+493012345678'],
    ['+49 1512 3456789', ABROAD, '+4915123456789'],
    ['+49 800 1234567', ABROAD, '+498001234567'],
    ['+61 2 9123 4567', ABROAD, '+61291234567'],
    ['+61 412 345 678', ABROAD, '+61412345678'],
    ['+61 1800 123 456', ABROAD, '+611800123456'],
  ] as const;
  for (const [number, tenant, e164] of cases) t.deepEqual(checkPhone(number, tenant), { ok: true, e164 }, number);
});

test('numbers the full metadata does not know are invalid in every country, not only in NANP', (t) => {
  for (const number of ['+33 7 00 00 00 00', '+33 8 70 12 34 56', '+49 12 3456789', '+49 190 1234567']) {
    t.deepEqual(checkPhone(number, ABROAD), { ok: false, reason: 'invalid' }, number);
  }
});

test('callerDigits takes as a phone number only what checkPhone takes as valid', (t) => {
  t.is(callerDigits('33700000000'), undefined);
  t.is(callerDigits('49123456789'), undefined);
  t.is(callerDigits('33612345678'), '33612345678');
  t.is(callerDigits('sip:18135551234@example.com'), '18135551234');
});

test('checkCaller parses a caller once and decides as callerDigits then checkPhone on +digits would', (t) => {
  // What the text-back did before it parsed the number once: two parses, the second of the E.164 form.
  const twice = (nmsAni: string, tenant: typeof DEFAULTS | typeof ABROAD) => {
    const digits = callerDigits(nmsAni);
    return digits === undefined ? undefined : { digits, verdict: checkPhone(`+${digits}`, tenant) };
  };
  const listed = [...PREMIUM_AND_SHARED_COST, ...NOT_A_PHONE, ...NANP_SPECIAL].map(([number]) => number.replace(/\D/g, ''));
  const known = ['18135551234', '8135551234', '17875551234', '14165551234', '18095551234', '16715551234', '33612345678', '442079460000'];
  for (const nmsAni of [...listed, ...known, 'sip:18135551234@example.com', '+1 (813) 555-1234', '2000', '']) {
    for (const tenant of [DEFAULTS, ABROAD]) t.deepEqual(checkCaller(nmsAni, tenant), twice(nmsAni, tenant), nmsAni);
  }
  // Any digits NetSapiens might send: national NANP, with a country code, short extensions, with or without `+`.
  const nmsAnis = fc
    .tuple(fc.constantFrom('', '+', '1', 'sip:'), fc.stringMatching(/^[0-9]{3,14}$/))
    .map(([head, digits]) => head + digits);
  fc.assert(
    fc.property(nmsAnis, fc.constantFrom(DEFAULTS, ABROAD), (nmsAni, tenant) => {
      t.deepEqual(checkCaller(nmsAni, tenant), twice(nmsAni, tenant), nmsAni);
    }),
    { numRuns: 5_000 },
  );
});

test('click-to-call refuses a premium number in an allowed country and calls an ordinary one', async (t) => {
  const harness = await startHarness({
    tenants: { ...TENANTS, 'example.com-eu': { api_domain: 'example.com', queue: '9002@example.com', ...ABROAD } },
  });
  t.teardown(() => harness.close());
  const refused = await harness.post('/click-to-call', { id: 'example.com-eu', phone_number: '+33 8 99 12 34 56' });
  t.is(refused.status, 400);
  t.like(await refused.json(), { status: 'error', code: 'number_not_allowed' });
  t.is((await harness.post('/click-to-call', { id: 'example.com-eu', phone_number: '+33 6 12 34 56 78' })).status, 200);
  t.deepEqual(
    harness.sandbox.calls.map((call) => call.destination),
    ['+33612345678'],
  );
});

test('the text-back skips a premium caller in an allowed country and texts an ordinary one', async (t) => {
  const harness = await startHarness({ tenants: { 'example.com-sms': { ...TENANTS['example.com-sms']!, ...ABROAD } } });
  t.teardown(() => harness.close());
  for (const ani of ['449098790000', '442079460958']) {
    const response = await fetch(`${harness.url}/webresponder?id=example.com-sms&NmsAni=${ani}`);
    t.is(response.status, 200);
    await response.text();
  }
  await harness.deps.background.drain(2_000);
  t.deepEqual(
    harness.sandbox.messages.map((message) => message.destination),
    ['442079460958'],
  );
  t.like(
    harness.logs.find((line) => line.msg === 'no text sent: the caller number is not one this id may text'),
    { reason: 'premium' },
  );
});
