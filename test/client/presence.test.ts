/**
 * Presence (spec v1.16 "Presence") in workerd: setting and reading it (only one's own; reading
 * needs a shared room), /sync's top-level `presence.events` (a room-mate's change once, at its
 * latest, deduplicated over shared rooms; a first sync with the current presence; one's own
 * presence even without rooms; a new member both ways), waking a long-poll, `status_msg`,
 * `set_presence` on /sync, the presence filter, and the timeout rules of the user's object.
 */
import { describe, expect, it } from 'vitest';
import {
  afterTimeouts, IDLE_TIMEOUT_MS, LAST_ACTIVE_GRANULARITY_MS, nextTimeout, SYNC_ONLINE_TIMEOUT_MS, worthTelling, type Presence,
} from '../../durable-objects/user/presence';
import { registerUser, uniqueName, SERVER, type Session } from './helpers';
import { createRoom, enc, fails, ok } from './room-helpers';
import { settle, sync, syncUntil, type SyncBody } from './sync-helpers';

interface PresenceEvent {
  type: string;
  sender: string;
  content: { presence: string; status_msg?: string; last_active_ago?: number; currently_active?: boolean };
}

const presenceOf = (b: SyncBody) => (b as SyncBody & { presence: { events: PresenceEvent[] } }).presence.events;
const presenceFrom = (b: SyncBody, userId: string) => presenceOf(b).filter((e) => e.sender === userId);

const statusPath = (userId: string) => `/v3/presence/${enc(userId)}/status`;
const setPresence = (s: Session, presence: string, statusMsg?: string) =>
  ok('PUT', statusPath(s.user_id), s.access_token, { presence, ...(statusMsg !== undefined ? { status_msg: statusMsg } : {}) });
const getPresence = (s: Session, userId = s.user_id) => ok<PresenceEvent['content']>('GET', statusPath(userId), s.access_token);

/** Alice's syncs leave her presence alone, so what she sets stays set. */
const QUIET = { set_presence: 'offline' };

/** Two joined members of a fresh room, both synced up. */
async function pair(): Promise<{ alice: Session; bob: Session; roomId: string; bobToken: string }> {
  const alice = await registerUser();
  const bob = await registerUser();
  const roomId = await createRoom(alice, { preset: 'public_chat' });
  await ok('POST', `/v3/rooms/${enc(roomId)}/join`, bob.access_token, {});
  await syncUntil(alice, undefined, (b) => b.rooms.join[roomId]?.timeline.events.some((e) => e.state_key === bob.user_id) ?? false, QUIET);
  return { alice, bob, roomId, bobToken: await settle(bob) };
}

describe('PUT and GET /presence/{userId}/status', { timeout: 20_000 }, () => {
  it('sets and reads one’s own presence, with and without a status message', async () => {
    const alice = await registerUser();
    // Never set (and never synced): offline, never active.
    expect(await getPresence(alice)).toEqual({ presence: 'offline' });

    expect(await setPresence(alice, 'online', 'Busy coding')).toEqual({});
    const online = await getPresence(alice);
    expect(online).toEqual({ presence: 'online', status_msg: 'Busy coding', currently_active: true, last_active_ago: expect.any(Number) });
    expect(online.last_active_ago).toBeLessThan(10_000);

    // Without status_msg the message goes; unavailable keeps the last activity and is not "currently active".
    await setPresence(alice, 'unavailable');
    const away = await getPresence(alice);
    expect(away).toEqual({ presence: 'unavailable', last_active_ago: expect.any(Number) });
  });

  it('refuses to set another user’s presence, and bad bodies', async () => {
    const alice = await registerUser();
    const bob = await registerUser();
    await fails('PUT', statusPath(bob.user_id), alice.access_token, 403, 'M_FORBIDDEN', { presence: 'online' });
    expect(await getPresence(bob)).toEqual({ presence: 'offline' });
    await fails('PUT', statusPath(alice.user_id), alice.access_token, 400, 'M_MISSING_PARAM', {});
    await fails('PUT', statusPath(alice.user_id), alice.access_token, 400, 'M_INVALID_PARAM', { presence: 'away' });
    await fails('PUT', statusPath(alice.user_id), alice.access_token, 400, 'M_BAD_JSON', { presence: 'online', status_msg: 42 });
  });

  it('shows presence to room-mates only, and 404s unknown users', async () => {
    const { alice, bob } = await pair();
    const carol = await registerUser();
    await setPresence(alice, 'online', 'here');
    expect((await getPresence(bob, alice.user_id)).status_msg).toBe('here');
    await fails('GET', statusPath(alice.user_id), carol.access_token, 403, 'M_FORBIDDEN');
    await fails('GET', statusPath(`@${uniqueName('nobody')}:${SERVER}`), alice.access_token, 404, 'M_NOT_FOUND');
    await fails('GET', statusPath('@someone:elsewhere.example'), alice.access_token, 404, 'M_NOT_FOUND');
  });
});

describe('presence in /sync', { timeout: 30_000 }, () => {
  it('delivers a room-mate’s change once, with its status message', async () => {
    const { alice, bob, bobToken } = await pair();
    await setPresence(alice, 'unavailable', 'Out to lunch');
    const bodies = await syncUntil(bob, bobToken, (b) => presenceFrom(b, alice.user_id).length > 0);
    const seen = bodies.flatMap((b) => presenceFrom(b, alice.user_id));
    expect(seen).toEqual([{ type: 'm.presence', sender: alice.user_id, content: { presence: 'unavailable', status_msg: 'Out to lunch' } }]);

    // Once: later syncs say nothing more of Alice until she changes again.
    const token = await settle(bob, bodies.at(-1)!.next_batch);
    expect(presenceFrom(await sync(bob, { since: token, timeout: 300 }), alice.user_id)).toEqual([]);
    await setPresence(alice, 'online', 'Back');
    const back = await syncUntil(bob, token, (b) => presenceFrom(b, alice.user_id).length > 0);
    expect(back.flatMap((b) => presenceFrom(b, alice.user_id)).map((e) => e.content)).toEqual([
      { presence: 'online', status_msg: 'Back', currently_active: true, last_active_ago: expect.any(Number) },
    ]);

    // A first sync has the current presence.
    expect(presenceFrom(await sync(bob), alice.user_id).map((e) => e.content.status_msg)).toEqual(['Back']);
  });

  it('reports a user once per sync however many rooms carry it, at the latest', async () => {
    const { alice, bob, bobToken } = await pair();
    const second = await createRoom(alice, { preset: 'public_chat' });
    await ok('POST', `/v3/rooms/${enc(second)}/join`, bob.access_token, {});
    const token = await settle(bob, bobToken);
    await setPresence(alice, 'unavailable', 'one');
    await setPresence(alice, 'unavailable', 'two');
    const bodies = await syncUntil(bob, token, (b) => presenceFrom(b, alice.user_id).some((e) => e.content.status_msg === 'two'));
    for (const b of bodies) expect(presenceFrom(b, alice.user_id).length).toBeLessThanOrEqual(1);
    expect(presenceFrom(bodies.at(-1)!, alice.user_id)[0]!.content.status_msg).toBe('two');
    // Nothing older arrives afterwards from the slower room.
    const later = await settle(bob, bodies.at(-1)!.next_batch);
    expect(presenceFrom(await sync(bob, { since: later, timeout: 300 }), alice.user_id)).toEqual([]);
  });

  it('wakes a waiting long-poll', async () => {
    const { alice, bob, bobToken } = await pair();
    const started = Date.now();
    const waiting = sync(bob, { since: bobToken, timeout: 20_000 });
    await new Promise((r) => setTimeout(r, 200));
    await setPresence(alice, 'unavailable', 'gone');
    let body = await waiting;
    // The wake may come a moment before the room's answer has the change: poll on from there.
    if (presenceFrom(body, alice.user_id).length === 0) body = (await syncUntil(bob, body.next_batch, (b) => presenceFrom(b, alice.user_id).length > 0)).at(-1)!;
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(presenceFrom(body, alice.user_id)[0]!.content.presence).toBe('unavailable');
  });

  it('includes one’s own presence, even in no room', async () => {
    const loner = await registerUser();
    const first = await sync(loner);
    expect(presenceFrom(first, loner.user_id)).toEqual([
      { type: 'm.presence', sender: loner.user_id, content: { presence: 'online', currently_active: true, last_active_ago: expect.any(Number) } },
    ]);
    // Syncing on while online changes nothing, so nothing is repeated.
    const quiet = await sync(loner, { since: first.next_batch, timeout: 300 });
    expect(quiet.next_batch).toBe(first.next_batch);
    expect(presenceFrom(quiet, loner.user_id)).toEqual([]);

    await setPresence(loner, 'online', 'status');
    const changed = await sync(loner, { since: first.next_batch, timeout: 5_000 });
    expect(presenceFrom(changed, loner.user_id).map((e) => e.content.status_msg)).toEqual(['status']);
  });

  it('applies set_presence: online by default, unavailable, and offline as "leave it alone"', async () => {
    const carol = await registerUser();
    const first = await sync(carol, { set_presence: 'unavailable' });
    expect((await getPresence(carol)).presence).toBe('unavailable');
    expect(presenceFrom(first, carol.user_id).map((e) => e.content.presence)).toEqual(['unavailable']);
    await sync(carol, { since: first.next_batch, set_presence: 'offline' });
    expect((await getPresence(carol)).presence).toBe('unavailable');
    await sync(carol, { since: first.next_batch });
    expect(await getPresence(carol)).toEqual({ presence: 'online', currently_active: true, last_active_ago: expect.any(Number) });
    // Syncing keeps a status message set through PUT.
    await setPresence(carol, 'online', 'kept');
    await sync(carol, { since: first.next_batch });
    expect((await getPresence(carol)).status_msg).toBe('kept');
    await fails('GET', '/v3/sync?set_presence=away', carol.access_token, 400, 'M_INVALID_PARAM');
  });

  it('tells a new member the others’ presence, and the others theirs', async () => {
    const { alice, bob, roomId } = await pair();
    await setPresence(alice, 'unavailable', 'before carol');
    const carol = await registerUser();
    const carolFirst = await sync(carol);
    await ok('POST', `/v3/rooms/${enc(roomId)}/join`, carol.access_token, {});
    // Carol's first sync of the room carries the members' latest presence.
    const joined = await syncUntil(carol, carolFirst.next_batch, (b) => presenceFrom(b, alice.user_id).length > 0);
    expect(presenceFrom(joined.at(-1)!, alice.user_id)[0]!.content.status_msg).toBe('before carol');
    // And Bob hears of Carol (online from her sync) once she is in.
    const bobSaw = await syncUntil(bob, undefined, (b) => presenceFrom(b, carol.user_id).length > 0);
    expect(presenceFrom(bobSaw.at(-1)!, carol.user_id)[0]!.content.presence).toBe('online');
  });

  it('applies the filter’s presence part', async () => {
    const { alice, bob, bobToken } = await pair();
    await setPresence(alice, 'unavailable', 'filtered');
    const none = await syncUntil(bob, bobToken, (b) => b.next_batch !== bobToken, { filter: JSON.stringify({ presence: { not_types: ['m.presence'] } }) });
    expect(none.flatMap(presenceOf)).toEqual([]);
    const others = JSON.stringify({ presence: { not_senders: [bob.user_id], limit: 1 } });
    const first = await sync(bob, { filter: others });
    expect(presenceOf(first).map((e) => e.sender)).toEqual([alice.user_id]);
    const noOne = await sync(bob, { filter: JSON.stringify({ presence: { senders: [] } }) });
    expect(presenceOf(noOne)).toEqual([]);
  });
});

describe('presence rules (timeouts, what is worth telling)', () => {
  const t0 = 1_000_000_000;
  const online: Presence = { presence: 'online', status_msg: null, last_active_ts: t0, currently_active: true };

  it('ends currently_active after a minute, goes idle after 5 minutes, offline without syncs', () => {
    const syncing = t0 + IDLE_TIMEOUT_MS; // a long-poll keeps the user syncing throughout
    expect(afterTimeouts(online, t0 + 1_000, syncing)).toBe(online);
    expect(afterTimeouts(online, t0 + LAST_ACTIVE_GRANULARITY_MS + 1, syncing)).toEqual({ ...online, currently_active: false });
    expect(afterTimeouts(online, t0 + IDLE_TIMEOUT_MS + 1, syncing)).toEqual({ ...online, presence: 'unavailable', currently_active: false });
    expect(afterTimeouts(online, t0 + SYNC_ONLINE_TIMEOUT_MS + 1, t0)).toEqual({ ...online, presence: 'offline', currently_active: false });
    expect(nextTimeout(online, t0)).toBe(t0 + SYNC_ONLINE_TIMEOUT_MS + 1);
    expect(nextTimeout(online, syncing)).toBe(t0 + LAST_ACTIVE_GRANULARITY_MS + 1);
    expect(nextTimeout({ ...online, presence: 'offline' }, syncing)).toBeUndefined();
  });

  it('tells others of state, message and currently_active changes, not of steady activity', () => {
    expect(worthTelling(online, { ...online, last_active_ts: t0 + 30_000 })).toBe(false);
    expect(worthTelling(online, { ...online, last_active_ts: t0 + 5 * LAST_ACTIVE_GRANULARITY_MS })).toBe(false);
    expect(worthTelling(online, { ...online, currently_active: false })).toBe(true);
    expect(worthTelling(online, { ...online, status_msg: 'hi' })).toBe(true);
    expect(worthTelling(online, { ...online, presence: 'unavailable' })).toBe(true);
    const away: Presence = { ...online, presence: 'unavailable', currently_active: false };
    expect(worthTelling(away, { ...away, last_active_ts: t0 + 2 * LAST_ACTIVE_GRANULARITY_MS })).toBe(true);
  });
});
