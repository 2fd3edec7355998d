/** SQL of the KeyBackup object (schema.ts). */
import type { JsonObject } from '../../core/canonical-json';
import { applyMigrations } from '../shared/migrations';
import type { KeyBackupData, RoomKeysScope } from './api';
import { MIGRATIONS } from './schema';

export interface VersionRow extends Record<string, SqlStorageValue> {
  version: number;
  algorithm: string;
  /** JSON text. */
  auth_data: string;
  etag: number;
  key_count: number;
  deleted: number;
}

export interface RoomKeyRow extends Record<string, SqlStorageValue> {
  room_id: string;
  session_id: string;
  first_message_index: number;
  forwarded_count: number;
  is_verified: number;
  /** JSON text. */
  session_data: string;
}

/** The WHERE clause (after `version = ?`) and its values for a scope of keys. */
function scopeFilter(scope: RoomKeysScope): { sql: string; values: string[] } {
  if (scope.room_id === undefined) return { sql: '', values: [] };
  if (scope.session_id === undefined) return { sql: ' AND room_id = ?', values: [scope.room_id] };
  return { sql: ' AND room_id = ? AND session_id = ?', values: [scope.room_id, scope.session_id] };
}

export class KeyBackupStore {
  constructor(private readonly sql: SqlStorage) {}

  migrate(): void {
    applyMigrations(this.sql, MIGRATIONS);
  }

  /** A new version, numbered after every version ever created (deleted ones included). */
  createVersion(algorithm: string, authData: JsonObject): number {
    const last = this.sql.exec<{ v: number }>('SELECT COALESCE(MAX(version), 0) AS v FROM backup_versions').one().v;
    const version = last + 1;
    this.sql.exec('INSERT INTO backup_versions (version, algorithm, auth_data) VALUES (?, ?, ?)', version, algorithm, JSON.stringify(authData));
    return version;
  }

  /** A version's row, deleted or not. */
  version(version: number): VersionRow | undefined {
    return this.sql.exec<VersionRow>('SELECT * FROM backup_versions WHERE version = ?', version).toArray()[0];
  }

  /** The highest version not deleted. */
  currentVersion(): VersionRow | undefined {
    return this.sql.exec<VersionRow>('SELECT * FROM backup_versions WHERE deleted = 0 ORDER BY version DESC LIMIT 1').toArray()[0];
  }

  updateAuthData(version: number, authData: JsonObject): void {
    this.sql.exec('UPDATE backup_versions SET auth_data = ? WHERE version = ?', JSON.stringify(authData), version);
  }

  /** Mark a version deleted and drop its keys; the row stays so the number is not reused. */
  deleteVersion(version: number): void {
    this.sql.exec('DELETE FROM room_keys WHERE version = ?', version);
    this.sql.exec('UPDATE backup_versions SET deleted = 1, key_count = 0 WHERE version = ?', version);
  }

  /** Record a change to a version's keys: a new etag and the new key count. */
  keysChanged(version: number, keyCount: number): void {
    this.sql.exec('UPDATE backup_versions SET etag = etag + 1, key_count = ? WHERE version = ?', keyCount, version);
  }

  roomKey(version: number, roomId: string, sessionId: string): RoomKeyRow | undefined {
    return this.sql
      .exec<RoomKeyRow>('SELECT * FROM room_keys WHERE version = ? AND room_id = ? AND session_id = ?', version, roomId, sessionId)
      .toArray()[0];
  }

  /** Insert or overwrite one session's key. */
  putRoomKey(version: number, roomId: string, sessionId: string, key: KeyBackupData): void {
    this.sql.exec(
      `INSERT INTO room_keys (version, room_id, session_id, first_message_index, forwarded_count, is_verified, session_data) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (version, room_id, session_id) DO UPDATE SET first_message_index = excluded.first_message_index,
         forwarded_count = excluded.forwarded_count, is_verified = excluded.is_verified, session_data = excluded.session_data`,
      version, roomId, sessionId, key.first_message_index, key.forwarded_count, key.is_verified ? 1 : 0, JSON.stringify(key.session_data),
    );
  }

  roomKeys(version: number, scope: RoomKeysScope): RoomKeyRow[] {
    const f = scopeFilter(scope);
    return this.sql.exec<RoomKeyRow>(`SELECT * FROM room_keys WHERE version = ?${f.sql} ORDER BY room_id, session_id`, version, ...f.values).toArray();
  }

  /** Delete the keys in `scope`; returns how many there were. */
  deleteRoomKeys(version: number, scope: RoomKeysScope): number {
    const f = scopeFilter(scope);
    const n = this.sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM room_keys WHERE version = ?${f.sql}`, version, ...f.values).one().n;
    this.sql.exec(`DELETE FROM room_keys WHERE version = ?${f.sql}`, version, ...f.values);
    return n;
  }
}
