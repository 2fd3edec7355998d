/**
 * /sync `device_lists` (spec v1.16, Client-Server API "Extensions to /sync" of End-to-End
 * Encryption, and "Tracking the device list for a user",
 * https://spec.matrix.org/v1.16/client-server-api/#tracking-the-device-list-for-a-user):
 * `changed` lists the "users who have updated their device identity or cross-signing keys, or
 * who now share an encrypted room with the client since the previous sync", `left` the "users
 * with whom we do not share any encrypted rooms anymore since the previous sync response". The
 * client re-fetches the keys of the first and stops tracking the second.
 *
 * Key changes come from the user's device stream (durable-objects/user/device-lists.ts). The
 * sharing part is computed at sync time from this sync's membership changes, as Synapse does
 * (`_generate_sync_entry_for_device_list`), on incremental syncs only (an initial sync has no
 * "previous sync"). Each room the sync fetches reports how the members the user shares it with
 * changed over the sync's range (durable-objects/room/shared-members.ts):
 * - a room the user newly joined: its other joined members are `changed`;
 * - a room the user left (leave or ban): the members they shared it with are candidates for `left`;
 * - a room the user stays in: members who joined (or whose member event changed) are `changed`,
 *   members who left or were banned are candidates for `left`.
 * A candidate goes into `left` only if they are joined to none of the user's joined rooms now
 * (each room asked, one call per room at most, until every candidate is found in one; none when
 * there are no candidates), and is then no longer listed in `changed`.
 *
 * "Encrypted rooms": like Synapse, every shared room counts, encrypted or not. Reporting a user
 * whose keys the client does not need only costs it a key query; narrowing to encrypted rooms
 * would miss a room that turned encrypted in between.
 *
 * Rooms the sync filter leaves out (`room.rooms`/`not_rooms`) are not fetched and report no
 * changes; the `left` check still asks every joined room, so a filter never causes a false `left`.
 */
import { roomApi, type SharedMembersChange } from '../../../durable-objects/room/api';
import { userApi } from '../../../durable-objects/user/api';
import type { HomeserverBindings } from '../env';
import { mapLimited } from './sync';

/** Room objects asked at once (Workers allow six simultaneous subrequests per request). */
const ROOM_CONCURRENCY = 6;

export interface DeviceLists {
  changed: string[];
  left: string[];
}

/**
 * `device_lists` of an incremental sync of `userId`: `keyChanges` are the users whose device
 * lists or cross-signing keys changed in the sync's device-stream range, `rooms` the fetched
 * rooms' `shared_members` (undefined where a room gave none).
 */
export async function syncDeviceLists(
  env: HomeserverBindings,
  userId: string,
  keyChanges: readonly string[],
  rooms: readonly (SharedMembersChange | undefined)[],
): Promise<DeviceLists> {
  const changed = new Set(keyChanges);
  const candidates = new Set<string>();
  for (const r of rooms) {
    for (const u of r?.joined ?? []) changed.add(u);
    for (const u of r?.left ?? []) candidates.add(u);
  }
  candidates.delete(userId);
  if (candidates.size > 0) {
    const joinedRooms = await userApi(env.USER, userId).getJoinedRooms();
    await mapLimited(joinedRooms, ROOM_CONCURRENCY, async (roomId) => {
      if (candidates.size === 0) return;
      for (const u of await roomApi(env.ROOM, roomId).queryJoined([...candidates])) candidates.delete(u);
    });
  }
  for (const u of candidates) changed.delete(u);
  return { changed: [...changed], left: [...candidates] };
}
