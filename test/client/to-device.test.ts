/**
 * Send-to-device messaging and device-list changes (spec v1.16, Client-Server API
 * "Send-to-Device messaging" and "End-to-End Encryption", Server-Server API "Send-to-device
 * messaging"): `PUT /sendToDevice`, the /sync extensions (`to_device`, `device_lists`, key
 * counts), `GET /keys/changes`, and the `m.direct_to_device` EDU both ways. Every /sync body is
 * checked against the spec's /sync schema plus the shapes "Extensions to /sync" gives the
 * extensions (the OpenAPI leaves those as bare objects).
 */
import { env } from 'cloudflare:test';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { JsonObject } from '../../core/canonical-json';
import { userApi } from '../../durable-objects/user/api';
import { MAX_TO_DEVICE_PER_SYNC } from '../../workers/homeserver/client/sync';
import { receiveEdus } from '../../workers/homeserver/federation/edus';
import { call, json, loginUser, registerUser, type Session } from './helpers';
import { createRoom, enc, fails, ok, sendMessage, type ClientEvent } from './room-helpers';
import { specRequest } from './spec-request';
import { settle } from './sync-helpers';

interface ToDeviceEvent {
  sender: string;
  type: string;
  content: Record<string, unknown>;
}

interface E2eeSyncBody {
  next_batch: string;
  to_device: { events: ToDeviceEvent[] };
  device_lists?: { changed?: string[]; left?: string[] };
  device_one_time_keys_count?: Record<string, number>;
  device_unused_fallback_key_types?: string[];
  rooms?: {
    join?: Record<string, { timeline: { events: ClientEvent[] }; state: { events: ClientEvent[] } }>;
    leave?: Record<string, { timeline: { events: ClientEvent[] } }>;
  };
}

const SYNC = '/_matrix/client/v3/sync';

/** Spec "Extensions to /sync" (send-to-device and end-to-end encryption): the shapes the OpenAPI leaves open. */
function expectSpecSync(body: E2eeSyncBody): void {
  expect(Array.isArray(body.to_device.events)).toBe(true);
  for (const e of body.to_device.events) {
    expect(Object.keys(e).sort()).toEqual(['content', 'sender', 'type']);
    expect(typeof e.sender).toBe('string');
    expect(typeof e.type).toBe('string');
    expect(typeof e.content).toBe('object');
  }
  if (body.device_lists) {
    for (const key of ['changed', 'left'] as const) {
      const list = body.device_lists[key];
      if (list !== undefined) expect(list.every((u) => typeof u === 'string')).toBe(true);
    }
  }
  for (const n of Object.values(body.device_one_time_keys_count ?? {})) expect(Number.isInteger(n)).toBe(true);
  if (body.device_unused_fallback_key_types !== undefined) expect(body.device_unused_fallback_key_types.every((t) => typeof t === 'string')).toBe(true);
}

async function sync(s: Session, params: Record<string, string | number> = {}): Promise<E2eeSyncBody> {
  const q = new URLSearchParams(Object.entries(params).map(([k, v]): [string, string] => [k, String(v)]));
  const body: E2eeSyncBody = await specRequest('GET', SYNC, { path: `${SYNC}?${q}`, token: s.access_token, status: 200 });
  expectSpecSync(body);
  return body;
}

/** Syncs that leave presence alone (spec `set_presence=offline`), for tests timing a long-poll's wake. */
const NO_PRESENCE = { set_presence: 'offline' } as const;

let txn = 0;
function sendToDevice(from: Session, type: string, messages: Record<string, Record<string, unknown>>, txnId = `td${++txn}`) {
  return ok('PUT', `/v3/sendToDevice/${enc(type)}/${enc(txnId)}`, from.access_token, { messages });
}

/** A second device of `s`'s account. */
async function secondDevice(s: Session): Promise<Session> {
  const res = await loginUser(s.user_id);
  expect(res.status).toBe(200);
  return json<Session>(res);
}

const contents = (b: E2eeSyncBody) => b.to_device.events.map((e) => e.content);

describe('PUT /sendToDevice and /sync to_device', () => {
  it('delivers to one device or to every device ("*"), as {sender, type, content}', async () => {
    const alice = await registerUser();
    const alice2 = await secondDevice(alice);
    const bob = await registerUser();
    expect(await sendToDevice(bob, 'org.example.one', { [alice.user_id]: { [alice.device_id]: { n: 1 } } })).toEqual({});
    await sendToDevice(bob, 'org.example.all', { [alice.user_id]: { '*': { n: 2 } } });
    // A device the user does not have gets nothing; nor does anything break.
    await sendToDevice(bob, 'org.example.none', { [alice.user_id]: { NOSUCHDEVICE: { n: 3 } } });

    const first = await sync(alice);
    expect(first.to_device.events).toEqual([
      { sender: bob.user_id, type: 'org.example.one', content: { n: 1 } },
      { sender: bob.user_id, type: 'org.example.all', content: { n: 2 } },
    ]);
    expect((await sync(alice2)).to_device.events).toEqual([{ sender: bob.user_id, type: 'org.example.all', content: { n: 2 } }]);
    expect((await sync(bob)).to_device.events).toEqual([]);
  });

  it('keeps messages until a sync acknowledges them with the next since', async () => {
    const alice = await registerUser();
    const bob = await registerUser();
    const start = await sync(alice);
    await sendToDevice(bob, 'org.example.m', { [alice.user_id]: { [alice.device_id]: { n: 1 } } });

    const got = await sync(alice, { since: start.next_batch });
    expect(contents(got)).toEqual([{ n: 1 }]);
    // The response was lost: the same since gets the message again.
    expect(contents(await sync(alice, { since: start.next_batch }))).toEqual([{ n: 1 }]);
    // Acknowledged by the next since: gone, and gone for good.
    expect(contents(await sync(alice, { since: got.next_batch }))).toEqual([]);
    expect(contents(await sync(alice, { since: start.next_batch }))).toEqual([]);
    expect(contents(await sync(alice))).toEqual([]);
  });

  it('delivers a retried transaction once; the txn ID is scoped to the sending device', async () => {
    const alice = await registerUser();
    const bob = await registerUser();
    const bob2 = await secondDevice(bob);
    await sendToDevice(bob, 'org.example.m', { [alice.user_id]: { [alice.device_id]: { n: 1 } } }, 'same');
    // The retry (even with other content) delivers nothing new.
    await sendToDevice(bob, 'org.example.m', { [alice.user_id]: { [alice.device_id]: { n: 1 } } }, 'same');
    await sendToDevice(bob, 'org.example.m', { [alice.user_id]: { [alice.device_id]: { n: 99 } } }, 'same');
    // The same txn ID from another device, and another txn ID, are new messages.
    await sendToDevice(bob2, 'org.example.m', { [alice.user_id]: { [alice.device_id]: { n: 2 } } }, 'same');
    await sendToDevice(bob, 'org.example.m', { [alice.user_id]: { [alice.device_id]: { n: 3 } } }, 'other');
    expect(contents(await sync(alice))).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
  });

  it('delivers more than one sync carries over several syncs, in order, with nothing lost or repeated', async () => {
    const alice = await registerUser();
    const alice2 = await secondDevice(alice);
    const user = userApi(env.USER, alice.user_id);
    const total = MAX_TO_DEVICE_PER_SYNC * 2 + 17;
    const start = await sync(alice);
    for (let i = 0; i < total; i++) {
      await user.performEnqueueToDevice({ sender: '@bob:elsewhere.test', type: 'org.example.n', message_id: `m${i}`, messages: { [alice.device_id]: { i } } });
      // Another device's messages in between, and a device-list change, share the stream.
      if (i % 50 === 0) await user.performEnqueueToDevice({ sender: '@bob:elsewhere.test', type: 'org.example.n', message_id: `other${i}`, messages: { [alice2.device_id]: { i } } });
      if (i === 150) await user.performDeviceListChanged(['@carol:elsewhere.test']);
    }
    const received: unknown[] = [];
    const changed: string[] = [];
    let token = start.next_batch;
    const sizes: number[] = [];
    for (let round = 0; round < 10; round++) {
      const b = await sync(alice, { since: token, timeout: 0 });
      sizes.push(b.to_device.events.length);
      received.push(...contents(b));
      changed.push(...(b.device_lists?.changed ?? []));
      if (b.next_batch === token) break;
      token = b.next_batch;
    }
    expect(sizes.slice(0, 3)).toEqual([MAX_TO_DEVICE_PER_SYNC, MAX_TO_DEVICE_PER_SYNC, 17]);
    expect(received).toEqual(Array.from({ length: total }, (_, i) => ({ i })));
    expect(changed).toContain('@carol:elsewhere.test');
    // The other device's inbox was not touched by these syncs.
    expect(contents(await sync(alice2)).length).toBe(Math.ceil(total / 50));
  });

  it('wakes a long-poll for a message to the syncing device, not for one to another device', async () => {
    const alice = await registerUser();
    const alice2 = await secondDevice(alice);
    const bob = await registerUser();
    // `offline`: the syncs leave presence alone, so no presence change of alice's own can end a wait.
    const token = (await sync(alice, NO_PRESENCE)).next_batch;

    // Another device's message does not end the wait.
    const t0 = Date.now();
    const quiet = sync(alice, { ...NO_PRESENCE, since: token, timeout: 1500 });
    await new Promise((r) => setTimeout(r, 200));
    await sendToDevice(bob, 'org.example.m', { [alice.user_id]: { [alice2.device_id]: { n: 0 } } });
    const q = await quiet;
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1300);
    expect(q.to_device.events).toEqual([]);

    const t1 = Date.now();
    const woken = sync(alice, { ...NO_PRESENCE, since: q.next_batch, timeout: 20_000 });
    await new Promise((r) => setTimeout(r, 200));
    await sendToDevice(bob, 'org.example.m', { [alice.user_id]: { [alice.device_id]: { n: 1 } } });
    const w = await woken;
    expect(Date.now() - t1).toBeLessThan(10_000);
    expect(contents(w)).toEqual([{ n: 1 }]);
  });

  it("drops a deleted device's inbox", async () => {
    const alice = await registerUser();
    const alice2 = await secondDevice(alice);
    const bob = await registerUser();
    await sendToDevice(bob, 'org.example.m', { [alice.user_id]: { [alice2.device_id]: { n: 1 } } });
    await ok('POST', '/v3/logout', alice2.access_token, {});
    // The same device ID, logged in again, is a new device with an empty inbox.
    const again = await json<Session>(await loginUser(alice.user_id, undefined, { device_id: alice2.device_id }));
    expect(again.device_id).toBe(alice2.device_id);
    expect(contents(await sync(again))).toEqual([]);
  });

  it('rejects a malformed body', async () => {
    const bob = await registerUser();
    const path = '/v3/sendToDevice/org.example.m/bad1';
    await fails('PUT', path, bob.access_token, 400, 'M_MISSING_PARAM', {});
    await fails('PUT', path, bob.access_token, 400, 'M_BAD_JSON', { messages: [] });
    await fails('PUT', path, bob.access_token, 400, 'M_INVALID_PARAM', { messages: { 'not-a-user': { D: {} } } });
    await fails('PUT', path, bob.access_token, 400, 'M_BAD_JSON', { messages: { [bob.user_id]: { D: 'text' } } });
    const res = await call('PUT', path, { body: { messages: {} } });
    expect(res.status).toBe(401);
  });
});

describe('device lists: /sync device_lists and GET /keys/changes', () => {
  it('reports users whose device lists changed between two tokens', async () => {
    const alice = await registerUser();
    const user = userApi(env.USER, alice.user_id);
    const start = await sync(alice);
    // Spec: device_lists is about changes since the previous sync; an initial sync has none.
    await user.performDeviceListChanged(['@carol:elsewhere.test', '@dave:elsewhere.test']);
    expect((await sync(alice)).device_lists?.changed ?? []).toEqual([]);

    const next = await sync(alice, { since: start.next_batch });
    expect(next.device_lists?.changed?.sort()).toEqual(['@carol:elsewhere.test', '@dave:elsewhere.test']);
    expect(next.device_lists?.left).toEqual([]);
    const after = await sync(alice, { since: next.next_batch });
    expect(after.device_lists?.changed).toEqual([]);

    const changes = (from: string, to?: string) =>
      ok<{ changed: string[]; left: string[] }>('GET', `/v3/keys/changes?from=${from}${to === undefined ? '' : `&to=${to}`}`, alice.access_token);
    const between = await changes(start.next_batch, next.next_batch);
    expect(between.changed.sort()).toEqual(['@carol:elsewhere.test', '@dave:elsewhere.test']);
    expect(between.left).toEqual([]);
    expect((await changes(next.next_batch, after.next_batch)).changed).toEqual([]);

    // A user changing again moves to the newer position: reported once more, once.
    await user.performDeviceListChanged(['@carol:elsewhere.test']);
    const latest = await sync(alice, { since: after.next_batch });
    expect(latest.device_lists?.changed).toEqual(['@carol:elsewhere.test']);
    expect((await changes(after.next_batch, latest.next_batch)).changed).toEqual(['@carol:elsewhere.test']);
    // Without `to` (as Synapse allows): up to now.
    expect((await changes(start.next_batch)).changed.sort()).toEqual(['@carol:elsewhere.test', '@dave:elsewhere.test']);
    await fails('GET', '/v3/keys/changes?from=nonsense', alice.access_token, 400, 'M_INVALID_PARAM');
    await fails('GET', '/v3/keys/changes', alice.access_token, 400, 'M_MISSING_PARAM');
  });

  it('wakes a long-poll for a device-list change', async () => {
    const alice = await registerUser();
    const token = (await sync(alice, NO_PRESENCE)).next_batch;
    const t0 = Date.now();
    const woken = sync(alice, { ...NO_PRESENCE, since: token, timeout: 20_000 });
    await new Promise((r) => setTimeout(r, 200));
    await userApi(env.USER, alice.user_id).performDeviceListChanged(['@erin:elsewhere.test']);
    const w = await woken;
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(w.device_lists?.changed).toEqual(['@erin:elsewhere.test']);
  });

  it('still accepts the older token forms (missing positions count as 0)', async () => {
    const alice = await registerUser();
    const bob = await registerUser();
    const first = await sync(alice);
    expect(first.next_batch).toMatch(/^s\d+_\d+_\d+$/);
    const [rooms, accountData] = /^s(\d+)_(\d+)_/.exec(first.next_batch)!.slice(1);
    await sendToDevice(bob, 'org.example.m', { [alice.user_id]: { [alice.device_id]: { n: 1 } } });
    await userApi(env.USER, alice.user_id).performDeviceListChanged(['@frank:elsewhere.test']);
    for (const since of [`s${rooms}_${accountData}`, `s${rooms}`]) {
      const b = await sync(alice, { since });
      expect(contents(b)).toEqual([{ n: 1 }]);
      expect(b.device_lists?.changed).toContain('@frank:elsewhere.test');
    }
  });
});

describe('/sync device_lists from membership changes (spec "Tracking the device list for a user")', () => {
  const join = (s: Session, roomId: string) => ok('POST', `/v3/rooms/${enc(roomId)}/join`, s.access_token, {});
  const leave = (s: Session, roomId: string) => ok('POST', `/v3/rooms/${enc(roomId)}/leave`, s.access_token, {});
  const memberEvent = (events: ClientEvent[] | undefined, userId: string, membership: string) =>
    (events ?? []).some((e) => e.type === 'm.room.member' && e.state_key === userId && e.content.membership === membership);
  /** `userId`'s member event with `membership` in the sync's timeline of `roomId` (joined or left). */
  const shows = (b: E2eeSyncBody, roomId: string, userId: string, membership: string) =>
    memberEvent(b.rooms?.join?.[roomId]?.timeline.events, userId, membership) || memberEvent(b.rooms?.leave?.[roomId]?.timeline.events, userId, membership);

  /**
   * Sync from `since` (always the same token, so the answer covers everything since) until
   * `done` holds: the room events reach the user's object asynchronously.
   */
  async function syncFrom(s: Session, since: string, done: (b: E2eeSyncBody) => boolean, params: Record<string, string | number> = {}): Promise<E2eeSyncBody> {
    for (let i = 0; i < 20; i++) {
      const b = await sync(s, { ...params, since, timeout: 1000 });
      if (done(b)) return b;
    }
    throw new Error(`sync never reached the expected state since ${since}`);
  }

  /** A public room created by `owner` that every one of `others` has joined (named: no heroes' member events in `state`). */
  async function sharedRoom(owner: Session, ...others: Session[]): Promise<string> {
    const roomId = await createRoom(owner, { preset: 'public_chat', name: 'shared' });
    for (const o of others) await join(o, roomId);
    return roomId;
  }

  it('puts a user who left the only shared room in left, not in changed; the next sync has neither', async () => {
    const alice = await registerUser();
    const bob = await registerUser();
    const roomId = await sharedRoom(alice, bob);
    const since = await settle(alice);
    await leave(bob, roomId);
    const b = await syncFrom(alice, since, (x) => shows(x, roomId, bob.user_id, 'leave'));
    expect(b.device_lists?.left).toEqual([bob.user_id]);
    expect(b.device_lists?.changed).not.toContain(bob.user_id);
    const after = await sync(alice, { since: b.next_batch });
    expect(after.device_lists?.left).toEqual([]);
    expect(after.device_lists?.changed).toEqual([]);
  });

  it('keeps a user out of left while another room is still shared; a ban from the last one puts them in', async () => {
    const alice = await registerUser();
    const bob = await registerUser();
    const first = await sharedRoom(alice, bob);
    const second = await sharedRoom(alice, bob);
    const since = await settle(alice);
    await leave(bob, first);
    const b = await syncFrom(alice, since, (x) => shows(x, first, bob.user_id, 'leave'));
    expect(b.device_lists?.left).toEqual([]);
    expect(b.device_lists?.changed).not.toContain(bob.user_id);

    await ok('POST', `/v3/rooms/${enc(second)}/ban`, alice.access_token, { user_id: bob.user_id });
    const banned = await syncFrom(alice, b.next_batch, (x) => shows(x, second, bob.user_id, 'ban'));
    expect(banned.device_lists?.left).toEqual([bob.user_id]);
  });

  it('puts a user who joined a room the user is in into changed', async () => {
    const alice = await registerUser();
    const carol = await registerUser();
    const roomId = await createRoom(alice, { preset: 'public_chat' });
    const since = await settle(alice);
    await join(carol, roomId);
    const b = await syncFrom(alice, since, (x) => shows(x, roomId, carol.user_id, 'join'));
    expect(b.device_lists?.changed).toEqual([carol.user_id]);
    expect(b.device_lists?.left).toEqual([]);
  });

  it("puts a newly joined room's members into changed, even when the timeline is cut short and members are lazy-loaded", async () => {
    const alice = await registerUser();
    const dave = await registerUser();
    const frank = await registerUser();
    const roomId = await sharedRoom(dave, frank);
    const since = await settle(alice);
    await join(alice, roomId);
    // Later messages push the joins out of a one-event timeline; lazy-loading keeps their member
    // events out of `state` (only the sender's is there).
    for (const text of ['one', 'two', 'three']) await sendMessage(dave, roomId, text);
    const filter = JSON.stringify({ room: { timeline: { limit: 1 }, state: { lazy_load_members: true } } });
    const b = await syncFrom(alice, since, (x) => x.rooms?.join?.[roomId]?.timeline.events.some((e) => e.content.body === 'three') ?? false, { filter });
    const part = b.rooms?.join?.[roomId];
    expect(memberEvent(part?.timeline.events, frank.user_id, 'join') || memberEvent(part?.state.events, frank.user_id, 'join')).toBe(false);
    expect(b.device_lists?.changed?.sort()).toEqual([dave.user_id, frank.user_id].sort());
    expect(b.device_lists?.left).toEqual([]);
  });

  it('puts the members of a room the user left into left, unless they share another room', async () => {
    const alice = await registerUser();
    const erin = await registerUser();
    const grace = await registerUser();
    const roomId = await sharedRoom(erin, alice, grace);
    await sharedRoom(grace, alice);
    const since = await settle(alice);
    await leave(alice, roomId);
    const b = await syncFrom(alice, since, (x) => shows(x, roomId, alice.user_id, 'leave'));
    expect(b.device_lists?.left).toEqual([erin.user_id]);
    expect(b.device_lists?.changed).toEqual([]);
  });

  it('reports neither on an initial sync', async () => {
    const alice = await registerUser();
    const bob = await registerUser();
    const roomId = await sharedRoom(alice, bob);
    await leave(bob, roomId);
    await settle(alice);
    const initial = await sync(alice);
    expect(initial.device_lists?.changed ?? []).toEqual([]);
    expect(initial.device_lists?.left ?? []).toEqual([]);
  });
});

describe('/sync key counts and the own device-list change after keys/upload', () => {
  it("reports the syncing device's one-time key counts and unused fallback key types", async () => {
    const alice = await registerUser();
    const alice2 = await secondDevice(alice);
    const start = await sync(alice);
    expect(start.device_one_time_keys_count?.signed_curve25519 ?? 0).toBe(0);
    expect(start.device_unused_fallback_key_types).toEqual([]);

    const signed = (key: string) => ({ key, signatures: { [alice.user_id]: { [`ed25519:${alice.device_id}`]: 'c2lnbmF0dXJl' } } });
    await ok('POST', '/v3/keys/upload', alice.access_token, {
      device_keys: {
        user_id: alice.user_id,
        device_id: alice.device_id,
        algorithms: ['m.olm.v1.curve25519-aes-sha2', 'm.megolm.v1.aes-sha2'],
        keys: { [`curve25519:${alice.device_id}`]: 'Y3VydmU', [`ed25519:${alice.device_id}`]: 'ZWQyNTUxOQ' },
        signatures: { [alice.user_id]: { [`ed25519:${alice.device_id}`]: 'c2lnbmF0dXJl' } },
      },
      one_time_keys: { 'signed_curve25519:AAAAAQ': signed('b3RrMQ'), 'signed_curve25519:AAAAAg': signed('b3RrMg') },
      fallback_keys: { 'signed_curve25519:AAAAAw': { ...signed('ZmFsbGJhY2s'), fallback: true } },
    });
    const next = await sync(alice, { since: start.next_batch });
    expect(next.device_one_time_keys_count).toMatchObject({ signed_curve25519: 2 });
    expect(next.device_unused_fallback_key_types).toEqual(['signed_curve25519']);
    // New device keys are a change of the user's own device list.
    expect(next.device_lists?.changed).toContain(alice.user_id);
    // The counts are the syncing device's own.
    const other = await sync(alice2);
    expect(other.device_one_time_keys_count?.signed_curve25519 ?? 0).toBe(0);
    expect(other.device_unused_fallback_key_types).toEqual([]);
  });
});

describe('m.direct_to_device over federation', () => {
  const ORIGIN = 'remote.example';

  it('delivers an inbound EDU to local users once; a sender of another server is ignored', async () => {
    const alice = await registerUser();
    const edu = (messageId: string, sender: string, n: number): JsonObject => ({
      edu_type: 'm.direct_to_device',
      content: { sender, type: 'org.example.fed', message_id: messageId, messages: { [alice.user_id]: { '*': { n } }, [`@x:${ORIGIN}`]: { D: { n } } } },
    });
    await receiveEdus(env, ORIGIN, [edu('fed1', `@sender:${ORIGIN}`, 1)]);
    // The retried transaction, and a sender the origin does not own.
    await receiveEdus(env, ORIGIN, [edu('fed1', `@sender:${ORIGIN}`, 1), edu('fed2', `@sender:other.example`, 2)]);
    expect((await sync(alice)).to_device.events).toEqual([{ sender: `@sender:${ORIGIN}`, type: 'org.example.fed', content: { n: 1 } }]);
  });

  describe('outbound', () => {
    const realFetch = globalThis.fetch;
    const sent: { destination: string; edus: { edu_type: string; content: Record<string, unknown> }[] }[] = [];

    beforeEach(() => {
      sent.length = 0;
      globalThis.fetch = (async (input: RequestInfo | URL, init?: RequestInit) => {
        const url = new URL(input instanceof Request ? input.url : String(input));
        if (url.pathname === '/.well-known/matrix/server') return new Response('{}', { status: 404 });
        if (/^\/_matrix\/federation\/v1\/send\//.test(url.pathname) && init?.method === 'PUT') {
          const body = JSON.parse(String(init.body)) as { edus?: (typeof sent)[number]['edus'] };
          sent.push({ destination: url.hostname, edus: body.edus ?? [] });
          return Response.json({ pdus: {} });
        }
        return new Response('{"errcode":"M_UNRECOGNIZED"}', { status: 404 });
      }) as typeof fetch;
    });
    afterEach(() => {
      globalThis.fetch = realFetch;
    });

    it('sends remote recipients one m.direct_to_device EDU per server; local ones get theirs directly', async () => {
      const bob = await registerUser();
      const alice = await registerUser();
      const tag = Math.random().toString(36).slice(2, 8);
      const [one, two] = [`one${tag}.test`, `two${tag}.test`];
      await sendToDevice(bob, 'org.example.out', {
        [`@a:${one}`]: { D1: { n: 1 } },
        [`@b:${one}`]: { '*': { n: 2 } },
        [`@c:${two}`]: { D3: { n: 3 } },
        [alice.user_id]: { [alice.device_id]: { n: 4 } },
      }, `out${tag}`);
      expect(contents(await sync(alice))).toEqual([{ n: 4 }]);

      const end = Date.now() + 5_000;
      while (sent.filter((s) => s.edus.length > 0).length < 2 && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
      const edusTo = (server: string) => sent.filter((s) => s.destination === server).flatMap((s) => s.edus);
      const toOne = edusTo(one);
      const toTwo = edusTo(two);
      expect(toOne).toHaveLength(1);
      expect(toTwo).toHaveLength(1);
      expect(toOne[0]!.edu_type).toBe('m.direct_to_device');
      const c1 = toOne[0]!.content;
      expect(c1).toMatchObject({ sender: bob.user_id, type: 'org.example.out', messages: { [`@a:${one}`]: { D1: { n: 1 } }, [`@b:${one}`]: { '*': { n: 2 } } } });
      expect(toTwo[0]!.content).toMatchObject({ sender: bob.user_id, type: 'org.example.out', messages: { [`@c:${two}`]: { D3: { n: 3 } } } });
      // One message ID per request, the same for every server, stable across a retry.
      expect(typeof c1.message_id).toBe('string');
      expect(toTwo[0]!.content.message_id).toBe(c1.message_id);
      expect(JSON.stringify(c1)).not.toContain(`out${tag}`);
    });
  });
});
