/**
 * Received PDUs go through the receipt checks (spec: Server-Server API, "Checks performed on
 * receipt of a PDU"): content hash (redact), auth events and state before (reject), current
 * state (soft-fail); duplicates, unknown prev events and foreign rooms are told apart.
 */
import { describe, expect, it } from 'vitest';
import type { JsonObject } from '../../core/canonical-json';
import type { RoomVersionRules } from '../../core/room-versions';
import { buildPdu, type EventTemplate } from '../../durable-objects/room/builder';
import type { RoomApi } from '../../durable-objects/room/api';
import { newRoom, user } from './builders';

const mallory = '@mallory:remote.test';

/** A PDU from remote.test, placed by the test (the Room object does not check signatures). */
async function remotePdu(room: RoomApi, rules: RoomVersionRules, template: EventTemplate, prev: string[], auth: string[], roomId: string) {
  const depths = await Promise.all(prev.map(async (id) => ((await room.getEvent(id))?.pdu.depth as number) ?? 0));
  const built = buildPdu(rules, template, { room_id: roomId, prev_events: prev, auth_events: auth, depth: Math.max(0, ...depths) + 1, origin_server_ts: Date.now() });
  return { ...built, pdu: { ...built.pdu, signatures: { 'remote.test': { 'ed25519:x': 'unchecked-here' } } } as JsonObject };
}

async function stateId(room: RoomApi, type: string, key: string) {
  return (await room.getCurrentState()).find(([t, k]) => t === type && k === key)?.[2];
}

describe('received PDUs', () => {
  it('accepts a valid join, redacts on a bad content hash, rejects an unauthorised event', async () => {
    const { room, roomId, rules } = await newRoom();
    const info = (await room.getRoomInfo())!;
    const pl = (await stateId(room, 'm.room.power_levels', ''))!;
    const jr = (await stateId(room, 'm.room.join_rules', ''))!;

    const join = await remotePdu(room, rules, { type: 'm.room.member', sender: mallory, state_key: mallory, content: { membership: 'join' } }, info.forward_extremities, [pl, jr], roomId);
    expect(await room.ingestPdu(join.pdu)).toEqual({ event_id: join.event_id, status: 'accepted' });
    expect(await stateId(room, 'm.room.member', mallory)).toBe(join.event_id);
    expect(await room.ingestPdu(join.pdu)).toEqual({ event_id: join.event_id, status: 'duplicate' });

    // Content changed after hashing: the event is kept, redacted.
    const msg = await remotePdu(room, rules, { type: 'm.room.message', sender: mallory, content: { body: 'original' } }, [join.event_id], [pl, join.event_id], roomId);
    const tampered = { ...msg.pdu, content: { body: 'tampered' } };
    const tamperedResult = await room.ingestPdu(tampered);
    expect(tamperedResult.status).toBe('accepted');
    const stored = (await room.getEvent(tamperedResult.event_id!))!;
    expect(stored.pdu.content).toEqual({});

    // A stranger who never joined cannot send.
    const stranger = '@eve:remote.test';
    const eve = await remotePdu(room, rules, { type: 'm.room.message', sender: stranger, content: { body: 'hi' } }, [tamperedResult.event_id!], [pl], roomId);
    const rejected = await room.ingestPdu(eve.pdu);
    expect(rejected).toMatchObject({ event_id: eve.event_id, status: 'rejected' });
    expect((await room.getRoomInfo())!.forward_extremities).toEqual([tamperedResult.event_id]);
  });

  it('soft-fails an event that its own history allowed but the current state forbids', async () => {
    const { room, roomId, rules, creator, send } = await newRoom();
    const info = (await room.getRoomInfo())!;
    const pl = (await stateId(room, 'm.room.power_levels', ''))!;
    const jr = (await stateId(room, 'm.room.join_rules', ''))!;
    const join = await remotePdu(room, rules, { type: 'm.room.member', sender: mallory, state_key: mallory, content: { membership: 'join' } }, info.forward_extremities, [pl, jr], roomId);
    expect((await room.ingestPdu(join.pdu)).status).toBe('accepted');
    await send({ type: 'm.room.member', sender: creator, state_key: mallory, content: { membership: 'ban' } });
    const afterBan = (await room.getRoomInfo())!.forward_extremities;

    // Mallory's server claims she spoke before the ban (prev event: her join).
    const late = await remotePdu(room, rules, { type: 'm.room.message', sender: mallory, content: { body: 'you cannot stop me' } }, [join.event_id], [pl, join.event_id], roomId);
    const result = await room.ingestPdu(late.pdu);
    expect(result).toMatchObject({ event_id: late.event_id, status: 'soft_failed' });
    // Stored, but never an extremity and never in the current state.
    expect((await room.getEvent(late.event_id))!.status).toBe('soft_failed');
    expect((await room.getRoomInfo())!.forward_extremities).toEqual(afterBan);
    expect((await room.getEvent((await stateId(room, 'm.room.member', mallory))!))!.pdu.content).toMatchObject({ membership: 'ban' });
    // New local events do not build on it.
    const next = await send({ type: 'm.room.message', sender: creator, content: { body: 'still here' } });
    expect((await room.getEvent(next.event_id))!.pdu.prev_events).toEqual(afterBan);
  });

  it('reports unknown prev events and drops PDUs for another room or malformed ones', async () => {
    const { room, roomId, rules } = await newRoom();
    const pl = (await stateId(room, 'm.room.power_levels', ''))!;
    const unknownPrev = '$' + 'A'.repeat(43);
    const orphan = await remotePdu(room, rules, { type: 'm.room.message', sender: user('alice'), content: { body: 'x' } }, [unknownPrev], [pl], roomId);
    expect(await room.ingestPdu(orphan.pdu)).toMatchObject({ status: 'missing', missing: [unknownPrev] });
    expect(await room.getEvent(orphan.event_id)).toBeUndefined();

    const elsewhere = await remotePdu(room, rules, { type: 'm.room.message', sender: user('alice'), content: {} }, [], [pl], '!other:remote.test');
    expect(await room.ingestPdu(elsewhere.pdu)).toMatchObject({ status: 'dropped' });
    expect(await room.ingestPdu({ type: 'm.room.message' })).toMatchObject({ status: 'dropped' });
  });
});
