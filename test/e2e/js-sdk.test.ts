/**
 * matrix-js-sdk (the npm package, unmodified, in Node) against `npm start` over HTTP: two users
 * register, one creates a room and invites the other, who joins; they exchange messages and each
 * client's live timeline holds every message exactly once, in order; a retried send with the
 * same transaction ID gives the same event ID; one client sees the other's typing notification
 * and read receipt. The full scenario (200 messages with edits and redactions across a
 * limited timeline) is js-sdk-chat.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as sdk from 'matrix-js-sdk';
import { registerClient, startSyncing, until, within } from './js-sdk-helpers';
import { startInstance, type Instance } from './instance';

let server: Instance;
const clients: sdk.MatrixClient[] = [];

beforeAll(async () => {
  server = await startInstance();
});
afterAll(async () => {
  for (const c of clients) c.stopClient();
  await server?.stop();
});

async function newClient(name: string): Promise<sdk.MatrixClient> {
  const client = await registerClient(server.base, name);
  clients.push(client);
  // Detached: local echoes stay out of the live timeline, which then shows the server's order.
  await startSyncing(client, { initialSyncLimit: 20, pendingEventOrdering: sdk.PendingEventOrdering.Detached });
  return client;
}

const bodies = (client: sdk.MatrixClient, roomId: string) =>
  (client.getRoom(roomId)?.getLiveTimeline().getEvents() ?? [])
    .filter((e) => e.getType() === 'm.room.message' && e.getId()?.startsWith('$'))
    .map((e) => e.getContent().body as string);

describe('matrix-js-sdk against npm start', () => {
  it('two users chat in a room and each sees every message exactly once, in order', async () => {
    const stamp = Date.now().toString(36);
    const alice = await newClient(`alice${stamp}`);
    const bob = await newClient(`bob${stamp}`);

    const { room_id: roomId } = await alice.createRoom({ name: 'js-sdk test', invite: [bob.getUserId()!] });
    await until(() => bob.getRoom(roomId)?.getMyMembership() === 'invite', 'the invite');
    await bob.joinRoom(roomId);
    await until(() => alice.getRoom(roomId)?.getMember(bob.getUserId()!)?.membership === 'join', "bob's join");

    const expected: string[] = [];
    for (let i = 0; i < 20; i++) {
      const [sender, name] = i % 2 === 0 ? [alice, 'alice'] : [bob, 'bob'];
      const body = `${name} says ${i}`;
      expected.push(body);
      await sender.sendTextMessage(roomId, body);
    }
    for (const c of [alice, bob]) {
      await until(() => bodies(c, roomId).length >= expected.length, `all messages at ${c.getUserId()}`);
      expect(bodies(c, roomId)).toEqual(expected);
    }
  });

  it('a retried send with the same transaction ID gives the same event ID', async () => {
    const carol = await newClient(`carol${Date.now().toString(36)}`);
    const { room_id: roomId } = await carol.createRoom({});
    const path = `/rooms/${encodeURIComponent(roomId)}/send/m.room.message/retry-1`;
    const first = await carol.http.authedRequest<{ event_id: string }>(sdk.Method.Put, path, undefined, { msgtype: 'm.text', body: 'once' });
    const again = await carol.http.authedRequest<{ event_id: string }>(sdk.Method.Put, path, undefined, { msgtype: 'm.text', body: 'once' });
    expect(again.event_id).toBe(first.event_id);
  });

  it('one client sees the other type and read a message', async () => {
    const stamp = Date.now().toString(36);
    const alice = await newClient(`dana${stamp}`);
    const bob = await newClient(`erin${stamp}`);
    const { room_id: roomId } = await alice.createRoom({ name: 'ephemeral', invite: [bob.getUserId()!] });
    await until(() => bob.getRoom(roomId)?.getMyMembership() === 'invite', 'the invite');
    await bob.joinRoom(roomId);
    await until(() => alice.getRoom(roomId)?.getMember(bob.getUserId()!)?.membership === 'join', "bob's join");

    const aliceId = alice.getUserId()!;
    const typing = new Promise<void>((resolve) => {
      bob.on(sdk.RoomMemberEvent.Typing, (_event, member) => {
        if (member.roomId === roomId && member.userId === aliceId && member.typing) resolve();
      });
    });
    await alice.sendTyping(roomId, true, 30_000);
    await within(typing, 'the typing notification');

    const { event_id: eventId } = await bob.sendTextMessage(roomId, 'read this');
    await until(() => alice.getRoom(roomId)?.findEventById(eventId) !== undefined, 'the message at alice');
    const read = new Promise<void>((resolve) => {
      const check = () => {
        if (bob.getRoom(roomId)?.getUsersReadUpTo(bob.getRoom(roomId)!.findEventById(eventId)!).includes(aliceId)) resolve();
      };
      bob.on(sdk.RoomEvent.Receipt, check);
    });
    await alice.sendReadReceipt(alice.getRoom(roomId)!.findEventById(eventId)!);
    await within(read, 'the read receipt');
  });
});
