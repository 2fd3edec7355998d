/**
 * End-to-end encryption keys over federation (spec v1.16, Server-Server API "End-to-End
 * Encryption" and "Device Management") against a real instance and a stand-in server
 * (federation-harness.ts): the instance answers `user/keys/query`, `user/keys/claim` and
 * `user/devices` for its users from their uploaded keys; its clients' `keys/query` and
 * `keys/claim` for the stand-in's users go to the stand-in (signed), with `timeout` honoured and
 * failures listed; and key changes of a local user reach the stand-in, which shares a room with
 * them, as `m.device_list_update` / `m.signing_key_update` EDUs whose `stream_id`s match
 * `user/devices`. Every client response is checked against the spec by spec-client.ts, every
 * federation answer with the server-server schema.
 */
import { describe, expect, it } from 'vitest';
import type { JsonObject } from '../../core/canonical-json';
import { KEY_ALG as ALG, newCrossSigning, newDevice, oneTimeKeys, sign } from '../keys-fixtures';
import { responseValidator } from './openapi';
import { specClient, useFakeServer } from './spec-client';

const HS = 'hs1.test';
const F = '/_matrix/federation/v1';
const C = '/_matrix/client/v3';
const enc = encodeURIComponent;

/** EDUs the stand-in received in transactions. */
const edus: JsonObject[] = [];
const { fake, hs } = useFakeServer(HS, 'fake.test', (server) =>
  server.handle('PUT', /^\/_matrix\/federation\/v1\/send\//, (req) => {
    edus.push(...(((req.body as JsonObject).edus ?? []) as JsonObject[]));
    return { body: { pdus: {} } };
  }),
);
const { request, register } = specClient(hs);

type Session = { user_id: string; access_token: string; device_id: string };

/** A local user with signed device keys and `n` one-time keys uploaded. */
async function userWithKeys(name: string, n: number): Promise<{ session: Session; keys: JsonObject; otks: JsonObject }> {
  const session = await register(name);
  const device = await newDevice(session);
  const keys = device.deviceKeys;
  const otks = await oneTimeKeys(device, n, 'K');
  const uploaded = await request('POST', `${C}/keys/upload`, { token: session.access_token, body: { device_keys: keys, one_time_keys: otks }, expect: 200 });
  expect(uploaded.one_time_key_counts).toEqual({ [ALG]: n });
  return { session, keys, otks };
}

/** A signed request of the stand-in whose 200 answer must match the server-server spec. */
async function federation(method: 'GET' | 'POST', template: string, path: string, body?: JsonObject) {
  const res = await fake().send(hs().base, HS, method, path, body);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  responseValidator('server-server', method.toLowerCase(), template, 200)(res.body);
  return res.body;
}

async function until(what: string, check: () => boolean, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}; EDUs: ${JSON.stringify(edus)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

// ---- tests --------------------------------------------------------------------------------------

describe('keys of this server’s users over federation', { timeout: 60_000 }, () => {
  it('answers user/keys/query, user/keys/claim and user/devices from the uploaded keys', async () => {
    const { session: alice, keys, otks } = await userWithKeys('alice', 2);
    const cs = (await newCrossSigning(alice.user_id)).body;
    await request('POST', `${C}/keys/device_signing/upload`, { token: alice.access_token, body: cs, expect: 200 });

    const queried = await federation('POST', `${F}/user/keys/query`, `${F}/user/keys/query`, { device_keys: { [alice.user_id]: [] } });
    // Display names stay private over federation: the keys as uploaded.
    expect(queried.device_keys).toEqual({ [alice.user_id]: { [alice.device_id]: keys } });
    expect(queried.master_keys).toEqual({ [alice.user_id]: cs.master_key });
    expect(queried.self_signing_keys).toEqual({ [alice.user_id]: cs.self_signing_key });
    expect(queried.user_signing_keys).toBeUndefined();

    const claimed = new Set<string>();
    for (let i = 0; i < 2; i++) {
      const answer = await federation('POST', `${F}/user/keys/claim`, `${F}/user/keys/claim`, { one_time_keys: { [alice.user_id]: { [alice.device_id]: ALG } } });
      const got = answer.one_time_keys[alice.user_id][alice.device_id] as JsonObject;
      const [keyId] = Object.keys(got);
      expect(got[keyId!]).toEqual(otks[keyId!]);
      claimed.add(keyId!);
    }
    expect(claimed.size).toBe(2);

    const devices = await federation('GET', `${F}/user/devices/{userId}`, `${F}/user/devices/${enc(alice.user_id)}`);
    expect(devices).toEqual({ user_id: alice.user_id, stream_id: 1, devices: [{ device_id: alice.device_id, keys }], master_key: cs.master_key, self_signing_key: cs.self_signing_key });
  });
});

describe('keys of other servers’ users', { timeout: 60_000 }, () => {
  it('are asked of their server in signed requests, only the users asked for kept', async () => {
    const me = await register('querier');
    const bob = `@bob:${fake().serverName}`;
    const bobDevice = await newDevice({ user_id: bob, device_id: 'BOBDEVICE' });
    const bobKeys = bobDevice.deviceKeys;
    const bobCs = (await newCrossSigning(bob)).body;
    const bobOtk = await oneTimeKeys(bobDevice, 1, 'B');
    fake().handle('POST', /^\/_matrix\/federation\/v1\/user\/keys\/query$/, () => ({
      body: { device_keys: { [bob]: { BOBDEVICE: bobKeys }, '@intruder:elsewhere.test': {} }, master_keys: { [bob]: bobCs.master_key }, self_signing_keys: { [bob]: bobCs.self_signing_key } },
    }));
    fake().handle('POST', /^\/_matrix\/federation\/v1\/user\/keys\/claim$/, () => ({ body: { one_time_keys: { [bob]: { BOBDEVICE: bobOtk } } } }));

    const queried = await request('POST', `${C}/keys/query`, { token: me.access_token, body: { device_keys: { [bob]: [] } }, expect: 200 });
    expect(queried.failures).toEqual({});
    expect(queried.device_keys).toEqual({ [bob]: { BOBDEVICE: bobKeys } });
    expect(queried.master_keys).toEqual({ [bob]: bobCs.master_key });
    expect(queried.self_signing_keys).toEqual({ [bob]: bobCs.self_signing_key });
    const asked = fake().requests.filter((r) => r.uri === `${F}/user/keys/query`).at(-1)!;
    expect(asked).toMatchObject({ method: 'POST', origin: HS, verified: true, body: { device_keys: { [bob]: [] } } });

    const claimed = await request('POST', `${C}/keys/claim`, { token: me.access_token, body: { one_time_keys: { [bob]: { BOBDEVICE: ALG } } }, expect: 200 });
    expect(claimed).toEqual({ one_time_keys: { [bob]: { BOBDEVICE: bobOtk } }, failures: {} });
    const claimRequest = fake().requests.filter((r) => r.uri === `${F}/user/keys/claim`).at(-1)!;
    expect(claimRequest).toMatchObject({ origin: HS, verified: true, body: { one_time_keys: { [bob]: { BOBDEVICE: ALG } } } });

    // Signing bob's master key with the user-signing key: checked against the master key his
    // server gives, and afterwards shown to the signer only, on the keys his server answers.
    const { body: mine, userSigning } = await newCrossSigning(me.user_id);
    await request('POST', `${C}/keys/device_signing/upload`, { token: me.access_token, body: { master_key: mine.master_key, user_signing_key: mine.user_signing_key }, expect: 200 });
    const bobMasterId = Object.values(bobCs.master_key.keys as JsonObject)[0] as string;
    const signedBob = await sign(bobCs.master_key, me.user_id, `ed25519:${userSigning.publicKey}`, userSigning);
    const uploaded = await request('POST', `${C}/keys/signatures/upload`, { token: me.access_token, body: { [bob]: { [bobMasterId]: signedBob } }, expect: 200 });
    expect(uploaded.failures).toEqual({});
    const again = await request('POST', `${C}/keys/query`, { token: me.access_token, body: { device_keys: { [bob]: [] } }, expect: 200 });
    expect(again.master_keys[bob]).toEqual(signedBob);
    const other = await register('bystander');
    const seenByOther = await request('POST', `${C}/keys/query`, { token: other.access_token, body: { device_keys: { [bob]: [] } }, expect: 200 });
    expect(seenByOther.master_keys[bob]).toEqual(bobCs.master_key);
  });

  it('lists a server that does not answer within the timeout in failures', async () => {
    const me = await register('patient');
    const bob = `@slowbob:${fake().serverName}`;
    fake().handle('POST', /^\/_matrix\/federation\/v1\/user\/keys\/(query|claim)$/, async () => {
      await new Promise((r) => setTimeout(r, 5000));
      return { body: { device_keys: {}, one_time_keys: {} } };
    });
    const started = Date.now();
    const queried = await request('POST', `${C}/keys/query`, { token: me.access_token, body: { device_keys: { [bob]: [], [me.user_id]: [] }, timeout: 500 }, expect: 200 });
    expect(Date.now() - started).toBeLessThan(4000);
    expect(Object.keys(queried.failures)).toEqual([fake().serverName]);
    expect(queried.device_keys).toEqual({ [me.user_id]: {} });
    const claimed = await request('POST', `${C}/keys/claim`, { token: me.access_token, body: { one_time_keys: { [bob]: { D: ALG } }, timeout: 500 }, expect: 200 });
    expect(Object.keys(claimed.failures)).toEqual([fake().serverName]);
    expect(claimed.one_time_keys).toEqual({});
  });
});

describe('device-list EDUs', { timeout: 60_000 }, () => {
  it('tell a server sharing a room of key uploads, cross-signing keys and deleted devices, in stream order', async () => {
    const carol = await register('carol');
    const room = await request('POST', `${C}/createRoom`, { token: carol.access_token, body: { preset: 'public_chat' }, expect: 200 });
    const bob = `@bob:${fake().serverName}`;
    await fake().joinRoom(hs().base, HS, room.room_id, bob);

    const ofCarol = (type: string) => edus.filter((e) => e.edu_type === type && (e.content as JsonObject).user_id === carol.user_id).map((e) => e.content as JsonObject);
    const keys = (await newDevice(carol)).deviceKeys;
    await request('POST', `${C}/keys/upload`, { token: carol.access_token, body: { device_keys: keys }, expect: 200 });
    await until('an m.device_list_update', () => ofCarol('m.device_list_update').length > 0);
    expect(ofCarol('m.device_list_update')).toEqual([{ user_id: carol.user_id, device_id: carol.device_id, stream_id: 1, prev_id: [], keys }]);

    const cs = (await newCrossSigning(carol.user_id)).body;
    await request('POST', `${C}/keys/device_signing/upload`, { token: carol.access_token, body: cs, expect: 200 });
    await until('an m.signing_key_update', () => ofCarol('m.signing_key_update').length > 0);
    expect(ofCarol('m.signing_key_update')).toEqual([{ user_id: carol.user_id, master_key: cs.master_key, self_signing_key: cs.self_signing_key }]);

    // A second device with keys, logged out: its deletion follows in the stream.
    const login = await request('POST', `${C}/login`, { body: { type: 'm.login.password', identifier: { type: 'm.id.user', user: carol.user_id }, password: 'e2e password' }, expect: 200 });
    await request('POST', `${C}/keys/upload`, { token: login.access_token, body: { device_keys: (await newDevice({ user_id: carol.user_id, device_id: login.device_id })).deviceKeys }, expect: 200 });
    await request('POST', `${C}/logout`, { token: login.access_token, body: {}, expect: 200 });
    await until('three m.device_list_update', () => ofCarol('m.device_list_update').length >= 3);
    const updates = ofCarol('m.device_list_update');
    expect(updates.map((u) => [u.device_id, u.stream_id, u.prev_id, u.deleted ?? false])).toEqual([
      [carol.device_id, 1, [], false],
      [login.device_id, 2, [1], false],
      [login.device_id, 3, [2], true],
    ]);
    const devices = await federation('GET', `${F}/user/devices/{userId}`, `${F}/user/devices/${enc(carol.user_id)}`);
    expect(devices.stream_id).toBe(3);
    expect(devices.devices.map((d: { device_id: string }) => d.device_id)).toEqual([carol.device_id]);
  });
});
