/**
 * Rooms tell their local users' objects about new events through an outbox written in the same
 * transaction (Client-Server issue groundwork for /sync): joined rooms, the user's room stream,
 * and long-polls woken by a notification rather than by polling.
 */
import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { userApi } from '../../durable-objects/user/api';
import { newRoom, user } from './builders';

async function registered(name: string) {
  const id = user(name);
  const result = await userApi(env.USER, id).performRegister({ user_id: id, password_hash: null, now: Date.now() });
  expect(result).toMatchObject({ ok: true });
  return { id, api: userApi(env.USER, id) };
}

/** Wait (without polling loops: one long-poll per change) until `check` holds. */
async function eventually<T>(api: ReturnType<typeof userApi>, check: () => Promise<T | undefined>): Promise<T> {
  let position = 0;
  for (let i = 0; i < 20; i++) {
    const value = await check();
    if (value !== undefined) return value;
    position = await api.waitForRoomActivity(position, 2000);
  }
  throw new Error('condition never held');
}

describe('room → user notifications', () => {
  it('tracks joins and leaves, and the user stream moves with each event', async () => {
    const alice = await registered(`alice${Date.now()}`);
    const bob = await registered(`bob${Date.now()}`);
    const { roomId, send } = await newRoom({ creator: alice.id });
    await eventually(alice.api, async () => ((await alice.api.getJoinedRooms()).includes(roomId) ? true : undefined));
    expect(await bob.api.getJoinedRooms()).not.toContain(roomId);

    await send({ type: 'm.room.member', sender: bob.id, state_key: bob.id, content: { membership: 'join' } });
    await eventually(bob.api, async () => ((await bob.api.getJoinedRooms()).includes(roomId) ? true : undefined));

    const before = await alice.api.getRoomStreamPosition();
    await send({ type: 'm.room.message', sender: bob.id, content: { msgtype: 'm.text', body: 'hello' } });
    const after = await alice.api.waitForRoomActivity(before, 5000);
    expect(after).toBeGreaterThan(before);

    await send({ type: 'm.room.member', sender: bob.id, state_key: bob.id, content: { membership: 'leave' } });
    await eventually(bob.api, async () => (!(await bob.api.getJoinedRooms()).includes(roomId) ? true : undefined));
    expect(await alice.api.getJoinedRooms()).toContain(roomId);
  });

  it('a long-poll returns at its timeout when nothing happens, and at once when something does', async () => {
    const carol = await registered(`carol${Date.now()}`);
    const { send } = await newRoom({ creator: carol.id });
    // Wait until the room's set-up events have all been reported: a 300 ms wait that ends
    // without news returns at its timeout, with the position unchanged.
    let position = await carol.api.getRoomStreamPosition();
    for (;;) {
      const t0 = Date.now();
      const next = await carol.api.waitForRoomActivity(position, 300);
      if (next === position) {
        expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
        break;
      }
      position = next;
    }
    expect(position).toBeGreaterThan(0);

    const waiting = carol.api.waitForRoomActivity(position, 10_000);
    const t1 = Date.now();
    await send({ type: 'm.room.message', sender: carol.id, content: { body: 'wake up' } });
    expect(await waiting).toBeGreaterThan(position);
    expect(Date.now() - t1).toBeLessThan(5000);
  });

  it('a user ID without an account keeps no database', async () => {
    const ghost = user(`ghost${Date.now()}`);
    const { send } = await newRoom();
    await send({ type: 'm.room.member', sender: user('alice'), state_key: ghost, content: { membership: 'invite' } });
    expect(await userApi(env.USER, ghost).getAccountStatus()).toBe('none');
    expect(await userApi(env.USER, ghost).getJoinedRooms()).toEqual([]);
  });
});
