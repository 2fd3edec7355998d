/**
 * The User object from the inside: tokens and passwords are stored only as hashes, failures
 * cross RPC as values and reach the client intact, and probing unknown users leaves nothing
 * behind.
 */
import { env, runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { userApi } from '../../durable-objects/user/api';
import { hashAccessToken, mintAccessToken, userIdOfToken } from '../../workers/shared/access-token';
import { hashPassword, PBKDF2_ITERATIONS, verifyPassword } from '../../workers/shared/password';
import { call, json, loginUser, PASSWORD, registerUser, SERVER, uniqueName } from './helpers';

type Row = Record<string, SqlStorageValue>;

/** Every row of every table of the user's object, as text. */
async function dumpUser(userId: string): Promise<{ tables: string[]; text: string; tokens: Row[]; account: Row[] }> {
  return runInDurableObject(env.USER.getByName(userId), (_instance, state) => {
    const sql = state.storage.sql;
    const tables = sql.exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%'").toArray().map((r) => r.name);
    const all = tables.flatMap((t) => sql.exec<Row>(`SELECT * FROM "${t}"`).toArray());
    return {
      tables,
      text: JSON.stringify(all),
      tokens: tables.includes('access_tokens') ? sql.exec<Row>('SELECT * FROM access_tokens').toArray() : [],
      account: tables.includes('account') ? sql.exec<Row>('SELECT * FROM account').toArray() : [],
    };
  });
}

describe('storage', () => {
  it('stores tokens only as SHA-256 hashes and the password only as a PBKDF2 string', async () => {
    const a = await registerUser();
    const b = await json<{ access_token: string }>(await loginUser(a.user_id));
    const dump = await dumpUser(a.user_id);
    expect(dump.tokens).toHaveLength(2);
    for (const token of [a.access_token, b.access_token]) {
      expect(dump.text).not.toContain(token);
      expect(dump.text).not.toContain(token.slice(-43));
      expect(dump.tokens.map((t) => t.token_hash)).toContain(await hashAccessToken(token));
    }
    expect(dump.text).not.toContain(PASSWORD);
    const stored = dump.account[0]!.password_hash as string;
    expect(stored).toMatch(/^\$pbkdf2-sha256\$i=100000\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
    expect(await verifyPassword(PASSWORD, stored)).toBe(true);
  });

  it('a token for a never-registered user creates no database', async () => {
    const userId = `@${uniqueName('ghost')}:${SERVER}`;
    const res = await call('GET', '/v3/account/whoami', { token: mintAccessToken(userId) });
    expect(res.status).toBe(401);
    expect((await call('GET', `/v3/register/available?username=${userId.slice(1, userId.indexOf(':'))}`)).status).toBe(200);
    expect((await dumpUser(userId)).tables).toEqual([]);
  });
});

describe('failures across RPC', () => {
  it('come back as values with their errcode', async () => {
    const a = await registerUser();
    const user = userApi(env.USER, a.user_id);
    const token = mintAccessToken(a.user_id);
    expect(await user.performRegister({ user_id: a.user_id, password_hash: null, now: Date.now() })).toEqual({
      ok: false, errcode: 'M_USER_IN_USE', error: 'User ID already taken.',
    });
    expect(await user.performLogin({ password: 'wrong', token_hash: await hashAccessToken(token), now: Date.now() })).toEqual({
      ok: false, errcode: 'M_FORBIDDEN', error: 'Invalid username or password',
    });
    expect(await user.performUpdateDevice('NOPE', 'x')).toMatchObject({ ok: false, errcode: 'M_NOT_FOUND' });
  });

  it('reach the client intact: status, errcode and the object\'s own message', async () => {
    const a = await registerUser();
    const res = await loginUser(a.user_id, 'wrong');
    expect(res.status).toBe(403);
    expect(await json(res)).toEqual({ errcode: 'M_FORBIDDEN', error: 'Invalid username or password' });
    const device = await call('PUT', '/v3/devices/NOPE', { token: a.access_token, body: { display_name: 'x' } });
    expect(device.status).toBe(404);
    expect(await json(device)).toEqual({ errcode: 'M_NOT_FOUND', error: 'Unknown device' });
  });
});

describe('tokens and passwords', () => {
  it('a token names its user and nothing else', () => {
    for (const userId of ['@a:test.local', '@x_y-z.=/+:example.org:8448', '@__:[::1]:80']) {
      const token = mintAccessToken(userId);
      expect(userIdOfToken(token)).toBe(userId);
      expect(mintAccessToken(userId)).not.toBe(token);
    }
    for (const bad of ['', 'syt_', 'syt_abc_def', 'mct_' + mintAccessToken('@a:b').slice(4), mintAccessToken('@a:b') + 'x']) {
      expect(userIdOfToken(bad)).toBeUndefined();
    }
  });

  it('PBKDF2: salted, self-describing, rejects wrong passwords and foreign formats', async () => {
    const one = await hashPassword('pässword');
    const two = await hashPassword('pässword');
    expect(one).not.toBe(two);
    expect(one.startsWith(`$pbkdf2-sha256$i=${PBKDF2_ITERATIONS}$`)).toBe(true);
    expect(await verifyPassword('pässword', two)).toBe(true);
    expect(await verifyPassword('password', one)).toBe(false);
    expect(await verifyPassword('pässword', one.replace('i=100000', 'i=200000'))).toBe(false);
    expect(await verifyPassword('x', '$2b$12$bcrypt')).toBe(false);
  });
});
