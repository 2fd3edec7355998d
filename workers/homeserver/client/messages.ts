/**
 * `GET /_matrix/client/v3/rooms/{roomId}/messages` (spec v1.16, Client-Server API "Getting
 * events for a room"): https://spec.matrix.org/v1.16/client-server-api/#get_matrixclientv3roomsroomidmessages
 *
 * Pagination tokens are positions in the room's stream order: `r<n>` sits after the event with
 * stream ordering n (`r0` is before the first event). Going backwards from `r<n>` returns the
 * events with ordering ≤ n, newest first; forwards, those after n. Only accepted events the
 * user's history visibility lets them see are returned (spec "Room History Visibility"; a user
 * who may see none gets `403`), so a page may hold fewer than `limit` events while `end` goes
 * on. The filter applies `types`, `not_types`, `senders` and `not_senders`; with
 * `lazy_load_members` (spec "Lazy-loading room members") the response's `state` holds the
 * member event of each sender in `chunk`, as of their newest event in it. Redundant members
 * (sent by an earlier page) are always included, which the spec allows; `filter` is inline
 * JSON or the ID of one of the user's stored filters, whose `room.timeline` applies.
 */
import { Hono } from 'hono';
import type { JsonObject } from '../../../core/canonical-json';
import { requireAccessToken } from '../../shared/auth';
import { MatrixError } from '../../shared/errors';
import type { HomeserverEnv } from '../env';
import { toClientEvent } from './client-event';
import { parseDir, parseLimit, roomEventFilterParam } from './query-params';
import { requireHistoryReader, roomOf } from './room-access';

const DEFAULT_LIMIT = 10;
const MAX_LIMIT = 1000;

/** `r<n>` → n; undefined stays undefined. */
export function parseStreamToken(token: string | undefined, name: string): number | undefined {
  if (token === undefined) return undefined;
  const m = /^r(\d{1,15})$/.exec(token);
  if (!m) throw new MatrixError(400, 'M_INVALID_PARAM', `Invalid "${name}" token.`);
  return Number(m[1]);
}

export const streamToken = (position: number) => `r${position}`;

export const messages = new Hono<HomeserverEnv>().get('/v3/rooms/:roomId/messages', requireAccessToken(), async (c) => {
  const { userId } = c.var.auth;
  const dir = parseDir(c.req.query('dir'));
  const from = parseStreamToken(c.req.query('from'), 'from');
  const to = parseStreamToken(c.req.query('to'), 'to');
  const limit = parseLimit(c.req.query('limit'), DEFAULT_LIMIT, MAX_LIMIT);
  const { filter, lazyLoadMembers } = await roomEventFilterParam(c.req.query('filter'), c.env.USER, userId);

  const room = roomOf(c.env.ROOM, c.req.param('roomId'));
  const { room_id: roomId } = await requireHistoryReader(room, userId);
  const page = await room.getTimeline({
    dir,
    limit,
    user_id: userId,
    lazy_load_members: lazyLoadMembers,
    ...(from !== undefined ? { from } : {}),
    ...(to !== undefined ? { to } : {}),
    ...(filter ? { filter } : {}),
  });
  const body: JsonObject = { chunk: page.events.map((e) => toClientEvent(e, roomId)), start: streamToken(page.start) };
  if (page.end !== undefined) body.end = streamToken(page.end);
  if (page.state) body.state = page.state.map((e) => toClientEvent(e, roomId));
  return c.json(body);
});
