/**
 * User-scoped data over real HTTP against `npm start`: filters, account data and tags, profiles
 * (with propagation into a room), joined_rooms, capabilities, and /sync carrying account data
 * with a stored filter, every response body checked against the spec v1.16 OpenAPI schema of
 * its operation and status.
 */
import { describe, expect, it } from 'vitest';
import { localId, specClient, useInstance } from './spec-client';

const instance = useInstance();
const { request, register } = specClient(instance);
const local = (sigil: string, name: string) => localId(instance, sigil, name);

const C = '/_matrix/client/v3';
const enc = encodeURIComponent;

describe('user data over HTTP, schema-checked', () => {
  it('filters, account data, tags, profile, joined_rooms, capabilities and /sync', async () => {
    const tag = Date.now().toString(36);
    const a = await register(`ua${tag}`);
    const b = await register(`ub${tag}`);
    const A = a.access_token;
    const B = b.access_token;

    // Capabilities.
    const caps = await request('GET', `${C}/capabilities`, { token: A, expect: 200 });
    expect(caps.capabilities['m.3pid_changes']).toEqual({ enabled: false });

    // Filters.
    const F = `${C}/user/{userId}/filter`;
    const filter = { room: { timeline: { limit: 2 } }, account_data: { types: ['org.example.*'] } };
    const { filter_id: filterId } = await request('POST', F, { path: `${C}/user/${enc(a.user_id)}/filter`, token: A, body: filter, expect: 200 });
    const FG = `${F}/{filterId}`;
    expect(await request('GET', FG, { path: `${C}/user/${enc(a.user_id)}/filter/${filterId}`, token: A, expect: 200 })).toEqual(filter);
    await request('GET', FG, { path: `${C}/user/${enc(a.user_id)}/filter/987654`, token: A, expect: 404 });
    await request('GET', FG, { path: `${C}/user/${enc(a.user_id)}/filter/${filterId}`, token: B, expect: 403 });
    await request('POST', F, { path: `${C}/user/${enc(a.user_id)}/filter`, token: A, body: { room: { timeline: { limit: 'x' } } }, expect: 400 });

    // Profile.
    const P = `${C}/profile/{userId}`;
    const PK = `${P}/{keyName}`;
    await request('PUT', PK, { path: `${C}/profile/${enc(a.user_id)}/displayname`, token: A, body: { displayname: 'Alice E2E' }, expect: 200 });
    await request('PUT', PK, { path: `${C}/profile/${enc(a.user_id)}/avatar_url`, token: A, body: { avatar_url: 'mxc://localhost/e2e' }, expect: 200 });
    await request('PUT', PK, { path: `${C}/profile/${enc(a.user_id)}/displayname`, token: B, body: { displayname: 'Mallory' }, expect: 403 });
    expect(await request('GET', P, { path: `${C}/profile/${enc(a.user_id)}`, expect: 200 })).toEqual({ displayname: 'Alice E2E', avatar_url: 'mxc://localhost/e2e' });
    expect(await request('GET', PK, { path: `${C}/profile/${enc(a.user_id)}/displayname`, expect: 200 })).toEqual({ displayname: 'Alice E2E' });
    await request('GET', PK, { path: `${C}/profile/${enc(b.user_id)}/displayname`, expect: 404 });
    await request('GET', P, { path: `${C}/profile/${enc(local("@", `nobody${tag}`))}`, expect: 404 });

    // A room with both; Bob's join carries no profile, Alice's rename reaches the room.
    const { room_id: roomId } = await request('POST', `${C}/createRoom`, { token: A, body: { preset: 'public_chat' }, expect: 200 });
    await request('POST', `${C}/rooms/{roomId}/join`, { path: `${C}/rooms/${enc(roomId)}/join`, token: B, body: {}, expect: 200 });
    expect((await request('GET', `${C}/joined_rooms`, { token: A, expect: 200 })).joined_rooms).toContain(roomId);
    await request('PUT', PK, { path: `${C}/profile/${enc(a.user_id)}/displayname`, token: A, body: { displayname: 'Alice Renamed' }, expect: 200 });
    const JM = `${C}/rooms/{roomId}/joined_members`;
    const joined = await request('GET', JM, { path: `${C}/rooms/${enc(roomId)}/joined_members`, token: B, expect: 200 });
    expect(joined.joined[a.user_id]).toEqual({ display_name: 'Alice Renamed', avatar_url: 'mxc://localhost/e2e' });

    // Account data and tags.
    const G = `${C}/user/{userId}/account_data/{type}`;
    const gPath = (type: string) => `${C}/user/${enc(a.user_id)}/account_data/${type}`;
    await request('GET', G, { path: gPath('org.example.settings'), token: A, expect: 404 });
    await request('PUT', G, { path: gPath('org.example.settings'), token: A, body: { theme: 'dark' }, expect: 200 });
    expect(await request('GET', G, { path: gPath('org.example.settings'), token: A, expect: 200 })).toEqual({ theme: 'dark' });
    await request('GET', G, { path: gPath('org.example.settings'), token: B, expect: 403 });
    await request('PUT', G, { path: gPath('org.example.settings'), token: B, body: {}, expect: 403 });
    await request('PUT', G, { path: gPath('m.push_rules'), token: A, body: {}, expect: 405 });

    const R = `${C}/user/{userId}/rooms/{roomId}/account_data/{type}`;
    const rPath = (type: string) => `${C}/user/${enc(a.user_id)}/rooms/${enc(roomId)}/account_data/${type}`;
    await request('GET', R, { path: rPath('org.example.room'), token: A, expect: 404 });
    await request('PUT', R, { path: rPath('org.example.room'), token: A, body: { pinned: true }, expect: 200 });
    expect(await request('GET', R, { path: rPath('org.example.room'), token: A, expect: 200 })).toEqual({ pinned: true });
    await request('PUT', R, { path: rPath('m.fully_read'), token: A, body: {}, expect: 405 });
    await request('GET', R, { path: rPath('org.example.room'), token: B, expect: 403 });

    const T = `${C}/user/{userId}/rooms/{roomId}/tags`;
    const tPath = `${C}/user/${enc(a.user_id)}/rooms/${enc(roomId)}/tags`;
    await request('PUT', `${T}/{tag}`, { path: `${tPath}/m.favourite`, token: A, body: { order: 0.5 }, expect: 200 });
    await request('PUT', `${T}/{tag}`, { path: `${tPath}/u.later`, token: A, body: {}, expect: 200 });
    await request('DELETE', `${T}/{tag}`, { path: `${tPath}/u.later`, token: A, expect: 200 });
    expect(await request('GET', T, { path: tPath, token: A, expect: 200 })).toEqual({ tags: { 'm.favourite': { order: 0.5 } } });
    await request('GET', T, { path: tPath, token: B, expect: 403 });

    // /sync with the stored filter: account data filtered by type, a timeline of at most 2.
    const S = `${C}/sync`;
    const initial = await request('GET', S, { path: `${S}?filter=${filterId}`, token: A, expect: 200 });
    expect(initial.next_batch).toMatch(/^s\d+_\d+_\d+$/);
    expect(initial.account_data.events).toEqual([{ type: 'org.example.settings', content: { theme: 'dark' } }]);
    const room = initial.rooms.join[roomId];
    expect(room.timeline.events.length).toBeLessThanOrEqual(2);
    expect(room.account_data.events).toEqual(
      expect.arrayContaining([{ type: 'org.example.room', content: { pinned: true } }, { type: 'm.tag', content: { tags: { 'm.favourite': { order: 0.5 } } } }]),
    );
    // A long-poll woken by an account-data write, then an incremental sync with only that change.
    let since = initial.next_batch;
    for (;;) {
      const quiet = await request('GET', S, { path: `${S}?since=${since}&timeout=300`, token: A, expect: 200 });
      if (quiet.next_batch === since) break;
      since = quiet.next_batch;
    }
    const polling = request('GET', S, { path: `${S}?since=${since}&timeout=20000&filter=${filterId}`, token: A, expect: 200 });
    await new Promise((r) => setTimeout(r, 200));
    await request('PUT', G, { path: gPath('org.example.settings'), token: A, body: { theme: 'light' }, expect: 200 });
    const woken = await polling;
    expect(woken.account_data.events).toEqual([{ type: 'org.example.settings', content: { theme: 'light' } }]);
  });
});
