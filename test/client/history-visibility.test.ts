/**
 * History visibility (spec v1.16, Client-Server API "Room History Visibility"): the per-event
 * rules on /messages, /event, /context, relations, threads and /sync timelines, for `joined`,
 * `shared`, `invited` and `world_readable` rooms, and for users who left or were banned.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { registerUser, type Session } from './helpers';
import { createRoom, enc, fails, messages, ok, sendMessage, type ClientEvent } from './room-helpers';
import { sync, syncUntil } from './sync-helpers';

const r = (roomId: string) => `/v3/rooms/${enc(roomId)}`;
const ids = (events: ClientEvent[]) => events.map((e) => e.event_id);

async function setVisibility(s: Session, roomId: string, visibility: string): Promise<string> {
  return (await ok<{ event_id: string }>('PUT', `${r(roomId)}/state/m.room.history_visibility/`, s.access_token, { history_visibility: visibility })).event_id;
}

/** Join, returning the join event's ID (read back from the room's state). */
async function join(s: Session, roomId: string): Promise<string> {
  await ok('POST', `${r(roomId)}/join`, s.access_token, {});
  return memberEventId(s, roomId, s.user_id);
}

async function memberEventId(reader: Session, roomId: string, userId: string): Promise<string> {
  const page = await messages(reader, roomId, { dir: 'b', limit: 20, filter: JSON.stringify({ types: ['m.room.member'] }) });
  const e = page.chunk.find((x) => x.state_key === userId);
  if (!e) throw new Error(`no member event of ${userId} visible to ${reader.user_id}`);
  return e.event_id;
}

/** Everything `s` sees of the room, newest first. */
async function seen(s: Session, roomId: string): Promise<string[]> {
  return ids((await messages(s, roomId, { dir: 'b', limit: 200 })).chunk);
}

const getEvent = (s: Session, roomId: string, eventId: string) => ok<ClientEvent>('GET', `${r(roomId)}/event/${enc(eventId)}`, s.access_token);
const eventMissing = (s: Session, roomId: string, eventId: string) => fails('GET', `${r(roomId)}/event/${enc(eventId)}`, s.access_token, 404, 'M_NOT_FOUND');

let a: Session;
let b: Session;
let outsider: Session;

beforeAll(async () => {
  [a, b, outsider] = await Promise.all([registerUser(), registerUser(), registerUser()]);
});

describe('joined', { timeout: 20_000 }, () => {
  let roomId: string;
  let before: string;
  let bJoin: string;
  let after: string;

  beforeAll(async () => {
    roomId = await createRoom(a, { preset: 'public_chat', initial_state: [{ type: 'm.room.history_visibility', content: { history_visibility: 'joined' } }] });
    before = await sendMessage(a, roomId, 'before b joined');
    bJoin = await join(b, roomId);
    after = await sendMessage(a, roomId, 'after b joined');
  });

  it('shows a member the events from their join on, and the creator everything', async () => {
    const bSees = await seen(b, roomId);
    expect(bSees.slice(0, 2)).toEqual([after, bJoin]);
    expect(bSees).not.toContain(before);
    expect(await seen(a, roomId)).toEqual(expect.arrayContaining([after, bJoin, before]));
    // The room's first events came before any history_visibility event: `shared` by default
    // (spec), so b, who joined later, sees them.
    const createEvent = (await messages(a, roomId, { dir: 'f', limit: 1 })).chunk[0]!;
    expect(createEvent.type).toBe('m.room.create');
    expect(bSees).toContain(createEvent.event_id);
  });

  it('/event of an event before the join is 404; after it, 200', async () => {
    await eventMissing(b, roomId, before);
    expect((await getEvent(b, roomId, after)).content.body).toBe('after b joined');
    expect((await getEvent(a, roomId, before)).content.body).toBe('before b joined');
  });

  it('/context of an invisible event is 404, and only visible events come around a visible one', async () => {
    await fails('GET', `${r(roomId)}/context/${enc(before)}`, b.access_token, 404, 'M_NOT_FOUND');
    const ctx = await ok<{ events_before: ClientEvent[]; events_after: ClientEvent[] }>('GET', `${r(roomId)}/context/${enc(after)}?limit=10`, b.access_token);
    expect(ids(ctx.events_before)[0]).toBe(bJoin);
    expect(ids(ctx.events_before)).not.toContain(before);
    const asCreator = await ok<{ events_before: ClientEvent[] }>('GET', `${r(roomId)}/context/${enc(after)}?limit=10`, a.access_token);
    expect(ids(asCreator.events_before)).toContain(before);
  });

  it('a user who never joined gets 403 on every history read', async () => {
    for (const path of ['/messages?dir=b', `/event/${enc(after)}`, `/context/${enc(after)}`]) {
      await fails('GET', `${r(roomId)}${path}`, outsider.access_token, 403, 'M_FORBIDDEN');
    }
    await fails('GET', `/v1/rooms/${enc(roomId)}/relations/${enc(after)}`, outsider.access_token, 403, 'M_FORBIDDEN');
    await fails('GET', `/v1/rooms/${enc(roomId)}/threads`, outsider.access_token, 403, 'M_FORBIDDEN');
  });

  it('an initial /sync timeline leaves out what the member may not see', async () => {
    const body = await syncUntil(b, undefined, (x) => roomId in x.rooms.join, { filter: JSON.stringify({ room: { timeline: { limit: 50 } } }) });
    const timeline = ids(body.at(-1)!.rooms.join[roomId]!.timeline.events);
    expect(timeline).toEqual(expect.arrayContaining([bJoin, after]));
    expect(timeline).not.toContain(before);
  });
});

describe('shared, and leaving', { timeout: 20_000 }, () => {
  it('a late joiner sees the earlier history; after leaving or a ban, nothing sent since', async () => {
    const c = await registerUser();
    const roomId = await createRoom(a, { preset: 'public_chat' });
    const early = await sendMessage(a, roomId, 'early');
    await join(b, roomId);
    await join(c, roomId);
    const whileIn = await sendMessage(a, roomId, 'while b and c are in');
    expect(await seen(b, roomId)).toEqual(expect.arrayContaining([early, whileIn]));

    await ok('POST', `${r(roomId)}/leave`, b.access_token, {});
    await ok('POST', `${r(roomId)}/ban`, a.access_token, { user_id: c.user_id, reason: 'test' });
    const later = await sendMessage(a, roomId, 'after b left and c was banned');
    const bLeave = await memberEventId(a, roomId, b.user_id);
    const cBan = await memberEventId(a, roomId, c.user_id);

    const bSees = await seen(b, roomId);
    expect(bSees).toEqual(expect.arrayContaining([bLeave, whileIn, early]));
    expect(bSees).not.toContain(later);
    expect(bSees).not.toContain(cBan);
    const cSees = await seen(c, roomId);
    expect(cSees).toEqual(expect.arrayContaining([cBan, bLeave, whileIn, early]));
    expect(cSees).not.toContain(later);

    expect((await getEvent(b, roomId, whileIn)).content.body).toBe('while b and c are in');
    await eventMissing(b, roomId, later);
    await eventMissing(c, roomId, later);
    // The current state stays for members only (see requireReader).
    await fails('GET', `${r(roomId)}/state`, b.access_token, 403, 'M_FORBIDDEN');
    // Someone who never joined sees nothing of a shared room.
    await fails('GET', `${r(roomId)}/messages?dir=b`, outsider.access_token, 403, 'M_FORBIDDEN');
  });

  it('a left room\'s /sync timeline stops at the leave and keeps to the rules before it', async () => {
    const leaver = await registerUser();
    const roomId = await createRoom(a, { preset: 'public_chat', initial_state: [{ type: 'm.room.history_visibility', content: { history_visibility: 'joined' } }] });
    const hidden = await sendMessage(a, roomId, 'before the leaver joined');
    const joinId = await join(leaver, roomId);
    const visible = await sendMessage(a, roomId, 'while the leaver is in');
    await ok('POST', `${r(roomId)}/leave`, leaver.access_token, {});
    const leaveId = await memberEventId(a, roomId, leaver.user_id);
    const after = await sendMessage(a, roomId, 'after the leave');

    const filter = JSON.stringify({ room: { include_leave: true, timeline: { limit: 20 } } });
    const body = await syncUntil(leaver, undefined, (x) => roomId in x.rooms.leave, { filter });
    const left = body.at(-1)!.rooms.leave[roomId] as { timeline: { events: ClientEvent[] } };
    expect(ids(left.timeline.events).slice(-3)).toEqual([joinId, visible, leaveId]);
    expect(ids(left.timeline.events)).not.toContain(hidden);
    expect(ids(left.timeline.events)).not.toContain(after);
  });

  it('an invited user who never joined sees nothing of a shared room', async () => {
    const invitee = await registerUser();
    const roomId = await createRoom(a, { preset: 'private_chat', invite: [invitee.user_id] });
    const eventId = await sendMessage(a, roomId, 'members only');
    await fails('GET', `${r(roomId)}/messages?dir=b`, invitee.access_token, 403, 'M_FORBIDDEN');
    await fails('GET', `${r(roomId)}/event/${enc(eventId)}`, invitee.access_token, 403, 'M_FORBIDDEN');
  });
});

describe('invited', { timeout: 20_000 }, () => {
  it('an invitee sees the events from their invite on, before and after joining', async () => {
    const invitee = await registerUser();
    const roomId = await createRoom(a, { preset: 'private_chat', initial_state: [{ type: 'm.room.history_visibility', content: { history_visibility: 'invited' } }] });
    const beforeInvite = await sendMessage(a, roomId, 'before the invite');
    await ok('POST', `${r(roomId)}/invite`, a.access_token, { user_id: invitee.user_id });
    const invite = await memberEventId(a, roomId, invitee.user_id);
    const whileInvited = await sendMessage(a, roomId, 'while invited');

    expect(await seen(invitee, roomId)).toEqual([whileInvited, invite]);
    await eventMissing(invitee, roomId, beforeInvite);

    const joinId = await join(invitee, roomId);
    const joined = await sendMessage(a, roomId, 'after joining');
    const now = await seen(invitee, roomId);
    expect(now.slice(0, 4)).toEqual([joined, joinId, whileInvited, invite]);
    expect(now).not.toContain(beforeInvite);
  });
});

describe('world_readable', { timeout: 20_000 }, () => {
  it('anyone sees the events sent while it holds, and the changes into and out of it', async () => {
    const roomId = await createRoom(a, { preset: 'public_chat' });
    const shared = await sendMessage(a, roomId, 'shared');
    const open = await setVisibility(a, roomId, 'world_readable');
    const readable = await sendMessage(a, roomId, 'world readable');
    const close = await setVisibility(a, roomId, 'joined');
    const closed = await sendMessage(a, roomId, 'joined only');

    expect(await seen(outsider, roomId)).toEqual([close, readable, open]);
    expect((await getEvent(outsider, roomId, readable)).content.body).toBe('world readable');
    await eventMissing(outsider, roomId, shared);
    await eventMissing(outsider, roomId, closed);
  });
});

describe('relations and threads', { timeout: 20_000 }, () => {
  it('hide what the reader may not see, and show the latest reply they may', async () => {
    const reader = await registerUser();
    const roomId = await createRoom(a, { preset: 'public_chat', initial_state: [{ type: 'm.room.history_visibility', content: { history_visibility: 'joined' } }] });
    let txn = 0;
    const reply = async (root: string, body: string) =>
      (await ok<{ event_id: string }>('PUT', `${r(roomId)}/send/m.room.message/hv${++txn}`, a.access_token, { msgtype: 'm.text', body, 'm.relates_to': { rel_type: 'm.thread', event_id: root } })).event_id;

    const oldRoot = await sendMessage(a, roomId, 'old root');
    await reply(oldRoot, 'old reply');
    await join(reader, roomId);
    const root = await sendMessage(a, roomId, 'root');
    const seenReply = await reply(root, 'seen');
    await ok('POST', `${r(roomId)}/leave`, reader.access_token, {});
    await reply(root, 'after the leave');
    await reply(oldRoot, 'another old-thread reply after the leave');

    await fails('GET', `/v1/rooms/${enc(roomId)}/relations/${enc(oldRoot)}`, reader.access_token, 404, 'M_NOT_FOUND');
    const rel = await ok<{ chunk: ClientEvent[] }>('GET', `/v1/rooms/${enc(roomId)}/relations/${enc(root)}`, reader.access_token);
    expect(ids(rel.chunk)).toEqual([seenReply]);
    expect((await ok<{ chunk: ClientEvent[] }>('GET', `/v1/rooms/${enc(roomId)}/relations/${enc(root)}`, a.access_token)).chunk).toHaveLength(2);

    type Thread = ClientEvent & { unsigned: { 'm.relations': { 'm.thread': { latest_event: ClientEvent } } } };
    const threads = await ok<{ chunk: Thread[] }>('GET', `/v1/rooms/${enc(roomId)}/threads`, reader.access_token);
    expect(ids(threads.chunk)).toEqual([root]);
    expect(threads.chunk[0]!.unsigned['m.relations']['m.thread'].latest_event.event_id).toBe(seenReply);
    expect(ids((await ok<{ chunk: Thread[] }>('GET', `/v1/rooms/${enc(roomId)}/threads`, a.access_token)).chunk)).toEqual([oldRoot, root]);
  });
});

describe('sync', { timeout: 20_000 }, () => {
  it('an incremental sync of a joined room leaves out nothing a member may see', async () => {
    const member = await registerUser();
    const roomId = await createRoom(a, { preset: 'public_chat', initial_state: [{ type: 'm.room.history_visibility', content: { history_visibility: 'joined' } }] });
    await join(member, roomId);
    const first = await syncUntil(member, undefined, (x) => roomId in x.rooms.join);
    const eventId = await sendMessage(a, roomId, 'news');
    const next = await syncUntil(member, first.at(-1)!.next_batch, (x) => ids(x.rooms.join[roomId]?.timeline.events ?? []).includes(eventId));
    expect(next.at(-1)!.rooms.join[roomId]!.timeline.events.map((e) => e.content.body)).toContain('news');
    expect((await sync(member)).rooms.join[roomId]).toBeDefined();
  });
});
