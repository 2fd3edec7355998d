/**
 * @module Real end-to-end encryption keys for tests (spec v1.16 "End-to-End Encryption"):
 * ed25519 signing keys, a device's self-signed DeviceKeys, signed one-time and fallback keys,
 * and cross-signing keys. It imports only core/, so workerd tests (test/client) and Node tests
 * (test/e2e) share it.
 */
import { decodeBase64, encodeBase64 } from '../core/base64';
import { cloneJson, type JsonObject } from '../core/canonical-json';
import { nobleEd25519 as ed } from '../core/crypto/ed25519-noble';
import { signingInput } from '../core/crypto/signing';

/** The one-time and fallback key algorithm clients upload (spec "Key algorithms"). */
export const KEY_ALG = 'signed_curve25519';

export interface SigningKey {
  seed: Uint8Array;
  publicKey: string;
}

export async function newSigningKey(): Promise<SigningKey> {
  const seed = crypto.getRandomValues(new Uint8Array(32));
  return { seed, publicKey: encodeBase64(await ed.publicKey(seed)) };
}

/** A random 32-byte key, unpadded base64 (a stand-in curve25519 public key). */
export const randomKey = (): string => encodeBase64(crypto.getRandomValues(new Uint8Array(32)));

/**
 * `obj` with `userId`'s signature under `keyId` added (spec appendix "Signing JSON"). Not
 * core's `signJson`: cross-signing key IDs are public keys, outside a server key ID's alphabet.
 */
export async function sign(obj: JsonObject, userId: string, keyId: string, key: SigningKey): Promise<JsonObject> {
  const out = cloneJson(obj);
  const signature = encodeBase64(await ed.sign(key.seed, signingInput(obj)));
  const signatures = (out.signatures ?? {}) as JsonObject;
  signatures[userId] = { ...((signatures[userId] as JsonObject | undefined) ?? {}), [keyId]: signature };
  out.signatures = signatures;
  return out;
}

/** Whether `obj` carries a valid signature of `userId` under `keyId` by `publicKey`. */
export async function verifies(obj: JsonObject, userId: string, keyId: string, publicKey: string): Promise<boolean> {
  const signature = ((obj.signatures as JsonObject | undefined)?.[userId] as JsonObject | undefined)?.[keyId];
  return typeof signature === 'string' && ed.verify(decodeBase64(publicKey), signingInput(obj), decodeBase64(signature));
}

/** A device with its ed25519 identity key, and its self-signed DeviceKeys. */
export interface Device {
  user_id: string;
  device_id: string;
  key: SigningKey;
  deviceKeys: JsonObject;
}

/** A new device of `owner.user_id` with ID `owner.device_id` (a session fits). */
export async function newDevice(owner: { user_id: string; device_id: string }): Promise<Device> {
  const { user_id, device_id } = owner;
  const key = await newSigningKey();
  const keyId = `ed25519:${device_id}`;
  const unsigned: JsonObject = {
    user_id,
    device_id,
    algorithms: ['m.olm.v1.curve25519-aes-sha2', 'm.megolm.v1.aes-sha2'],
    keys: { [`curve25519:${device_id}`]: randomKey(), [keyId]: key.publicKey },
  };
  return { user_id, device_id, key, deviceKeys: await sign(unsigned, user_id, keyId, key) };
}

/** A KeyObject signed by the device. */
export const signedKey = (device: Device, fields: JsonObject): Promise<JsonObject> => sign(fields, device.user_id, `ed25519:${device.device_id}`, device.key);

/** `n` signed one-time keys (KeyObjects) of the device, IDs `<prefix><i>`. */
export async function oneTimeKeys(device: Device, n: number, prefix = 'AAAA'): Promise<JsonObject> {
  const out: JsonObject = {};
  for (let i = 0; i < n; i++) out[`${KEY_ALG}:${prefix}${i}`] = await signedKey(device, { key: randomKey() });
  return out;
}

/** A signed fallback key of the device with ID `id`. */
export async function fallbackKey(device: Device, id: string): Promise<JsonObject> {
  return { [`${KEY_ALG}:${id}`]: await signedKey(device, { key: randomKey(), fallback: true }) };
}

export interface CrossSigning {
  master: SigningKey;
  selfSigning: SigningKey;
  userSigning: SigningKey;
  /** The body of `keys/device_signing/upload` (without `auth`). */
  body: { master_key: JsonObject; self_signing_key: JsonObject; user_signing_key: JsonObject };
}

/** A full set of cross-signing keys for `userId`, the others signed by the master key. */
export async function newCrossSigning(userId: string): Promise<CrossSigning> {
  const [master, selfSigning, userSigning] = await Promise.all([newSigningKey(), newSigningKey(), newSigningKey()]);
  const key = (usage: string, k: SigningKey): JsonObject => ({ user_id: userId, usage: [usage], keys: { [`ed25519:${k.publicKey}`]: k.publicKey } });
  const bySigner = (obj: JsonObject) => sign(obj, userId, `ed25519:${master.publicKey}`, master);
  return {
    master,
    selfSigning,
    userSigning,
    body: {
      master_key: key('master', master),
      self_signing_key: await bySigner(key('self_signing', selfSigning)),
      user_signing_key: await bySigner(key('user_signing', userSigning)),
    },
  };
}
