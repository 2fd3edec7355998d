/**
 * What the room endpoints share: parsing a room ID from the path, sending one event and turning
 * the Room object's failure values into `MatrixError`s, and the reader check.
 */
import { isValidRoomId } from '../../../core/ids';
import { roomApi, type MembershipInfo, type RoomApi, type SendInput } from '../../../durable-objects/room/api';
import { MatrixError, matrixErrorOf } from '../../shared/errors';

/** The room object of a path's `roomId` (`400 M_INVALID_PARAM` when it is no room ID). */
export function roomOf(rooms: DurableObjectNamespace, roomId: string): RoomApi {
  if (!isValidRoomId(roomId)) throw new MatrixError(400, 'M_INVALID_PARAM', `Invalid room ID: ${roomId}`);
  return roomApi(rooms, roomId);
}

/**
 * Send one event; auth failures come back as `403 M_FORBIDDEN` with the reason, an unknown
 * room as `404 M_NOT_FOUND`.
 */
export async function sendEvent(room: RoomApi, input: SendInput): Promise<string> {
  const result = await room.performSend(input);
  if (!result.ok) throw matrixErrorOf(result);
  return result.event_id;
}

/**
 * Whether `userId` may read the room, or throw `403 M_FORBIDDEN` (unknown room: 404).
 *
 * Simplified history visibility (spec v1.16, Client-Server API "History visibility",
 * https://spec.matrix.org/v1.16/client-server-api/#history-visibility): a user who is joined
 * now may read the whole room, and anyone may read a `world_readable` one. The spec's finer
 * rules — a user who left or was banned keeps the events up to that point, `shared` /
 * `invited` / `joined` bound which earlier events a member sees — are not applied yet: a user
 * not joined now is refused, and a joined user sees the history before they joined.
 */
export async function requireReader(room: RoomApi, userId: string): Promise<MembershipInfo> {
  const info = await room.queryMembership(userId);
  if (!info) throw new MatrixError(404, 'M_NOT_FOUND', 'Unknown room.');
  if (info.membership !== 'join' && info.history_visibility !== 'world_readable') {
    throw new MatrixError(403, 'M_FORBIDDEN', `${userId} is not in the room.`);
  }
  return info;
}
