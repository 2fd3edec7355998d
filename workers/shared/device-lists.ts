/**
 * Telling others that a local user's devices or cross-signing keys changed (spec v1.16,
 * Client-Server API "Tracking the device list for a user",
 * https://spec.matrix.org/v1.16/client-server-api/#tracking-the-device-list-for-a-user, and
 * Server-Server API "Device Management", https://spec.matrix.org/v1.16/server-server-api/#device-management):
 * - every local user sharing a room with them, and the user themself, through their User
 *   object's device stream (/sync `device_lists.changed`, `keys/changes`);
 * - every other server in those rooms, through an `m.device_list_update` EDU per changed
 *   device (with the user's device-list `stream_id`/`prev_id`) or an `m.signing_key_update`
 *   EDU, on that server's RemoteServer queue.
 * Remote servers do not cache our users' keys here; they ask `user/keys/query` (see
 * workers/homeserver/federation/users.ts) and use the EDUs to know when to ask again.
 */
import type { JsonObject } from '../../core/canonical-json';
import { serverNameOf, type UserId } from '../../core/ids';
import { remoteServerApi, type Edu } from '../../durable-objects/remote-server/api';
import { roomApi } from '../../durable-objects/room/api';
import { userApi } from '../../durable-objects/user/api';
import { userKeysApi, type DeviceListUpdate, type SigningKeyUpdate } from '../../durable-objects/user-keys/api';
import type { HomeserverBindings } from '../homeserver/env';

/** What changed of one user's keys: devices (one update each, from their UserKeys object) and/or the cross-signing keys. */
export interface DeviceListChange {
  device_updates?: DeviceListUpdate[];
  signing_key_update?: SigningKeyUpdate;
}

/** Calls to other objects run this many at a time, so a user in many rooms does not open hundreds at once. */
const FAN_OUT = 25;

async function inBatches<T>(items: readonly T[], fn: (item: T) => Promise<unknown>, what: string): Promise<void> {
  for (let i = 0; i < items.length; i += FAN_OUT) {
    const results = await Promise.allSettled(items.slice(i, i + FAN_OUT).map(fn));
    for (const r of results) if (r.status === 'rejected') console.warn(`device lists: ${what} failed: ${(r.reason as Error)?.message ?? r.reason}`);
  }
}

/** The local users (the user included) and the other servers joined to the rooms `userId` is joined to. */
async function audienceOf(env: HomeserverBindings, userId: string): Promise<{ localUsers: Set<string>; servers: Set<string> }> {
  const ownServer = serverNameOf(userId as UserId);
  const localUsers = new Set<string>([userId]);
  const servers = new Set<string>();
  const rooms = await userApi(env.USER, userId).getJoinedRooms();
  await inBatches(rooms, async (roomId) => {
    for (const member of await roomApi(env.ROOM, roomId).getCurrentStateEvents('m.room.member')) {
      const content = member.pdu.content as JsonObject | undefined;
      const stateKey = member.pdu.state_key;
      if (content?.membership !== 'join' || typeof stateKey !== 'string') continue;
      const server = serverNameOf(stateKey as UserId);
      if (server === ownServer) localUsers.add(stateKey);
      else if (server !== undefined) servers.add(server);
    }
  }, 'reading room members');
  return { localUsers, servers };
}

function edusOf(change: DeviceListChange): Edu[] {
  const edus: Edu[] = (change.device_updates ?? []).map((u) => ({
    edu_type: 'm.device_list_update',
    content: {
      user_id: u.user_id,
      device_id: u.device_id,
      stream_id: u.stream_id,
      prev_id: u.prev_id,
      ...(u.deleted ? { deleted: true } : {}),
      ...(u.keys ? { keys: u.keys } : {}),
    },
  }));
  const s = change.signing_key_update;
  if (s) {
    edus.push({
      edu_type: 'm.signing_key_update',
      content: { user_id: s.user_id, ...(s.master_key ? { master_key: s.master_key } : {}), ...(s.self_signing_key ? { self_signing_key: s.self_signing_key } : {}) },
    });
  }
  return edus;
}

/**
 * A local user's devices or cross-signing keys changed: tell every local user sharing a room
 * (and the user themself) through performDeviceListChanged, and every remote server in those
 * rooms through an m.device_list_update (or m.signing_key_update) EDU on its RemoteServer queue.
 */
export async function announceDeviceListChange(env: HomeserverBindings, userId: string, change: DeviceListChange): Promise<void> {
  const edus = edusOf(change);
  if (edus.length === 0) return;
  const { localUsers, servers } = await audienceOf(env, userId);
  await Promise.all([
    inBatches([...localUsers], (u) => userApi(env.USER, u).performDeviceListChanged([userId]), 'telling a local user'),
    inBatches([...servers], (s) => remoteServerApi(env.REMOTE_SERVER, s).performEnqueue({ edus }), 'queueing EDUs'),
  ]);
}

/**
 * Changes only the user's own devices hear of (Synapse's "signature stream"): their
 * user-signing key, or their signatures on other users' master keys, which nobody else sees.
 */
export async function announceToOwnDevices(env: HomeserverBindings, userId: string, changedUserIds: string[]): Promise<void> {
  if (changedUserIds.length > 0) await userApi(env.USER, userId).performDeviceListChanged(changedUserIds);
}

/**
 * Devices were deleted (logout, device deletion, password change, deactivation): forget their
 * keys (spec: a deleted device's keys are gone) and announce the devices that had keys.
 */
export async function forgetDeviceKeys(env: HomeserverBindings, userId: string, devices: { only: string[] } | { except: string[] }): Promise<void> {
  const keys = userKeysApi(env.USER_KEYS, userId);
  const updates = 'only' in devices ? await keys.performDeleteDevices(devices.only) : await keys.performDeleteDevicesExcept(devices.except);
  if (updates.length > 0) await announceDeviceListChange(env, userId, { device_updates: updates });
}
