/**
 * Builders for Room object tests (Dendrite's test.NewRoom style): real rooms through the Room
 * object's RPC methods, with really signed events.
 */
import { env } from 'cloudflare:test';
import { expect } from 'vitest';
import type { JsonObject } from '../../core/canonical-json';
import { getRoomVersionRules } from '../../core/room-versions';
import { newRoomId } from '../../durable-objects/room/builder';
import { roomApi, type RoomApi, type SendInput } from '../../durable-objects/room/api';

export const SERVER = 'test.local';
export const user = (name: string) => `@${name}:${SERVER}`;

export type RoomStub = RoomApi;

let counter = 0;

/** A room created by `creator`, joined by it, with power levels and a join rule. */
export async function newRoom(opts: { version?: string; creator?: string; joinRule?: 'public' | 'invite'; users?: Record<string, number> } = {}) {
  const version = opts.version ?? '12';
  const creator = opts.creator ?? user('alice');
  const rules = getRoomVersionRules(version)!;
  const ts = Date.now();
  const roomId = newRoomId(rules, creator, {}, ts, SERVER, `room${++counter}x${Math.random().toString(36).slice(2, 10)}`);
  const room = roomApi(env.ROOM, roomId);
  const created = await room.performCreate({ room_id: roomId, room_version: version, creator, origin_server_ts: ts });
  expect(created, JSON.stringify(created)).toMatchObject({ ok: true });
  const send = async (input: SendInput) => {
    const r = await room.performSend(input);
    expect(r, JSON.stringify(r)).toMatchObject({ ok: true });
    return r as { ok: true; event_id: string; stream_ordering: number };
  };
  await send({ type: 'm.room.member', sender: creator, state_key: creator, content: { membership: 'join' } });
  const users: Record<string, number> = rules.creators_have_infinite_power ? { ...opts.users } : { [creator]: 100, ...opts.users };
  await send({ type: 'm.room.power_levels', sender: creator, state_key: '', content: { users } as JsonObject });
  await send({ type: 'm.room.join_rules', sender: creator, state_key: '', content: { join_rule: opts.joinRule ?? 'public' } });
  return { room, roomId, rules, creator, send };
}

/** The current state as a `type|state_key -> event_id` record. */
export async function currentState(room: RoomStub): Promise<Record<string, string>> {
  const triples = await room.getCurrentState();
  return Object.fromEntries(triples.map(([t, k, id]): [string, string] => [`${t}|${k}`, id]));
}
