/**
 * Room aliases and the room directory's visibility (spec v1.16, Client-Server API "Room
 * aliases" and "Room directory"):
 * `GET`/`PUT`/`DELETE /_matrix/client/v3/directory/room/{roomAlias}`,
 * `GET /_matrix/client/v3/rooms/{roomId}/aliases`,
 * `GET`/`PUT /_matrix/client/v3/directory/list/room/{roomId}` and
 * `PUT /_matrix/client/v3/directory/list/appservice/{networkId}/{roomId}`.
 * https://spec.matrix.org/v1.16/client-server-api/#room-aliases
 * https://spec.matrix.org/v1.16/client-server-api/#room-directory
 *
 * Aliases and published rooms live in the one Directory object (durable-objects/directory).
 * The access rules are Synapse's, which the spec leaves to servers: an alias is created by a
 * joined member; it is deleted by its creator or by a user who may send
 * `m.room.canonical_alias` in the room, who alone may also change the room's visibility.
 * Aliases of other servers are resolved with a federation query
 * (`GET /_matrix/federation/v1/query/directory`, remote-queries.ts).
 */
import { Hono } from 'hono';
import { isJsonObject, type JsonObject } from '../../../core/canonical-json';
import { isValidRoomAlias, isValidRoomId } from '../../../core/ids';
import { utf8Encode } from '../../../core/utf8';
import { directoryApi, type Visibility } from '../../../durable-objects/directory/api';
import { roomApi, type RoomApi } from '../../../durable-objects/room/api';
import { noAuth, requireAccessToken } from '../../shared/auth';
import { optionalString, readJsonBody, requiredString } from '../../shared/body';
import type { HomeserverConfig } from '../../shared/config';
import { MatrixError } from '../../shared/errors';
import type { HomeserverBindings, HomeserverEnv } from '../env';
import { remoteAlias } from './remote-queries';
import { requireReader, roomOf } from './room-access';

/** Spec appendix "Room aliases": "Room aliases MUST NOT exceed 255 bytes (including the # sigil and the domain)." */
const MAX_ALIAS_BYTES = 255;

const invalidAlias = (alias: string, why: string) => new MatrixError(400, 'M_INVALID_PARAM', `Invalid room alias ${alias}: ${why}.`);

/** A room alias from a request, checked against the grammar (`400 M_INVALID_PARAM`). */
export function parseAlias(alias: string): string {
  if (!isValidRoomAlias(alias)) throw invalidAlias(alias, 'expected #localpart:server');
  if (utf8Encode(alias).byteLength > MAX_ALIAS_BYTES) throw invalidAlias(alias, `longer than ${MAX_ALIAS_BYTES} bytes`);
  return alias;
}

const isLocal = (alias: string, serverName: string) => alias.slice(alias.indexOf(':') + 1) === serverName;

/**
 * An alias this server may create: well-formed, on this server, and without whitespace in the
 * localpart (Synapse refuses those too). `400 M_INVALID_PARAM` otherwise.
 */
export function newLocalAlias(alias: string, serverName: string): string {
  parseAlias(alias);
  if (!isLocal(alias, serverName)) throw invalidAlias(alias, `aliases can only be created on this server (${serverName})`);
  if (/\s/u.test(alias.slice(1, alias.indexOf(':')))) throw invalidAlias(alias, 'whitespace in the localpart');
  return alias;
}

/** Where to join a room: its ID and servers that know it. */
export interface ResolvedRoom {
  room_id: string;
  servers: string[];
}

/**
 * A room ID or room alias (`POST /join/{roomIdOrAlias}`, `GET /directory/room/{roomAlias}`)
 * resolved to a room ID: `404 M_NOT_FOUND` for an unknown local alias and, until federation
 * for an alias another server does not know (asked over federation: remote-queries.ts), `502`
 * when it cannot be asked; `400 M_INVALID_PARAM` for neither form.
 */
export async function resolveRoomIdOrAlias(env: Pick<HomeserverBindings, 'DIRECTORY'>, config: HomeserverConfig, target: string): Promise<ResolvedRoom> {
  if (target.startsWith('!')) {
    if (!isValidRoomId(target)) throw new MatrixError(400, 'M_INVALID_PARAM', `Invalid room ID: ${target}`);
    return { room_id: target, servers: [] };
  }
  if (!target.startsWith('#')) throw new MatrixError(400, 'M_INVALID_PARAM', `Not a room ID or room alias: ${target}`);
  const alias = parseAlias(target);
  // Spec "Room aliases": an alias of another server is resolved by that server (query/directory).
  if (!isLocal(alias, config.serverName)) return remoteAlias(config, alias);
  const entry = await directoryApi(env.DIRECTORY).getAlias(alias);
  if (!entry) throw new MatrixError(404, 'M_NOT_FOUND', `Room alias ${alias} not found.`);
  // Synapse also lists the servers of the room's members; only this server's users are in
  // rooms here until federation joins exist.
  return { room_id: entry.room_id, servers: [config.serverName] };
}

/**
 * Whether `userId` may edit the room's directory entries (Synapse's `check_can_change_room_list`):
 * a joined member who could send `m.room.canonical_alias`. The room's own auth rules decide,
 * through a send that is only planned, so power levels and creators are judged in one place.
 */
export async function mayEditDirectory(room: RoomApi, userId: string): Promise<boolean> {
  const info = await room.queryMembership(userId);
  if (info?.membership !== 'join') return false;
  return (await room.queryMaySend({ type: 'm.room.canonical_alias', state_key: '', sender: userId, content: {} })).ok;
}

/** `content.alias` and `content.alt_aliases` of an `m.room.canonical_alias` content. */
function aliasesIn(content: JsonObject): unknown[] {
  const alt = content.alt_aliases;
  return [...(content.alias !== undefined ? [content.alias] : []), ...(Array.isArray(alt) ? alt : [])];
}

/**
 * Spec (`PUT /rooms/{roomId}/state/{eventType}/{stateKey}`): for `m.room.canonical_alias`,
 * "servers SHOULD ensure that any new aliases being listed in the event are valid per their
 * grammar/syntax and that they point to the room ID where the state event is to be sent.
 * Servers do not validate aliases which are being removed or are already present in the state
 * event." Invalid syntax is `400 M_INVALID_PARAM`, an alias elsewhere `400 M_BAD_ALIAS`. A
 * new alias of another server cannot be checked without federation, so it is refused too.
 */
export async function checkCanonicalAlias(env: HomeserverBindings, config: HomeserverConfig, roomId: string, content: JsonObject): Promise<void> {
  if (content.alias !== undefined && typeof content.alias !== 'string') throw new MatrixError(400, 'M_INVALID_PARAM', '"alias" must be a room alias.');
  if (content.alt_aliases !== undefined && !Array.isArray(content.alt_aliases)) throw new MatrixError(400, 'M_INVALID_PARAM', '"alt_aliases" must be an array of room aliases.');
  const current = await roomOf(env.ROOM, roomId).getStateEvent('m.room.canonical_alias', '');
  const known = new Set(current && isJsonObject(current.pdu.content) ? aliasesIn(current.pdu.content) : []);
  const added = [...new Set(aliasesIn(content))].filter((a) => !known.has(a));
  for (const a of added) {
    if (typeof a !== 'string') throw new MatrixError(400, 'M_INVALID_PARAM', 'Room aliases must be strings.');
    parseAlias(a);
  }
  const directory = directoryApi(env.DIRECTORY);
  for (const a of added as string[]) {
    if (!isLocal(a, config.serverName)) throw new MatrixError(400, 'M_BAD_ALIAS', `Room alias ${a} is on another server and cannot be checked yet.`);
    const entry = await directory.getAlias(a);
    if (entry?.room_id !== roomId) throw new MatrixError(400, 'M_BAD_ALIAS', `Room alias ${a} does not point to ${roomId}.`);
  }
}

/**
 * After aliases are deleted or moved away, take them out of the room's `m.room.canonical_alias`
 * (as Synapse does). Spec: servers that do so should still delete the alias "even if the user
 * does not have permission to update the `m.room.canonical_alias` event", so a refusal is only
 * logged.
 */
async function dropFromCanonicalAlias(room: RoomApi, sender: string, aliases: readonly string[]): Promise<void> {
  const current = await room.getStateEvent('m.room.canonical_alias', '');
  if (!current || !isJsonObject(current.pdu.content)) return;
  const gone = (a: unknown) => typeof a === 'string' && aliases.includes(a);
  const content: JsonObject = { ...current.pdu.content };
  let changed = false;
  if (gone(content.alias)) {
    delete content.alias;
    changed = true;
  }
  const alt = content.alt_aliases;
  if (Array.isArray(alt) && alt.some(gone)) {
    const rest = alt.filter((a) => !gone(a));
    if (rest.length > 0) content.alt_aliases = rest;
    else delete content.alt_aliases;
    changed = true;
  }
  if (!changed) return;
  const sent = await room.performSend({ type: 'm.room.canonical_alias', state_key: '', sender, content });
  if (!sent.ok) console.warn(`aliases ${aliases.join(', ')} gone, but m.room.canonical_alias not updated: ${sent.errcode} ${sent.error}`);
}

/**
 * Room upgrades (spec "Room upgrades", server step 4: "Moves any local aliases to the new
 * room"): the old room's local aliases and its places in the published room lists go to the
 * new room, and the moved aliases leave the old room's `m.room.canonical_alias` (as Synapse).
 * For the upgrade handler (room-upgrade.ts).
 */
export async function moveRoomDirectoryEntries(env: HomeserverBindings, oldRoomId: string, newRoomId: string, upgrader: string): Promise<void> {
  const moved = await directoryApi(env.DIRECTORY).performMoveRoom(oldRoomId, newRoomId, upgrader);
  if (moved.aliases.length > 0) await dropFromCanonicalAlias(roomApi(env.ROOM, oldRoomId), upgrader, moved.aliases);
}

/** A room that exists, or `404 M_NOT_FOUND` (spec: "The room is not known to the server."). */
async function knownRoom(rooms: DurableObjectNamespace, roomId: string): Promise<RoomApi> {
  const room = roomOf(rooms, roomId);
  if (!(await room.getRoomInfo())) throw new MatrixError(404, 'M_NOT_FOUND', 'Room not found.');
  return room;
}

function visibilityOf(body: JsonObject): Visibility {
  // Spec: `visibility` "Defaults to `public`".
  const v = optionalString(body, 'visibility') ?? 'public';
  if (v !== 'public' && v !== 'private') throw new MatrixError(400, 'M_INVALID_PARAM', '"visibility" must be "public" or "private".');
  return v;
}

export const directory = new Hono<HomeserverEnv>()
  .get('/v3/directory/room/:roomAlias', noAuth(), async (c) => {
    const alias = c.req.param('roomAlias');
    if (!alias.startsWith('#')) throw invalidAlias(alias, 'expected #localpart:server');
    return c.json(await resolveRoomIdOrAlias(c.env, c.var.config, alias));
  })

  .put('/v3/directory/room/:roomAlias', requireAccessToken(), async (c) => {
    const alias = newLocalAlias(c.req.param('roomAlias'), c.var.config.serverName);
    const roomId = requiredString(await readJsonBody(c), 'room_id');
    const { userId } = c.var.auth;
    const info = await roomOf(c.env.ROOM, roomId).queryMembership(userId);
    if (!info) throw new MatrixError(404, 'M_NOT_FOUND', 'Room not found.');
    // Synapse: "You must be in the room to create an alias for it".
    if (info.membership !== 'join') throw new MatrixError(403, 'M_FORBIDDEN', 'You must be in the room to create an alias for it.');
    const created = await directoryApi(c.env.DIRECTORY).performCreateAlias({ alias, room_id: roomId, creator: userId }, Date.now());
    // Spec: 409 "A room alias with that name already exists", errcode M_UNKNOWN in its example.
    if (!created.ok) throw new MatrixError(409, 'M_UNKNOWN', created.error);
    return c.json({});
  })

  .delete('/v3/directory/room/:roomAlias', requireAccessToken(), async (c) => {
    const alias = parseAlias(c.req.param('roomAlias'));
    if (!isLocal(alias, c.var.config.serverName)) throw invalidAlias(alias, 'only aliases of this server can be deleted here');
    const dir = directoryApi(c.env.DIRECTORY);
    const entry = await dir.getAlias(alias);
    if (!entry) throw new MatrixError(404, 'M_NOT_FOUND', `Room alias ${alias} not found.`);
    const { userId } = c.var.auth;
    const room = roomApi(c.env.ROOM, entry.room_id);
    if (entry.creator !== userId && !(await mayEditDirectory(room, userId))) {
      throw new MatrixError(403, 'M_FORBIDDEN', "You don't have permission to delete the alias.");
    }
    // Someone else may have deleted it since the read: then it is not found, as Synapse says.
    const deleted = await dir.performDeleteAlias(alias);
    if (!deleted.ok) throw new MatrixError(404, 'M_NOT_FOUND', deleted.error);
    await dropFromCanonicalAlias(room, userId, [alias]);
    return c.json({});
  })

  .get('/v3/rooms/:roomId/aliases', requireAccessToken(), async (c) => {
    const roomId = c.req.param('roomId');
    await requireReader(roomOf(c.env.ROOM, roomId), c.var.auth.userId);
    return c.json({ aliases: await directoryApi(c.env.DIRECTORY).getAliasesOfRoom(roomId) });
  })

  .get('/v3/directory/list/room/:roomId', noAuth(), async (c) => {
    const roomId = c.req.param('roomId');
    if (!isValidRoomId(roomId)) throw new MatrixError(400, 'M_INVALID_PARAM', `Invalid room ID: ${roomId}`);
    const visibility = await directoryApi(c.env.DIRECTORY).getVisibility(roomId);
    if (visibility === 'private') await knownRoom(c.env.ROOM, roomId);
    return c.json({ visibility });
  })

  .put('/v3/directory/list/room/:roomId', requireAccessToken(), async (c) => {
    const roomId = c.req.param('roomId');
    const visibility = visibilityOf(await readJsonBody(c));
    const room = await knownRoom(c.env.ROOM, roomId);
    if (!(await mayEditDirectory(room, c.var.auth.userId))) {
      throw new MatrixError(403, 'M_FORBIDDEN', 'Only members who may send m.room.canonical_alias events may change the room\'s directory visibility.');
    }
    await directoryApi(c.env.DIRECTORY).performSetVisibility(roomId, visibility);
    return c.json({});
  })

  // Spec: "This API requires the use of an application service access token (`as_token`)";
  // application services are not registered here yet, so every token is a user's and refused.
  .put('/v3/directory/list/appservice/:networkId/:roomId', requireAccessToken(), () => {
    throw new MatrixError(403, 'M_FORBIDDEN', 'Only application services may edit network room lists.');
  });
