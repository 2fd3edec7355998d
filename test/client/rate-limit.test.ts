/**
 * Rate limits over HTTP (spec "Rate limiting"): `429 M_LIMIT_EXCEEDED` with `retry_after_ms`
 * and `Retry-After`, per user for sends, per account for failed logins, per client address for
 * registration. Runs in the 'workers-rate-limit' project (vitest.config.ts), whose rates are:
 * messages 3 at once then 0.2/s; failed logins 2 then 0.1/s; registrations 3 then 0.01/s.
 */
import { describe, expect, it } from 'vitest';
import { ConfigError, parseHomeserverConfig } from '../../workers/shared/config';
import { PASSWORD, call, hs, json, loginUser, registerUser, uniqueName, type Session } from './helpers';
import { createRoom, enc } from './room-helpers';

/** The response must be the spec's rate-limit error, with a wait of at most `maxMs`. */
async function expectLimited(res: Response, maxMs: number): Promise<number> {
  const body = await json(res);
  expect(res.status, JSON.stringify(body)).toBe(429);
  expect(body).toEqual({ errcode: 'M_LIMIT_EXCEEDED', error: expect.any(String), retry_after_ms: expect.any(Number) });
  const ms = body.retry_after_ms as number;
  expect(Number.isInteger(ms)).toBe(true);
  expect(ms).toBeGreaterThan(0);
  expect(ms).toBeLessThanOrEqual(maxMs);
  // HTTP's Retry-After is whole seconds, rounded up; CORS headers are still there.
  expect(res.headers.get('Retry-After')).toBe(String(Math.ceil(ms / 1000)));
  expect(res.headers.get('Access-Control-Allow-Origin')).toBe('*');
  return ms;
}

let txn = 0;
const send = (s: Session, roomId: string) =>
  call('PUT', `/v3/rooms/${enc(roomId)}/send/m.room.message/rl${++txn}`, { token: s.access_token, body: { msgtype: 'm.text', body: 'hi' } });

describe('message rate limit (per user)', () => {
  it('counts sends, state events and redactions together, and refuses the one over the burst', async () => {
    const a = await registerUser();
    const roomId = await createRoom(a);
    const first = await json<{ event_id: string }>(await send(a, roomId));
    expect(first.event_id).toMatch(/^\$/);
    const state = await call('PUT', `/v3/rooms/${enc(roomId)}/state/m.room.topic/`, { token: a.access_token, body: { topic: 't' } });
    expect(state.status).toBe(200);
    const redact = await call('PUT', `/v3/rooms/${enc(roomId)}/redact/${enc(first.event_id)}/rl${++txn}`, { token: a.access_token, body: {} });
    expect(redact.status).toBe(200);

    // Three taken; the bucket refills one every 5 s.
    await expectLimited(await send(a, roomId), 5000);
    await expectLimited(await call('PUT', `/v3/rooms/${enc(roomId)}/state/m.room.topic/`, { token: a.access_token, body: { topic: 'u' } }), 5000);

    // Routes without a rate-limit class are not counted; nothing was sent by the refused calls.
    const read = await call('GET', `/v3/rooms/${enc(roomId)}/state/m.room.topic/`, { token: a.access_token });
    expect(await json(read)).toEqual({ topic: 't' });
  });

  it('keeps one bucket per user, and checks the token before the rate', async () => {
    const a = await registerUser();
    const b = await registerUser();
    const roomId = await createRoom(a, { preset: 'public_chat' });
    expect((await call('POST', `/v3/rooms/${enc(roomId)}/join`, { token: b.access_token, body: {} })).status).toBe(200);
    for (let i = 0; i < 3; i++) expect((await send(a, roomId)).status).toBe(200);
    await expectLimited(await send(a, roomId), 5000);
    expect((await send(b, roomId)).status).toBe(200);
    // An unknown token is 401 whatever the rate.
    const bad = await call('PUT', `/v3/rooms/${enc(roomId)}/send/m.room.message/x`, { token: `${a.access_token}x`, body: {} });
    expect(bad.status).toBe(401);
  });
});

describe('failed login rate limit (per account)', () => {
  it('refuses logins after the burst of failures, even with the right password; successes are not counted', async () => {
    const a = await registerUser();
    // Right passwords do not use the bucket up.
    for (let i = 0; i < 4; i++) expect((await loginUser(a.user_id)).status).toBe(200);

    for (let i = 0; i < 2; i++) {
      const wrong = await loginUser(a.user_id, 'not the password');
      expect(wrong.status).toBe(403);
      expect((await json(wrong)).errcode).toBe('M_FORBIDDEN');
    }
    await expectLimited(await loginUser(a.user_id, 'not the password'), 10_000);
    await expectLimited(await loginUser(a.user_id, PASSWORD), 10_000);

    // Another account is not affected; an unknown one has its own bucket too.
    const b = await registerUser();
    expect((await loginUser(b.user_id)).status).toBe(200);
    const ghost = `@${uniqueName('ghost')}:test.local`;
    for (let i = 0; i < 2; i++) expect((await loginUser(ghost)).status).toBe(403);
    await expectLimited(await loginUser(ghost), 10_000);
  });
});

describe('registration rate limit (per client address)', () => {
  const register = (ip: string | undefined) =>
    hs('/_matrix/client/v3/register', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...(ip ? { 'CF-Connecting-IP': ip } : {}) },
      body: JSON.stringify({ username: uniqueName('reg'), password: PASSWORD, auth: { type: 'm.login.dummy' } }),
    });

  it('counts every POST /register of an address, each address on its own', async () => {
    for (let i = 0; i < 3; i++) expect((await register('203.0.113.7')).status).toBe(200);
    await expectLimited(await register('203.0.113.7'), 100_000);
    expect((await register('2001:db8::7')).status).toBe(200);
    // A request without a known address (a direct call, as in these tests) is not counted.
    expect((await register(undefined)).status).toBe(200);
  });
});

describe('rate-limit configuration', () => {
  const base = { SERVER_NAME: 'a.b', SIGNING_KEY: 'ed25519 1 YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA0' };

  it('defaults to rates no normal client reaches, and reads each RC_* variable', () => {
    expect(parseHomeserverConfig(base).rateLimits).toEqual({
      message: { perSecond: 10, burst: 100 },
      login_failed: { perSecond: 0.1, burst: 5 },
      registration: { perSecond: 0.2, burst: 30 },
    });
    const set = parseHomeserverConfig({ ...base, RC_MESSAGE_PER_SECOND: '0.5', RC_MESSAGE_BURST_COUNT: '7', RC_REGISTRATION_BURST_COUNT: '1' });
    expect(set.rateLimits.message).toEqual({ perSecond: 0.5, burst: 7 });
    expect(set.rateLimits.registration).toEqual({ perSecond: 0.2, burst: 1 });
  });

  it('reports every bad rate together', () => {
    let error: unknown;
    try {
      parseHomeserverConfig({ ...base, RC_MESSAGE_PER_SECOND: '0', RC_LOGIN_FAILED_PER_SECOND: 'fast', RC_LOGIN_FAILED_BURST_COUNT: '2.5', RC_REGISTRATION_BURST_COUNT: '0' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems;
    expect(problems).toHaveLength(4);
    expect(problems.join('\n')).toMatch(/RC_MESSAGE_PER_SECOND must be a positive number/);
    expect(problems.join('\n')).toMatch(/RC_LOGIN_FAILED_PER_SECOND/);
    expect(problems.join('\n')).toMatch(/RC_LOGIN_FAILED_BURST_COUNT must be an integer of at least 1/);
    expect(problems.join('\n')).toMatch(/RC_REGISTRATION_BURST_COUNT/);
  });
});
