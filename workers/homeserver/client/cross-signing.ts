/**
 * Cross-signing checks (spec v1.16, Client-Server API "Cross-signing",
 * https://spec.matrix.org/v1.16/client-server-api/#cross-signing): the shape of uploaded
 * cross-signing keys and the master key's signature on the others (`keys/device_signing/upload`),
 * and the signatures of `keys/signatures/upload` — the self-signing key's on the user's devices,
 * the devices' on the user's master key, the user-signing key's on other users' master keys.
 * Signatures are verified here, in the worker; the UserKeys object stores what passed, checking
 * that the signed keys did not change meanwhile (durable-objects/user-keys/api.ts).
 */
import { decodeBase64 } from '../../../core/base64';
import { isJsonObject, type JsonObject, type JsonValue } from '../../../core/canonical-json';
import { webCryptoEd25519 } from '../../../core/crypto/ed25519-webcrypto';
import { verifyJsonSignature } from '../../../core/crypto/signing';
import { serverNameOf, type UserId } from '../../../core/ids';
import type { CrossSigningUpload, CrossSigningUsage, SignatureItem } from '../../../durable-objects/user-keys/api';
import { crossSigningPublicKey, signedPart, userKeysApi } from '../../../durable-objects/user-keys/api';
import type { HomeserverConfig } from '../../shared/config';
import { MatrixError, type Errcode } from '../../shared/errors';
import { federationRequest, federationSender } from '../../shared/federation-client';
import type { HomeserverBindings } from '../env';

/** A per-key failure of `keys/signatures/upload` (spec: an error object, `M_INVALID_SIGNATURE` for a bad signature). */
export interface KeyFailure {
  errcode: Errcode;
  error: string;
  [key: string]: JsonValue;
}

/** The body field of each cross-signing key in `keys/device_signing/upload`. */
export const CROSS_SIGNING_FIELDS: Record<CrossSigningUsage, string> = { master: 'master_key', self_signing: 'self_signing_key', user_signing: 'user_signing_key' };

/** Whether `obj` carries a valid signature of `userId` under `keyId` by the ed25519 public key `publicKey` (base64). */
export async function hasValidSignature(obj: JsonObject, userId: string, keyId: string, publicKey: string): Promise<boolean> {
  let key: Uint8Array;
  try {
    key = decodeBase64(publicKey);
  } catch {
    return false;
  }
  return verifyJsonSignature(obj, userId, keyId, key, webCryptoEd25519);
}

/** `obj.signatures[userId]` as a map of strings, or undefined. */
function signaturesBy(obj: JsonObject, userId: string): Record<string, string> | undefined {
  const all = obj.signatures;
  const mine = isJsonObject(all) ? all[userId] : undefined;
  if (!isJsonObject(mine)) return undefined;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(mine)) if (typeof v === 'string') out[k] = v;
  return out;
}

/**
 * Check one uploaded cross-signing key (Synapse `_check_cross_signing_key`): it is the user's,
 * its `usage` names its kind, and it holds one ed25519 public key named by itself.
 */
function checkCrossSigningKey(key: JsonObject, userId: string, usage: CrossSigningUsage): string {
  const usages = key.usage;
  const publicKey = crossSigningPublicKey(key);
  if (key.user_id !== userId || !Array.isArray(usages) || !usages.includes(usage) || publicKey === undefined) {
    throw new MatrixError(400, 'M_INVALID_PARAM', `Invalid ${usage} key: it must be the user's, list "${usage}" in usage and hold one ed25519 key.`);
  }
  return publicKey;
}

/**
 * Check a `keys/device_signing/upload` body's keys against the stored master key: spec "the
 * self-signing and user-signing keys must be signed by the accompanying master key, or by the
 * user's most recently uploaded master key if no master key is included"; without any master
 * key `400 M_MISSING_PARAM`, a bad signature `400 M_INVALID_SIGNATURE`. The public keys must
 * not be device IDs of the user (spec: 403), since keys/signatures/upload names both alike.
 */
export async function checkCrossSigningUpload(
  userId: string,
  given: Partial<Record<CrossSigningUsage, JsonObject>>,
  storedMaster: JsonObject | undefined,
  deviceIds: readonly string[],
): Promise<CrossSigningUpload> {
  const master = given.master ?? storedMaster;
  if (!master) throw new MatrixError(400, 'M_MISSING_PARAM', 'No master key available.');
  const masterPublicKey = given.master ? checkCrossSigningKey(given.master, userId, 'master') : crossSigningPublicKey(master);
  if (masterPublicKey === undefined) throw new MatrixError(500, 'M_UNKNOWN', 'The stored master key is invalid.');
  const publicKeys = given.master ? [masterPublicKey] : [];
  for (const usage of ['self_signing', 'user_signing'] as const) {
    const key = given[usage];
    if (!key) continue;
    publicKeys.push(checkCrossSigningKey(key, userId, usage));
    if (!(await hasValidSignature(key, userId, `ed25519:${masterPublicKey}`, masterPublicKey))) {
      throw new MatrixError(400, 'M_INVALID_SIGNATURE', `Invalid signature on the ${usage} key: it must be signed by the master key.`);
    }
  }
  if (publicKeys.some((k) => deviceIds.includes(k))) throw new MatrixError(403, 'M_FORBIDDEN', 'Key ID in use: a cross-signing public key equals a device ID.');
  return {
    ...(given.master ? { master_key: given.master } : {}),
    ...(given.self_signing ? { self_signing_key: given.self_signing } : {}),
    ...(given.user_signing ? { user_signing_key: given.user_signing } : {}),
    expected_master_key: given.master ? null : (storedMaster ?? null),
  };
}

/** The body of `keys/signatures/upload` once checked: the signatures to store and the per-key failures. */
export interface CheckedSignatures {
  items: SignatureItem[];
  failures: Record<string, Record<string, KeyFailure>>;
}

const failure = (errcode: Errcode, error: string): KeyFailure => ({ errcode, error });
const INVALID_SIGNATURE = failure('M_INVALID_SIGNATURE', 'Invalid signature');

/** `body` as user ID → key ID → signed object; another shape is `400 M_INVALID_PARAM` (as Synapse). */
export function signedKeysOf(body: JsonObject): Record<string, Record<string, JsonObject>> {
  const out: Record<string, Record<string, JsonObject>> = {};
  for (const [userId, keys] of Object.entries(body)) {
    if (!isJsonObject(keys) || !Object.values(keys).every(isJsonObject)) {
      throw new MatrixError(400, 'M_INVALID_PARAM', 'The body must map user IDs to key IDs to signed key objects.');
    }
    out[userId] = keys as Record<string, JsonObject>;
  }
  return out;
}

/**
 * Check the signatures uploaded by `userId` (spec `POST /keys/signatures/upload`: "The signed
 * JSON object must match the key previously uploaded or retrieved for the given key ID, with
 * the exception of the signatures property"). Signatures already stored are skipped.
 */
export async function checkSignatureUpload(
  env: HomeserverBindings,
  config: HomeserverConfig,
  userId: string,
  signed: Record<string, Record<string, JsonObject>>,
): Promise<CheckedSignatures> {
  const out: CheckedSignatures = { items: [], failures: {} };
  const fail = (targetUserId: string, keyId: string, f: KeyFailure) => ((out.failures[targetUserId] ??= {})[keyId] = f);
  const own = signed[userId];
  const others = Object.keys(signed).filter((u) => u !== userId);
  const keys = userKeysApi(env.USER_KEYS, userId);
  const [mine, crossSigning] = await Promise.all([keys.getKeys([], false), keys.getCrossSigningKeys()]);

  if (own) {
    const masterPublicKey = mine.master_key && crossSigningPublicKey(mine.master_key);
    const selfSigningPublicKey = crossSigning.self_signing && crossSigningPublicKey(crossSigning.self_signing);
    for (const [keyId, object] of Object.entries(own)) {
      const result = keyId === masterPublicKey && mine.master_key
        ? await checkMasterKeySignatures(userId, object, mine.master_key, masterPublicKey, mine.device_keys)
        : await checkDeviceSignature(userId, keyId, object, mine.device_keys[keyId], selfSigningPublicKey);
      if ('errcode' in result) fail(userId, keyId, result);
      else out.items.push(...result);
    }
  }

  const userSigningPublicKey = crossSigning.user_signing && crossSigningPublicKey(crossSigning.user_signing);
  for (const target of others) {
    const objects = signed[target]!;
    const failAll = (f: KeyFailure) => Object.keys(objects).forEach((keyId) => fail(target, keyId, f));
    if (!userSigningPublicKey) {
      failAll(failure('M_NOT_FOUND', 'No user-signing key found.'));
      continue;
    }
    const master = await masterKeyOf(env, config, target);
    const masterPublicKey = master && crossSigningPublicKey(master);
    if (!master || !masterPublicKey) {
      failAll(failure('M_NOT_FOUND', `No master key found for ${target}.`));
      continue;
    }
    // Only the target's master key can be signed with the user-signing key.
    for (const keyId of Object.keys(objects)) if (keyId !== masterPublicKey) fail(target, keyId, failure('M_NOT_FOUND', 'Unknown device or key.'));
    const object = objects[masterPublicKey];
    if (!object) continue;
    const signerKeyId = `ed25519:${userSigningPublicKey}`;
    const signature = signaturesBy(object, userId)?.[signerKeyId];
    if (signature === undefined) fail(target, masterPublicKey, INVALID_SIGNATURE);
    else if (signedPart(object) !== signedPart(master)) fail(target, masterPublicKey, failure('M_INVALID_PARAM', 'Key does not match the master key.'));
    else if (!(await hasValidSignature(object, userId, signerKeyId, userSigningPublicKey))) fail(target, masterPublicKey, INVALID_SIGNATURE);
    else out.items.push({ target_user_id: target, target_key_id: masterPublicKey, signer_key_id: signerKeyId, signature });
  }
  return out;
}

/** Signatures of the user's own master key by their devices (or by the master key itself). */
async function checkMasterKeySignatures(
  userId: string, object: JsonObject, stored: JsonObject, masterPublicKey: string, devices: Record<string, JsonObject>,
): Promise<SignatureItem[] | KeyFailure> {
  const signatures = signaturesBy(object, userId);
  if (!signatures) return INVALID_SIGNATURE;
  if (signedPart(object) !== signedPart(stored)) return failure('M_INVALID_PARAM', 'Key does not match the master key.');
  const already = signaturesBy(stored, userId) ?? {};
  const items: SignatureItem[] = [];
  for (const [signerKeyId, signature] of Object.entries(signatures)) {
    if (already[signerKeyId] === signature) continue;
    const publicKey = signerKeyId === `ed25519:${masterPublicKey}` ? masterPublicKey : deviceKeyOf(devices, signerKeyId);
    if (publicKey === undefined || !(await hasValidSignature(object, userId, signerKeyId, publicKey))) return INVALID_SIGNATURE;
    items.push({ target_user_id: userId, target_key_id: masterPublicKey, signer_key_id: signerKeyId, signature, checked_against: stored });
  }
  return items;
}

/** The ed25519 key `ed25519:<device ID>` of one of the user's devices. */
function deviceKeyOf(devices: Record<string, JsonObject>, signerKeyId: string): string | undefined {
  if (!signerKeyId.startsWith('ed25519:')) return undefined;
  const keys = devices[signerKeyId.slice('ed25519:'.length)]?.keys;
  const key = isJsonObject(keys) ? keys[signerKeyId] : undefined;
  return typeof key === 'string' ? key : undefined;
}

/** The self-signing key's signature of one of the user's devices. */
async function checkDeviceSignature(
  userId: string, deviceId: string, object: JsonObject, stored: JsonObject | undefined, selfSigningPublicKey: string | undefined,
): Promise<SignatureItem[] | KeyFailure> {
  if (!stored) return failure('M_NOT_FOUND', 'Unknown device.');
  if (!selfSigningPublicKey) return failure('M_NOT_FOUND', 'No self-signing key found.');
  const signerKeyId = `ed25519:${selfSigningPublicKey}`;
  const signature = signaturesBy(object, userId)?.[signerKeyId];
  if (signature === undefined) return INVALID_SIGNATURE;
  if (signaturesBy(stored, userId)?.[signerKeyId] === signature) return [];
  if (signedPart(object) !== signedPart(stored)) return failure('M_INVALID_PARAM', 'Key does not match the device keys.');
  if (!(await hasValidSignature(object, userId, signerKeyId, selfSigningPublicKey))) return INVALID_SIGNATURE;
  return [{ target_user_id: userId, target_key_id: deviceId, signer_key_id: signerKeyId, signature, checked_against: stored }];
}

/** Another user's master key: from their UserKeys object, or asked of their server (spec `user/keys/query`). */
async function masterKeyOf(env: HomeserverBindings, config: HomeserverConfig, userId: string): Promise<JsonObject | undefined> {
  const server = serverNameOf(userId as UserId);
  if (server === undefined) return undefined;
  if (server === config.serverName) return (await userKeysApi(env.USER_KEYS, userId).getCrossSigningKeys()).master;
  try {
    const answer = await federationRequest(federationSender(config), server, 'POST', '/_matrix/federation/v1/user/keys/query', { device_keys: { [userId]: [] } });
    const masters = answer.master_keys;
    const master = isJsonObject(masters) ? masters[userId] : undefined;
    return isJsonObject(master) && master.user_id === userId ? master : undefined;
  } catch (e) {
    console.warn(`keys/signatures/upload: the master key of ${userId} could not be fetched: ${(e as Error).message}`);
    return undefined;
  }
}
