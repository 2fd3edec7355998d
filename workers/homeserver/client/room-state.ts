/**
 * Room state and members (spec v1.16, Client-Server API "Getting events for a room", "Sending
 * events to a room"): `GET /_matrix/client/v3/rooms/{roomId}/state`,
 * `GET`/`PUT /_matrix/client/v3/rooms/{roomId}/state/{eventType}/{stateKey}` (an empty state
 * key is the path ending in `/`), `GET /_matrix/client/v3/rooms/{roomId}/members` and
 * `/joined_members`.
 * https://spec.matrix.org/v1.16/client-server-api/#getting-events-for-a-room
 *
 * Reads are of the current state, by joined members (see `requireReader`); the spec's "state
 * when they left" for former members and `members?at=` are not supported yet.
 */
import { Hono } from 'hono';
import { isJsonObject, type JsonObject } from '../../../core/canonical-json';
import { requireAccessToken } from '../../shared/auth';
import { readJsonBody } from '../../shared/body';
import { MatrixError } from '../../shared/errors';
import type { HomeserverEnv } from '../env';
import { toClientEvent } from './client-event';
import { checkCanonicalAlias } from './directory';
import { requireReader, roomOf, sendEvent } from './room-access';

const STATE_PATH = '/v3/rooms/:roomId/state/:eventType/:stateKey{.*}';

const membershipOf = (content: unknown) => (isJsonObject(content) && typeof content.membership === 'string' ? content.membership : undefined);

export const roomState = new Hono<HomeserverEnv>()
  .put(STATE_PATH, requireAccessToken({ rateLimit: 'message' }), async (c) => {
    const content = await readJsonBody(c);
    // Spec: new aliases of `m.room.canonical_alias` must be valid and point to the room (directory.ts).
    if (c.req.param('eventType') === 'm.room.canonical_alias' && c.req.param('stateKey') === '') await checkCanonicalAlias(c.env, c.var.config, c.req.param('roomId'), content);
    const eventId = await sendEvent(roomOf(c.env.ROOM, c.req.param('roomId')), {
      type: c.req.param('eventType'),
      state_key: c.req.param('stateKey'),
      sender: c.var.auth.userId,
      content,
    });
    return c.json({ event_id: eventId });
  })

  .get(STATE_PATH, requireAccessToken(), async (c) => {
    const room = roomOf(c.env.ROOM, c.req.param('roomId'));
    const { room_id: roomId } = await requireReader(room, c.var.auth.userId);
    const e = await room.getStateEvent(c.req.param('eventType'), c.req.param('stateKey'));
    if (!e) throw new MatrixError(404, 'M_NOT_FOUND', 'No such state event.');
    if (c.req.query('format') === 'event') return c.json(toClientEvent(e, roomId));
    return c.json(isJsonObject(e.pdu.content) ? e.pdu.content : {});
  })

  .get('/v3/rooms/:roomId/state', requireAccessToken(), async (c) => {
    const room = roomOf(c.env.ROOM, c.req.param('roomId'));
    const { room_id: roomId } = await requireReader(room, c.var.auth.userId);
    return c.json((await room.getCurrentStateEvents()).map((e) => toClientEvent(e, roomId)));
  })

  .get('/v3/rooms/:roomId/members', requireAccessToken(), async (c) => {
    const room = roomOf(c.env.ROOM, c.req.param('roomId'));
    const { room_id: roomId } = await requireReader(room, c.var.auth.userId);
    // Spec: `membership` keeps only that membership, `not_membership` drops one.
    const only = c.req.query('membership');
    const not = c.req.query('not_membership');
    const chunk = (await room.getCurrentStateEvents('m.room.member'))
      .filter((e) => {
        const m = membershipOf(e.pdu.content);
        return (only === undefined || m === only) && (not === undefined || m !== not);
      })
      .map((e) => toClientEvent(e, roomId));
    return c.json({ chunk });
  })

  .get('/v3/rooms/:roomId/joined_members', requireAccessToken(), async (c) => {
    const room = roomOf(c.env.ROOM, c.req.param('roomId'));
    await requireReader(room, c.var.auth.userId);
    const joined: JsonObject = {};
    for (const e of await room.getCurrentStateEvents('m.room.member')) {
      const content = e.pdu.content;
      if (typeof e.pdu.state_key !== 'string' || !isJsonObject(content) || content.membership !== 'join') continue;
      const member: JsonObject = {};
      if (typeof content.displayname === 'string') member.display_name = content.displayname;
      if (typeof content.avatar_url === 'string') member.avatar_url = content.avatar_url;
      joined[e.pdu.state_key] = member;
    }
    return c.json({ joined });
  });
