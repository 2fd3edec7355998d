/**
 * What callers see of a KeyBackup object: one per local user (`env.KEY_BACKUP.getByName(userId)`),
 * holding that user's server-side key backups (spec v1.16, Client-Server API "Server-side key
 * backups"): the backup versions with their `auth_data`, and the encrypted Megolm session keys
 * stored in each. The server never reads the keys; it only keeps the best copy of each session
 * (room-keys.ts) and tells clients, through `etag` and `count`, when the backup changed.
 * https://spec.matrix.org/v1.16/client-server-api/#server-side-key-backups
 *
 * Versions are decimal strings of increasing integers ("1", "2", …), never reused once deleted
 * (as Synapse does); the current version is the highest one not deleted. A version string
 * that is not such a number is simply unknown (`M_NOT_FOUND`).
 */
import type { JsonObject } from '../../core/canonical-json';

/** Spec `KeyBackupData`: one session's key, as uploaded. */
export interface KeyBackupData {
  first_message_index: number;
  forwarded_count: number;
  is_verified: boolean;
  /** Algorithm-dependent (for `m.megolm_backup.v1.curve25519-aes-sha2`: ephemeral, ciphertext, mac). */
  session_data: JsonObject;
}

/** Spec `RoomKeyBackup`: a room's sessions by session ID. */
export interface RoomKeyBackup {
  sessions: Record<string, KeyBackupData>;
}

/** Keys by room ID, as the `rooms` of `PUT`/`GET /room_keys/keys`. */
export type RoomKeys = Record<string, RoomKeyBackup>;

/** A backup version, as `GET /room_keys/version[/{version}]` answers it. */
export interface BackupVersion {
  version: string;
  algorithm: string;
  auth_data: JsonObject;
  /** Changes whenever the version's keys change (spec: clients compare it to spot other writers). */
  etag: string;
  /** The number of keys stored in the version. */
  count: number;
}

/** A backup's configuration, as `POST /room_keys/version` and `PUT .../{version}` send it. */
export interface BackupConfig {
  algorithm: string;
  auth_data: JsonObject;
}

/** Spec `RoomKeysUpdateResponse`: the version's state after a write. */
export interface RoomKeysUpdate {
  etag: string;
  count: number;
}

/** Which keys of a version a read or delete covers: all of them, one room's, or one session's. */
export type RoomKeysScope = { room_id?: undefined; session_id?: undefined } | { room_id: string; session_id?: string };

/** Expected failures cross RPC as values: thrown errors would lose their errcode. */
export type KeyBackupFailure =
  | { ok: false; errcode: 'M_NOT_FOUND' | 'M_INVALID_PARAM'; error: string }
  /** Spec: keys may only be written to the current version; `current_version` names it. */
  | { ok: false; errcode: 'M_WRONG_ROOM_KEYS_VERSION'; error: string; current_version: string };

export type KeyBackupResult<T = object> = ({ ok: true } & T) | KeyBackupFailure;

export interface KeyBackupApi {
  /** Create a version; it becomes the current one (older versions can be read, not written). */
  performCreateVersion(config: BackupConfig): Promise<{ version: string }>;
  /** A version not deleted (`undefined`: the current one), or undefined when there is none. */
  getVersion(version?: string): Promise<BackupVersion | undefined>;
  /** Replace a version's `auth_data`; its `algorithm` may not change (`M_INVALID_PARAM`). */
  performUpdateVersion(version: string, config: BackupConfig): Promise<KeyBackupResult>;
  /** Delete a version and all its keys; deleting a deleted version succeeds again (spec). */
  performDeleteVersion(version: string): Promise<KeyBackupResult>;
  /** Store keys in the current version, keeping the better key where one is stored already. */
  performPutRoomKeys(version: string, rooms: RoomKeys): Promise<KeyBackupResult<RoomKeysUpdate>>;
  /** The stored keys in `scope` (rooms without keys are absent). */
  getRoomKeys(version: string, scope: RoomKeysScope): Promise<KeyBackupResult<{ rooms: RoomKeys }>>;
  /** Delete the keys in `scope`. */
  performDeleteRoomKeys(version: string, scope: RoomKeysScope): Promise<KeyBackupResult<RoomKeysUpdate>>;
}

export function keyBackupApi(namespace: DurableObjectNamespace, userId: string): KeyBackupApi {
  return namespace.getByName(userId) as unknown as KeyBackupApi;
}
