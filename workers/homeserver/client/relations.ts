/**
 * @module Child events and threads (spec v1.16, Client-Server API "Relationships", "Threading"):
 * `GET /_matrix/client/v1/rooms/{roomId}/relations/{eventId}[/{relType}[/{eventType}]]` and
 * `GET /_matrix/client/v1/rooms/{roomId}/threads`.
 * https://spec.matrix.org/v1.16/client-server-api/#get_matrixclientv1roomsroomidrelationseventid
 *
 * Children are found by `content.m.relates_to.event_id` in the Room object. Tokens are `r<n>`
 * stream positions, as for /messages (a /sync `prev_batch` works as `from`); `dir` defaults to
 * `b`, newest first. `prev_batch` echoes `from`. `recurse` is accepted but not applied: only
 * direct children are returned, and `recursion_depth` says 1 when `recurse` was given.
 * Threads come latest reply first, each root with its bundled `m.thread` aggregation (spec
 * "Server-side aggregation of `m.thread` relationships"); other aggregations are not bundled.
 * History visibility applies (spec "Room History Visibility"): a user who may see none of the
 * room gets `403`, an unknown parent or one they may not see `404`; children and threads they
 * may not see are left out (a page may then hold fewer than `limit`; see
 * durable-objects/room/reads.ts).
 */
import { Hono, type Context } from 'hono';
import { isJsonObject, type JsonObject } from '../../../core/canonical-json';
import { requireAccessToken, type Auth } from '../../shared/auth';
import { MatrixError } from '../../shared/errors';
import type { HomeserverEnv } from '../env';
import { toClientEvent } from './client-event';
import { parseStreamToken, streamToken } from './messages';
import { invalidParam, parseDir, parseLimit } from './query-params';
import { requireHistoryReader, roomOf } from './room-access';

const DEFAULT_LIMIT = 10;
const MAX_LIMIT = 1000;

/** The three relations routes share one handler, typed as the gate leaves the context. */
type AuthedEnv = HomeserverEnv & { Variables: { auth: Auth } };

async function relations(c: Context<AuthedEnv>): Promise<Response> {
  const { userId } = c.var.auth;
  const dir = parseDir(c.req.query('dir'), 'b');
  const fromToken = c.req.query('from');
  const from = parseStreamToken(fromToken, 'from');
  const to = parseStreamToken(c.req.query('to'), 'to');
  const limit = Math.max(parseLimit(c.req.query('limit'), DEFAULT_LIMIT, MAX_LIMIT), 1);
  const recurse = c.req.query('recurse');
  if (recurse !== undefined && recurse !== 'true' && recurse !== 'false') throw invalidParam('"recurse" must be true or false.');
  const relType = c.req.param('relType');
  const eventType = c.req.param('eventType');

  const room = roomOf(c.env.ROOM, c.req.param('roomId') ?? '');
  const { room_id: roomId } = await requireHistoryReader(room, userId);
  const page = await room.getRelations({
    event_id: c.req.param('eventId') ?? '',
    dir,
    limit,
    user_id: userId,
    ...(relType !== undefined ? { rel_type: relType } : {}),
    ...(eventType !== undefined ? { event_type: eventType } : {}),
    ...(from !== undefined ? { from } : {}),
    ...(to !== undefined ? { to } : {}),
  });
  if (!page) throw new MatrixError(404, 'M_NOT_FOUND', 'Event not found.');
  const body: JsonObject = { chunk: page.events.map((e) => toClientEvent(e, roomId)) };
  if (page.next !== undefined) body.next_batch = streamToken(page.next);
  if (fromToken !== undefined) body.prev_batch = fromToken;
  if (recurse !== undefined) body.recursion_depth = 1;
  return c.json(body);
}

export const relationsRoutes = new Hono<HomeserverEnv>()
  .get('/v1/rooms/:roomId/relations/:eventId', requireAccessToken(), relations)
  .get('/v1/rooms/:roomId/relations/:eventId/:relType', requireAccessToken(), relations)
  .get('/v1/rooms/:roomId/relations/:eventId/:relType/:eventType', requireAccessToken(), relations)

  .get('/v1/rooms/:roomId/threads', requireAccessToken(), async (c) => {
    const { userId } = c.var.auth;
    const include = c.req.query('include') ?? 'all';
    if (include !== 'all' && include !== 'participated') throw invalidParam('"include" must be "all" or "participated".');
    const from = parseStreamToken(c.req.query('from'), 'from');
    const limit = Math.max(parseLimit(c.req.query('limit'), DEFAULT_LIMIT, MAX_LIMIT), 1);

    const room = roomOf(c.env.ROOM, c.req.param('roomId'));
    const { room_id: roomId } = await requireHistoryReader(room, userId);
    const page = await room.getThreads({ user_id: userId, include, limit, ...(from !== undefined ? { from } : {}) });
    const chunk = page.threads.map((t) => {
      const root = toClientEvent(t.root, roomId);
      const thread = { latest_event: toClientEvent(t.latest_event, roomId), count: t.count, current_user_participated: t.participated };
      root.unsigned = { ...(isJsonObject(root.unsigned) ? root.unsigned : {}), 'm.relations': { 'm.thread': thread } };
      return root;
    });
    return c.json(page.next !== undefined ? { chunk, next_batch: streamToken(page.next) } : { chunk });
  });
