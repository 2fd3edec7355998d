/**
 * End-to-end encryption with real clients: matrix-js-sdk (the npm package, unmodified) with its
 * Rust crypto (`matrix-sdk-crypto-wasm`) in Node, against `npm start` over HTTP.
 *
 * - Two users register through the SDK; alice creates a room with `m.room.encryption`
 *   (`m.megolm.v1.aes-sha2`), bob joins, and they exchange 10 messages each. Each side decrypts
 *   every message of the other (devices unverified: the SDK's default isolation mode shares room
 *   keys with every device); the server only ever holds ciphertext.
 *   Spec: https://spec.matrix.org/v1.16/client-server-api/#end-to-end-encryption
 * - Alice's first device backs its room keys up (`room_keys`); a second device of hers, logged in
 *   later, cannot read the history until it gets the backup key, then restores the backup and
 *   decrypts every earlier message as it pages back.
 *   Spec: https://spec.matrix.org/v1.16/client-server-api/#server-side-key-backups
 * - Messages sent after that login reach the new device: the others learn of it through
 *   /sync `device_lists` and share their room keys with it over to-device messages.
 * - Cross-signing: alice bootstraps her keys (the first upload needs no UIA), bob's
 *   `keys/query` shows her master key and her device signed by her self-signing key; replacing
 *   the keys needs UIA, which the SDK's callback completes with `m.login.password`.
 *   Spec: https://spec.matrix.org/v1.16/client-server-api/#cross-signing
 *
 * Every response the SDK gets is checked against the spec's schema (spec-fetch.ts), and the
 * HTTP traffic of the failing test is printed when one fails.
 */
import { describe, expect, it } from 'vitest';
import * as sdk from 'matrix-js-sdk';
import { CrossSigningKey, EventShieldReason } from 'matrix-js-sdk/lib/crypto-api/index.js';
import type { UIAuthCallback } from 'matrix-js-sdk/lib/interactive-auth.js';
import {
  CRYPTO_START as START,
  CRYPTO_WAIT as WAIT,
  eventually,
  expectDecrypted as expectDecryptedIn,
  olmSenders,
  sessionIds as sessionIdsIn,
  shown as shownIn,
  useCryptoDevices,
  type CryptoDevice as Device,
  type Sent,
} from './js-sdk-crypto';
import { clientTimeline, loginClient, PASSWORD, registerClient, startSyncing, until } from './js-sdk-helpers';
import { specClient, useInstance } from './spec-client';

const instance = useInstance();
const { request } = specClient(instance);

const C = '/_matrix/client/v3';
const enc = encodeURIComponent;
const MEGOLM = 'm.megolm.v1.aes-sha2';
const PER_USER = 10;

const { devices, device } = useCryptoDevices();
/** A UIA callback for the SDK: the request as is, and on a 401 the `m.login.password` stage. */
function passwordAuth(d: Device, challenges: unknown[]): UIAuthCallback<void> {
  return async (makeRequest) => {
    try {
      return await makeRequest(null);
    } catch (e) {
      if (!(e instanceof sdk.MatrixError) || e.httpStatus !== 401) throw e;
      challenges.push(e.data);
      const { session } = e.data as { session?: string };
      return makeRequest({ type: 'm.login.password', identifier: { type: 'm.id.user', user: d.client.getUserId()! }, password: PASSWORD, session });
    }
  };
}

let roomId = '';
let alice: Device;
let bob: Device;
let alice2: Device;
const sent: Sent[] = [];
let backupVersion = '';

const say = async (from: Device, body: string): Promise<Sent> => {
  const { event_id: id } = await from.client.sendTextMessage(roomId, body);
  const m = { from, id, body };
  sent.push(m);
  return m;
};

/** How `reader` shows `messages` of the room; that it decrypted them; their megolm sessions. */
const shown = (reader: Device, messages: readonly Sent[]) => shownIn(reader, roomId, messages);
const expectDecrypted = (reader: Device, messages: readonly Sent[]) => expectDecryptedIn(reader, roomId, messages);
const sessionIds = (reader: Device, messages: readonly Sent[]) => sessionIdsIn(reader, roomId, messages);

/**
 * Why `reader` would shield each of `messages`: a room key imported from the backup is
 * `AUTHENTICITY_NOT_GUARANTEED` (the backup cannot prove who made it), one received over an Olm
 * to-device message from an unverified device is `UNSIGNED_DEVICE` (or another reason).
 */
const shieldReasons = (reader: Device, messages: readonly Sent[]) =>
  Promise.all(messages.map(async (m) => (await reader.crypto.getEncryptionInfoForEvent(reader.client.getRoom(roomId)!.findEventById(m.id)!))?.shieldReason));

/** Bob's `POST /keys/query` for all of alice's devices and cross-signing keys. */
const bobQueriesAlice = () =>
  request('POST', `${C}/keys/query`, { token: bob.client.getAccessToken()!, body: { device_keys: { [alice.client.getUserId()!]: [] } }, expect: 200 });

describe('matrix-js-sdk with Rust crypto: an encrypted room, key backup, a second device, cross-signing', () => {
  it('two users with Rust crypto; alice creates an encrypted room, bob joins', { timeout: WAIT }, async () => {
    const stamp = Date.now().toString(36);
    alice = await device('alice', (opts) => registerClient(instance().base, `e2alice${stamp}`, opts));
    bob = await device('bob', (opts) => registerClient(instance().base, `e2bob${stamp}`, opts));
    await Promise.all([startSyncing(alice.client, START), startSyncing(bob.client, START)]);

    ({ room_id: roomId } = await alice.client.createRoom({
      name: 'js-sdk e2ee',
      preset: sdk.Preset.PrivateChat,
      invite: [bob.client.getUserId()!],
      initial_state: [{ type: 'm.room.encryption', state_key: '', content: { algorithm: MEGOLM } }],
    }));
    await until(() => bob.client.getRoom(roomId)?.getMyMembership() === sdk.KnownMembership.Invite, 'the invite at bob');
    await bob.client.joinRoom(roomId);
    await until(() => alice.client.getRoom(roomId)?.getMember(bob.client.getUserId()!)?.membership === sdk.KnownMembership.Join, "bob's join at alice");
    // The crypto layer takes the room's `m.room.encryption` state a moment after the room has it.
    await eventually(() => bob.crypto.isEncryptionEnabledInRoom(roomId), 'the encryption state at bob');
    expect(await alice.crypto.isEncryptionEnabledInRoom(roomId)).toBe(true);
    expect(bob.client.getRoom(roomId)?.hasEncryptionStateEvent()).toBe(true);
  });

  it(`alice and bob exchange ${PER_USER} messages each; each decrypts the other's`, { timeout: 2 * WAIT }, async () => {
    for (let i = 0; i < 2 * PER_USER; i++) {
      const from = i % 2 === 0 ? alice : bob;
      await say(from, `${from.name} secret ${i}`);
    }
    await expectDecrypted(bob, sent.filter((m) => m.from === alice));
    await expectDecrypted(alice, sent.filter((m) => m.from === bob));

    // The server only ever held ciphertext (spec "Messaging Algorithms": `m.megolm.v1.aes-sha2`).
    const page = await request('GET', `${C}/rooms/{roomId}/messages`, {
      path: `${C}/rooms/${enc(roomId)}/messages?dir=b&limit=100`,
      token: alice.client.getAccessToken()!,
      expect: 200,
    });
    const stored = new Map<string, { type: string; content: Record<string, unknown> }>(page.chunk.map((e: { event_id: string }) => [e.event_id, e]));
    for (const m of sent) {
      const e = stored.get(m.id);
      expect(e?.type, m.body).toBe('m.room.encrypted');
      expect(e?.content).toMatchObject({ algorithm: MEGOLM, ciphertext: expect.any(String), session_id: expect.any(String) });
      expect(JSON.stringify(e)).not.toContain(m.body);
    }
  });

  it("alice's first device backs up its room keys; the server holds every session", { timeout: WAIT }, async () => {
    await alice.crypto.resetKeyBackup();
    await eventually(async () => (await alice.crypto.getActiveSessionBackupVersion()) !== null, 'the backup enabled at alice');
    backupVersion = (await alice.crypto.getActiveSessionBackupVersion())!;
    const info = await alice.crypto.getKeyBackupInfo();
    expect(info).toMatchObject({ version: backupVersion, algorithm: 'm.megolm_backup.v1.curve25519-aes-sha2' });

    // Both users' sessions (alice's outbound ones and those bob shared with her) go to the backup.
    const sessions = sessionIds(alice, sent);
    expect(sessions.length).toBeGreaterThanOrEqual(2);
    const backedUp = async () => {
      const body = await request('GET', `${C}/room_keys/keys`, { path: `${C}/room_keys/keys?version=${enc(backupVersion)}`, token: alice.client.getAccessToken()!, expect: 200 });
      return Object.keys(body.rooms?.[roomId]?.sessions ?? {});
    };
    await eventually(async () => {
      const ids = await backedUp();
      return sessions.every((s) => ids.includes(s));
    }, 'the sessions in the backup').catch(() => {});
    expect(await backedUp()).toEqual(expect.arrayContaining(sessions));
  });

  it("alice's second device cannot read the history, then restores the backup and decrypts all of it paging back", { timeout: 2 * WAIT }, async () => {
    alice2 = await device('alice2', (opts) => loginClient(instance().base, alice.client.getUserId()!, opts));
    expect(alice2.client.getDeviceId()).not.toBe(alice.client.getDeviceId());
    await startSyncing(alice2.client, START);

    // Without the backup key the history is undecryptable: no other path gave the new device its keys.
    const inTimeline = () => sent.filter((m) => alice2.client.getRoom(roomId)?.findEventById(m.id));
    await until(() => inTimeline().length > 0 && shown(alice2, inTimeline()).every((s) => s.failure !== 'not yet decrypted'), 'the first decryption attempts at alice2', WAIT);
    expect(shown(alice2, inTimeline()).filter((s) => s.failure === null)).toEqual([]);

    // The backup key from the first device (as secret storage or a verification would pass it on).
    const key = await alice.crypto.getSessionBackupPrivateKey();
    expect(key).toBeInstanceOf(Uint8Array);
    await alice2.crypto.storeSessionBackupPrivateKey(key!, backupVersion);
    // (The SDK may fetch single sessions for the messages it failed on at the same time, through
    // `GET /room_keys/keys/{roomId}/{sessionId}`, so how many the bulk restore imported varies.)
    const result = await alice2.crypto.restoreKeyBackup();
    expect(result.total).toBeGreaterThanOrEqual(sessionIds(alice, sent).length);

    // Paging back to the room's creation: every message decrypts with the restored keys.
    const events = await clientTimeline(alice2.client, roomId);
    expect(events[0]?.getType()).toBe('m.room.create');
    await expectDecrypted(alice2, sent);
    expect(new Set(await shieldReasons(alice2, sent))).toEqual(new Set([EventShieldReason.AUTHENTICITY_NOT_GUARANTEED]));
  });

  it('messages sent after the new login reach it: the others learn of the device and share new room keys with it', { timeout: 2 * WAIT }, async () => {
    // New megolm sessions, so the keys alice2 restored from the backup cannot decrypt these.
    await Promise.all([alice.crypto.forceDiscardSession(roomId), bob.crypto.forceDiscardSession(roomId)]);
    const before = sent.length;
    await say(bob, 'bob after the new login');
    await say(alice, 'alice after the new login');
    const later = sent.slice(before);
    await expectDecrypted(alice2, later);
    await expectDecrypted(alice, later.filter((m) => m.from === bob));
    await expectDecrypted(bob, later.filter((m) => m.from === alice));
    expect(sessionIds(alice2, later).filter((id) => sessionIds(alice, sent.slice(0, before)).includes(id))).toEqual([]);

    // Bob learnt of the new device (/sync `device_lists.changed`, then `keys/query`) ...
    const aliceDevices = await bob.crypto.getUserDeviceInfo([alice.client.getUserId()!]);
    expect([...(aliceDevices.get(alice.client.getUserId()!)?.keys() ?? [])].sort()).toEqual([alice.client.getDeviceId(), alice2.client.getDeviceId()].sort());
    // ... and both senders' keys reached it over Olm to-device messages (`sendToDevice`, /sync
    // `to_device`), not from the backup.
    expect(new Set(olmSenders(alice2))).toEqual(new Set([alice.client.getUserId(), bob.client.getUserId()]));
    expect(await shieldReasons(alice2, later)).not.toContain(EventShieldReason.AUTHENTICITY_NOT_GUARANTEED);
  });

  it("alice bootstraps cross-signing; bob's keys/query shows her master key and her device signed by it", { timeout: WAIT }, async () => {
    const aliceId = alice.client.getUserId()!;
    const challenges: unknown[] = [];
    // Spec `POST /keys/device_signing/upload`: the first upload of the keys needs no UIA.
    await alice.crypto.bootstrapCrossSigning({ authUploadDeviceSigningKeys: passwordAuth(alice, challenges) });
    expect(challenges).toEqual([]);
    expect(await alice.crypto.isCrossSigningReady()).toBe(true);
    const master = await alice.crypto.getCrossSigningKeyId(CrossSigningKey.Master);
    const selfSigning = await alice.crypto.getCrossSigningKeyId(CrossSigningKey.SelfSigning);
    expect(master).toBeTruthy();

    const seen = await bobQueriesAlice();
    expect(Object.values(seen.master_keys?.[aliceId]?.keys ?? {})).toEqual([master]);
    expect(Object.values(seen.self_signing_keys?.[aliceId]?.keys ?? {})).toEqual([selfSigning]);
    // Spec "Cross-signing": the self-signing key signs the user's own devices (keys/signatures/upload).
    expect(Object.keys(seen.device_keys?.[aliceId]?.[alice.client.getDeviceId()!]?.signatures?.[aliceId] ?? {})).toContain(`ed25519:${selfSigning}`);
    expect(await bob.crypto.userHasCrossSigningKeys(aliceId, true)).toBe(true);
    expect((await bob.crypto.getDeviceVerificationStatus(aliceId, alice.client.getDeviceId()!))?.signedByOwner).toBe(true);
  });

  it('replacing the cross-signing keys needs UIA, which the SDK completes with m.login.password', { timeout: WAIT }, async () => {
    const aliceId = alice.client.getUserId()!;
    const old = await alice.crypto.getCrossSigningKeyId(CrossSigningKey.Master);
    const challenges: unknown[] = [];
    await alice.crypto.bootstrapCrossSigning({ setupNewCrossSigning: true, authUploadDeviceSigningKeys: passwordAuth(alice, challenges) });
    // Spec "User-interactive authentication": a 401 with the flows and a session.
    expect(challenges).toEqual([expect.objectContaining({ session: expect.any(String), flows: expect.arrayContaining([{ stages: ['m.login.password'] }]) })]);
    const master = await alice.crypto.getCrossSigningKeyId(CrossSigningKey.Master);
    expect(master).not.toBe(old);
    const seen = await bobQueriesAlice();
    expect(Object.values(seen.master_keys?.[aliceId]?.keys ?? {})).toEqual([master]);
  });

  it('every response the SDK got matches the spec, and the clients used every end-to-end encryption endpoint', () => {
    for (const d of devices) expect(d.schemaErrors, d.name).toEqual([]);
    const used = new Set(devices.flatMap((d) => d.exchanges.filter((e) => e.status < 300).map((e) => `${e.method} ${e.template}`)));
    for (const endpoint of [
      'POST /keys/upload',
      'POST /keys/query',
      'POST /keys/claim',
      'PUT /sendToDevice/{eventType}/{txnId}',
      'POST /room_keys/version',
      'PUT /room_keys/keys',
      'GET /room_keys/keys',
      'POST /keys/device_signing/upload',
      'POST /keys/signatures/upload',
    ]) {
      const [method, p] = endpoint.split(' ');
      expect([...used], endpoint).toContain(`${method} ${C}${p}`);
    }
  });
});
