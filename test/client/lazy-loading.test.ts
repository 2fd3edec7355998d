/**
 * Lazy-loading room members (spec v1.16, Client-Server API "Lazy-loading room members") in
 * /sync and /messages, and the /sync room summary (`m.heroes`, `m.joined_member_count`,
 * `m.invited_member_count`).
 */
import { describe, expect, it } from 'vitest';
import { registerUser, type Session } from './helpers';
import { createRoom, enc, messages, ok, sendMessage, type ClientEvent } from './room-helpers';
import { settle, sync, syncUntil, type SyncBody } from './sync-helpers';

const r = (roomId: string) => `/v3/rooms/${enc(roomId)}`;
const join = (s: Session, roomId: string) => ok('POST', `${r(roomId)}/join`, s.access_token, {});
const LAZY = JSON.stringify({ room: { state: { lazy_load_members: true }, timeline: { limit: 10 } } });
const LAZY_REDUNDANT = JSON.stringify({ room: { state: { lazy_load_members: true, include_redundant_members: true }, timeline: { limit: 10 } } });

interface Summary {
  'm.heroes'?: string[];
  'm.joined_member_count'?: number;
  'm.invited_member_count'?: number;
}

/** The state keys of the member events in a joined room's `state`, sorted. */
function stateMembers(body: SyncBody, roomId: string): string[] {
  const room = body.rooms.join[roomId];
  return (room?.state.events ?? []).filter((e) => e.type === 'm.room.member').map((e) => e.state_key!).sort();
}

const summaryOf = (body: SyncBody, roomId: string) => (body.rooms.join[roomId] as unknown as { summary?: Summary }).summary;

async function sendMany(s: Session, roomId: string, n: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(await sendMessage(s, roomId, `${s.user_id} ${i}`));
  return out;
}

/** A public room of `alice` that `others` joined, in order, with its name when given. */
async function roomWith(alice: Session, others: Session[], name?: string): Promise<string> {
  const roomId = await createRoom(alice, { preset: 'public_chat', ...(name ? { name } : {}) });
  for (const s of others) await join(s, roomId);
  return roomId;
}

/** An initial sync once the room's last event has reached `s`'s object. */
async function initialSync(s: Session, roomId: string, lastEvent: string, filter = LAZY): Promise<SyncBody> {
  const bodies = await syncUntil(s, undefined, (b) => (b.rooms.join[roomId]?.timeline.events ?? []).some((e) => e.event_id === lastEvent), { filter });
  return bodies.at(-1)!;
}

describe('/sync with lazy_load_members', { timeout: 30_000 }, () => {
  it('an initial sync holds only the timeline senders\' members and the user\'s own', async () => {
    const [alice, bob, charlie] = await Promise.all([registerUser(), registerUser(), registerUser()]);
    const roomId = await roomWith(alice, [bob, charlie], 'Lazy');
    await sendMany(bob, roomId, 10);
    const last = (await sendMany(charlie, roomId, 10)).at(-1)!;

    const lazy = await initialSync(alice, roomId, last);
    expect(stateMembers(lazy, roomId)).toEqual([alice.user_id, charlie.user_id].sort());
    // Non-member state is all there.
    expect(lazy.rooms.join[roomId]!.state.events.some((e) => e.type === 'm.room.name')).toBe(true);
    // Without lazy-loading every member comes.
    const full = await initialSync(alice, roomId, last, JSON.stringify({ room: { timeline: { limit: 10 } } }));
    expect(stateMembers(full, roomId)).toEqual([alice.user_id, bob.user_id, charlie.user_id].sort());
  });

  it('an incremental sync brings the new senders\' members; a gappy one only those of its timeline', async () => {
    const [alice, bob, charlie, dave] = await Promise.all([registerUser(), registerUser(), registerUser(), registerUser()]);
    const roomId = await roomWith(alice, [bob, charlie, dave], 'Lazy increments');
    const last = (await sendMany(bob, roomId, 10)).at(-1)!;
    const first = await initialSync(alice, roomId, last);
    expect(stateMembers(first, roomId)).toEqual([alice.user_id, bob.user_id].sort());
    let token = await settle(alice, first.next_batch);

    const fromCharlie = await sendMessage(charlie, roomId, 'hello from charlie');
    const next = (await syncUntil(alice, token, (b) => (b.rooms.join[roomId]?.timeline.events ?? []).some((e) => e.event_id === fromCharlie), { filter: LAZY })).at(-1)!;
    expect(stateMembers(next, roomId)).toEqual([charlie.user_id]);
    token = await settle(alice, next.next_batch);

    await sendMany(charlie, roomId, 10);
    const lastDave = (await sendMany(dave, roomId, 10)).at(-1)!;
    const gappy = (await syncUntil(alice, token, (b) => (b.rooms.join[roomId]?.timeline.events ?? []).some((e) => e.event_id === lastDave), { filter: LAZY })).at(-1)!;
    // Usually one limited timeline of dave's last ten; if delivery split the sends over two
    // syncs, the last one still holds exactly its own senders' members.
    const senders = [...new Set(gappy.rooms.join[roomId]!.timeline.events.map((e) => e.sender))].sort();
    expect(senders).toContain(dave.user_id);
    expect(stateMembers(gappy, roomId)).toEqual(senders);
  });

  it('with include_redundant_members, senders\' members come again on every sync that shows them', async () => {
    const [alice, bob] = await Promise.all([registerUser(), registerUser()]);
    const roomId = await roomWith(alice, [bob], 'Redundant');
    const last = (await sendMany(bob, roomId, 11)).at(-1)!;
    const first = await initialSync(alice, roomId, last, LAZY_REDUNDANT);
    expect(stateMembers(first, roomId)).toEqual([alice.user_id, bob.user_id].sort());
    const token = await settle(alice, first.next_batch);
    const again = await sendMessage(bob, roomId, 'again');
    const next = (await syncUntil(alice, token, (b) => (b.rooms.join[roomId]?.timeline.events ?? []).some((e) => e.event_id === again), { filter: LAZY_REDUNDANT })).at(-1)!;
    expect(stateMembers(next, roomId)).toEqual([bob.user_id]);
  });

  it('a room without a name or alias brings its heroes\' members, and the summary counts members', async () => {
    const [alice, bob, carol, invitee] = await Promise.all([registerUser(), registerUser(), registerUser(), registerUser()]);
    const roomId = await roomWith(alice, [bob, carol]);
    await ok('POST', `${r(roomId)}/invite`, alice.access_token, { user_id: invitee.user_id });
    const last = (await sendMany(alice, roomId, 12)).at(-1)!;

    const body = await initialSync(alice, roomId, last);
    expect(summaryOf(body, roomId)).toEqual({
      'm.heroes': [bob.user_id, carol.user_id, invitee.user_id],
      'm.joined_member_count': 3,
      'm.invited_member_count': 1,
    });
    // Only alice sent in the timeline; the heroes' member events come because the room has no name.
    expect(stateMembers(body, roomId)).toEqual([alice.user_id, bob.user_id, carol.user_id, invitee.user_id].sort());

    // Once named, the heroes' members are no longer needed.
    await ok('PUT', `${r(roomId)}/state/m.room.name/`, alice.access_token, { name: 'Named' });
    const afterName = (await sendMany(alice, roomId, 11)).at(-1)!;
    const named = await initialSync(alice, roomId, afterName);
    expect(stateMembers(named, roomId)).toEqual([alice.user_id]);
    // Bob's summary leaves bob out of the heroes; without lazy-loading the summary is there too.
    const bobs = await initialSync(bob, roomId, afterName, JSON.stringify({ room: { timeline: { limit: 5 } } }));
    expect(summaryOf(bobs, roomId)).toEqual({
      'm.heroes': [alice.user_id, carol.user_id, invitee.user_id],
      'm.joined_member_count': 3,
      'm.invited_member_count': 1,
    });
  });
});

describe('/messages with lazy_load_members', { timeout: 20_000 }, () => {
  it('returns each sender\'s member event as of their newest event in the page', async () => {
    const [alice, bob] = await Promise.all([registerUser(), registerUser()]);
    const roomId = await roomWith(alice, [bob]);
    await ok('PUT', `${r(roomId)}/state/m.room.member/${enc(bob.user_id)}`, bob.access_token, { membership: 'join', displayname: 'Bob One' });
    const first = await sendMessage(bob, roomId, 'as Bob One');
    await ok('PUT', `${r(roomId)}/state/m.room.member/${enc(bob.user_id)}`, bob.access_token, { membership: 'join', displayname: 'Bob Two' });
    const second = await sendMessage(bob, roomId, 'as Bob Two');
    const fromAlice = await sendMessage(alice, roomId, 'from alice');

    const filter = JSON.stringify({ types: ['m.room.message'], lazy_load_members: true });
    const page = await messages(alice, roomId, { dir: 'b', limit: 2, filter });
    expect(page.chunk.map((e) => e.event_id)).toEqual([fromAlice, second]);
    const byUser = (state: ClientEvent[] | undefined) => new Map((state ?? []).map((e) => [e.state_key, e.content.displayname]));
    const members = byUser(page.state);
    expect([...members.keys()].sort()).toEqual([alice.user_id, bob.user_id].sort());
    expect(members.get(bob.user_id)).toBe('Bob Two');

    const older = await messages(alice, roomId, { dir: 'b', limit: 1, from: page.end!, filter });
    expect(older.chunk.map((e) => e.event_id)).toEqual([first]);
    expect([...byUser(older.state)]).toEqual([[bob.user_id, 'Bob One']]);

    // Without lazy_load_members there is no `state`.
    expect((await messages(alice, roomId, { dir: 'b', limit: 2 })).state).toBeUndefined();
  });
});

describe('summary', { timeout: 20_000 }, () => {
  it('is given for joined rooms on incremental syncs as well', async () => {
    const [alice, bob] = await Promise.all([registerUser(), registerUser()]);
    const roomId = await roomWith(alice, [bob]);
    const token = await settle(alice);
    const eventId = await sendMessage(bob, roomId, 'hi');
    const body = (await syncUntil(alice, token, (b) => (b.rooms.join[roomId]?.timeline.events ?? []).some((e) => e.event_id === eventId))).at(-1)!;
    expect(summaryOf(body, roomId)).toEqual({ 'm.heroes': [bob.user_id], 'm.joined_member_count': 2, 'm.invited_member_count': 0 });
    expect((await sync(bob)).rooms.join[roomId]).toBeDefined();
  });
});
