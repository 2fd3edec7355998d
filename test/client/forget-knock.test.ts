/** Forgetting rooms (spec "Leaving rooms") and knocking on them (spec "Knocking on rooms"), with what /sync shows of each. */
import { describe, expect, it } from 'vitest';
import { registerUser, uniqueName, type Session } from './helpers';
import { createRoom, enc, fails, ok, sendMessage, stateContent, type ClientEvent } from './room-helpers';
import { settle, sync, syncUntil, type SyncBody } from './sync-helpers';

const r = (roomId: string) => `/v3/rooms/${enc(roomId)}`;

interface StrippedEvent {
  type: string;
  state_key: string;
  sender: string;
  content: Record<string, unknown>;
}
interface LeftRoom {
  timeline: { events: ClientEvent[] };
  state: { events: ClientEvent[] };
}
type Rooms = SyncBody['rooms'] & { knock: Record<string, { knock_state: { events: StrippedEvent[] } }>; leave: Record<string, LeftRoom> };
const roomsOf = (b: SyncBody) => b.rooms as Rooms;

const INCLUDE_LEAVE = JSON.stringify({ room: { include_leave: true } });

/** The sections of `b` that list `roomId`. */
const sectionsOf = (b: SyncBody, roomId: string) => Object.entries(roomsOf(b)).filter(([, rooms]) => roomId in rooms).map(([name]) => name);

/** A room `owner` made with join rule `knock` (room version `version`). */
async function knockRoom(owner: Session, version = '12', rule = 'knock'): Promise<string> {
  const roomId = await createRoom(owner, { preset: 'private_chat', room_version: version, name: 'Knock here' });
  await ok('PUT', `${r(roomId)}/state/m.room.join_rules/`, owner.access_token, { join_rule: rule });
  return roomId;
}

describe('forget', { timeout: 20_000 }, () => {
  it('is refused while joined or invited, hides a left room from /sync until the user rejoins', async () => {
    const a = await registerUser();
    const b = await registerUser();
    const roomId = await createRoom(a, { preset: 'public_chat' });
    await ok('POST', `${r(roomId)}/join`, b.access_token, {});
    await fails('POST', `${r(roomId)}/forget`, b.access_token, 400, 'M_UNKNOWN');
    const before = await settle(b);

    await ok('POST', `${r(roomId)}/leave`, b.access_token, {});
    // Forgotten at once, possibly before the room told the user's object of the leave: the
    // late notification must not bring the room back.
    expect(await ok('POST', `${r(roomId)}/forget`, b.access_token, {})).toEqual({});
    await sendMessage(a, roomId, 'after the leave');
    await settle(b, before);
    const incremental = await sync(b, { since: before, filter: INCLUDE_LEAVE });
    expect(sectionsOf(incremental, roomId)).toEqual([]);
    expect(sectionsOf(await sync(b, { filter: INCLUDE_LEAVE }), roomId)).toEqual([]);
    // Forgetting again is harmless.
    await ok('POST', `${r(roomId)}/forget`, b.access_token, {});

    // A new membership un-forgets the room.
    await ok('POST', `${r(roomId)}/join`, b.access_token, {});
    await syncUntil(b, incremental.next_batch, (body) => roomId in body.rooms.join);
    expect(sectionsOf(await sync(b), roomId)).toEqual(['join']);
  });

  it('a left room not forgotten stays in the leave section; an invite after forgetting shows again', async () => {
    const a = await registerUser();
    const b = await registerUser();
    const kept = await createRoom(a, { preset: 'public_chat' });
    const forgotten = await createRoom(a, { preset: 'private_chat', invite: [b.user_id] });
    await fails('POST', `${r(forgotten)}/forget`, b.access_token, 400, 'M_UNKNOWN');
    await ok('POST', `${r(kept)}/join`, b.access_token, {});
    await ok('POST', `${r(forgotten)}/join`, b.access_token, {});
    await ok('POST', `${r(kept)}/leave`, b.access_token, {});
    await ok('POST', `${r(forgotten)}/leave`, b.access_token, {});
    await ok('POST', `${r(forgotten)}/forget`, b.access_token, {});
    const token = await settle(b);
    const initial = await sync(b, { filter: INCLUDE_LEAVE });
    expect(sectionsOf(initial, kept)).toEqual(['leave']);
    expect(sectionsOf(initial, forgotten)).toEqual([]);

    await ok('POST', `${r(forgotten)}/invite`, a.access_token, { user_id: b.user_id });
    await syncUntil(b, token, (body) => forgotten in body.rooms.invite);
    expect(sectionsOf(await sync(b), forgotten)).toEqual(['invite']);
  });

  it('a banned user may forget; a room never joined is 200; a malformed room ID is 400', async () => {
    const a = await registerUser();
    const b = await registerUser();
    const roomId = await createRoom(a, { preset: 'public_chat' });
    await ok('POST', `${r(roomId)}/join`, b.access_token, {});
    await ok('POST', `${r(roomId)}/ban`, a.access_token, { user_id: b.user_id });
    await ok('POST', `${r(roomId)}/forget`, b.access_token, {});
    await settle(b);
    expect(sectionsOf(await sync(b, { filter: INCLUDE_LEAVE }), roomId)).toEqual([]);

    const stranger = await registerUser();
    await ok('POST', `${r(roomId)}/forget`, stranger.access_token, {});
    await ok('POST', `${r('!nosuchroom:test.local')}/forget`, stranger.access_token, {});
    await fails('POST', '/v3/rooms/notaroom/forget', stranger.access_token, 400, 'M_INVALID_PARAM');
  });
});

describe('knock', { timeout: 20_000 }, () => {
  it('sends a knock member event with the reason; /sync shows knock_state; an invite moves the room on', async () => {
    const a = await registerUser();
    const b = await registerUser();
    const roomId = await knockRoom(a);
    const aToken = await settle(a);
    const bToken = await settle(b);

    expect(await ok('POST', `/v3/knock/${enc(roomId)}`, b.access_token, { reason: 'let me in' })).toEqual({ room_id: roomId });
    expect(await stateContent(a, roomId, 'm.room.member', b.user_id)).toMatchObject({ membership: 'knock', reason: 'let me in' });

    const knocked = (await syncUntil(b, bToken, (body) => roomId in roomsOf(body).knock)).at(-1)!;
    expect(sectionsOf(knocked, roomId)).toEqual(['knock']);
    const knockState = roomsOf(knocked).knock[roomId]!.knock_state.events;
    expect(knockState).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ type: 'm.room.member', state_key: b.user_id, sender: b.user_id, content: expect.objectContaining({ membership: 'knock', reason: 'let me in' }) }),
        expect.objectContaining({ type: 'm.room.join_rules', state_key: '', content: { join_rule: 'knock' } }),
        expect.objectContaining({ type: 'm.room.name', content: { name: 'Knock here' } }),
        expect.objectContaining({ type: 'm.room.create' }),
      ]),
    );
    // Stripped state carries no event IDs or timestamps.
    for (const e of knockState) expect(Object.keys(e).sort()).toEqual(['content', 'sender', 'state_key', 'type']);
    expect(roomsOf(await sync(b)).knock[roomId]).toBeDefined();

    // The room's members see the knock in their timeline.
    const seen = await syncUntil(a, aToken, (body) =>
      (body.rooms.join[roomId]?.timeline.events ?? []).some((e) => e.type === 'm.room.member' && e.state_key === b.user_id && e.content.membership === 'knock'),
    );
    expect(seen.length).toBeGreaterThan(0);

    // Accepting a knock is inviting the knocker; then they may join.
    await ok('POST', `${r(roomId)}/invite`, a.access_token, { user_id: b.user_id });
    const invited = (await syncUntil(b, knocked.next_batch, (body) => roomId in body.rooms.invite)).at(-1)!;
    expect(sectionsOf(invited, roomId)).toEqual(['invite']);
    expect(sectionsOf(await sync(b), roomId)).toEqual(['invite']);
    await ok('POST', `${r(roomId)}/join`, b.access_token, {});
    await syncUntil(b, invited.next_batch, (body) => roomId in body.rooms.join);
    expect(sectionsOf(await sync(b), roomId)).toEqual(['join']);
  });

  it('a rejected knock moves the room to leave, showing the rejection and none of the room timeline', async () => {
    const a = await registerUser();
    const b = await registerUser();
    const roomId = await knockRoom(a);
    const bToken = await settle(b);
    await ok('POST', `/v3/knock/${enc(roomId)}`, b.access_token, {});
    const knocked = (await syncUntil(b, bToken, (body) => roomId in roomsOf(body).knock)).at(-1)!;

    await sendMessage(a, roomId, 'members only');
    await ok('POST', `${r(roomId)}/kick`, a.access_token, { user_id: b.user_id, reason: 'no' });
    const left = (await syncUntil(b, knocked.next_batch, (body) => roomId in roomsOf(body).leave)).at(-1)!;
    expect(sectionsOf(left, roomId)).toEqual(['leave']);
    const timeline = roomsOf(left).leave[roomId]!.timeline.events;
    expect(timeline).toHaveLength(1);
    expect(timeline[0]).toMatchObject({ type: 'm.room.member', state_key: b.user_id, sender: a.user_id, content: { membership: 'leave', reason: 'no' } });

    // The same in an initial sync with include_leave.
    const initial = await sync(b, { filter: INCLUDE_LEAVE });
    expect(sectionsOf(initial, roomId)).toEqual(['leave']);
    expect(roomsOf(initial).leave[roomId]!.timeline.events.map((e) => e.content.body)).not.toContain('members only');
    expect(roomsOf(initial).leave[roomId]!.timeline.events).toHaveLength(1);

    // A knocker may withdraw a knock (a leave of their own), and knock again.
    await ok('POST', `/v3/knock/${enc(roomId)}`, b.access_token, {});
    await ok('POST', `${r(roomId)}/leave`, b.access_token, {});
    expect(await stateContent(a, roomId, 'm.room.member', b.user_id)).toEqual({ membership: 'leave' });
  });

  it('is refused where the auth rules refuse it', async () => {
    const a = await registerUser();
    const b = await registerUser();
    // Join rule not knock.
    const publicRoom = await createRoom(a, { preset: 'public_chat' });
    await fails('POST', `/v3/knock/${enc(publicRoom)}`, b.access_token, 403, 'M_FORBIDDEN', {});
    // Room version 6 has no knocking, whatever its join rule says.
    const v6 = await knockRoom(a, '6');
    await fails('POST', `/v3/knock/${enc(v6)}`, b.access_token, 403, 'M_FORBIDDEN', {});
    // Joined or banned users may not knock.
    const room = await knockRoom(a);
    await fails('POST', `/v3/knock/${enc(room)}`, a.access_token, 403, 'M_FORBIDDEN', {});
    await ok('POST', `${r(room)}/ban`, a.access_token, { user_id: b.user_id });
    await fails('POST', `/v3/knock/${enc(room)}`, b.access_token, 403, 'M_FORBIDDEN', {});
    // Unknown rooms and aliases, and malformed IDs.
    await fails('POST', `/v3/knock/${enc('!nosuchroom:test.local')}`, b.access_token, 404, 'M_NOT_FOUND', {});
    await fails('POST', `/v3/knock/${enc('#alias:test.local')}`, b.access_token, 404, 'M_NOT_FOUND', {});
    await fails('POST', `/v3/knock/notaroom`, b.access_token, 400, 'M_INVALID_PARAM', {});
  });

  it('knocks through a local room alias', async () => {
    const a = await registerUser();
    const b = await registerUser();
    const roomId = await knockRoom(a);
    const alias = `#${uniqueName('knock')}:test.local`;
    await ok('PUT', `/v3/directory/room/${enc(alias)}`, a.access_token, { room_id: roomId });
    expect(await ok('POST', `/v3/knock/${enc(alias)}`, b.access_token, {})).toEqual({ room_id: roomId });
    expect(await stateContent(a, roomId, 'm.room.member', b.user_id)).toMatchObject({ membership: 'knock' });
  });

  it('knock_restricted (room version 10+) allows knocking too', async () => {
    const a = await registerUser();
    const b = await registerUser();
    const roomId = await knockRoom(a, '10', 'knock_restricted');
    await ok('POST', `/v3/knock/${enc(roomId)}`, b.access_token, {});
    expect(await stateContent(a, roomId, 'm.room.member', b.user_id)).toMatchObject({ membership: 'knock' });
  });
});
