/**
 * End-to-end encryption keys (spec v1.16 "End-to-End Encryption"): keys/upload, keys/query and
 * keys/claim round trips, one-time and fallback key rules, cross-signing keys with their
 * user-interactive auth, signature uploads checked with real ed25519 signatures, deleted
 * devices losing their keys, device-list changes reaching room-mates, and claims that never
 * hand out a one-time key twice however concurrent. Every response is checked against the
 * spec's OpenAPI schema for its operation and status.
 */
import { env, runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import type { JsonObject } from '../../core/canonical-json';
import { userApi } from '../../durable-objects/user/api';
import { userKeysApi } from '../../durable-objects/user-keys/api';
import { fallbackKey, KEY_ALG as ALG, newCrossSigning, newDevice, newSigningKey, oneTimeKeys, randomKey, sign, verifies } from '../keys-fixtures';
import { call, json, loginUser, passwordAuthDict, registerUser, SERVER, uniqueName, type Session } from './helpers';
import { createRoom, enc, ok } from './room-helpers';
import { specRequest, type SpecBody } from './spec-request';

const UPLOAD = '/_matrix/client/v3/keys/upload';
const QUERY = '/_matrix/client/v3/keys/query';
const CLAIM = '/_matrix/client/v3/keys/claim';
const SIGNING_UPLOAD = '/_matrix/client/v3/keys/device_signing/upload';
const SIGNATURES_UPLOAD = '/_matrix/client/v3/keys/signatures/upload';

// ---- requests -----------------------------------------------------------------------------------

function upload(s: Session, body: unknown, status = 200, errcode?: string): Promise<SpecBody> {
  return specRequest('POST', UPLOAD, { token: s.access_token, body, status, ...(errcode ? { errcode } : {}) });
}

function query(s: Session, deviceKeys: Record<string, string[]>, status = 200): Promise<SpecBody> {
  return specRequest('POST', QUERY, { token: s.access_token, body: { device_keys: deviceKeys }, status });
}

function claim(s: Session, oneTimeKeys: Record<string, Record<string, string>>): Promise<SpecBody> {
  return specRequest('POST', CLAIM, { token: s.access_token, body: { one_time_keys: oneTimeKeys }, status: 200 });
}

const counts = (userId: string, deviceId: string) => userKeysApi(env.USER_KEYS, userId).getOneTimeKeyCounts(deviceId);
const deviceListStream = async (userId: string) => (await userKeysApi(env.USER_KEYS, userId).getKeys([], false)).stream_id;

/** Keys and values of a claim answer for one device. */
const claimedOf = (answer: SpecBody, userId: string, deviceId: string): Record<string, JsonObject> => answer.one_time_keys[userId]?.[deviceId] ?? {};

// ---- tests --------------------------------------------------------------------------------------

describe('keys/upload, keys/query, keys/claim', () => {
  it('round-trips signed device keys and one-time keys, with the device display name added', async () => {
    const alice = await registerUser();
    const bob = await registerUser();
    await ok('PUT', `/v3/devices/${enc(alice.device_id)}`, alice.access_token, { display_name: 'Alice phone' });
    const device = await newDevice(alice);
    const otks = await oneTimeKeys(device, 5);
    const uploaded = await upload(alice, { device_keys: device.deviceKeys, one_time_keys: otks });
    expect(uploaded.one_time_key_counts).toEqual({ [ALG]: 5 });

    const answer = await query(bob, { [alice.user_id]: [] });
    expect(answer.failures).toEqual({});
    const got = answer.device_keys[alice.user_id][alice.device_id];
    expect(got).toEqual({ ...device.deviceKeys, unsigned: { device_display_name: 'Alice phone' } });
    // The device's own signature still verifies on what bob received.
    expect(await verifies(got, alice.user_id, `ed25519:${alice.device_id}`, device.key.publicKey)).toBe(true);
    // A named device only; an unknown one is left out.
    expect(Object.keys((await query(bob, { [alice.user_id]: [alice.device_id, 'NOPE'] })).device_keys[alice.user_id])).toEqual([alice.device_id]);
    // A local user with no keys is listed with no devices.
    expect((await query(alice, { [bob.user_id]: [] })).device_keys[bob.user_id]).toEqual({});

    const claimed = await claim(bob, { [alice.user_id]: { [alice.device_id]: ALG } });
    const got1 = Object.entries(claimedOf(claimed, alice.user_id, alice.device_id));
    expect(got1).toHaveLength(1);
    const [keyId, key] = got1[0]!;
    expect(otks[keyId]).toEqual(key);
    expect(await verifies(key, alice.user_id, `ed25519:${alice.device_id}`, device.key.publicKey)).toBe(true);
    expect((await upload(alice, {})).one_time_key_counts).toEqual({ [ALG]: 4 });
  });

  it('hands out one-time keys oldest upload first', async () => {
    const alice = await registerUser();
    const bob = await registerUser();
    const device = await newDevice(alice);
    const first = await oneTimeKeys(device, 2, 'FIRST');
    await upload(alice, { device_keys: device.deviceKeys, one_time_keys: first });
    await upload(alice, { one_time_keys: await oneTimeKeys(device, 2, 'LATER') });
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) ids.push(...Object.keys(claimedOf(await claim(bob, { [alice.user_id]: { [alice.device_id]: ALG } }), alice.user_id, alice.device_id)));
    expect(ids.slice(0, 2).sort()).toEqual(Object.keys(first).sort());
    expect(ids.slice(2).every((id) => id.includes('LATER'))).toBe(true);
    // All gone, and no fallback key: the device is left out.
    expect((await claim(bob, { [alice.user_id]: { [alice.device_id]: ALG } })).one_time_keys[alice.user_id]).toEqual({});
  });

  it('refuses malformed uploads, queries and claims', async () => {
    const alice = await registerUser();
    const other = await registerUser();
    const device = await newDevice(alice);
    await upload(alice, { device_keys: { ...device.deviceKeys, user_id: other.user_id } }, 400, 'M_BAD_JSON');
    await upload(alice, { device_keys: { ...device.deviceKeys, device_id: 'OTHERDEVICE' } }, 400, 'M_BAD_JSON');
    await upload(alice, { device_keys: { ...device.deviceKeys, keys: 'nope' } }, 400, 'M_BAD_JSON');
    await upload(alice, { device_keys: null }, 400, 'M_BAD_JSON');
    await upload(alice, { one_time_keys: { 'no-colon': randomKey() } }, 400, 'M_BAD_JSON');
    await upload(alice, { one_time_keys: { [`${ALG}:A`]: { key: 5 } } }, 400, 'M_BAD_JSON');
    await upload(alice, { fallback_keys: { ...(await fallbackKey(device, 'F1')), ...(await fallbackKey(device, 'F2')) } }, 400, 'M_INVALID_PARAM');
    // Nothing of a refused upload is kept.
    expect((await query(alice, { [alice.user_id]: [] })).device_keys[alice.user_id]).toEqual({});

    await specRequest('POST', QUERY, { token: alice.access_token, body: {}, status: 400, errcode: 'M_MISSING_PARAM' });
    await specRequest('POST', QUERY, { token: alice.access_token, body: { device_keys: { [alice.user_id]: 'all' } }, status: 400, errcode: 'M_BAD_JSON' });
    await specRequest('POST', CLAIM, { token: alice.access_token, body: { one_time_keys: { [alice.user_id]: [ALG] } }, status: 400, errcode: 'M_BAD_JSON' });
    await specRequest('POST', CLAIM, { token: alice.access_token, body: { one_time_keys: { [alice.user_id]: { DEV: 5 } } }, status: 400, errcode: 'M_BAD_JSON' });
    // Invalid user IDs are skipped, as Synapse does.
    expect((await query(alice, { 'not-a-user': [] })).device_keys).toEqual({});
  });

  it('skips a one-time key uploaded again and refuses another key under a held ID, all or nothing', async () => {
    const alice = await registerUser();
    const device = await newDevice(alice);
    const otks = await oneTimeKeys(device, 3);
    await upload(alice, { device_keys: device.deviceKeys, one_time_keys: otks });
    // The same keys again (re-signed: signatures may differ) change nothing.
    const resigned: JsonObject = {};
    for (const [id, k] of Object.entries(otks)) resigned[id] = await sign({ key: (k as JsonObject).key! }, alice.user_id, `ed25519:${alice.device_id}`, device.key);
    expect((await upload(alice, { one_time_keys: resigned })).one_time_key_counts).toEqual({ [ALG]: 3 });
    // Another key under a held ID: 400, and the new key uploaded with it is not stored either.
    const clash = { ...(await oneTimeKeys(device, 1, 'NEW')), [`${ALG}:AAAA0`]: await sign({ key: randomKey() }, alice.user_id, `ed25519:${alice.device_id}`, device.key) };
    await upload(alice, { one_time_keys: clash }, 400, 'M_INVALID_PARAM');
    expect((await counts(alice.user_id, alice.device_id)).one_time_key_counts).toEqual({ [ALG]: 3 });
  });

  it('leaves no storage behind for users who never uploaded keys', async () => {
    const alice = await registerUser();
    const ghost = `@${uniqueName('ghost')}:${SERVER}`;
    expect((await query(alice, { [ghost]: [] })).device_keys).toEqual({ [ghost]: {} });
    expect((await claim(alice, { [ghost]: { DEV: ALG } })).one_time_keys).toEqual({ [ghost]: {} });
    expect(await counts(ghost, 'DEV')).toEqual({ one_time_key_counts: { [ALG]: 0 }, unused_fallback_key_types: [] });
    const tables = await runInDurableObject(env.USER_KEYS.getByName(ghost), (_instance, state) =>
      state.storage.sql.exec("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%'").toArray(),
    );
    expect(tables).toEqual([]);
  });

  it('treats identical device keys as no change and other keys as a replacement (a device-list change)', async () => {
    const alice = await registerUser();
    const bob = await registerUser();
    const device = await newDevice(alice);
    await upload(alice, { device_keys: device.deviceKeys });
    const stream = await deviceListStream(alice.user_id);
    expect(stream).toBe(1);
    await upload(alice, { device_keys: device.deviceKeys });
    expect(await deviceListStream(alice.user_id)).toBe(stream);
    const replaced = await newDevice(alice);
    await upload(alice, { device_keys: replaced.deviceKeys });
    expect(await deviceListStream(alice.user_id)).toBe(stream + 1);
    const got = (await query(bob, { [alice.user_id]: [] })).device_keys[alice.user_id][alice.device_id];
    expect(got.keys).toEqual(replaced.deviceKeys.keys);
  });
});

describe('fallback keys', () => {
  it('are handed out when one-time keys run out, marked used, re-used, and fresh again when replaced', async () => {
    const alice = await registerUser();
    const bob = await registerUser();
    const device = await newDevice(alice);
    const fb1 = await fallbackKey(device, 'FB1');
    await upload(alice, { device_keys: device.deviceKeys, one_time_keys: await oneTimeKeys(device, 1), fallback_keys: fb1 });
    expect(await counts(alice.user_id, alice.device_id)).toEqual({ one_time_key_counts: { [ALG]: 1 }, unused_fallback_key_types: [ALG] });

    const want = { [alice.user_id]: { [alice.device_id]: ALG } };
    // The one-time key first: the fallback key stays unused.
    expect(Object.keys(claimedOf(await claim(bob, want), alice.user_id, alice.device_id))).toEqual([`${ALG}:AAAA0`]);
    expect((await counts(alice.user_id, alice.device_id)).unused_fallback_key_types).toEqual([ALG]);
    // Then the fallback key, again and again, now used.
    for (let i = 0; i < 2; i++) expect(claimedOf(await claim(bob, want), alice.user_id, alice.device_id)).toEqual(fb1);
    expect(await counts(alice.user_id, alice.device_id)).toEqual({ one_time_key_counts: { [ALG]: 0 }, unused_fallback_key_types: [] });
    // Uploading the same key again keeps it used; a new one replaces it, unused.
    await upload(alice, { fallback_keys: fb1 });
    expect((await counts(alice.user_id, alice.device_id)).unused_fallback_key_types).toEqual([]);
    const fb2 = await fallbackKey(device, 'FB2');
    await upload(alice, { fallback_keys: fb2 });
    expect((await counts(alice.user_id, alice.device_id)).unused_fallback_key_types).toEqual([ALG]);
    expect(claimedOf(await claim(bob, want), alice.user_id, alice.device_id)).toEqual(fb2);
  });

  it('never hand out a one-time key twice to 50 concurrent claims; the rest get the fallback key', async () => {
    const alice = await registerUser();
    const claimers = await Promise.all(Array.from({ length: 5 }, () => registerUser()));
    const device = await newDevice(alice);
    const otks = await oneTimeKeys(device, 30);
    const fb = await fallbackKey(device, 'FALLBACK');
    await upload(alice, { device_keys: device.deviceKeys, one_time_keys: otks, fallback_keys: fb });

    const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => claim(claimers[i % 5]!, { [alice.user_id]: { [alice.device_id]: ALG } })));
    const seen = new Map<string, number>();
    let fallbacks = 0;
    for (const answer of answers) {
      const got = Object.entries(claimedOf(answer, alice.user_id, alice.device_id));
      expect(got).toHaveLength(1);
      const [keyId, key] = got[0]!;
      if (keyId === `${ALG}:FALLBACK`) {
        expect(key).toEqual(fb[keyId]);
        fallbacks++;
      } else {
        expect(key).toEqual(otks[keyId]);
        seen.set(keyId, (seen.get(keyId) ?? 0) + 1);
      }
    }
    expect([...seen.values()].every((n) => n === 1)).toBe(true);
    expect(seen.size).toBe(30);
    expect(fallbacks).toBe(20);
    expect(await counts(alice.user_id, alice.device_id)).toEqual({ one_time_key_counts: { [ALG]: 0 }, unused_fallback_key_types: [] });
  });
});

describe('cross-signing keys', () => {
  it('are uploaded without auth the first time, and need user-interactive auth to change', async () => {
    const alice = await registerUser();
    const bob = await registerUser();
    const cs = await newCrossSigning(alice.user_id);
    await specRequest('POST', SIGNING_UPLOAD, { token: alice.access_token, body: cs.body, status: 200 });

    const mine = await query(alice, { [alice.user_id]: [] });
    expect(mine.master_keys[alice.user_id]).toEqual(cs.body.master_key);
    expect(mine.self_signing_keys[alice.user_id]).toEqual(cs.body.self_signing_key);
    expect(mine.user_signing_keys[alice.user_id]).toEqual(cs.body.user_signing_key);
    // Spec: others see the master and self-signing keys, never the user-signing key.
    const theirs = await query(bob, { [alice.user_id]: [] });
    expect(theirs.master_keys[alice.user_id]).toEqual(cs.body.master_key);
    expect(theirs.self_signing_keys[alice.user_id]).toEqual(cs.body.self_signing_key);
    expect(theirs.user_signing_keys).toEqual({});

    // The same keys again: 200 without auth (spec v1.11: idempotent).
    await specRequest('POST', SIGNING_UPLOAD, { token: alice.access_token, body: cs.body, status: 200 });
    // New keys: UIA with m.login.password.
    const next = await newCrossSigning(alice.user_id);
    const challenge = await call('POST', '/v3/keys/device_signing/upload', { token: alice.access_token, body: next.body });
    expect(challenge.status).toBe(401);
    const uia = await json<{ session: string; flows: { stages: string[] }[] }>(challenge);
    expect(uia.flows).toEqual([{ stages: ['m.login.password'] }]);
    const wrong = await call('POST', '/v3/keys/device_signing/upload', { token: alice.access_token, body: { ...next.body, auth: passwordAuthDict(alice.user_id, uia.session, 'wrong') } });
    expect(wrong.status).toBe(401);
    expect((await query(bob, { [alice.user_id]: [] })).master_keys[alice.user_id]).toEqual(cs.body.master_key);
    await specRequest('POST', SIGNING_UPLOAD, { token: alice.access_token, body: { ...next.body, auth: passwordAuthDict(alice.user_id, uia.session) }, status: 200 });
    expect((await query(bob, { [alice.user_id]: [] })).master_keys[alice.user_id]).toEqual(next.body.master_key);
  });

  it('refuses keys not signed by the master key, of another user, or without a master key', async () => {
    const alice = await registerUser();
    const cs = await newCrossSigning(alice.user_id);
    await specRequest('POST', SIGNING_UPLOAD, { token: alice.access_token, body: { self_signing_key: cs.body.self_signing_key }, status: 400, errcode: 'M_MISSING_PARAM' });
    const forged = await sign({ ...cs.body.self_signing_key, signatures: {} }, alice.user_id, `ed25519:${cs.master.publicKey}`, cs.userSigning);
    await specRequest('POST', SIGNING_UPLOAD, { token: alice.access_token, body: { master_key: cs.body.master_key, self_signing_key: forged }, status: 400, errcode: 'M_INVALID_SIGNATURE' });
    await specRequest('POST', SIGNING_UPLOAD, { token: alice.access_token, body: { master_key: { ...cs.body.master_key, user_id: '@other:test.local' } }, status: 400, errcode: 'M_INVALID_PARAM' });
    await specRequest('POST', SIGNING_UPLOAD, { token: alice.access_token, body: { master_key: { ...cs.body.master_key, usage: ['self_signing'] } }, status: 400, errcode: 'M_INVALID_PARAM' });
    await specRequest('POST', SIGNING_UPLOAD, { token: alice.access_token, body: { master_key: { ...cs.body.master_key, keys: { 'ed25519:other': cs.master.publicKey } } }, status: 400, errcode: 'M_INVALID_PARAM' });
    expect(await userKeysApi(env.USER_KEYS, alice.user_id).getCrossSigningKeys()).toEqual({});

    // Spec: 403 when a public key is one of the user's device IDs.
    const clash = await newSigningKey();
    const login = await json<Session>(await loginUser(alice.user_id, undefined, { device_id: clash.publicKey }));
    expect(login.device_id).toBe(clash.publicKey);
    const master = { user_id: alice.user_id, usage: ['master'], keys: { [`ed25519:${clash.publicKey}`]: clash.publicKey } };
    await specRequest('POST', SIGNING_UPLOAD, { token: alice.access_token, body: { master_key: master }, status: 403, errcode: 'M_FORBIDDEN' });
  });
});

describe('keys/signatures/upload', () => {
  it('stores verified signatures of own devices, own master key and other users’ master keys, with failures per key', async () => {
    const alice = await registerUser();
    const bob = await registerUser();
    const carol = await registerUser();
    const device = await newDevice(alice);
    await upload(alice, { device_keys: device.deviceKeys });
    const cs = await newCrossSigning(alice.user_id);
    await specRequest('POST', SIGNING_UPLOAD, { token: alice.access_token, body: cs.body, status: 200 });
    const bobCs = await newCrossSigning(bob.user_id);
    await specRequest('POST', SIGNING_UPLOAD, { token: bob.access_token, body: bobCs.body, status: 200 });

    const sskId = `ed25519:${cs.selfSigning.publicKey}`;
    const uskId = `ed25519:${cs.userSigning.publicKey}`;
    const signedDevice = await sign(device.deviceKeys, alice.user_id, sskId, cs.selfSigning);
    const signedMaster = await sign(cs.body.master_key, alice.user_id, `ed25519:${alice.device_id}`, device.key);
    const signedBob = await sign(bobCs.body.master_key, alice.user_id, uskId, cs.userSigning);
    const before = await deviceListStream(alice.user_id);
    const result = await specRequest('POST', SIGNATURES_UPLOAD, {
      token: alice.access_token,
      body: { [alice.user_id]: { [alice.device_id]: signedDevice, [cs.master.publicKey]: signedMaster }, [bob.user_id]: { [bobCs.master.publicKey]: signedBob } },
      status: 200,
    });
    expect(result.failures).toEqual({});
    // The signed device is a device-list change.
    expect(await deviceListStream(alice.user_id)).toBe(before + 1);

    // Everyone sees alice's signatures on her own keys, and they verify.
    const seenByCarol = await query(carol, { [alice.user_id]: [], [bob.user_id]: [] });
    const deviceSeen = seenByCarol.device_keys[alice.user_id][alice.device_id];
    expect(await verifies(deviceSeen, alice.user_id, sskId, cs.selfSigning.publicKey)).toBe(true);
    expect(await verifies(deviceSeen, alice.user_id, `ed25519:${alice.device_id}`, device.key.publicKey)).toBe(true);
    const masterSeen = seenByCarol.master_keys[alice.user_id];
    expect(await verifies(masterSeen, alice.user_id, `ed25519:${alice.device_id}`, device.key.publicKey)).toBe(true);
    // Only alice sees her signature on bob's master key.
    expect(seenByCarol.master_keys[bob.user_id]).toEqual(bobCs.body.master_key);
    expect((await query(bob, { [bob.user_id]: [] })).master_keys[bob.user_id]).toEqual(bobCs.body.master_key);
    const bobSeenByAlice = (await query(alice, { [bob.user_id]: [] })).master_keys[bob.user_id];
    expect(await verifies(bobSeenByAlice, alice.user_id, uskId, cs.userSigning.publicKey)).toBe(true);
  });

  it('reports bad signatures, unknown keys, changed keys and missing signing keys as failures and stores nothing of them', async () => {
    const alice = await registerUser();
    const bob = await registerUser();
    const device = await newDevice(alice);
    await upload(alice, { device_keys: device.deviceKeys });
    const bobCs = await newCrossSigning(bob.user_id);
    await specRequest('POST', SIGNING_UPLOAD, { token: bob.access_token, body: bobCs.body, status: 200 });

    // Before alice has cross-signing keys: no self-signing key, no user-signing key.
    const early = await specRequest('POST', SIGNATURES_UPLOAD, {
      token: alice.access_token,
      body: { [alice.user_id]: { [alice.device_id]: device.deviceKeys }, [bob.user_id]: { [bobCs.master.publicKey]: bobCs.body.master_key } },
      status: 200,
    });
    expect(early.failures[alice.user_id][alice.device_id].errcode).toBe('M_NOT_FOUND');
    expect(early.failures[bob.user_id][bobCs.master.publicKey].errcode).toBe('M_NOT_FOUND');

    const cs = await newCrossSigning(alice.user_id);
    await specRequest('POST', SIGNING_UPLOAD, { token: alice.access_token, body: cs.body, status: 200 });
    const sskId = `ed25519:${cs.selfSigning.publicKey}`;
    const impostor = await newSigningKey();
    const badSignature = await sign(device.deviceKeys, alice.user_id, sskId, impostor);
    const changed = await sign({ ...device.deviceKeys, algorithms: ['m.megolm.v1.aes-sha2'] }, alice.user_id, sskId, cs.selfSigning);
    const unknown = { ...(await newDevice({ ...alice, device_id: 'GHOST' })).deviceKeys };
    const bobForged = await sign(bobCs.body.master_key, alice.user_id, `ed25519:${cs.userSigning.publicKey}`, impostor);
    const result = await specRequest('POST', SIGNATURES_UPLOAD, {
      token: alice.access_token,
      body: {
        [alice.user_id]: { [alice.device_id]: badSignature, GHOST: await sign(unknown, alice.user_id, sskId, cs.selfSigning) },
        [bob.user_id]: { [bobCs.master.publicKey]: bobForged, OTHERKEY: bobCs.body.master_key },
      },
      status: 200,
    });
    expect(result.failures[alice.user_id][alice.device_id].errcode).toBe('M_INVALID_SIGNATURE');
    expect(result.failures[alice.user_id].GHOST.errcode).toBe('M_NOT_FOUND');
    expect(result.failures[bob.user_id][bobCs.master.publicKey].errcode).toBe('M_INVALID_SIGNATURE');
    expect(result.failures[bob.user_id].OTHERKEY.errcode).toBe('M_NOT_FOUND');
    const mismatch = await specRequest('POST', SIGNATURES_UPLOAD, { token: alice.access_token, body: { [alice.user_id]: { [alice.device_id]: changed } }, status: 200 });
    expect(mismatch.failures[alice.user_id][alice.device_id].errcode).toBe('M_INVALID_PARAM');

    const seen = await query(alice, { [alice.user_id]: [], [bob.user_id]: [] });
    const { unsigned: _unsigned, ...deviceSeen } = seen.device_keys[alice.user_id][alice.device_id];
    expect(deviceSeen).toEqual(device.deviceKeys);
    expect(seen.master_keys[bob.user_id]).toEqual(bobCs.body.master_key);
    await specRequest('POST', SIGNATURES_UPLOAD, { token: alice.access_token, body: { [alice.user_id]: 'nope' }, status: 400, errcode: 'M_INVALID_PARAM' });
  });
});

describe('deleted devices', () => {
  it('lose their keys on device deletion and on logout', async () => {
    const alice = await registerUser();
    const bob = await registerUser();
    const second = await json<Session>(await loginUser(alice.user_id));
    const third = await json<Session>(await loginUser(alice.user_id));
    for (const s of [second, third]) {
      const d = await newDevice(s);
      await upload(s, { device_keys: d.deviceKeys, one_time_keys: await oneTimeKeys(d, 2), fallback_keys: await fallbackKey(d, 'FB') });
    }
    expect(Object.keys((await query(bob, { [alice.user_id]: [] })).device_keys[alice.user_id]).sort()).toEqual([second.device_id, third.device_id].sort());
    const stream = await deviceListStream(alice.user_id);

    const path = `/v3/devices/${enc(second.device_id)}`;
    const challenge = await json<{ session: string }>(await call('DELETE', path, { token: alice.access_token, body: {} }));
    await ok('DELETE', path, alice.access_token, { auth: passwordAuthDict(alice.user_id, challenge.session) });
    await ok('POST', '/v3/logout', third.access_token, {});

    expect((await query(bob, { [alice.user_id]: [] })).device_keys[alice.user_id]).toEqual({});
    const claimed = await claim(bob, { [alice.user_id]: { [second.device_id]: ALG, [third.device_id]: ALG } });
    expect(claimed.one_time_keys[alice.user_id]).toEqual({});
    expect(await counts(alice.user_id, second.device_id)).toEqual({ one_time_key_counts: { [ALG]: 0 }, unused_fallback_key_types: [] });
    // Two deletions, two device-list changes.
    expect(await deviceListStream(alice.user_id)).toBe(stream + 2);
  });
});

describe('deleted devices, continued', () => {
  it('lose their keys on a password change (other devices) and on deactivation (all)', async () => {
    const alice = await registerUser();
    const bob = await registerUser();
    const other = await json<Session>(await loginUser(alice.user_id));
    for (const s of [alice, other]) await upload(s, { device_keys: (await newDevice(s)).deviceKeys });
    // What others see, and what the UserKeys object still holds (queries hide keys of devices gone).
    const devicesOf = async () => Object.keys((await query(bob, { [alice.user_id]: [] })).device_keys[alice.user_id]).sort();
    const storedOf = async () => Object.keys((await userKeysApi(env.USER_KEYS, alice.user_id).getKeys([], false)).device_keys).sort();
    expect(await devicesOf()).toEqual([alice.device_id, other.device_id].sort());

    await ok('POST', '/v3/account/password', alice.access_token, { new_password: 'another password', auth: passwordAuthDict(alice.user_id) });
    expect(await devicesOf()).toEqual([alice.device_id]);
    expect(await storedOf()).toEqual([alice.device_id]);
    await ok('POST', '/v3/account/deactivate', alice.access_token, { auth: passwordAuthDict(alice.user_id, undefined, 'another password') });
    expect(await devicesOf()).toEqual([]);
    expect(await storedOf()).toEqual([]);
  });
});

describe('device-list changes', () => {
  it('reach the users sharing a room and the user themself', async () => {
    const alice = await registerUser();
    const bob = await registerUser();
    const stranger = await registerUser();
    const roomId = await createRoom(alice);
    await ok('POST', `/v3/rooms/${enc(roomId)}/invite`, alice.access_token, { user_id: bob.user_id });
    await ok('POST', `/v3/rooms/${enc(roomId)}/join`, bob.access_token, {});
    const changes = async (userId: string) => userApi(env.USER, userId).getDeviceListChanges(0, Number.MAX_SAFE_INTEGER);
    expect(await changes(bob.user_id)).not.toContain(alice.user_id);

    await upload(alice, { device_keys: (await newDevice(alice)).deviceKeys });
    expect(await changes(bob.user_id)).toContain(alice.user_id);
    expect(await changes(alice.user_id)).toContain(alice.user_id);
    expect(await changes(stranger.user_id)).not.toContain(alice.user_id);

    // New cross-signing keys count too.
    expect(await changes(stranger.user_id)).toEqual([]);
    await specRequest('POST', SIGNING_UPLOAD, { token: bob.access_token, body: (await newCrossSigning(bob.user_id)).body, status: 200 });
    expect(await changes(alice.user_id)).toContain(bob.user_id);
  });
});
