/**
 * The `m.presence` EDU (spec v1.16, Server-Server API "Presence",
 * https://spec.matrix.org/v1.16/server-server-api/#presence): `{push: [{user_id, presence,
 * status_msg?, last_active_ago, currently_active?}]}`, the presence of users of the sending
 * server.
 *
 * Rooms keep their joined members' presence and hand it to their local members' /sync
 * (durable-objects/room/ephemeral.ts), so a remote user's presence goes to every room here
 * the user is joined to — found through the index their server's RemoteServer object keeps
 * (durable-objects/room/remote-members.ts). A room whose server ACL denies the origin is left
 * out, as the origin may not affect it.
 *
 * A room keeps a newer copy over an older one by `version`. Local users' objects number their
 * changes; a remote server's EDU carries no number, so the time of receipt is the version:
 * later EDUs about a user replace earlier ones, as the spec's "push" of the latest presence means.
 */
import { isJsonObject, type JsonObject } from '../../../core/canonical-json';
import { remoteServerApi } from '../../../durable-objects/remote-server/api';
import { roomApi } from '../../../durable-objects/room/api';
import type { PresenceState, PresenceStatus } from '../../../durable-objects/user/api';
import type { HomeserverBindings } from '../env';

const STATES: readonly string[] = ['online', 'unavailable', 'offline'] satisfies PresenceState[];

/** The last version handed out in this isolate: versions grow even within one millisecond. */
let lastVersion = 0;
function nextVersion(): number {
  lastVersion = Math.max(Date.now(), lastVersion + 1);
  return lastVersion;
}

/** `m.presence` from `origin`: each of its users' presence to the rooms here they are joined to. */
export async function receivePresence(
  env: HomeserverBindings, origin: string, content: JsonObject, roomAllows: (roomId: string) => Promise<boolean>,
): Promise<void> {
  if (!Array.isArray(content.push)) return;
  const index = remoteServerApi(env.REMOTE_SERVER, origin);
  const now = Date.now();
  for (const entry of content.push) {
    const status = presenceOf(entry, origin, now);
    if (!status) continue;
    const rooms = await index.getJoinedRoomsOf(status.user_id);
    await Promise.all(
      rooms.map(async (roomId) => {
        if (await roomAllows(roomId)) await roomApi(env.ROOM, roomId).performPresence(status);
      }),
    );
  }
}

/** One `push` entry as the rooms keep it; undefined when malformed or not about a user of `origin`. */
function presenceOf(entry: unknown, origin: string, now: number): PresenceStatus | undefined {
  if (!isJsonObject(entry)) return undefined;
  const { user_id: userId, presence, status_msg: statusMsg, last_active_ago: ago, currently_active: active } = entry;
  if (typeof userId !== 'string' || !userId.startsWith('@') || userId.slice(userId.indexOf(':') + 1) !== origin) return undefined;
  if (typeof presence !== 'string' || !STATES.includes(presence)) return undefined;
  return {
    user_id: userId,
    presence: presence as PresenceState,
    status_msg: typeof statusMsg === 'string' ? statusMsg : null,
    last_active_ts: typeof ago === 'number' && Number.isSafeInteger(ago) && ago >= 0 ? now - ago : null,
    currently_active: active === true,
    version: nextVersion(),
  };
}
