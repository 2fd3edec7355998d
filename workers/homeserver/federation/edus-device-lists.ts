/**
 * The `m.device_list_update` and `m.signing_key_update` EDUs (spec v1.16, Server-Server API
 * "Device Management", https://spec.matrix.org/v1.16/server-server-api/#device-management, and
 * "End-to-End Encryption": a user of the sending server added, changed or removed a device, or
 * changed their cross-signing keys).
 *
 * This server keeps no copy of remote users' devices or keys (`keys/query` and `keys/claim` ask
 * the user's server each time), so an update only has to reach the local users who track the
 * remote user: those sharing a room with them (spec Client-Server API "Tracking the device list
 * for a user": `device_lists.changed` of /sync lists users "who share an encrypted room"
 * with the client). The rooms come from the index the user's server's RemoteServer object keeps
 * (durable-objects/room/remote-members.ts); each local member joined to one of them is told
 * once through `performDeviceListChanged`. Both EDUs name the user in `user_id`; the rest of
 * their content (the device, the keys) is not needed here.
 */
import type { JsonObject } from '../../../core/canonical-json';
import { remoteServerApi } from '../../../durable-objects/remote-server/api';
import { roomApi } from '../../../durable-objects/room/api';
import { userApi } from '../../../durable-objects/user/api';
import type { HomeserverBindings } from '../env';

/** Local users' objects told at once. */
const USER_CONCURRENCY = 6;

/** `m.device_list_update` or `m.signing_key_update` from `origin`: tell the local users sharing a room with its user. */
export async function receiveDeviceListUpdate(env: HomeserverBindings, origin: string, content: JsonObject): Promise<void> {
  const userId = content.user_id;
  if (typeof userId !== 'string' || !userId.startsWith('@') || userId.slice(userId.indexOf(':') + 1) !== origin) return;
  const rooms = await remoteServerApi(env.REMOTE_SERVER, origin).getJoinedRoomsOf(userId);
  const members = await Promise.all(rooms.map((roomId) => roomApi(env.ROOM, roomId).getLocalJoinedMembers()));
  const local = [...new Set(members.flat())];
  for (let i = 0; i < local.length; i += USER_CONCURRENCY) {
    await Promise.all(local.slice(i, i + USER_CONCURRENCY).map((u) => userApi(env.USER, u).performDeviceListChanged([userId])));
  }
}
