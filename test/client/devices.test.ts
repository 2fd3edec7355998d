/** Devices, password change and deactivation, with user-interactive auth (Client-Server issue, parts 3-4). */
import { describe, expect, it } from 'vitest';
import { call, json, loginUser, PASSWORD, passwordAuthDict, registerUser, type Session } from './helpers';

const whoamiStatus = async (s: Session) => (await call('GET', '/v3/account/whoami', { token: s.access_token })).status;

describe('devices', () => {
  it('lists, reads and renames devices; unknown ones are 404', async () => {
    const a = await registerUser(undefined, { initial_device_display_name: 'Phone' });
    const list = await json<{ devices: unknown[] }>(await call('GET', '/v3/devices', { token: a.access_token }));
    expect(list.devices).toEqual([{ device_id: a.device_id, display_name: 'Phone', last_seen_ts: expect.any(Number) }]);

    expect((await call('PUT', `/v3/devices/${a.device_id}`, { token: a.access_token, body: { display_name: 'Tablet' } })).status).toBe(200);
    expect(await json(await call('GET', `/v3/devices/${a.device_id}`, { token: a.access_token }))).toMatchObject({ display_name: 'Tablet' });
    // No display_name: unchanged.
    expect((await call('PUT', `/v3/devices/${a.device_id}`, { token: a.access_token, body: {} })).status).toBe(200);
    expect(await json(await call('GET', `/v3/devices/${a.device_id}`, { token: a.access_token }))).toMatchObject({ display_name: 'Tablet' });

    for (const [method, body] of [['GET', undefined], ['PUT', { display_name: 'x' }], ['PUT', {}]] as const) {
      const res = await call(method, '/v3/devices/NOSUCHDEVICE', { token: a.access_token, body });
      expect(res.status).toBe(404);
      expect((await json(res)).errcode).toBe('M_NOT_FOUND');
    }
  });

  it('deletes a device after m.login.password UIA, revoking its token', async () => {
    const a = await registerUser();
    const b = await json<Session>(await loginUser(a.user_id));

    const first = await call('DELETE', `/v3/devices/${b.device_id}`, { token: a.access_token, body: {} });
    expect(first.status).toBe(401);
    const { session, ...challenge } = await json<{ session: string }>(first);
    expect(challenge).toEqual({ flows: [{ stages: ['m.login.password'] }], params: {} });
    expect(await whoamiStatus(b)).toBe(200);

    const wrong = await call('DELETE', `/v3/devices/${b.device_id}`, { token: a.access_token, body: { auth: passwordAuthDict(a.user_id, session, 'wrong') } });
    expect(wrong.status).toBe(401);
    expect(await json(wrong)).toEqual({ errcode: 'M_FORBIDDEN', error: expect.any(String), flows: [{ stages: ['m.login.password'] }], params: {}, session });

    // A session belongs to one operation.
    const elsewhere = await call('POST', '/v3/delete_devices', { token: a.access_token, body: { devices: [b.device_id], auth: passwordAuthDict(a.user_id, session) } });
    expect(elsewhere.status).toBe(403);

    const ok = await call('DELETE', `/v3/devices/${b.device_id}`, { token: a.access_token, body: { auth: passwordAuthDict(a.user_id, session) } });
    expect(ok.status).toBe(200);
    expect(await whoamiStatus(b)).toBe(401);
    expect(await whoamiStatus(a)).toBe(200);
    expect((await call('GET', `/v3/devices/${b.device_id}`, { token: a.access_token })).status).toBe(404);
  });

  it('refuses another user\'s password', async () => {
    const a = await registerUser();
    const mallory = await registerUser();
    const res = await call('DELETE', `/v3/devices/${a.device_id}`, { token: a.access_token, body: { auth: passwordAuthDict(mallory.user_id) } });
    expect(res.status).toBe(401);
    expect((await json(res)).errcode).toBe('M_FORBIDDEN');
    expect(await whoamiStatus(a)).toBe(200);
  });

  it('deletes several devices with /delete_devices', async () => {
    const a = await registerUser();
    const b = await json<Session>(await loginUser(a.user_id));
    const c = await json<Session>(await loginUser(a.user_id));
    const res = await call('POST', '/v3/delete_devices', { token: a.access_token, body: { devices: [b.device_id, c.device_id], auth: passwordAuthDict(a.user_id) } });
    expect(res.status).toBe(200);
    expect([await whoamiStatus(a), await whoamiStatus(b), await whoamiStatus(c)]).toEqual([200, 401, 401]);
  });
});

describe('password change', () => {
  it('logs out every other device by default, and the new password replaces the old', async () => {
    const a = await registerUser();
    const b = await json<Session>(await loginUser(a.user_id));
    const res = await call('POST', '/v3/account/password', { token: a.access_token, body: { new_password: 'new pass', auth: passwordAuthDict(a.user_id) } });
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual({});
    expect(await whoamiStatus(a)).toBe(200);
    expect(await whoamiStatus(b)).toBe(401);
    expect((await loginUser(a.user_id, PASSWORD)).status).toBe(403);
    expect((await loginUser(a.user_id, 'new pass')).status).toBe(200);
  });

  it('keeps other devices with logout_devices: false', async () => {
    const a = await registerUser();
    const b = await json<Session>(await loginUser(a.user_id));
    const res = await call('POST', '/v3/account/password', {
      token: a.access_token,
      body: { new_password: 'another', logout_devices: false, auth: passwordAuthDict(a.user_id) },
    });
    expect(res.status).toBe(200);
    expect(await whoamiStatus(b)).toBe(200);
  });

  it('asks for UIA first', async () => {
    const a = await registerUser();
    const res = await call('POST', '/v3/account/password', { token: a.access_token, body: { new_password: 'x' } });
    expect(res.status).toBe(401);
    expect(await json(res)).toEqual({ flows: [{ stages: ['m.login.password'] }], params: {}, session: expect.any(String) });
  });
});

describe('deactivation', () => {
  it('revokes every token, refuses login and keeps the user ID taken', async () => {
    const a = await registerUser();
    const b = await json<Session>(await loginUser(a.user_id));
    const challenge = await call('POST', '/v3/account/deactivate', { token: a.access_token, body: {} });
    expect(challenge.status).toBe(401);
    const res = await call('POST', '/v3/account/deactivate', { token: a.access_token, body: { auth: passwordAuthDict(a.user_id) } });
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual({ id_server_unbind_result: 'no-support' });
    expect([await whoamiStatus(a), await whoamiStatus(b)]).toEqual([401, 401]);
    const login = await loginUser(a.user_id);
    expect(login.status).toBe(403);
    expect((await json(login)).errcode).toBe('M_FORBIDDEN');
    const localpart = a.user_id.slice(1, a.user_id.indexOf(':'));
    const again = await call('POST', '/v3/register', { body: { username: localpart, auth: { type: 'm.login.dummy' } } });
    expect((await json(again)).errcode).toBe('M_USER_IN_USE');
  });
});
