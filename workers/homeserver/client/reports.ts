/**
 * @module Reporting content (spec v1.16, Client-Server API "Reporting content"):
 * `POST /_matrix/client/v3/rooms/{roomId}/report/{eventId}` and
 * `POST /_matrix/client/v3/rooms/{roomId}/report` (v1.13+) and
 * `POST /_matrix/client/v3/users/{userId}/report` (v1.14+).
 * https://spec.matrix.org/v1.16/client-server-api/#reporting-content
 *
 * There is no admin API yet, so a report is written to the log as one JSON line
 * (`{"report": "event" | "room" | "user", ...}`) and answered `{}`; nothing is stored. The
 * reporter of an event or a room must be joined to the room: otherwise, as for an unknown room
 * or event, the answer is `404 M_NOT_FOUND` (spec: "The event was not found or you are not
 * joined to the room"), so a report does not reveal which rooms or events exist. A user may be
 * reported without sharing a room; only users of this server can be, and a remote or unknown
 * one is `404 M_NOT_FOUND` ("The user was not found on the homeserver"), as Synapse answers:
 * the spec lets a server conceal that with a 200 instead, which we do not.
 */
import { Hono } from 'hono';
import { isValidUserId, serverNameOf } from '../../../core/ids';
import { userApi } from '../../../durable-objects/user/api';
import { optionalString, readJsonBody, requiredString } from '../../shared/body';
import { requireAccessToken } from '../../shared/auth';
import { MatrixError } from '../../shared/errors';
import type { HomeserverEnv } from '../env';
import { roomOf } from './room-access';
import type { RoomApi } from '../../../durable-objects/room/api';

const notFound = (what: string) => new MatrixError(404, 'M_NOT_FOUND', `${what} not found, or you are not joined to the room.`);

async function requireJoined(room: RoomApi, userId: string): Promise<string> {
  const info = await room.queryMembership(userId);
  if (!info || info.membership !== 'join') throw notFound('Room');
  return info.room_id;
}

export const reports = new Hono<HomeserverEnv>()
  .post('/v3/rooms/:roomId/report/:eventId', requireAccessToken(), async (c) => {
    const { userId } = c.var.auth;
    const body = await readJsonBody(c);
    const reason = optionalString(body, 'reason');
    const score = body.score;
    if (score !== undefined && score !== null && (typeof score !== 'number' || !Number.isInteger(score) || score < -100 || score > 0)) {
      throw new MatrixError(400, 'M_INVALID_PARAM', '"score" must be an integer from -100 to 0.');
    }
    const room = roomOf(c.env.ROOM, c.req.param('roomId'));
    const roomId = await requireJoined(room, userId);
    const eventId = c.req.param('eventId');
    const e = await room.getEvent(eventId);
    if (!e || e.status !== 'accepted') throw notFound('Event');
    console.log(JSON.stringify({ report: 'event', room_id: roomId, event_id: eventId, reporter: userId, sender: e.pdu.sender ?? null, reason: reason ?? null, score: score ?? null }));
    return c.json({});
  })

  .post('/v3/rooms/:roomId/report', requireAccessToken(), async (c) => {
    const { userId } = c.var.auth;
    const reason = requiredString(await readJsonBody(c), 'reason');
    const roomId = await requireJoined(roomOf(c.env.ROOM, c.req.param('roomId')), userId);
    console.log(JSON.stringify({ report: 'room', room_id: roomId, reporter: userId, reason }));
    return c.json({});
  })

  .post('/v3/users/:userId/report', requireAccessToken(), async (c) => {
    const { userId } = c.var.auth;
    // Spec: `reason` is required; it "May be blank".
    const reason = requiredString(await readJsonBody(c), 'reason');
    const target = c.req.param('userId');
    if (!isValidUserId(target)) throw new MatrixError(400, 'M_INVALID_PARAM', 'Invalid user ID.');
    // A deactivated account still exists (its ID stays taken), so it can still be reported.
    const known = serverNameOf(target) === c.var.config.serverName && (await userApi(c.env.USER, target).getAccountStatus()) !== 'none';
    if (!known) throw new MatrixError(404, 'M_NOT_FOUND', 'The user was not found.');
    console.log(JSON.stringify({ report: 'user', user_id: target, reporter: userId, reason }));
    return c.json({});
  });
