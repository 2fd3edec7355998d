/** The Room object never accepts an event the auth rules reject (Rooms issue, part 4). */
import { describe, expect, it } from 'vitest';
import { currentState, newRoom, user } from './builders';

describe.each(['10', '11', '12'])('room version %s', (version) => {
  it('a member at power level 0 cannot raise its own power level or rename the room', async () => {
    const { room, send } = await newRoom({ version });
    const bob = user('bob');
    await send({ type: 'm.room.member', sender: bob, state_key: bob, content: { membership: 'join' } });
    const before = await currentState(room);

    const raise = await room.performSend({
      type: 'm.room.power_levels', sender: bob, state_key: '', content: { users: { [bob]: 100 } },
    });
    expect(raise).toMatchObject({ ok: false, errcode: 'M_FORBIDDEN' });
    const rename = await room.performSend({ type: 'm.room.name', sender: bob, state_key: '', content: { name: 'mine now' } });
    expect(rename).toMatchObject({ ok: false, errcode: 'M_FORBIDDEN' });
    expect(await currentState(room)).toEqual(before);

    // Bob may still talk: events_default is 0.
    await send({ type: 'm.room.message', sender: bob, content: { msgtype: 'm.text', body: 'hi' } });
  });

  it('a banned user cannot rejoin, and an unjoined user cannot send', async () => {
    const { room, creator, send } = await newRoom({ version });
    const bob = user('bob');
    await send({ type: 'm.room.member', sender: bob, state_key: bob, content: { membership: 'join' } });
    await send({ type: 'm.room.member', sender: creator, state_key: bob, content: { membership: 'ban', reason: 'spam' } });
    const rejoin = await room.performSend({ type: 'm.room.member', sender: bob, state_key: bob, content: { membership: 'join' } });
    expect(rejoin).toMatchObject({ ok: false, errcode: 'M_FORBIDDEN' });
    expect((await currentState(room))[`m.room.member|${bob}`]).toBeDefined();
    const state = await room.getCurrentState();
    const banEvent = state.find(([t, k]) => t === 'm.room.member' && k === bob)![2];
    expect((await room.getEvent(banEvent))!.pdu.content).toMatchObject({ membership: 'ban' });

    const carol = user('carol');
    const talk = await room.performSend({ type: 'm.room.message', sender: carol, content: { msgtype: 'm.text', body: 'x' } });
    expect(talk).toMatchObject({ ok: false, errcode: 'M_FORBIDDEN' });
  });

  it('an invite-only room needs an invite, and the creator may invite', async () => {
    const { room, creator, send } = await newRoom({ version, joinRule: 'invite' });
    const dave = user('dave');
    expect(await room.performSend({ type: 'm.room.member', sender: dave, state_key: dave, content: { membership: 'join' } })).toMatchObject({ ok: false });
    await send({ type: 'm.room.member', sender: creator, state_key: dave, content: { membership: 'invite' } });
    await send({ type: 'm.room.member', sender: dave, state_key: dave, content: { membership: 'join' } });
  });
});

describe('room creation', () => {
  it('refuses a second create and unknown room versions', async () => {
    const { room, roomId, creator } = await newRoom();
    expect(await room.performCreate({ room_id: roomId, room_version: '12', creator })).toMatchObject({ ok: false, errcode: 'M_FORBIDDEN' });
    const info = await room.getRoomInfo();
    expect(info).toMatchObject({ room_id: roomId, room_version: '12' });
    // v12: the room ID is the create event's ID with "!" for "$".
    expect(`!${info!.create_event_id.slice(1)}`).toBe(roomId);
  });
});
