/**
 * Room aliases, the room directory and the user directory over real HTTP against `npm start`,
 * with every response body checked against the spec v1.16 OpenAPI schema of its operation and
 * status.
 */
import { describe, expect, it } from 'vitest';
import { specClient, useInstance } from './spec-client';

const { request, register } = specClient(useInstance());

const C = '/_matrix/client/v3';
const enc = encodeURIComponent;

describe('directories over HTTP, schema-checked', () => {
  it('aliases: create, resolve, list, conflict, join by alias, delete', async () => {
    const tag = Date.now().toString(36);
    const a = await register(`da${tag}`);
    const server = a.user_id.slice(a.user_id.indexOf(':') + 1);
    const b = await register(`db${tag}`);
    const A = a.access_token;
    const B = b.access_token;

    const alias = `#made${tag}:${server}`;
    const { room_id: roomId } = await request('POST', `${C}/createRoom`, { token: A, body: { preset: 'public_chat', room_alias_name: `made${tag}` }, expect: 200 });
    await request('POST', `${C}/createRoom`, { token: A, body: { room_alias_name: `made${tag}` }, expect: 400 });

    const D = `${C}/directory/room/{roomAlias}`;
    const at = (x: string) => `${C}/directory/room/${enc(x)}`;
    expect(await request('GET', D, { path: at(alias), expect: 200 })).toEqual({ room_id: roomId, servers: [server] });
    await request('GET', D, { path: at(`#nothing${tag}:${server}`), expect: 404 });
    // Another server's alias is asked of it; one that cannot be reached is 502.
    await request('GET', D, { path: at('#x:elsewhere.example'), expect: 502 });
    await request('GET', D, { path: at('nonsense'), expect: 400 });

    const second = `#second${tag}:${server}`;
    expect(await request('PUT', D, { path: at(second), token: A, body: { room_id: roomId }, expect: 200 })).toEqual({});
    await request('PUT', D, { path: at(second), token: A, body: { room_id: roomId }, expect: 409 });
    await request('PUT', D, { path: at('#x:elsewhere.example'), token: A, body: { room_id: roomId }, expect: 400 });

    const L = `${C}/rooms/{roomId}/aliases`;
    const aliases = await request('GET', L, { path: `${C}/rooms/${enc(roomId)}/aliases`, token: A, expect: 200 });
    expect(aliases.aliases.sort()).toEqual([alias, second].sort());
    await request('GET', L, { path: `${C}/rooms/${enc(roomId)}/aliases`, token: B, expect: 403 });

    expect(await request('POST', `${C}/join/{roomIdOrAlias}`, { path: `${C}/join/${enc(second)}`, token: B, body: {}, expect: 200 })).toEqual({ room_id: roomId });

    // b holds no power in the room and did not create the alias.
    await request('DELETE', D, { path: at(second), token: B, expect: 403 });
    expect(await request('DELETE', D, { path: at(second), token: A, expect: 200 })).toEqual({});
    await request('DELETE', D, { path: at(second), token: A, expect: 404 });

    const ST = `${C}/rooms/{roomId}/state/{eventType}/{stateKey}`;
    const canonical = `${C}/rooms/${enc(roomId)}/state/m.room.canonical_alias/`;
    expect((await request('PUT', ST, { path: canonical, token: A, body: { alias: second }, expect: 400 })).errcode).toBe('M_BAD_ALIAS');
    await request('PUT', ST, { path: canonical, token: A, body: { alias }, expect: 200 });
  });

  it('room directory: visibility, publicRooms listing, paging and search', async () => {
    const tag = `Dir${Date.now().toString(36)}`;
    const a = await register(`pa${tag.toLowerCase()}`);
    const b = await register(`pb${tag.toLowerCase()}`);
    const A = a.access_token;
    const B = b.access_token;

    const { room_id: big } = await request('POST', `${C}/createRoom`, { token: A, body: { visibility: 'public', name: `${tag} big`, topic: 'Lots of people' }, expect: 200 });
    const { room_id: small } = await request('POST', `${C}/createRoom`, { token: A, body: { preset: 'public_chat', name: `${tag} small` }, expect: 200 });
    await request('POST', `${C}/join/{roomIdOrAlias}`, { path: `${C}/join/${enc(big)}`, token: B, body: {}, expect: 200 });

    const V = `${C}/directory/list/room/{roomId}`;
    const vis = (roomId: string) => `${C}/directory/list/room/${enc(roomId)}`;
    expect(await request('GET', V, { path: vis(big), expect: 200 })).toEqual({ visibility: 'public' });
    expect(await request('GET', V, { path: vis(small), expect: 200 })).toEqual({ visibility: 'private' });
    await request('GET', V, { path: vis(`!nothing${tag}:elsewhere.example`), expect: 404 });
    await request('PUT', V, { path: vis(small), token: B, body: { visibility: 'public' }, expect: 403 });
    expect(await request('PUT', V, { path: vis(small), token: A, body: { visibility: 'public' }, expect: 200 })).toEqual({});

    const P = `${C}/publicRooms`;
    const filter = { generic_search_term: tag.toLowerCase() };
    const all = await request('POST', P, { token: A, body: { filter }, expect: 200 });
    expect(all.chunk.map((r: { room_id: string }) => r.room_id)).toEqual([big, small]);
    expect(all.chunk[0]).toEqual({
      room_id: big, name: `${tag} big`, topic: 'Lots of people', num_joined_members: 2,
      world_readable: false, guest_can_join: false, join_rule: 'public',
    });
    expect(all.total_room_count_estimate).toBe(2);

    const first = await request('POST', P, { token: A, body: { filter, limit: 1 }, expect: 200 });
    expect(first.chunk.map((r: { room_id: string }) => r.room_id)).toEqual([big]);
    const next = await request('POST', P, { token: A, body: { filter, limit: 1, since: first.next_batch }, expect: 200 });
    expect(next.chunk.map((r: { room_id: string }) => r.room_id)).toEqual([small]);
    expect(next.next_batch).toBeUndefined();
    const back = await request('POST', P, { token: A, body: { filter, limit: 1, since: next.prev_batch }, expect: 200 });
    expect(back.chunk.map((r: { room_id: string }) => r.room_id)).toEqual([big]);

    // GET needs no token.
    const listed = await request('GET', P, { path: `${P}?limit=100`, expect: 200 });
    expect(listed.chunk.map((r: { room_id: string }) => r.room_id)).toEqual(expect.arrayContaining([big, small]));
    // Another server's directory is asked of it; one that cannot be reached is 502.
    await request('GET', P, { path: `${P}?server=elsewhere.example`, expect: 502 });

    await request('PUT', V, { path: vis(small), token: A, body: { visibility: 'private' }, expect: 200 });
    expect((await request('POST', P, { token: A, body: { filter }, expect: 200 })).chunk.map((r: { room_id: string }) => r.room_id)).toEqual([big]);

    const AS = `${C}/directory/list/appservice/{networkId}/{roomId}`;
    await request('PUT', AS, { path: `${C}/directory/list/appservice/irc/${enc(big)}`, token: A, body: { visibility: 'public' }, expect: 403 });
  });

  it('user directory: finds users sharing a room, not strangers', async () => {
    const tag = `u${Date.now().toString(36)}`;
    const a = await register(`ua${tag}`);
    const b = await register(`ub${tag}`);
    const stranger = await register(`us${tag}`);
    const PROFILE = `${C}/profile/{userId}/{keyName}`;
    await request('PUT', PROFILE, { path: `${C}/profile/${enc(b.user_id)}/displayname`, token: b.access_token, body: { displayname: `Bea ${tag}` }, expect: 200 });
    await request('PUT', PROFILE, { path: `${C}/profile/${enc(stranger.user_id)}/displayname`, token: stranger.access_token, body: { displayname: `Stan ${tag}` }, expect: 200 });
    const { room_id: roomId } = await request('POST', `${C}/createRoom`, { token: a.access_token, body: { preset: 'private_chat', invite: [b.user_id] }, expect: 200 });
    await request('POST', `${C}/join/{roomIdOrAlias}`, { path: `${C}/join/${enc(roomId)}`, token: b.access_token, body: {}, expect: 200 });

    const S = `${C}/user_directory/search`;
    // Joins reach the users' objects just after they commit: wait for b to be found.
    let found: { results: { user_id: string; display_name?: string }[]; limited: boolean } = { results: [], limited: false };
    for (let i = 0; i < 50 && found.results.length === 0; i++) {
      found = await request('POST', S, { token: a.access_token, body: { search_term: `bea ${tag}` }, expect: 200 });
      if (found.results.length === 0) await new Promise((r) => setTimeout(r, 50));
    }
    expect(found).toEqual({ results: [{ user_id: b.user_id, display_name: `Bea ${tag}` }], limited: false });
    expect((await request('POST', S, { token: a.access_token, body: { search_term: `stan ${tag}` }, expect: 200 })).results).toEqual([]);
    await request('POST', S, { token: a.access_token, body: {}, expect: 400 });
  });
});
