/**
 * The resident server's make_join / send_join, make_leave / send_leave and make_knock /
 * send_knock endpoints (spec v1.16, Server-Server API "Joining Rooms", "Leaving Rooms",
 * "Knocking upon a room"), driven by a stand-in server (federation-harness.ts); every response
 * is checked against the server-server OpenAPI schema of its operation and status.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JsonObject } from '../../core/canonical-json';
import { computeEventId } from '../../core/events/hashes';
import { getRoomVersionRules } from '../../core/room-versions';
import { startWithFakeServer, type FakeServer } from './federation-harness';
import type { Instance } from './instance';
import { responseValidator } from './openapi';
import { specClient } from './spec-client';

const HS = 'hs1.test';
const REMOTE = 'remote.test';
const bob = `@bob:${REMOTE}`;

let fake: FakeServer;
let hs: Instance | undefined;
const client = specClient(() => hs!);

let stop: (() => Promise<void>) | undefined;

beforeAll(async () => {
  ({ fake, hs, stop } = await startWithFakeServer(HS, REMOTE));
});

afterAll(async () => {
  await stop?.();
});

/** A signed federation request whose answer must have `status` and match the spec's schema for it. */
async function fed(method: 'GET' | 'PUT', template: string, uri: string, status: number, body?: JsonObject) {
  const res = await fake.send(hs!.base, HS, method, uri, body);
  expect(res.status, `${method} ${uri}: ${JSON.stringify(res.body)}`).toBe(status);
  responseValidator('server-server', method.toLowerCase(), template, status)(res.body);
  return res.body;
}

const enc = encodeURIComponent;
const MAKE_JOIN = '/_matrix/federation/v1/make_join/{roomId}/{userId}';

async function joinedMembers(token: string, roomId: string): Promise<string[]> {
  const body = await client.request('GET', '/_matrix/client/v3/rooms/{roomId}/joined_members', { path: `/_matrix/client/v3/rooms/${enc(roomId)}/joined_members`, token, expect: 200 });
  return Object.keys(body.joined).sort();
}

describe('resident endpoints', () => {
  it('make_join/send_join (v1 and v2) then make_leave/send_leave, refusing what the spec refuses', async () => {
    const alice = await client.register('alice');
    const { room_id: roomId } = await client.request('POST', '/_matrix/client/v3/createRoom', { token: alice.access_token, body: { preset: 'public_chat' }, expect: 200 });

    // No `ver`: the default is ["1"], which this room is not.
    const incompatible = await fed('GET', MAKE_JOIN, `/_matrix/federation/v1/make_join/${enc(roomId)}/${enc(bob)}`, 400);
    expect(incompatible.errcode).toBe('M_INCOMPATIBLE_ROOM_VERSION');
    expect(typeof incompatible.room_version).toBe('string');
    // A user of another server than the requesting one.
    await fake.send(hs!.base, HS, 'GET', `/_matrix/federation/v1/make_join/${enc(roomId)}/${enc('@eve:other.test')}?ver=12&ver=11&ver=10`).then((r) => expect(r.status).toBe(403));

    const made = await fed('GET', MAKE_JOIN, `/_matrix/federation/v1/make_join/${enc(roomId)}/${enc(bob)}?ver=10&ver=11&ver=12`, 200);
    expect(made.event).toMatchObject({ type: 'm.room.member', sender: bob, state_key: bob, origin: HS, content: { membership: 'join' } });
    const rules = getRoomVersionRules(made.room_version as string)!;
    const { origin: _origin, ...template } = made.event as JsonObject;
    const join = await fake.signEvent(template, rules);
    const joinId = computeEventId(join, rules);

    // Tampered after signing (a field the signature covers, unlike content, which redaction drops).
    const tampered = { ...join, origin_server_ts: (join.origin_server_ts as number) + 1 };
    const tamperedId = computeEventId(tampered, rules);
    expect((await fake.send(hs!.base, HS, 'PUT', `/_matrix/federation/v2/send_join/${enc(roomId)}/${enc(tamperedId)}`, tampered)).status).toBe(403);
    // The path's event ID must be the body's.
    expect((await fake.send(hs!.base, HS, 'PUT', `/_matrix/federation/v2/send_join/${enc(roomId)}/${enc('$' + 'A'.repeat(43))}`, join)).status).toBe(400);

    const sent = await fed('PUT', '/_matrix/federation/v2/send_join/{roomId}/{eventId}', `/_matrix/federation/v2/send_join/${enc(roomId)}/${enc(joinId)}`, 200, join);
    expect((sent.state as JsonObject[]).map((e) => e.type)).toContain('m.room.create');
    expect((sent.state as JsonObject[]).some((e) => e.state_key === bob)).toBe(false);
    expect(await joinedMembers(alice.access_token, roomId)).toEqual([alice.user_id, bob].sort());
    // v1: the same answer, wrapped as [200, body]; a repeated join is accepted again.
    const v1 = await fed('PUT', '/_matrix/federation/v1/send_join/{roomId}/{eventId}', `/_matrix/federation/v1/send_join/${enc(roomId)}/${enc(joinId)}`, 200, join);
    expect(v1[0]).toBe(200);
    expect(v1[1].state.length).toBe(sent.state.length);

    const leaveTemplate = await fed('GET', '/_matrix/federation/v1/make_leave/{roomId}/{userId}', `/_matrix/federation/v1/make_leave/${enc(roomId)}/${enc(bob)}`, 200);
    const { origin: _o, ...leaveEvent } = leaveTemplate.event as JsonObject;
    const leave = await fake.signEvent(leaveEvent, rules);
    const left = await fed('PUT', '/_matrix/federation/v2/send_leave/{roomId}/{eventId}', `/_matrix/federation/v2/send_leave/${enc(roomId)}/${enc(computeEventId(leave, rules))}`, 200, leave);
    expect(left).toEqual({});
    expect(await joinedMembers(alice.access_token, roomId)).toEqual([alice.user_id]);
  });

  it('make_knock/send_knock in a knock room returns stripped state', async () => {
    const alice = await client.register('alice2');
    const { room_id: roomId } = await client.request('POST', '/_matrix/client/v3/createRoom', {
      token: alice.access_token, body: { preset: 'private_chat', initial_state: [{ type: 'm.room.join_rules', state_key: '', content: { join_rule: 'knock' } }] }, expect: 200,
    });
    // Joining is not allowed here.
    expect((await fake.send(hs!.base, HS, 'GET', `/_matrix/federation/v1/make_join/${enc(roomId)}/${enc(bob)}?ver=12&ver=11&ver=10`)).status).toBe(403);
    const made = await fed('GET', '/_matrix/federation/v1/make_knock/{roomId}/{userId}', `/_matrix/federation/v1/make_knock/${enc(roomId)}/${enc(bob)}?ver=10&ver=11&ver=12`, 200);
    const rules = getRoomVersionRules(made.room_version as string)!;
    const { origin: _origin, ...template } = made.event as JsonObject;
    const knock = await fake.signEvent(template, rules);
    const knocked = await fed('PUT', '/_matrix/federation/v1/send_knock/{roomId}/{eventId}', `/_matrix/federation/v1/send_knock/${enc(roomId)}/${enc(computeEventId(knock, rules))}`, 200, knock);
    const types = (knocked.knock_room_state as JsonObject[]).map((e) => e.type);
    expect(types).toContain('m.room.join_rules');
    expect(types).toContain('m.room.create');
  });
});
