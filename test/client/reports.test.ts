/**
 * Reporting a user (spec "Reporting content", `POST /users/{userId}/report`): logged as one
 * JSON line; local users only, `404 M_NOT_FOUND` for an unknown or remote user.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { call, json, passwordAuthDict, registerUser, uniqueName } from './helpers';
import { enc, fails, ok } from './room-helpers';

afterEach(() => {
  vi.restoreAllMocks();
});

describe('reporting a user', () => {
  it('logs the report as one JSON line; no shared room is needed', async () => {
    const a = await registerUser();
    const b = await registerUser();
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    expect(await ok('POST', `/v3/users/${enc(b.user_id)}/report`, a.access_token, { reason: 'spam' })).toEqual({});
    // "May be blank."
    expect(await ok('POST', `/v3/users/${enc(b.user_id)}/report`, a.access_token, { reason: '' })).toEqual({});
    const lines = log.mock.calls.map((args) => String(args[0])).filter((l) => l.startsWith('{"report"')).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toEqual([
      { report: 'user', user_id: b.user_id, reporter: a.user_id, reason: 'spam' },
      { report: 'user', user_id: b.user_id, reporter: a.user_id, reason: '' },
    ]);
  });

  it('can report a deactivated user, not an unknown or remote one', async () => {
    const a = await registerUser();
    const gone = await registerUser();
    const deactivate = await call('POST', '/v3/account/deactivate', { token: gone.access_token, body: { auth: passwordAuthDict(gone.user_id) } });
    expect(deactivate.status, JSON.stringify(await json(deactivate))).toBe(200);
    expect(await ok('POST', `/v3/users/${enc(gone.user_id)}/report`, a.access_token, { reason: 'x' })).toEqual({});

    await fails('POST', `/v3/users/${enc(`@${uniqueName('nobody')}:test.local`)}/report`, a.access_token, 404, 'M_NOT_FOUND', { reason: 'x' });
    await fails('POST', `/v3/users/${enc('@someone:elsewhere.example')}/report`, a.access_token, 404, 'M_NOT_FOUND', { reason: 'x' });
  });

  it('checks the user ID, the body and the token', async () => {
    const a = await registerUser();
    await fails('POST', `/v3/users/${enc('not-a-user')}/report`, a.access_token, 400, 'M_INVALID_PARAM', { reason: 'x' });
    await fails('POST', `/v3/users/${enc(a.user_id)}/report`, a.access_token, 400, 'M_MISSING_PARAM', {});
    await fails('POST', `/v3/users/${enc(a.user_id)}/report`, a.access_token, 400, 'M_BAD_JSON', { reason: 1 });
    const res = await call('POST', `/v3/users/${enc(a.user_id)}/report`, { body: { reason: 'x' } });
    expect(res.status).toBe(401);
  });
});
