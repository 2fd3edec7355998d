/**
 * Reading a room's DAG over federation (spec v1.16, Server-Server API "Retrieving events",
 * "Backfilling and retrieving missing events", "Authentication" and "Timestamp to event";
 * https://spec.matrix.org/v1.16/server-server-api/#retrieving-events):
 * `/state`, `/state_ids`, `/event_auth`, `/backfill`, `/get_missing_events`,
 * `/timestamp_to_event`. Answers carry the stored signed PDUs (never client events).
 *
 * Every endpoint checks that the room exists here (404), that its server ACL lets the origin
 * in and that the origin has a user joined in the room (403, as Synapse's
 * `assert_host_in_room`); events the origin may not see by history visibility are redacted in
 * walks of the DAG (durable-objects/room/federation-reads.ts).
 *
 * `GET /event/{eventId}` is in event.ts: an event ID does not name its room, so it goes
 * through the event → room index.
 */
import { Hono, type Context } from 'hono';
import { isValidRoomId } from '../../../core/ids';
import { roomApi, type RoomApi } from '../../../durable-objects/room/api';
import { optionalInteger, readJsonBody, requiredStringArray } from '../../shared/body';
import { MatrixError } from '../../shared/errors';
import type { HomeserverEnv } from '../env';
import { requireServerAuth } from './auth';

/** Spec `/backfill` and `/get_missing_events` defaults. */
const DEFAULT_MISSING_EVENTS = 10;

/** The room, once the origin passed the checks every endpoint makes. */
async function roomForOrigin(c: Context<HomeserverEnv>): Promise<RoomApi> {
  const roomId = c.req.param('roomId');
  if (!isValidRoomId(roomId)) throw new MatrixError(400, 'M_INVALID_PARAM', 'Invalid room ID.');
  const room = roomApi(c.env.ROOM, roomId);
  const access = await room.queryServerAccess(c.var.origin!);
  if (!access) throw new MatrixError(404, 'M_NOT_FOUND', 'Unknown room.');
  if (!access.acl_allows) throw new MatrixError(403, 'M_FORBIDDEN', 'Your server is denied by the room\'s server ACL.');
  if (!access.joined) throw new MatrixError(403, 'M_FORBIDDEN', 'Your server is not in the room.');
  return room;
}

const requiredEventId = (c: Context<HomeserverEnv>): string => {
  const id = c.req.query('event_id');
  if (!id) throw new MatrixError(400, 'M_MISSING_PARAM', 'Missing event_id.');
  return id;
};

const notFound = (what: string) => new MatrixError(404, 'M_NOT_FOUND', `Could not find ${what}.`);

export const federationEvents = new Hono<HomeserverEnv>()
  .get('/v1/state/:roomId', requireServerAuth(), async (c) => {
    const room = await roomForOrigin(c);
    const eventId = requiredEventId(c);
    const state = await room.getStatePdus(eventId);
    if (!state) throw notFound(`the state at ${eventId}`);
    return c.json(state);
  })

  .get('/v1/state_ids/:roomId', requireServerAuth(), async (c) => {
    const room = await roomForOrigin(c);
    const eventId = requiredEventId(c);
    const ids = await room.getStateIds(eventId);
    if (!ids) throw notFound(`the state at ${eventId}`);
    return c.json(ids);
  })

  .get('/v1/event_auth/:roomId/:eventId', requireServerAuth(), async (c) => {
    const room = await roomForOrigin(c);
    const eventId = c.req.param('eventId');
    const chain = await room.getAuthChainPdus(eventId);
    if (!chain) throw notFound(eventId);
    return c.json({ auth_chain: chain });
  })

  .get('/v1/backfill/:roomId', requireServerAuth(), async (c) => {
    const room = await roomForOrigin(c);
    const from = c.req.queries('v') ?? [];
    const limit = Number(c.req.query('limit'));
    if (from.length === 0) throw new MatrixError(400, 'M_MISSING_PARAM', 'Missing v.');
    if (!Number.isSafeInteger(limit) || limit < 0) throw new MatrixError(400, 'M_INVALID_PARAM', 'limit must be a non-negative integer.');
    const pdus = await room.getBackfill(from, limit, c.var.origin!);
    return c.json({ origin: c.var.config.serverName, origin_server_ts: Date.now(), pdus });
  })

  .post('/v1/get_missing_events/:roomId', requireServerAuth(), async (c) => {
    const room = await roomForOrigin(c);
    const body = await readJsonBody(c);
    const query = {
      earliest_events: requiredStringArray(body, 'earliest_events'),
      latest_events: requiredStringArray(body, 'latest_events'),
      limit: optionalInteger(body, 'limit') ?? DEFAULT_MISSING_EVENTS,
      min_depth: optionalInteger(body, 'min_depth') ?? 0,
    };
    return c.json({ events: await room.getMissingEvents(query, c.var.origin!) });
  })

  .get('/v1/timestamp_to_event/:roomId', requireServerAuth(), async (c) => {
    const room = await roomForOrigin(c);
    const ts = Number(c.req.query('ts'));
    const dir = c.req.query('dir');
    if (!Number.isSafeInteger(ts)) throw new MatrixError(400, 'M_INVALID_PARAM', 'ts must be an integer.');
    if (dir !== 'f' && dir !== 'b') throw new MatrixError(400, 'M_INVALID_PARAM', 'dir must be "f" or "b".');
    const e = await room.getEventNearTimestamp(ts, dir);
    if (!e) throw new MatrixError(404, 'M_NOT_FOUND', `Unable to find an event from ${ts} in direction ${dir}.`);
    return c.json({ event_id: e.event_id, origin_server_ts: e.pdu.origin_server_ts as number });
  });
