/**
 * @module Device-list changes on the user's device stream (spec v1.16, Client-Server API
 * "End-to-End Encryption", "Tracking the device list for a user" and "Extensions to /sync",
 * https://spec.matrix.org/v1.16/client-server-api/#tracking-the-device-list-for-a-user).
 *
 * Whoever learns that a user's devices or cross-signing keys changed (the key upload of a
 * local user, an `m.device_list_update` EDU of a remote one) tells each local user who shares
 * a room with them, and this object records the change at the next device-stream position:
 * one row per user, moved to its newest change, so the changes in (a, b] are the rows with
 * a < pos <= b (as account data), each user once. /sync reports them in
 * `device_lists.changed`, `GET /keys/changes` between two sync tokens.
 *
 * `device_lists.left` (users who no longer share an encrypted room) is not tracked: it stays
 * empty, and clients keep tracking such users until they next query their keys.
 */
import type { UserStore } from './store';

/** Record that `userIds`' device lists changed (inside a transaction); false when there were none. */
export function deviceListChanged(store: UserStore, userIds: readonly string[]): boolean {
  if (userIds.length === 0) return false;
  store.setDeviceListChanged(userIds, store.nextDeviceStreamPosition());
  return true;
}
