/**
 * Profiles (read without a token, write only one's own, 404 for unknown users and unset
 * fields), their propagation as member events into joined rooms, profiles on joins and
 * invites, `/joined_rooms` and `/capabilities`.
 */
import { describe, expect, it } from 'vitest';
import { ALL_ROOM_VERSIONS, DEFAULT_ROOM_VERSION } from '../../core/room-versions';
import { call, json, registerUser, SERVER, type Session } from './helpers';
import { createRoom, enc, fails, ok, stateContent } from './room-helpers';
import { settle, sync, syncUntil } from './sync-helpers';

const profilePath = (userId: string, key?: string) => `/v3/profile/${enc(userId)}${key ? `/${key}` : ''}`;

async function setDisplayname(s: Session, name: string): Promise<void> {
  await ok('PUT', profilePath(s.user_id, 'displayname'), s.access_token, { displayname: name });
}

describe('profiles', () => {
  it('reads and writes displayname, avatar_url and custom fields', async () => {
    const alice = await registerUser();
    const bob = await registerUser();
    // A fresh account has an empty profile, and its fields are unset.
    expect(await ok('GET', profilePath(alice.user_id), alice.access_token)).toEqual({});
    await fails('GET', profilePath(alice.user_id, 'displayname'), alice.access_token, 404, 'M_NOT_FOUND');

    await setDisplayname(alice, 'Alice');
    await ok('PUT', profilePath(alice.user_id, 'avatar_url'), alice.access_token, { avatar_url: 'mxc://test.local/abc' });
    await ok('PUT', profilePath(alice.user_id, 'org.example.job'), alice.access_token, { 'org.example.job': { title: 'tester' } });

    // Reads need no access token.
    const res = await call('GET', profilePath(alice.user_id));
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual({ displayname: 'Alice', avatar_url: 'mxc://test.local/abc', 'org.example.job': { title: 'tester' } });
    expect(await json(await call('GET', profilePath(alice.user_id, 'displayname')))).toEqual({ displayname: 'Alice' });
    expect(await ok('GET', profilePath(alice.user_id, 'avatar_url'), bob.access_token)).toEqual({ avatar_url: 'mxc://test.local/abc' });

    await ok('DELETE', profilePath(alice.user_id, 'org.example.job'), alice.access_token);
    await fails('GET', profilePath(alice.user_id, 'org.example.job'), alice.access_token, 404, 'M_NOT_FOUND');

    // Only for oneself; values of the right type; keys of the spec's grammar.
    await fails('PUT', profilePath(alice.user_id, 'displayname'), bob.access_token, 403, 'M_FORBIDDEN', { displayname: 'Mallory' });
    await fails('DELETE', profilePath(alice.user_id, 'displayname'), bob.access_token, 403, 'M_FORBIDDEN');
    await fails('PUT', profilePath(alice.user_id, 'displayname'), alice.access_token, 400, 'M_BAD_JSON', { displayname: 42 });
    await fails('PUT', profilePath(alice.user_id, 'avatar_url'), alice.access_token, 400, 'M_BAD_JSON', { avatar_url: 'https://example.com/a.png' });
    await fails('PUT', profilePath(alice.user_id, 'displayname'), alice.access_token, 400, 'M_MISSING_PARAM', { avatar_url: 'mxc://a/b' });
    await fails('PUT', profilePath(alice.user_id, 'Bad-Key'), alice.access_token, 400, 'M_INVALID_PARAM', { 'Bad-Key': 1 });
    await fails('PUT', profilePath(alice.user_id, 'org.example.big'), alice.access_token, 400, 'M_PROFILE_TOO_LARGE', { 'org.example.big': 'x'.repeat(70_000) });

    // Unknown users are 404; a remote server that cannot be reached is 502 (as Synapse).
    await fails('GET', profilePath(`@nobody${Date.now()}:${SERVER}`), alice.access_token, 404, 'M_NOT_FOUND');
    await fails('GET', profilePath(`@nobody${Date.now()}:${SERVER}`, 'displayname'), alice.access_token, 404, 'M_NOT_FOUND');
    await fails('GET', profilePath('@someone:elsewhere.example'), alice.access_token, 502, 'M_UNKNOWN');
  });

  it('joins and invites carry the profile; a change is a member event other members see in /sync', async () => {
    const alice = await registerUser();
    const bob = await registerUser();
    await setDisplayname(alice, 'Alice A.');
    await setDisplayname(bob, 'Bob B.');
    const roomId = await createRoom(alice, { preset: 'private_chat' });
    expect(await stateContent(alice, roomId, 'm.room.member', alice.user_id)).toEqual({ membership: 'join', displayname: 'Alice A.' });
    await ok('POST', `/v3/rooms/${enc(roomId)}/invite`, alice.access_token, { user_id: bob.user_id });
    expect(await stateContent(alice, roomId, 'm.room.member', bob.user_id)).toEqual({ membership: 'invite', displayname: 'Bob B.' });
    await ok('POST', `/v3/rooms/${enc(roomId)}/join`, bob.access_token, {});
    expect(await stateContent(alice, roomId, 'm.room.member', bob.user_id)).toEqual({ membership: 'join', displayname: 'Bob B.' });

    const token = await settle(bob);
    await setDisplayname(alice, 'Alice Renamed');
    await ok('PUT', profilePath(alice.user_id, 'avatar_url'), alice.access_token, { avatar_url: 'mxc://test.local/new' });
    const bodies = await syncUntil(bob, token, (b) =>
      (b.rooms.join[roomId]?.timeline.events ?? []).some((e) => e.type === 'm.room.member' && e.state_key === alice.user_id && e.content.avatar_url === 'mxc://test.local/new'),
    );
    const memberEvents = bodies.flatMap((b) => b.rooms.join[roomId]?.timeline.events ?? []).filter((e) => e.type === 'm.room.member' && e.state_key === alice.user_id);
    expect(memberEvents.map((e) => e.content)).toEqual([
      { membership: 'join', displayname: 'Alice Renamed' },
      { membership: 'join', displayname: 'Alice Renamed', avatar_url: 'mxc://test.local/new' },
    ]);
    const joined = await ok<{ joined: Record<string, unknown> }>('GET', `/v3/rooms/${enc(roomId)}/joined_members`, bob.access_token);
    expect(joined.joined[alice.user_id]).toEqual({ display_name: 'Alice Renamed', avatar_url: 'mxc://test.local/new' });

    // Clearing the display name (empty string) removes it from the profile and the member event.
    await setDisplayname(alice, '');
    await fails('GET', profilePath(alice.user_id, 'displayname'), alice.access_token, 404, 'M_NOT_FOUND');
    expect(await stateContent(alice, roomId, 'm.room.member', alice.user_id)).toEqual({ membership: 'join', avatar_url: 'mxc://test.local/new' });
  });
});

describe('joined_rooms and capabilities', () => {
  it('lists joined rooms only', async () => {
    const alice = await registerUser();
    const bob = await registerUser();
    const a = await createRoom(alice);
    const b = await createRoom(alice, { preset: 'public_chat' });
    const invitedOnly = await createRoom(bob, { invite: [alice.user_id] });
    const left = await createRoom(alice);
    await ok('POST', `/v3/rooms/${enc(left)}/leave`, alice.access_token, {});
    // Memberships reach the user's object after commit: wait (one short long-poll per try) until all have.
    const expected = [a, b].sort();
    let token = (await sync(alice)).next_batch;
    let joined: string[] = [];
    for (let i = 0; i < 20; i++) {
      joined = [...(await ok<{ joined_rooms: string[] }>('GET', '/v3/joined_rooms', alice.access_token)).joined_rooms].sort();
      if (JSON.stringify(joined) === JSON.stringify(expected)) break;
      token = (await sync(alice, { since: token, timeout: 500 })).next_batch;
    }
    expect(joined).toEqual(expected);
    expect(joined).not.toContain(invitedOnly);
    expect(joined).not.toContain(left);
  });

  it('advertises password change, profile changes, room versions and no 3PID changes', async () => {
    const alice = await registerUser();
    const { capabilities } = await ok<{ capabilities: Record<string, any> }>('GET', '/v3/capabilities', alice.access_token);
    expect(capabilities['m.change_password']).toEqual({ enabled: true });
    expect(capabilities['m.set_displayname']).toEqual({ enabled: true });
    expect(capabilities['m.set_avatar_url']).toEqual({ enabled: true });
    expect(capabilities['m.3pid_changes']).toEqual({ enabled: false });
    expect(capabilities['m.room_versions'].default).toBe(DEFAULT_ROOM_VERSION);
    expect(Object.keys(capabilities['m.room_versions'].available)).toEqual([...ALL_ROOM_VERSIONS]);
    expect(capabilities['m.room_versions'].available[DEFAULT_ROOM_VERSION]).toBe('stable');
  });
});
