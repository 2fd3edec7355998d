/**
 * The published room directory (spec v1.16, Client-Server API "Listing rooms"):
 * `GET /_matrix/client/v3/publicRooms` and `POST /_matrix/client/v3/publicRooms`.
 * https://spec.matrix.org/v1.16/client-server-api/#listing-rooms
 *
 * The Directory object knows which rooms are published; each room's summary (name, topic,
 * members...) comes from its Room object. As Synapse, only rooms one can join or read are
 * listed — join rule `public`, `knock` or `knock_restricted`, or `world_readable` history —
 * with at least one joined member, ordered by joined members (largest first) and room ID.
 * Pagination tokens hold the last room's (members, room ID) and a direction, so a page
 * continues after that room even when other rooms were published or changed in between.
 *
 * Scaling: every request reads the summaries of all published rooms of the list (at most
 * `MAX_PUBLISHED_ROOMS`, `ROOM_CONCURRENCY` at a time; each Room caches its summary until the
 * room changes), then sorts and filters them. Past some hundreds of published rooms this wants
 * a summary table in the Directory object, kept current by the rooms. Directories of other
 * servers (`server`) are asked of them (`/_matrix/federation/v1/publicRooms`, remote-queries.ts);
 * federation/directory.ts serves this one to them.
 */
import { Hono } from 'hono';
import type { JsonObject } from '../../../core/canonical-json';
import { decodeBase64Url, encodeBase64Url } from '../../../core/base64';
import { utf8Encode } from '../../../core/utf8';
import { directoryApi, type RoomList } from '../../../durable-objects/directory/api';
import { roomApi, type RoomSummary } from '../../../durable-objects/room/api';
import { optionalAccessToken, requireAccessToken } from '../../shared/auth';
import { optionalBoolean, optionalInteger, optionalObject, optionalString, readJsonBody } from '../../shared/body';
import type { HomeserverConfig } from '../../shared/config';
import { MatrixError } from '../../shared/errors';
import type { HomeserverBindings, HomeserverEnv } from '../env';
import { invalidParam, parseLimit } from './query-params';
import { remotePublicRooms } from './remote-queries';
import { mapLimited } from './sync';

/** Published rooms read per request at most (see the module note). */
const MAX_PUBLISHED_ROOMS = 500;
/** Room objects asked at once (Workers allow six simultaneous subrequests per request). */
const ROOM_CONCURRENCY = 6;
/** Synapse: rooms one can join (or knock on) or read without joining are listed. */
const LISTED_JOIN_RULES = new Set(['public', 'knock', 'knock_restricted']);

export interface PublicRoomsQuery {
  /** 0: no limit. */
  limit: number;
  since?: string;
  list: RoomList;
  filter?: { generic_search_term?: string; room_types?: (string | null)[] };
}

/** A page boundary: the room a page ended (`f`: continue after it) or started (`b`: before it) at. */
interface Bound {
  dir: 'f' | 'b';
  members: number;
  room_id: string;
}

function encodeBound(b: Bound): string {
  return encodeBase64Url(utf8Encode(JSON.stringify([b.dir, b.members, b.room_id])));
}

function decodeBound(token: string): Bound {
  try {
    const v: unknown = JSON.parse(new TextDecoder().decode(decodeBase64Url(token)));
    if (Array.isArray(v) && (v[0] === 'f' || v[0] === 'b') && Number.isSafeInteger(v[1]) && typeof v[2] === 'string') {
      return { dir: v[0], members: v[1] as number, room_id: v[2] };
    }
  } catch {
    // Falls through to the error below.
  }
  throw invalidParam('"since" is not a token this server gave out.');
}

/** Synapse's order: most joined members first, then room ID descending. */
function compare(a: { num_joined_members: number; room_id: string }, b: { num_joined_members: number; room_id: string }): number {
  if (a.num_joined_members !== b.num_joined_members) return b.num_joined_members - a.num_joined_members;
  return a.room_id < b.room_id ? 1 : a.room_id > b.room_id ? -1 : 0;
}

function listed(s: RoomSummary): boolean {
  return s.num_joined_members > 0 && ((s.join_rule !== undefined && LISTED_JOIN_RULES.has(s.join_rule)) || s.world_readable);
}

/** Spec `filter`: `generic_search_term` in the name, topic or canonical alias (case-insensitive, as Synapse); `room_types` (null: no type). */
function matches(s: RoomSummary, filter: PublicRoomsQuery['filter']): boolean {
  const term = filter?.generic_search_term?.toLowerCase();
  if (term && ![s.name, s.topic, s.canonical_alias].some((v) => v?.toLowerCase().includes(term))) return false;
  const types = filter?.room_types;
  if (types && types.length > 0 && !types.includes(s.room_type ?? null)) return false;
  return true;
}

/** A summary as the spec's `PublishedRoomsChunk`. */
function chunkOf(s: RoomSummary): JsonObject {
  const { room_version: _v, encryption: _e, ...chunk } = s;
  return { ...chunk };
}

/** One page of this server's published rooms (also served over federation: federation/directory.ts). */
export async function publicRooms(env: HomeserverBindings, q: PublicRoomsQuery): Promise<JsonObject> {
  const roomIds = await directoryApi(env.DIRECTORY).getPublishedRooms(q.list, MAX_PUBLISHED_ROOMS);
  const summaries = await mapLimited(roomIds, ROOM_CONCURRENCY, (id) => roomApi(env.ROOM, id).getRoomSummary());
  const rooms = summaries.filter((s): s is RoomSummary => s !== undefined && listed(s) && matches(s, q.filter)).sort(compare);

  const bound = q.since === undefined ? undefined : decodeBound(q.since);
  const boundRoom = bound && { num_joined_members: bound.members, room_id: bound.room_id };
  let from = 0;
  let to = rooms.length;
  if (bound?.dir === 'f') from = firstIndex(rooms, (r) => compare(r, boundRoom!) > 0);
  if (bound?.dir === 'b') to = firstIndex(rooms, (r) => compare(r, boundRoom!) >= 0);
  const limit = q.limit > 0 ? q.limit : rooms.length;
  if (bound?.dir === 'b') from = Math.max(from, to - limit);
  else to = Math.min(to, from + limit);
  const page = rooms.slice(from, to);

  const out: JsonObject = { chunk: page.map(chunkOf), total_room_count_estimate: rooms.length };
  const first = page[0];
  const last = page.at(-1);
  if (last && to < rooms.length) out.next_batch = encodeBound({ dir: 'f', members: last.num_joined_members, room_id: last.room_id });
  if (first && from > 0) out.prev_batch = encodeBound({ dir: 'b', members: first.num_joined_members, room_id: first.room_id });
  return out;
}

function firstIndex<T>(items: readonly T[], test: (item: T) => boolean): number {
  const i = items.findIndex(test);
  return i < 0 ? items.length : i;
}

/** Spec `server`: "Defaults to the local server"; another server's directory is asked of it (remote-queries.ts). */
function remoteServer(server: string | undefined, config: HomeserverConfig): string | undefined {
  return server !== undefined && server !== '' && server !== config.serverName ? server : undefined;
}

/**
 * The body's list: `include_all_networks`, or `third_party_instance_id` (Synapse's form,
 * `<appservice ID>|<network ID>`), else the server's own list.
 */
function listOf(body: JsonObject): RoomList {
  const all = optionalBoolean(body, 'include_all_networks') ?? false;
  const instance = optionalString(body, 'third_party_instance_id');
  if (all && instance !== undefined) throw invalidParam('"third_party_instance_id" cannot be combined with "include_all_networks".');
  if (all) return { kind: 'all' };
  if (instance === undefined) return { kind: 'main' };
  const bar = instance.indexOf('|');
  // An instance ID of no known application service lists nothing.
  return bar < 0 ? { kind: 'network', appservice_id: instance, network_id: '' } : { kind: 'network', appservice_id: instance.slice(0, bar), network_id: instance.slice(bar + 1) };
}

function filterOf(body: JsonObject): PublicRoomsQuery['filter'] {
  const filter = optionalObject(body, 'filter');
  if (!filter) return undefined;
  const term = optionalString(filter, 'generic_search_term');
  const types = filter.room_types;
  if (types !== undefined && types !== null && (!Array.isArray(types) || !types.every((t) => t === null || typeof t === 'string'))) {
    throw new MatrixError(400, 'M_BAD_JSON', '"filter.room_types" must be an array of strings and nulls.');
  }
  return {
    ...(term !== undefined ? { generic_search_term: term } : {}),
    ...(Array.isArray(types) ? { room_types: types as (string | null)[] } : {}),
  };
}

/**
 * The query of a `GET /publicRooms` from its query parameters: `limit` and `since`, and the
 * list (`include_all_networks`, `third_party_instance_id`: federation's GET has them).
 */
export function publicRoomsQueryOfParams(param: (name: string) => string | undefined): PublicRoomsQuery {
  const since = param('since');
  const all = param('include_all_networks');
  const instance = param('third_party_instance_id');
  const list = listOf({ ...(all !== undefined ? { include_all_networks: all === 'true' } : {}), ...(instance !== undefined ? { third_party_instance_id: instance } : {}) });
  return { limit: parseLimit(param('limit'), 0, MAX_PUBLISHED_ROOMS), list, ...(since !== undefined ? { since } : {}) };
}

/** The query of a `POST /publicRooms` body (client or federation). */
export function publicRoomsQueryOfBody(body: JsonObject): PublicRoomsQuery {
  const limit = optionalInteger(body, 'limit') ?? 0;
  if (limit < 0) throw new MatrixError(400, 'M_BAD_JSON', '"limit" must not be negative.');
  const since = optionalString(body, 'since');
  const filter = filterOf(body);
  return {
    limit: Math.min(limit, MAX_PUBLISHED_ROOMS),
    list: listOf(body),
    ...(since !== undefined ? { since } : {}),
    ...(filter ? { filter } : {}),
  };
}

export const publicRoomsRoutes = new Hono<HomeserverEnv>()
  .get('/v3/publicRooms', optionalAccessToken(), async (c) => {
    const remote = remoteServer(c.req.query('server'), c.var.config);
    if (remote) return c.json(await remotePublicRooms(c.var.config, remote, { method: 'GET', limit: c.req.query('limit'), since: c.req.query('since') }));
    const { limit, since } = publicRoomsQueryOfParams((name) => c.req.query(name));
    return c.json(await publicRooms(c.env, { limit, list: { kind: 'main' }, ...(since !== undefined ? { since } : {}) }));
  })

  .post('/v3/publicRooms', requireAccessToken(), async (c) => {
    const remote = remoteServer(c.req.query('server'), c.var.config);
    const body = await readJsonBody(c);
    if (remote) return c.json(await remotePublicRooms(c.var.config, remote, { method: 'POST', body }));
    return c.json(await publicRooms(c.env, publicRoomsQueryOfBody(body)));
  });
