/**
 * Knocking on and forgetting rooms (spec v1.16, Client-Server API):
 * `POST /_matrix/client/v3/knock/{roomIdOrAlias}` ("Knocking on rooms",
 * https://spec.matrix.org/v1.16/client-server-api/#knocking-on-rooms) and
 * `POST /_matrix/client/v3/rooms/{roomId}/forget` ("Leaving rooms",
 * https://spec.matrix.org/v1.16/client-server-api/#leaving-rooms).
 *
 * A knock is one `m.room.member` event with membership `knock`; the room's auth rules decide
 * (room versions 7+ with join rule `knock`, 10+ also `knock_restricted`), and a refusal is
 * `403 M_FORBIDDEN` with their reason. The knocking user is the event's target, so the Room
 * object tells their User object of it and of every later change to their membership (see
 * `queueNotifications` in durable-objects/room/dag.ts); /sync shows the knock under
 * `rooms.knock` with stripped state. A room alias is resolved through the room directory.
 * Knocks reach only rooms this server has: `via` and `server_name` would name servers to knock
 * through over federation, which is not here yet.
 *
 * Forgetting is the User object's: it hides the room from /sync until the membership changes.
 */
import { Hono } from 'hono';
import type { JsonObject } from '../../../core/canonical-json';
import { isJsonObject } from '../../../core/canonical-json';
import { userApi } from '../../../durable-objects/user/api';
import { requireAccessToken } from '../../shared/auth';
import { optionalString, readJsonBody } from '../../shared/body';
import { MatrixError, matrixErrorOf } from '../../shared/errors';
import type { HomeserverEnv } from '../env';
import { resolveRoomIdOrAlias } from './directory';
import { withProfile } from './profile';
import { roomOf, sendEvent } from './room-access';

export const knockForget = new Hono<HomeserverEnv>()
  .post('/v3/knock/:roomIdOrAlias', requireAccessToken(), async (c) => {
    const { room_id: roomId } = await resolveRoomIdOrAlias(c.env, c.var.config, c.req.param('roomIdOrAlias'));
    const room = roomOf(c.env.ROOM, roomId);
    const { userId } = c.var.auth;
    const reason = optionalString(await readJsonBody(c), 'reason');
    // As for joins, the knock carries the user's profile, so the room's members see who asks.
    const content = await withProfile(c.env.USER, c.var.config.serverName, userId, reason === undefined ? { membership: 'knock' } : { membership: 'knock', reason });
    await sendEvent(room, { type: 'm.room.member', sender: userId, state_key: userId, content });
    return c.json({ room_id: roomId });
  })

  .post('/v3/rooms/:roomId/forget', requireAccessToken(), async (c) => {
    const roomId = c.req.param('roomId');
    const room = roomOf(c.env.ROOM, roomId);
    const { userId } = c.var.auth;
    // The room's current state decides, not the User object's view, which may lag behind it.
    const member = await room.getStateEvent('m.room.member', userId);
    const content: JsonObject = member && isJsonObject(member.pdu.content) ? member.pdu.content : {};
    const membership = typeof content.membership === 'string' ? content.membership : undefined;
    // Spec: "If the user is currently joined to the room, they must leave the room before
    // calling this API." Like Synapse, invites and knocks are refused too (400 M_UNKNOWN), and
    // a room the user has no membership in is forgotten already.
    if (member && membership !== 'leave' && membership !== 'ban') {
      throw new MatrixError(400, 'M_UNKNOWN', `User ${userId} is in room ${roomId}`);
    }
    if (member && membership) {
      const forgotten = await userApi(c.env.USER, userId).performForgetRoom({ room_id: roomId, membership, stream_ordering: member.stream_ordering });
      if (!forgotten.ok) throw matrixErrorOf(forgotten);
    }
    return c.json({});
  });
