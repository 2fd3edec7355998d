/**
 * The only file with SQL for a user's keys (schema.ts). Key objects are stored as canonical
 * JSON, so two uploads of the same key compare equal as strings. Callers group writes inside
 * `ctx.storage.transactionSync`.
 */
import { encodeCanonicalJson, type JsonObject, type JsonValue } from '../../core/canonical-json';
import { getMeta, setMeta } from '../shared/meta';
import { applyMigrations } from '../shared/migrations';
import type { CrossSigningUsage } from './api';
import { MIGRATIONS } from './schema';

export interface StoredKey {
  key_id: string;
  /** Canonical JSON of the key. */
  key_json: string;
}

export interface FallbackKeyRow extends StoredKey {
  used: boolean;
}

export interface SignatureRow extends Record<string, SqlStorageValue> {
  target_user_id: string;
  target_key_id: string;
  signer_key_id: string;
  signature: string;
}

export const canonical = (value: JsonValue): string => encodeCanonicalJson(value);

export class UserKeysStore {
  constructor(private readonly sql: SqlStorage) {}

  /** Whether the object ever stored anything (see `UserKeys`: objects of users without keys stay empty). */
  hasSchema(): boolean {
    return this.sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_schema'").toArray().length > 0;
  }

  migrate(): void {
    applyMigrations(this.sql, MIGRATIONS);
  }

  // ---- meta ---------------------------------------------------------------------------------

  userId(): string | undefined {
    return getMeta(this.sql, 'user_id');
  }

  setUserId(userId: string): void {
    if (this.userId() !== userId) setMeta(this.sql, 'user_id', userId);
  }

  deviceListStream(): number {
    return Number(getMeta(this.sql, 'device_list_stream') ?? 0);
  }

  setDeviceListStream(position: number): void {
    setMeta(this.sql, 'device_list_stream', String(position));
  }

  // ---- device keys --------------------------------------------------------------------------

  deviceKeyJson(deviceId: string): string | undefined {
    return this.sql.exec<{ key_json: string }>('SELECT key_json FROM device_keys WHERE device_id = ?', deviceId).toArray()[0]?.key_json;
  }

  /** Device ID → key JSON, of `deviceIds` (all devices when null). */
  deviceKeys(deviceIds: readonly string[] | null): Map<string, JsonObject> {
    const out = new Map<string, JsonObject>();
    if (deviceIds === null) {
      for (const r of this.sql.exec<{ device_id: string; key_json: string }>('SELECT device_id, key_json FROM device_keys')) {
        out.set(r.device_id, JSON.parse(r.key_json) as JsonObject);
      }
      return out;
    }
    for (const id of deviceIds) {
      const json = this.deviceKeyJson(id);
      if (json !== undefined) out.set(id, JSON.parse(json) as JsonObject);
    }
    return out;
  }

  setDeviceKeys(deviceId: string, keyJson: string): void {
    this.sql.exec(
      'INSERT INTO device_keys (device_id, key_json) VALUES (?, ?) ON CONFLICT (device_id) DO UPDATE SET key_json = excluded.key_json',
      deviceId, keyJson,
    );
  }

  /** Devices holding any key here (device, one-time or fallback keys). */
  deviceIdsWithKeys(): string[] {
    return this.sql
      .exec<{ device_id: string }>('SELECT device_id FROM device_keys UNION SELECT device_id FROM one_time_keys UNION SELECT device_id FROM fallback_keys')
      .toArray()
      .map((r) => r.device_id);
  }

  /** Forget every key of the device and the signatures on it; whether it had device keys. */
  deleteDevice(userId: string, deviceId: string): boolean {
    const had = this.deviceKeyJson(deviceId) !== undefined;
    this.sql.exec('DELETE FROM device_keys WHERE device_id = ?', deviceId);
    this.sql.exec('DELETE FROM one_time_keys WHERE device_id = ?', deviceId);
    this.sql.exec('DELETE FROM fallback_keys WHERE device_id = ?', deviceId);
    this.deleteSignaturesOn(userId, deviceId);
    return had;
  }

  // ---- one-time keys ------------------------------------------------------------------------

  oneTimeKeyJson(deviceId: string, algorithm: string, keyId: string): string | undefined {
    return this.sql
      .exec<{ key_json: string }>('SELECT key_json FROM one_time_keys WHERE device_id = ? AND algorithm = ? AND key_id = ?', deviceId, algorithm, keyId)
      .toArray()[0]?.key_json;
  }

  addOneTimeKey(deviceId: string, algorithm: string, keyId: string, keyJson: string): void {
    this.sql.exec('INSERT INTO one_time_keys (device_id, algorithm, key_id, key_json) VALUES (?, ?, ?, ?)', deviceId, algorithm, keyId, keyJson);
  }

  countOneTimeKeys(deviceId: string): Record<string, number> {
    const out: Record<string, number> = {};
    for (const r of this.sql.exec<{ algorithm: string; n: number }>('SELECT algorithm, COUNT(*) AS n FROM one_time_keys WHERE device_id = ? GROUP BY algorithm', deviceId)) {
      out[r.algorithm] = r.n;
    }
    return out;
  }

  /** Remove and return the device's oldest one-time key of `algorithm`. */
  takeOneTimeKey(deviceId: string, algorithm: string): StoredKey | undefined {
    const row = this.sql
      .exec<{ id: number; key_id: string; key_json: string }>(
        'SELECT rowid AS id, key_id, key_json FROM one_time_keys WHERE device_id = ? AND algorithm = ? ORDER BY rowid LIMIT 1', deviceId, algorithm,
      )
      .toArray()[0];
    if (!row) return undefined;
    this.sql.exec('DELETE FROM one_time_keys WHERE rowid = ?', row.id);
    return { key_id: row.key_id, key_json: row.key_json };
  }

  // ---- fallback keys ------------------------------------------------------------------------

  fallbackKey(deviceId: string, algorithm: string): FallbackKeyRow | undefined {
    const row = this.sql
      .exec<{ key_id: string; key_json: string; used: number }>('SELECT key_id, key_json, used FROM fallback_keys WHERE device_id = ? AND algorithm = ?', deviceId, algorithm)
      .toArray()[0];
    return row && { key_id: row.key_id, key_json: row.key_json, used: row.used !== 0 };
  }

  /** Store the device's fallback key of `algorithm`, unused, in place of the previous one. */
  setFallbackKey(deviceId: string, algorithm: string, keyId: string, keyJson: string): void {
    this.sql.exec(
      `INSERT INTO fallback_keys (device_id, algorithm, key_id, key_json, used) VALUES (?, ?, ?, ?, 0)
       ON CONFLICT (device_id, algorithm) DO UPDATE SET key_id = excluded.key_id, key_json = excluded.key_json, used = 0`,
      deviceId, algorithm, keyId, keyJson,
    );
  }

  markFallbackKeyUsed(deviceId: string, algorithm: string): void {
    this.sql.exec('UPDATE fallback_keys SET used = 1 WHERE device_id = ? AND algorithm = ?', deviceId, algorithm);
  }

  unusedFallbackAlgorithms(deviceId: string): string[] {
    return this.sql
      .exec<{ algorithm: string }>('SELECT algorithm FROM fallback_keys WHERE device_id = ? AND used = 0 ORDER BY algorithm', deviceId)
      .toArray()
      .map((r) => r.algorithm);
  }

  // ---- cross-signing keys -------------------------------------------------------------------

  crossSigningKey(usage: CrossSigningUsage): { public_key: string; key_json: string } | undefined {
    return this.sql
      .exec<{ public_key: string; key_json: string }>('SELECT public_key, key_json FROM cross_signing_keys WHERE usage = ?', usage)
      .toArray()[0];
  }

  setCrossSigningKey(usage: CrossSigningUsage, publicKey: string, keyJson: string): void {
    this.sql.exec(
      `INSERT INTO cross_signing_keys (usage, public_key, key_json) VALUES (?, ?, ?)
       ON CONFLICT (usage) DO UPDATE SET public_key = excluded.public_key, key_json = excluded.key_json`,
      usage, publicKey, keyJson,
    );
  }

  // ---- signatures ---------------------------------------------------------------------------

  /** Signatures on `targetUserId`'s keys (of `targetKeyId` only, when given). */
  signaturesOn(targetUserId: string, targetKeyId?: string): SignatureRow[] {
    return targetKeyId === undefined
      ? this.sql.exec<SignatureRow>('SELECT target_user_id, target_key_id, signer_key_id, signature FROM signatures WHERE target_user_id = ?', targetUserId).toArray()
      : this.sql
          .exec<SignatureRow>('SELECT target_user_id, target_key_id, signer_key_id, signature FROM signatures WHERE target_user_id = ? AND target_key_id = ?', targetUserId, targetKeyId)
          .toArray();
  }

  addSignature(row: SignatureRow): void {
    this.sql.exec(
      `INSERT INTO signatures (target_user_id, target_key_id, signer_key_id, signature) VALUES (?, ?, ?, ?)
       ON CONFLICT (target_user_id, target_key_id, signer_key_id) DO UPDATE SET signature = excluded.signature`,
      row.target_user_id, row.target_key_id, row.signer_key_id, row.signature,
    );
  }

  deleteSignaturesOn(targetUserId: string, targetKeyId: string): void {
    this.sql.exec('DELETE FROM signatures WHERE target_user_id = ? AND target_key_id = ?', targetUserId, targetKeyId);
  }

  deleteSignaturesBy(signerKeyId: string): void {
    this.sql.exec('DELETE FROM signatures WHERE signer_key_id = ?', signerKeyId);
  }
}
