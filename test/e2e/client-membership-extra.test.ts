/**
 * Knocking, forgetting and room upgrades over real HTTP against `npm start`, with every
 * response body (the /sync ones with a `knock` section included) checked against the spec
 * v1.16 OpenAPI schema of its operation and status.
 */
import { describe, expect, it } from 'vitest';
import { localId, specClient, useInstance, type SpecBody } from './spec-client';

const instance = useInstance();
const { request, register } = specClient(instance);
const local = (sigil: string, name: string) => localId(instance, sigil, name);

const C = '/_matrix/client/v3';
const T = `${C}/rooms/{roomId}`;
const enc = encodeURIComponent;

describe('knock, forget and upgrade over HTTP, schema-checked', () => {
  it('knock → /sync knock → invite → join; leave → forget; upgrade', async () => {
    const tag = Date.now().toString(36);
    const a = await register(`ka${tag}`);
    const b = await register(`kb${tag}`);
    const A = a.access_token;
    const B = b.access_token;
    const sync = (token: string, query = ''): Promise<SpecBody> => request('GET', `${C}/sync`, { path: `${C}/sync${query}`, token, expect: 200 });
    /** Sync from `since` until `done` holds (room notifications arrive after the request that caused them). */
    const syncUntil = async (token: string, since: string, done: (body: SpecBody) => boolean): Promise<SpecBody> => {
      for (let i = 0; i < 10; i++) {
        const body = await sync(token, `?since=${since}&timeout=2000`);
        if (done(body)) return body;
        since = body.next_batch;
      }
      throw new Error('sync never got there');
    };

    const { room_id: roomId } = await request('POST', `${C}/createRoom`, { token: A, body: { preset: 'private_chat', name: 'Knock' }, expect: 200 });
    const R = `${C}/rooms/${enc(roomId)}`;
    const K = `${C}/knock/{roomIdOrAlias}`;
    // The join rule is invite: no knocking yet.
    await request('POST', K, { path: `${C}/knock/${enc(roomId)}`, token: B, body: {}, expect: 403 });
    await request('PUT', `${T}/state/{eventType}/{stateKey}`, { path: `${R}/state/m.room.join_rules/`, token: A, body: { join_rule: 'knock' }, expect: 200 });
    await request('POST', K, { path: `${C}/knock/${enc(local('#', 'nope'))}`, token: B, body: {}, expect: 404 });

    const before = (await sync(B)).next_batch;
    expect(await request('POST', K, { path: `${C}/knock/${enc(roomId)}`, token: B, body: { reason: 'hello' }, expect: 200 })).toEqual({ room_id: roomId });
    const knocked = await syncUntil(B, before, (body) => roomId in (body.rooms?.knock ?? {}));
    const member = knocked.rooms.knock[roomId].knock_state.events.find((e: SpecBody) => e.type === 'm.room.member');
    expect(member).toMatchObject({ state_key: b.user_id, content: { membership: 'knock', reason: 'hello' } });
    // Forgetting is for rooms left, not knocked on.
    await request('POST', `${T}/forget`, { path: `${R}/forget`, token: B, expect: 400 });

    await request('POST', `${T}/invite`, { path: `${R}/invite`, token: A, body: { user_id: b.user_id }, expect: 200 });
    const invited = await syncUntil(B, knocked.next_batch, (body) => roomId in (body.rooms?.invite ?? {}));
    expect(invited.rooms.knock?.[roomId]).toBeUndefined();
    await request('POST', `${T}/join`, { path: `${R}/join`, token: B, body: {}, expect: 200 });
    await request('POST', `${T}/forget`, { path: `${R}/forget`, token: B, expect: 400 });
    await request('POST', `${T}/leave`, { path: `${R}/leave`, token: B, body: {}, expect: 200 });
    expect(await request('POST', `${T}/forget`, { path: `${R}/forget`, token: B, expect: 200 })).toEqual({});
    const filter = enc(JSON.stringify({ room: { include_leave: true } }));
    const afterForget = await sync(B, `?filter=${filter}`);
    expect(afterForget.rooms?.leave?.[roomId]).toBeUndefined();
    expect(afterForget.rooms?.join?.[roomId]).toBeUndefined();

    const U = `${T}/upgrade`;
    await request('POST', U, { path: `${R}/upgrade`, token: A, body: { new_version: 'nope' }, expect: 400 });
    await request('POST', U, { path: `${R}/upgrade`, token: B, body: { new_version: '12' }, expect: 403 });
    const { replacement_room: replacement } = await request('POST', U, { path: `${R}/upgrade`, token: A, body: { new_version: '12' }, expect: 200 });
    expect(replacement).not.toBe(roomId);
    const ST = `${T}/state/{eventType}/{stateKey}`;
    expect(await request('GET', ST, { path: `${R}/state/m.room.tombstone/`, token: A, expect: 200 })).toEqual({ body: 'This room has been replaced', replacement_room: replacement });
    const NR = `${C}/rooms/${enc(replacement)}`;
    expect(await request('GET', ST, { path: `${NR}/state/m.room.create/`, token: A, expect: 200 })).toEqual({ room_version: '12', predecessor: { room_id: roomId } });
    expect(await request('GET', ST, { path: `${NR}/state/m.room.join_rules/`, token: A, expect: 200 })).toEqual({ join_rule: 'knock' });
    expect(await request('GET', ST, { path: `${NR}/state/m.room.name/`, token: A, expect: 200 })).toEqual({ name: 'Knock' });
  });
});
