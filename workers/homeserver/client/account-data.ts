/**
 * @module Client config and room tagging (spec v1.16, Client-Server API "Client Config" and
 * "Room Tagging"): `GET`/`PUT /_matrix/client/v3/user/{userId}/account_data/{type}`,
 * `GET`/`PUT /_matrix/client/v3/user/{userId}/rooms/{roomId}/account_data/{type}`,
 * `GET /_matrix/client/v3/user/{userId}/rooms/{roomId}/tags` and
 * `PUT`/`DELETE /_matrix/client/v3/user/{userId}/rooms/{roomId}/tags/{tag}`.
 * https://spec.matrix.org/v1.16/client-server-api/#client-config
 * https://spec.matrix.org/v1.16/client-server-api/#room-tagging
 *
 * Account data lives in the user's object, whose account-data stream feeds /sync. Tags are the
 * room account data `m.tag` (`{"tags": {...}}`), changed one tag at a time inside the object.
 * Room account data may be set for any valid room ID, whether or not the user is in it.
 */
import { Hono, type Context } from 'hono';
import { isValidRoomId } from '../../../core/ids';
import { userApi } from '../../../durable-objects/user/api';
import { requireAccessToken, type Auth } from '../../shared/auth';
import { readJsonBody } from '../../shared/body';
import { MatrixError, matrixErrorOf } from '../../shared/errors';
import type { HomeserverEnv } from '../env';

/**
 * Spec: "405: This `type` of account data is controlled by the server; it cannot be modified
 * by clients" (errcode `M_BAD_JSON`). `m.fully_read` is set through read markers and
 * `m.push_rules` through the push rules API.
 */
const SERVER_CONTROLLED = new Set(['m.fully_read', 'm.push_rules']);

/** Spec: "The ID of the user to set account data for. The access token must be authorized to make requests for this user ID." */
function requireSelf(pathUserId: string, userId: string): void {
  if (pathUserId !== userId) throw new MatrixError(403, 'M_FORBIDDEN', 'Cannot access the account data of other users.');
}

function roomIdOf(raw: string): string {
  if (!isValidRoomId(raw)) throw new MatrixError(400, 'M_INVALID_PARAM', `Invalid room ID: ${raw}`);
  return raw;
}

function writableType(type: string): string {
  if (SERVER_CONTROLLED.has(type)) throw new MatrixError(405, 'M_BAD_JSON', `Cannot set ${type} through the account data API.`);
  return type;
}

const notFound = () => new MatrixError(404, 'M_NOT_FOUND', 'No account data of this type.');

type AuthedContext = Context<HomeserverEnv & { Variables: { auth: Auth } }>;

/** The user whose account data a request may touch: only their own (403 otherwise). */
function ownUser(c: AuthedContext): string {
  const { userId } = c.var.auth;
  requireSelf(c.req.param('userId') ?? '', userId);
  return userId;
}

/** PUT global (`roomId` null) or room account data. */
async function putAccountData(c: AuthedContext, roomId: string | null): Promise<Response> {
  const userId = ownUser(c);
  const type = writableType(c.req.param('type') ?? '');
  const result = await userApi(c.env.USER, userId).performSetAccountData(roomId, type, await readJsonBody(c));
  if (!result.ok) throw matrixErrorOf(result);
  return c.json({});
}

/** GET global (`roomId` null) or room account data; 404 when unset. */
async function getAccountData(c: AuthedContext, roomId: string | null): Promise<Response> {
  const userId = ownUser(c);
  const content = await userApi(c.env.USER, userId).getAccountData(roomId, c.req.param('type') ?? '');
  if (!content) throw notFound();
  return c.json(content);
}

export const accountData = new Hono<HomeserverEnv>()
  .put('/v3/user/:userId/account_data/:type', requireAccessToken(), (c) => putAccountData(c, null))
  .get('/v3/user/:userId/account_data/:type', requireAccessToken(), (c) => getAccountData(c, null))
  .put('/v3/user/:userId/rooms/:roomId/account_data/:type', requireAccessToken(), (c) => putAccountData(c, roomIdOf(c.req.param('roomId'))))
  .get('/v3/user/:userId/rooms/:roomId/account_data/:type', requireAccessToken(), (c) => getAccountData(c, roomIdOf(c.req.param('roomId'))))

  .get('/v3/user/:userId/rooms/:roomId/tags', requireAccessToken(), async (c) => {
    const userId = ownUser(c);
    const content = await userApi(c.env.USER, userId).getAccountData(roomIdOf(c.req.param('roomId')), 'm.tag');
    const tags = content?.tags;
    return c.json({ tags: tags !== null && typeof tags === 'object' && !Array.isArray(tags) ? tags : {} });
  })

  .put('/v3/user/:userId/rooms/:roomId/tags/:tag', requireAccessToken(), async (c) => {
    const userId = ownUser(c);
    const roomId = roomIdOf(c.req.param('roomId'));
    const tag = await readJsonBody(c);
    // Spec (`Tag.order`): "A number in a range [0,1] describing a relative position of the room under the given tag."
    if (tag.order !== undefined && typeof tag.order !== 'number') throw new MatrixError(400, 'M_BAD_JSON', '"order" must be a number.');
    const result = await userApi(c.env.USER, userId).performSetTag(roomId, c.req.param('tag'), tag);
    if (!result.ok) throw matrixErrorOf(result);
    return c.json({});
  })

  .delete('/v3/user/:userId/rooms/:roomId/tags/:tag', requireAccessToken(), async (c) => {
    const userId = ownUser(c);
    const result = await userApi(c.env.USER, userId).performSetTag(roomIdOf(c.req.param('roomId')), c.req.param('tag'), null);
    if (!result.ok) throw matrixErrorOf(result);
    return c.json({});
  });
