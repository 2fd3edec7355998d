/**
 * Presence over real HTTP against `npm start` (spec v1.16 "Presence"): setting and reading
 * presence with its 403s and 404s, a room-mate's change in /sync's `presence.events` (and a
 * long-poll it wakes), and `set_presence` on /sync, every response body checked against the
 * spec's OpenAPI schema of its operation and status.
 */
import { describe, expect, it } from 'vitest';
import { specClient, useInstance, type SpecBody } from './spec-client';

const { request, register } = specClient(useInstance());

const C = '/_matrix/client/v3';
const P = `${C}/presence/{userId}/status`;
const S = `${C}/sync`;
const enc = encodeURIComponent;
const pPath = (userId: string) => `${C}/presence/${enc(userId)}/status`;

interface PresenceEvent {
  type: string;
  sender: string;
  content: { presence: string; status_msg?: string; last_active_ago?: number; currently_active?: boolean };
}
const presenceFrom = (body: SpecBody, userId: string): PresenceEvent[] =>
  (body.presence.events as PresenceEvent[]).filter((e) => e.sender === userId);

/** Sync (2 s long-polls) until `done` holds; returns every body on the way. */
async function syncUntil(token: string, since: string | undefined, done: (b: SpecBody) => boolean, query = ''): Promise<SpecBody[]> {
  const bodies: SpecBody[] = [];
  let next = since;
  for (let i = 0; i < 10; i++) {
    const body = await request('GET', S, { path: `${S}?timeout=2000${next ? `&since=${next}` : ''}${query}`, token, expect: 200 });
    bodies.push(body);
    next = body.next_batch;
    if (done(body)) return bodies;
  }
  throw new Error(`sync never reached the expected state: ${JSON.stringify(bodies.at(-1))}`);
}

describe('presence over HTTP, schema-checked', () => {
  it('PUT/GET status, presence in /sync, a woken long-poll, set_presence', async () => {
    const tag = Date.now().toString(36);
    const a = await register(`pa${tag}`);
    const b = await register(`pb${tag}`);
    const c = await register(`pc${tag}`);
    const A = a.access_token;
    const B = b.access_token;

    // Alice and Bob share a room; Carol shares none.
    const { room_id: roomId } = await request('POST', `${C}/createRoom`, { token: A, body: { preset: 'public_chat' }, expect: 200 });
    await request('POST', `${C}/rooms/{roomId}/join`, { path: `${C}/rooms/${enc(roomId)}/join`, token: B, body: {}, expect: 200 });

    // Never set: offline. Setting one's own, reading it back.
    expect(await request('GET', P, { path: pPath(a.user_id), token: A, expect: 200 })).toEqual({ presence: 'offline' });
    expect(await request('PUT', P, { path: pPath(a.user_id), token: A, body: { presence: 'online', status_msg: 'E2E here' }, expect: 200 })).toEqual({});
    const mine = await request('GET', P, { path: pPath(a.user_id), token: A, expect: 200 });
    expect(mine).toEqual({ presence: 'online', status_msg: 'E2E here', currently_active: true, last_active_ago: expect.any(Number) });

    // Errors: another user's presence, bad bodies, unknown users, no shared room.
    await request('PUT', P, { path: pPath(a.user_id), token: B, body: { presence: 'offline' }, expect: 403 });
    await request('PUT', P, { path: pPath(a.user_id), token: A, body: { presence: 'asleep' }, expect: 400 });
    await request('PUT', P, { path: pPath(a.user_id), token: A, body: {}, expect: 400 });
    await request('GET', P, { path: pPath(`@nobody${tag}:localhost`), token: A, expect: 404 });
    await request('GET', P, { path: pPath(a.user_id), token: c.access_token, expect: 403 });

    // Bob's first sync (marking him online) has Alice's presence once she is in the room.
    const first = await syncUntil(B, undefined, (body) => presenceFrom(body, a.user_id).length > 0, '&set_presence=online');
    expect(presenceFrom(first.at(-1), a.user_id)[0]!.content).toEqual({
      presence: 'online', status_msg: 'E2E here', currently_active: true, last_active_ago: expect.any(Number),
    });
    // Bob's own presence is in his sync too.
    expect(first.flatMap((body) => presenceFrom(body, b.user_id)).map((e) => e.content.presence)).toEqual(['online']);
    expect(await request('GET', P, { path: pPath(b.user_id), token: A, expect: 200 })).toEqual(
      expect.objectContaining({ presence: 'online', currently_active: true }),
    );

    // Settle, then a long-poll woken by Alice going away.
    let since: string = first.at(-1).next_batch;
    for (;;) {
      const quiet = await request('GET', S, { path: `${S}?since=${since}&timeout=300`, token: B, expect: 200 });
      if (quiet.next_batch === since) break;
      since = quiet.next_batch;
    }
    const t0 = Date.now();
    const polling = request('GET', S, { path: `${S}?since=${since}&timeout=20000`, token: B, expect: 200 });
    await new Promise((r) => setTimeout(r, 200));
    await request('PUT', P, { path: pPath(a.user_id), token: A, body: { presence: 'unavailable', status_msg: 'Lunch' }, expect: 200 });
    const woken = await polling;
    expect(Date.now() - t0).toBeLessThan(10_000);
    const away = presenceFrom(woken, a.user_id).length > 0 ? woken : (await syncUntil(B, woken.next_batch, (body) => presenceFrom(body, a.user_id).length > 0)).at(-1);
    expect(presenceFrom(away, a.user_id)).toEqual([
      { type: 'm.presence', sender: a.user_id, content: { presence: 'unavailable', status_msg: 'Lunch', last_active_ago: expect.any(Number) } },
    ]);

    // set_presence on /sync: unavailable sets it; offline leaves it alone; a bad value is refused.
    await request('GET', S, { path: `${S}?set_presence=unavailable`, token: c.access_token, expect: 200 });
    expect((await request('GET', P, { path: pPath(c.user_id), token: c.access_token, expect: 200 })).presence).toBe('unavailable');
    await request('GET', S, { path: `${S}?set_presence=offline`, token: c.access_token, expect: 200 });
    expect((await request('GET', P, { path: pPath(c.user_id), token: c.access_token, expect: 200 })).presence).toBe('unavailable');
    await request('GET', S, { path: `${S}?set_presence=away`, token: c.access_token, expect: 400 });
  });
});
