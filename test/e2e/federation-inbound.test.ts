/**
 * The inbound side of federation against a real instance, with a stand-in remote server
 * (federation-harness.ts) whose user joins a local room through make_join/send_join and then
 * sends transactions: valid PDUs are accepted and shown to local users; forged signatures,
 * wrong content hashes, events failing auth, non-canonical JSON, ACL-denied origins, unknown
 * rooms and misaddressed requests are dropped / redacted / rejected / refused; a retried
 * transaction gets the same answer; missing prev events are fetched from the origin; typing and
 * receipt EDUs reach local users' /sync; and the DAG read endpoints answer per the spec.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeBase64 } from '../../core/base64';
import type { JsonObject } from '../../core/canonical-json';
import { createNobleEd25519 } from '../../core/crypto/ed25519-noble';
import { signingInput } from '../../core/crypto/signing';
import { computeEventId } from '../../core/events/hashes';
import { formatXMatrix, requestSigningObject } from '../../core/federation/x-matrix';
import { ALL_ROOM_VERSIONS, getRoomVersionRules, type RoomVersionRules } from '../../core/room-versions';
import { eventually, startFakeServer, type FakeServer } from './federation-harness';
import { startInstance, type Instance } from './instance';
import { responseValidator } from './openapi';
import { specClient } from './spec-client';

const HS = 'hs1.test';
const F = '/_matrix/federation/v1';
const C = '/_matrix/client/v3';
const enc = encodeURIComponent;

let fake: FakeServer;
let other: FakeServer;
let hs: Instance;
const { request, register } = specClient(() => hs);

beforeAll(async () => {
  fake = await startFakeServer({ serverName: 'fake.test' });
  other = await startFakeServer({ serverName: 'other.test' });
  hs = await startInstance({ SERVER_NAME: HS, FEDERATION_HOSTS: JSON.stringify({ [fake.serverName]: fake.url, [other.serverName]: other.url }) });
  fake.trust(HS, hs.base);
  // Transactions and queries this server sends to the fake: acknowledged, and recorded in `requests`.
  fake.handle('PUT', /^\/_matrix\/federation\/v1\/send\//, () => ({ body: { pdus: {} } }));
}, 120_000);

afterAll(async () => {
  await hs?.stop();
  await fake?.stop();
  await other?.stop();
});

/** What the fake knows of the room it joined, to build its own events. */
interface RoomView {
  roomId: string;
  rules: RoomVersionRules;
  createId: string;
  powerLevelsId: string;
  bob: string;
  bobMemberId: string;
  /** The fake's newest event and its depth: its next events build on it. */
  latest: { id: string; depth: number };
}

let room: RoomView;
let alice: { user_id: string; access_token: string };
let txnCounter = 0;

async function sendTxn(pdus: JsonObject[], edus: JsonObject[] = [], txnId = `t${++txnCounter}`, from: FakeServer = fake) {
  return from.send(hs.base, HS, 'PUT', `${F}/send/${txnId}`, { origin: from.serverName, origin_server_ts: Date.now(), pdus, edus });
}

/** A PDU by bob on top of `prev` (default: the fake's latest), signed by the fake. */
async function bobEvent(type: string, content: JsonObject, opts: { stateKey?: string; prev?: { id: string; depth: number }; sender?: string } = {}) {
  const prev = opts.prev ?? room.latest;
  const auth = [room.powerLevelsId, room.bobMemberId, ...(room.rules.create_in_auth_events ? [room.createId] : [])];
  const pdu: JsonObject = {
    type, room_id: room.roomId, sender: opts.sender ?? room.bob, content, origin_server_ts: Date.now(),
    depth: prev.depth + 1, prev_events: [prev.id], auth_events: auth,
    ...(opts.stateKey !== undefined ? { state_key: opts.stateKey } : {}),
  };
  const signed = await fake.signEvent(pdu, room.rules);
  return { pdu: signed, id: computeEventId(signed, room.rules), depth: prev.depth + 1 };
}

async function messages(): Promise<{ event_id: string; type: string; content: JsonObject; sender: string }[]> {
  const page = await request('GET', `${C}/rooms/{roomId}/messages`, { path: `${C}/rooms/${enc(room.roomId)}/messages?dir=b&limit=50`, token: alice.access_token, expect: 200 });
  return page.chunk;
}

async function sync(since?: string) {
  return request('GET', `${C}/sync`, { path: `${C}/sync?timeout=0${since ? `&since=${enc(since)}` : ''}`, token: alice.access_token, expect: 200 });
}

describe('inbound federation', { timeout: 60_000 }, () => {
  it('a remote user joins a local public room through make_join and send_join', async () => {
    alice = await register('alice');
    const created = await request('POST', `${C}/createRoom`, { token: alice.access_token, body: { preset: 'public_chat', name: 'Federated' }, expect: 200 });
    const bob = '@bob:fake.test';
    const ver = ALL_ROOM_VERSIONS.map((v) => `ver=${enc(v)}`).join('&');
    const made = await fake.send(hs.base, HS, 'GET', `${F}/make_join/${enc(created.room_id)}/${enc(bob)}?${ver}`);
    expect(made.status, JSON.stringify(made.body)).toBe(200);
    const rules = getRoomVersionRules(made.body.room_version)!;
    const join = await fake.signEvent({ ...made.body.event, origin: fake.serverName, origin_server_ts: Date.now() }, rules);
    const joinId = computeEventId(join, rules);
    const sent = await fake.send(hs.base, HS, 'PUT', `/_matrix/federation/v2/send_join/${enc(created.room_id)}/${enc(joinId)}`, join);
    expect(sent.status, JSON.stringify(sent.body)).toBe(200);
    const stateIdOf = (type: string) => {
      const e = (sent.body.state as JsonObject[]).find((s) => s.type === type && s.state_key === '')!;
      return computeEventId(e, rules);
    };
    room = {
      roomId: created.room_id, rules, bob, createId: stateIdOf('m.room.create'), powerLevelsId: stateIdOf('m.room.power_levels'),
      bobMemberId: joinId, latest: { id: joinId, depth: join.depth as number },
    };
    expect((await messages()).some((e) => e.event_id === joinId)).toBe(true);
  });

  it('accepts valid PDUs and shows them to local users; a replayed transaction gets the same answer', async () => {
    const m = await bobEvent('m.room.message', { msgtype: 'm.text', body: 'hello from fake' });
    const first = await sendTxn([m.pdu], [], 'replayed');
    expect(first.status).toBe(200);
    responseValidator('server-server', 'put', `${F}/send/{txnId}`, 200)(first.body);
    expect(first.body).toEqual({ pdus: { [m.id]: {} } });
    room.latest = m;
    // The same transaction ID again, even with other content: the first answer, nothing new processed.
    const other = await bobEvent('m.room.message', { msgtype: 'm.text', body: 'not processed' });
    const again = await sendTxn([other.pdu], [], 'replayed');
    expect(again).toEqual(first);
    const timeline = await messages();
    expect(timeline.filter((e) => e.event_id === m.id)).toHaveLength(1);
    expect(timeline.find((e) => e.event_id === m.id)?.content.body).toBe('hello from fake');
    expect(timeline.some((e) => e.event_id === other.id)).toBe(false);
  });

  it('drops forged signatures, redacts wrong content hashes, rejects events failing auth', async () => {
    // Signed with a key that is not the fake's.
    const forged = await bobEvent('m.room.message', { msgtype: 'm.text', body: 'forged' });
    const sigs = forged.pdu.signatures as Record<string, Record<string, string>>;
    sigs[fake.serverName]![fake.keyId] = encodeBase64(new Uint8Array(randomBytes(64)));
    // Content changed after signing: the signature (over the redacted event) holds, the hash does not.
    const tampered = await bobEvent('m.room.message', { msgtype: 'm.text', body: 'original' }, { prev: room.latest });
    tampered.pdu.content = { msgtype: 'm.text', body: 'tampered' };
    // bob has power 0; the name needs 50.
    const rename = await bobEvent('m.room.name', { name: 'Hijacked' }, { stateKey: '' });

    const res = await sendTxn([forged.pdu, tampered.pdu, rename.pdu]);
    expect(res.status).toBe(200);
    responseValidator('server-server', 'put', `${F}/send/{txnId}`, 200)(res.body);
    expect(res.body.pdus[forged.id].error).toMatch(/signature/i);
    expect(res.body.pdus[tampered.id]).toEqual({});
    expect(res.body.pdus[rename.id].error).toMatch(/reject/i);

    const E = `${C}/rooms/{roomId}/event/{eventId}`;
    const path = (id: string) => `${C}/rooms/${enc(room.roomId)}/event/${enc(id)}`;
    await request('GET', E, { path: path(forged.id), token: alice.access_token, expect: 404 });
    expect((await request('GET', E, { path: path(tampered.id), token: alice.access_token, expect: 200 })).content).toEqual({});
    await request('GET', E, { path: path(rename.id), token: alice.access_token, expect: 404 });
    const name = await request('GET', `${C}/rooms/{roomId}/state/{eventType}/{stateKey}`, { path: `${C}/rooms/${enc(room.roomId)}/state/m.room.name/`, token: alice.access_token, expect: 200 });
    expect(name).toEqual({ name: 'Federated' });
    room.latest = tampered;
  });

  it('refuses non-canonical JSON, unknown rooms, over-full transactions, wrong origins and destinations', async () => {
    // `depth` written as 5.0: JSON.parse reads 5 (so the signature holds), the raw text shows a float.
    const m = await bobEvent('m.room.message', { msgtype: 'm.text', body: 'float' });
    const body = { origin: fake.serverName, origin_server_ts: Date.now(), pdus: [m.pdu] };
    const text = JSON.stringify(body).replace(`"depth":${m.depth}`, `"depth":${m.depth}.0`);
    expect(text).toContain(`${m.depth}.0`);
    const uri = `${F}/send/float1`;
    const ed = createNobleEd25519();
    const signed = requestSigningObject({ method: 'PUT', uri, origin: fake.serverName, destination: HS, content: body });
    const sig = encodeBase64(await ed.sign(fake.seed, signingInput(signed)));
    const res = await fetch(`${hs.base}${uri}`, {
      method: 'PUT', body: text,
      headers: { 'Content-Type': 'application/json', Authorization: formatXMatrix({ origin: fake.serverName, destination: HS, key: fake.keyId, sig }) },
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { pdus: Record<string, { error?: string }> }).pdus[m.id]?.error).toMatch(/canonical/i);

    const elsewhere = await bobEvent('m.room.message', { msgtype: 'm.text', body: 'where?' });
    elsewhere.pdu.room_id = '!nowhere:fake.test';
    const resigned = await fake.signEvent(elsewhere.pdu, room.rules);
    const unknown = await sendTxn([resigned]);
    expect(unknown.status).toBe(200);
    expect(unknown.body.pdus[computeEventId(resigned, room.rules)].error).toMatch(/unknown room/i);

    const many = Array.from({ length: 51 }, () => m.pdu);
    expect((await sendTxn(many)).status).toBe(400);
    const wrongOrigin = await fake.send(hs.base, HS, 'PUT', `${F}/send/wo1`, { origin: 'other.test', origin_server_ts: 1, pdus: [] });
    expect(wrongOrigin.status).toBe(403);
    const misaddressed = await fake.send(hs.base, HS, 'PUT', `${F}/send/wd1`, { origin: fake.serverName, origin_server_ts: 1, pdus: [] }, { sign: 'wrong-destination' });
    expect(misaddressed.status).toBe(401);
    expect((await messages()).some((e) => e.event_id === m.id)).toBe(false);
  });

  it('fetches missing prev events from the origin through get_missing_events', async () => {
    const gap1 = await bobEvent('m.room.message', { msgtype: 'm.text', body: 'gap 1' });
    const gap2 = await bobEvent('m.room.message', { msgtype: 'm.text', body: 'gap 2' }, { prev: gap1 });
    const tip = await bobEvent('m.room.message', { msgtype: 'm.text', body: 'tip' }, { prev: gap2 });
    fake.handle('POST', /^\/_matrix\/federation\/v1\/get_missing_events\//, () => ({ body: { events: [gap2.pdu, gap1.pdu] } }));
    const res = await sendTxn([tip.pdu]);
    expect(res.body).toEqual({ pdus: { [tip.id]: {} } });
    const asked = fake.requests.find((r) => r.method === 'POST' && r.uri.startsWith(`${F}/get_missing_events/${enc(room.roomId)}`));
    expect(asked?.verified).toBe(true);
    expect(asked?.body).toMatchObject({ latest_events: [tip.id], limit: 10 });
    const ids = (await messages()).map((e) => e.event_id);
    expect(ids).toEqual(expect.arrayContaining([gap1.id, gap2.id, tip.id]));
    room.latest = tip;

    // A gap the origin cannot fill: an error for that PDU, nothing stored.
    fake.handle('POST', /^\/_matrix\/federation\/v1\/get_missing_events\//, () => ({ body: { events: [] } }));
    const lost = await bobEvent('m.room.message', { msgtype: 'm.text', body: 'lost' });
    const orphan = await bobEvent('m.room.message', { msgtype: 'm.text', body: 'orphan' }, { prev: lost });
    const res2 = await sendTxn([orphan.pdu]);
    expect(res2.body.pdus[orphan.id].error).toMatch(/missing/i);
    expect((await messages()).some((e) => e.event_id === orphan.id)).toBe(false);
  });

  it('typing and receipt EDUs of the origin reach local users; EDUs about other servers\' users are ignored', async () => {
    const first = await sync();
    const edus: JsonObject[] = [
      { edu_type: 'm.typing', content: { room_id: room.roomId, user_id: room.bob, typing: true } },
      { edu_type: 'm.typing', content: { room_id: room.roomId, user_id: '@eve:other.test', typing: true } },
      { edu_type: 'm.receipt', content: { [room.roomId]: { 'm.read': { [room.bob]: { event_ids: [room.latest.id], data: { ts: 1234 } }, '@eve:other.test': { event_ids: [room.latest.id], data: { ts: 1 } } } } } },
      { edu_type: 'm.presence', content: { push: [{ user_id: room.bob, presence: 'online', last_active_ago: 0 }] } },
      { edu_type: 'm.device_list_update', content: { user_id: room.bob, device_id: 'D', stream_id: 1, deleted: false } },
    ];
    expect((await sendTxn([], edus)).body).toEqual({ pdus: {} });
    await eventually(async () => {
      const next = await sync(first.next_batch);
      const ephemeral = next.rooms?.join?.[room.roomId]?.ephemeral?.events as { type: string; content: JsonObject }[] | undefined;
      expect(ephemeral?.find((e) => e.type === 'm.typing')?.content).toEqual({ user_ids: [room.bob] });
      const receipts = ephemeral?.find((e) => e.type === 'm.receipt')?.content as Record<string, Record<string, Record<string, JsonObject>>>;
      expect(receipts?.[room.latest.id]?.['m.read']).toEqual({ [room.bob]: { ts: 1234 } });
    });
  });

  it('serves the DAG to a server in the room, and refuses servers outside it', async () => {
    const R = enc(room.roomId);
    const at = room.latest.id;
    const stateIds = await fake.send(hs.base, HS, 'GET', `${F}/state_ids/${R}?event_id=${enc(at)}`);
    expect(stateIds.status).toBe(200);
    responseValidator('server-server', 'get', `${F}/state_ids/{roomId}`, 200)(stateIds.body);
    expect(stateIds.body.pdu_ids).toEqual(expect.arrayContaining([room.createId, room.powerLevelsId, room.bobMemberId]));
    expect(stateIds.body.pdu_ids).not.toContain(at);

    const state = await fake.send(hs.base, HS, 'GET', `${F}/state/${R}?event_id=${enc(at)}`);
    expect(state.status).toBe(200);
    responseValidator('server-server', 'get', `${F}/state/{roomId}`, 200)(state.body);
    const stateEventIds = (state.body.pdus as JsonObject[]).map((p) => computeEventId(p, room.rules));
    expect(new Set(stateEventIds)).toEqual(new Set(stateIds.body.pdu_ids));
    // Stored signed PDUs, not client events.
    expect(state.body.pdus[0].signatures).toBeDefined();
    expect(state.body.pdus[0].event_id).toBeUndefined();

    const auth = await fake.send(hs.base, HS, 'GET', `${F}/event_auth/${R}/${enc(room.bobMemberId)}`);
    expect(auth.status).toBe(200);
    responseValidator('server-server', 'get', `${F}/event_auth/{roomId}/{eventId}`, 200)(auth.body);
    expect((auth.body.auth_chain as JsonObject[]).map((p) => computeEventId(p, room.rules))).toContain(room.powerLevelsId);

    const back = await fake.send(hs.base, HS, 'GET', `${F}/backfill/${R}?v=${enc(at)}&limit=3`);
    expect(back.status).toBe(200);
    responseValidator('server-server', 'get', `${F}/backfill/{roomId}`, 200)(back.body);
    expect(back.body.origin).toBe(HS);
    expect(back.body.pdus).toHaveLength(3);
    expect(computeEventId(back.body.pdus[0], room.rules)).toBe(at);

    const missing = await fake.send(hs.base, HS, 'POST', `${F}/get_missing_events/${R}`, { earliest_events: [room.bobMemberId], latest_events: [at], limit: 2 });
    expect(missing.status).toBe(200);
    responseValidator('server-server', 'post', `${F}/get_missing_events/{roomId}`, 200)(missing.body);
    expect(missing.body.events).toHaveLength(2);
    const depths = (missing.body.events as JsonObject[]).map((e) => e.depth as number);
    expect(depths).toEqual([...depths].sort((a, b) => a - b));

    const ts = await fake.send(hs.base, HS, 'GET', `${F}/timestamp_to_event/${R}?ts=${Date.now() + 60_000}&dir=b`);
    expect(ts.status).toBe(200);
    responseValidator('server-server', 'get', `${F}/timestamp_to_event/{roomId}`, 200)(ts.body);

    // other.test has no member in the room.
    const outsider = await other.send(hs.base, HS, 'GET', `${F}/state_ids/${R}?event_id=${enc(at)}`);
    expect(outsider.status).toBe(403);
    expect(outsider.body.errcode).toBe('M_FORBIDDEN');
    expect((await fake.send(hs.base, HS, 'GET', `${F}/state_ids/${enc('!unknown:hs1.test')}?event_id=${enc(at)}`)).status).toBe(404);
    expect((await fake.send(hs.base, HS, 'GET', `${F}/state_ids/${R}?event_id=${enc('$unknown')}`)).status).toBe(404);
  });

  it('soft-fails an event that passes the state before it but not the current state', async () => {
    const before = room.latest;
    // alice bans bob; the fake then sends a message built on the state before the ban.
    await request('POST', `${C}/rooms/{roomId}/ban`, { path: `${C}/rooms/${enc(room.roomId)}/ban`, token: alice.access_token, body: { user_id: room.bob }, expect: 200 });
    const late = await bobEvent('m.room.message', { msgtype: 'm.text', body: 'after the ban' }, { prev: before });
    const res = await sendTxn([late.pdu]);
    expect(res.body).toEqual({ pdus: { [late.id]: {} } });
    expect((await messages()).some((e) => e.event_id === late.id)).toBe(false);
    // Banned: its server no longer reads the room.
    expect((await fake.send(hs.base, HS, 'GET', `${F}/state_ids/${enc(room.roomId)}?event_id=${enc(before.id)}`)).status).toBe(403);
  });

  it('refuses origins the room\'s server ACL denies', async () => {
    await request('PUT', `${C}/rooms/{roomId}/state/{eventType}/{stateKey}`, {
      path: `${C}/rooms/${enc(room.roomId)}/state/m.room.server_acl/`, token: alice.access_token, body: { allow: ['*'], deny: ['fake.test'] }, expect: 200,
    });
    const m = await bobEvent('m.room.message', { msgtype: 'm.text', body: 'denied' });
    const res = await sendTxn([m.pdu]);
    expect(res.body.pdus[m.id].error).toMatch(/ACL/);
    const read = await fake.send(hs.base, HS, 'GET', `${F}/backfill/${enc(room.roomId)}?v=${enc(room.latest.id)}&limit=1`);
    expect(read.status).toBe(403);
    expect(read.body.error).toMatch(/ACL/);
  });
});
