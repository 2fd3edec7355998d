/**
 * One object per local user: their server-side key backups (api.ts). Every command runs in one
 * `transactionSync`, and the object runs one request at a time, so two devices uploading the
 * same session at once cannot both think they stored the better key, and a version switch
 * cannot interleave with an upload (what Synapse needs a per-user lock for).
 * https://spec.matrix.org/v1.16/client-server-api/#server-side-key-backups
 */
import { DurableObject } from 'cloudflare:workers';
import { isJsonObject, type JsonObject } from '../../core/canonical-json';
import type { HomeserverBindings } from '../../workers/homeserver/env';
import type {
  BackupConfig,
  BackupVersion,
  KeyBackupApi,
  KeyBackupData,
  KeyBackupFailure,
  KeyBackupResult,
  RoomKeys,
  RoomKeysScope,
  RoomKeysUpdate,
} from './api';
import { shouldReplaceRoomKey, versionNumber } from './room-keys';
import { KeyBackupStore, type RoomKeyRow, type VersionRow } from './store';

const unknownVersion = (): KeyBackupFailure => ({ ok: false, errcode: 'M_NOT_FOUND', error: 'Unknown backup version.' });

function parseObject(text: string): JsonObject {
  const value: unknown = JSON.parse(text);
  return isJsonObject(value) ? value : {};
}

function versionOf(row: VersionRow): BackupVersion {
  return { version: String(row.version), algorithm: row.algorithm, auth_data: parseObject(row.auth_data), etag: String(row.etag), count: row.key_count };
}

function keyOf(row: RoomKeyRow): KeyBackupData {
  return {
    first_message_index: row.first_message_index,
    forwarded_count: row.forwarded_count,
    is_verified: row.is_verified === 1,
    session_data: parseObject(row.session_data),
  };
}

const updateOf = (row: VersionRow): RoomKeysUpdate => ({ etag: String(row.etag), count: row.key_count });

export class KeyBackup extends DurableObject<HomeserverBindings> implements KeyBackupApi {
  private readonly store: KeyBackupStore;

  constructor(ctx: DurableObjectState, env: HomeserverBindings) {
    super(ctx, env);
    this.store = new KeyBackupStore(ctx.storage.sql);
    ctx.blockConcurrencyWhile(async () => ctx.storage.transactionSync(() => this.store.migrate()));
  }

  /** A version that exists and is not deleted. */
  private liveVersion(version: string): VersionRow | undefined {
    const n = versionNumber(version);
    const row = n === undefined ? undefined : this.store.version(n);
    return row && row.deleted === 0 ? row : undefined;
  }

  async performCreateVersion(config: BackupConfig): Promise<{ version: string }> {
    const version = this.ctx.storage.transactionSync(() => this.store.createVersion(config.algorithm, config.auth_data));
    return { version: String(version) };
  }

  async getVersion(version?: string): Promise<BackupVersion | undefined> {
    const row = version === undefined ? this.store.currentVersion() : this.liveVersion(version);
    return row && versionOf(row);
  }

  async performUpdateVersion(version: string, config: BackupConfig): Promise<KeyBackupResult> {
    return this.ctx.storage.transactionSync((): KeyBackupResult => {
      const row = this.liveVersion(version);
      if (!row) return unknownVersion();
      // Spec (PUT /room_keys/version/{version}): "Only `auth_data` can be modified"; the
      // algorithm "Must be the same as the algorithm currently used by the backup".
      if (row.algorithm !== config.algorithm) return { ok: false, errcode: 'M_INVALID_PARAM', error: 'Algorithm does not match.' };
      this.store.updateAuthData(row.version, config.auth_data);
      return { ok: true };
    });
  }

  async performDeleteVersion(version: string): Promise<KeyBackupResult> {
    return this.ctx.storage.transactionSync((): KeyBackupResult => {
      const n = versionNumber(version);
      const row = n === undefined ? undefined : this.store.version(n);
      if (!row) return unknownVersion();
      // Spec: "If the backup was previously deleted, the call should succeed rather than
      // returning an error."
      if (row.deleted === 0) this.store.deleteVersion(row.version);
      return { ok: true };
    });
  }

  async performPutRoomKeys(version: string, rooms: RoomKeys): Promise<KeyBackupResult<RoomKeysUpdate>> {
    return this.ctx.storage.transactionSync((): KeyBackupResult<RoomKeysUpdate> => {
      const current = this.store.currentVersion();
      if (!current) return { ok: false, errcode: 'M_NOT_FOUND', error: 'No current backup version.' };
      if (String(current.version) !== version) {
        // Spec: keys "can only be written to the most recently created version"; a client
        // still writing to an older, live version learns which one is current.
        if (!this.liveVersion(version)) return unknownVersion();
        return { ok: false, errcode: 'M_WRONG_ROOM_KEYS_VERSION', error: 'Wrong backup version.', current_version: String(current.version) };
      }
      let count = current.key_count;
      let changed = false;
      for (const [roomId, room] of Object.entries(rooms)) {
        for (const [sessionId, key] of Object.entries(room.sessions)) {
          const stored = this.store.roomKey(current.version, roomId, sessionId);
          if (stored && !shouldReplaceRoomKey(keyOf(stored), key)) continue;
          if (!stored) count++;
          this.store.putRoomKey(current.version, roomId, sessionId, key);
          changed = true;
        }
      }
      if (changed) this.store.keysChanged(current.version, count);
      return { ok: true, ...updateOf(this.store.version(current.version)!) };
    });
  }

  async getRoomKeys(version: string, scope: RoomKeysScope): Promise<KeyBackupResult<{ rooms: RoomKeys }>> {
    const row = this.liveVersion(version);
    if (!row) return unknownVersion();
    const rooms: RoomKeys = {};
    for (const key of this.store.roomKeys(row.version, scope)) {
      (rooms[key.room_id] ??= { sessions: {} }).sessions[key.session_id] = keyOf(key);
    }
    return { ok: true, rooms };
  }

  async performDeleteRoomKeys(version: string, scope: RoomKeysScope): Promise<KeyBackupResult<RoomKeysUpdate>> {
    return this.ctx.storage.transactionSync((): KeyBackupResult<RoomKeysUpdate> => {
      const row = this.liveVersion(version);
      if (!row) return unknownVersion();
      const deleted = this.store.deleteRoomKeys(row.version, scope);
      if (deleted > 0) this.store.keysChanged(row.version, row.key_count - deleted);
      return { ok: true, ...updateOf(this.store.version(row.version)!) };
    });
  }
}
