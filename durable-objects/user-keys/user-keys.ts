/**
 * One Durable Object per local user: their end-to-end encryption keys (see api.ts). Every
 * write is one synchronous transaction, so a one-time key leaves the table in the same step
 * that hands it out: two claims, however concurrent, never get the same key (spec keys/claim:
 * "Servers must ensure that each one-time key is returned at most once").
 *
 * Queries reach the objects of any user ID (a key query may name anyone, /sync asks every
 * user's counts), so an object creates its database only with its first write; until then
 * every read answers "no keys".
 */
import { DurableObject } from 'cloudflare:workers';
import { cloneJson, isJsonObject, type JsonObject, type JsonValue } from '../../core/canonical-json';
import type { HomeserverBindings } from '../../workers/homeserver/env';
import type {
  CrossSigningChange, CrossSigningUpload, CrossSigningUsage, DeviceListUpdate, OneTimeKeyCounts, QueriedKeys, SignatureItem, SignaturesOnOthers,
  SigningKeyUpdate, StoredSignatures, UploadKeysInput, UserKeysFailure, UserKeysResult, UserKeysRpc,
} from './api';
import { crossSigningPublicKey, signedPart } from './api';
import { canonical, UserKeysStore, type SignatureRow } from './store';

const fail = (errcode: UserKeysFailure['errcode'], error: string): UserKeysFailure => ({ ok: false, errcode, error });

/** A failure raised inside a transaction, to roll it back and answer the failure. */
class Refusal extends Error {
  constructor(readonly failure: UserKeysFailure) {
    super(failure.error);
  }
}

/** The public key of a cross-signing key (checked by the caller). */
function publicKeyOf(key: JsonObject): string {
  const publicKey = crossSigningPublicKey(key);
  if (publicKey === undefined) throw new Refusal(fail('M_INVALID_PARAM', 'A cross-signing key must hold one ed25519 public key named by itself.'));
  return publicKey;
}

/** `key` with `signatures[userId][signer_key_id]` added for each row. */
function withSignatures(key: JsonObject, userId: string, rows: readonly SignatureRow[]): JsonObject {
  if (rows.length === 0) return key;
  const out = cloneJson(key);
  const signatures: JsonObject = isJsonObject(out.signatures) ? out.signatures : {};
  const mine: JsonObject = isJsonObject(signatures[userId]) ? signatures[userId] : {};
  for (const r of rows) mine[r.signer_key_id] = r.signature;
  signatures[userId] = mine;
  out.signatures = signatures;
  return out;
}

export class UserKeys extends DurableObject<HomeserverBindings> implements UserKeysRpc {
  private readonly store: UserKeysStore;
  /** Whether the database exists (the first write creates it). */
  private ready: boolean;

  constructor(ctx: DurableObjectState, env: HomeserverBindings) {
    super(ctx, env);
    this.store = new UserKeysStore(ctx.storage.sql);
    this.ready = this.store.hasSchema();
    if (this.ready) ctx.blockConcurrencyWhile(async () => ctx.storage.transactionSync(() => this.store.migrate()));
  }

  /** Run `fn` as one transaction; a `Refusal` rolls it back and becomes the answer. */
  private write<T extends object>(userId: string, fn: () => T): UserKeysResult<T> {
    try {
      const result = this.ctx.storage.transactionSync(() => {
        if (!this.ready) this.store.migrate();
        this.store.setUserId(userId);
        return fn();
      });
      this.ready = true;
      return { ok: true, ...result };
    } catch (e) {
      if (e instanceof Refusal) return e.failure;
      throw e;
    }
  }

  // ---- reads --------------------------------------------------------------------------------

  async getOneTimeKeyCounts(deviceId: string): Promise<OneTimeKeyCounts> {
    if (!this.ready) return { one_time_key_counts: this.counts(null), unused_fallback_key_types: [] };
    return { one_time_key_counts: this.counts(deviceId), unused_fallback_key_types: this.store.unusedFallbackAlgorithms(deviceId) };
  }

  async getKeys(deviceIds: string[], includeUserSigning: boolean): Promise<QueriedKeys> {
    const userId = this.ready ? this.store.userId() : undefined;
    if (userId === undefined) return { device_keys: {}, stream_id: 0 };
    const out: QueriedKeys = { device_keys: {}, stream_id: this.store.deviceListStream() };
    for (const [deviceId, keys] of this.store.deviceKeys(deviceIds.length > 0 ? deviceIds : null)) {
      out.device_keys[deviceId] = this.deviceKeysWithSignatures(userId, deviceId, keys);
    }
    const master = this.masterKeyWithSignatures(userId);
    if (master) out.master_key = master;
    const selfSigning = this.store.crossSigningKey('self_signing');
    if (selfSigning) out.self_signing_key = JSON.parse(selfSigning.key_json) as JsonObject;
    const userSigning = includeUserSigning ? this.store.crossSigningKey('user_signing') : undefined;
    if (userSigning) out.user_signing_key = JSON.parse(userSigning.key_json) as JsonObject;
    return out;
  }

  async getCrossSigningKeys(): Promise<Partial<Record<CrossSigningUsage, JsonObject>>> {
    const out: Partial<Record<CrossSigningUsage, JsonObject>> = {};
    if (!this.ready) return out;
    for (const usage of ['master', 'self_signing', 'user_signing'] as const) {
      const row = this.store.crossSigningKey(usage);
      if (row) out[usage] = JSON.parse(row.key_json) as JsonObject;
    }
    return out;
  }

  async getSignaturesOn(targetUserIds: string[]): Promise<SignaturesOnOthers> {
    const out: SignaturesOnOthers = {};
    if (!this.ready) return out;
    const self = this.store.userId();
    for (const target of targetUserIds) {
      if (target === self) continue;
      for (const r of this.store.signaturesOn(target)) ((out[target] ??= {})[r.target_key_id] ??= {})[r.signer_key_id] = r.signature;
    }
    return out;
  }

  // ---- writes -------------------------------------------------------------------------------

  async performUploadKeys(userId: string, input: UploadKeysInput): Promise<UserKeysResult<{ one_time_key_counts: Record<string, number>; device_list_update?: DeviceListUpdate }>> {
    const deviceId = input.device_id;
    return this.write(userId, () => {
      // Check every one-time key before writing anything: the upload is all or nothing.
      const newOneTimeKeys: { algorithm: string; key_id: string; json: string }[] = [];
      for (const k of input.one_time_keys ?? []) {
        const existing = this.store.oneTimeKeyJson(deviceId, k.algorithm, k.key_id);
        if (existing === undefined) newOneTimeKeys.push({ algorithm: k.algorithm, key_id: k.key_id, json: canonical(k.key) });
        // Synapse: the same key again (its signatures may differ) is fine, another key under the ID is not.
        else if (signedPart(JSON.parse(existing) as JsonValue) !== signedPart(k.key)) {
          throw new Refusal(fail('M_INVALID_PARAM', `One-time key ${k.algorithm}:${k.key_id} already exists with other content.`));
        }
      }
      let update: DeviceListUpdate | undefined;
      if (input.device_keys) {
        const { unsigned: _u, ...keys } = input.device_keys;
        const json = canonical(keys);
        const old = this.store.deviceKeyJson(deviceId);
        // Identical keys again are no change; other keys replace them, and the cross-signing
        // signatures on the old ones no longer hold.
        if (old !== json) {
          this.store.setDeviceKeys(deviceId, json);
          if (old !== undefined) this.store.deleteSignaturesOn(userId, deviceId);
          update = this.nextUpdate(userId, deviceId, { keys });
        }
      }
      for (const k of newOneTimeKeys) this.store.addOneTimeKey(deviceId, k.algorithm, k.key_id, k.json);
      for (const k of input.fallback_keys ?? []) {
        const json = canonical(k.key);
        const existing = this.store.fallbackKey(deviceId, k.algorithm);
        // The same key uploaded again keeps its used flag; a new one is unused.
        if (!existing || existing.key_id !== k.key_id || existing.key_json !== json) this.store.setFallbackKey(deviceId, k.algorithm, k.key_id, json);
      }
      return { one_time_key_counts: this.counts(deviceId), ...(update ? { device_list_update: update } : {}) };
    });
  }

  async performClaim(claims: { device_id: string; algorithm: string }[]): Promise<Record<string, Record<string, JsonValue>>> {
    if (!this.ready) return {};
    return this.ctx.storage.transactionSync(() => {
      const out: Record<string, Record<string, JsonValue>> = {};
      for (const { device_id, algorithm } of claims) {
        const oneTimeKey = this.store.takeOneTimeKey(device_id, algorithm);
        if (oneTimeKey) {
          (out[device_id] ??= {})[`${algorithm}:${oneTimeKey.key_id}`] = JSON.parse(oneTimeKey.key_json) as JsonValue;
          continue;
        }
        // Spec: "If necessary, the claimed key might be a fallback key", re-used until replaced.
        const fallback = this.store.fallbackKey(device_id, algorithm);
        if (!fallback) continue;
        this.store.markFallbackKeyUsed(device_id, algorithm);
        (out[device_id] ??= {})[`${algorithm}:${fallback.key_id}`] = JSON.parse(fallback.key_json) as JsonValue;
      }
      return out;
    });
  }

  async performUploadCrossSigningKeys(userId: string, upload: CrossSigningUpload): Promise<UserKeysResult<CrossSigningChange>> {
    return this.write(userId, () => {
      if (!upload.master_key) {
        const stored = this.store.crossSigningKey('master')?.key_json ?? null;
        if (stored !== (upload.expected_master_key && canonical(upload.expected_master_key))) {
          throw new Refusal(fail('M_INVALID_PARAM', 'The master key changed while the keys were checked; try again.'));
        }
      }
      const changed = new Set<CrossSigningUsage>();
      const given: [CrossSigningUsage, JsonObject | undefined][] = [['master', upload.master_key], ['self_signing', upload.self_signing_key], ['user_signing', upload.user_signing_key]];
      for (const [usage, key] of given) {
        if (!key) continue;
        const json = canonical(key);
        const publicKey = publicKeyOf(key);
        const old = this.store.crossSigningKey(usage);
        if (old?.key_json === json) continue;
        this.store.setCrossSigningKey(usage, publicKey, json);
        changed.add(usage);
        if (!old || old.public_key === publicKey) continue;
        // A replaced key's signatures are void: those on the old master key, and those the old
        // self-signing (own devices) or user-signing key (other users) made.
        if (usage === 'master') this.store.deleteSignaturesOn(userId, old.public_key);
        else this.store.deleteSignaturesBy(`ed25519:${old.public_key}`);
      }
      return {
        user_signing_changed: changed.has('user_signing'),
        ...(changed.has('master') || changed.has('self_signing') ? { signing_key_update: this.signingKeyUpdate(userId) } : {}),
      };
    });
  }

  async performStoreSignatures(userId: string, items: SignatureItem[]): Promise<UserKeysResult<StoredSignatures>> {
    return this.write(userId, () => {
      const devices = new Set<string>();
      let master = false;
      const signedUsers = new Set<string>();
      const masterKey = this.store.crossSigningKey('master');
      for (const item of items) {
        if (item.target_user_id === userId) {
          const isMaster = masterKey?.public_key === item.target_key_id;
          const stored = isMaster ? masterKey.key_json : this.store.deviceKeyJson(item.target_key_id);
          // The signature was checked against `checked_against`: it holds if that is still the key.
          if (stored === undefined || !item.checked_against || signedPart(item.checked_against) !== signedPart(JSON.parse(stored) as JsonValue)) {
            throw new Refusal(fail('M_INVALID_PARAM', `The key ${item.target_key_id} changed while its signature was checked; try again.`));
          }
          if (isMaster) master = true;
          else devices.add(item.target_key_id);
        } else {
          signedUsers.add(item.target_user_id);
        }
        this.store.addSignature({ target_user_id: item.target_user_id, target_key_id: item.target_key_id, signer_key_id: item.signer_key_id, signature: item.signature });
      }
      const deviceKeys = this.store.deviceKeys([...devices]);
      return {
        device_list_updates: [...deviceKeys].map(([deviceId, keys]) => this.nextUpdate(userId, deviceId, { keys: this.deviceKeysWithSignatures(userId, deviceId, keys) })),
        ...(master ? { signing_key_update: this.signingKeyUpdate(userId) } : {}),
        signed_users: [...signedUsers],
      };
    });
  }

  async performDeleteDevices(userId: string, deviceIds: string[]): Promise<DeviceListUpdate[]> {
    return this.ready ? this.deleteDevices(userId, deviceIds) : [];
  }

  async performDeleteDevicesExcept(userId: string, keep: string[]): Promise<DeviceListUpdate[]> {
    if (!this.ready) return [];
    const kept = new Set(keep);
    return this.deleteDevices(userId, this.store.deviceIdsWithKeys().filter((id) => !kept.has(id)));
  }

  // ---- helpers ------------------------------------------------------------------------------

  private deleteDevices(userId: string, deviceIds: readonly string[]): DeviceListUpdate[] {
    const result = this.write(userId, () => ({
      updates: deviceIds.flatMap((id) => (this.store.deleteDevice(userId, id) ? [this.nextUpdate(userId, id, { deleted: true })] : [])),
    }));
    return result.ok ? result.updates : [];
  }

  /**
   * One-time key counts of the device. `signed_curve25519` is always listed (0 when none), as
   * Synapse does: clients decide from it whether to upload more.
   */
  private counts(deviceId: string | null): Record<string, number> {
    return { signed_curve25519: 0, ...(deviceId !== null ? this.store.countOneTimeKeys(deviceId) : {}) };
  }

  /** The next position of the user's device-list stream, as an update of `deviceId`. */
  private nextUpdate(userId: string, deviceId: string, change: { keys: JsonObject } | { deleted: true }): DeviceListUpdate {
    const prev = this.store.deviceListStream();
    this.store.setDeviceListStream(prev + 1);
    return { user_id: userId, device_id: deviceId, stream_id: prev + 1, prev_id: prev > 0 ? [prev] : [], ...change };
  }

  private deviceKeysWithSignatures(userId: string, deviceId: string, keys: JsonObject): JsonObject {
    return withSignatures(keys, userId, this.store.signaturesOn(userId, deviceId));
  }

  private masterKeyWithSignatures(userId: string): JsonObject | undefined {
    const row = this.store.crossSigningKey('master');
    return row && withSignatures(JSON.parse(row.key_json) as JsonObject, userId, this.store.signaturesOn(userId, row.public_key));
  }

  private signingKeyUpdate(userId: string): SigningKeyUpdate {
    const master = this.masterKeyWithSignatures(userId);
    const selfSigning = this.store.crossSigningKey('self_signing');
    return {
      user_id: userId,
      ...(master ? { master_key: master } : {}),
      ...(selfSigning ? { self_signing_key: JSON.parse(selfSigning.key_json) as JsonObject } : {}),
    };
  }
}
