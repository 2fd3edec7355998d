/**
 * Room creation and membership (spec v1.16, Client-Server API "Rooms" and "Room membership"):
 * `POST /_matrix/client/v3/createRoom`, `POST /_matrix/client/v3/rooms/{roomId}/join`,
 * `POST /_matrix/client/v3/join/{roomIdOrAlias}`, and `POST /_matrix/client/v3/rooms/{roomId}/`
 * `leave`, `invite`, `kick`, `ban`, `unban`.
 * https://spec.matrix.org/v1.16/client-server-api/#room-membership
 *
 * Each membership call is one `m.room.member` event; the room's auth rules decide, and a
 * refusal comes back as `403 M_FORBIDDEN` with their reason. Joins reach only rooms this server
 * has, and others over federation (remote-join.ts); `/join/{roomIdOrAlias}` resolves a local
 * alias through the room directory (see directory.ts). Joins and invites of
 * local users, including those of createRoom, carry the user's `displayname` and `avatar_url`
 * (spec "Profiles": member events carry them).
 */
import { Hono } from 'hono';
import type { JsonObject } from '../../../core/canonical-json';
import { isValidUserId } from '../../../core/ids';
import type { RoomApi } from '../../../durable-objects/room/api';
import { requireAccessToken } from '../../shared/auth';
import { optionalString, readJsonBody, requiredString } from '../../shared/body';
import { MatrixError } from '../../shared/errors';
import type { HomeserverConfig } from '../../shared/config';
import type { HomeserverBindings, HomeserverEnv } from '../env';
import { performCreateRoom, planCreateRoom } from './create-room';
import { resolveRoomIdOrAlias } from './directory';
import { withProfile } from './profile';
import { joinCandidates, joinRemoteRoom } from './remote-join';
import { inviteRemoteUser, rejectRemoteInvite, remoteInviteServers } from './remote-invite';
import { roomOf, sendEvent } from './room-access';

/**
 * One member event about `target`, with the request's `reason` when given; with `profile`
 * (joins and invites), also the target's displayname and avatar_url.
 */
async function setMembership(
  room: RoomApi, sender: string, target: string, membership: string, body: JsonObject,
  profile?: { users: DurableObjectNamespace; serverName: string },
): Promise<void> {
  const reason = optionalString(body, 'reason');
  let content: JsonObject = reason === undefined ? { membership } : { membership, reason };
  if (profile) content = await withProfile(profile.users, profile.serverName, target, content);
  await sendEvent(room, { type: 'm.room.member', sender, state_key: target, content });
}

/**
 * The user's join: a local event when this server has the room, else over federation through
 * a resident server (remote-join.ts).
 */
async function join(
  env: HomeserverBindings, config: HomeserverConfig, userId: string, body: JsonObject,
  target: { roomIdOrAlias: string; roomId: string; servers: readonly string[] },
): Promise<void> {
  const room = roomOf(env.ROOM, target.roomId);
  if (await room.getRoomInfo()) {
    await setMembership(room, userId, userId, 'join', body, { users: env.USER, serverName: config.serverName });
    return;
  }
  const reason = optionalString(body, 'reason');
  const content = await withProfile(env.USER, config.serverName, userId, reason === undefined ? {} : { reason });
  // An invite over federation names a resident server: the inviter's (remote-invite.ts).
  const servers = [...target.servers, ...(await remoteInviteServers(env, userId, target.roomId))];
  await joinRemoteRoom(env, config, userId, target.roomId, joinCandidates(config, target.roomIdOrAlias, target.roomId, servers), content);
}

/** The body's `user_id`, checked. */
function targetOf(body: JsonObject): string {
  const userId = requiredString(body, 'user_id');
  if (!isValidUserId(userId)) throw new MatrixError(400, 'M_INVALID_PARAM', `Invalid user ID: ${userId}`);
  return userId;
}

export const rooms = new Hono<HomeserverEnv>()
  .post('/v3/createRoom', requireAccessToken(), async (c) => {
    const { serverName } = c.var.config;
    const plan = planCreateRoom(await readJsonBody(c), c.var.auth.userId, serverName);
    // The creator's join and the invites carry the local users' profiles.
    plan.events = await Promise.all(
      plan.events.map(async (e) =>
        e.type === 'm.room.member' && typeof e.state_key === 'string' && (e.content.membership === 'join' || e.content.membership === 'invite')
          ? { ...e, content: await withProfile(c.env.USER, serverName, e.state_key, e.content) }
          : e,
      ),
    );
    const roomId = await performCreateRoom(c.env.ROOM, plan, serverName, undefined, c.env.DIRECTORY);
    // Invites of other servers' users go through their servers once the room exists. The room
    // is created whatever they answer, so a refusal does not fail the request (the client would
    // otherwise create the room again).
    for (const e of plan.remoteInvites ?? []) {
      await inviteRemoteUser(c.env, c.var.config, roomId, e.sender, e.state_key!, e.content).catch((err: unknown) =>
        console.error(`createRoom: inviting ${e.state_key} into ${roomId} failed:`, err instanceof Error ? err.message : err),
      );
    }
    return c.json({ room_id: roomId });
  })

  .post('/v3/rooms/:roomId/join', requireAccessToken(), async (c) => {
    const roomId = c.req.param('roomId');
    await join(c.env, c.var.config, c.var.auth.userId, await readJsonBody(c), { roomIdOrAlias: roomId, roomId, servers: [] });
    return c.json({ room_id: roomId });
  })

  .post('/v3/join/:roomIdOrAlias', requireAccessToken(), async (c) => {
    const target = c.req.param('roomIdOrAlias');
    const { room_id: roomId, servers } = await resolveRoomIdOrAlias(c.env, c.var.config, target);
    // Spec: `via` (v1.12+) and the deprecated `server_name` name servers to join through.
    const via = [...(c.req.queries('via') ?? []), ...(c.req.queries('server_name') ?? []), ...servers];
    await join(c.env, c.var.config, c.var.auth.userId, await readJsonBody(c), { roomIdOrAlias: target, roomId, servers: via });
    return c.json({ room_id: roomId });
  })

  .post('/v3/rooms/:roomId/leave', requireAccessToken(), async (c) => {
    const { userId } = c.var.auth;
    const roomId = c.req.param('roomId');
    const body = await readJsonBody(c);
    try {
      await setMembership(roomOf(c.env.ROOM, roomId), userId, userId, 'leave', body);
    } catch (e) {
      // A room this server does not have: rejecting an invite received over federation.
      if (!(e instanceof MatrixError && e.status === 404 && (await rejectRemoteInvite(c.env, c.var.config, userId, roomId, optionalString(body, 'reason'))))) throw e;
    }
    return c.json({});
  })

  .post('/v3/rooms/:roomId/invite', requireAccessToken(), async (c) => {
    const body = await readJsonBody(c);
    const target = targetOf(body);
    // A remote invitee's server countersigns the invite first (remote-invite.ts).
    if (!target.endsWith(`:${c.var.config.serverName}`)) {
      const roomId = c.req.param('roomId');
      roomOf(c.env.ROOM, roomId); // validates the ID
      const reason = optionalString(body, 'reason');
      await inviteRemoteUser(c.env, c.var.config, roomId, c.var.auth.userId, target, reason === undefined ? {} : { reason });
      return c.json({});
    }
    await setMembership(roomOf(c.env.ROOM, c.req.param('roomId')), c.var.auth.userId, target, 'invite', body, { users: c.env.USER, serverName: c.var.config.serverName });
    return c.json({});
  })

  .post('/v3/rooms/:roomId/kick', requireAccessToken(), async (c) => {
    const body = await readJsonBody(c);
    await setMembership(roomOf(c.env.ROOM, c.req.param('roomId')), c.var.auth.userId, targetOf(body), 'leave', body);
    return c.json({});
  })

  .post('/v3/rooms/:roomId/ban', requireAccessToken(), async (c) => {
    const body = await readJsonBody(c);
    await setMembership(roomOf(c.env.ROOM, c.req.param('roomId')), c.var.auth.userId, targetOf(body), 'ban', body);
    return c.json({});
  })

  .post('/v3/rooms/:roomId/unban', requireAccessToken(), async (c) => {
    const body = await readJsonBody(c);
    const target = targetOf(body);
    const room = roomOf(c.env.ROOM, c.req.param('roomId'));
    // Without this check an "unban" of a joined member would be a kick.
    const info = await room.queryMembership(target);
    if (!info) throw new MatrixError(404, 'M_NOT_FOUND', 'Unknown room.');
    if (info.membership !== 'ban') throw new MatrixError(403, 'M_FORBIDDEN', `${target} is not banned.`);
    await setMembership(room, c.var.auth.userId, target, 'leave', body);
    return c.json({});
  });
