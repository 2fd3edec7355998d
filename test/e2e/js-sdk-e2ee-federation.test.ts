/**
 * The same encrypted chat across two homeservers: two `npm start` instances on loopback that
 * federate (each one's `FEDERATION_HOSTS` names the other, through a relay that records the
 * traffic), alice a user of hs1 and bob of hs2, each a matrix-js-sdk client with Rust crypto.
 *
 * - Alice creates a room with `m.room.encryption` (`m.megolm.v1.aes-sha2`) on hs1 and invites
 *   bob, who joins over federation; they exchange messages both ways and each side decrypts
 *   every message of the other. Room keys travel as Olm-encrypted to-device messages, which
 *   cross servers in `m.direct_to_device` EDUs; each server answers the other's
 *   `user/keys/query` and `user/keys/claim` for its users.
 *   Spec: https://spec.matrix.org/v1.16/client-server-api/#end-to-end-encryption,
 *   https://spec.matrix.org/v1.16/server-server-api/#end-to-end-encryption
 * - Bob logs in a second device: hs2 tells hs1 in an `m.device_list_update` EDU
 *   (https://spec.matrix.org/v1.16/server-server-api/#device-management), alice's client sees
 *   bob in /sync `device_lists.changed`, queries his keys again (over federation) and shares
 *   her next room key with the new device, which decrypts her next message.
 *
 * Every response the clients get is checked against the spec's schema (spec-fetch.ts); a
 * failing test prints the clients' E2EE traffic and the federation traffic between the servers.
 */
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import * as sdk from 'matrix-js-sdk';
import { CRYPTO_START, CRYPTO_WAIT, eventually, expectDecrypted, olmSenders, useCryptoDevices, type CryptoDevice, type Sent } from './js-sdk-crypto';
import { loginClient, registerClient, startSyncing, until } from './js-sdk-helpers';
import { freePort, startInstance, type Instance } from './instance';
import { operationTemplate, responseValidator } from './openapi';
import { startRelay, type Relay, type RelayExchange } from './relay';

const HS1 = 'hs1.test';
const HS2 = 'hs2.test';
const MEGOLM = 'm.megolm.v1.aes-sha2';
const PER_USER = 5;

let hs1: Instance | undefined;
let hs2: Instance | undefined;
let relays: Relay[] = [];

/** Every federation request between the servers, by destination, in the order answered. */
const federation: (RelayExchange & { destination: string })[] = [];
let federationFrom = 0;

beforeAll(async () => {
  const [port1, port2] = [await freePort(), await freePort()];
  const record = (destination: string) => (e: RelayExchange) => federation.push({ ...e, destination });
  relays = [await startRelay(port1, record(HS1)), await startRelay(port2, record(HS2))];
  // Ten messages in a row and the clients' key uploads: the rate limits are not under test.
  const common = { FEDERATION_HOSTS: JSON.stringify({ [HS1]: relays[0]!.url, [HS2]: relays[1]!.url }), RC_MESSAGE_PER_SECOND: '1000', RC_MESSAGE_BURST_COUNT: '1000' };
  [hs1, hs2] = await Promise.all([
    startInstance({ ...common, SERVER_NAME: HS1, PORT: String(port1) }),
    startInstance({ ...common, SERVER_NAME: HS2, PORT: String(port2) }),
  ]);
});

afterAll(async () => {
  await Promise.all([hs1?.stop(), hs2?.stop()]);
  await Promise.all(relays.map((r) => r.close()));
});

beforeEach(() => {
  federationFrom = federation.length;
});

const clip = (text: string, max = 1500) => (text.length > max ? `${text.slice(0, max)}… (${text.length} chars)` : text);

/** The federation traffic of the failing test (all of it in a file). */
function federationReport(): string {
  const since = federation.slice(federationFrom);
  const file = path.join(tmpdir(), `js-sdk-e2ee-federation-${Date.now()}.json`);
  writeFileSync(file, JSON.stringify(since, null, 1));
  const lines = since.flatMap((e) => [`[${e.origin ?? '?'} → ${e.destination}] ${e.method} ${e.path} → ${e.status}`, `    > ${clip(e.requestBody)}`, `    < ${clip(e.responseBody)}`]);
  return `Federation traffic of the failed test (all of it in ${file}):\n${lines.join('\n')}`;
}

const { devices, device } = useCryptoDevices(federationReport);

/** The EDUs of `type` that `origin` sent in transactions (`PUT /send/{txnId}`) since `from`. */
function edusSent(origin: string, type: string, from = 0): Record<string, unknown>[] {
  return federation
    .slice(from)
    .filter((e) => e.origin === origin && e.method === 'PUT' && e.path.startsWith('/_matrix/federation/v1/send/') && e.status === 200)
    .flatMap((e) => ((JSON.parse(e.requestBody) as { edus?: { edu_type: string; content: Record<string, unknown> }[] }).edus ?? []))
    .filter((edu) => edu.edu_type === type)
    .map((edu) => edu.content);
}

/** The bodies of `origin`'s successful `POST` requests to `path` since `from`. */
const postsTo = (origin: string, p: string, from = 0) =>
  federation.slice(from).filter((e) => e.origin === origin && e.method === 'POST' && e.path === p && e.status === 200).map((e) => JSON.parse(e.requestBody) as Record<string, unknown>);

let roomId = '';
let alice: CryptoDevice;
let bob: CryptoDevice;
let bob2: CryptoDevice;
const sent: Sent[] = [];

const say = async (from: CryptoDevice, body: string): Promise<Sent> => {
  const { event_id: id } = await from.client.sendTextMessage(roomId, body);
  const m = { from, id, body };
  sent.push(m);
  return m;
};

describe('matrix-js-sdk with Rust crypto: one encrypted room shared by two homeservers', () => {
  it('alice (hs1) creates an encrypted room and invites bob (hs2), who joins over federation', { timeout: 2 * CRYPTO_WAIT }, async () => {
    const stamp = Date.now().toString(36);
    alice = await device('alice', (opts) => registerClient(hs1!.base, `fedalice${stamp}`, opts));
    bob = await device('bob', (opts) => registerClient(hs2!.base, `fedbob${stamp}`, opts));
    expect(alice.client.getUserId()).toBe(`@fedalice${stamp}:${HS1}`);
    expect(bob.client.getUserId()).toBe(`@fedbob${stamp}:${HS2}`);
    await Promise.all([startSyncing(alice.client, CRYPTO_START), startSyncing(bob.client, CRYPTO_START)]);

    ({ room_id: roomId } = await alice.client.createRoom({
      name: 'js-sdk e2ee over federation',
      preset: sdk.Preset.PrivateChat,
      invite: [bob.client.getUserId()!],
      initial_state: [{ type: 'm.room.encryption', state_key: '', content: { algorithm: MEGOLM } }],
    }));
    await until(() => bob.client.getRoom(roomId)?.getMyMembership() === sdk.KnownMembership.Invite, 'the invite at bob', CRYPTO_WAIT);
    await bob.client.joinRoom(roomId, { viaServers: [HS1] });
    await until(() => alice.client.getRoom(roomId)?.getMember(bob.client.getUserId()!)?.membership === sdk.KnownMembership.Join, "bob's join at alice", CRYPTO_WAIT);
    await eventually(() => bob.crypto.isEncryptionEnabledInRoom(roomId), 'the encryption state at bob');
    expect(await alice.crypto.isEncryptionEnabledInRoom(roomId)).toBe(true);
  });

  it(`alice and bob exchange ${PER_USER} messages each; each decrypts the other's`, { timeout: 3 * CRYPTO_WAIT }, async () => {
    const from = federation.length;
    for (let i = 0; i < 2 * PER_USER; i++) {
      const sender = i % 2 === 0 ? alice : bob;
      await say(sender, `${sender.name} secret ${i}`);
    }
    await expectDecrypted(bob, roomId, sent.filter((m) => m.from === alice));
    await expectDecrypted(alice, roomId, sent.filter((m) => m.from === bob));

    // The room keys crossed the servers as Olm messages in `m.direct_to_device` EDUs, both ways,
    // after each server had asked the other for its user's device keys. Alice, first to send,
    // claimed a one-time key of bob's device; bob answers over the Olm session she opened.
    expect(new Set(olmSenders(bob))).toEqual(new Set([alice.client.getUserId()]));
    expect(new Set(olmSenders(alice))).toEqual(new Set([bob.client.getUserId()]));
    for (const [origin, recipient] of [[HS1, bob], [HS2, alice]] as const) {
      const toDevice = edusSent(origin, 'm.direct_to_device', from);
      expect(toDevice.some((c) => c.type === 'm.room.encrypted' && Object.keys((c.messages ?? {}) as object).includes(recipient.client.getUserId()!)), `${origin} sent an Olm message to ${recipient.name}`).toBe(true);
    }
    expect(postsTo(HS1, '/_matrix/federation/v1/user/keys/query').length).toBeGreaterThan(0);
    expect(postsTo(HS2, '/_matrix/federation/v1/user/keys/query').length).toBeGreaterThan(0);
    expect(postsTo(HS1, '/_matrix/federation/v1/user/keys/claim').map((b) => Object.keys(b.one_time_keys as object))).toContainEqual([bob.client.getUserId()]);
  });

  it("bob logs in a second device on hs2; alice's server hears of it, and the new device decrypts her next message", { timeout: 3 * CRYPTO_WAIT }, async () => {
    const bobId = bob.client.getUserId()!;
    const from = federation.length;
    const aliceFrom = alice.exchanges.length;
    bob2 = await device('bob2', (opts) => loginClient(hs2!.base, bobId, opts));
    expect(bob2.client.getDeviceId()).not.toBe(bob.client.getDeviceId());
    await startSyncing(bob2.client, CRYPTO_START);

    // hs2 announces the device (with its keys, once bob2 has uploaded them) to hs1, which tells
    // alice's client; her client then queries bob's devices again, over federation.
    await eventually(async () => edusSent(HS2, 'm.device_list_update', from).some((c) => c.user_id === bobId && c.device_id === bob2.client.getDeviceId()), 'the m.device_list_update EDU for bob2');
    await eventually(
      async () => [...((await alice.crypto.getUserDeviceInfo([bobId], true)).get(bobId)?.keys() ?? [])].includes(bob2.client.getDeviceId()!),
      "bob2 among bob's devices at alice",
    );
    // Spec "Tracking the device list for a user": the change reached alice's /sync.
    const changedAtAlice = alice.exchanges
      .slice(aliceFrom)
      .filter((e) => e.template === '/_matrix/client/v3/sync' && e.status === 200)
      .flatMap((e) => (e.body as { device_lists?: { changed?: string[] } }).device_lists?.changed ?? []);
    expect(changedAtAlice).toContain(bobId);
    expect([...((await alice.crypto.getUserDeviceInfo([bobId])).get(bobId)?.keys() ?? [])].sort()).toEqual([bob.client.getDeviceId(), bob2.client.getDeviceId()].sort());

    const before = sent.length;
    await say(alice, 'alice to both of bob’s devices');
    const later = sent.slice(before);
    await expectDecrypted(bob2, roomId, later);
    await expectDecrypted(bob, roomId, later);
    // The key reached bob2 from alice over Olm (claimed over federation), not any other way.
    expect(olmSenders(bob2)).toContain(alice.client.getUserId());
    expect(postsTo(HS1, '/_matrix/federation/v1/user/keys/claim', from).some((b) => JSON.stringify(b).includes(bob2.client.getDeviceId()!))).toBe(true);

    // And back: the new device's message decrypts at alice.
    const reply = await say(bob2, 'bob’s second device answers');
    await expectDecrypted(alice, roomId, [reply]);
  });

  it('every response the clients got matches the spec, and so does every answer between the servers', () => {
    for (const d of devices) expect(d.schemaErrors, d.name).toEqual([]);
    expect(devices.map((d) => d.name)).toEqual(['alice', 'bob', 'bob2']);

    // The Server-Server API's schemas for the end-to-end encryption traffic (transactions carry
    // its EDUs). (Not every operation: the spec's v2 invite answer requires an `origin` that
    // events no longer carry, and a countersigned invite must come back as it was sent.)
    const checked = ['POST /_matrix/federation/v1/user/keys/query', 'POST /_matrix/federation/v1/user/keys/claim', 'PUT /_matrix/federation/v1/send/{txnId}'];
    const templates = new Set<string>();
    const mismatches: string[] = [];
    for (const e of federation) {
      const pathname = new URL(e.path, 'http://relay').pathname;
      const template = operationTemplate('server-server', e.method.toLowerCase(), pathname);
      if (!template || e.status !== 200 || !checked.includes(`${e.method} ${template}`)) continue;
      templates.add(`${e.method} ${template}`);
      try {
        responseValidator('server-server', e.method.toLowerCase(), template, 200)(JSON.parse(e.responseBody));
      } catch (error) {
        mismatches.push(`${e.method} ${e.path}: ${String(error)}`);
      }
    }
    expect(mismatches).toEqual([]);
    expect([...templates].sort()).toEqual([...checked].sort());
  });
});
