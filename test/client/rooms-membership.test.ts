/** Membership (invite, join, leave, kick, ban, unban), sending with transaction IDs, state and access. */
import { describe, expect, it } from 'vitest';
import { loginUser, json, registerUser, type Session } from './helpers';
import { createRoom, enc, fails, messages, ok, sendMessage, stateContent, type ClientEvent } from './room-helpers';

const r = (roomId: string) => `/v3/rooms/${enc(roomId)}`;

describe('membership', () => {
  it('invite → join → send → state, and the invitee only reads once joined', async () => {
    const a = await registerUser();
    const b = await registerUser();
    const roomId = await createRoom(a, { preset: 'private_chat' });
    // Not invited yet: the join rule is invite.
    await fails('POST', `${r(roomId)}/join`, b.access_token, 403, 'M_FORBIDDEN');
    await ok('POST', `${r(roomId)}/invite`, a.access_token, { user_id: b.user_id, reason: 'come in' });
    expect(await stateContent(a, roomId, 'm.room.member', b.user_id)).toEqual({ membership: 'invite', reason: 'come in' });
    await fails('GET', `${r(roomId)}/messages?dir=b`, b.access_token, 403, 'M_FORBIDDEN');
    expect(await ok('POST', `/v3/join/${enc(roomId)}`, b.access_token, {})).toEqual({ room_id: roomId });

    const eventId = await sendMessage(b, roomId, 'hello');
    const event = await ok<ClientEvent>('GET', `${r(roomId)}/event/${enc(eventId)}`, a.access_token);
    expect(event).toEqual({
      event_id: eventId,
      room_id: roomId,
      type: 'm.room.message',
      sender: b.user_id,
      content: { msgtype: 'm.text', body: 'hello' },
      origin_server_ts: expect.any(Number),
    });
    const joined = await ok<{ joined: Record<string, unknown> }>('GET', `${r(roomId)}/joined_members`, b.access_token);
    expect(Object.keys(joined.joined).sort()).toEqual([a.user_id, b.user_id].sort());
    const members = await ok<{ chunk: ClientEvent[] }>('GET', `${r(roomId)}/members?membership=join`, b.access_token);
    expect(members.chunk.map((e) => e.state_key).sort()).toEqual([a.user_id, b.user_id].sort());
    const formatEvent = await ok<ClientEvent>('GET', `${r(roomId)}/state/m.room.member/${enc(b.user_id)}?format=event`, b.access_token);
    expect(formatEvent).toMatchObject({ type: 'm.room.member', state_key: b.user_id, sender: b.user_id, content: { membership: 'join' } });

    await ok('POST', `${r(roomId)}/leave`, b.access_token, {});
    await fails('GET', `${r(roomId)}/state`, b.access_token, 403, 'M_FORBIDDEN');
  });

  it('a member at power level 0 may not set the room name', async () => {
    const a = await registerUser();
    const b = await registerUser();
    const roomId = await createRoom(a, { preset: 'public_chat' });
    await ok('POST', `${r(roomId)}/join`, b.access_token);
    await fails('PUT', `${r(roomId)}/state/m.room.name/`, b.access_token, 403, 'M_FORBIDDEN', { name: 'mine' });
    const set = await ok<{ event_id: string }>('PUT', `${r(roomId)}/state/m.room.name/`, a.access_token, { name: 'ours' });
    expect(set.event_id).toMatch(/^\$/);
    expect(await stateContent(b, roomId, 'm.room.name')).toEqual({ name: 'ours' });
  });

  it('kick, ban (no rejoin), unban (rejoin), and unban of a user not banned', async () => {
    const a = await registerUser();
    const b = await registerUser();
    const roomId = await createRoom(a, { preset: 'public_chat', room_version: '11' });
    await ok('POST', `${r(roomId)}/join`, b.access_token);
    await ok('POST', `${r(roomId)}/kick`, a.access_token, { user_id: b.user_id, reason: 'out' });
    expect(await stateContent(a, roomId, 'm.room.member', b.user_id)).toEqual({ membership: 'leave', reason: 'out' });
    await fails('POST', `${r(roomId)}/unban`, a.access_token, 403, 'M_FORBIDDEN', { user_id: b.user_id });
    await ok('POST', `${r(roomId)}/join`, b.access_token);
    // A member at power level 0 may not ban.
    await fails('POST', `${r(roomId)}/ban`, b.access_token, 403, 'M_FORBIDDEN', { user_id: a.user_id });
    await ok('POST', `${r(roomId)}/ban`, a.access_token, { user_id: b.user_id, reason: 'spam' });
    await fails('POST', `${r(roomId)}/join`, b.access_token, 403, 'M_FORBIDDEN');
    await fails('PUT', `${r(roomId)}/send/m.room.message/x1`, b.access_token, 403, 'M_FORBIDDEN', { body: 'hi' });
    await ok('POST', `${r(roomId)}/unban`, a.access_token, { user_id: b.user_id });
    await ok('POST', `${r(roomId)}/join`, b.access_token);
  });

  it('unknown rooms are 404, aliases 404, malformed room IDs 400', async () => {
    const a = await registerUser();
    await fails('POST', `/v3/rooms/${enc('!nosuchroom:test.local')}/join`, a.access_token, 404, 'M_NOT_FOUND');
    await fails('POST', `/v3/join/${enc('#alias:test.local')}`, a.access_token, 404, 'M_NOT_FOUND');
    await fails('PUT', `/v3/rooms/${enc('!nosuchroom:test.local')}/send/m.room.message/t`, a.access_token, 404, 'M_NOT_FOUND', { body: 'x' });
    await fails('GET', `/v3/rooms/${enc('!nosuchroom:test.local')}/messages?dir=b`, a.access_token, 404, 'M_NOT_FOUND');
    await fails('GET', `/v3/rooms/notaroom/state`, a.access_token, 400, 'M_INVALID_PARAM');
  });
});

describe('sending', () => {
  it('a retried transaction ID returns the same event and sends nothing; another device is another transaction', async () => {
    const a = await registerUser();
    const roomId = await createRoom(a);
    const first = await sendMessage(a, roomId, 'once', 'txn-1');
    expect(await sendMessage(a, roomId, 'once', 'txn-1')).toBe(first);
    const other = await json<Session>(await loginUser(a.user_id));
    const fromOther = await sendMessage(other, roomId, 'once', 'txn-1');
    expect(fromOther).not.toBe(first);
    const page = await messages(a, roomId, { dir: 'b', limit: 5, filter: JSON.stringify({ types: ['m.room.message'] }) });
    expect(page.chunk.map((e) => e.event_id)).toEqual([fromOther, first]);
  });

  it('redaction empties the content; its transaction is idempotent too', async () => {
    const a = await registerUser();
    const roomId = await createRoom(a);
    const eventId = await sendMessage(a, roomId, 'secret');
    const redaction = await ok<{ event_id: string }>('PUT', `${r(roomId)}/redact/${enc(eventId)}/rd1`, a.access_token, { reason: 'oops' });
    const again = await ok<{ event_id: string }>('PUT', `${r(roomId)}/redact/${enc(eventId)}/rd1`, a.access_token, { reason: 'oops' });
    expect(again.event_id).toBe(redaction.event_id);
    const event = await ok<ClientEvent>('GET', `${r(roomId)}/event/${enc(eventId)}`, a.access_token);
    expect(event.content).toEqual({});
    const red = await ok<ClientEvent>('GET', `${r(roomId)}/event/${enc(redaction.event_id)}`, a.access_token);
    expect(red).toMatchObject({ type: 'm.room.redaction', content: { reason: 'oops', redacts: eventId } });
  });

  it('a transaction ID is scoped to its endpoint: /send and /redact with the same ID are two events', async () => {
    const a = await registerUser();
    const roomId = await createRoom(a);
    const target = await sendMessage(a, roomId, 'to be redacted');
    // Spec "Transaction identifiers": one device, one endpoint. Once a send's ID ("m.redact/x")
    // collided with the redaction of ID "x".
    const sent = await ok<{ event_id: string }>('PUT', `${r(roomId)}/send/m.room.message/${enc('m.redact/x')}`, a.access_token, { msgtype: 'm.text', body: 'plain' });
    const redaction = await ok<{ event_id: string }>('PUT', `${r(roomId)}/redact/${enc(target)}/x`, a.access_token, {});
    const sentX = await ok<{ event_id: string }>('PUT', `${r(roomId)}/send/m.room.message/x`, a.access_token, { msgtype: 'm.text', body: 'another' });
    expect(new Set([sent.event_id, redaction.event_id, sentX.event_id]).size).toBe(3);
    expect((await ok<ClientEvent>('GET', `${r(roomId)}/event/${enc(redaction.event_id)}`, a.access_token)).type).toBe('m.room.redaction');
    expect((await ok<ClientEvent>('GET', `${r(roomId)}/event/${enc(target)}`, a.access_token)).content).toEqual({});
    // Each retried on its own endpoint gives its own event back.
    expect((await ok<{ event_id: string }>('PUT', `${r(roomId)}/redact/${enc(target)}/x`, a.access_token, {})).event_id).toBe(redaction.event_id);
    expect((await ok<{ event_id: string }>('PUT', `${r(roomId)}/send/m.room.message/x`, a.access_token, { msgtype: 'm.text', body: 'another' })).event_id).toBe(sentX.event_id);
  });

  it('a non-member may not read; a world_readable room is readable by anyone', async () => {
    const a = await registerUser();
    const c = await registerUser();
    const roomId = await createRoom(a, { preset: 'public_chat' });
    const eventId = await sendMessage(a, roomId, 'members only');
    for (const path of ['/messages?dir=b', '/state', '/state/m.room.name/', '/members', '/joined_members', `/event/${enc(eventId)}`]) {
      await fails('GET', `${r(roomId)}${path}`, c.access_token, 403, 'M_FORBIDDEN');
    }
    await ok('PUT', `${r(roomId)}/state/m.room.history_visibility/`, a.access_token, { history_visibility: 'world_readable' });
    const page = await messages(c, roomId, { dir: 'b', limit: 2 });
    expect(page.chunk[0]!.type).toBe('m.room.history_visibility');
    // Spec "Room History Visibility": only events sent while it is world_readable are (see history-visibility.test.ts).
    await fails('GET', `${r(roomId)}/event/${enc(eventId)}`, c.access_token, 404, 'M_NOT_FOUND');
    const open = await sendMessage(a, roomId, 'anyone');
    expect((await ok<ClientEvent>('GET', `${r(roomId)}/event/${enc(open)}`, c.access_token)).content.body).toBe('anyone');
  });
});
