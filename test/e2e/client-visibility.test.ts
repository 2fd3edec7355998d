/**
 * History visibility and lazy-loaded members over real HTTP against `npm start`: /messages,
 * /event, /context and relations under `joined` visibility and after a leave, and /sync and
 * /messages with `lazy_load_members`, every response body checked against the spec v1.16
 * OpenAPI schema of its operation and status.
 */
import { describe, expect, it } from 'vitest';
import { specClient, useInstance, type SpecBody } from './spec-client';

const { request, register } = specClient(useInstance());

const V3 = '/_matrix/client/v3';
const V1 = '/_matrix/client/v1';
const enc = encodeURIComponent;
const ids = (events: { event_id: string }[]) => events.map((e) => e.event_id);

describe('history visibility and lazy-loading over HTTP, schema-checked', () => {
  it('joined visibility, a leave, and lazy-loaded members in /messages and /sync', async () => {
    const tag = Date.now().toString(36);
    const a = await register(`hva${tag}`);
    const b = await register(`hvb${tag}`);
    const c = await register(`hvc${tag}`);
    const A = a.access_token;
    const B = b.access_token;

    const { room_id: roomId } = await request('POST', `${V3}/createRoom`, {
      token: A,
      body: { preset: 'public_chat', name: 'Visibility', initial_state: [{ type: 'm.room.history_visibility', content: { history_visibility: 'joined' } }] },
      expect: 200,
    });
    const R = `${V3}/rooms/${enc(roomId)}`;
    const T = `${V3}/rooms/{roomId}`;
    let txn = 0;
    const send = async (token: string, body: string, extra: object = {}): Promise<string> =>
      (await request('PUT', `${T}/send/{eventType}/{txnId}`, { path: `${R}/send/m.room.message/hv${++txn}`, token, body: { msgtype: 'm.text', body, ...extra }, expect: 200 })).event_id;
    const page = (token: string, query: string): Promise<SpecBody> => request('GET', `${T}/messages`, { path: `${R}/messages?${query}`, token, expect: 200 });

    const before = await send(A, 'before b joined');
    await request('POST', `${V3}/join/{roomIdOrAlias}`, { path: `${V3}/join/${enc(roomId)}`, token: B, body: {}, expect: 200 });
    const after = await send(A, 'after b joined');
    const reply = await send(A, 'a reply to the old message', { 'm.relates_to': { rel_type: 'm.thread', event_id: before } });

    // b sees from their join on, with the senders' member events lazy-loaded.
    const lazy = enc(JSON.stringify({ lazy_load_members: true }));
    const bPage = await page(B, `dir=b&limit=50&filter=${lazy}`);
    expect(ids(bPage.chunk).slice(0, 2)).toEqual([reply, after]);
    expect(ids(bPage.chunk)).not.toContain(before);
    const senders = new Set<string>(bPage.chunk.map((e: { sender: string }) => e.sender));
    expect(bPage.state.every((e: { type: string; state_key: string }) => e.type === 'm.room.member' && senders.has(e.state_key))).toBe(true);
    expect(bPage.state.map((e: { state_key: string }) => e.state_key).sort()).toEqual([...senders].sort());

    const EV = `${T}/event/{eventId}`;
    await request('GET', EV, { path: `${R}/event/${enc(before)}`, token: B, expect: 404 });
    expect((await request('GET', EV, { path: `${R}/event/${enc(after)}`, token: B, expect: 200 })).content.body).toBe('after b joined');
    await request('GET', `${T}/context/{eventId}`, { path: `${R}/context/${enc(before)}`, token: B, expect: 404 });
    await request('GET', `${V1}/rooms/{roomId}/relations/{eventId}`, { path: `${V1}/rooms/${enc(roomId)}/relations/${enc(before)}`, token: B, expect: 404 });
    // Someone who never joined sees nothing.
    await request('GET', `${T}/messages`, { path: `${R}/messages?dir=b`, token: c.access_token, expect: 403 });
    await request('GET', EV, { path: `${R}/event/${enc(after)}`, token: c.access_token, expect: 403 });

    // After leaving, b keeps what they saw and nothing sent since.
    await request('POST', `${T}/leave`, { path: `${R}/leave`, token: B, body: {}, expect: 200 });
    const later = await send(A, 'after b left');
    const leftPage = await page(B, 'dir=b&limit=50');
    expect(leftPage.chunk[0]).toMatchObject({ type: 'm.room.member', state_key: b.user_id, content: { membership: 'leave' } });
    expect(ids(leftPage.chunk)).toContain(after);
    expect(ids(leftPage.chunk)).not.toContain(later);
    await request('GET', EV, { path: `${R}/event/${enc(later)}`, token: B, expect: 404 });

    // a's lazy-loading initial sync: a room summary, and members of the timeline's senders and a's own.
    for (let i = 0; i < 10; i++) await send(A, `filler ${i}`);
    const filter = enc(JSON.stringify({ room: { state: { lazy_load_members: true }, timeline: { limit: 5 } } }));
    let room: SpecBody;
    for (let i = 0; i < 20 && !room; i++) {
      const body = await request('GET', `${V3}/sync`, { path: `${V3}/sync?filter=${filter}`, token: A, expect: 200 });
      const joined = body.rooms.join[roomId];
      if (joined && joined.timeline.events.some((e: { content: { body?: string } }) => e.content.body === 'filler 9')) room = joined;
      else await new Promise((r) => setTimeout(r, 200));
    }
    expect(room).toBeDefined();
    expect(room.summary).toEqual({ 'm.heroes': [b.user_id], 'm.joined_member_count': 1, 'm.invited_member_count': 0 });
    expect(room.state.events.filter((e: { type: string }) => e.type === 'm.room.member').map((e: { state_key: string }) => e.state_key)).toEqual([a.user_id]);
    expect(room.state.events.some((e: { type: string }) => e.type === 'm.room.name')).toBe(true);
  });
});
