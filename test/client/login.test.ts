/** Login and logout (Client-Server issue, part 4). */
import { describe, expect, it } from 'vitest';
import { call, json, loginUser, PASSWORD, registerUser, SERVER, uniqueName, type Session } from './helpers';

describe('GET /login', () => {
  it('offers m.login.password only', async () => {
    const res = await call('GET', '/v3/login');
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual({ flows: [{ type: 'm.login.password' }] });
  });
});

describe('POST /login', () => {
  it('logs in with the right password, by user ID, localpart or the deprecated user field', async () => {
    const name = uniqueName('carol');
    const registered = await registerUser(name);
    for (const res of [
      await loginUser(registered.user_id),
      await loginUser(name.toUpperCase()),
      await call('POST', '/v3/login', { body: { type: 'm.login.password', user: name, password: PASSWORD } }),
    ]) {
      expect(res.status).toBe(200);
      const body = await json<Session>(res);
      expect(body.user_id).toBe(`@${name}:${SERVER}`);
      expect(body.device_id).not.toBe(registered.device_id);
      expect((await call('GET', '/v3/account/whoami', { token: body.access_token })).status).toBe(200);
    }
  });

  it('answers 403 M_FORBIDDEN, the same way, for a wrong password and an unknown user', async () => {
    const { user_id } = await registerUser();
    const wrong = await loginUser(user_id, 'not the password');
    const unknown = await loginUser(`@${uniqueName('nobody')}:${SERVER}`);
    const remote = await loginUser('@someone:elsewhere.example');
    for (const res of [wrong, unknown, remote]) {
      expect(res.status).toBe(403);
      expect(await json(res)).toEqual({ errcode: 'M_FORBIDDEN', error: 'Invalid username or password' });
    }
  });

  it('refuses other login types and identifier types', async () => {
    const dummy = await call('POST', '/v3/login', { body: { type: 'm.login.dummy' } });
    expect(dummy.status).toBe(400);
    expect((await json(dummy)).errcode).toBe('M_UNKNOWN');
    const phone = await call('POST', '/v3/login', { body: { type: 'm.login.password', identifier: { type: 'm.id.phone', country: 'GB', phone: '1' }, password: 'x' } });
    expect(phone.status).toBe(400);
  });

  it('reuses a named device and revokes its previous token', async () => {
    const { user_id } = await registerUser();
    const first = await json<Session>(await loginUser(user_id, PASSWORD, { device_id: 'LAPTOP', initial_device_display_name: 'Laptop' }));
    const second = await json<Session>(await loginUser(user_id, PASSWORD, { device_id: 'LAPTOP' }));
    expect(second.device_id).toBe('LAPTOP');
    expect((await call('GET', '/v3/account/whoami', { token: first.access_token })).status).toBe(401);
    const device = await json(await call('GET', '/v3/devices/LAPTOP', { token: second.access_token }));
    expect(device).toMatchObject({ device_id: 'LAPTOP', display_name: 'Laptop' });
  });
});

describe('logout', () => {
  it('/logout ends one session and deletes its device; /logout/all ends every session', async () => {
    const a = await registerUser();
    const b = await json<Session>(await loginUser(a.user_id));
    const c = await json<Session>(await loginUser(a.user_id));
    expect((await call('POST', '/v3/logout', { token: b.access_token })).status).toBe(200);
    expect((await call('GET', '/v3/account/whoami', { token: b.access_token })).status).toBe(401);
    const devices = await json<{ devices: { device_id: string }[] }>(await call('GET', '/v3/devices', { token: a.access_token }));
    expect(devices.devices.map((d) => d.device_id).sort()).toEqual([a.device_id, c.device_id].sort());

    expect((await call('POST', '/v3/logout/all', { token: c.access_token })).status).toBe(200);
    for (const s of [a, c]) expect((await call('GET', '/v3/account/whoami', { token: s.access_token })).status).toBe(401);
    // The password still works.
    expect((await loginUser(a.user_id)).status).toBe(200);
  });
});
