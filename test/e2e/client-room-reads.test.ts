/**
 * Reads around events over real HTTP against `npm start`: /context, relations, /threads,
 * timestamp_to_event and reports, each response body checked against the spec v1.16 OpenAPI
 * schema of its operation and status.
 */
import { describe, expect, it } from 'vitest';
import { specClient, useInstance } from './spec-client';

const { request, register } = specClient(useInstance());

const V3 = '/_matrix/client/v3';
const V1 = '/_matrix/client/v1';
const enc = encodeURIComponent;

describe('reads around events over HTTP, schema-checked', () => {
  it('context, relations, threads, timestamp_to_event and reports', async () => {
    const tag = Date.now().toString(36);
    const a = await register(`rra${tag}`);
    const b = await register(`rrb${tag}`);
    const c = await register(`rrc${tag}`);
    const A = a.access_token;

    const { room_id: roomId } = await request('POST', `${V3}/createRoom`, { token: A, body: { preset: 'public_chat' }, expect: 200 });
    await request('POST', `${V3}/join/{roomIdOrAlias}`, { path: `${V3}/join/${enc(roomId)}`, token: b.access_token, body: {}, expect: 200 });
    const R3 = `${V3}/rooms/${enc(roomId)}`;
    const R1 = `${V1}/rooms/${enc(roomId)}`;
    const S = `${V3}/rooms/{roomId}/send/{eventType}/{txnId}`;
    let txn = 0;
    const send = async (token: string, type: string, content: unknown): Promise<string> =>
      (await request('PUT', S, { path: `${R3}/send/${type}/e2e${++txn}`, token, body: content, expect: 200 })).event_id;

    const root = await send(A, 'm.room.message', { msgtype: 'm.text', body: 'root' });
    const reaction = await send(b.access_token, 'm.reaction', { 'm.relates_to': { rel_type: 'm.annotation', event_id: root, key: '👍' } });
    const edit = await send(A, 'm.room.message', {
      msgtype: 'm.text', body: '* edited', 'm.new_content': { msgtype: 'm.text', body: 'edited' }, 'm.relates_to': { rel_type: 'm.replace', event_id: root },
    });
    const reply = await send(b.access_token, 'm.room.message', { msgtype: 'm.text', body: 'in thread', 'm.relates_to': { rel_type: 'm.thread', event_id: root } });
    await send(A, 'm.room.message', { msgtype: 'm.text', body: 'after' });

    const CTX = `${V3}/rooms/{roomId}/context/{eventId}`;
    const ctx = await request('GET', CTX, { path: `${R3}/context/${enc(edit)}?limit=4&filter=${enc(JSON.stringify({ lazy_load_members: true }))}`, token: A, expect: 200 });
    expect(ctx.event.event_id).toBe(edit);
    expect(ctx.events_before.map((e: { event_id: string }) => e.event_id)).toEqual([reaction, root]);
    expect(ctx.events_after[0].event_id).toBe(reply);
    expect(ctx.state.length).toBeGreaterThan(0);
    await request('GET', CTX, { path: `${R3}/context/${enc('$nosuchevent')}`, token: A, expect: 404 });
    await request('GET', CTX, { path: `${R3}/context/${enc(root)}`, token: c.access_token, expect: 403 });

    const REL = `${V1}/rooms/{roomId}/relations/{eventId}`;
    const all = await request('GET', REL, { path: `${R1}/relations/${enc(root)}?limit=2`, token: A, expect: 200 });
    expect(all.chunk.map((e: { event_id: string }) => e.event_id)).toEqual([reply, edit]);
    const more = await request('GET', REL, { path: `${R1}/relations/${enc(root)}?limit=2&from=${all.next_batch}&recurse=true`, token: A, expect: 200 });
    expect(more.chunk.map((e: { event_id: string }) => e.event_id)).toEqual([reaction]);
    expect(more.recursion_depth).toBe(1);
    const byType = await request('GET', `${REL}/{relType}`, { path: `${R1}/relations/${enc(root)}/m.replace`, token: A, expect: 200 });
    expect(byType.chunk.map((e: { event_id: string }) => e.event_id)).toEqual([edit]);
    const byEventType = await request('GET', `${REL}/{relType}/{eventType}`, { path: `${R1}/relations/${enc(root)}/m.annotation/m.reaction?dir=f`, token: A, expect: 200 });
    expect(byEventType.chunk.map((e: { event_id: string }) => e.event_id)).toEqual([reaction]);
    await request('GET', REL, { path: `${R1}/relations/${enc('$nosuchevent')}`, token: A, expect: 404 });
    await request('GET', REL, { path: `${R1}/relations/${enc(root)}`, token: c.access_token, expect: 403 });

    const TH = `${V1}/rooms/{roomId}/threads`;
    const threads = await request('GET', TH, { path: `${R1}/threads?include=participated`, token: b.access_token, expect: 200 });
    expect(threads.chunk.map((e: { event_id: string }) => e.event_id)).toEqual([root]);
    expect(threads.chunk[0].unsigned['m.relations']['m.thread'].latest_event.event_id).toBe(reply);
    await request('GET', TH, { path: `${R1}/threads?include=bogus`, token: A, expect: 400 });
    await request('GET', TH, { path: `${R1}/threads`, token: c.access_token, expect: 403 });

    const TS = `${V1}/rooms/{roomId}/timestamp_to_event`;
    const first = await request('GET', TS, { path: `${R1}/timestamp_to_event?ts=0&dir=f`, token: A, expect: 200 });
    expect(first.event_id).toMatch(/^\$/);
    const last = await request('GET', TS, { path: `${R1}/timestamp_to_event?ts=${Date.now() + 3_600_000}&dir=b`, token: A, expect: 200 });
    expect(last.origin_server_ts).toBeGreaterThanOrEqual(first.origin_server_ts);
    await request('GET', TS, { path: `${R1}/timestamp_to_event?ts=0&dir=b`, token: A, expect: 404 });

    const RE = `${V3}/rooms/{roomId}/report/{eventId}`;
    expect(await request('POST', RE, { path: `${R3}/report/${enc(reply)}`, token: A, body: { reason: 'spam' }, expect: 200 })).toEqual({});
    await request('POST', RE, { path: `${R3}/report/${enc(reply)}`, token: c.access_token, body: { reason: 'spam' }, expect: 404 });
    await request('POST', RE, { path: `${R3}/report/${enc('$nosuchevent')}`, token: A, body: {}, expect: 404 });
    const RR = `${V3}/rooms/{roomId}/report`;
    expect(await request('POST', RR, { path: `${R3}/report`, token: A, body: { reason: 'bad room' }, expect: 200 })).toEqual({});
    await request('POST', RR, { path: `${R3}/report`, token: c.access_token, body: { reason: 'x' }, expect: 404 });
    const RU = `${V3}/users/{userId}/report`;
    expect(await request('POST', RU, { path: `${V3}/users/${enc(b.user_id)}/report`, token: c.access_token, body: { reason: 'spam' }, expect: 200 })).toEqual({});
    await request('POST', RU, { path: `${V3}/users/${enc(`@nobody${tag}:${a.user_id.split(':').slice(1).join(':')}`)}/report`, token: A, body: { reason: 'x' }, expect: 404 });
  });
});
