import test from 'ava';
import Koa from 'koa';
import {
  parseTwilioForm,
  signTwilioRequest,
  twilioSigningPayload,
  twilioWebhookUrl,
  verifyTwilioSignature,
  type TwilioParams,
} from '../src/providers/twilio/signature.js';
import { serveForTest } from './helpers.js';

// Twilio's published test vectors (twilio-node spec/validation.spec.js; providers.md A1, recomputed there).
const VECTOR_TOKEN = '12345';
const VECTOR_URL = 'https://mycompany.com/myapp.php?foo=1&bar=2';
// Given out of order: the names are sorted when signed, not taken as they come.
const VECTOR_PARAMS = {
  To: '+18005551212',
  From: '+14158675309',
  Digits: '1234',
  Caller: '+14158675309',
  CallSid: 'CA1234567890ABCDE',
};
const VECTOR_SIGNATURE = 'RSOYDt4T1cUTdK1PDd93/VVr8B8=';
const BODY_HASH_URL = `${VECTOR_URL}&bodySHA256=0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620`;
const BODY_HASH_SIGNATURE = 'a9nBmqA0ju/hNViExpshrM61xv4=';

const TOKEN = 'f0e1d2c3b4a5968778695a4b3c2d1e0f';
const PUBLIC_URL = 'https://beckon.example.com';
const CALL_URL = `${PUBLIC_URL}/webhooks/twilio/call`;
const RINGING = {
  AccountSid: 'AC0123456789abcdef0123456789abcdef',
  CallSid: 'CA0123456789abcdef0123456789abcdef',
  CallStatus: 'ringing',
  Direction: 'inbound',
  From: '+18135551234',
  To: '+18135550100',
};

function verify(url: string, params: TwilioParams, signature: string | undefined, authToken: string | readonly string[] = TOKEN): boolean {
  return verifyTwilioSignature({ authToken, signature, url, params });
}

test("Twilio's published vector: the signature of a form webhook is computed and accepted", (t) => {
  t.is(signTwilioRequest(VECTOR_TOKEN, VECTOR_URL, VECTOR_PARAMS), VECTOR_SIGNATURE);
  t.true(verify(VECTOR_URL, VECTOR_PARAMS, VECTOR_SIGNATURE, VECTOR_TOKEN));
});

test("Twilio's published vector with bodySHA256: the URL alone is signed when there are no form parameters", (t) => {
  t.is(signTwilioRequest(VECTOR_TOKEN, BODY_HASH_URL), BODY_HASH_SIGNATURE);
  t.true(verify(BODY_HASH_URL, {}, BODY_HASH_SIGNATURE, VECTOR_TOKEN));
});

test('the signed string is the URL and every parameter as name + value, names in case-sensitive order', (t) => {
  t.is(twilioSigningPayload('https://x.test/a', { b: '1', B: '2', a: '3', _: '4' }), 'https://x.test/aB2_4a3b1');
});

test('a repeated name signs its values sorted and once each, whatever order they were sent in', (t) => {
  const url = 'https://x.test/status';
  t.is(
    twilioSigningPayload(url, { StatusCallbackEvent: ['ringing', 'answered', 'ringing'], To: '+1' }),
    `${url}StatusCallbackEventansweredStatusCallbackEventringingTo+1`,
  );
  const signature = signTwilioRequest(TOKEN, url, { StatusCallbackEvent: ['answered', 'ringing'] });
  t.true(verify(url, parseTwilioForm('StatusCallbackEvent=ringing&StatusCallbackEvent=answered'), signature));
  t.false(verify(url, parseTwilioForm('StatusCallbackEvent=ringing'), signature), 'a value left out is a different request');
});

test('accepted with and without the default port, whichever way Twilio signed it (https and http)', (t) => {
  const cases: Array<[signedUrl: string, receivedUrl: string]> = [
    ['https://beckon.example.com:443/webhooks/twilio/call', CALL_URL],
    [CALL_URL, 'https://beckon.example.com:443/webhooks/twilio/call'],
    ['http://beckon.example.com:80/webhooks/twilio/call?id=a', 'http://beckon.example.com/webhooks/twilio/call?id=a'],
    ['http://beckon.example.com/webhooks/twilio/call?id=a', 'http://beckon.example.com:80/webhooks/twilio/call?id=a'],
  ];
  for (const [signedUrl, receivedUrl] of cases) {
    t.true(verify(receivedUrl, RINGING, signTwilioRequest(TOKEN, signedUrl, RINGING)), `${signedUrl} verified as ${receivedUrl}`);
  }
});

test('a port other than the default is part of the URL: signed with :8443, not accepted without it, nor with :443', (t) => {
  const signature = signTwilioRequest(TOKEN, 'https://beckon.example.com:8443/webhooks/twilio/call', RINGING);
  t.true(verify('https://beckon.example.com:8443/webhooks/twilio/call', RINGING, signature));
  t.false(verify(CALL_URL, RINGING, signature));
  t.false(verify('https://beckon.example.com:443/webhooks/twilio/call', RINGING, signature));
  t.false(
    verify(CALL_URL, RINGING, signTwilioRequest(TOKEN, 'https://beckon.example.com:80/webhooks/twilio/call', RINGING)),
    ':80 is not https',
  );
});

test('forged signatures are refused: another token, a made-up value, one character off, the wrong length', (t) => {
  const genuine = signTwilioRequest(TOKEN, CALL_URL, RINGING);
  t.true(verify(CALL_URL, RINGING, genuine));
  t.false(verify(CALL_URL, RINGING, signTwilioRequest('another-accounts-token', CALL_URL, RINGING)));
  t.false(verify(CALL_URL, RINGING, 'AAAAAAAAAAAAAAAAAAAAAAAAAAA='));
  const lastChanged = genuine.slice(0, -2) + (genuine.at(-2) === 'A' ? 'B' : 'A') + genuine.slice(-1);
  t.false(verify(CALL_URL, RINGING, lastChanged));
  t.false(verify(CALL_URL, RINGING, genuine.slice(0, -1)), 'shorter: refused, not thrown');
  t.false(verify(CALL_URL, RINGING, `${genuine}=`), 'longer: refused, not thrown');
  t.false(verify(CALL_URL, RINGING, genuine.toLowerCase()));
});

test('a missing or empty signature header is refused', (t) => {
  t.false(verify(CALL_URL, RINGING, undefined));
  t.false(verify(CALL_URL, RINGING, ''));
});

test('a captured request replayed with anything changed is refused: a value, an added or a removed parameter, the query, the path, the scheme', (t) => {
  const signature = signTwilioRequest(TOKEN, `${CALL_URL}?id=shop`, RINGING);
  t.true(verify(`${CALL_URL}?id=shop`, RINGING, signature));
  t.false(verify(`${CALL_URL}?id=shop`, { ...RINGING, From: '+18135559999' }, signature), 'another caller');
  t.false(verify(`${CALL_URL}?id=shop`, { ...RINGING, DialCallStatus: 'no-answer' }, signature), 'a parameter added');
  const { CallStatus: _dropped, ...withoutStatus } = RINGING;
  t.false(verify(`${CALL_URL}?id=shop`, withoutStatus, signature), 'a parameter removed');
  t.false(verify(`${CALL_URL}?id=other`, RINGING, signature), 'another query');
  t.false(verify(`${PUBLIC_URL}/webhooks/twilio/call/status/${RINGING.CallSid}?id=shop`, RINGING, signature), 'another path');
  t.false(verify(`http://beckon.example.com/webhooks/twilio/call?id=shop`, RINGING, signature), 'http instead of https');
  t.false(verify(`${CALL_URL}?id=shop`, { ...RINGING, From: ` ${RINGING.From}` }, signature), 'whitespace counts');
});

test('during a token rotation either token is accepted; an empty token verifies nothing', (t) => {
  const oldSigned = signTwilioRequest('old-token-0123456789', CALL_URL, RINGING);
  const newSigned = signTwilioRequest(TOKEN, CALL_URL, RINGING);
  t.true(verify(CALL_URL, RINGING, oldSigned, [TOKEN, 'old-token-0123456789']));
  t.true(verify(CALL_URL, RINGING, newSigned, [TOKEN, 'old-token-0123456789']));
  t.false(verify(CALL_URL, RINGING, oldSigned, [TOKEN]));
  t.false(verify(CALL_URL, RINGING, signTwilioRequest('', CALL_URL, RINGING), ''), 'anyone can sign with an empty key');
  t.false(verify(CALL_URL, RINGING, newSigned, []));
});

test('twilioWebhookUrl joins PUBLIC_URL (and its path prefix) with the path and query as received, encoding kept', (t) => {
  t.is(twilioWebhookUrl('https://beckon.example.com/', '/webhooks/twilio/call'), CALL_URL);
  t.is(
    twilioWebhookUrl('https://example.com/beckon', '/webhooks/twilio/call?id=a%27b'),
    'https://example.com/beckon/webhooks/twilio/call?id=a%27b',
  );
  t.throws(() => twilioWebhookUrl('beckon.example.com', '/x'), { instanceOf: TypeError });
  t.throws(() => twilioWebhookUrl(PUBLIC_URL, 'webhooks/twilio/call'), { instanceOf: TypeError });
});

test('parseTwilioForm keeps every parameter as sent: repeated names, whitespace, brackets, __proto__', (t) => {
  const params = parseTwilioForm(Buffer.from('Body=+STOP+&MediaUrl=a&MediaUrl=b&a%5Bb%5D=c&__proto__=x&Empty='));
  t.deepEqual({ ...params }, { Body: ' STOP ', MediaUrl: ['a', 'b'], 'a[b]': 'c', ['__proto__']: 'x', Empty: '' });
  t.is(Object.getPrototypeOf(params), Object.prototype, 'a parameter named __proto__ did not become the prototype');
});

test('over HTTP: the URL comes from PUBLIC_URL + the request path, so spoofed Host and X-Forwarded-* neither break nor forge a signature', async (t) => {
  const app = new Koa();
  app.proxy = true;
  app.use(async (ctx) => {
    const chunks: Buffer[] = [];
    for await (const chunk of ctx.req) chunks.push(chunk as Buffer);
    const params = parseTwilioForm(Buffer.concat(chunks));
    const genuine = verifyTwilioSignature({
      authToken: TOKEN,
      signature: ctx.get('X-Twilio-Signature'),
      url: twilioWebhookUrl(PUBLIC_URL, ctx.url),
      params,
    });
    ctx.status = genuine ? 204 : 403;
  });
  const { url } = await serveForTest(t, app.callback());
  const post = (signature: string, headers: Record<string, string> = {}) =>
    fetch(`${url}/webhooks/twilio/call?id=shop`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': signature, connection: 'close', ...headers },
      body: new URLSearchParams(RINGING).toString(),
    });

  const genuine = signTwilioRequest(TOKEN, `${CALL_URL}?id=shop`, RINGING);
  t.is((await post(genuine)).status, 204, 'Twilio signed the public URL; the request reached 127.0.0.1 over http');
  t.is(
    (await post(genuine, { 'x-forwarded-proto': 'http', 'x-forwarded-host': 'evil.test' })).status,
    204,
    'spoofed headers change nothing',
  );
  const forThatHost = signTwilioRequest(TOKEN, 'http://evil.test/webhooks/twilio/call?id=shop', RINGING);
  t.is((await post(forThatHost, { 'x-forwarded-proto': 'http', 'x-forwarded-host': 'evil.test' })).status, 403);
  t.is((await post(genuine.replace(/.$/, (last) => (last === '=' ? 'A' : '=')))).status, 403);
});
