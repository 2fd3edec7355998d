/**
 * @module Typing notifications, receipts and read markers (spec v1.16, Client-Server API
 * "Typing Notifications", "Receipts" and "Fully read markers"):
 * `PUT /_matrix/client/v3/rooms/{roomId}/typing/{userId}`,
 * `POST /_matrix/client/v3/rooms/{roomId}/receipt/{receiptType}/{eventId}`,
 * `POST /_matrix/client/v3/rooms/{roomId}/read_markers`.
 * https://spec.matrix.org/v1.16/client-server-api/#typing-notifications
 * https://spec.matrix.org/v1.16/client-server-api/#receipts
 * https://spec.matrix.org/v1.16/client-server-api/#fully-read-markers
 *
 * Typing and receipts live in the Room object (durable-objects/room/ephemeral.ts), which tells
 * its local members and so reaches their /sync. The fully-read marker is the room account data
 * `m.fully_read` of the user (`{"event_id": ...}`), written in the user's object. Only joined
 * members may type or send receipts and markers (403 otherwise); receipts and markers must name
 * an accepted event of the room (404 otherwise).
 */
import { Hono } from 'hono';
import type { JsonObject } from '../../../core/canonical-json';
import type { ReceiptCommand, RoomApi } from '../../../durable-objects/room/api';
import { userApi } from '../../../durable-objects/user/api';
import { requireAccessToken } from '../../shared/auth';
import { optionalBoolean, optionalString, readJsonBody } from '../../shared/body';
import { MatrixError, matrixErrorOf } from '../../shared/errors';
import type { HomeserverEnv } from '../env';
import { roomOf } from './room-access';

/** Spec `timeout` has no default or bound: 30 s when absent, at most 2 minutes. */
const DEFAULT_TYPING_TIMEOUT_MS = 30_000;
const MAX_TYPING_TIMEOUT_MS = 120_000;

type ReceiptType = ReceiptCommand['receipt_type'];
const isReceiptType = (t: string): t is ReceiptType => t === 'm.read' || t === 'm.read.private';

/**
 * Spec (`thread_id`, 400): "The thread_id is invalid in some way. For example: It is not a
 * string. It is empty. It is provided for an incompatible receipt type."
 */
function threadIdOf(body: JsonObject): string | undefined {
  const threadId = optionalString(body, 'thread_id');
  if (threadId !== undefined && threadId !== 'main' && !threadId.startsWith('$')) {
    throw new MatrixError(400, 'M_INVALID_PARAM', '"thread_id" must be "main" or an event ID.');
  }
  return threadId;
}

async function sendReceipt(room: RoomApi, input: ReceiptCommand): Promise<void> {
  const result = await room.performReceipt(input);
  if (!result.ok) throw matrixErrorOf(result);
}

/** Set `m.fully_read` of `roomId` to `eventId`, for a joined member and an event of the room. */
async function setFullyRead(env: HomeserverEnv['Bindings'], room: RoomApi, roomId: string, userId: string, eventId: string): Promise<void> {
  const [info, event] = await Promise.all([room.queryMembership(userId), room.getEvent(eventId)]);
  if (!info) throw new MatrixError(404, 'M_NOT_FOUND', 'Unknown room.');
  if (info.membership !== 'join') throw new MatrixError(403, 'M_FORBIDDEN', `${userId} is not in the room.`);
  if (!event || event.status !== 'accepted') throw new MatrixError(404, 'M_NOT_FOUND', `Unknown event ${eventId}`);
  const result = await userApi(env.USER, userId).performSetAccountData(roomId, 'm.fully_read', { event_id: eventId });
  if (!result.ok) throw matrixErrorOf(result);
}

export const typingReceipts = new Hono<HomeserverEnv>()
  .put('/v3/rooms/:roomId/typing/:userId', requireAccessToken(), async (c) => {
    const { userId } = c.var.auth;
    const room = roomOf(c.env.ROOM, c.req.param('roomId'));
    if (c.req.param('userId') !== userId) throw new MatrixError(403, 'M_FORBIDDEN', 'Cannot set the typing state of another user.');
    const body = await readJsonBody(c);
    const typing = optionalBoolean(body, 'typing');
    if (typing === undefined) throw new MatrixError(400, 'M_MISSING_PARAM', '"typing" is required.');
    const timeout = body.timeout ?? DEFAULT_TYPING_TIMEOUT_MS;
    if (typeof timeout !== 'number' || !Number.isInteger(timeout) || timeout < 0) {
      throw new MatrixError(400, 'M_BAD_JSON', '"timeout" must be a non-negative integer of milliseconds.');
    }
    const result = await room.performTyping({ user_id: userId, typing, timeout_ms: Math.min(timeout, MAX_TYPING_TIMEOUT_MS) });
    if (!result.ok) throw matrixErrorOf(result);
    return c.json({});
  })

  .post('/v3/rooms/:roomId/receipt/:receiptType/:eventId', requireAccessToken(), async (c) => {
    const { userId } = c.var.auth;
    const roomId = c.req.param('roomId');
    const room = roomOf(c.env.ROOM, roomId);
    const receiptType = c.req.param('receiptType');
    const eventId = c.req.param('eventId');
    const threadId = threadIdOf(await readJsonBody(c));
    // Spec: `m.fully_read` here is "an alternative to /read_markers"; it cannot be threaded.
    if (receiptType === 'm.fully_read') {
      if (threadId !== undefined) throw new MatrixError(400, 'M_INVALID_PARAM', 'm.fully_read cannot have a thread_id.');
      await setFullyRead(c.env, room, roomId, userId, eventId);
    } else if (isReceiptType(receiptType)) {
      await sendReceipt(room, { user_id: userId, receipt_type: receiptType, event_id: eventId, ...(threadId !== undefined ? { thread_id: threadId } : {}) });
    } else {
      throw new MatrixError(400, 'M_INVALID_PARAM', `Unknown receipt type ${receiptType}`);
    }
    return c.json({});
  })

  .post('/v3/rooms/:roomId/read_markers', requireAccessToken(), async (c) => {
    const { userId } = c.var.auth;
    const roomId = c.req.param('roomId');
    const room = roomOf(c.env.ROOM, roomId);
    const body = await readJsonBody(c);
    const fullyRead = optionalString(body, 'm.fully_read');
    const read = optionalString(body, 'm.read');
    const readPrivate = optionalString(body, 'm.read.private');
    if (fullyRead !== undefined) await setFullyRead(c.env, room, roomId, userId, fullyRead);
    if (read !== undefined) await sendReceipt(room, { user_id: userId, receipt_type: 'm.read', event_id: read });
    if (readPrivate !== undefined) await sendReceipt(room, { user_id: userId, receipt_type: 'm.read.private', event_id: readPrivate });
    // With no field at all, the membership still decides between 200 and 403.
    if (fullyRead === undefined && read === undefined && readPrivate === undefined) {
      const info = await room.queryMembership(userId);
      if (info?.membership !== 'join') throw new MatrixError(403, 'M_FORBIDDEN', `${userId} is not in the room.`);
    }
    return c.json({});
  });
