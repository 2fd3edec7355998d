/**
 * What callers see of a UserKeys object: one per local user (`env.USER_KEYS.getByName(userId)`),
 * holding that user's end-to-end encryption keys (spec v1.16, Client-Server API "End-to-End
 * Encryption", https://spec.matrix.org/v1.16/client-server-api/#end-to-end-encryption): the
 * signed device keys of each device, its one-time and fallback keys, the user's cross-signing
 * keys, and the cross-signing signatures the user made. Reach it through `userKeysApi()`.
 *
 * The object stores and hands out; the protocol checks that need signatures verified (the
 * master key's signature on the other cross-signing keys, uploaded signatures) run in the
 * worker before the write (workers/homeserver/client/cross-signing.ts), and the write names
 * what it was checked against (`expected_master_key`, the stored copy of a signed key), so a
 * concurrent change makes it fail instead of storing a signature checked against old keys.
 *
 * Writes that change what other servers see of the user's devices answer the
 * `m.device_list_update` EDU contents (one per device, with the user's device-list
 * `stream_id`/`prev_id`) or the new cross-signing keys; the caller hands them to
 * `announceDeviceListChange` (workers/shared/device-lists.ts).
 */
import { encodeCanonicalJson, isJsonObject, type JsonObject, type JsonValue } from '../../core/canonical-json';

export type UserKeysErrcode = 'M_INVALID_PARAM' | 'M_BAD_JSON' | 'M_INVALID_SIGNATURE' | 'M_MISSING_PARAM' | 'M_NOT_FOUND' | 'M_FORBIDDEN' | 'M_UNKNOWN';

/** Expected failures cross RPC as values (thrown errors would lose their errcode). */
export type UserKeysFailure = { ok: false; errcode: UserKeysErrcode; error: string };
export type UserKeysResult<T = object> = ({ ok: true } & T) | UserKeysFailure;

/**
 * What a signature covers: the key without `signatures` and `unsigned` (spec appendix "Signing
 * JSON"), as canonical JSON, to tell whether two copies of a key are the same key.
 */
export function signedPart(key: JsonValue): string {
  if (!isJsonObject(key)) return encodeCanonicalJson(key);
  const { signatures: _signatures, unsigned: _unsigned, ...rest } = key;
  return encodeCanonicalJson(rest);
}

/**
 * The public key of a cross-signing key: the value of its one `keys` entry, whose name must be
 * `ed25519:<that key>` (spec CrossSigningKey `keys`).
 */
export function crossSigningPublicKey(key: JsonObject): string | undefined {
  const keys = key.keys;
  if (!isJsonObject(keys)) return undefined;
  const entries = Object.entries(keys);
  if (entries.length !== 1) return undefined;
  const [name, value] = entries[0]!;
  return typeof value === 'string' && name === `ed25519:${value}` ? value : undefined;
}

/** The cross-signing key kinds (spec "Cross-signing"), as stored and as `usage` names them. */
export type CrossSigningUsage = 'master' | 'self_signing' | 'user_signing';

/**
 * Content of an `m.device_list_update` EDU (spec v1.16, Server-Server API "Device Management",
 * https://spec.matrix.org/v1.16/server-server-api/#device-management).
 */
export interface DeviceListUpdate {
  user_id: string;
  device_id: string;
  /** The user's device-list stream position of this change (`user/devices` answers the newest). */
  stream_id: number;
  /** The previous update's `stream_id` (empty for the first): a receiver that missed it resyncs. */
  prev_id: number[];
  /** Present (true) when the device was deleted. */
  deleted?: boolean;
  /** The device's signed keys with the cross-signing signatures on them; absent when deleted. */
  keys?: JsonObject;
}

/** Content of an `m.signing_key_update` EDU: the cross-signing keys other servers see. */
export interface SigningKeyUpdate {
  user_id: string;
  master_key?: JsonObject;
  self_signing_key?: JsonObject;
}

/** A key of `one_time_keys`/`fallback_keys` as uploaded: `<algorithm>:<key_id>` and its key (string or KeyObject). */
export interface UploadedKey {
  algorithm: string;
  key_id: string;
  key: JsonValue;
}

export interface UploadKeysInput {
  device_id: string;
  /** The device's `DeviceKeys`, checked by the caller (shape, user and device ID). */
  device_keys?: JsonObject;
  one_time_keys?: UploadedKey[];
  fallback_keys?: UploadedKey[];
}

/** Spec `/sync` `device_one_time_keys_count` and `device_unused_fallback_key_types` of one device. */
export interface OneTimeKeyCounts {
  one_time_key_counts: Record<string, number>;
  unused_fallback_key_types: string[];
}

/** Keys of the user for a `keys/query` or `user/devices` answer. */
export interface QueriedKeys {
  /** Device ID → the device's keys, with the user's own cross-signing signatures merged in. */
  device_keys: Record<string, JsonObject>;
  master_key?: JsonObject;
  self_signing_key?: JsonObject;
  /** Only with `include_user_signing` (spec: a user sees only their own). */
  user_signing_key?: JsonObject;
  /** The user's device-list stream position (`user/devices` `stream_id`). */
  stream_id: number;
}

/** One cross-signing signature this user made, checked by the caller. */
export interface SignatureItem {
  /** Whose key is signed: the user themself (a device or the master key) or another user (their master key). */
  target_user_id: string;
  /** The signed key: a device ID, or the public key of a master key. */
  target_key_id: string;
  /** The signing key's ID, e.g. `ed25519:<self-signing public key>` or `ed25519:<device ID>`. */
  signer_key_id: string;
  signature: string;
  /**
   * The signed key as the caller checked it (for the user's own keys): the write fails when the
   * stored key is no longer this one. Absent for other users' keys, which live elsewhere.
   */
  checked_against?: JsonObject;
}

/** Signatures this user made on other users' keys: target user → target key ID → signer key ID → signature. */
export type SignaturesOnOthers = Record<string, Record<string, Record<string, string>>>;

export interface CrossSigningUpload {
  master_key?: JsonObject;
  self_signing_key?: JsonObject;
  user_signing_key?: JsonObject;
  /**
   * The stored master key the other keys' signatures were checked with when `master_key` is
   * absent (null: none was stored); the write fails if it changed meanwhile.
   */
  expected_master_key: JsonObject | null;
}

/** What a cross-signing write changed, for the announcements. */
export interface CrossSigningChange {
  /** The master or self-signing key changed: other servers get an `m.signing_key_update`. */
  signing_key_update?: SigningKeyUpdate;
  /** The user-signing key changed: only the user themself is told (spec: others never see it). */
  user_signing_changed: boolean;
}

export interface StoredSignatures {
  /** Devices whose keys gained signatures: their updates. */
  device_list_updates: DeviceListUpdate[];
  /** The master key gained signatures. */
  signing_key_update?: SigningKeyUpdate;
  /** Other users whose master key this user signed. */
  signed_users: string[];
}

/** The object's RPC methods; `userKeysApi()` binds the user ID for the writes. */
export interface UserKeysRpc {
  performUploadKeys(userId: string, input: UploadKeysInput): Promise<UserKeysResult<{ one_time_key_counts: Record<string, number>; device_list_update?: DeviceListUpdate }>>;
  getOneTimeKeyCounts(deviceId: string): Promise<OneTimeKeyCounts>;
  getKeys(deviceIds: string[], includeUserSigning: boolean): Promise<QueriedKeys>;
  getCrossSigningKeys(): Promise<Partial<Record<CrossSigningUsage, JsonObject>>>;
  getSignaturesOn(targetUserIds: string[]): Promise<SignaturesOnOthers>;
  performClaim(claims: { device_id: string; algorithm: string }[]): Promise<Record<string, Record<string, JsonValue>>>;
  performUploadCrossSigningKeys(userId: string, upload: CrossSigningUpload): Promise<UserKeysResult<CrossSigningChange>>;
  performStoreSignatures(userId: string, items: SignatureItem[]): Promise<UserKeysResult<StoredSignatures>>;
  performDeleteDevices(userId: string, deviceIds: string[]): Promise<DeviceListUpdate[]>;
  performDeleteDevicesExcept(userId: string, keep: string[]): Promise<DeviceListUpdate[]>;
}

export interface UserKeysApi {
  /**
   * `keys/upload` for `input.device_id`: device keys (identical keys change nothing, others
   * replace them: an update), one-time keys (an ID already held with other content fails
   * `M_INVALID_PARAM`, with the same content it is skipped) and fallback keys (one per
   * algorithm, replaced, unused again). All or nothing. Answers the device's counts.
   */
  performUploadKeys(input: UploadKeysInput): Promise<UserKeysResult<{ one_time_key_counts: Record<string, number>; device_list_update?: DeviceListUpdate }>>;
  /** The device's unclaimed one-time keys per algorithm and its unused fallback key algorithms (for /sync). */
  getOneTimeKeyCounts(deviceId: string): Promise<OneTimeKeyCounts>;
  /** The keys of `deviceIds` (every device when empty) and the cross-signing keys, with the user's signatures on them. */
  getKeys(deviceIds: string[], includeUserSigning: boolean): Promise<QueriedKeys>;
  /** The cross-signing keys as uploaded (no signatures added since). */
  getCrossSigningKeys(): Promise<Partial<Record<CrossSigningUsage, JsonObject>>>;
  /** Signatures this user made with their user-signing key on the master keys of `targetUserIds`. */
  getSignaturesOn(targetUserIds: string[]): Promise<SignaturesOnOthers>;
  /**
   * `keys/claim`, atomic in the object: per (device, algorithm), the oldest one-time key,
   * removed as it is handed out (never given twice), else the fallback key, marked used.
   * Device ID → `<algorithm>:<key_id>` → key; devices without a key are left out.
   */
  performClaim(claims: { device_id: string; algorithm: string }[]): Promise<Record<string, Record<string, JsonValue>>>;
  /** Store checked cross-signing keys; fails `M_INVALID_PARAM` when `expected_master_key` is stale. */
  performUploadCrossSigningKeys(upload: CrossSigningUpload): Promise<UserKeysResult<CrossSigningChange>>;
  /** Store checked signatures; fails `M_INVALID_PARAM` when a signed key changed since it was checked. */
  performStoreSignatures(items: SignatureItem[]): Promise<UserKeysResult<StoredSignatures>>;
  /** Forget the keys of deleted devices; answers an update for each that had keys. */
  performDeleteDevices(deviceIds: string[]): Promise<DeviceListUpdate[]>;
  /** Forget the keys of every device but `keep` (logout all, password change, deactivation). */
  performDeleteDevicesExcept(keep: string[]): Promise<DeviceListUpdate[]>;
}

/** The UserKeys object of the local user `userId`. */
export function userKeysApi(namespace: DurableObjectNamespace, userId: string): UserKeysApi {
  const stub = namespace.getByName(userId) as unknown as UserKeysRpc;
  return {
    performUploadKeys: (input) => stub.performUploadKeys(userId, input),
    getOneTimeKeyCounts: (deviceId) => stub.getOneTimeKeyCounts(deviceId),
    getKeys: (deviceIds, includeUserSigning) => stub.getKeys(deviceIds, includeUserSigning),
    getCrossSigningKeys: () => stub.getCrossSigningKeys(),
    getSignaturesOn: (targetUserIds) => stub.getSignaturesOn(targetUserIds),
    performClaim: (claims) => stub.performClaim(claims),
    performUploadCrossSigningKeys: (upload) => stub.performUploadCrossSigningKeys(userId, upload),
    performStoreSignatures: (items) => stub.performStoreSignatures(userId, items),
    performDeleteDevices: (deviceIds) => stub.performDeleteDevices(userId, deviceIds),
    performDeleteDevicesExcept: (keep) => stub.performDeleteDevicesExcept(userId, keep),
  };
}
