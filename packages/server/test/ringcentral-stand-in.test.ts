import test, { type ExecutionContext } from 'ava';
import { startRingCentralStandIn, type RingCentralStandIn } from '../src/index.js';
import { TRANSPORT_TYPES, WEBHOOK_MAX_EXPIRES_IN as STAND_IN_MAX } from '../src/providers/ringcentral/stand-in/rules.js';
import { RC_APP } from './fixtures/ringcentral.js';
import {
  OPERATIONS,
  STATUS_ENUM,
  SUBSCRIPTION_INFO_PROPERTIES,
  TOKEN,
  TRANSPORT_TYPE_ENUM,
  WEBHOOK_MAX_EXPIRES_IN,
} from './fixtures/ringcentral-openapi-rules.js';
import { serveForTest } from './helpers.js';

async function standIn(t: ExecutionContext): Promise<RingCentralStandIn> {
  const running = await startRingCentralStandIn(RC_APP);
  t.teardown(() => running.close());
  return running;
}

const basic = `Basic ${Buffer.from(`${RC_APP.clientId}:${RC_APP.clientSecret}`).toString('base64')}`;

async function token(rc: RingCentralStandIn): Promise<string> {
  const response = await fetch(rc.url + TOKEN.path, {
    method: 'POST',
    headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: TOKEN.grantType, assertion: RC_APP.jwt }),
  });
  const body = (await response.json()) as Record<string, unknown>;
  if (response.status !== 200) throw new Error(JSON.stringify(body));
  return String(body.access_token);
}

/** A WebHook address answering the handshake with `answer`. */
async function address(t: ExecutionContext, answer: 'echo' | 'no-echo' | 'error'): Promise<string> {
  const { url } = await serveForTest(t, (request, response) => {
    const validation = request.headers['validation-token'];
    if (answer === 'error') response.writeHead(500);
    else response.writeHead(200, answer === 'echo' && typeof validation === 'string' ? { 'validation-token': validation } : {});
    response.end();
  });
  return `${url}/hook`;
}

test("the stand-in's rules are the OpenAPI description's: transport types, the WebHook ceiling", (t) => {
  t.deepEqual([...TRANSPORT_TYPES], [...TRANSPORT_TYPE_ENUM]);
  t.is(STAND_IN_MAX, WEBHOOK_MAX_EXPIRES_IN);
});

test('the token endpoint: the JWT grant with the app’s Basic credentials, nothing else', async (t) => {
  const rc = await standIn(t);
  const post = (authorization: string, form: Record<string, string>) =>
    fetch(rc.url + TOKEN.path, {
      method: 'POST',
      headers: { authorization, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(form),
    });
  const granted = await post(basic, { grant_type: TOKEN.grantType, assertion: RC_APP.jwt });
  t.is(granted.status, 200);
  t.deepEqual(Object.keys((await granted.json()) as object).sort(), [...TOKEN.responseFields].sort());
  t.like(
    await (await post(`Basic ${Buffer.from('x:y').toString('base64')}`, { grant_type: TOKEN.grantType, assertion: RC_APP.jwt })).json(),
    {
      error: 'invalid_client',
    },
  );
  t.like(await (await post(basic, { grant_type: TOKEN.grantType, assertion: 'other' })).json(), { error: 'invalid_grant' });
  t.like(await (await post(basic, { grant_type: 'password', username: 'u' })).json(), { error: 'unsupported_grant_type' });
});

test('every subscription operation of the description answers its success, and refuses a body missing what it requires', async (t) => {
  const rc = await standIn(t);
  const bearer = await token(rc);
  const call = (method: string, path: string, body?: unknown) =>
    fetch(rc.url + path, {
      method,
      headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  const valid = {
    eventFilters: ['/restapi/v1.0/account/~/extension/~/presence?detailedTelephonyState=true'],
    deliveryMode: { transportType: 'WebHook', address: await address(t, 'echo'), verificationToken: 'v' },
    expiresIn: 3_600,
  };
  const created = await call('POST', '/restapi/v1.0/subscription', valid);
  const info = (await created.json()) as Record<string, unknown>;
  t.is(created.status, 200);
  for (const property of SUBSCRIPTION_INFO_PROPERTIES) t.true(property in info, property);
  t.true((STATUS_ENUM as readonly string[]).includes(String(info.status)));
  t.false(JSON.stringify(info).includes('verificationToken'));
  const id = String(info.id);

  for (const operation of OPERATIONS) {
    const path = operation.path.replace('{subscriptionId}', id);
    if (operation.required.length > 0) {
      const body = operation.operationId === 'createSubscription' ? valid : { eventFilters: valid.eventFilters };
      for (const name of operation.required) {
        const missing = await call(operation.method, path, { ...body, [name]: undefined });
        t.is(missing.status, 400, `${operation.operationId} without ${name}`);
        t.like(await missing.json(), { errors: [{ parameterName: name }] });
      }
    }
    if (operation.operationId === 'createSubscription' || operation.operationId === 'deleteSubscription') continue;
    const body = operation.operationId === 'updateSubscription' ? { eventFilters: valid.eventFilters } : undefined;
    t.is((await call(operation.method, path, body)).status, operation.successStatus, operation.operationId);
  }
  t.is((await call('DELETE', `/restapi/v1.0/subscription/${id}`)).status, 204);
  t.is((await call('GET', `/restapi/v1.0/subscription/${id}`)).status, 404);
  t.is((await call('POST', '/restapi/v1.0/subscription', { ...valid, expiresIn: WEBHOOK_MAX_EXPIRES_IN + 1 })).status, 400);
  t.is((await fetch(`${rc.url}/restapi/v1.0/subscription`)).status, 401, 'no token');
});

test('creation needs the handshake: the Validation-Token must come back in a 200', async (t) => {
  const rc = await standIn(t);
  const bearer = await token(rc);
  const create = async (answer: 'echo' | 'no-echo' | 'error') =>
    fetch(`${rc.url}/restapi/v1.0/subscription`, {
      method: 'POST',
      headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        eventFilters: ['/restapi/v1.0/account/~/extension/~/presence'],
        deliveryMode: { transportType: 'WebHook', address: await address(t, answer) },
      }),
    });
  t.like(await (await create('no-echo')).json(), { errorCode: 'SUB-520' });
  t.like(await (await create('error')).json(), { errorCode: 'SUB-525' });
  t.is(rc.subscriptions.length, 0);
  t.is((await create('echo')).status, 200);
  t.is(rc.subscriptions.length, 1);
});
