/** createRoom: presets, room versions (v12 room IDs), request fields and the order of events. */
import { describe, expect, it } from 'vitest';
import { call, json, registerUser } from './helpers';
import { createRoom, enc, fails, messages, ok, stateContent, type ClientEvent } from './room-helpers';

describe('createRoom', () => {
  it('creates a v12 room by default: the room ID is the create event\'s hash, the creator is not in users', async () => {
    const a = await registerUser();
    const roomId = await createRoom(a);
    expect(roomId).toMatch(/^![A-Za-z0-9_-]{43}$/);
    const state = await ok<ClientEvent[]>('GET', `/v3/rooms/${enc(roomId)}/state`, a.access_token);
    const create = state.find((e) => e.type === 'm.room.create')!;
    expect(create.event_id).toBe(`$${roomId.slice(1)}`);
    expect(create).toMatchObject({ room_id: roomId, sender: a.user_id, state_key: '', content: { room_version: '12' } });
    const pl = await stateContent(a, roomId, 'm.room.power_levels');
    expect(pl.users).toEqual({});
    expect((pl.events as Record<string, number>)['m.room.tombstone']).toBe(150);
    expect(await stateContent(a, roomId, 'm.room.member', a.user_id)).toEqual({ membership: 'join' });
  });

  it.each([
    ['private_chat', 'invite', 'can_join'],
    ['trusted_private_chat', 'invite', 'can_join'],
    ['public_chat', 'public', 'forbidden'],
  ])('preset %s sets join rule %s, history shared, guest access %s', async (preset, joinRule, guestAccess) => {
    const a = await registerUser();
    const roomId = await createRoom(a, { preset });
    expect(await stateContent(a, roomId, 'm.room.join_rules')).toEqual({ join_rule: joinRule });
    expect(await stateContent(a, roomId, 'm.room.history_visibility')).toEqual({ history_visibility: 'shared' });
    expect(await stateContent(a, roomId, 'm.room.guest_access')).toEqual({ guest_access: guestAccess });
  });

  it('defaults the preset from visibility', async () => {
    const a = await registerUser();
    expect(await stateContent(a, await createRoom(a, { visibility: 'public' }), 'm.room.join_rules')).toEqual({ join_rule: 'public' });
    expect(await stateContent(a, await createRoom(a, { visibility: 'private' }), 'm.room.join_rules')).toEqual({ join_rule: 'invite' });
  });

  it('trusted_private_chat: invitees get the creator\'s power (v11) or become additional creators (v12)', async () => {
    const a = await registerUser();
    const b = await registerUser();
    const v11 = await createRoom(a, { preset: 'trusted_private_chat', invite: [b.user_id], room_version: '11' });
    expect(v11).toMatch(/^!.+:test\.local$/);
    expect((await stateContent(a, v11, 'm.room.power_levels')).users).toEqual({ [a.user_id]: 100, [b.user_id]: 100 });
    const v12 = await createRoom(a, { preset: 'trusted_private_chat', invite: [b.user_id] });
    expect(await stateContent(a, v12, 'm.room.create')).toMatchObject({ additional_creators: [b.user_id] });
    expect((await stateContent(a, v12, 'm.room.power_levels')).users).toEqual({});
  });

  it('sends the events in the spec\'s order, with overrides, initial_state, name, topic and invites', async () => {
    const a = await registerUser();
    const b = await registerUser();
    const roomId = await createRoom(a, {
      room_version: '10',
      name: 'The name',
      topic: 'The topic',
      invite: [b.user_id],
      is_direct: true,
      creation_content: { 'm.federate': false },
      power_level_content_override: { state_default: 40 },
      initial_state: [
        { type: 'm.room.join_rules', state_key: '', content: { join_rule: 'public' } },
        { type: 'm.room.name', content: { name: 'overridden' } },
        { type: 'org.example.custom', state_key: 'k', content: { x: 1 } },
      ],
    });
    const page = await messages(a, roomId, { dir: 'f', limit: 100 });
    expect(page.chunk.map((e) => `${e.type}|${e.state_key ?? ''}`)).toEqual([
      'm.room.create|',
      `m.room.member|${a.user_id}`,
      'm.room.power_levels|',
      'm.room.history_visibility|',
      'm.room.guest_access|',
      'm.room.join_rules|',
      'org.example.custom|k',
      'm.room.name|',
      'm.room.topic|',
      `m.room.member|${b.user_id}`,
    ]);
    expect(page.chunk[0]!.content).toMatchObject({ 'm.federate': false, room_version: '10', creator: a.user_id });
    expect(await stateContent(a, roomId, 'm.room.power_levels')).toMatchObject({ state_default: 40, users: { [a.user_id]: 100 } });
    expect(await stateContent(a, roomId, 'm.room.join_rules')).toEqual({ join_rule: 'public' });
    expect(await stateContent(a, roomId, 'm.room.name')).toEqual({ name: 'The name' });
    expect(await stateContent(a, roomId, 'm.room.topic')).toMatchObject({ topic: 'The topic' });
    expect(await stateContent(a, roomId, 'm.room.member', b.user_id)).toEqual({ membership: 'invite', is_direct: true });
  });

  it('refuses unknown room versions and malformed requests before creating anything', async () => {
    const a = await registerUser();
    await fails('POST', '/v3/createRoom', a.access_token, 400, 'M_UNSUPPORTED_ROOM_VERSION', { room_version: '999' });
    await fails('POST', '/v3/createRoom', a.access_token, 400, 'M_BAD_JSON', { preset: 'nope' });
    await fails('POST', '/v3/createRoom', a.access_token, 400, 'M_BAD_JSON', { initial_state: [{ type: 'x' }] });
    await fails('POST', '/v3/createRoom', a.access_token, 400, 'M_INVALID_PARAM', { invite: ['not a user'] });
    // v12: the creator may not be listed in the power levels' users.
    await fails('POST', '/v3/createRoom', a.access_token, 400, 'M_BAD_JSON', { power_level_content_override: { users: { [a.user_id]: 100 } } });
    const res = await call('POST', '/v3/createRoom', { raw: '{}' });
    expect(res.status).toBe(401);
    expect((await json(res)).errcode).toBe('M_MISSING_TOKEN');
  });
});
