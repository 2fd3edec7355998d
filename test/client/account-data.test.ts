/**
 * Account data and tags: set and read, only for oneself, server-controlled types refused, and
 * delivery through /sync — everything in an initial sync, changes in incremental ones, each
 * exactly once — with a long-poll woken by an account-data write.
 */
import { describe, expect, it } from 'vitest';
import { registerUser, type Session } from './helpers';
import { createRoom, enc, fails, ok } from './room-helpers';
import { settle, sync, syncUntil, type AccountDataEvent, type SyncBody } from './sync-helpers';

const globalPath = (s: Session, type: string) => `/v3/user/${enc(s.user_id)}/account_data/${enc(type)}`;
const roomPath = (s: Session, roomId: string, type: string) => `/v3/user/${enc(s.user_id)}/rooms/${enc(roomId)}/account_data/${enc(type)}`;
const tagsPath = (s: Session, roomId: string) => `/v3/user/${enc(s.user_id)}/rooms/${enc(roomId)}/tags`;

const ofType = (events: AccountDataEvent[], type: string) => events.filter((e) => e.type === type);
const roomData = (b: SyncBody, roomId: string) => b.rooms.join[roomId]?.account_data.events ?? [];

describe('account data', () => {
  it('sets and reads global and room account data, only for oneself', async () => {
    const alice = await registerUser();
    const bob = await registerUser();
    const roomId = await createRoom(alice);

    await fails('GET', globalPath(alice, 'org.example.settings'), alice.access_token, 404, 'M_NOT_FOUND');
    await ok('PUT', globalPath(alice, 'org.example.settings'), alice.access_token, { theme: 'dark' });
    expect(await ok('GET', globalPath(alice, 'org.example.settings'), alice.access_token)).toEqual({ theme: 'dark' });
    await ok('PUT', globalPath(alice, 'org.example.settings'), alice.access_token, { theme: 'light' });
    expect(await ok('GET', globalPath(alice, 'org.example.settings'), alice.access_token)).toEqual({ theme: 'light' });

    await fails('GET', roomPath(alice, roomId, 'org.example.room'), alice.access_token, 404, 'M_NOT_FOUND');
    await ok('PUT', roomPath(alice, roomId, 'org.example.room'), alice.access_token, { pinned: true });
    expect(await ok('GET', roomPath(alice, roomId, 'org.example.room'), alice.access_token)).toEqual({ pinned: true });
    // Room data is not global data of the same type, and the reverse.
    await fails('GET', globalPath(alice, 'org.example.room'), alice.access_token, 404, 'M_NOT_FOUND');

    await fails('GET', globalPath(alice, 'org.example.settings'), bob.access_token, 403, 'M_FORBIDDEN');
    await fails('PUT', globalPath(alice, 'org.example.settings'), bob.access_token, 403, 'M_FORBIDDEN', {});
    await fails('GET', roomPath(alice, roomId, 'org.example.room'), bob.access_token, 403, 'M_FORBIDDEN');
    await fails('PUT', roomPath(alice, roomId, 'org.example.room'), bob.access_token, 403, 'M_FORBIDDEN', {});

    for (const type of ['m.fully_read', 'm.push_rules']) {
      await fails('PUT', globalPath(alice, type), alice.access_token, 405, 'M_BAD_JSON', {});
      await fails('PUT', roomPath(alice, roomId, type), alice.access_token, 405, 'M_BAD_JSON', {});
    }
    await fails('PUT', roomPath(alice, 'not-a-room', 'org.example.room'), alice.access_token, 400, 'M_INVALID_PARAM', {});
    await fails('PUT', globalPath(alice, 'org.example.settings'), alice.access_token, 400, 'M_BAD_JSON', [1, 2]);
  });

  it('tags: add, list, remove, only for oneself', async () => {
    const alice = await registerUser();
    const bob = await registerUser();
    const roomId = await createRoom(alice);
    expect(await ok('GET', tagsPath(alice, roomId), alice.access_token)).toEqual({ tags: {} });
    await ok('PUT', `${tagsPath(alice, roomId)}/m.favourite`, alice.access_token, { order: 0.25 });
    await ok('PUT', `${tagsPath(alice, roomId)}/u.work`, alice.access_token, {});
    expect(await ok('GET', tagsPath(alice, roomId), alice.access_token)).toEqual({ tags: { 'm.favourite': { order: 0.25 }, 'u.work': {} } });
    // Tags are the room account data m.tag.
    expect(await ok('GET', roomPath(alice, roomId, 'm.tag'), alice.access_token)).toEqual({ tags: { 'm.favourite': { order: 0.25 }, 'u.work': {} } });
    await ok('DELETE', `${tagsPath(alice, roomId)}/u.work`, alice.access_token);
    await ok('DELETE', `${tagsPath(alice, roomId)}/u.never`, alice.access_token);
    expect(await ok('GET', tagsPath(alice, roomId), alice.access_token)).toEqual({ tags: { 'm.favourite': { order: 0.25 } } });

    await fails('PUT', `${tagsPath(alice, roomId)}/m.lowpriority`, alice.access_token, 400, 'M_BAD_JSON', { order: 'first' });
    await fails('GET', tagsPath(alice, roomId), bob.access_token, 403, 'M_FORBIDDEN');
    await fails('PUT', `${tagsPath(alice, roomId)}/u.x`, bob.access_token, 403, 'M_FORBIDDEN', {});
    await fails('DELETE', `${tagsPath(alice, roomId)}/m.favourite`, bob.access_token, 403, 'M_FORBIDDEN');
  });

  it('appears in the initial sync and, once per change, in incremental syncs', async () => {
    const alice = await registerUser();
    const roomId = await createRoom(alice);
    await ok('PUT', globalPath(alice, 'org.example.a'), alice.access_token, { v: 1 });
    await ok('PUT', roomPath(alice, roomId, 'org.example.r'), alice.access_token, { v: 1 });
    await ok('PUT', `${tagsPath(alice, roomId)}/u.first`, alice.access_token, {});

    const initial = (await syncUntil(alice, undefined, (b) => roomId in b.rooms.join)).at(-1)!;
    expect(ofType(initial.account_data.events, 'org.example.a')).toEqual([{ type: 'org.example.a', content: { v: 1 } }]);
    expect(ofType(roomData(initial, roomId), 'org.example.r')).toEqual([{ type: 'org.example.r', content: { v: 1 } }]);
    expect(ofType(roomData(initial, roomId), 'm.tag')).toEqual([{ type: 'm.tag', content: { tags: { 'u.first': {} } } }]);
    expect(initial.next_batch).toMatch(/^s\d+_\d+_\d+$/);

    // Nothing new: an incremental sync repeats none of it.
    const token = await settle(alice, initial.next_batch);
    const quiet = await sync(alice, { since: token });
    expect(quiet.account_data.events).toEqual([]);
    expect(quiet.rooms.join[roomId]).toBeUndefined();

    // Two writes of one type between syncs arrive once, with the latest content; room account
    // data alone brings the room into rooms.join.
    await ok('PUT', globalPath(alice, 'org.example.a'), alice.access_token, { v: 2 });
    await ok('PUT', globalPath(alice, 'org.example.a'), alice.access_token, { v: 3 });
    await ok('PUT', `${tagsPath(alice, roomId)}/u.second`, alice.access_token, { order: 0.5 });
    const next = await sync(alice, { since: token });
    expect(next.account_data.events).toEqual([{ type: 'org.example.a', content: { v: 3 } }]);
    expect(roomData(next, roomId)).toEqual([{ type: 'm.tag', content: { tags: { 'u.first': {}, 'u.second': { order: 0.5 } } } }]);
    expect(next.rooms.join[roomId]!.timeline.events).toEqual([]);

    const after = await sync(alice, { since: next.next_batch });
    expect(after.account_data.events).toEqual([]);
    expect(after.rooms.join[roomId]).toBeUndefined();

    // The older token form (rooms position only) still works: account data from the start.
    const old = await sync(alice, { since: `s${/^s(\d+)_/.exec(next.next_batch)![1]}` });
    expect(ofType(old.account_data.events, 'org.example.a')).toEqual([{ type: 'org.example.a', content: { v: 3 } }]);
    await fails('GET', '/v3/sync?since=s1_x', alice.access_token, 400, 'M_INVALID_PARAM');

    // An account_data filter applies to global account data.
    const filtered = await sync(alice, { filter: JSON.stringify({ account_data: { not_types: ['org.example.*'] } }) });
    expect(ofType(filtered.account_data.events, 'org.example.a')).toEqual([]);
  });

  it('a long-poll returns when account data changes', async () => {
    const alice = await registerUser();
    await createRoom(alice);
    const token = await settle(alice);
    const t0 = Date.now();
    const polling = sync(alice, { since: token, timeout: 20_000 });
    await new Promise((r) => setTimeout(r, 200));
    await ok('PUT', globalPath(alice, 'org.example.wake'), alice.access_token, { now: true });
    const body = await polling;
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(body.account_data.events).toEqual([{ type: 'org.example.wake', content: { now: true } }]);
    expect(body.next_batch).not.toBe(token);
  });
});
