/**
 * Reads around events: /context, relations (annotation, replacement, thread), /threads,
 * timestamp_to_event and reports, with the 403/404 paths of non-members and unknown events.
 */
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { registerUser, type Session } from './helpers';
import { createRoom, enc, fails, messages, ok, sendMessage, type ClientEvent } from './room-helpers';

let a: Session;
let b: Session;
let outsider: Session;

let txn = 0;
async function send(s: Session, roomId: string, type: string, content: Record<string, unknown>): Promise<string> {
  return (await ok<{ event_id: string }>('PUT', `/v3/rooms/${enc(roomId)}/send/${type}/reads${++txn}`, s.access_token, content)).event_id;
}

async function sharedRoom(): Promise<string> {
  const roomId = await createRoom(a, { preset: 'public_chat' });
  await ok('POST', `/v3/rooms/${enc(roomId)}/join`, b.access_token, {});
  return roomId;
}

const ids = (events: ClientEvent[]) => events.map((e) => e.event_id);
const query = (params: Record<string, string | number>) => new URLSearchParams(Object.entries(params).map(([k, v]): [string, string] => [k, String(v)])).toString();

beforeAll(async () => {
  [a, b, outsider] = await Promise.all([registerUser(), registerUser(), registerUser()]);
});

interface Context {
  event: ClientEvent;
  events_before: ClientEvent[];
  events_after: ClientEvent[];
  start: string;
  end: string;
  state: ClientEvent[];
}

describe('/context', () => {
  let roomId: string;
  const sent: string[] = [];
  const context = (eventId: string, params: Record<string, string | number> = {}) =>
    ok<Context>('GET', `/v3/rooms/${enc(roomId)}/context/${enc(eventId)}?${query(params)}`, a.access_token);

  beforeAll(async () => {
    roomId = await sharedRoom();
    for (let i = 0; i < 12; i++) sent.push(await sendMessage(i % 3 === 0 ? b : a, roomId, `c${i}`));
  });

  it('splits limit before and after, with tokens that continue in /messages', async () => {
    const ctx = await context(sent[5]!, { limit: 4 });
    expect(ctx.event.event_id).toBe(sent[5]);
    expect(ctx.event.room_id).toBe(roomId);
    expect(ids(ctx.events_before)).toEqual([sent[4], sent[3]]);
    expect(ids(ctx.events_after)).toEqual([sent[6], sent[7]]);
    expect(ids((await messages(a, roomId, { dir: 'b', from: ctx.start, limit: 2 })).chunk)).toEqual([sent[2], sent[1]]);
    expect(ids((await messages(a, roomId, { dir: 'f', from: ctx.end, limit: 2 })).chunk)).toEqual([sent[8], sent[9]]);
  });

  it('defaults to 10 events, returns the state at the last event, and honours limit=0', async () => {
    const ctx = await context(sent[6]!);
    expect(ctx.events_before).toHaveLength(5);
    expect(ids(ctx.events_after)).toEqual(sent.slice(7, 12));
    const types = ctx.state.map((e) => e.type);
    expect(types).toContain('m.room.create');
    expect(ctx.state.filter((e) => e.type === 'm.room.member').map((e) => e.state_key).sort()).toEqual([a.user_id, b.user_id].sort());

    const none = await context(sent[6]!, { limit: 0 });
    expect(none.event.event_id).toBe(sent[6]);
    expect(none.events_before).toEqual([]);
    expect(none.events_after).toEqual([]);
    // At the newest event the forward token has nothing after it.
    const last = await context(sent[11]!, { limit: 4 });
    expect(last.events_after).toEqual([]);
    expect((await messages(a, roomId, { dir: 'f', from: last.end })).chunk).toEqual([]);
  });

  it('applies the filter around the event and lazy-loads members', async () => {
    const filter = JSON.stringify({ senders: [b.user_id], lazy_load_members: true });
    const ctx = await context(sent[5]!, { limit: 4, filter });
    expect(ids(ctx.events_before)).toEqual([sent[3], sent[0]]);
    expect(ids(ctx.events_after)).toEqual([sent[6], sent[9]]);
    // The event itself (from a) and b's events: both members, and non-member state stays.
    expect(ctx.state.filter((e) => e.type === 'm.room.member').map((e) => e.state_key).sort()).toEqual([a.user_id, b.user_id].sort());
    const onlyB = await context(sent[3]!, { limit: 2, filter });
    expect(onlyB.state.filter((e) => e.type === 'm.room.member').map((e) => e.state_key)).toEqual([b.user_id]);
    expect(onlyB.state.some((e) => e.type === 'm.room.create')).toBe(true);
  });

  it('refuses non-members, unknown events and bad parameters', async () => {
    const base = `/v3/rooms/${enc(roomId)}/context`;
    await fails('GET', `${base}/${enc(sent[1]!)}`, outsider.access_token, 403, 'M_FORBIDDEN');
    await fails('GET', `${base}/${enc('$nosuchevent')}`, a.access_token, 404, 'M_NOT_FOUND');
    await fails('GET', `${base}/${enc(sent[1]!)}?limit=-3`, a.access_token, 400, 'M_INVALID_PARAM');
    await fails('GET', `${base}/${enc(sent[1]!)}?filter=${enc('{"types":7}')}`, a.access_token, 400, 'M_INVALID_PARAM');
    await fails('GET', `/v3/rooms/${enc('!nope:test.local')}/context/${enc(sent[1]!)}`, a.access_token, 404, 'M_NOT_FOUND');
  });
});

interface RelationsPage {
  chunk: ClientEvent[];
  next_batch?: string;
  prev_batch?: string;
  recursion_depth?: number;
}

describe('relations and threads', () => {
  let roomId: string;
  let root: string;
  let reaction: string;
  let edit: string;
  const replies: string[] = [];
  let otherRoot: string;
  let otherReply: string;

  const relations = (path: string, params: Record<string, string | number> = {}, s = a) =>
    ok<RelationsPage>('GET', `/v1/rooms/${enc(roomId)}/relations/${path}?${query(params)}`, s.access_token);
  const threads = (params: Record<string, string | number> = {}, s = a) =>
    ok<RelationsPage>('GET', `/v1/rooms/${enc(roomId)}/threads?${query(params)}`, s.access_token);
  const thread = (eventId: string) => ({ rel_type: 'm.thread', event_id: eventId, is_falling_back: true, 'm.in_reply_to': { event_id: eventId } });

  beforeAll(async () => {
    roomId = await sharedRoom();
    root = await sendMessage(a, roomId, 'root');
    reaction = await send(b, roomId, 'm.reaction', { 'm.relates_to': { rel_type: 'm.annotation', event_id: root, key: '👍' } });
    edit = await send(a, roomId, 'm.room.message', {
      msgtype: 'm.text', body: '* root (edited)', 'm.new_content': { msgtype: 'm.text', body: 'root (edited)' },
      'm.relates_to': { rel_type: 'm.replace', event_id: root },
    });
    otherRoot = await sendMessage(b, roomId, 'other root');
    replies.push(await send(b, roomId, 'm.room.message', { msgtype: 'm.text', body: 'reply 1', 'm.relates_to': thread(root) }));
    otherReply = await send(b, roomId, 'm.room.message', { msgtype: 'm.text', body: 'other reply', 'm.relates_to': thread(otherRoot) });
    replies.push(await send(b, roomId, 'm.room.message', { msgtype: 'm.text', body: 'reply 2', 'm.relates_to': thread(root) }));
    await sendMessage(a, roomId, 'unrelated');
  });

  it('lists every child, newest first, and by rel_type and event type', async () => {
    const all = await relations(enc(root));
    expect(ids(all.chunk)).toEqual([replies[1], replies[0], edit, reaction]);
    expect(all.next_batch).toBeUndefined();
    expect(all.prev_batch).toBeUndefined();
    expect(all.recursion_depth).toBeUndefined();
    expect(all.chunk.every((e) => e.room_id === roomId)).toBe(true);

    expect(ids((await relations(`${enc(root)}/m.annotation`)).chunk)).toEqual([reaction]);
    expect(ids((await relations(`${enc(root)}/m.annotation/m.reaction`)).chunk)).toEqual([reaction]);
    expect((await relations(`${enc(root)}/m.annotation/m.room.message`)).chunk).toEqual([]);
    expect(ids((await relations(`${enc(root)}/m.replace`)).chunk)).toEqual([edit]);
    expect(ids((await relations(`${enc(root)}/m.thread/m.room.message`)).chunk)).toEqual([replies[1], replies[0]]);
    expect((await relations(enc(otherRoot))).chunk.map((e) => e.event_id)).toEqual([otherReply]);
    expect((await relations(enc(reaction))).chunk).toEqual([]);
  });

  it('pages both ways without gaps, honours `to`, and reports recursion depth 1', async () => {
    const back: string[] = [];
    let params: Record<string, string | number> = { limit: 1 };
    for (let i = 0; i < 10; i++) {
      const page = await relations(enc(root), params);
      back.push(...ids(page.chunk));
      if (!page.next_batch) break;
      expect(page.chunk).toHaveLength(1);
      params = { limit: 1, from: page.next_batch };
    }
    expect(back).toEqual([replies[1], replies[0], edit, reaction]);

    const first = await relations(enc(root), { dir: 'f', limit: 3 });
    expect(ids(first.chunk)).toEqual([reaction, edit, replies[0]]);
    const rest = await relations(enc(root), { dir: 'f', limit: 3, from: first.next_batch! });
    expect(ids(rest.chunk)).toEqual([replies[1]]);
    expect(rest.prev_batch).toBe(first.next_batch);
    expect(rest.next_batch).toBeUndefined();

    // Backwards down to the forward page's end: only the last reply is newer.
    expect(ids((await relations(enc(root), { to: first.next_batch! })).chunk)).toEqual([replies[1]]);
    expect((await relations(enc(root), { recurse: 'true' })).recursion_depth).toBe(1);
  });

  it('drops a redacted reaction', async () => {
    const roomOfOwn = await sharedRoom();
    const target = await sendMessage(a, roomOfOwn, 'x');
    const r = await send(b, roomOfOwn, 'm.reaction', { 'm.relates_to': { rel_type: 'm.annotation', event_id: target, key: 'x' } });
    const path = `/v1/rooms/${enc(roomOfOwn)}/relations/${enc(target)}/m.annotation`;
    expect(ids((await ok<RelationsPage>('GET', path, a.access_token)).chunk)).toEqual([r]);
    await ok('PUT', `/v3/rooms/${enc(roomOfOwn)}/redact/${enc(r)}/undo`, b.access_token, {});
    expect((await ok<RelationsPage>('GET', path, a.access_token)).chunk).toEqual([]);
  });

  it('refuses non-members, unknown parents and bad parameters', async () => {
    const base = `/v1/rooms/${enc(roomId)}/relations`;
    await fails('GET', `${base}/${enc(root)}`, outsider.access_token, 403, 'M_FORBIDDEN');
    await fails('GET', `${base}/${enc('$nosuchevent')}`, a.access_token, 404, 'M_NOT_FOUND');
    await fails('GET', `${base}/${enc('$nosuchevent')}/m.thread`, a.access_token, 404, 'M_NOT_FOUND');
    await fails('GET', `${base}/${enc(root)}?dir=x`, a.access_token, 400, 'M_INVALID_PARAM');
    await fails('GET', `${base}/${enc(root)}?from=nope`, a.access_token, 400, 'M_INVALID_PARAM');
    await fails('GET', `${base}/${enc(root)}?recurse=maybe`, a.access_token, 400, 'M_INVALID_PARAM');
  });

  it('lists thread roots by latest reply with their m.thread summary', async () => {
    const all = await threads();
    expect(ids(all.chunk)).toEqual([root, otherRoot]);
    expect(all.next_batch).toBeUndefined();
    const summary = (all.chunk[0] as ClientEvent & { unsigned: { 'm.relations': { 'm.thread': { latest_event: ClientEvent; count: number; current_user_participated: boolean } } } })
      .unsigned['m.relations']['m.thread'];
    expect(summary.latest_event.event_id).toBe(replies[1]);
    expect(summary.count).toBe(2);
    expect(summary.current_user_participated).toBe(true);

    // a sent root, and nothing in the other thread.
    expect(ids((await threads({ include: 'participated' })).chunk)).toEqual([root]);
    expect(ids((await threads({ include: 'participated' }, b)).chunk)).toEqual([root, otherRoot]);

    const first = await threads({ limit: 1 });
    expect(ids(first.chunk)).toEqual([root]);
    const second = await threads({ limit: 1, from: first.next_batch! });
    expect(ids(second.chunk)).toEqual([otherRoot]);
    expect(second.next_batch).toBeUndefined();
  });

  it('refuses threads to non-members and bad parameters', async () => {
    const base = `/v1/rooms/${enc(roomId)}/threads`;
    await fails('GET', base, outsider.access_token, 403, 'M_FORBIDDEN');
    await fails('GET', `${base}?include=mine`, a.access_token, 400, 'M_INVALID_PARAM');
    await fails('GET', `${base}?from=x1`, a.access_token, 400, 'M_INVALID_PARAM');
  });
});

describe('timestamp_to_event', () => {
  let roomId: string;
  const path = (params: Record<string, string | number>) => `/v1/rooms/${enc(roomId)}/timestamp_to_event?${query(params)}`;
  type Found = { event_id: string; origin_server_ts: number };

  beforeAll(async () => {
    roomId = await sharedRoom();
    await sendMessage(a, roomId, 'first');
    await sendMessage(a, roomId, 'second');
  });

  it('finds the closest event in each direction', async () => {
    const created = (await messages(a, roomId, { dir: 'f', from: 'r0', limit: 1 })).chunk[0]!;
    expect(created.type).toBe('m.room.create');
    expect(await ok<Found>('GET', path({ ts: 0, dir: 'f' }), a.access_token)).toEqual({ event_id: created.event_id, origin_server_ts: created.origin_server_ts });

    const newest = (await messages(a, roomId, { dir: 'b', limit: 1 })).chunk[0]!;
    const future = newest.origin_server_ts + 3_600_000;
    expect(await ok<Found>('GET', path({ ts: future, dir: 'b' }), a.access_token)).toEqual({ event_id: newest.event_id, origin_server_ts: newest.origin_server_ts });

    const atNewest = await ok<Found>('GET', path({ ts: newest.origin_server_ts, dir: 'b' }), a.access_token);
    expect(atNewest.origin_server_ts).toBe(newest.origin_server_ts);
    const atCreate = await ok<Found>('GET', path({ ts: created.origin_server_ts, dir: 'f' }), a.access_token);
    expect(atCreate.origin_server_ts).toBe(created.origin_server_ts);
  });

  it('answers 404 when nothing lies in that direction, and checks its parameters', async () => {
    await fails('GET', path({ ts: 0, dir: 'b' }), a.access_token, 404, 'M_NOT_FOUND');
    await fails('GET', path({ ts: Date.now() + 86_400_000, dir: 'f' }), a.access_token, 404, 'M_NOT_FOUND');
    await fails('GET', path({ ts: 0, dir: 'f' }), outsider.access_token, 403, 'M_FORBIDDEN');
    await fails('GET', path({ dir: 'f' }), a.access_token, 400, 'M_MISSING_PARAM');
    await fails('GET', path({ ts: 'soon', dir: 'f' }), a.access_token, 400, 'M_INVALID_PARAM');
    await fails('GET', path({ ts: 0, dir: 'x' }), a.access_token, 400, 'M_INVALID_PARAM');
  });
});

describe('reporting', () => {
  let roomId: string;
  let eventId: string;

  beforeAll(async () => {
    roomId = await sharedRoom();
    eventId = await sendMessage(b, roomId, 'offensive');
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('logs an event report and a room report as one JSON line each', async () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    expect(await ok('POST', `/v3/rooms/${enc(roomId)}/report/${enc(eventId)}`, a.access_token, { reason: 'rude', score: -100 })).toEqual({});
    expect(await ok('POST', `/v3/rooms/${enc(roomId)}/report`, a.access_token, { reason: '' })).toEqual({});
    const lines = log.mock.calls.map((args) => String(args[0])).filter((l) => l.startsWith('{"report"')).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toContainEqual({ report: 'event', room_id: roomId, event_id: eventId, reporter: a.user_id, sender: b.user_id, reason: 'rude', score: -100 });
    expect(lines).toContainEqual({ report: 'room', room_id: roomId, reporter: a.user_id, reason: '' });
  });

  it('answers 404 to non-members and for unknown events, and checks the body', async () => {
    await fails('POST', `/v3/rooms/${enc(roomId)}/report/${enc(eventId)}`, outsider.access_token, 404, 'M_NOT_FOUND', {});
    await fails('POST', `/v3/rooms/${enc(roomId)}/report/${enc('$nosuchevent')}`, a.access_token, 404, 'M_NOT_FOUND', {});
    await fails('POST', `/v3/rooms/${enc(roomId)}/report`, outsider.access_token, 404, 'M_NOT_FOUND', { reason: 'x' });
    await fails('POST', `/v3/rooms/${enc('!nope:test.local')}/report`, a.access_token, 404, 'M_NOT_FOUND', { reason: 'x' });
    await fails('POST', `/v3/rooms/${enc(roomId)}/report`, a.access_token, 400, 'M_MISSING_PARAM', {});
    await fails('POST', `/v3/rooms/${enc(roomId)}/report/${enc(eventId)}`, a.access_token, 400, 'M_INVALID_PARAM', { score: 5 });
    await fails('POST', `/v3/rooms/${enc(roomId)}/report/${enc(eventId)}`, a.access_token, 400, 'M_BAD_JSON', { reason: 3 });
  });
});
