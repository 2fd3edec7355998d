/**
 * EDUs about remote users (spec v1.16, Server-Server API "Presence", "Device Management")
 * against a real instance, with a stand-in remote server (federation-harness.ts). They carry no
 * room: the instance finds the rooms a remote user shares with its users through the index
 * their server's RemoteServer object keeps, fed by the rooms' membership changes — a join
 * received through send_join, and the members of a room joined over federation.
 *
 * - `m.presence` reaches local room-mates' /sync `presence` (incremental and initial), also
 *   in a room joined over federation; a later one replaces it.
 * - `m.device_list_update` and `m.signing_key_update` put the user into local room-mates'
 *   /sync `device_lists.changed`, and no one else's.
 */
import { describe, expect, it } from 'vitest';
import type { JsonObject } from '../../core/canonical-json';
import { computeEventId } from '../../core/events/hashes';
import { getRoomVersionRules } from '../../core/room-versions';
import { eventually } from './federation-harness';
import { specClient, useFakeServer } from './spec-client';

const HS = 'hs1.test';
const FAKE = 'fake.test';
const F = '/_matrix/federation/v1';
const C = '/_matrix/client/v3';
const enc = encodeURIComponent;

// Transactions the instance sends to the stand-in: acknowledged.
const { fake, hs } = useFakeServer(HS, FAKE, (server) => server.handle('PUT', /^\/_matrix\/federation\/v1\/send\//, () => ({ body: { pdus: {} } })));
const { request, register } = specClient(hs);

let txnCounter = 0;
async function sendEdus(edus: JsonObject[]) {
  const res = await fake().send(hs().base, HS, 'PUT', `${F}/send/edus${++txnCounter}`, { origin: FAKE, origin_server_ts: Date.now(), pdus: [], edus });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
}

async function sync(token: string, since?: string) {
  return request('GET', `${C}/sync`, { path: `${C}/sync?timeout=0${since ? `&since=${enc(since)}` : ''}`, token, expect: 200 });
}

type PresenceEvent = { type: string; sender: string; content: JsonObject };
const presenceOf = (body: { presence?: { events?: PresenceEvent[] } }, userId: string) => body.presence?.events?.find((e) => e.sender === userId);

async function localRoom(token: string): Promise<string> {
  return (await request('POST', `${C}/createRoom`, { token, body: { preset: 'public_chat' }, expect: 200 })).room_id;
}

describe('EDUs about remote users', { timeout: 60_000 }, () => {
  it('m.presence reaches local members of a room the remote user joined through send_join', async () => {
    const alice = await register('alice');
    const bob = `@bob:${FAKE}`;
    const roomId = await localRoom(alice.access_token);
    await fake().joinRoom(hs().base, HS, roomId, bob);
    const first = await sync(alice.access_token);

    await sendEdus([
      {
        edu_type: 'm.presence',
        content: {
          push: [
            // Malformed entries are skipped, not the EDU.
            { user_id: bob, presence: 'asleep', last_active_ago: 0 },
            { user_id: bob, presence: 'online', status_msg: 'on the fake server', last_active_ago: 5_000, currently_active: true },
          ],
        },
      },
    ]);
    const next = await eventually(async () => {
      const body = await sync(alice.access_token, first.next_batch);
      expect(presenceOf(body, bob)).toBeDefined();
      return body;
    });
    const seen = presenceOf(next, bob)!;
    expect(seen.type).toBe('m.presence');
    expect(seen.content).toMatchObject({ presence: 'online', status_msg: 'on the fake server', currently_active: true });
    expect(seen.content.last_active_ago).toBeGreaterThanOrEqual(5_000);
    // A first sync shows it too (the room keeps its members' latest presence).
    expect(presenceOf(await sync(alice.access_token), bob)?.content).toMatchObject({ presence: 'online' });

    // A later change replaces it.
    await sendEdus([{ edu_type: 'm.presence', content: { push: [{ user_id: bob, presence: 'unavailable', last_active_ago: 60_000 }] } }]);
    await eventually(async () => {
      const body = await sync(alice.access_token, next.next_batch);
      expect(presenceOf(body, bob)?.content).toMatchObject({ presence: 'unavailable' });
      expect(presenceOf(body, bob)?.content.status_msg).toBeUndefined();
    });
  });

  it('m.presence reaches a local user who joined a room of the remote server (its members from the send_join state)', async () => {
    const rules = getRoomVersionRules('10')!;
    const roomId = `!fakeroom${Date.now()}:${FAKE}`;
    const carol = `@carol:${FAKE}`;
    // The stand-in's room: carol created it, joined, set power levels and a public join rule.
    const events: { id: string; pdu: JsonObject; depth: number }[] = [];
    const add = async (type: string, content: JsonObject, auth: string[]) => {
      const prev = events.at(-1);
      const pdu = await fake().signEvent({
        type, room_id: roomId, sender: carol, state_key: type === 'm.room.member' ? carol : '', content, origin_server_ts: Date.now(),
        depth: (prev?.depth ?? 0) + 1, prev_events: prev ? [prev.id] : [], auth_events: auth,
      }, rules);
      const e = { id: computeEventId(pdu, rules), pdu, depth: (prev?.depth ?? 0) + 1 };
      events.push(e);
      return e.id;
    };
    const create = await add('m.room.create', { creator: carol, room_version: '10' }, []);
    const member = await add('m.room.member', { membership: 'join' }, [create]);
    const pl = await add('m.room.power_levels', { users: { [carol]: 100 } }, [create, member]);
    const jr = await add('m.room.join_rules', { join_rule: 'public' }, [create, member, pl]);
    fake().handle('GET', /^\/_matrix\/federation\/v1\/make_join\/([^/]+)\/([^/]+)$/, (_req, m) => ({
      body: {
        room_version: '10',
        event: {
          type: 'm.room.member', room_id: roomId, sender: decodeURIComponent(m[2]!), state_key: decodeURIComponent(m[2]!), content: { membership: 'join' },
          origin: FAKE, origin_server_ts: Date.now(), depth: events.at(-1)!.depth + 1, prev_events: [jr], auth_events: [create, pl, jr],
        },
      },
    }));
    fake().handle('PUT', /^\/_matrix\/federation\/v2\/send_join\//, () => ({
      body: { origin: FAKE, state: events.map((e) => e.pdu), auth_chain: events.map((e) => e.pdu) },
    }));

    const dana = await register('dana');
    const joined = await request('POST', `${C}/join/{roomIdOrAlias}`, { path: `${C}/join/${enc(roomId)}?server_name=${FAKE}`, token: dana.access_token, body: {}, expect: 200 });
    expect(joined.room_id).toBe(roomId);
    const first = await sync(dana.access_token);
    await sendEdus([{ edu_type: 'm.presence', content: { push: [{ user_id: carol, presence: 'online', status_msg: 'resident', last_active_ago: 0 }] } }]);
    await eventually(async () => {
      const body = await sync(dana.access_token, first.next_batch);
      expect(presenceOf(body, carol)?.content).toMatchObject({ presence: 'online', status_msg: 'resident' });
    });
  });

  it('m.device_list_update and m.signing_key_update reach local room-mates\' /sync device_lists.changed only', async () => {
    const frank = await register('frank');
    const grace = await register('grace');
    const henry = `@henry:${FAKE}`;
    const roomId = await localRoom(frank.access_token);
    await fake().joinRoom(hs().base, HS, roomId, henry);
    const first = await sync(frank.access_token);
    const outsider = await sync(grace.access_token);

    await sendEdus([{ edu_type: 'm.device_list_update', content: { user_id: henry, device_id: 'HDEV', stream_id: 1, prev_id: [], deleted: false } }]);
    const next = await eventually(async () => {
      const body = await sync(frank.access_token, first.next_batch);
      expect(body.device_lists?.changed).toContain(henry);
      return body;
    });
    expect((await sync(grace.access_token, outsider.next_batch)).device_lists?.changed ?? []).not.toContain(henry);

    // Cross-signing keys changed: the same signal.
    await sendEdus([{ edu_type: 'm.signing_key_update', content: { user_id: henry, master_key: { user_id: henry, usage: ['master'], keys: { 'ed25519:K': 'K' } } } }]);
    await eventually(async () => {
      const body = await sync(frank.access_token, next.next_batch);
      expect(body.device_lists?.changed).toContain(henry);
    });
  });
});
