/**
 * Filters: upload and read back, only for oneself, shape checks, and stored filters used by
 * /sync (timeline limit and event filters, room filters) and /messages.
 */
import { describe, expect, it } from 'vitest';
import { registerUser } from './helpers';
import { createRoom, enc, fails, messages, ok, sendMessage } from './room-helpers';
import { sync, syncUntil } from './sync-helpers';

const filterPath = (userId: string) => `/v3/user/${enc(userId)}/filter`;

describe('filters', () => {
  it('round-trips a filter, only for its owner', async () => {
    const alice = await registerUser();
    const bob = await registerUser();
    const filter = { event_fields: ['type', 'content.body'], room: { timeline: { limit: 3, types: ['m.room.message'] }, include_leave: true }, 'org.example.unknown': 1 };
    const { filter_id } = await ok<{ filter_id: string }>('POST', filterPath(alice.user_id), alice.access_token, filter);
    expect(typeof filter_id).toBe('string');
    expect(filter_id.startsWith('{')).toBe(false);
    expect(await ok('GET', `${filterPath(alice.user_id)}/${filter_id}`, alice.access_token)).toEqual(filter);
    // A second filter gets another ID.
    const second = await ok<{ filter_id: string }>('POST', filterPath(alice.user_id), alice.access_token, {});
    expect(second.filter_id).not.toBe(filter_id);

    await fails('GET', `${filterPath(alice.user_id)}/${filter_id}`, bob.access_token, 403, 'M_FORBIDDEN');
    await fails('POST', filterPath(alice.user_id), bob.access_token, 403, 'M_FORBIDDEN', {});
    // Unknown IDs, numeric or not, are 404.
    await fails('GET', `${filterPath(bob.user_id)}/999999`, bob.access_token, 404, 'M_NOT_FOUND');
    await fails('GET', `${filterPath(alice.user_id)}/nope`, alice.access_token, 404, 'M_NOT_FOUND');
  });

  it('rejects filters of the wrong shape with M_BAD_JSON', async () => {
    const alice = await registerUser();
    const bad = [
      { event_fields: 'type' },
      { event_format: 'other' },
      { room: { timeline: { limit: 'ten' } } },
      { room: { timeline: { limit: 1.5 } } },
      { room: { include_leave: 'yes' } },
      { room: { rooms: [1] } },
      { room: { state: { lazy_load_members: 1 } } },
      { account_data: { types: 'm.tag' } },
      { presence: [] },
      { room: 'all' },
    ];
    for (const body of bad) await fails('POST', filterPath(alice.user_id), alice.access_token, 400, 'M_BAD_JSON', body);
    await fails('POST', filterPath(alice.user_id), alice.access_token, 400, 'M_BAD_JSON', ['not', 'an', 'object']);
  });

  it('a stored filter limits and filters the /sync timeline', async () => {
    const alice = await registerUser();
    const roomId = await createRoom(alice, { preset: 'public_chat' });
    for (let i = 0; i < 6; i++) await sendMessage(alice, roomId, `m${i}`);
    const { filter_id: limit2 } = await ok<{ filter_id: string }>('POST', filterPath(alice.user_id), alice.access_token, { room: { timeline: { limit: 2 } } });
    const [body] = (await syncUntil(alice, undefined, (b) => b.rooms.join[roomId]?.timeline.events.at(-1)?.content.body === 'm5', { filter: limit2 })).slice(-1);
    const timeline = body!.rooms.join[roomId]!.timeline;
    expect(timeline.events.map((e) => e.content.body)).toEqual(['m4', 'm5']);
    expect(timeline.limited).toBe(true);

    // Without the filter the default limit (10) applies.
    expect((await sync(alice)).rooms.join[roomId]!.timeline.events.length).toBe(10);

    // Event filters are applied to the timeline; a room filter drops rooms.
    const { filter_id: onlyMembers } = await ok<{ filter_id: string }>('POST', filterPath(alice.user_id), alice.access_token, {
      room: { timeline: { limit: 50, types: ['m.room.member'] } },
    });
    const members = (await sync(alice, { filter: onlyMembers })).rooms.join[roomId]!.timeline.events;
    expect(members.length).toBeGreaterThan(0);
    expect(members.every((e) => e.type === 'm.room.member')).toBe(true);
    const { filter_id: noRoom } = await ok<{ filter_id: string }>('POST', filterPath(alice.user_id), alice.access_token, { room: { not_rooms: [roomId] } });
    expect((await sync(alice, { filter: noRoom })).rooms.join[roomId]).toBeUndefined();

    // Inline JSON still works; an unknown ID or a bad inline filter is refused.
    const inline = await sync(alice, { filter: JSON.stringify({ room: { timeline: { limit: 1, not_senders: [] } } }) });
    expect(inline.rooms.join[roomId]!.timeline.events).toHaveLength(1);
    await fails('GET', `/v3/sync?filter=424242`, alice.access_token, 400, 'M_INVALID_PARAM');
    await fails('GET', `/v3/sync?filter=${enc(JSON.stringify({ room: { timeline: { limit: -1 } } }))}`, alice.access_token, 400, 'M_INVALID_PARAM');
  });

  it('/messages accepts a stored filter ID (its room.timeline part)', async () => {
    const alice = await registerUser();
    const roomId = await createRoom(alice);
    await sendMessage(alice, roomId, 'hello');
    const { filter_id } = await ok<{ filter_id: string }>('POST', filterPath(alice.user_id), alice.access_token, { room: { timeline: { types: ['m.room.message'] } } });
    const page = await messages(alice, roomId, { dir: 'b', limit: 50, filter: filter_id });
    expect(page.chunk.map((e) => e.type)).toEqual(['m.room.message']);
    await fails('GET', `/v3/rooms/${enc(roomId)}/messages?dir=b&filter=31337`, alice.access_token, 400, 'M_INVALID_PARAM');
  });
});
