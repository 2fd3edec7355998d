/**
 * Space hierarchies (spec v1.16, Client-Server API "Spaces", `GET /_matrix/client/v1/rooms/
 * {roomId}/hierarchy`, https://spec.matrix.org/v1.16/client-server-api/#get_matrixclientv1roomsroomidhierarchy;
 * and its federation form `GET /_matrix/federation/v1/hierarchy/{roomId}`, mounted in
 * federation/directory.ts), over one walk of rooms.
 *
 * Who sees a room (the spec leaves it to "rooms the requester could feasibly peek/join";
 * these are Synapse's `_is_local_room_accessible` rules): a room whose history is
 * `world_readable` or whose join rule is `public`, `knock` or `knock_restricted`; a room where
 * the requesting user (or, over federation, a user of the requesting server) is joined or
 * invited; a `restricted` room when they are joined to one of its allowed rooms. A room counts
 * as this server's only while a local user is joined to it (otherwise its state may be stale).
 *
 * The client walk is depth-first in spec order of `m.space.child` events. A child this server
 * is not in is asked of the servers in the event's `via` over federation. Pages are offsets
 * into the walk, which each page repeats (with `max_depth` and `suggested_only` pinned in the
 * token, as the spec requires): a room changing between pages can shift what the next page
 * holds, which the spec tolerates for this paginated view.
 */
import { Hono } from 'hono';
import { decodeBase64Url, encodeBase64Url } from '../../../core/base64';
import { isJsonObject, type JsonObject } from '../../../core/canonical-json';
import { isValidRoomId } from '../../../core/ids';
import {
  allowedRoomIds, spaceChildOf, spaceChildren, strippedChildState, type SpaceChildEvent,
} from '../../../core/space-hierarchy';
import { utf8Encode } from '../../../core/utf8';
import { roomApi, type RoomApi, type RoomSummary } from '../../../durable-objects/room/api';
import { requireAccessToken } from '../../shared/auth';
import type { HomeserverConfig } from '../../shared/config';
import { MatrixError } from '../../shared/errors';
import { federationRequest, federationSender } from '../../shared/federation-client';
import type { HomeserverBindings, HomeserverEnv } from '../env';
import { invalidParam } from './query-params';
import { mapLimited } from './sync';

/** This server's bounds (the spec asks for a default and a maximum of each). */
const DEFAULT_LIMIT = 50;
const MAX_LIMIT = 100;
const DEFAULT_MAX_DEPTH = 10;
const MAX_MAX_DEPTH = 50;
/** Rooms one client request walks at most (skipped ones of earlier pages included). */
const MAX_WALKED = 500;
/** Federation hierarchy requests one client request makes at most. */
const MAX_REMOTE_REQUESTS = 10;
/** Room objects asked at once (Workers allow six simultaneous subrequests per request). */
const ROOM_CONCURRENCY = 6;
/** Synapse: join rules that let anyone who can see the room ask to be in it. */
const OPEN_JOIN_RULES = new Set(['public', 'knock', 'knock_restricted']);
/** Spec: `encryption` "enum": the one algorithm a hierarchy entry may name. */
const MEGOLM = 'm.megolm.v1.aes-sha2';

/** Who is asking: a local user (client API) or another server (federation API). */
export type Requester = { user_id: string } | { server_name: string };

/** A room as the hierarchy shows it: its summary entry and its children in spec order. */
interface HierarchyRoom {
  entry: JsonObject;
  children: SpaceChildEvent[];
}

/** Spec `SpaceHierarchyRoomsChunk` fields from a room's summary (and its restricted rule's allowed rooms). */
function entryOf(s: RoomSummary, allowed: string[]): JsonObject {
  const { encryption, ...rest } = s;
  return { ...rest, ...(encryption === MEGOLM ? { encryption } : {}), ...(allowed.length > 0 ? { allowed_room_ids: allowed } : {}) };
}

const serverOf = (userId: string) => userId.slice(userId.indexOf(':') + 1);

/** Whether `requester` is joined (or invited) to the room, as the access rules count it. */
async function isInRoom(room: RoomApi, requester: Requester, invitedToo: boolean): Promise<boolean> {
  if ('user_id' in requester) {
    const m = (await room.queryMembership(requester.user_id))?.membership;
    return m === 'join' || (invitedToo && m === 'invite');
  }
  const access = await room.queryServerAccess(requester.server_name);
  if (!access?.acl_allows) return false;
  if (access.joined) return true;
  if (!invitedToo || !access.ever_member) return false;
  const members = await room.getCurrentStateEvents('m.room.member');
  return members.some((e) => typeof e.pdu.state_key === 'string' && serverOf(e.pdu.state_key) === requester.server_name && isJsonObject(e.pdu.content) && e.pdu.content.membership === 'invite');
}

/** Synapse's access rules (see the module note); the room's ACL first for servers. */
async function mayPeekOrJoin(env: HomeserverBindings, room: RoomApi, s: RoomSummary, allowed: string[], requester: Requester): Promise<boolean> {
  if ('server_name' in requester && !(await room.queryServerAccess(requester.server_name))?.acl_allows) return false;
  if (s.world_readable || (s.join_rule !== undefined && OPEN_JOIN_RULES.has(s.join_rule))) return true;
  if (await isInRoom(room, requester, true)) return true;
  for (const id of allowed) if (await isInRoom(roomApi(env.ROOM, id), requester, false)) return true;
  return false;
}

/**
 * A room this server is in, as `requester` may see it: `unknown` when this server is not in
 * it (or it does not exist), `inaccessible` when the requester may not see it.
 */
export async function localHierarchyRoom(
  env: HomeserverBindings, config: HomeserverConfig, roomId: string, requester: Requester, suggestedOnly: boolean,
): Promise<HierarchyRoom | 'unknown' | 'inaccessible'> {
  if (!isValidRoomId(roomId)) return 'unknown';
  const room = roomApi(env.ROOM, roomId);
  if (!(await room.queryServerAccess(config.serverName))?.joined) return 'unknown';
  const [summary, joinRules, childEvents] = await Promise.all([
    room.getRoomSummary(),
    room.getStateEvent('m.room.join_rules', ''),
    room.getCurrentStateEvents('m.space.child'),
  ]);
  if (!summary) return 'unknown';
  const allowed = allowedRoomIds(isJsonObject(joinRules?.pdu.content) ? joinRules.pdu.content : undefined);
  if (!(await mayPeekOrJoin(env, room, summary, allowed, requester))) return 'inaccessible';
  const children = spaceChildren(childEvents.map((e) => spaceChildOf(e.pdu)).filter((e): e is SpaceChildEvent => e !== undefined), suggestedOnly);
  return { entry: entryOf(summary, allowed), children };
}

/**
 * A room this server is not in, from the first of `via` that answers its federation
 * hierarchy, if the user may see it (Synapse's `_is_remote_room_accessible`: open or
 * world-readable, or the user is joined to an allowed room or in the room here).
 */
async function remoteHierarchyRoom(env: HomeserverBindings, config: HomeserverConfig, roomId: string, via: string[], userId: string, suggestedOnly: boolean): Promise<HierarchyRoom | undefined> {
  const sender = federationSender(config);
  for (const server of via) {
    if (server === config.serverName) continue;
    let answer: JsonObject;
    try {
      answer = await federationRequest(sender, server, 'GET', `/_matrix/federation/v1/hierarchy/${encodeURIComponent(roomId)}?suggested_only=${suggestedOnly}`);
    } catch (e) {
      console.warn(`hierarchy of ${roomId} from ${server}: ${(e as Error).message}`);
      continue;
    }
    const room = answer.room;
    if (!isJsonObject(room) || room.room_id !== roomId || !Array.isArray(room.children_state)) continue;
    const { children_state: childrenState, ...entry } = room;
    const allowed = Array.isArray(entry.allowed_room_ids) ? entry.allowed_room_ids.filter((id): id is string => typeof id === 'string') : [];
    const open = entry.world_readable === true || OPEN_JOIN_RULES.has(typeof entry.join_rule === 'string' ? entry.join_rule : 'public');
    let visible = open;
    for (const id of allowed) visible ||= (await roomApi(env.ROOM, id).queryMembership(userId))?.membership === 'join';
    if (!visible) {
      const m = (await roomApi(env.ROOM, roomId).queryMembership(userId))?.membership;
      visible = m === 'join' || m === 'invite';
    }
    if (!visible) return undefined;
    const events = childrenState.filter(isJsonObject).map(spaceChildOf).filter((e): e is SpaceChildEvent => e !== undefined);
    return { entry, children: spaceChildren(events, suggestedOnly) };
  }
  return undefined;
}

interface ClientHierarchyQuery {
  limit: number;
  max_depth: number;
  suggested_only: boolean;
  /** Rooms of earlier pages (the `from` token). */
  offset: number;
}

function encodeFrom(q: ClientHierarchyQuery): string {
  return encodeBase64Url(utf8Encode(JSON.stringify([q.offset, q.max_depth, q.suggested_only])));
}

function decodeFrom(token: string): { offset: number; max_depth: number; suggested_only: boolean } {
  try {
    const v: unknown = JSON.parse(new TextDecoder().decode(decodeBase64Url(token)));
    if (Array.isArray(v) && Number.isSafeInteger(v[0]) && v[0] >= 0 && Number.isSafeInteger(v[1]) && typeof v[2] === 'boolean') {
      return { offset: v[0] as number, max_depth: v[1] as number, suggested_only: v[2] };
    }
  } catch {
    // Falls through to the error below.
  }
  throw invalidParam('"from" is not a token this server gave out.');
}

/** The client walk (see the module note): `{rooms, next_batch?}`. `403` when the user may not see the root. */
export async function clientHierarchy(env: HomeserverBindings, config: HomeserverConfig, roomId: string, userId: string, q: ClientHierarchyQuery): Promise<JsonObject> {
  const requester = { user_id: userId };
  const root = await localHierarchyRoom(env, config, roomId, requester, q.suggested_only);
  if (typeof root === 'string') throw new MatrixError(403, 'M_FORBIDDEN', `You cannot view the room ${roomId}: it is unknown here, or neither open, world-readable, nor yours.`);
  const queue: { room_id: string; via: string[]; depth: number }[] = [{ room_id: roomId, via: [], depth: 0 }];
  const seen = new Set<string>();
  const rooms: JsonObject[] = [];
  let skip = q.offset;
  let walked = 0;
  let remoteRequests = 0;
  while (queue.length > 0 && rooms.length < q.limit && walked < MAX_WALKED) {
    const next = queue.shift()!;
    if (seen.has(next.room_id)) continue;
    seen.add(next.room_id);
    walked++;
    let room: HierarchyRoom | undefined;
    if (next.depth === 0) room = root;
    else {
      const local = await localHierarchyRoom(env, config, next.room_id, requester, q.suggested_only);
      if (typeof local !== 'string') room = local;
      else if (local === 'unknown' && remoteRequests < MAX_REMOTE_REQUESTS) {
        remoteRequests++;
        room = await remoteHierarchyRoom(env, config, next.room_id, next.via, userId, q.suggested_only);
      }
    }
    if (!room) continue;
    if (skip > 0) skip--;
    else rooms.push({ ...room.entry, children_state: room.children.map(strippedChildState) });
    if (next.depth < q.max_depth) {
      queue.unshift(...room.children.filter((c) => !seen.has(c.state_key)).map((c) => ({ room_id: c.state_key, via: c.content.via as string[], depth: next.depth + 1 })));
    }
  }
  const more = queue.some((r) => !seen.has(r.room_id)) && walked < MAX_WALKED;
  return { rooms, ...(more ? { next_batch: encodeFrom({ ...q, offset: q.offset + rooms.length }) } : {}) };
}

/**
 * The federation form: the room and its children this server has, without paging (spec: "all
 * the space-room's children the requesting server could feasibly peek/join"); children it has
 * but the requesting server may not see are `inaccessible_children`, others are left out.
 * `404` when the room is unknown or hidden from the requester, `403` when its ACL denies them.
 */
export async function federationHierarchy(env: HomeserverBindings, config: HomeserverConfig, roomId: string, origin: string, suggestedOnly: boolean): Promise<JsonObject> {
  const requester = { server_name: origin };
  const access = isValidRoomId(roomId) ? await roomApi(env.ROOM, roomId).queryServerAccess(origin) : undefined;
  if (access && !access.acl_allows) throw new MatrixError(403, 'M_FORBIDDEN', 'Server is denied by the room\'s server ACL.');
  const root = await localHierarchyRoom(env, config, roomId, requester, suggestedOnly);
  if (typeof root === 'string') throw new MatrixError(404, 'M_NOT_FOUND', 'Room not found, or not visible to your server.');
  const verdicts = await mapLimited(root.children, ROOM_CONCURRENCY, (c) => localHierarchyRoom(env, config, c.state_key, requester, suggestedOnly));
  const children: JsonObject[] = [];
  const inaccessible: string[] = [];
  verdicts.forEach((v, i) => {
    if (v === 'inaccessible') inaccessible.push(root.children[i]!.state_key);
    else if (v !== 'unknown') children.push(v.entry);
  });
  return { room: { ...root.entry, children_state: root.children.map(strippedChildState) }, children, inaccessible_children: inaccessible };
}

function booleanParam(raw: string | undefined, name: string): boolean {
  if (raw === undefined || raw === 'false') return false;
  if (raw === 'true') return true;
  throw invalidParam(`"${name}" must be true or false.`);
}

/** A non-negative integer parameter; `min` 1 for `limit` (spec: "greater than zero"). */
function integerParam(raw: string | undefined, name: string, min: number, fallback: number, max: number): number {
  if (raw === undefined) return fallback;
  if (!/^\d{1,9}$/.test(raw) || Number(raw) < min) throw invalidParam(`"${name}" must be an integer of at least ${min}.`);
  return Math.min(Number(raw), max);
}

/** `suggested_only` of a federation request (spec: a boolean, default false). */
export const suggestedOnlyParam = (raw: string | undefined) => booleanParam(raw, 'suggested_only');

export const hierarchyRoutes = new Hono<HomeserverEnv>().get('/v1/rooms/:roomId/hierarchy', requireAccessToken(), async (c) => {
  const roomId = c.req.param('roomId');
  if (!isValidRoomId(roomId)) throw invalidParam(`Invalid room ID: ${roomId}`);
  const suggestedOnly = booleanParam(c.req.query('suggested_only'), 'suggested_only');
  const maxDepth = integerParam(c.req.query('max_depth'), 'max_depth', 0, DEFAULT_MAX_DEPTH, MAX_MAX_DEPTH);
  const limit = integerParam(c.req.query('limit'), 'limit', 1, DEFAULT_LIMIT, MAX_LIMIT);
  const from = c.req.query('from');
  let offset = 0;
  if (from !== undefined) {
    const token = decodeFrom(from);
    // Spec: "If specified, `max_depth` and `suggested_only` cannot be changed from the first request."
    if (token.suggested_only !== suggestedOnly || (c.req.query('max_depth') !== undefined && token.max_depth !== maxDepth)) {
      throw invalidParam('"suggested_only" and "max_depth" cannot change during pagination.');
    }
    offset = token.offset;
  }
  const pinnedDepth = from !== undefined ? decodeFrom(from).max_depth : maxDepth;
  return c.json(await clientHierarchy(c.env, c.var.config, roomId, c.var.auth.userId, { limit, max_depth: pinnedDepth, suggested_only: suggestedOnly, offset }));
});
