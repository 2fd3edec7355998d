/**
 * @module `GET /_matrix/client/v1/rooms/{roomId}/timestamp_to_event` (spec v1.16, Client-Server
 * API "Events"): https://spec.matrix.org/v1.16/client-server-api/#get_matrixclientv1roomsroomidtimestamp_to_event
 *
 * The accepted event whose `origin_server_ts` is closest to `ts` at or after it (`dir=f`) or at
 * or before it (`dir=b`); ties go to stream order. Only this server's copy of the room is
 * searched (no federation `timestamp_to_event`), and the reader rule is /messages'.
 */
import { Hono } from 'hono';
import { requireAccessToken } from '../../shared/auth';
import { MatrixError } from '../../shared/errors';
import type { HomeserverEnv } from '../env';
import { invalidParam, parseDir } from './query-params';
import { requireReader, roomOf } from './room-access';

export const timestampToEvent = new Hono<HomeserverEnv>().get('/v1/rooms/:roomId/timestamp_to_event', requireAccessToken(), async (c) => {
  const raw = c.req.query('ts');
  if (raw === undefined) throw new MatrixError(400, 'M_MISSING_PARAM', '"ts" is required.');
  if (!/^\d{1,16}$/.test(raw) || !Number.isSafeInteger(Number(raw))) throw invalidParam('"ts" must be a timestamp in milliseconds.');
  const dir = parseDir(c.req.query('dir'));

  const room = roomOf(c.env.ROOM, c.req.param('roomId'));
  await requireReader(room, c.var.auth.userId);
  const e = await room.getEventNearTimestamp(Number(raw), dir);
  if (!e) throw new MatrixError(404, 'M_NOT_FOUND', `No event found ${dir === 'f' ? 'after' : 'before'} ${raw}.`);
  return c.json({ event_id: e.event_id, origin_server_ts: e.pdu.origin_server_ts ?? 0 });
});
