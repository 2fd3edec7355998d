/**
 * Room aliases (create, resolve, conflict, delete permissions, local aliases of a room, join by
 * alias, createRoom's `room_alias_name` and the canonical alias), the room directory's
 * visibility, and `/publicRooms` (listing, order, paging, search, room types).
 */
import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { moveRoomDirectoryEntries } from '../../workers/homeserver/client/directory';
import { call, json, registerUser, SERVER, uniqueName, type Session } from './helpers';
import { createRoom, enc, fails, messages, ok, stateContent } from './room-helpers';
import { settle } from './sync-helpers';

const aliasPath = (alias: string) => `/v3/directory/room/${enc(alias)}`;
const listPath = (roomId: string) => `/v3/directory/list/room/${enc(roomId)}`;
const newAlias = (base = 'room') => `#${uniqueName(base)}:${SERVER}`;

async function join(s: Session, roomIdOrAlias: string): Promise<string> {
  return (await ok<{ room_id: string }>('POST', `/v3/join/${enc(roomIdOrAlias)}`, s.access_token, {})).room_id;
}

interface PublicRoomsPage {
  chunk: Record<string, unknown>[];
  next_batch?: string;
  prev_batch?: string;
  total_room_count_estimate?: number;
}

const search = (s: Session, body: Record<string, unknown>) => ok<PublicRoomsPage>('POST', '/v3/publicRooms', s.access_token, body);

describe('room aliases', () => {
  it('maps an alias to a room, lists it, resolves it without a token, and deletes it', async () => {
    const a = await registerUser();
    const roomId = await createRoom(a);
    const alias = newAlias();
    expect(await ok('PUT', aliasPath(alias), a.access_token, { room_id: roomId })).toEqual({});

    const res = await call('GET', aliasPath(alias));
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual({ room_id: roomId, servers: [SERVER] });
    expect(await ok('GET', `/v3/rooms/${enc(roomId)}/aliases`, a.access_token)).toEqual({ aliases: [alias] });

    expect(await ok('DELETE', aliasPath(alias), a.access_token)).toEqual({});
    await fails('GET', aliasPath(alias), a.access_token, 404, 'M_NOT_FOUND');
    await fails('DELETE', aliasPath(alias), a.access_token, 404, 'M_NOT_FOUND');
    expect(await ok('GET', `/v3/rooms/${enc(roomId)}/aliases`, a.access_token)).toEqual({ aliases: [] });
  });

  it('refuses taken, malformed, remote and whitespace aliases, non-members and unknown rooms', async () => {
    const a = await registerUser();
    const b = await registerUser();
    const roomId = await createRoom(a);
    const other = await createRoom(b);
    const alias = newAlias();
    await ok('PUT', aliasPath(alias), a.access_token, { room_id: roomId });
    // Spec: 409 "A room alias with that name already exists" — also for another room.
    await fails('PUT', aliasPath(alias), b.access_token, 409, 'M_UNKNOWN', { room_id: other });
    await fails('PUT', aliasPath(alias), a.access_token, 409, 'M_UNKNOWN', { room_id: roomId });
    expect((await ok<{ room_id: string }>('GET', aliasPath(alias), a.access_token)).room_id).toBe(roomId);

    await fails('PUT', aliasPath('#nocolon'), a.access_token, 400, 'M_INVALID_PARAM', { room_id: roomId });
    await fails('PUT', aliasPath('#x:elsewhere.example'), a.access_token, 400, 'M_INVALID_PARAM', { room_id: roomId });
    await fails('PUT', aliasPath(`#with space:${SERVER}`), a.access_token, 400, 'M_INVALID_PARAM', { room_id: roomId });
    await fails('PUT', aliasPath(`#${'x'.repeat(250)}:${SERVER}`), a.access_token, 400, 'M_INVALID_PARAM', { room_id: roomId });
    await fails('PUT', aliasPath(newAlias()), a.access_token, 400, 'M_MISSING_PARAM', {});
    // Only a joined member may map an alias to a room.
    await fails('PUT', aliasPath(newAlias()), a.access_token, 403, 'M_FORBIDDEN', { room_id: other });
    await fails('PUT', aliasPath(newAlias()), a.access_token, 404, 'M_NOT_FOUND', { room_id: `!unknown${uniqueName()}:${SERVER}` });
    await fails('GET', aliasPath('#bad'), a.access_token, 400, 'M_INVALID_PARAM');
    // Aliases of other servers are asked of them: one that cannot be reached is 502 (as Synapse).
    await fails('GET', aliasPath('#room:elsewhere.example'), a.access_token, 502, 'M_UNKNOWN');
  });

  it('may be deleted by its creator or by whoever may send m.room.canonical_alias, not by other members', async () => {
    const admin = await registerUser();
    const member = await registerUser();
    const other = await registerUser();
    const roomId = await createRoom(admin, { preset: 'public_chat' });
    await join(member, roomId);
    await join(other, roomId);

    // A member without power creates an alias; they may delete their own.
    const own = newAlias('own');
    await ok('PUT', aliasPath(own), member.access_token, { room_id: roomId });
    await ok('DELETE', aliasPath(own), member.access_token);

    // Another member without power may not delete it; the room's admin may.
    const alias = newAlias('theirs');
    await ok('PUT', aliasPath(alias), member.access_token, { room_id: roomId });
    await fails('DELETE', aliasPath(alias), other.access_token, 403, 'M_FORBIDDEN');
    await ok('DELETE', aliasPath(alias), admin.access_token);
    await fails('GET', aliasPath(alias), admin.access_token, 404, 'M_NOT_FOUND');
  });

  it('lists a room\'s aliases only for those who may read the room', async () => {
    const a = await registerUser();
    const stranger = await registerUser();
    const roomId = await createRoom(a);
    const [x, y] = [newAlias('x'), newAlias('y')];
    await ok('PUT', aliasPath(y), a.access_token, { room_id: roomId });
    await ok('PUT', aliasPath(x), a.access_token, { room_id: roomId });
    expect(await ok('GET', `/v3/rooms/${enc(roomId)}/aliases`, a.access_token)).toEqual({ aliases: [x, y].sort() });
    await fails('GET', `/v3/rooms/${enc(roomId)}/aliases`, stranger.access_token, 403, 'M_FORBIDDEN');
    // A world-readable room's aliases are for anyone (spec).
    await ok('PUT', `/v3/rooms/${enc(roomId)}/state/m.room.history_visibility/`, a.access_token, { history_visibility: 'world_readable' });
    expect(await ok('GET', `/v3/rooms/${enc(roomId)}/aliases`, stranger.access_token)).toEqual({ aliases: [x, y].sort() });
  });

  it('joins a room by a local alias; unknown aliases are 404, unreachable servers 502', async () => {
    const a = await registerUser();
    const b = await registerUser();
    const roomId = await createRoom(a, { preset: 'public_chat' });
    const alias = newAlias();
    await ok('PUT', aliasPath(alias), a.access_token, { room_id: roomId });
    expect(await join(b, alias)).toBe(roomId);
    expect(await stateContent(b, roomId, 'm.room.member', b.user_id)).toMatchObject({ membership: 'join' });
    await fails('POST', `/v3/join/${enc(newAlias())}`, b.access_token, 404, 'M_NOT_FOUND', {});
    await fails('POST', `/v3/join/${enc('#room:elsewhere.example')}`, b.access_token, 502, 'M_UNKNOWN', {});
    await fails('POST', `/v3/join/${enc('nonsense')}`, b.access_token, 400, 'M_INVALID_PARAM', {});
  });
});

describe('createRoom room_alias_name and m.room.canonical_alias', () => {
  it('creates the alias, sends the canonical alias after the power levels and before the preset', async () => {
    const a = await registerUser();
    const name = uniqueName('made');
    const alias = `#${name}:${SERVER}`;
    const roomId = await createRoom(a, { room_alias_name: name, preset: 'public_chat', name: 'Named' });
    expect((await ok<{ room_id: string }>('GET', aliasPath(alias), a.access_token)).room_id).toBe(roomId);
    expect(await stateContent(a, roomId, 'm.room.canonical_alias')).toEqual({ alias });
    const types = (await messages(a, roomId, { dir: 'f', limit: 20 })).chunk.map((e) => e.type);
    expect(types.slice(0, 5)).toEqual(['m.room.create', 'm.room.member', 'm.room.power_levels', 'm.room.canonical_alias', 'm.room.join_rules']);
    expect(await ok('GET', `/v3/rooms/${enc(roomId)}/aliases`, a.access_token)).toEqual({ aliases: [alias] });
  });

  it('refuses a taken alias with M_ROOM_IN_USE before creating anything, and malformed names', async () => {
    const a = await registerUser();
    const name = uniqueName('taken');
    const first = await createRoom(a, { room_alias_name: name });
    // Every room a creates shows in its sync: none may appear for the refused requests.
    const since = await settle(a);
    await fails('POST', '/v3/createRoom', a.access_token, 400, 'M_ROOM_IN_USE', { room_alias_name: name });
    await fails('POST', '/v3/createRoom', a.access_token, 400, 'M_INVALID_PARAM', { room_alias_name: 'a:b' });
    await fails('POST', '/v3/createRoom', a.access_token, 400, 'M_INVALID_PARAM', { room_alias_name: 'has space' });
    expect((await ok<{ room_id: string }>('GET', aliasPath(`#${name}:${SERVER}`), a.access_token)).room_id).toBe(first);
    expect(await settle(a, since)).toBe(since);
    expect(await ok('GET', '/v3/joined_rooms', a.access_token)).toEqual({ joined_rooms: [first] });
  });

  it('checks new aliases of m.room.canonical_alias: valid, and pointing to the room', async () => {
    const a = await registerUser();
    const roomId = await createRoom(a);
    const elsewhere = await createRoom(a);
    const mine = newAlias('mine');
    const theirs = newAlias('theirs');
    await ok('PUT', aliasPath(mine), a.access_token, { room_id: roomId });
    await ok('PUT', aliasPath(theirs), a.access_token, { room_id: elsewhere });
    const put = `/v3/rooms/${enc(roomId)}/state/m.room.canonical_alias/`;
    await fails('PUT', put, a.access_token, 400, 'M_BAD_ALIAS', { alias: theirs });
    await fails('PUT', put, a.access_token, 400, 'M_BAD_ALIAS', { alias: mine, alt_aliases: [newAlias('unmapped')] });
    await fails('PUT', put, a.access_token, 400, 'M_INVALID_PARAM', { alias: 'not an alias' });
    await fails('PUT', put, a.access_token, 400, 'M_INVALID_PARAM', { alt_aliases: 'nope' });
    await ok('PUT', put, a.access_token, { alias: mine, alt_aliases: [mine] });
    expect(await stateContent(a, roomId, 'm.room.canonical_alias')).toEqual({ alias: mine, alt_aliases: [mine] });
  });

  it('deleting an alias takes it out of the room\'s canonical alias', async () => {
    const a = await registerUser();
    const name = uniqueName('canon');
    const roomId = await createRoom(a, { room_alias_name: name });
    const alt = newAlias('alt');
    await ok('PUT', aliasPath(alt), a.access_token, { room_id: roomId });
    const alias = `#${name}:${SERVER}`;
    await ok('PUT', `/v3/rooms/${enc(roomId)}/state/m.room.canonical_alias/`, a.access_token, { alias, alt_aliases: [alt] });
    await ok('DELETE', aliasPath(alias), a.access_token);
    expect(await stateContent(a, roomId, 'm.room.canonical_alias')).toEqual({ alt_aliases: [alt] });
    await ok('DELETE', aliasPath(alt), a.access_token);
    expect(await stateContent(a, roomId, 'm.room.canonical_alias')).toEqual({});
  });
});

describe('room upgrades and the directory', () => {
  it('moves local aliases and the listing to the new room, and out of the old canonical alias', async () => {
    const a = await registerUser();
    const name = uniqueName('moving');
    const alias = `#${name}:${SERVER}`;
    const oldRoom = await createRoom(a, { visibility: 'public', room_alias_name: name });
    const extra = newAlias('extra');
    await ok('PUT', aliasPath(extra), a.access_token, { room_id: oldRoom });
    const newRoom = await createRoom(a);

    await moveRoomDirectoryEntries(env, oldRoom, newRoom, a.user_id);
    expect((await ok<{ room_id: string }>('GET', aliasPath(alias), a.access_token)).room_id).toBe(newRoom);
    expect(await ok('GET', `/v3/rooms/${enc(newRoom)}/aliases`, a.access_token)).toEqual({ aliases: [alias, extra].sort() });
    expect(await ok('GET', `/v3/rooms/${enc(oldRoom)}/aliases`, a.access_token)).toEqual({ aliases: [] });
    expect(await json(await call('GET', listPath(oldRoom)))).toEqual({ visibility: 'private' });
    expect(await json(await call('GET', listPath(newRoom)))).toEqual({ visibility: 'public' });
    expect(await stateContent(a, oldRoom, 'm.room.canonical_alias')).toEqual({});
  });
});

describe('room directory visibility', () => {
  it('is private by default, public once published by a moderator, and 404 for unknown rooms', async () => {
    const a = await registerUser();
    const b = await registerUser();
    const roomId = await createRoom(a, { preset: 'public_chat' });
    await join(b, roomId);
    const res = await call('GET', listPath(roomId));
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual({ visibility: 'private' });

    // b may not send m.room.canonical_alias (power 50), so may not publish.
    await fails('PUT', listPath(roomId), b.access_token, 403, 'M_FORBIDDEN', { visibility: 'public' });
    // Spec: visibility "Defaults to `public`".
    await ok('PUT', listPath(roomId), a.access_token, {});
    expect(await json(await call('GET', listPath(roomId)))).toEqual({ visibility: 'public' });
    await fails('PUT', listPath(roomId), a.access_token, 400, 'M_INVALID_PARAM', { visibility: 'hidden' });
    await ok('PUT', listPath(roomId), a.access_token, { visibility: 'private' });
    expect(await json(await call('GET', listPath(roomId)))).toEqual({ visibility: 'private' });

    const unknown = `!unknown${uniqueName()}:${SERVER}`;
    await fails('GET', listPath(unknown), a.access_token, 404, 'M_NOT_FOUND');
    await fails('PUT', listPath(unknown), a.access_token, 404, 'M_NOT_FOUND', { visibility: 'public' });
  });

  it('createRoom with visibility public publishes the room', async () => {
    const a = await registerUser();
    const roomId = await createRoom(a, { visibility: 'public' });
    expect(await json(await call('GET', listPath(roomId)))).toEqual({ visibility: 'public' });
  });

  it('refuses the appservice list endpoint to user tokens', async () => {
    const a = await registerUser();
    const roomId = await createRoom(a);
    await fails('PUT', `/v3/directory/list/appservice/irc/${enc(roomId)}`, a.access_token, 403, 'M_FORBIDDEN', { visibility: 'public' });
  });
});

describe('publicRooms', () => {
  /** Three published rooms of 1, 2 and 3 members, named with a tag only they have. */
  async function publishedRooms(tag: string) {
    const a = await registerUser();
    const b = await registerUser();
    const c = await registerUser();
    const small = await createRoom(a, { visibility: 'public', name: `${tag} small`, topic: 'Quiet corner' });
    const middle = await createRoom(a, { visibility: 'public', name: `${tag} middle`, room_alias_name: uniqueName(tag.toLowerCase()) });
    const large = await createRoom(a, { visibility: 'public', name: `${tag} large`, creation_content: { type: 'm.space' } });
    await join(b, middle);
    await join(b, large);
    await join(c, large);
    return { a, small, middle, large };
  }

  it('lists published rooms with their summaries, largest first, without a token', async () => {
    const tag = `Pr${uniqueName()}`;
    const { a, small, middle, large } = await publishedRooms(tag);
    const page = await search(a, { filter: { generic_search_term: tag } });
    expect(page.chunk.map((r) => r.room_id)).toEqual([large, middle, small]);
    expect(page.total_room_count_estimate).toBe(3);
    expect(page.next_batch).toBeUndefined();
    expect(page.prev_batch).toBeUndefined();
    expect(page.chunk[2]).toEqual({
      room_id: small, name: `${tag} small`, topic: 'Quiet corner', num_joined_members: 1,
      world_readable: false, guest_can_join: false, join_rule: 'public',
    });
    expect(page.chunk[1]).toMatchObject({ num_joined_members: 2, canonical_alias: expect.stringMatching(/^#.+:test\.local$/) });
    expect(page.chunk[0]).toMatchObject({ num_joined_members: 3, room_type: 'm.space' });

    // GET needs no token and lists the same rooms (among others).
    const res = await call('GET', '/v3/publicRooms');
    expect(res.status).toBe(200);
    const all = await json<PublicRoomsPage>(res);
    expect(all.chunk.map((r) => r.room_id)).toEqual(expect.arrayContaining([small, middle, large]));
    const counts = all.chunk.map((r) => r.num_joined_members as number);
    expect(counts).toEqual([...counts].sort((x, y) => y - x));
  });

  it('pages forwards with next_batch and back with prev_batch', async () => {
    const tag = `Pg${uniqueName()}`;
    const { a, small, middle, large } = await publishedRooms(tag);
    const filter = { generic_search_term: tag };
    const p1 = await search(a, { filter, limit: 1 });
    expect(p1.chunk.map((r) => r.room_id)).toEqual([large]);
    expect(p1.prev_batch).toBeUndefined();
    const p2 = await search(a, { filter, limit: 1, since: p1.next_batch });
    expect(p2.chunk.map((r) => r.room_id)).toEqual([middle]);
    const p3 = await search(a, { filter, limit: 1, since: p2.next_batch });
    expect(p3.chunk.map((r) => r.room_id)).toEqual([small]);
    expect(p3.next_batch).toBeUndefined();
    const back = await search(a, { filter, limit: 2, since: p3.prev_batch });
    expect(back.chunk.map((r) => r.room_id)).toEqual([large, middle]);
    expect(back.prev_batch).toBeUndefined();
    expect(back.next_batch).toBeDefined();
    // GET pages the same way, with the token in the query.
    const g = await json<PublicRoomsPage>(await call('GET', `/v3/publicRooms?limit=1&since=${enc(p1.next_batch!)}`));
    expect(g.chunk).toHaveLength(1);
    await fails('POST', '/v3/publicRooms', a.access_token, 400, 'M_INVALID_PARAM', { since: 'garbage' });
  });

  it('searches name, topic and canonical alias case-insensitively, and filters room types', async () => {
    const tag = `Sr${uniqueName()}`;
    const { a, small, large } = await publishedRooms(tag);
    expect((await search(a, { filter: { generic_search_term: `${tag.toUpperCase()} SMALL` } })).chunk.map((r) => r.room_id)).toEqual([small]);
    const topic = `topic${uniqueName()}`;
    await ok('PUT', `/v3/rooms/${enc(large)}/state/m.room.topic/`, a.access_token, { topic: `About ${topic}` });
    expect((await search(a, { filter: { generic_search_term: topic.toUpperCase() } })).chunk.map((r) => r.room_id)).toEqual([large]);
    const alias = (await search(a, { filter: { generic_search_term: `${tag} middle` } })).chunk[0]!.canonical_alias as string;
    expect((await search(a, { filter: { generic_search_term: alias.slice(1, alias.indexOf(':')).toUpperCase() } })).chunk.map((r) => r.canonical_alias)).toEqual([alias]);

    const spaces = await search(a, { filter: { generic_search_term: tag, room_types: ['m.space'] } });
    expect(spaces.chunk.map((r) => r.room_id)).toEqual([large]);
    const untyped = await search(a, { filter: { generic_search_term: tag, room_types: [null] } });
    expect(untyped.chunk.map((r) => r.room_id)).not.toContain(large);
    expect(untyped.chunk).toHaveLength(2);
  });

  it('drops unpublished rooms and rooms one can neither join nor read; unreachable servers are 502', async () => {
    const tag = `Un${uniqueName()}`;
    const { a, small, middle } = await publishedRooms(tag);
    await ok('PUT', listPath(small), a.access_token, { visibility: 'private' });
    await ok('PUT', `/v3/rooms/${enc(middle)}/state/m.room.join_rules/`, a.access_token, { join_rule: 'invite' });
    expect((await search(a, { filter: { generic_search_term: tag } })).chunk.map((r) => r.name)).toEqual([`${tag} large`]);
    // World-readable history lists an invite-only room again (as Synapse).
    await ok('PUT', `/v3/rooms/${enc(middle)}/state/m.room.history_visibility/`, a.access_token, { history_visibility: 'world_readable' });
    const again = await search(a, { filter: { generic_search_term: tag } });
    expect(again.chunk.map((r) => r.name)).toEqual([`${tag} large`, `${tag} middle`]);
    expect(again.chunk[1]).toMatchObject({ world_readable: true, join_rule: 'invite' });

    await fails('POST', '/v3/publicRooms?server=elsewhere.example', a.access_token, 502, 'M_UNKNOWN', {});
    expect((await call('GET', `/v3/publicRooms?server=${SERVER}`)).status).toBe(200);
    await fails('POST', '/v3/publicRooms', a.access_token, 400, 'M_INVALID_PARAM', { include_all_networks: true, third_party_instance_id: 'x|y' });
    // No application service lists rooms yet.
    expect((await search(a, { third_party_instance_id: 'irc|freenode' })).chunk).toEqual([]);
  });
});
