/**
 * Receiving a PDU across a gap the origin does not fill through get_missing_events (spec
 * v1.16, Server-Server API "Retrieving events"): the instance asks the origin for the state at
 * the missing prev event (`/state_ids`), fetches the events it lacks (`/event`), and receives
 * the PDU on that state (or `/state` for many). The stand-in server (federation-harness.ts)
 * withholds a state event of its user and serves its state, padded with a forged event that
 * fails the auth rules.
 * Events that get_missing_events returns get the checks of /send PDUs (strict canonical JSON).
 */
import { describe, expect, it } from 'vitest';
import type { JsonObject } from '../../core/canonical-json';
import { computeEventId } from '../../core/events/hashes';
import type { RoomVersionRules } from '../../core/room-versions';
import { responseValidator } from './openapi';
import { specClient, useFakeServer } from './spec-client';

const HS = 'hs1.test';
const FAKE = 'fake.test';
const F = '/_matrix/federation/v1';
const C = '/_matrix/client/v3';
const enc = encodeURIComponent;

/** What the stand-in serves: events by ID (`/event`), states by event ID (`/state_ids`). */
const served = new Map<string, JsonObject>();
const states = new Map<string, { pdu_ids: string[]; auth_chain_ids: string[] }>();
/** What get_missing_events answers. */
let missingEvents: JsonObject[] = [];

const { fake, hs } = useFakeServer(HS, FAKE, (server) => {
  server.handle('PUT', /^\/_matrix\/federation\/v1\/send\//, () => ({ body: { pdus: {} } }));
  server.handle('POST', /^\/_matrix\/federation\/v1\/get_missing_events\//, () => ({ body: { events: missingEvents } }));
  const notFound = { status: 404, body: { errcode: 'M_NOT_FOUND', error: 'Not here' } };
  server.handle('GET', /^\/_matrix\/federation\/v1\/event\/([^/]+)$/, (_req, m) => {
    const pdu = served.get(decodeURIComponent(m[1]!));
    return pdu ? { body: { origin: FAKE, origin_server_ts: Date.now(), pdus: [pdu] } } : notFound;
  });
  const stateAt = (uri: string) => states.get(new URL(uri, 'http://x').searchParams.get('event_id') ?? '');
  server.handle('GET', /^\/_matrix\/federation\/v1\/state_ids\//, (req) => {
    const state = stateAt(req.uri);
    return state ? { body: state } : notFound;
  });
  server.handle('GET', /^\/_matrix\/federation\/v1\/state\//, (req) => {
    const state = stateAt(req.uri);
    const pdus = (ids: string[]) => ids.flatMap((id) => (served.has(id) ? [served.get(id)!] : []));
    return state ? { body: { pdus: pdus(state.pdu_ids), auth_chain: pdus(state.auth_chain_ids) } } : notFound;
  });
});
const { request, register } = specClient(hs);

let alice: { user_id: string; access_token: string };
const bob = `@bob:${FAKE}`;
let room: {
  roomId: string;
  rules: RoomVersionRules;
  /** The state before bob's join, as send_join gave it, and its auth chain. */
  stateIds: string[];
  authChainIds: string[];
  idOf: (type: string) => string;
  join: { id: string; depth: number };
  /** Bob's latest event (his next ones build on it) and his member event in the current state. */
  latest: { id: string; depth: number };
  member: string;
};

/** An event of bob on `prev`, signed by the stand-in; `auth` are the auth events besides the create event. */
async function bobEvent(type: string, content: JsonObject, prev: { id: string; depth: number }, auth: string[], stateKey?: string) {
  const { rules } = room;
  const pdu = await fake().signEvent({
    type, room_id: room.roomId, sender: bob, content, origin_server_ts: Date.now(), depth: prev.depth + 1, prev_events: [prev.id],
    auth_events: [...auth, ...(rules.create_in_auth_events ? [room.idOf('m.room.create')] : [])],
    ...(stateKey !== undefined ? { state_key: stateKey } : {}),
  }, rules);
  return { pdu, id: computeEventId(pdu, rules), depth: prev.depth + 1 };
}

async function sendPdus(pdus: JsonObject[]) {
  const res = await fake().send(hs().base, HS, 'PUT', `${F}/send/t${Date.now()}${Math.random()}`, { origin: FAKE, origin_server_ts: Date.now(), pdus });
  expect(res.status).toBe(200);
  return res.body as { pdus: Record<string, { error?: string }> };
}

async function timelineIds(): Promise<string[]> {
  const page = await request('GET', `${C}/rooms/{roomId}/messages`, { path: `${C}/rooms/${enc(room.roomId)}/messages?dir=b&limit=50`, token: alice.access_token, expect: 200 });
  return page.chunk.map((e: { event_id: string }) => e.event_id);
}

async function stateContent(type: string, stateKey: string) {
  return request('GET', `${C}/rooms/{roomId}/state/{eventType}/{stateKey}`, { path: `${C}/rooms/${enc(room.roomId)}/state/${type}/${enc(stateKey)}`, token: alice.access_token, expect: 200 });
}

describe('the /state_ids fallback', { timeout: 60_000 }, () => {
  it('bob of the stand-in joins a local room', async () => {
    alice = await register('alice');
    const { room_id: roomId } = await request('POST', `${C}/createRoom`, { token: alice.access_token, body: { preset: 'public_chat', name: 'Original' }, expect: 200 });
    const { rules, join, joinId, response } = await fake().joinRoom(hs().base, HS, roomId, bob);
    const state = response.state;
    const stateIds = state.map((e) => computeEventId(e, rules));
    room = {
      roomId, rules, stateIds,
      authChainIds: response.auth_chain.map((e) => computeEventId(e, rules)),
      idOf: (type) => stateIds[state.findIndex((e) => e.type === type && e.state_key === '')]!,
      join: { id: joinId, depth: join.depth as number },
      latest: { id: joinId, depth: join.depth as number },
      member: joinId,
    };
  });

  it('receives a PDU on the state /state_ids gives for a withheld prev event; a forged state event stays out', async () => {
    const pl = room.idOf('m.room.power_levels');
    // Withheld: bob's new display name, a state event. The PDU builds on it.
    const rename = await bobEvent('m.room.member', { membership: 'join', displayname: 'Bobby' }, room.join, [pl, room.join.id, room.idOf('m.room.join_rules')], bob);
    const tip = await bobEvent('m.room.message', { msgtype: 'm.text', body: 'after the gap' }, rename, [pl, rename.id]);
    // Forged: bob (power 0) renaming the room, which needs 50; the stand-in lists it first.
    const forged = await bobEvent('m.room.name', { name: 'Hijacked' }, room.join, [pl, room.join.id], '');
    missingEvents = [];
    served.set(rename.id, rename.pdu);
    served.set(forged.id, forged.pdu);
    states.set(rename.id, { pdu_ids: [forged.id, ...room.stateIds, room.join.id], auth_chain_ids: room.authChainIds });

    expect(await sendPdus([tip.pdu])).toEqual({ pdus: { [tip.id]: {} } });
    const asked = (path: string) => fake().requests.find((r) => r.method === 'GET' && r.uri.startsWith(path));
    expect(asked(`${F}/state_ids/${enc(room.roomId)}?event_id=${enc(rename.id)}`)?.verified).toBe(true);
    expect(asked(`${F}/event/${enc(rename.id)}`)).toBeDefined();
    // Only the events the room lacked were fetched.
    expect(asked(`${F}/event/${enc(room.join.id)}`)).toBeUndefined();

    // The PDU is in the timeline; the withheld event, known only as state, is not.
    const ids = await timelineIds();
    expect(ids).toContain(tip.id);
    expect(ids).not.toContain(rename.id);
    // The state before the PDU is the state served: with the rename, without the forgery.
    const before = await fake().send(hs().base, HS, 'GET', `${F}/state_ids/${enc(room.roomId)}?event_id=${enc(tip.id)}`);
    expect(before.status).toBe(200);
    responseValidator('server-server', 'get', `${F}/state_ids/{roomId}`, 200)(before.body);
    expect(before.body.pdu_ids).toContain(rename.id);
    expect(before.body.pdu_ids).toContain(room.idOf('m.room.name'));
    expect(before.body.pdu_ids).not.toContain(forged.id);
    expect(before.body.pdu_ids).not.toContain(room.join.id);
    // The current state is resolved over it: the new display name, the old room name.
    expect(await stateContent('m.room.member', bob)).toMatchObject({ membership: 'join', displayname: 'Bobby' });
    expect(await stateContent('m.room.name', '')).toEqual({ name: 'Original' });
    room.latest = tip;
    room.member = rename.id;
  });

  it('takes many missing state events from /state at once', async () => {
    // 55 users of the stand-in joined one after the other, all withheld; bob writes after them.
    const joins: { pdu: JsonObject; id: string; depth: number }[] = [];
    let prev = room.latest;
    for (let i = 0; i < 55; i++) {
      const who = `@crowd${i}:${FAKE}`;
      const auth = [room.idOf('m.room.power_levels'), room.idOf('m.room.join_rules'), ...(room.rules.create_in_auth_events ? [room.idOf('m.room.create')] : [])];
      const pdu = await fake().signEvent({
        type: 'm.room.member', room_id: room.roomId, sender: who, state_key: who, content: { membership: 'join' }, origin_server_ts: Date.now(),
        depth: prev.depth + 1, prev_events: [prev.id], auth_events: auth,
      }, room.rules);
      prev = { id: computeEventId(pdu, room.rules), depth: prev.depth + 1 };
      joins.push({ pdu, ...prev });
      served.set(prev.id, pdu);
    }
    const last = joins.at(-1)!;
    const tip = await bobEvent('m.room.message', { msgtype: 'm.text', body: 'after the crowd' }, last, [room.idOf('m.room.power_levels'), room.member]);
    const before = await fake().send(hs().base, HS, 'GET', `${F}/state_ids/${enc(room.roomId)}?event_id=${enc(room.latest.id)}`);
    expect(before.status).toBe(200);
    states.set(last.id, { pdu_ids: [...(before.body.pdu_ids as string[]), room.latest.id, ...joins.slice(0, -1).map((j) => j.id)], auth_chain_ids: [] });
    missingEvents = [];
    const eventRequests = () => fake().requests.filter((r) => r.uri.startsWith(`${F}/event/`)).length;
    const eventRequestsBefore = eventRequests();

    expect(await sendPdus([tip.pdu])).toEqual({ pdus: { [tip.id]: {} } });
    expect(fake().requests.some((r) => r.uri === `${F}/state/${enc(room.roomId)}?event_id=${enc(last.id)}`)).toBe(true);
    // Only the prev event itself, which the state before it does not hold, came from /event.
    expect(eventRequests() - eventRequestsBefore).toBe(1);
    const members = await request('GET', `${C}/rooms/{roomId}/joined_members`, { path: `${C}/rooms/${enc(room.roomId)}/joined_members`, token: alice.access_token, expect: 200 });
    expect(Object.keys(members.joined)).toEqual(expect.arrayContaining([alice.user_id, bob, `@crowd0:${FAKE}`, `@crowd54:${FAKE}`]));
    expect(Object.keys(members.joined)).toHaveLength(57);
    room.latest = tip;
  });

  it('a withheld prev event whose state the origin does not serve leaves the PDU unprocessed', async () => {
    const auth = [room.idOf('m.room.power_levels'), room.member];
    const lost = await bobEvent('m.room.message', { msgtype: 'm.text', body: 'lost' }, room.latest, auth);
    const orphan = await bobEvent('m.room.message', { msgtype: 'm.text', body: 'orphan' }, lost, auth);
    served.set(lost.id, lost.pdu);
    const res = await sendPdus([orphan.pdu]);
    expect(res.pdus[orphan.id]?.error).toMatch(/missing/i);
    expect(await timelineIds()).not.toContain(orphan.id);
  });

  it('events from get_missing_events get the strict canonical JSON check of /send PDUs', async () => {
    const auth = [room.idOf('m.room.power_levels'), room.member];
    // A float in `unsigned`: neither hashed nor signed, but not canonical JSON.
    const gap = await bobEvent('m.room.message', { msgtype: 'm.text', body: 'gap' }, room.latest, auth);
    const after = await bobEvent('m.room.message', { msgtype: 'm.text', body: 'after a float' }, gap, auth);
    missingEvents = [{ ...gap.pdu, unsigned: { age: 1.5 } }];
    expect((await sendPdus([after.pdu])).pdus[after.id]?.error).toMatch(/missing/i);
    expect(await timelineIds()).not.toContain(gap.id);

    // The same event without it fills the gap.
    missingEvents = [gap.pdu];
    expect(await sendPdus([after.pdu])).toEqual({ pdus: { [after.id]: {} } });
    expect(await timelineIds()).toEqual(expect.arrayContaining([gap.id, after.id]));
  });
});
