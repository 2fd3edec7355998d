/**
 * @module `GET /_matrix/client/v3/rooms/{roomId}/context/{eventId}` (spec v1.16, Client-Server
 * API "Retrieving events around an event"):
 * https://spec.matrix.org/v1.16/client-server-api/#get_matrixclientv3roomsroomidcontexteventid
 *
 * `limit` (default 10) is split as Synapse does: ⌊limit/2⌋ events before, the rest after. The
 * filter (`types`, `not_types`, `senders`, `not_senders`) applies to `events_before` and
 * `events_after`; the event itself is always returned. `start` and `end` are `r<n>` positions
 * for /messages. `state` is the state after the last event returned (spec: "The state of the
 * room at the last event returned"); with `lazy_load_members`, its member events are cut down
 * to the returned events' senders. History visibility applies as for /messages (spec "Room
 * History Visibility"): a user who may see none of the room gets `403`; an event they may not
 * see is `404`, like an unknown, rejected or soft-failed one, and only events they may see
 * come around it.
 */
import { Hono } from 'hono';
import { requireAccessToken } from '../../shared/auth';
import { MatrixError } from '../../shared/errors';
import type { HomeserverEnv } from '../env';
import { toClientEvent } from './client-event';
import { streamToken } from './messages';
import { parseLimit, roomEventFilterParam } from './query-params';
import { requireHistoryReader, roomOf } from './room-access';

const DEFAULT_LIMIT = 10;
const MAX_LIMIT = 1000;

export const eventContext = new Hono<HomeserverEnv>().get('/v3/rooms/:roomId/context/:eventId', requireAccessToken(), async (c) => {
  const { userId } = c.var.auth;
  const limit = parseLimit(c.req.query('limit'), DEFAULT_LIMIT, MAX_LIMIT);
  const { filter, lazyLoadMembers } = await roomEventFilterParam(c.req.query('filter'), c.env.USER, userId);
  const room = roomOf(c.env.ROOM, c.req.param('roomId'));
  const { room_id: roomId } = await requireHistoryReader(room, userId);
  const before = Math.floor(limit / 2);
  const context = await room.getEventContext({ event_id: c.req.param('eventId'), before, after: limit - before, user_id: userId, ...(filter ? { filter } : {}) });
  if (!context) throw new MatrixError(404, 'M_NOT_FOUND', 'Event not found.');

  const returned = [context.event, ...context.events_before, ...context.events_after];
  const senders = new Set(returned.map((e) => e.pdu.sender));
  const state = lazyLoadMembers ? context.state.filter((e) => e.pdu.type !== 'm.room.member' || senders.has(e.pdu.state_key ?? null)) : context.state;
  return c.json({
    event: toClientEvent(context.event, roomId),
    events_before: context.events_before.map((e) => toClientEvent(e, roomId)),
    events_after: context.events_after.map((e) => toClientEvent(e, roomId)),
    start: streamToken(context.start),
    end: streamToken(context.end),
    state: state.map((e) => toClientEvent(e, roomId)),
  });
});
