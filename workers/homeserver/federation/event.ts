/**
 * `GET /_matrix/federation/v1/event/{eventId}` (spec v1.16, Server-Server API "Retrieving
 * events"; https://spec.matrix.org/v1.16/server-server-api/#get_matrixfederationv1eventeventid):
 * one event, as a transaction of one PDU. The event ID names no room: the event → room index
 * (durable-objects/event-index) finds it among the rooms shared with other servers, then the
 * room checks its server ACL and whether the origin may see the event (history visibility for
 * servers, durable-objects/room/federation-reads.ts). Events of rooms that never had another
 * server in them are not indexed, and so are unknown here: 404, as for events the origin may
 * not see.
 */
import { Hono } from 'hono';
import { eventIndexApi } from '../../../durable-objects/event-index/api';
import { roomApi } from '../../../durable-objects/room/api';
import { MatrixError } from '../../shared/errors';
import type { HomeserverEnv } from '../env';
import { requireServerAuth } from './auth';

const notFound = () => new MatrixError(404, 'M_NOT_FOUND', 'Could not find the event.');

export const federationEvent = new Hono<HomeserverEnv>().get('/v1/event/:eventId', requireServerAuth(), async (c) => {
  const eventId = c.req.param('eventId');
  if (!eventId.startsWith('$')) throw notFound();
  const roomId = await eventIndexApi(c.env.EVENT_INDEX, eventId).getRoomOf(eventId);
  if (roomId === undefined) throw notFound();
  const room = roomApi(c.env.ROOM, roomId);
  const origin = c.var.origin!;
  const access = await room.queryServerAccess(origin);
  if (!access) throw notFound();
  if (!access.acl_allows) throw new MatrixError(403, 'M_FORBIDDEN', 'Your server is denied by the room\'s server ACL.');
  const pdu = await room.getEventForServer(eventId, origin);
  if (!pdu) throw notFound();
  return c.json({ origin: c.var.config.serverName, origin_server_ts: Date.now(), pdus: [pdu] });
});
