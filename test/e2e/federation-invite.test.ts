/**
 * Invites across servers (spec v1.16, Server-Server API "Inviting to a room", "Leaving Rooms
 * (Rejecting Invites)") and `GET /v1/event/{eventId}` ("Retrieving events"): two instances on
 * loopback invite each other's users (one by /invite, one through createRoom's `invite`), the
 * invitee sees the invite in /sync with stripped state and joins, or rejects it; a stand-in
 * server (federation-harness.ts) drives the invite endpoint directly and reads single events.
 * Federation answers are checked against the server-server OpenAPI schema.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JsonObject } from '../../core/canonical-json';
import { computeEventId } from '../../core/events/hashes';
import { getRoomVersionRules } from '../../core/room-versions';
import { startFakeServer, type FakeServer } from './federation-harness';
import { freePort, startInstance, type Instance } from './instance';
import { responseValidator } from './openapi';
import { specClient } from './spec-client';

const HS_A = 'hsa.test';
const HS_B = 'hsb.test';
const REMOTE = 'remote.test';

let a: Instance | undefined;
let b: Instance | undefined;
let fake: FakeServer;
const clientA = specClient(() => a!);
const clientB = specClient(() => b!);
const enc = encodeURIComponent;

beforeAll(async () => {
  fake = await startFakeServer({ serverName: REMOTE });
  const [portA, portB] = [await freePort(), await freePort()];
  const hosts = JSON.stringify({ [HS_A]: `http://127.0.0.1:${portA}`, [HS_B]: `http://127.0.0.1:${portB}`, [REMOTE]: fake.url });
  [a, b] = await Promise.all([
    startInstance({ SERVER_NAME: HS_A, PORT: String(portA), FEDERATION_HOSTS: hosts }),
    startInstance({ SERVER_NAME: HS_B, PORT: String(portB), FEDERATION_HOSTS: hosts }),
  ]);
  fake.trust(HS_A, a.base);
}, 120_000);

afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
  await fake?.stop();
});

type Client = ReturnType<typeof specClient>;

async function sync(client: Client, token: string, since?: string) {
  const query = since ? `?timeout=0&since=${enc(since)}` : '?timeout=0';
  return client.request('GET', '/_matrix/client/v3/sync', { path: `/_matrix/client/v3/sync${query}`, token, expect: 200 });
}

/** Poll /sync until `pick` finds something (federation delivers asynchronously). */
async function syncUntil<T>(client: Client, token: string, pick: (body: any) => T | undefined): Promise<T> {
  for (let i = 0; i < 50; i++) {
    const found = pick(await sync(client, token));
    if (found !== undefined) return found;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error('not seen in /sync');
}

async function members(client: Client, token: string, roomId: string): Promise<string[]> {
  const body = await client.request('GET', '/_matrix/client/v3/rooms/{roomId}/joined_members', { path: `/_matrix/client/v3/rooms/${enc(roomId)}/joined_members`, token, expect: 200 });
  return Object.keys(body.joined).sort();
}

async function memberState(client: Client, token: string, roomId: string, userId: string) {
  return client.request('GET', '/_matrix/client/v3/rooms/{roomId}/state/{eventType}/{stateKey}', {
    path: `/_matrix/client/v3/rooms/${enc(roomId)}/state/m.room.member/${enc(userId)}`, token, expect: 200,
  });
}

/** A signed request of the stand-in server whose answer must have `status` and match the spec's schema. */
async function fed(method: 'GET' | 'PUT', template: string, uri: string, status: number, body?: JsonObject) {
  const res = await fake.send(a!.base, HS_A, method, uri, body);
  expect(res.status, `${method} ${uri}: ${JSON.stringify(res.body)}`).toBe(status);
  responseValidator('server-server', method.toLowerCase(), template, status)(res.body);
  return res.body;
}

/** A refusal the spec gives no schema for (`/event` documents only 200): a standard Matrix error. */
async function refused(uri: string, status: number, errcode: string) {
  const res = await fake.send(a!.base, HS_A, 'GET', uri);
  expect(res.status, `GET ${uri}: ${JSON.stringify(res.body)}`).toBe(status);
  expect(res.body).toMatchObject({ errcode, error: expect.any(String) });
}

const typesOf = (events: { type: string }[]) => events.map((e) => e.type);

describe('invites between two instances', () => {
  it('a user of A invites a user of B, who sees the invite with stripped state and joins through A', async () => {
    const alice = await clientA.register('alice');
    const bob = await clientB.register('bob');
    const { room_id: roomId } = await clientA.request('POST', '/_matrix/client/v3/createRoom', {
      token: alice.access_token, body: { preset: 'private_chat', name: 'Invite only' }, expect: 200,
    });
    await clientA.request('POST', '/_matrix/client/v3/rooms/{roomId}/invite', {
      path: `/_matrix/client/v3/rooms/${enc(roomId)}/invite`, token: alice.access_token, body: { user_id: bob.user_id, reason: 'come' }, expect: 200,
    });
    // A's room holds the countersigned invite.
    const invite = await memberState(clientA, alice.access_token, roomId, bob.user_id);
    expect(invite).toMatchObject({ membership: 'invite', reason: 'come' });

    const invited = await syncUntil(clientB, bob.access_token, (s) => s.rooms?.invite?.[roomId]);
    const state = invited.invite_state.events as { type: string; state_key: string; sender: string; content: JsonObject }[];
    expect(typesOf(state)).toEqual(expect.arrayContaining(['m.room.create', 'm.room.join_rules', 'm.room.name']));
    expect(state.find((e) => e.type === 'm.room.name')?.content).toEqual({ name: 'Invite only' });
    expect(state.find((e) => e.type === 'm.room.member' && e.state_key === bob.user_id)).toMatchObject({ sender: alice.user_id, content: { membership: 'invite' } });

    // No `via`: the invite tells B which server to join through.
    await clientB.request('POST', '/_matrix/client/v3/rooms/{roomId}/join', { path: `/_matrix/client/v3/rooms/${enc(roomId)}/join`, token: bob.access_token, body: {}, expect: 200 });
    expect(await members(clientA, alice.access_token, roomId)).toEqual([alice.user_id, bob.user_id].sort());
    const joined = await syncUntil(clientB, bob.access_token, (s) => s.rooms?.join?.[roomId]);
    expect(joined.state.events.concat(joined.timeline.events).some((e: { type: string; content: JsonObject }) => e.type === 'm.room.name' && e.content.name === 'Invite only')).toBe(true);
    expect(Object.keys((await sync(clientB, bob.access_token)).rooms.invite)).not.toContain(roomId);
  });

  it("createRoom's invite of a user of A; the invitee rejects it, and both sides see the leave", async () => {
    const carol = await clientA.register('carol');
    const dave = await clientB.register('dave');
    const { room_id: roomId } = await clientB.request('POST', '/_matrix/client/v3/createRoom', {
      token: dave.access_token, body: { preset: 'private_chat', invite: [carol.user_id], is_direct: true }, expect: 200,
    });
    expect(await memberState(clientB, dave.access_token, roomId, carol.user_id)).toMatchObject({ membership: 'invite', is_direct: true });
    const first = await sync(clientA, carol.access_token);
    expect(first.rooms.invite[roomId]?.invite_state.events.map((e: { type: string }) => e.type)).toContain('m.room.create');

    await clientA.request('POST', '/_matrix/client/v3/rooms/{roomId}/leave', { path: `/_matrix/client/v3/rooms/${enc(roomId)}/leave`, token: carol.access_token, body: {}, expect: 200 });
    // B's room has carol's leave (send_leave), so she can no longer join without a new invite.
    expect(await memberState(clientB, dave.access_token, roomId, carol.user_id)).toMatchObject({ membership: 'leave' });
    const after = await sync(clientA, carol.access_token, first.next_batch);
    expect(after.rooms.invite[roomId]).toBeUndefined();
    expect(after.rooms.leave[roomId].timeline.events).toMatchObject([{ type: 'm.room.member', state_key: carol.user_id, content: { membership: 'leave' } }]);
  });
});

describe('the invite and event endpoints driven by a stand-in server', () => {
  it('countersigns a valid v2 and v1 invite, refuses bad ones; the invite shows in /sync and is rejected through the inviter', async () => {
    const erin = await clientA.register('erin');
    const rules = getRoomVersionRules('10')!;
    const roomId = `!fakeroom:${REMOTE}`;
    const base: JsonObject = {
      room_id: roomId, type: 'm.room.member', sender: `@zed:${REMOTE}`, state_key: erin.user_id, content: { membership: 'invite' },
      origin: REMOTE, origin_server_ts: Date.now(), depth: 5, prev_events: ['$prev'], auth_events: ['$create'],
    };
    const event = await fake.signEvent(base, rules);
    const eventId = computeEventId(event, rules);
    const strippedState: JsonObject[] = [
      { type: 'm.room.create', state_key: '', sender: `@zed:${REMOTE}`, content: { room_version: '10' } },
      { type: 'm.room.name', state_key: '', sender: `@zed:${REMOTE}`, content: { name: 'Far away' } },
    ];
    const V2 = '/_matrix/federation/v2/invite/{roomId}/{eventId}';
    const uri = `/_matrix/federation/v2/invite/${enc(roomId)}/${enc(eventId)}`;

    // Refused: an unsupported room version, a path that is not the event's ID, a sender of another server, a non-local invitee.
    const incompatible = await fed('PUT', V2, uri, 400, { room_version: 'nope', event, invite_room_state: strippedState });
    expect(incompatible.errcode).toBe('M_INCOMPATIBLE_ROOM_VERSION');
    expect((await fake.send(a!.base, HS_A, 'PUT', `/_matrix/federation/v2/invite/${enc(roomId)}/${enc('$' + 'A'.repeat(43))}`, { room_version: '10', event })).status).toBe(400);
    const foreign = await fake.signEvent({ ...base, sender: '@zed:other.test' }, rules);
    await fed('PUT', V2, `/_matrix/federation/v2/invite/${enc(roomId)}/${enc(computeEventId(foreign, rules))}`, 403, { room_version: '10', event: foreign });
    const notOurs = await fake.signEvent({ ...base, state_key: `@someone:${REMOTE}` }, rules);
    await fed('PUT', V2, `/_matrix/federation/v2/invite/${enc(roomId)}/${enc(computeEventId(notOurs, rules))}`, 403, { room_version: '10', event: notOurs });
    // A signature that does not verify.
    const forged = { ...event, signatures: { [REMOTE]: { [fake.keyId]: 'A'.repeat(86) } } };
    await fed('PUT', V2, uri, 403, { room_version: '10', event: forged });

    // Room version 12: invite_room_state must be the room's signed PDUs, the create event among them.
    const rules12 = getRoomVersionRules('12')!;
    const room12 = `!${'C'.repeat(43)}`;
    const event12 = await fake.signEvent({ ...base, room_id: room12 }, rules12);
    const uri12 = `/_matrix/federation/v2/invite/${enc(room12)}/${enc(computeEventId(event12, rules12))}`;
    for (const invite_room_state of [[], strippedState]) {
      expect((await fed('PUT', V2, uri12, 400, { room_version: '12', event: event12, invite_room_state })).errcode).toBe('M_MISSING_PARAM');
    }

    const ok = await fed('PUT', V2, uri, 200, { room_version: '10', event, invite_room_state: strippedState });
    const countersigned = ok.event as JsonObject;
    // Every field as sent, our signature added next to the inviter's.
    const { signatures, ...rest } = countersigned;
    const { signatures: sent, ...sentRest } = event;
    expect(rest).toEqual(sentRest);
    expect(Object.keys(signatures as JsonObject).sort()).toEqual([HS_A, REMOTE].sort());
    expect((signatures as JsonObject)[REMOTE]).toEqual((sent as JsonObject)[REMOTE]);
    // v1: the event as the body, the answer wrapped as [200, {event}].
    const v1 = await fed('PUT', '/_matrix/federation/v1/invite/{roomId}/{eventId}', `/_matrix/federation/v1/invite/${enc(roomId)}/${enc(eventId)}`, 200, {
      ...event, unsigned: { invite_room_state: strippedState },
    });
    expect(v1[0]).toBe(200);
    expect((v1[1].event as JsonObject).signatures).toEqual(signatures);

    const first = await sync(clientA, erin.access_token);
    const state = first.rooms.invite[roomId].invite_state.events as { type: string; state_key: string; content: JsonObject }[];
    expect(state.find((e) => e.type === 'm.room.name')?.content).toEqual({ name: 'Far away' });
    expect(state.find((e) => e.type === 'm.room.member' && e.state_key === erin.user_id)?.content).toEqual({ membership: 'invite' });

    // Rejecting: make_leave / send_leave at the inviter's server.
    let sentLeave: JsonObject | undefined;
    fake.handle('GET', /^\/_matrix\/federation\/v1\/make_leave\//, () => ({
      body: {
        room_version: '10',
        event: { room_id: roomId, type: 'm.room.member', sender: erin.user_id, state_key: erin.user_id, content: { membership: 'leave' }, origin: REMOTE, origin_server_ts: Date.now(), depth: 6, prev_events: ['$prev'], auth_events: ['$create'] },
      },
    }));
    fake.handle('PUT', /^\/_matrix\/federation\/v2\/send_leave\//, (req) => {
      sentLeave = req.body as JsonObject;
      return { body: {} };
    });
    await clientA.request('POST', '/_matrix/client/v3/rooms/{roomId}/leave', { path: `/_matrix/client/v3/rooms/${enc(roomId)}/leave`, token: erin.access_token, body: { reason: 'no thanks' }, expect: 200 });
    expect(sentLeave).toMatchObject({ sender: erin.user_id, state_key: erin.user_id, content: { membership: 'leave', reason: 'no thanks' } });
    expect((sentLeave!.signatures as JsonObject)[HS_A]).toBeDefined();
    const sendLeaveRequest = fake.requests.find((r) => r.method === 'PUT' && r.uri.startsWith('/_matrix/federation/v2/send_leave/'))!;
    expect(sendLeaveRequest.verified).toBe(true);
    expect(sendLeaveRequest.uri).toBe(`/_matrix/federation/v2/send_leave/${enc(roomId)}/${enc(computeEventId(sentLeave!, rules))}`);

    const after = await sync(clientA, erin.access_token, first.next_batch);
    expect(after.rooms.invite[roomId]).toBeUndefined();
    expect(after.rooms.leave[roomId].timeline.events).toMatchObject([{ type: 'm.room.member', state_key: erin.user_id, content: { membership: 'leave', reason: 'no thanks' } }]);
  });

  it('GET /v1/event answers for an event of a room the server shares, 404 otherwise, 403 when the ACL denies it', async () => {
    const frank = await clientA.register('frank');
    const create = (body: JsonObject) => clientA.request('POST', '/_matrix/client/v3/createRoom', { token: frank.access_token, body, expect: 200 });
    const send = async (roomId: string, text: string) =>
      (await clientA.request('PUT', '/_matrix/client/v3/rooms/{roomId}/send/{eventType}/{txnId}', {
        path: `/_matrix/client/v3/rooms/${enc(roomId)}/send/m.room.message/${enc(text)}`, token: frank.access_token, body: { msgtype: 'm.text', body: text }, expect: 200,
      })).event_id as string;
    const EVENT = '/_matrix/federation/v1/event/{eventId}';
    const zed = `@zed:${REMOTE}`;

    const { room_id: shared } = await create({ preset: 'public_chat' });
    // The stand-in server joins (make_join / send_join).
    const made = await fed('GET', '/_matrix/federation/v1/make_join/{roomId}/{userId}', `/_matrix/federation/v1/make_join/${enc(shared)}/${enc(zed)}?ver=10&ver=11&ver=12`, 200);
    const rules = getRoomVersionRules(made.room_version as string)!;
    const { origin: _o, ...template } = made.event as JsonObject;
    const join = await fake.signEvent(template, rules);
    await fed('PUT', '/_matrix/federation/v2/send_join/{roomId}/{eventId}', `/_matrix/federation/v2/send_join/${enc(shared)}/${enc(computeEventId(join, rules))}`, 200, join);

    const message = await send(shared, 'hello');
    // The index is written just after the event's commit: wait until it is there.
    for (let i = 0; i < 20 && (await fake.send(a!.base, HS_A, 'GET', `/_matrix/federation/v1/event/${enc(message)}`)).status !== 200; i++) await new Promise((r) => setTimeout(r, 100));
    const got = await fed('GET', EVENT, `/_matrix/federation/v1/event/${enc(message)}`, 200);
    expect(got.origin).toBe(HS_A);
    expect(got.pdus).toHaveLength(1);
    expect(computeEventId(got.pdus[0], rules)).toBe(message);
    expect(got.pdus[0].content).toEqual({ msgtype: 'm.text', body: 'hello' });

    // A room of local users only: its events are unknown to other servers.
    const { room_id: local } = await create({ preset: 'private_chat' });
    await refused(`/_matrix/federation/v1/event/${enc(await send(local, 'secret'))}`, 404, 'M_NOT_FOUND');
    await refused(`/_matrix/federation/v1/event/${enc('$' + 'B'.repeat(43))}`, 404, 'M_NOT_FOUND');

    // Once the room's server ACL denies the server, it is refused.
    await clientA.request('PUT', '/_matrix/client/v3/rooms/{roomId}/state/{eventType}/{stateKey}', {
      path: `/_matrix/client/v3/rooms/${enc(shared)}/state/m.room.server_acl/`, token: frank.access_token,
      body: { allow: ['*'], deny: [REMOTE], allow_ip_literals: true }, expect: 200,
    });
    await refused(`/_matrix/federation/v1/event/${enc(message)}`, 403, 'M_FORBIDDEN');
  });
});
