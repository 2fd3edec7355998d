/**
 * `npm start` keeps all data across a restart: accounts, access tokens, rooms and their
 * events (Durable Object SQLite under DATA_DIR), not only the signing key.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { startInstance, tempDataDir, type Instance } from './instance';

const running: Instance[] = [];
afterAll(async () => {
  await Promise.all(running.map((i) => i.stop()));
});

async function call(base: string, method: string, path: string, token?: string, body?: unknown) {
  const res = await fetch(`${base}/_matrix/client${path}`, {
    method,
    headers: { ...(token ? { Authorization: `Bearer ${token}` } : {}), ...(body ? { 'Content-Type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('restart', () => {
  it('keeps accounts, tokens, rooms and messages', async () => {
    const dataDir = await tempDataDir();
    const first = await startInstance({ DATA_DIR: dataDir });
    running.push(first);
    const reg = await call(first.base, 'POST', '/v3/register', undefined, { username: 'keeper', password: 'a long enough password', auth: { type: 'm.login.dummy' } });
    expect(reg.status).toBe(200);
    const token = reg.body.access_token as string;
    const room = await call(first.base, 'POST', '/v3/createRoom', token, { name: 'kept' });
    const roomId = room.body.room_id as string;
    const sent = await call(first.base, 'PUT', `/v3/rooms/${encodeURIComponent(roomId)}/send/m.room.message/t1`, token, { msgtype: 'm.text', body: 'still here?' });
    expect(sent.status).toBe(200);
    expect(await first.stop()).toBe(0);

    const second = await startInstance({ DATA_DIR: dataDir, PORT: String(first.port) });
    running.push(second);
    // The old token still works, and so does the password.
    expect((await call(second.base, 'GET', '/v3/account/whoami', token)).body.user_id).toBe(reg.body.user_id);
    const login = await call(second.base, 'POST', '/v3/login', undefined, { type: 'm.login.password', identifier: { type: 'm.id.user', user: 'keeper' }, password: 'a long enough password' });
    expect(login.status).toBe(200);
    const sync = await call(second.base, 'GET', '/v3/sync', login.body.access_token as string);
    const timeline = ((sync.body.rooms as { join: Record<string, { timeline: { events: { event_id: string }[] } }> }).join[roomId]?.timeline.events ?? []).map((e) => e.event_id);
    expect(timeline).toContain(sent.body.event_id);
    // A retried send after the restart is still recognised.
    const retry = await call(second.base, 'PUT', `/v3/rooms/${encodeURIComponent(roomId)}/send/m.room.message/t1`, token, { msgtype: 'm.text', body: 'still here?' });
    expect(retry.body.event_id).toBe(sent.body.event_id);
    expect(await second.stop()).toBe(0);
  });
});
