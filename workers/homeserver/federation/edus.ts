/**
 * EDUs of a received transaction (spec v1.16, Server-Server API "EDUs",
 * https://spec.matrix.org/v1.16/server-server-api/#edus). Each EDU is about users of the
 * server that sent it; one about anyone else is ignored, as is one for a room that is unknown
 * here, whose server ACL denies the origin, or where the user is not joined (the Room object
 * checks). EDUs have no answer: a bad one is skipped, never failing the transaction. The one
 * exception is a to-device message this server failed to store (its recipient's object did
 * not answer): unlike typing or presence, a later update does not replace it, so the whole
 * transaction fails (500) and the origin sends it again; every part of a retried transaction
 * is idempotent (known PDUs are duplicates, to-device messages are kept once per message_id).
 *
 * - `m.typing` ("Typing Notifications"): the room's typing set. A remote server sends
 *   `typing: false` when its user stops; in case it never does, the entry expires after
 *   `REMOTE_TYPING_TIMEOUT_MS` (Synapse's federation typing timeout).
 * - `m.receipt` ("Receipts"): public read receipts into the room's receipts.
 * - `m.presence` ("Presence"): each user's presence to the rooms here they are joined to, found
 *   through their server's index of them (edus-presence.ts).
 * - `m.direct_to_device` ("Send-to-device messaging"): into local recipients' to-device inboxes
 *   (edus-to-device.ts).
 * - `m.device_list_update`, `m.signing_key_update` ("Device Management"): the local users sharing
 *   a room with the user hear of the change through /sync `device_lists.changed`
 *   (edus-device-lists.ts).
 */
import { isJsonObject, type JsonObject, type JsonValue } from '../../../core/canonical-json';
import { isValidRoomId } from '../../../core/ids';
import { roomApi } from '../../../durable-objects/room/api';
import { receiveDirectToDevice } from './edus-to-device';
import { receivePresence } from './edus-presence';
import { receiveDeviceListUpdate } from './edus-device-lists';
import type { HomeserverBindings } from '../env';

const REMOTE_TYPING_TIMEOUT_MS = 60_000;

const serverOf = (userId: string): string => userId.slice(userId.indexOf(':') + 1);

export async function receiveEdus(env: HomeserverBindings, origin: string, edus: readonly JsonValue[]): Promise<void> {
  const allowed = new Map<string, Promise<boolean>>();
  /** Whether `roomId` is known here and its ACL lets `origin` in (once per room and transaction). */
  const roomAllows = (roomId: string): Promise<boolean> => {
    let p = allowed.get(roomId);
    if (!p) {
      p = roomApi(env.ROOM, roomId).queryServerAccess(origin).then((a) => a?.acl_allows === true);
      allowed.set(roomId, p);
    }
    return p;
  };
  const ofOrigin = (userId: unknown): userId is string => typeof userId === 'string' && serverOf(userId) === origin;

  let undelivered: unknown;
  for (const edu of edus) {
    if (!isJsonObject(edu) || typeof edu.edu_type !== 'string' || !isJsonObject(edu.content)) continue;
    try {
      if (edu.edu_type === 'm.typing') await receiveTyping(env, edu.content, ofOrigin, roomAllows);
      else if (edu.edu_type === 'm.receipt') await receiveReceipts(env, edu.content, ofOrigin, roomAllows);
      else if (edu.edu_type === 'm.direct_to_device') await receiveDirectToDevice(env, edu.content, ofOrigin);
      else if (edu.edu_type === 'm.presence') await receivePresence(env, origin, edu.content, roomAllows);
      else if (edu.edu_type === 'm.device_list_update' || edu.edu_type === 'm.signing_key_update') await receiveDeviceListUpdate(env, origin, edu.content);
    } catch (e) {
      console.warn(`federation/send: an ${edu.edu_type} EDU from ${origin} failed: ${(e as Error).message}`);
      if (edu.edu_type === 'm.direct_to_device') undelivered = e;
    }
  }
  if (undelivered !== undefined) throw undelivered;
}

type OfOrigin = (userId: unknown) => userId is string;
type RoomAllows = (roomId: string) => Promise<boolean>;

/** Spec `m.typing` content: `{room_id, user_id, typing}`. */
async function receiveTyping(env: HomeserverBindings, content: JsonObject, ofOrigin: OfOrigin, roomAllows: RoomAllows): Promise<void> {
  const { room_id: roomId, user_id: userId, typing } = content;
  if (!isValidRoomId(roomId) || !ofOrigin(userId) || typeof typing !== 'boolean') return;
  if (!(await roomAllows(roomId))) return;
  await roomApi(env.ROOM, roomId).performTyping({ user_id: userId, typing, timeout_ms: REMOTE_TYPING_TIMEOUT_MS });
}

/** Spec `m.receipt` content: `{room_id: {"m.read": {user_id: {event_ids, data: {ts, thread_id?}}}}}`. */
async function receiveReceipts(env: HomeserverBindings, content: JsonObject, ofOrigin: OfOrigin, roomAllows: RoomAllows): Promise<void> {
  for (const [roomId, byType] of Object.entries(content)) {
    if (!isValidRoomId(roomId) || !isJsonObject(byType) || !isJsonObject(byType['m.read'])) continue;
    if (!(await roomAllows(roomId))) continue;
    const room = roomApi(env.ROOM, roomId);
    for (const [userId, receipt] of Object.entries(byType['m.read'])) {
      if (!ofOrigin(userId) || !isJsonObject(receipt) || !Array.isArray(receipt.event_ids)) continue;
      const data = isJsonObject(receipt.data) ? receipt.data : {};
      const threadId = typeof data.thread_id === 'string' ? { thread_id: data.thread_id } : {};
      const ts = typeof data.ts === 'number' && Number.isSafeInteger(data.ts) ? { ts: data.ts } : {};
      // Receipts only move forwards (the room keeps the newest), so each listed event can be offered.
      for (const eventId of receipt.event_ids) {
        if (typeof eventId === 'string') await room.performReceipt({ user_id: userId, receipt_type: 'm.read', event_id: eventId, ...threadId, ...ts });
      }
    }
  }
}
