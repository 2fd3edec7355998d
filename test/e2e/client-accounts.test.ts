/**
 * Accounts over real HTTP against `npm start` (registration open by default there): register,
 * login, whoami, devices, password, logout and deactivation, with every response body checked
 * against the spec v1.16 OpenAPI schema of its operation and status.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { responseValidator } from './openapi';
import { startInstance, type Instance } from './instance';

let instance: Instance;
beforeAll(async () => {
  instance = await startInstance();
});
afterAll(async () => {
  await instance?.stop();
});

const PASSWORD = 'e2e password';

/**
 * Send a request and validate the response against the spec operation `template` (a spec path
 * such as `/_matrix/client/v3/devices/{deviceId}`); returns status and body.
 */
async function request(
  method: string,
  template: string,
  opts: { path?: string; token?: string; body?: unknown; expect: number },
): Promise<Record<string, unknown>> {
  const headers: Record<string, string> = { 'Content-Type': 'application/json' };
  if (opts.token) headers.Authorization = `Bearer ${opts.token}`;
  const res = await fetch(`${instance.base}${opts.path ?? template}`, {
    method,
    headers,
    ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}),
  });
  const body = (await res.json()) as Record<string, unknown>;
  expect(res.status, `${method} ${opts.path ?? template}: ${JSON.stringify(body)}`).toBe(opts.expect);
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  validate(method, template, opts.expect, body);
  return body;
}

/** The spec's schema for the status; an error status it lists without one gets the standard error shape. */
function validate(method: string, template: string, status: number, body: Record<string, unknown>): void {
  let check: (body: unknown) => void;
  try {
    check = responseValidator('client-server', method.toLowerCase(), template, status);
  } catch (e) {
    if (status < 400 || !/no JSON schema/.test(String(e))) throw e;
    expect(body).toEqual({ errcode: expect.stringMatching(/^M_/), error: expect.any(String) });
    return;
  }
  check(body);
}

const auth = (userId: string, session?: string, password = PASSWORD) => ({
  type: 'm.login.password',
  identifier: { type: 'm.id.user', user: userId },
  password,
  ...(session ? { session } : {}),
});

describe('accounts over HTTP, schema-checked', () => {
  it('register, login, whoami, devices, password, logout, deactivate', async () => {
    const R = '/_matrix/client/v3/register';
    const username = `e2e${Date.now().toString(36)}`;

    expect(await request('GET', '/_matrix/client/v3/login', { expect: 200 })).toEqual({ flows: [{ type: 'm.login.password' }] });
    await request('GET', '/_matrix/client/v3/register/available', { path: `/_matrix/client/v3/register/available?username=${username}`, expect: 200 });

    const challenge = await request('POST', R, { body: { username, password: PASSWORD }, expect: 401 });
    expect(challenge.flows).toEqual([{ stages: ['m.login.dummy'] }]);
    const registered = await request('POST', R, {
      body: { username, password: PASSWORD, initial_device_display_name: 'e2e', auth: { type: 'm.login.dummy', session: challenge.session } },
      expect: 200,
    });
    const userId = registered.user_id as string;
    const token = registered.access_token as string;
    const deviceId = registered.device_id as string;
    expect(userId).toBe(`@${username}:localhost:${instance.port}`);

    const taken = await request('POST', R, { body: { username, auth: { type: 'm.login.dummy' } }, expect: 400 });
    expect(taken.errcode).toBe('M_USER_IN_USE');
    await request('GET', '/_matrix/client/v3/register/available', { path: `/_matrix/client/v3/register/available?username=${username}`, expect: 400 });
    await request('POST', R, { path: `${R}?kind=guest`, body: {}, expect: 403 });

    expect(await request('GET', '/_matrix/client/v3/account/whoami', { token, expect: 200 })).toEqual({ user_id: userId, device_id: deviceId, is_guest: false });

    const wrong = await request('POST', '/_matrix/client/v3/login', { body: { type: 'm.login.password', identifier: { type: 'm.id.user', user: username }, password: 'nope' }, expect: 403 });
    expect(wrong.errcode).toBe('M_FORBIDDEN');
    const second = await request('POST', '/_matrix/client/v3/login', {
      body: { type: 'm.login.password', identifier: { type: 'm.id.user', user: username }, password: PASSWORD, device_id: 'SECOND' },
      expect: 200,
    });
    expect(second.device_id).toBe('SECOND');

    const D = '/_matrix/client/v3/devices/{deviceId}';
    const list = await request('GET', '/_matrix/client/v3/devices', { token, expect: 200 });
    expect((list.devices as { device_id: string }[]).map((d) => d.device_id).sort()).toEqual([deviceId, 'SECOND'].sort());
    await request('PUT', D, { path: '/_matrix/client/v3/devices/SECOND', token, body: { display_name: 'Second' }, expect: 200 });
    expect(await request('GET', D, { path: '/_matrix/client/v3/devices/SECOND', token, expect: 200 })).toMatchObject({ display_name: 'Second' });
    await request('GET', D, { path: '/_matrix/client/v3/devices/NOSUCH', token, expect: 404 });

    const del = await request('DELETE', D, { path: '/_matrix/client/v3/devices/SECOND', token, body: {}, expect: 401 });
    expect(del.flows).toEqual([{ stages: ['m.login.password'] }]);
    await request('DELETE', D, { path: '/_matrix/client/v3/devices/SECOND', token, body: { auth: auth(userId, del.session as string) }, expect: 200 });
    await request('GET', '/_matrix/client/v3/account/whoami', { token: second.access_token as string, expect: 401 });

    const third = await request('POST', '/_matrix/client/v3/login', { body: { type: 'm.login.password', user: userId, password: PASSWORD }, expect: 200 });
    const dd = await request('POST', '/_matrix/client/v3/delete_devices', { token, body: { devices: [third.device_id] }, expect: 401 });
    await request('POST', '/_matrix/client/v3/delete_devices', { token, body: { devices: [third.device_id], auth: auth(userId, dd.session as string) }, expect: 200 });

    const P = '/_matrix/client/v3/account/password';
    const fourth = await request('POST', '/_matrix/client/v3/login', { body: { type: 'm.login.password', user: userId, password: PASSWORD }, expect: 200 });
    const pw = await request('POST', P, { token, body: { new_password: 'changed' }, expect: 401 });
    await request('POST', P, { token, body: { new_password: 'changed', auth: auth(userId, pw.session as string) }, expect: 200 });
    await request('GET', '/_matrix/client/v3/account/whoami', { token: fourth.access_token as string, expect: 401 });

    const fifth = await request('POST', '/_matrix/client/v3/login', { body: { type: 'm.login.password', user: userId, password: 'changed' }, expect: 200 });
    expect(await request('POST', '/_matrix/client/v3/logout', { token: fifth.access_token as string, body: {}, expect: 200 })).toEqual({});
    await request('GET', '/_matrix/client/v3/account/whoami', { token: fifth.access_token as string, expect: 401 });

    const sixth = await request('POST', '/_matrix/client/v3/login', { body: { type: 'm.login.password', user: userId, password: 'changed' }, expect: 200 });
    await request('POST', '/_matrix/client/v3/logout/all', { token: sixth.access_token as string, body: {}, expect: 200 });
    await request('GET', '/_matrix/client/v3/account/whoami', { token, expect: 401 });

    const last = await request('POST', '/_matrix/client/v3/login', { body: { type: 'm.login.password', user: userId, password: 'changed' }, expect: 200 });
    const T = last.access_token as string;
    const deact = await request('POST', '/_matrix/client/v3/account/deactivate', { token: T, body: {}, expect: 401 });
    expect(await request('POST', '/_matrix/client/v3/account/deactivate', { token: T, body: { auth: auth(userId, deact.session as string, 'changed') }, expect: 200 })).toEqual({
      id_server_unbind_result: 'no-support',
    });
    await request('POST', '/_matrix/client/v3/login', { body: { type: 'm.login.password', user: userId, password: 'changed' }, expect: 403 });
  });
});
