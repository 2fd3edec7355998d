/**
 * What the room endpoints share: parsing a room ID from the path, sending one event and turning
 * the Room object's failure values into `MatrixError`s, and the reader checks.
 */
import { isValidRoomId } from '../../../core/ids';
import { roomApi, type HistoryAccess, type MembershipInfo, type RoomApi, type SendInput } from '../../../durable-objects/room/api';
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
 * Whether `userId` may read the room's *current* state, or throw `403 M_FORBIDDEN` (unknown
 * room: 404): a user joined now, or anyone while the room is `world_readable` (spec v1.16,
 * Client-Server API "Room History Visibility": "In all cases except `world_readable`, a user
 * needs to join a room to view events in that room"). For the state and member endpoints.
 *
 * Reads of events (/messages, /context, /event, relations, threads) use `requireHistoryReader`
 * instead, and the Room object applies the per-event rules to what they return
 * (durable-objects/room/visibility.ts): there a user who left or was banned keeps the events
 * up to their leave, and `shared` / `invited` / `joined` bound which earlier events a member sees.
 */
export async function requireReader(room: RoomApi, userId: string): Promise<MembershipInfo> {
  const info = await room.queryMembership(userId);
  if (!info) throw new MatrixError(404, 'M_NOT_FOUND', 'Unknown room.');
  if (info.membership !== 'join' && info.history_visibility !== 'world_readable') {
    throw new MatrixError(403, 'M_FORBIDDEN', `${userId} is not in the room.`);
  }
  return info;
}

/**
 * Whether `userId` may see any of the room's events under the history visibility rules (spec
 * v1.16, Client-Server API "Room History Visibility",
 * https://spec.matrix.org/v1.16/client-server-api/#room-history-visibility), or throw `403
 * M_FORBIDDEN` (unknown room: 404): joined now or at some point, invited under `invited`, or
 * the room was `world_readable` at some point. Which events they see is the Room object's
 * per-event check on each read (pass it `user_id`).
 */
export async function requireHistoryReader(room: RoomApi, userId: string): Promise<HistoryAccess> {
  const access = await room.queryHistoryAccess(userId);
  if (!access) throw new MatrixError(404, 'M_NOT_FOUND', 'Unknown room.');
  if (!access.sees_history) throw new MatrixError(403, 'M_FORBIDDEN', `${userId} may not see the history of this room.`);
  return access;
}
