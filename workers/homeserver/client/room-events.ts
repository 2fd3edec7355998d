/**
 * Sending, redacting and fetching room events (spec v1.16, Client-Server API "Sending events to
 * a room", "Redactions", "Getting events for a room"):
 * `PUT /_matrix/client/v3/rooms/{roomId}/send/{eventType}/{txnId}`,
 * `PUT /_matrix/client/v3/rooms/{roomId}/redact/{eventId}/{txnId}`,
 * `GET /_matrix/client/v3/rooms/{roomId}/event/{eventId}`.
 * https://spec.matrix.org/v1.16/client-server-api/#sending-events-to-a-room
 *
 * Transaction IDs are scoped to the device (spec: "Transaction identifiers"); the Room object
 * keeps them, so a retry returns the first event's ID and sends nothing. `GET .../event/{eventId}`
 * applies history visibility (spec "Room History Visibility"): a user who may see none of the
 * room gets `403`, and an event they may not see is `404 M_NOT_FOUND`, as Synapse answers.
 */
import { Hono } from 'hono';
import { requireAccessToken } from '../../shared/auth';
import { optionalString, readJsonBody } from '../../shared/body';
import { MatrixError } from '../../shared/errors';
import type { HomeserverEnv } from '../env';
import { toClientEvent } from './client-event';
import { requireHistoryReader, roomOf, sendEvent } from './room-access';

export const roomEvents = new Hono<HomeserverEnv>()
  .put('/v3/rooms/:roomId/send/:eventType/:txnId', requireAccessToken({ rateLimit: 'message' }), async (c) => {
    const { userId, deviceId } = c.var.auth;
    const content = await readJsonBody(c);
    const eventId = await sendEvent(roomOf(c.env.ROOM, c.req.param('roomId')), {
      type: c.req.param('eventType'),
      sender: userId,
      content,
      txn: { device_id: deviceId, txn_id: c.req.param('txnId'), endpoint: 'send' },
    });
    return c.json({ event_id: eventId });
  })

  .put('/v3/rooms/:roomId/redact/:eventId/:txnId', requireAccessToken({ rateLimit: 'message' }), async (c) => {
    const { userId, deviceId } = c.var.auth;
    const reason = optionalString(await readJsonBody(c), 'reason');
    const eventId = await sendEvent(roomOf(c.env.ROOM, c.req.param('roomId')), {
      type: 'm.room.redaction',
      sender: userId,
      content: reason === undefined ? {} : { reason },
      redacts: c.req.param('eventId'),
      txn: { device_id: deviceId, txn_id: c.req.param('txnId'), endpoint: 'redact' },
    });
    return c.json({ event_id: eventId });
  })

  .get('/v3/rooms/:roomId/event/:eventId', requireAccessToken(), async (c) => {
    const { userId } = c.var.auth;
    const room = roomOf(c.env.ROOM, c.req.param('roomId'));
    const { room_id: roomId } = await requireHistoryReader(room, userId);
    const e = await room.getVisibleEvent(c.req.param('eventId'), userId);
    if (!e) throw new MatrixError(404, 'M_NOT_FOUND', 'Event not found.');
    return c.json(toClientEvent(e, roomId));
  });
