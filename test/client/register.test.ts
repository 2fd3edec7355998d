/** Registration, whoami and logout through the worker's fetch (Client-Server issue, parts 3-4). */
import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import app from '../../workers/homeserver/index';
import { call, hs, json, PASSWORD, registerUser, SERVER, uniqueName } from './helpers';

/** The homeserver app under another configuration (config is parsed per env object). */
function withConfig(vars: Record<string, string>, path: string, init: RequestInit = {}): Promise<Response> {
  const request = new Request(`https://matrix.test.local/_matrix/client${path}`, init);
  return Promise.resolve(app.fetch(request, { ...env, ...vars }));
}
const post = (body: unknown): RequestInit => ({ method: 'POST', body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' } });

describe('register → whoami → logout', () => {
  it('issues a working token that logout revokes', async () => {
    const name = uniqueName('alice');
    const session = await registerUser(name, { initial_device_display_name: 'Phone' });
    expect(session.user_id).toBe(`@${name}:${SERVER}`);
    expect(session.access_token).toMatch(/^syt_[A-Za-z0-9_-]+_[A-Za-z0-9_-]{43}$/);
    expect(session.device_id).toMatch(/^[A-Z]{10}$/);

    const who = await call('GET', '/v3/account/whoami', { token: session.access_token });
    expect(who.status).toBe(200);
    expect(await json(who)).toEqual({ user_id: session.user_id, device_id: session.device_id, is_guest: false });

    // The deprecated query parameter works too.
    const byQuery = await hs(`/_matrix/client/v3/account/whoami?access_token=${encodeURIComponent(session.access_token)}`);
    expect(byQuery.status).toBe(200);

    const out = await call('POST', '/v3/logout', { token: session.access_token });
    expect(out.status).toBe(200);
    expect(await json(out)).toEqual({});

    const after = await call('GET', '/v3/account/whoami', { token: session.access_token });
    expect(after.status).toBe(401);
    expect(await json(after)).toEqual({ errcode: 'M_UNKNOWN_TOKEN', error: expect.any(String), soft_logout: false });
  });

  it('refuses a missing, malformed or forged token', async () => {
    const missing = await call('GET', '/v3/account/whoami');
    expect(missing.status).toBe(401);
    expect((await json(missing)).errcode).toBe('M_MISSING_TOKEN');
    const { access_token, user_id } = await registerUser();
    const forged = access_token.slice(0, -4) + (access_token.endsWith('AAAA') ? 'BBBB' : 'AAAA');
    const other = `syt_${btoa(`@${uniqueName()}:${SERVER}`).replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_')}_${access_token.slice(-43)}`;
    for (const token of ['garbage', forged, other, `syt_${user_id}`]) {
      const res = await call('GET', '/v3/account/whoami', { token });
      expect(res.status, token).toBe(401);
      expect(await json(res)).toMatchObject({ errcode: 'M_UNKNOWN_TOKEN', soft_logout: false });
    }
  });

  it('honours inhibit_login, device_id and a generated username', async () => {
    const name = uniqueName();
    const res = await call('POST', '/v3/register', { body: { username: name, password: PASSWORD, inhibit_login: true, auth: { type: 'm.login.dummy' } } });
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual({ user_id: `@${name}:${SERVER}` });

    const withDevice = await registerUser(uniqueName(), { device_id: 'MYDEVICE' });
    expect(withDevice.device_id).toBe('MYDEVICE');

    const anonymous = await call('POST', '/v3/register', { body: { password: PASSWORD, auth: { type: 'm.login.dummy' } } });
    expect(anonymous.status).toBe(200);
    expect((await json<{ user_id: string }>(anonymous)).user_id).toMatch(/^@[a-z0-9]{12}:test\.local$/);
  });
});

describe('usernames', () => {
  it('refuses a taken name, before and after user-interactive auth', async () => {
    const name = uniqueName('bob');
    await registerUser(name);
    const again = await call('POST', '/v3/register', { body: { username: name, password: 'x', auth: { type: 'm.login.dummy' } } });
    expect(again.status).toBe(400);
    expect((await json(again)).errcode).toBe('M_USER_IN_USE');
    const available = await call('GET', `/v3/register/available?username=${name}`);
    expect(available.status).toBe(400);
    expect((await json(available)).errcode).toBe('M_USER_IN_USE');
    // Registering in the same user's name, case-folded.
    const upper = await call('POST', '/v3/register', { body: { username: name.toUpperCase(), auth: { type: 'm.login.dummy' } } });
    expect((await json(upper)).errcode).toBe('M_USER_IN_USE');
  });

  it('lets exactly one of many concurrent registrations of one name win (the User object decides)', async () => {
    const name = uniqueName('race');
    const results = await Promise.all(
      Array.from({ length: 8 }, () => call('POST', '/v3/register', { body: { username: name, password: PASSWORD, auth: { type: 'm.login.dummy' } } })),
    );
    const statuses = results.map((r) => r.status).sort();
    expect(statuses).toEqual([200, 400, 400, 400, 400, 400, 400, 400]);
    for (const r of results.filter((r) => r.status === 400)) expect((await json(r)).errcode).toBe('M_USER_IN_USE');
  });

  it('checks the grammar with M_INVALID_USERNAME, and reports free names', async () => {
    for (const username of ['has space', 'colon:here', 'ünïcode', '', 'x'.repeat(250)]) {
      const res = await call('POST', '/v3/register', { body: { username, auth: { type: 'm.login.dummy' } } });
      expect(res.status, username).toBe(400);
      expect((await json(res)).errcode).toBe('M_INVALID_USERNAME');
    }
    const free = await call('GET', `/v3/register/available?username=${uniqueName()}`);
    expect(free.status).toBe(200);
    expect(await json(free)).toEqual({ available: true });
    const bad = await call('GET', '/v3/register/available?username=No%20Way');
    expect((await json(bad)).errcode).toBe('M_INVALID_USERNAME');
  });
});

describe('user-interactive auth on /register', () => {
  it('answers 401 with flows, params and a session, then completes m.login.dummy in that session', async () => {
    const name = uniqueName();
    const first = await call('POST', '/v3/register', { body: { username: name, password: PASSWORD } });
    expect(first.status).toBe(401);
    const challenge = await json<{ session: string }>(first);
    expect(challenge).toEqual({ flows: [{ stages: ['m.login.dummy'] }], params: {}, session: expect.any(String) });

    const unknownType = await call('POST', '/v3/register', { body: { username: name, auth: { type: 'm.login.email.identity', session: challenge.session } } });
    expect(unknownType.status).toBe(401);
    expect(await json(unknownType)).toMatchObject({ errcode: 'M_UNRECOGNIZED', flows: [{ stages: ['m.login.dummy'] }], session: challenge.session });

    const done = await call('POST', '/v3/register', { body: { username: name, password: PASSWORD, auth: { type: 'm.login.dummy', session: challenge.session } } });
    expect(done.status).toBe(200);
    expect((await json(done)).user_id).toBe(`@${name}:${SERVER}`);

    // The session is spent: replaying it does not register anything else.
    const replay = await call('POST', '/v3/register', { body: { auth: { type: 'm.login.dummy', session: challenge.session } } });
    expect(replay.status).toBe(400);
    expect((await json(replay)).errcode).toBe('M_USER_IN_USE');
  });

  it('refuses an unknown session and a username that changes mid-session', async () => {
    const forged = await call('POST', '/v3/register', { body: { auth: { type: 'm.login.dummy', session: 'nonsense' } } });
    expect(forged.status).toBe(400);
    const name = uniqueName();
    const { session } = await json<{ session: string }>(await call('POST', '/v3/register', { body: { username: name } }));
    const changed = await call('POST', '/v3/register', { body: { username: uniqueName(), auth: { type: 'm.login.dummy', session } } });
    expect(changed.status).toBe(400);
    expect((await json(changed)).errcode).toBe('M_INVALID_PARAM');
  });
});

describe('registration modes', () => {
  it('is closed unless configured: 403 M_FORBIDDEN; guests are always refused', async () => {
    const closed = await withConfig({ REGISTRATION: 'closed' }, '/v3/register', post({ username: uniqueName(), auth: { type: 'm.login.dummy' } }));
    expect(closed.status).toBe(403);
    expect((await json(closed)).errcode).toBe('M_FORBIDDEN');
    const { REGISTRATION: _, ...unset } = env as unknown as Record<string, unknown>;
    const byDefault = await app.fetch(new Request('https://x/_matrix/client/v3/register', post({ username: uniqueName() })), unset);
    expect(byDefault.status).toBe(403);
    const guest = await call('POST', '/v3/register?kind=guest', { body: {} });
    expect(guest.status).toBe(403);
    expect((await json(guest)).errcode).toBe('M_GUEST_ACCESS_FORBIDDEN');
  });

  it('token mode: m.login.registration_token, a wrong token is a failed stage, the right one registers', async () => {
    const vars = { REGISTRATION: 'token', REGISTRATION_TOKENS: 'first-token, s3cret_Token' };
    const name = uniqueName('tok');
    const first = await withConfig(vars, '/v3/register', post({ username: name, password: PASSWORD }));
    expect(first.status).toBe(401);
    const { session, ...rest } = await json<{ session: string }>(first);
    expect(rest).toEqual({ flows: [{ stages: ['m.login.registration_token'] }], params: {} });

    const dummy = await withConfig(vars, '/v3/register', post({ username: name, auth: { type: 'm.login.dummy', session } }));
    expect(dummy.status).toBe(401);
    expect((await json(dummy)).errcode).toBe('M_UNRECOGNIZED');

    const wrong = await withConfig(vars, '/v3/register', post({ username: name, auth: { type: 'm.login.registration_token', token: 'guess', session } }));
    expect(wrong.status).toBe(401);
    expect(await json(wrong)).toEqual({
      errcode: 'M_FORBIDDEN', error: expect.any(String), flows: [{ stages: ['m.login.registration_token'] }], params: {}, session,
    });

    const right = await withConfig(vars, '/v3/register', post({ username: name, password: PASSWORD, auth: { type: 'm.login.registration_token', token: 's3cret_Token', session } }));
    expect(right.status).toBe(200);
    expect((await json(right)).user_id).toBe(`@${name}:${SERVER}`);

    const validity = (token: string) => withConfig(vars, `/v1/register/m.login.registration_token/validity?token=${token}`);
    expect(await json(await validity('first-token'))).toEqual({ valid: true });
    expect(await json(await validity('nope'))).toEqual({ valid: false });
    const notEnabled = await call('GET', '/v1/register/m.login.registration_token/validity?token=x');
    expect(notEnabled.status).toBe(403);
  });
});

describe('request bodies', () => {
  it('answers M_NOT_JSON for bad JSON and M_BAD_JSON for wrong shapes', async () => {
    const notJson = await call('POST', '/v3/register', { raw: '{"username": ' });
    expect(notJson.status).toBe(400);
    expect((await json(notJson)).errcode).toBe('M_NOT_JSON');
    for (const body of [[1, 2], { username: 42 }, { inhibit_login: 'yes' }, { auth: 'dummy' }]) {
      const res = await call('POST', '/v3/register', { body });
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect((await json(res)).errcode).toBe('M_BAD_JSON');
    }
  });
});
