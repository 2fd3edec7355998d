/** Room upgrades (spec "Room Upgrades", server behaviour): the replacement room, the copied state, the tombstone, the old room's power levels. */
import { describe, expect, it } from 'vitest';
import type { JsonObject } from '../../core/canonical-json';
import { getRoomVersionRules } from '../../core/room-versions';
import type { EventRecord } from '../../durable-objects/room/api';
import { integerPowerLevels, planUpgrade, restrictedPowerLevels } from '../../workers/homeserver/client/room-upgrade';
import { registerUser, uniqueName, type Session } from './helpers';
import { createRoom, enc, fails, ok, stateContent, type ClientEvent } from './room-helpers';

const r = (roomId: string) => `/v3/rooms/${enc(roomId)}`;

const upgrade = async (s: Session, roomId: string, body: Record<string, unknown>) =>
  (await ok<{ replacement_room: string }>('POST', `${r(roomId)}/upgrade`, s.access_token, body)).replacement_room;

const stateEvent = (s: Session, roomId: string, type: string, key = '') => ok<ClientEvent>('GET', `${r(roomId)}/state/${type}/${enc(key)}?format=event`, s.access_token);

/** A v11 room with state worth copying (and `aliases` for its canonical alias), where `b` is a moderator and `c` banned. */
async function richRoom(a: Session, b: Session, c: Session, version = '11', aliases = [`#${uniqueName('old')}:test.local`, `#${uniqueName('alt')}:test.local`]): Promise<string> {
  const roomId = await createRoom(a, { preset: 'public_chat', room_version: version, name: 'Old name', topic: 'Old topic' });
  const put = (type: string, content: Record<string, unknown>, key = '') => ok('PUT', `${r(roomId)}/state/${type}/${enc(key)}`, a.access_token, content);
  await put('m.room.history_visibility', { history_visibility: 'joined' });
  await put('m.room.guest_access', { guest_access: 'can_join' });
  await put('m.room.avatar', { url: 'mxc://test.local/avatar' });
  await put('m.room.encryption', { algorithm: 'm.megolm.v1.aes-sha2' });
  await put('m.room.server_acl', { allow: ['*'], deny: ['evil.example'], allow_ip_literals: false });
  for (const alias of aliases) await ok('PUT', `/v3/directory/room/${enc(alias)}`, a.access_token, { room_id: roomId });
  await put('m.room.canonical_alias', { alias: aliases[0], alt_aliases: aliases.slice(1) });
  await put('org.example.custom', { kept: false });
  await ok('POST', `${r(roomId)}/join`, b.access_token, {});
  const pl = await stateContent(a, roomId, 'm.room.power_levels');
  await put('m.room.power_levels', { ...pl, users: { ...(pl.users as object), [b.user_id]: 50 } });
  await ok('POST', `${r(roomId)}/join`, c.access_token, {});
  await ok('POST', `${r(roomId)}/ban`, a.access_token, { user_id: c.user_id, reason: 'spam' });
  return roomId;
}

describe('room upgrades', { timeout: 30_000 }, () => {
  it('v11 → v12: predecessor without event ID, copied state, creators out of the power levels, tombstone, old room restricted', async () => {
    const [a, b, c] = [await registerUser(), await registerUser(), await registerUser()];
    const aliases = [`#${uniqueName('old')}:test.local`, `#${uniqueName('alt')}:test.local`];
    const oldRoom = await richRoom(a, b, c, '11', aliases);
    await ok('PUT', `/v3/directory/list/room/${enc(oldRoom)}`, a.access_token, { visibility: 'public' });
    const newRoom = await upgrade(a, oldRoom, { new_version: '12' });
    expect(newRoom).not.toBe(oldRoom);

    // Spec step 4: local aliases and the directory listing move; the old canonical alias lets go.
    for (const alias of aliases) expect((await ok<{ room_id: string }>('GET', `/v3/directory/room/${enc(alias)}`, a.access_token)).room_id).toBe(newRoom);
    expect(await ok('GET', `/v3/directory/list/room/${enc(newRoom)}`, a.access_token)).toEqual({ visibility: 'public' });
    expect(await ok('GET', `/v3/directory/list/room/${enc(oldRoom)}`, a.access_token)).toEqual({ visibility: 'private' });
    expect(await stateContent(a, oldRoom, 'm.room.canonical_alias')).toEqual({});

    const create = await stateEvent(a, newRoom, 'm.room.create');
    expect(create.sender).toBe(a.user_id);
    expect(create.content).toEqual({ room_version: '12', predecessor: { room_id: oldRoom } });
    // v12: the room ID is the create event's hash.
    expect(newRoom).toBe(`!${create.event_id.slice(1)}`);

    for (const [type, expected] of [
      ['m.room.name', { name: 'Old name' }],
      ['m.room.history_visibility', { history_visibility: 'joined' }],
      ['m.room.guest_access', { guest_access: 'can_join' }],
      ['m.room.join_rules', { join_rule: 'public' }],
      ['m.room.avatar', { url: 'mxc://test.local/avatar' }],
      ['m.room.encryption', { algorithm: 'm.megolm.v1.aes-sha2' }],
      ['m.room.server_acl', { allow: ['*'], deny: ['evil.example'], allow_ip_literals: false }],
      ['m.room.canonical_alias', { alias: aliases[0], alt_aliases: [aliases[1]] }],
    ] as const) {
      expect(await stateContent(a, newRoom, type)).toEqual(expected);
    }
    expect((await stateContent(a, newRoom, 'm.room.topic')).topic).toBe('Old topic');
    await fails('GET', `${r(newRoom)}/state/org.example.custom/`, a.access_token, 404, 'M_NOT_FOUND');
    // Bans come along; memberships do not.
    expect(await stateContent(a, newRoom, 'm.room.member', c.user_id)).toEqual({ membership: 'ban', reason: 'spam' });
    await fails('GET', `${r(newRoom)}/state/m.room.member/${enc(b.user_id)}`, a.access_token, 404, 'M_NOT_FOUND');

    // The old power levels, without the creator (who outranks every level in v12).
    const oldPl = await stateContent(a, oldRoom, 'm.room.power_levels');
    const newPl = await stateContent(a, newRoom, 'm.room.power_levels');
    expect(newPl.users).toEqual({ [b.user_id]: 50 });
    expect(newPl.events).toEqual(oldPl.events);
    expect(newPl.state_default).toBe(oldPl.state_default);

    // The old room: tombstone, and no more talking or inviting for ordinary members.
    expect(await stateContent(a, oldRoom, 'm.room.tombstone')).toEqual({ body: 'This room has been replaced', replacement_room: newRoom });
    expect(oldPl).toMatchObject({ events_default: 50, invite: 50, users: { [a.user_id]: 100, [b.user_id]: 50 } });

    // The new room is joinable as the old one was.
    await ok('POST', `${r(newRoom)}/join`, b.access_token, {});
  });

  it('v10 → v11: predecessor names the tombstone; the upgrader keeps their level', async () => {
    const [a, b, c] = [await registerUser(), await registerUser(), await registerUser()];
    const oldRoom = await richRoom(a, b, c, '10');
    const newRoom = await upgrade(a, oldRoom, { new_version: '11' });
    expect(newRoom).toMatch(/^![A-Za-z]{18}:test\.local$/);
    const tombstone = await stateEvent(a, oldRoom, 'm.room.tombstone');
    expect(tombstone.content).toEqual({ body: 'This room has been replaced', replacement_room: newRoom });
    expect(tombstone.sender).toBe(a.user_id);
    expect((await stateContent(a, newRoom, 'm.room.create')).predecessor).toEqual({ room_id: oldRoom, event_id: tombstone.event_id });
    expect((await stateContent(a, newRoom, 'm.room.power_levels')).users).toEqual({ [a.user_id]: 100, [b.user_id]: 50 });
  });

  it('copies the room type, and the body\'s additional_creators become v12 creators', async () => {
    const [a, b, c] = [await registerUser(), await registerUser(), await registerUser()];
    const space = await createRoom(a, { room_version: '11', creation_content: { type: 'm.space' }, power_level_content_override: { users: { [a.user_id]: 100, [b.user_id]: 100, [c.user_id]: 20 } } });
    await ok('PUT', `${r(space)}/state/m.space.child/${enc('!child:test.local')}`, a.access_token, { via: ['test.local'] });
    await ok('PUT', `${r(space)}/state/m.space.child/${enc('!gone:test.local')}`, a.access_token, {});
    await fails('POST', `${r(space)}/upgrade`, a.access_token, 400, 'M_INVALID_PARAM', { new_version: '12', additional_creators: ['not-a-user'] });
    await fails('POST', `${r(space)}/upgrade`, a.access_token, 400, 'M_BAD_JSON', { new_version: '12', additional_creators: 'nope' });

    const newRoom = await upgrade(a, space, { new_version: '12', additional_creators: [b.user_id] });
    expect(await stateContent(a, newRoom, 'm.room.create')).toEqual({ room_version: '12', type: 'm.space', predecessor: { room_id: space }, additional_creators: [b.user_id] });
    expect(await stateContent(a, newRoom, 'm.space.child', '!child:test.local')).toEqual({ via: ['test.local'] });
    await fails('GET', `${r(newRoom)}/state/m.space.child/${enc('!gone:test.local')}`, a.access_token, 404, 'M_NOT_FOUND');
    expect((await stateContent(a, newRoom, 'm.room.power_levels')).users).toEqual({ [c.user_id]: 20 });

    // v11: additional_creators mean nothing and are ignored.
    const plain = await createRoom(a, { room_version: '10' });
    const v11 = await upgrade(a, plain, { new_version: '11', additional_creators: [b.user_id] });
    expect((await stateContent(a, v11, 'm.room.create')).additional_creators).toBeUndefined();
  });

  it('raises the upgrader while copying state when the old levels ask for more, then puts them back', async () => {
    const [a, b] = [await registerUser(), await registerUser()];
    // In v12 the creator may hand out levels above 100: b gets 150 (enough for the tombstone),
    // and the server ACL needs 200.
    const oldRoom = await createRoom(a, { room_version: '12', preset: 'public_chat' });
    await ok('POST', `${r(oldRoom)}/join`, b.access_token, {});
    const pl = await stateContent(a, oldRoom, 'm.room.power_levels');
    await ok('PUT', `${r(oldRoom)}/state/m.room.power_levels/`, a.access_token, { ...pl, users: { [b.user_id]: 150 }, events: { ...(pl.events as object), 'm.room.server_acl': 200 } });
    await ok('PUT', `${r(oldRoom)}/state/m.room.server_acl/`, a.access_token, { allow: ['*'], deny: [] });

    const newRoom = await upgrade(b, oldRoom, { new_version: '11' });
    expect(await stateContent(b, newRoom, 'm.room.server_acl')).toEqual({ allow: ['*'], deny: [] });
    const newPl = await stateContent(b, newRoom, 'm.room.power_levels');
    expect(newPl.users).toEqual({ [b.user_id]: 150 });
    const timeline = (await ok<{ chunk: ClientEvent[] }>('GET', `${r(newRoom)}/messages?dir=f&limit=50`, b.access_token)).chunk;
    const levels = timeline.filter((e) => e.type === 'm.room.power_levels').map((e) => (e.content.users as Record<string, number>)[b.user_id]);
    expect(levels).toEqual([200, 150]);

    // The creator of a v12 room had infinite power there: downgrading, they keep what they need.
    const again = await upgrade(a, oldRoom, { new_version: '11' });
    expect((await stateContent(a, again, 'm.room.power_levels')).users).toEqual({ [a.user_id]: 200, [b.user_id]: 150 });
  });

  it('refuses unknown versions, unknown rooms, and users who may not send the tombstone', async () => {
    const [a, b] = [await registerUser(), await registerUser()];
    const roomId = await createRoom(a, { preset: 'public_chat', room_version: '11' });
    await ok('POST', `${r(roomId)}/join`, b.access_token, {});
    await fails('POST', `${r(roomId)}/upgrade`, a.access_token, 400, 'M_UNSUPPORTED_ROOM_VERSION', { new_version: 'nope' });
    await fails('POST', `${r(roomId)}/upgrade`, a.access_token, 400, 'M_UNSUPPORTED_ROOM_VERSION', { new_version: '1' });
    await fails('POST', `${r(roomId)}/upgrade`, a.access_token, 400, 'M_MISSING_PARAM', {});
    await fails('POST', `${r('!nosuchroom:test.local')}/upgrade`, a.access_token, 404, 'M_NOT_FOUND', { new_version: '12' });
    await fails('POST', `${r(roomId)}/upgrade`, b.access_token, 403, 'M_FORBIDDEN', { new_version: '12' });
    const outsider = await registerUser();
    await fails('POST', `${r(roomId)}/upgrade`, outsider.access_token, 403, 'M_FORBIDDEN', { new_version: '12' });
    // Nothing happened to the room.
    await fails('GET', `${r(roomId)}/state/m.room.tombstone/`, a.access_token, 404, 'M_NOT_FOUND');
    expect((await stateContent(a, roomId, 'm.room.power_levels')).events_default).toBe(0);
  });
});

describe('planning an upgrade', () => {
  const record = (type: string, content: JsonObject, stateKey = '', sender = '@a:test.local'): EventRecord => ({
    event_id: `$${type}${stateKey}`,
    stream_ordering: 1,
    pdu: { type, state_key: stateKey, sender, content },
    status: 'accepted',
    rejection: null,
    redacted_by: null,
  });
  const v9 = getRoomVersionRules('9')!;
  const v12 = getRoomVersionRules('12')!;

  it('keeps only local aliases, makes levels integers, and leaves unrelated state behind', () => {
    const old = {
      room_id: '!old:test.local',
      rules: v9,
      state: [
        record('m.room.create', { creator: '@a:test.local', room_version: '9', 'm.federate': false }),
        record('m.room.power_levels', { users: { '@a:test.local': '100', '@b:test.local': 50 }, events_default: '0', state_default: 50, ban: 'x' }),
        record('m.room.canonical_alias', { alias: '#remote:elsewhere.example', alt_aliases: ['#here:test.local', '#there:elsewhere.example'] }),
        record('m.room.member', { membership: 'join' }, '@a:test.local'),
        record('m.room.member', { membership: 'ban', reason: 'spam' }, '@c:test.local'),
        record('org.example.custom', { x: 1 }),
      ],
    };
    const plan = planUpgrade(old, { rules: v12, upgrader: '@a:test.local', additional_creators: ['@b:test.local', '@a:test.local'], server_name: 'test.local' });
    expect(plan.create.creationContent).toEqual({ predecessor: { room_id: '!old:test.local' }, 'm.federate': false, additional_creators: ['@b:test.local'] });
    const byType = new Map(plan.create.events.map((e) => [e.type, e]));
    expect(byType.get('m.room.canonical_alias')!.content).toEqual({ alt_aliases: ['#here:test.local'] });
    // Creators left out, strings made integers, a non-level dropped.
    expect(byType.get('m.room.power_levels')!.content).toEqual({ users: {}, events_default: 0, state_default: 50 });
    expect(byType.has('org.example.custom')).toBe(false);
    expect(plan.bans).toEqual([{ type: 'm.room.member', state_key: '@c:test.local', sender: '@a:test.local', content: { membership: 'ban', reason: 'spam' } }]);
    expect(plan.restore_power_levels).toBeUndefined();
  });

  it('integer levels and the old room\'s restriction', () => {
    expect(integerPowerLevels({ ban: ' 50 ', kick: 1.5, events: { 'm.room.name': '+20', bad: 'high' }, users: {} })).toEqual({ ban: 50, events: { 'm.room.name': 20 }, users: {} });
    expect(restrictedPowerLevels({ users_default: 0, events_default: 0 })).toEqual({ users_default: 0, events_default: 50, invite: 50 });
    expect(restrictedPowerLevels({ users_default: 60, events_default: 70, invite: 0 })).toEqual({ users_default: 60, events_default: 70, invite: 61 });
    expect(restrictedPowerLevels({ events_default: 50, invite: 100 })).toBeUndefined();
  });
});
