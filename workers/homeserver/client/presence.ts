/**
 * @module Presence (spec v1.16, Client-Server API "Presence"):
 * `PUT`/`GET /_matrix/client/v3/presence/{userId}/status`.
 * https://spec.matrix.org/v1.16/client-server-api/#presence
 *
 * A local user's presence lives in their object (durable-objects/user/presence.ts), which also
 * moves it on by timeouts and publishes changes to their rooms, and so to other members' /sync
 * (sync.ts). Only the user may set theirs (403 otherwise; spec: "You cannot set the presence
 * state of another user"); a `PUT` without `status_msg` clears the message (as Synapse).
 * Reading is for the user and for those sharing a joined room with them (403 otherwise, as
 * Synapse: presence goes to those "interested in" the user); unknown users and remote ones
 * (no federation yet) are `404 M_NOT_FOUND`. `last_active_ago` is computed when read.
 */
import { Hono } from 'hono';
import type { JsonObject } from '../../../core/canonical-json';
import { userApi, type PresenceState, type PresenceStatus } from '../../../durable-objects/user/api';
import { requireAccessToken } from '../../shared/auth';
import { optionalString, readJsonBody, requiredString } from '../../shared/body';
import { MatrixError, matrixErrorOf } from '../../shared/errors';
import type { HomeserverEnv } from '../env';

const PRESENCE_STATES: readonly PresenceState[] = ['online', 'unavailable', 'offline'];
export const isPresenceState = (s: string): s is PresenceState => (PRESENCE_STATES as readonly string[]).includes(s);

/**
 * Spec `m.presence` content (and the `GET` response) at `now`: `last_active_ago` only when the
 * user was ever active, `status_msg` only when set, `currently_active` only when online (as
 * Synapse: it says nothing about anyone else).
 */
export function presenceContent(p: PresenceStatus, now: number): JsonObject {
  const content: JsonObject = { presence: p.presence };
  if (p.last_active_ts !== null) content.last_active_ago = Math.max(0, now - p.last_active_ts);
  if (p.status_msg !== null) content.status_msg = p.status_msg;
  if (p.presence === 'online') content.currently_active = p.currently_active;
  return content;
}

/** Spec `m.presence` event, as /sync's `presence.events` carries it. */
export const presenceEvent = (p: PresenceStatus, now: number): JsonObject => ({ type: 'm.presence', sender: p.user_id, content: presenceContent(p, now) });

/** Whether `a` and `b` share a room both are joined to. */
async function shareARoom(users: DurableObjectNamespace, a: string, b: string): Promise<boolean> {
  const [mine, theirs] = await Promise.all([userApi(users, a).getJoinedRooms(), userApi(users, b).getJoinedRooms()]);
  const joined = new Set(mine);
  return theirs.some((id) => joined.has(id));
}

export const presence = new Hono<HomeserverEnv>()
  .put('/v3/presence/:userId/status', requireAccessToken(), async (c) => {
    const { userId } = c.var.auth;
    if (c.req.param('userId') !== userId) throw new MatrixError(403, 'M_FORBIDDEN', 'Cannot set the presence of another user.');
    const body = await readJsonBody(c);
    const state = requiredString(body, 'presence');
    if (!isPresenceState(state)) throw new MatrixError(400, 'M_INVALID_PARAM', '"presence" must be one of online, unavailable, offline.');
    const result = await userApi(c.env.USER, userId).performSetPresence(state, optionalString(body, 'status_msg') ?? null);
    if (!result.ok) throw matrixErrorOf(result);
    return c.json({});
  })

  .get('/v3/presence/:userId/status', requireAccessToken(), async (c) => {
    const { userId } = c.var.auth;
    const target = c.req.param('userId');
    const status = await userApi(c.env.USER, target).getPresence();
    if (!status) throw new MatrixError(404, 'M_NOT_FOUND', 'Unknown user.');
    if (target !== userId && !(await shareARoom(c.env.USER, userId, target))) {
      throw new MatrixError(403, 'M_FORBIDDEN', 'You are not allowed to see their presence.');
    }
    return c.json(presenceContent(status, Date.now()));
  });
