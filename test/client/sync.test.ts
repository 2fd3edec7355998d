/**
 * /sync over the homeserver worker: initial and incremental syncs, invites, limited timelines
 * filled back with /messages without gaps or repeats, and long-polls woken by a new event.
 */
import { describe, expect, it } from 'vitest';
import { registerUser, type Session } from './helpers';
import { createRoom, enc, messages, ok, sendMessage, type ClientEvent } from './room-helpers';

interface SyncRoomBody {
  timeline: { events: ClientEvent[]; limited: boolean; prev_batch: string };
  state: { events: ClientEvent[] };
}
interface SyncBody {
  next_batch: string;
  rooms: { join: Record<string, SyncRoomBody>; invite: Record<string, { invite_state: { events: { type: string; state_key: string }[] } }>; leave: Record<string, SyncRoomBody> };
}

const sync = (s: Session, params: Record<string, string | number> = {}) => {
  const q = new URLSearchParams(Object.entries(params).map(([k, v]): [string, string] => [k, String(v)]));
  return ok<SyncBody>('GET', `/v3/sync?${q}`, s.access_token);
};

/** Sync until the room shows up in `section` (notifications are delivered after commit). */
async function syncUntil(s: Session, since: string | undefined, done: (b: SyncBody) => boolean): Promise<SyncBody[]> {
  const bodies: SyncBody[] = [];
  let token = since;
  for (let i = 0; i < 10; i++) {
    const body = await sync(s, { ...(token ? { since: token } : {}), timeout: 2000 });
    bodies.push(body);
    token = body.next_batch;
    if (done(body)) return bodies;
  }
  throw new Error(`sync never reached the expected state: ${JSON.stringify(bodies.at(-1))}`);
}

describe('/sync', () => {
  it('shows an invite, then the joined room with its state and timeline', async () => {
    const alice = await registerUser();
    const bob = await registerUser();
    const first = await sync(bob);
    expect(first.rooms.join).toEqual({});

    const roomId = await createRoom(alice, { preset: 'private_chat', name: 'Sync test', invite: [bob.user_id] });
    const invited = await syncUntil(bob, first.next_batch, (b) => roomId in b.rooms.invite);
    const inviteState = invited.at(-1)!.rooms.invite[roomId]!.invite_state.events;
    expect(inviteState.map((e) => e.type)).toEqual(expect.arrayContaining(['m.room.create', 'm.room.name', 'm.room.member']));

    await ok('POST', `/v3/rooms/${enc(roomId)}/join`, bob.access_token, {});
    const joined = await syncUntil(bob, invited.at(-1)!.next_batch, (b) => roomId in b.rooms.join);
    const room = joined.at(-1)!.rooms.join[roomId]!;
    const all = [...room.state.events, ...room.timeline.events];
    expect(all.some((e) => e.type === 'm.room.member' && e.state_key === bob.user_id && e.content.membership === 'join')).toBe(true);

    // Bob's initial sync now has the room with its name in state or timeline.
    const initial = await sync(bob);
    const initialRoom = initial.rooms.join[roomId]!;
    expect([...initialRoom.state.events, ...initialRoom.timeline.events].some((e) => e.type === 'm.room.name')).toBe(true);
  });

  it('gives every message exactly once across limited syncs and /messages back-fill', async () => {
    const alice = await registerUser();
    const bob = await registerUser();
    const roomId = await createRoom(alice, { preset: 'public_chat' });
    await ok('POST', `/v3/rooms/${enc(roomId)}/join`, bob.access_token, {});
    const start = await syncUntil(bob, undefined, (b) => roomId in b.rooms.join);
    let token = start.at(-1)!.next_batch;

    const sent: string[] = [];
    for (let i = 0; i < 30; i++) sent.push(await sendMessage(alice, roomId, `message ${i}`));

    // Incremental syncs with a timeline limit of 5 until the last message has arrived.
    const filter = JSON.stringify({ room: { timeline: { limit: 5 } } });
    const seen: string[] = [];
    for (let i = 0; i < 20 && !seen.includes(sent.at(-1)!); i++) {
      const body = await sync(bob, { since: token, timeout: 2000, filter });
      token = body.next_batch;
      const room = body.rooms.join[roomId];
      if (!room) continue;
      const chunk = room.timeline.events.filter((e) => e.type === 'm.room.message').map((e) => e.event_id);
      if (room.timeline.limited) {
        // Fill the gap back to what was already seen, as a client does.
        let from = room.timeline.prev_batch;
        const older: string[] = [];
        for (;;) {
          const page = await messages(bob, roomId, { dir: 'b', from, limit: 7 });
          const ids = page.chunk.filter((e) => e.type === 'm.room.message').map((e) => e.event_id);
          const stop = ids.findIndex((id) => seen.includes(id) || !sent.includes(id));
          older.unshift(...(stop === -1 ? ids : ids.slice(0, stop)).reverse());
          if (stop !== -1 || !page.end) break;
          from = page.end;
        }
        seen.push(...older.filter((id) => !seen.includes(id)));
      }
      seen.push(...chunk);
    }
    expect(seen).toEqual(sent);
  });

  it('a long-poll returns when a message arrives, with the message in the body', async () => {
    const alice = await registerUser();
    const roomId = await createRoom(alice);
    const settled = await syncUntil(alice, undefined, (b) => roomId in b.rooms.join);
    let token = settled.at(-1)!.next_batch;
    // Drain notifications still on their way from the room's set-up.
    for (;;) {
      const quiet = await sync(alice, { since: token, timeout: 300 });
      if (quiet.next_batch === token) break;
      token = quiet.next_batch;
    }
    const t0 = Date.now();
    const polling = sync(alice, { since: token, timeout: 20_000 });
    const eventId = await sendMessage(alice, roomId, 'wake');
    const body = await polling;
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(body.rooms.join[roomId]!.timeline.events.map((e) => e.event_id)).toContain(eventId);
    // And the next sync does not repeat it.
    const next = await sync(alice, { since: body.next_batch, timeout: 300 });
    expect(next.rooms.join[roomId]?.timeline.events.map((e) => e.event_id) ?? []).not.toContain(eventId);
  });
});
