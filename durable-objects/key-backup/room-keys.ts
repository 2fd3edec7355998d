/**
 * The key-backup rules that need no storage: which of two keys for one session the backup
 * keeps, and what a version string may be.
 */
import type { KeyBackupData } from './api';

type KeyMetadata = Pick<KeyBackupData, 'is_verified' | 'first_message_index' | 'forwarded_count'>;

/**
 * Whether an uploaded key replaces the stored key of the same session. Spec "Server-side key
 * backups": "if the keys have different values for `is_verified`, then it will keep the key
 * that has `is_verified` set to `true`; if they have the same values for `is_verified`, then
 * it will keep the key with a lower `first_message_index`; and finally, if `is_verified` and
 * `first_message_index` are equal, then it will keep the key with a lower `forwarded_count`."
 * A key equal on all three keeps the stored one (nothing changes, the etag stays).
 *
 * Synapse's `_should_replace_room_key` checks the same fields in the same order but lets a
 * lower `first_message_index` win over a verified key and a lower `forwarded_count` win over a
 * lower index; the spec's order is followed here.
 * https://spec.matrix.org/v1.16/client-server-api/#server-side-key-backups
 */
export function shouldReplaceRoomKey(stored: KeyMetadata, uploaded: KeyMetadata): boolean {
  if (stored.is_verified !== uploaded.is_verified) return uploaded.is_verified;
  if (stored.first_message_index !== uploaded.first_message_index) return uploaded.first_message_index < stored.first_message_index;
  return uploaded.forwarded_count < stored.forwarded_count;
}

/** A version string's number: versions are "1", "2", … (no sign, no leading zero); anything else names no version. */
export function versionNumber(version: string): number | undefined {
  if (!/^[1-9][0-9]{0,14}$/.test(version)) return undefined;
  return Number(version);
}
