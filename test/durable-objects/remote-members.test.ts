/**
 * The index of the rooms a remote user is joined to here (durable-objects/room/remote-members.ts
 * feeding durable-objects/remote-server `RemoteMembershipIndex`): a Room reports each change of
 * a remote member's being joined in its current state — a join received, a local kick or ban,
 * a leave — to the RemoteServer object of the member's server, after the commit.
 *
 * The Room's federation outbox also sends its events to the remote servers here; `fetch` is
 * replaced so those transactions are acknowledged without a network.
 */
import { env } from 'cloudflare:test';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { JsonObject } from '../../core/canonical-json';
import type { RoomVersionRules } from '../../core/room-versions';
import type { RoomApi } from '../../durable-objects/room/api';
import { buildPdu, type EventTemplate } from '../../durable-objects/room/builder';
import { remoteServerApi } from '../../durable-objects/remote-server/api';
import { newRoom, user } from './builders';

const realFetch = globalThis.fetch;
beforeEach(() => {
  globalThis.fetch = (async () => Response.json({ pdus: {} })) as typeof fetch;
});
afterEach(() => {
  globalThis.fetch = realFetch;
});

let counter = 0;
/** A server no other test uses (objects persist across tests). */
const newServer = () => `members${++counter}x${Math.random().toString(36).slice(2, 8)}.test`;

/** A PDU of a remote user on the room's extremities (the Room object does not check signatures). */
async function remotePdu(room: RoomApi, rules: RoomVersionRules, roomId: string, template: EventTemplate): Promise<JsonObject> {
  const info = (await room.getRoomInfo())!;
  const state = await room.getCurrentState();
  const id = (type: string, key: string) => state.find(([t, k]) => t === type && k === key)?.[2];
  // The auth events the rules select for a member event of its sender (join rules only for a join).
  const joinRules = template.content.membership === 'join' ? id('m.room.join_rules', '') : undefined;
  const auth = [id('m.room.power_levels', ''), joinRules, id('m.room.member', template.sender)].filter((x): x is string => x !== undefined);
  if (!rules.room_id_is_create_event_hash) auth.push(info.create_event_id);
  const depths = await Promise.all(info.forward_extremities.map(async (e) => ((await room.getEvent(e))?.pdu.depth as number) ?? 0));
  const built = buildPdu(rules, template, { room_id: roomId, prev_events: info.forward_extremities, auth_events: auth, depth: Math.max(0, ...depths) + 1, origin_server_ts: Date.now() });
  const server = template.sender.slice(template.sender.indexOf(':') + 1);
  return { ...built.pdu, signatures: { [server]: { 'ed25519:x': 'unchecked-here' } } };
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const roomsOf = (userId: string) => remoteServerApi(env.REMOTE_SERVER, userId.slice(userId.indexOf(':') + 1)).getJoinedRoomsOf(userId);

describe('the index of the rooms remote users are joined to', () => {
  it('follows joins received, a local kick, a rejoin and a ban, per room', async () => {
    const server = newServer();
    const bob = `@bob:${server}`;
    const carol = `@carol:${server}`;
    const first = await newRoom();
    const second = await newRoom();
    const join = async (r: typeof first, who: string) => {
      const pdu = await remotePdu(r.room, r.rules, r.roomId, { type: 'm.room.member', sender: who, state_key: who, content: { membership: 'join' } });
      expect((await r.room.ingestPdu(pdu)).status).toBe('accepted');
    };
    await join(first, bob);
    await join(second, bob);
    await join(first, carol);
    await until('both rooms of bob', async () => (await roomsOf(bob)).length === 2);
    expect(await roomsOf(bob)).toEqual([first.roomId, second.roomId].sort());
    await until('carol\'s room', async () => (await roomsOf(carol)).length === 1);
    expect(await roomsOf(carol)).toEqual([first.roomId]);

    // A local kick (leave by another member) ends bob's membership in the first room only.
    await first.send({ type: 'm.room.member', sender: first.creator, state_key: bob, content: { membership: 'leave' } });
    await until('the kick', async () => (await roomsOf(bob)).length === 1);
    expect(await roomsOf(bob)).toEqual([second.roomId]);
    expect(await roomsOf(carol)).toEqual([first.roomId]);

    // He comes back; then a ban.
    await join(first, bob);
    await until('the rejoin', async () => (await roomsOf(bob)).length === 2);
    await first.send({ type: 'm.room.member', sender: first.creator, state_key: bob, content: { membership: 'ban' } });
    await until('the ban', async () => (await roomsOf(bob)).length === 1);
    expect(await roomsOf(bob)).toEqual([second.roomId]);

    // Carol leaves by herself.
    const leave = await remotePdu(first.room, first.rules, first.roomId, { type: 'm.room.member', sender: carol, state_key: carol, content: { membership: 'leave' } });
    expect((await first.room.ingestPdu(leave)).status).toBe('accepted');
    await until('carol\'s leave', async () => (await roomsOf(carol)).length === 0);
  });

  it('keeps local users and invites out; lists a room\'s local joined members', async () => {
    const server = newServer();
    const dave = `@dave:${server}`;
    const { room, creator, send } = await newRoom();
    await send({ type: 'm.room.member', sender: user('erin'), state_key: user('erin'), content: { membership: 'join' } });
    // Invited is not joined.
    await send({ type: 'm.room.member', sender: creator, state_key: dave, content: { membership: 'invite' } });
    await send({ type: 'm.room.message', sender: creator, content: { msgtype: 'm.text', body: 'x' } });
    await new Promise((r) => setTimeout(r, 100));
    expect(await roomsOf(dave)).toEqual([]);
    expect(await remoteServerApi(env.REMOTE_SERVER, 'test.local').getJoinedRoomsOf(creator)).toEqual([]);
    expect((await room.getLocalJoinedMembers()).sort()).toEqual([creator, user('erin')].sort());
  });
});
