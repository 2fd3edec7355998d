/**
 * Joining a room over federation (spec v1.16, Server-Server API "Joining Rooms"), both sides as
 * Room objects: one object is the resident server's copy of the room (make_join, send_join),
 * another, in the same namespace under another name, the joining server's (it starts from the
 * send_join response). The Room object keys on the room ID in its storage, not on its name.
 */
import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import type { JsonObject } from '../../core/canonical-json';
import { webCryptoEd25519 } from '../../core/crypto/ed25519-webcrypto';
import { signEvent } from '../../core/crypto/signing';
import { getRoomVersionRules, type RoomVersionRules } from '../../core/room-versions';
import type { JoinFromResponseInput, RoomApi, SendInput } from '../../durable-objects/room/api';
import { buildPdu, newRoomId } from '../../durable-objects/room/builder';
import { registerUser } from '../client/helpers';
import { messages } from '../client/room-helpers';
import { syncUntil } from '../client/sync-helpers';

/** The workerd config's server name: the joining side (its users are local to the joiner object). */
const JOINER = 'test.local';
const alice = '@alice:resident.test';
const SEED = new Uint8Array(32).fill(7);

let counter = 0;

/** The resident's room: created by alice of resident.test, with power levels and a join rule. */
async function residentRoom(opts: { joinRule?: 'public' | 'invite'; objectSuffix?: string } = {}) {
  const version = '12';
  const rules = getRoomVersionRules(version)!;
  const ts = Date.now();
  const roomId = newRoomId(rules, alice, {}, ts, 'resident.test', `fj${++counter}x${Math.random().toString(36).slice(2, 10)}`);
  const room = env.ROOM.getByName(roomId + (opts.objectSuffix ?? '')) as unknown as RoomApi;
  expect(await room.performCreate({ room_id: roomId, room_version: version, creator: alice, origin_server_ts: ts })).toMatchObject({ ok: true });
  const send = async (input: SendInput) => {
    const r = await room.performSend(input);
    expect(r, JSON.stringify(r)).toMatchObject({ ok: true });
    return r as { ok: true; event_id: string };
  };
  await send({ type: 'm.room.member', sender: alice, state_key: alice, content: { membership: 'join' } });
  await send({ type: 'm.room.power_levels', sender: alice, state_key: '', content: { users: {} } });
  await send({ type: 'm.room.join_rules', sender: alice, state_key: '', content: { join_rule: opts.joinRule ?? 'public' } });
  return { room, roomId, rules, send };
}

/** The joining server's copy of the room (the same room ID, another object). */
const joinerObject = (name: string) => env.ROOM.getByName(name) as unknown as RoomApi;

/** What the joining server does with a make_join template: drop the resident's `origin`, hash and sign it. */
async function signTemplate(template: JsonObject, rules: RoomVersionRules): Promise<JsonObject> {
  const { origin: _origin, ...event } = template;
  return signEvent(event, rules, JOINER, 'ed25519:joiner', SEED, webCryptoEd25519);
}

const stateRecord = async (room: RoomApi) => Object.fromEntries((await room.getCurrentState()).map(([t, k, id]): [string, string] => [`${t}|${k}`, id]));

describe('joining over federation', () => {
  it('make_join → send_join → the joining server starts the room from the response', async () => {
    const { room: resident, roomId, rules, send } = await residentRoom();
    const bob = `@bob${++counter}:${JOINER}`;
    const residentTips = (await resident.getRoomInfo())!.forward_extremities;

    const made = await resident.getMakeJoinTemplate({ user_id: bob, origin: JOINER, supported_versions: ['10', '12'] });
    if (!made.ok) throw new Error(JSON.stringify(made));
    expect(made.room_version).toBe('12');
    expect(made.event).toMatchObject({ type: 'm.room.member', sender: bob, state_key: bob, room_id: roomId, content: { membership: 'join' }, origin: 'test.local' });
    expect(made.event.prev_events).toEqual(residentTips);
    expect(made.event).not.toHaveProperty('hashes');
    expect(made.event).not.toHaveProperty('signatures');

    const signed = await signTemplate(made.event, rules);
    const sent = await resident.performSendJoin(signed, JOINER);
    if (!sent.ok) throw new Error(JSON.stringify(sent));
    const joinId = (await resident.getRoomInfo())!.forward_extremities[0]!;
    expect((await resident.getEvent(joinId))!.pdu.sender).toBe(bob);
    // The state BEFORE the join: alice's room without bob.
    const stateTypes = sent.state.map((e) => `${e.type}|${e.state_key}`).sort();
    expect(stateTypes).toEqual(['m.room.create|', `m.room.join_rules|`, `m.room.member|${alice}`, 'm.room.power_levels|'].sort());
    // v12 never lists the create event in auth events (the room ID designates it); it is in the state.
    expect(sent.auth_chain.map((e) => `${e.type}|${e.state_key}`)).toContain(`m.room.member|${alice}`);
    expect(sent.event).toMatchObject({ sender: bob, content: { membership: 'join' } });

    const joiner = joinerObject(roomId + '#joiner');
    const started = await joiner.performJoinFromResponse({ room_id: roomId, room_version: '12', join_event: sent.event, state: sent.state, auth_chain: sent.auth_chain });
    expect(started).toMatchObject({ ok: true, event_id: joinId });

    // Both sides agree on the state; the join is the single forward extremity on both.
    expect(await stateRecord(joiner)).toEqual(await stateRecord(resident));
    expect((await joiner.getRoomInfo())!).toMatchObject({ room_id: roomId, room_version: '12', forward_extremities: [joinId] });
    expect((await resident.getRoomInfo())!.forward_extremities).toEqual([joinId]);
    // The state and auth chain are outliers: stored, never in the timeline.
    const createId = (await joiner.getRoomInfo())!.create_event_id;
    expect((await joiner.getEvent(createId))!.status).toBe('outlier');
    const timeline = await joiner.getTimeline({ dir: 'b', limit: 50 });
    expect(timeline.events.map((e) => e.event_id)).toEqual([joinId]);
    expect((await joiner.getStateBefore(joinId))!.map(([t]) => t).sort()).toEqual(stateTypes.map((k) => k.split('|')[0]).sort());

    // Sending the same response again changes nothing.
    expect(await joiner.performJoinFromResponse({ room_id: roomId, room_version: '12', join_event: sent.event, state: sent.state, auth_chain: sent.auth_chain })).toMatchObject({ ok: true, event_id: joinId });

    // Later PDUs of the room build on the join and are ingested normally.
    const hello = await send({ type: 'm.room.message', sender: alice, content: { msgtype: 'm.text', body: 'welcome' } });
    const pdu = (await resident.getEvent(hello.event_id))!.pdu;
    expect(pdu.prev_events).toEqual([joinId]);
    expect(await joiner.ingestPdu(pdu)).toEqual({ event_id: hello.event_id, status: 'accepted' });
    expect((await joiner.getRoomInfo())!.forward_extremities).toEqual([hello.event_id]);
    expect((await joiner.getTimeline({ dir: 'b', limit: 50 })).events.map((e) => e.event_id)).toEqual([hello.event_id, joinId]);
  });

  it('refuses a join the room does not allow, an unsupported version, and a join from the wrong server', async () => {
    const { room: resident, roomId, rules } = await residentRoom({ joinRule: 'invite' });
    const bob = `@bob${++counter}:${JOINER}`;
    expect(await resident.getMakeJoinTemplate({ user_id: bob, origin: JOINER, supported_versions: ['12'] })).toMatchObject({ ok: false, errcode: 'M_FORBIDDEN' });
    expect(await resident.getMakeJoinTemplate({ user_id: bob, origin: JOINER })).toMatchObject({ ok: false, errcode: 'M_INCOMPATIBLE_ROOM_VERSION', room_version: '12' });
    expect(await resident.getMakeJoinTemplate({ user_id: bob, origin: 'other.test', supported_versions: ['12'] })).toMatchObject({ ok: false, errcode: 'M_FORBIDDEN' });

    // A join built by hand for the invite-only room: send_join refuses it, and so does the joining side.
    const info = (await resident.getRoomInfo())!;
    const state = await resident.getCurrentStateEvents();
    const idOf = (type: string) => state.find((e) => e.pdu.type === type)!.event_id;
    const built = buildPdu(rules, { type: 'm.room.member', sender: bob, state_key: bob, content: { membership: 'join' } }, {
      room_id: roomId, prev_events: info.forward_extremities, auth_events: [idOf('m.room.power_levels'), idOf('m.room.join_rules')], depth: 5, origin_server_ts: Date.now(),
    });
    const join = await signEvent(built.pdu, rules, JOINER, 'ed25519:joiner', SEED, webCryptoEd25519);
    expect(await resident.performSendJoin(join, 'other.test')).toMatchObject({ ok: false, errcode: 'M_BAD_JSON' });
    expect(await resident.performSendJoin(join, JOINER)).toMatchObject({ ok: false, errcode: 'M_FORBIDDEN' });
    expect((await resident.getRoomInfo())!.forward_extremities).toEqual(info.forward_extremities);

    const joiner = joinerObject(roomId + '#joiner');
    const pdus = state.map((e) => e.pdu);
    expect(await joiner.performJoinFromResponse({ room_id: roomId, room_version: '12', join_event: join, state: pdus, auth_chain: pdus })).toMatchObject({ ok: false, errcode: 'M_FORBIDDEN' });
    // Nothing was stored.
    expect(await joiner.getRoomInfo()).toBeUndefined();
    expect(await joiner.getEvent(info.create_event_id)).toBeUndefined();

    // A response for another room (the create event does not designate the room ID) is refused too.
    const other = await residentRoom();
    const otherState = (await other.room.getCurrentStateEvents()).map((e) => e.pdu);
    const input: JoinFromResponseInput = { room_id: roomId, room_version: '12', join_event: join, state: otherState, auth_chain: otherState };
    expect(await joiner.performJoinFromResponse(input)).toMatchObject({ ok: false, errcode: 'M_BAD_JSON' });
  });

  it('stores a state event of the response that fails auth as rejected and leaves it out of the state', async () => {
    const { room: resident, roomId, rules } = await residentRoom();
    const bob = `@bob${++counter}:${JOINER}`;
    const made = await resident.getMakeJoinTemplate({ user_id: bob, origin: JOINER, supported_versions: ['12'] });
    if (!made.ok) throw new Error(JSON.stringify(made));
    const sent = await resident.performSendJoin(await signTemplate(made.event, rules), JOINER);
    if (!sent.ok) throw new Error(JSON.stringify(sent));

    // mallory never joined, yet a (lying) resident slips her room name into the state.
    const pl = sent.state.find((e) => e.type === 'm.room.power_levels')!;
    const plId = (await resident.getCurrentState()).find(([t]) => t === 'm.room.power_levels')![2];
    const forged = buildPdu(rules, { type: 'm.room.name', sender: '@mallory:evil.test', state_key: '', content: { name: 'pwned' } }, {
      room_id: roomId, prev_events: pl.prev_events as string[], auth_events: [plId], depth: 4, origin_server_ts: Date.now(),
    });
    const forgedPdu = await signEvent(forged.pdu, rules, 'evil.test', 'ed25519:evil', SEED, webCryptoEd25519);
    const joiner = joinerObject(roomId + '#joiner');
    const started = await joiner.performJoinFromResponse({ room_id: roomId, room_version: '12', join_event: sent.event, state: [forgedPdu, ...sent.state], auth_chain: sent.auth_chain });
    expect(started).toMatchObject({ ok: true });
    const stored = (await joiner.getEvent(forged.event_id))!;
    expect(stored.status).toBe('rejected');
    expect(await joiner.getStateEvent('m.room.name', '')).toBeUndefined();
    expect(await stateRecord(joiner)).toEqual(await stateRecord(resident));
  });

  it('the joining user sees the join in /sync (with the state) and /messages, never the outliers', async () => {
    const bobSession = await registerUser();
    const bob = bobSession.user_id;
    // The resident object under another name: the joiner's object is the one named by the room ID,
    // which the user's /sync reads.
    const { room: resident, roomId, rules } = await residentRoom({ objectSuffix: '#resident' });
    const made = await resident.getMakeJoinTemplate({ user_id: bob, origin: JOINER, supported_versions: ['12'] });
    if (!made.ok) throw new Error(JSON.stringify(made));
    const join = await signTemplate(made.event, rules);
    // The response built from the resident's state (not via send_join, so the resident's object
    // does not tell bob's user object about a join of its own).
    const state = (await resident.getCurrentStateEvents()).map((e) => e.pdu);
    const joiner = joinerObject(roomId);
    const started = await joiner.performJoinFromResponse({ room_id: roomId, room_version: '12', join_event: join, state, auth_chain: state });
    if (!started.ok) throw new Error(JSON.stringify(started));

    const bodies = await syncUntil(bobSession, undefined, (b) => roomId in b.rooms.join);
    const joined = bodies.at(-1)!.rooms.join[roomId]!;
    expect(joined.timeline.events.map((e) => e.event_id)).toEqual([started.event_id]);
    expect(joined.state.events.map((e) => `${e.type}|${e.state_key}`).sort()).toEqual(['m.room.create|', 'm.room.join_rules|', `m.room.member|${alice}`, 'm.room.power_levels|'].sort());

    const page = await messages(bobSession, roomId, { dir: 'b', limit: 50 });
    expect(page.chunk.map((e) => e.event_id)).toEqual([started.event_id]);
  });
});
