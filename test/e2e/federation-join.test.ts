/**
 * Joining a room of another server end to end (spec v1.16, Server-Server API "Joining Rooms"):
 * two instances on loopback, each configured with the other's URL; a user of B joins a public
 * room of A by room ID through `server_name`, and both servers then list both members.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startInstance, type Instance } from './instance';
import { specClient } from './spec-client';

const HS_A = 'hsa.test';
const HS_B = 'hsb.test';

let a: Instance | undefined;
let b: Instance | undefined;
const clientA = specClient(() => a!);
const clientB = specClient(() => b!);

beforeAll(async () => {
  const [portA, portB] = [await freePort(), await freePort()];
  const hosts = JSON.stringify({ [HS_A]: `http://127.0.0.1:${portA}`, [HS_B]: `http://127.0.0.1:${portB}` });
  [a, b] = await Promise.all([
    startInstance({ SERVER_NAME: HS_A, PORT: String(portA), FEDERATION_HOSTS: hosts }),
    startInstance({ SERVER_NAME: HS_B, PORT: String(portB), FEDERATION_HOSTS: hosts }),
  ]);
});

afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
});

const members = (body: { joined: Record<string, unknown> }) => Object.keys(body.joined).sort();

describe('joining a room over federation', () => {
  it("a user of B joins A's public room by ID via server_name; both servers list both members", async () => {
    const alice = await clientA.register('alice');
    const bob = await clientB.register('bob');
    const { room_id: roomId } = await clientA.request('POST', '/_matrix/client/v3/createRoom', {
      token: alice.access_token, body: { preset: 'public_chat', name: 'Federated' }, expect: 200,
    });

    // B does not have the room: without a server to ask, the join cannot happen.
    if (!roomId.includes(':')) {
      await clientB.request('POST', '/_matrix/client/v3/join/{roomIdOrAlias}', { path: `/_matrix/client/v3/join/${encodeURIComponent(roomId)}`, token: bob.access_token, body: {}, expect: 404 });
    }

    const joined = await clientB.request('POST', '/_matrix/client/v3/join/{roomIdOrAlias}', {
      path: `/_matrix/client/v3/join/${encodeURIComponent(roomId)}?server_name=${HS_A}`, token: bob.access_token, body: {}, expect: 200,
    });
    expect(joined.room_id).toBe(roomId);

    const expected = [alice.user_id, bob.user_id].sort();
    const onB = await clientB.request('GET', '/_matrix/client/v3/rooms/{roomId}/joined_members', {
      path: `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/joined_members`, token: bob.access_token, expect: 200,
    });
    expect(members(onB)).toEqual(expected);
    const onA = await clientA.request('GET', '/_matrix/client/v3/rooms/{roomId}/joined_members', {
      path: `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/joined_members`, token: alice.access_token, expect: 200,
    });
    expect(members(onA)).toEqual(expected);

    // B has the room's state from A: its name.
    const name = await clientB.request('GET', '/_matrix/client/v3/rooms/{roomId}/state/{eventType}/{stateKey}', {
      path: `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/state/m.room.name/`, token: bob.access_token, expect: 200,
    });
    expect(name.name).toBe('Federated');

    // Bob's /sync on B shows the room joined, with his join in the timeline.
    const synced = await clientB.request('GET', '/_matrix/client/v3/sync', { path: '/_matrix/client/v3/sync?timeout=0', token: bob.access_token, expect: 200 });
    const room = synced.rooms?.join?.[roomId];
    expect(room, JSON.stringify(synced.rooms)).toBeDefined();
    expect(room.timeline.events.map((e: { type: string; sender: string }) => `${e.type} ${e.sender}`)).toContain(`m.room.member ${bob.user_id}`);
    expect(room.state.events.map((e: { type: string }) => e.type)).toContain('m.room.create');
  });
});
