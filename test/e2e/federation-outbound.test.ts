/**
 * Outbound federation end to end (spec v1.16, Server-Server API "Transactions"): a stand-in
 * server (federation-harness.ts) joins a room of a real instance over make_join/send_join, then
 * receives the room's local events as signed `PUT /send/{txnId}` transactions, in order. While
 * it answers 500 the instance retries the same transaction; the instance is stopped and started
 * again on the same data directory, and the stand-in then gets every event exactly once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JsonObject } from '../../core/canonical-json';
import { computeEventId } from '../../core/events/hashes';
import { getRoomVersionRules } from '../../core/room-versions';
import { startFakeServer, type FakeServer, type ReceivedRequest } from './federation-harness';
import { startInstance, tempDataDir, type Instance } from './instance';
import { specClient } from './spec-client';

const HS = 'hs1.test';
const REMOTE = 'remote.test';
const bob = `@bob:${REMOTE}`;

let fake: FakeServer;
let hs: Instance | undefined;
let dataDir: string;
const env = () => ({ SERVER_NAME: HS, DATA_DIR: dataDir, FEDERATION_HOSTS: JSON.stringify({ [REMOTE]: fake.url }) });
const client = specClient(() => hs!);

/** Every `PUT /send` the stand-in got, with what it answered. */
const transactions: { txnId: string; req: ReceivedRequest; status: number }[] = [];
let answerStatus = 200;

beforeAll(async () => {
  fake = await startFakeServer({ serverName: REMOTE });
  fake.handle('PUT', /^\/_matrix\/federation\/v1\/send\/([^/]+)$/, (req, m) => {
    transactions.push({ txnId: decodeURIComponent(m[1]!), req, status: answerStatus });
    return answerStatus === 200 ? { body: { pdus: {} } } : { status: answerStatus, body: { errcode: 'M_UNKNOWN', error: 'down for maintenance' } };
  });
  dataDir = await tempDataDir();
  hs = await startInstance(env());
  fake.trust(HS, hs.base);
});

afterAll(async () => {
  await hs?.stop();
  await fake?.stop();
});

const body = (t: { req: ReceivedRequest }) => t.req.body as { origin: string; pdus: JsonObject[]; edus?: JsonObject[] };
const bodiesOf = (msgs: typeof transactions) => msgs.flatMap((t) => body(t).pdus.map((p) => (p.content as JsonObject).body));

async function until(what: string, check: () => boolean, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}; transactions: ${JSON.stringify(transactions.map((t) => [t.txnId, t.status, bodiesOf([t])]))}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('outbound transactions', () => {
  it('sends local events to a joined server in order, retries through a restart, loses and repeats nothing', async () => {
    const alice = await client.register('alice');
    const room = await client.request('POST', '/_matrix/client/v3/createRoom', { token: alice.access_token, body: { preset: 'public_chat' }, expect: 200 });
    const roomId = room.room_id as string;

    // The stand-in joins (spec "Joining Rooms": make_join, then send_join with its signed event).
    const made = await fake.send(hs!.base, HS, 'GET', `/_matrix/federation/v1/make_join/${encodeURIComponent(roomId)}/${encodeURIComponent(bob)}?ver=10&ver=11&ver=12`);
    expect(made.status, JSON.stringify(made.body)).toBe(200);
    const rules = getRoomVersionRules(made.body.room_version as string)!;
    const join = await fake.signEvent({ ...(made.body.event as JsonObject), origin_server_ts: Date.now() }, rules);
    const joinId = computeEventId(join, rules);
    const joined = await fake.send(hs!.base, HS, 'PUT', `/_matrix/federation/v2/send_join/${encodeURIComponent(roomId)}/${encodeURIComponent(joinId)}`, join);
    expect(joined.status, JSON.stringify(joined.body)).toBe(200);

    const say = (text: string, txn: string) =>
      client.request('PUT', '/_matrix/client/v3/rooms/{roomId}/send/{eventType}/{txnId}', {
        path: `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/send/m.room.message/${txn}`, token: alice.access_token, body: { msgtype: 'm.text', body: text }, expect: 200,
      });
    for (let i = 0; i < 3; i++) await say(`before ${i}`, `b${i}`);
    await until('three messages', () => bodiesOf(transactions).length >= 3);
    // Signed by the instance for this destination (the harness checked it with the instance's published key).
    for (const t of transactions) {
      expect(t.req.origin).toBe(HS);
      expect(t.req.verified).toBe(true);
      expect(body(t).origin).toBe(HS);
    }
    // The stand-in's own join is not sent back to it.
    expect(transactions.flatMap((t) => body(t).pdus).some((p) => p.sender === bob)).toBe(false);

    // The stand-in fails: the instance retries the same transaction, and holds back what follows.
    answerStatus = 500;
    const seen = transactions.length;
    await say('during 0', 'd0');
    await until('a failed transaction', () => transactions.length > seen);
    for (let i = 1; i < 60; i++) await say(`during ${i}`, `d${i}`);
    await until('a retry', () => transactions.length > seen + 1);
    const failed = transactions.slice(seen);
    expect(new Set(failed.map((t) => t.txnId)).size).toBe(1);
    expect(new Set(failed.map((t) => JSON.stringify(t.req.body))).size).toBe(1);
    expect(bodiesOf(failed.slice(0, 1))).toEqual(['during 0']);

    // Stop while the transaction is still owed; start again on the same data; the stand-in is back.
    expect(await hs!.stop()).toBe(0);
    hs = undefined;
    answerStatus = 200;
    hs = await startInstance(env());
    // A receiver keeps the first answer per transaction ID (spec: a repeated transaction is dropped).
    const delivered = () => {
      const firstOk = new Map<string, (typeof transactions)[number]>();
      for (const t of transactions) if (t.status === 200 && !firstOk.has(t.txnId)) firstOk.set(t.txnId, t);
      return [...firstOk.values()];
    };
    // Nothing new is sent: the owed queue resumes by itself (the retry alarm survived the stop).
    await until('the owed messages', () => bodiesOf(delivered()).length >= 63, 30_000);
    for (let i = 0; i < 3; i++) await say(`after ${i}`, `a${i}`);

    const expected = [...[0, 1, 2].map((i) => `before ${i}`), ...Array.from({ length: 60 }, (_, i) => `during ${i}`), ...[0, 1, 2].map((i) => `after ${i}`)];
    await until('every message', () => bodiesOf(delivered()).length >= expected.length, 30_000);
    await new Promise((r) => setTimeout(r, 500));
    expect(bodiesOf(delivered())).toEqual(expected);
    // The owed transaction went again under its ID after the restart.
    expect(transactions.find((t) => t.txnId === failed[0]!.txnId && t.status === 200)).toBeDefined();
    // Spec "Transactions": at most 50 PDUs each.
    expect(Math.max(...transactions.map((t) => body(t).pdus.length))).toBeLessThanOrEqual(50);
    // A local user's typing goes out as an m.typing EDU (spec "Typing Notifications").
    await client.request('PUT', '/_matrix/client/v3/rooms/{roomId}/typing/{userId}', {
      path: `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/typing/${encodeURIComponent(alice.user_id)}`, token: alice.access_token, body: { typing: true, timeout: 20_000 }, expect: 200,
    });
    const typingEdus = () => transactions.flatMap((t) => body(t).edus ?? []).filter((e) => e.edu_type === 'm.typing');
    await until('an m.typing EDU', () => typingEdus().length > 0);
    expect(typingEdus()).toEqual([{ edu_type: 'm.typing', content: { room_id: roomId, user_id: alice.user_id, typing: true } }]);
    // Even counting repeats, no event came in two different transactions.
    const perEvent = new Map<string, Set<string>>();
    for (const t of transactions) for (const p of body(t).pdus) perEvent.set(JSON.stringify(p), (perEvent.get(JSON.stringify(p)) ?? new Set()).add(t.txnId));
    expect([...perEvent.values()].every((ids) => ids.size === 1)).toBe(true);
  });
});
