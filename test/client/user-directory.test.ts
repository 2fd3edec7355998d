/**
 * The user directory: matching (user ID or display name, word prefix, case-insensitive), who a
 * searcher may see (users sharing a room, members of public and world-readable rooms, nobody
 * else), `limit` and `limited`, and the index following profile changes and deactivation.
 */
import { describe, expect, it } from 'vitest';
import { call, passwordAuthDict, registerUser, type Session } from './helpers';
import { createRoom, enc, fails, ok } from './room-helpers';

interface SearchResult {
  results: { user_id: string; display_name?: string; avatar_url?: string }[];
  limited: boolean;
}

const searchUsers = (s: Session, body: Record<string, unknown>) => ok<SearchResult>('POST', '/v3/user_directory/search', s.access_token, body);
const ids = (r: SearchResult) => r.results.map((u) => u.user_id).sort();

/** A word no other test's users have. */
const uniqueWord = () => `w${Math.random().toString(36).slice(2, 10)}`;

async function setDisplayname(s: Session, name: string): Promise<void> {
  await ok('PUT', `/v3/profile/${enc(s.user_id)}/displayname`, s.access_token, { displayname: name });
}

/** Wait until the user's object knows their join (rooms tell it after their commit). */
async function untilJoined(s: Session, roomId: string): Promise<void> {
  for (let i = 0; i < 50; i++) {
    const { joined_rooms } = await ok<{ joined_rooms: string[] }>('GET', '/v3/joined_rooms', s.access_token);
    if (joined_rooms.includes(roomId)) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`${s.user_id} never showed as joined to ${roomId}`);
}

async function joinRoom(s: Session, roomId: string): Promise<void> {
  await ok('POST', `/v3/join/${enc(roomId)}`, s.access_token, {});
  await untilJoined(s, roomId);
}

/** A user with display name `<tag> <name>`. */
async function named(tag: string, name: string): Promise<Session> {
  const s = await registerUser();
  await setDisplayname(s, `${tag} ${name}`);
  return s;
}

describe('user directory search', () => {
  it('finds users who share a room or are in a public room, and nobody else', async () => {
    const tag = uniqueWord();
    const searcher = await named(tag, 'Searcher');
    const sharer = await named(tag, 'Sharer');
    const publicMember = await named(tag, 'Publicist');
    const stranger = await named(tag, 'Stranger');

    const shared = await createRoom(searcher, { preset: 'private_chat', invite: [sharer.user_id] });
    await untilJoined(searcher, shared);
    await joinRoom(sharer, shared);
    // The stranger is only in an invite-only room of their own.
    await untilJoined(stranger, await createRoom(stranger, { preset: 'private_chat' }));
    // The public member is in a room with a public join rule that the searcher is not in.
    await untilJoined(publicMember, await createRoom(publicMember, { preset: 'public_chat' }));

    const found = await searchUsers(searcher, { search_term: tag });
    expect(ids(found)).toEqual([searcher.user_id, sharer.user_id, publicMember.user_id].sort());
    expect(found.limited).toBe(false);
    expect(found.results.find((u) => u.user_id === sharer.user_id)).toEqual({ user_id: sharer.user_id, display_name: `${tag} Sharer` });

    // Word prefixes of the display name, any case; and of the user ID.
    expect(ids(await searchUsers(searcher, { search_term: `${tag.toUpperCase()} SHA` }))).toEqual([sharer.user_id]);
    const localpart = sharer.user_id.slice(1, sharer.user_id.indexOf(':'));
    expect(ids(await searchUsers(searcher, { search_term: localpart.slice(0, -2) }))).toEqual([sharer.user_id]);
    expect(ids(await searchUsers(searcher, { search_term: sharer.user_id }))).toEqual([sharer.user_id]);
    // A word must start a word: the middle of one does not match.
    expect((await searchUsers(searcher, { search_term: `${tag} haring` })).results).toEqual([]);
    expect((await searchUsers(searcher, { search_term: `${tag} Stranger` })).results).toEqual([]);

    // Once the stranger joins a room shared with the searcher, they are visible.
    const meeting = await createRoom(searcher, { preset: 'public_chat' });
    await untilJoined(searcher, meeting);
    await joinRoom(stranger, meeting);
    expect(ids(await searchUsers(searcher, { search_term: `${tag} stranger` }))).toEqual([stranger.user_id]);
  });

  it('shows members of world-readable rooms', async () => {
    const tag = uniqueWord();
    const searcher = await registerUser();
    const reader = await named(tag, 'Reader');
    const roomId = await createRoom(reader, { preset: 'private_chat' });
    await untilJoined(reader, roomId);
    expect((await searchUsers(searcher, { search_term: tag })).results).toEqual([]);
    await ok('PUT', `/v3/rooms/${enc(roomId)}/state/m.room.history_visibility/`, reader.access_token, { history_visibility: 'world_readable' });
    expect(ids(await searchUsers(searcher, { search_term: tag }))).toEqual([reader.user_id]);
  });

  it('honours limit and says when the list was cut', async () => {
    const tag = uniqueWord();
    const searcher = await registerUser();
    const roomId = await createRoom(searcher, { preset: 'public_chat' });
    await untilJoined(searcher, roomId);
    const members = [await named(tag, 'One'), await named(tag, 'Two'), await named(tag, 'Three')];
    for (const m of members) await joinRoom(m, roomId);
    const two = await searchUsers(searcher, { search_term: tag, limit: 2 });
    expect(two.results).toHaveLength(2);
    expect(two.limited).toBe(true);
    const all = await searchUsers(searcher, { search_term: tag });
    expect(ids(all)).toEqual(members.map((m) => m.user_id).sort());
    expect(all.limited).toBe(false);
  });

  it('follows profile changes, and forgets deactivated users', async () => {
    const tag = uniqueWord();
    const searcher = await registerUser();
    const roomId = await createRoom(searcher, { preset: 'public_chat' });
    await untilJoined(searcher, roomId);
    const user = await named(tag, 'Before');
    await joinRoom(user, roomId);
    expect(ids(await searchUsers(searcher, { search_term: `${tag} before` }))).toEqual([user.user_id]);

    await setDisplayname(user, `${tag} After`);
    await ok('PUT', `/v3/profile/${enc(user.user_id)}/avatar_url`, user.access_token, { avatar_url: 'mxc://test.local/face' });
    expect((await searchUsers(searcher, { search_term: `${tag} before` })).results).toEqual([]);
    expect((await searchUsers(searcher, { search_term: `${tag} after` })).results).toEqual([
      { user_id: user.user_id, display_name: `${tag} After`, avatar_url: 'mxc://test.local/face' },
    ]);

    await ok('POST', '/v3/account/deactivate', user.access_token, { auth: passwordAuthDict(user.user_id) });
    expect((await searchUsers(searcher, { search_term: tag })).results).toEqual([]);
  });

  it('needs a token and a search term', async () => {
    const s = await registerUser();
    await fails('POST', '/v3/user_directory/search', s.access_token, 400, 'M_MISSING_PARAM', {});
    await fails('POST', '/v3/user_directory/search', s.access_token, 400, 'M_BAD_JSON', { search_term: 'x', limit: -1 });
    await fails('POST', '/v3/user_directory/search', s.access_token, 400, 'M_BAD_JSON', { search_term: 'x', limit: 'ten' });
    expect((await call('POST', '/v3/user_directory/search', { body: { search_term: 'x' } })).status).toBe(401);
  });
});
