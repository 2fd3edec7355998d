/**
 * Typing notifications, receipts and read markers through /sync: typing shows up at another
 * member and goes with `typing: false` or its timeout, and wakes a long-poll; receipts arrive
 * once (public ones at every member, private ones at their owner only, threaded ones with their
 * thread); `read_markers` sets `m.fully_read`; the 403s of non-members and of typing for others.
 */
import { describe, expect, it } from 'vitest';
import { registerUser, type Session } from './helpers';
import { createRoom, enc, fails, ok, sendMessage } from './room-helpers';
import { settle, sync, syncUntil, type SyncBody } from './sync-helpers';

/** Two joined members of a fresh room, both synced up. */
async function pair(): Promise<{ alice: Session; bob: Session; roomId: string; aliceToken: string; bobToken: string }> {
  const alice = await registerUser();
  const bob = await registerUser();
  const roomId = await createRoom(alice, { preset: 'public_chat' });
  await ok('POST', `/v3/rooms/${enc(roomId)}/join`, bob.access_token, {});
  await syncUntil(alice, undefined, (b) => b.rooms.join[roomId]?.timeline.events.some((e) => e.state_key === bob.user_id) ?? false);
  return { alice, bob, roomId, aliceToken: await settle(alice), bobToken: await settle(bob) };
}

const ephemeralOf = (b: SyncBody, roomId: string, type: string) =>
  (b.rooms.join[roomId]?.ephemeral?.events ?? []).filter((e) => e.type === type).map((e) => e.content);

const typingIn = (b: SyncBody, roomId: string) => ephemeralOf(b, roomId, 'm.typing').at(-1)?.user_ids as string[] | undefined;

const setTyping = (s: Session, roomId: string, typing: boolean, timeout?: number) =>
  ok('PUT', `/v3/rooms/${enc(roomId)}/typing/${enc(s.user_id)}`, s.access_token, { typing, ...(timeout !== undefined ? { timeout } : {}) });

const receipt = (s: Session, roomId: string, type: string, eventId: string, body: Record<string, unknown> = {}) =>
  ok('POST', `/v3/rooms/${enc(roomId)}/receipt/${type}/${enc(eventId)}`, s.access_token, body);

describe('typing notifications', { timeout: 20_000 }, () => {
  it('shows typing to another member and clears it with typing: false', async () => {
    const { alice, bob, roomId, bobToken } = await pair();
    await setTyping(alice, roomId, true, 30_000);
    const seen = await syncUntil(bob, bobToken, (b) => typingIn(b, roomId) !== undefined);
    expect(typingIn(seen.at(-1)!, roomId)).toEqual([alice.user_id]);
    // A fresh (initial) sync shows who is typing now.
    expect(typingIn(await sync(bob), roomId)).toEqual([alice.user_id]);

    // Typing again only refreshes the timeout: nothing new to tell.
    const token = await settle(bob, seen.at(-1)!.next_batch);
    await setTyping(alice, roomId, true, 30_000);
    await setTyping(alice, roomId, false);
    const cleared = await syncUntil(bob, token, (b) => typingIn(b, roomId) !== undefined);
    expect(cleared.flatMap((b) => ephemeralOf(b, roomId, 'm.typing'))).toEqual([{ user_ids: [] }]);
    expect(typingIn(await sync(bob), roomId)).toBeUndefined();
  });

  it('expires typing after its timeout', async () => {
    const { alice, bob, roomId, bobToken } = await pair();
    await setTyping(alice, roomId, true, 300);
    const bodies = await syncUntil(bob, bobToken, (b) => {
      const t = typingIn(b, roomId);
      return t !== undefined && t.length === 0;
    });
    const sets = bodies.flatMap((b) => ephemeralOf(b, roomId, 'm.typing'));
    expect(sets.at(-1)).toEqual({ user_ids: [] });
  });

  it('wakes a waiting long-poll', async () => {
    const { alice, bob, roomId, bobToken } = await pair();
    const started = Date.now();
    const waiting = sync(bob, { since: bobToken, timeout: 20_000 });
    await new Promise((r) => setTimeout(r, 200));
    await setTyping(alice, roomId, true, 30_000);
    const body = await waiting;
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(typingIn(body, roomId)).toEqual([alice.user_id]);
  });

  it('refuses typing for another user, and for a non-member', async () => {
    const { alice, bob, roomId } = await pair();
    const carol = await registerUser();
    await fails('PUT', `/v3/rooms/${enc(roomId)}/typing/${enc(bob.user_id)}`, alice.access_token, 403, 'M_FORBIDDEN', { typing: true, timeout: 1000 });
    await fails('PUT', `/v3/rooms/${enc(roomId)}/typing/${enc(carol.user_id)}`, carol.access_token, 403, 'M_FORBIDDEN', { typing: true, timeout: 1000 });
    await fails('PUT', `/v3/rooms/${enc(roomId)}/typing/${enc(alice.user_id)}`, alice.access_token, 400, 'M_MISSING_PARAM', {});
  });
});

describe('receipts and read markers', { timeout: 20_000 }, () => {
  it('delivers a public receipt once to every member', async () => {
    const { alice, bob, roomId, aliceToken } = await pair();
    const eventId = await sendMessage(alice, roomId, 'read me');
    await receipt(bob, roomId, 'm.read', eventId);
    const bodies = await syncUntil(alice, aliceToken, (b) => ephemeralOf(b, roomId, 'm.receipt').length > 0);
    const content = ephemeralOf(bodies.at(-1)!, roomId, 'm.receipt')[0]!;
    const byUser = (content[eventId] as Record<string, Record<string, { ts: number; thread_id?: string }>>)['m.read']!;
    expect(Object.keys(byUser)).toEqual([bob.user_id]);
    expect(typeof byUser[bob.user_id]!.ts).toBe('number');
    expect(byUser[bob.user_id]!.thread_id).toBeUndefined();

    // Exactly once: the next syncs carry no receipt, and an older receipt changes nothing.
    const token = bodies.at(-1)!.next_batch;
    const first = await sendMessage(alice, roomId, 'later');
    await receipt(bob, roomId, 'm.read', first);
    const later = await syncUntil(alice, token, (b) => ephemeralOf(b, roomId, 'm.receipt').length > 0);
    expect(later.flatMap((b) => ephemeralOf(b, roomId, 'm.receipt')).map((c) => Object.keys(c))).toEqual([[first]]);
    const settled = await settle(alice, later.at(-1)!.next_batch);
    await receipt(bob, roomId, 'm.read', eventId);
    expect((await sync(alice, { since: settled, timeout: 500 })).rooms.join[roomId]).toBeUndefined();

    // An initial sync has the latest receipt.
    const initial = ephemeralOf(await sync(alice), roomId, 'm.receipt');
    expect(initial.map((c) => Object.keys(c))).toEqual([[first]]);
  });

  it('shows a private receipt to its owner only, and threaded receipts with their thread', async () => {
    const { alice, bob, roomId, aliceToken, bobToken } = await pair();
    const eventId = await sendMessage(alice, roomId, 'private');
    await receipt(bob, roomId, 'm.read.private', eventId);
    const own = await syncUntil(bob, bobToken, (b) => ephemeralOf(b, roomId, 'm.receipt').length > 0);
    const ownContent = ephemeralOf(own.at(-1)!, roomId, 'm.receipt')[0]! as Record<string, Record<string, Record<string, unknown>>>;
    expect(Object.keys(ownContent[eventId]!['m.read.private']!)).toEqual([bob.user_id]);

    // Alice hears of the threaded public receipt, never of the private one.
    await receipt(bob, roomId, 'm.read', eventId, { thread_id: 'main' });
    const seen = await syncUntil(alice, aliceToken, (b) => ephemeralOf(b, roomId, 'm.receipt').length > 0);
    const receipts = seen.flatMap((b) => ephemeralOf(b, roomId, 'm.receipt')) as Record<string, Record<string, Record<string, { thread_id?: string }>>>[];
    expect(receipts).toHaveLength(1);
    expect(Object.keys(receipts[0]![eventId]!)).toEqual(['m.read']);
    expect(receipts[0]![eventId]!['m.read']![bob.user_id]!.thread_id).toBe('main');
    expect(JSON.stringify(ephemeralOf(await sync(alice), roomId, 'm.receipt'))).not.toContain('m.read.private');
    expect(JSON.stringify(ephemeralOf(await sync(bob), roomId, 'm.receipt'))).toContain('m.read.private');
  });

  it('sets m.fully_read through read_markers, and m.read with it', async () => {
    const { alice, bob, roomId, aliceToken } = await pair();
    const eventId = await sendMessage(alice, roomId, 'marker');
    await ok('POST', `/v3/rooms/${enc(roomId)}/read_markers`, bob.access_token, { 'm.fully_read': eventId, 'm.read': eventId });
    expect(await ok('GET', `/v3/user/${enc(bob.user_id)}/rooms/${enc(roomId)}/account_data/m.fully_read`, bob.access_token)).toEqual({ event_id: eventId });
    const initial = (await sync(bob)).rooms.join[roomId]!;
    expect(initial.account_data.events).toContainEqual({ type: 'm.fully_read', content: { event_id: eventId } });
    const seen = await syncUntil(alice, aliceToken, (b) => ephemeralOf(b, roomId, 'm.receipt').length > 0);
    expect(Object.keys(ephemeralOf(seen.at(-1)!, roomId, 'm.receipt')[0]!)).toEqual([eventId]);

    // The receipt endpoint takes m.fully_read too.
    const next = await sendMessage(alice, roomId, 'next');
    await receipt(bob, roomId, 'm.fully_read', next);
    expect(await ok('GET', `/v3/user/${enc(bob.user_id)}/rooms/${enc(roomId)}/account_data/m.fully_read`, bob.access_token)).toEqual({ event_id: next });
  });

  it('gives a member who joins from an invite the whole state and the current receipts', async () => {
    const alice = await registerUser();
    const bob = await registerUser();
    const roomId = await createRoom(alice, { preset: 'private_chat', invite: [bob.user_id] });
    const eventId = await sendMessage(alice, roomId, 'before bob');
    await receipt(alice, roomId, 'm.read', eventId);
    const invited = await syncUntil(bob, undefined, (b) => roomId in b.rooms.invite);
    await ok('POST', `/v3/rooms/${enc(roomId)}/join`, bob.access_token, {});
    const joined = (await syncUntil(bob, invited.at(-1)!.next_batch, (b) => roomId in b.rooms.join)).at(-1)!.rooms.join[roomId]!;
    expect([...joined.state.events, ...joined.timeline.events].some((e) => e.type === 'm.room.member' && e.state_key === alice.user_id)).toBe(true);
    expect(Object.keys(ephemeralOf({ rooms: { join: { [roomId]: joined } } } as unknown as SyncBody, roomId, 'm.receipt')[0] ?? {})).toEqual([eventId]);
  });

  it('refuses non-members, unknown events, unknown receipt types and bad thread IDs', async () => {
    const { alice, roomId } = await pair();
    const carol = await registerUser();
    const eventId = await sendMessage(alice, roomId, 'hello');
    const path = (type: string, id = eventId) => `/v3/rooms/${enc(roomId)}/receipt/${type}/${enc(id)}`;
    await fails('POST', path('m.read'), carol.access_token, 403, 'M_FORBIDDEN', {});
    await fails('POST', `/v3/rooms/${enc(roomId)}/read_markers`, carol.access_token, 403, 'M_FORBIDDEN', { 'm.fully_read': eventId });
    await fails('POST', path('m.read', '$nope'), alice.access_token, 404, 'M_NOT_FOUND', {});
    await fails('POST', path('m.unknown'), alice.access_token, 400, 'M_INVALID_PARAM', {});
    await fails('POST', path('m.read'), alice.access_token, 400, 'M_INVALID_PARAM', { thread_id: '' });
    await fails('POST', path('m.fully_read'), alice.access_token, 400, 'M_INVALID_PARAM', { thread_id: 'main' });
  });
});
