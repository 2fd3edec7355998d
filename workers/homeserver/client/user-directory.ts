/**
 * The user directory (spec v1.16, Client-Server API "User directory"):
 * `POST /_matrix/client/v3/user_directory/search`, and keeping its index current.
 * https://spec.matrix.org/v1.16/client-server-api/#user-directory
 *
 * The Directory object indexes every local user's ID, display name and avatar (updated on
 * registration and profile changes, removed on deactivation) and finds candidates by word
 * prefix. Which candidates the searcher may see is decided here, as the spec's minimum and
 * Synapse's default: "users that share a room with the requesting user", and users "joined to
 * rooms ... that have a `public` join rule" or "a `world_readable` history visibility". A
 * candidate is visible when their joined rooms (their User object) meet the searcher's, or
 * when one of them is public or world-readable (that room's summary, asked once per request).
 *
 * Scaling: a search costs one User read per candidate examined and one Room read per room of
 * theirs not already known, and examines at most `MAX_CANDIDATES` of the best-ranked
 * candidates, so a term matching many users the searcher cannot see may find fewer than
 * `limit` (then `limited` is true). The index query itself scans the table (no full-text
 * index); both want a membership-aware index (Synapse's `users_who_share_private_rooms`,
 * `users_in_public_rooms`) once rooms tell the directory of membership changes.
 * Remote users are not searched (that needs federation, and the spec only says SHOULD).
 */
import { Hono } from 'hono';
import type { JsonObject } from '../../../core/canonical-json';
import { directoryApi, type UserDirectoryEntry } from '../../../durable-objects/directory/api';
import { roomApi } from '../../../durable-objects/room/api';
import { userApi } from '../../../durable-objects/user/api';
import { requireAccessToken } from '../../shared/auth';
import { optionalInteger, readJsonBody, requiredString } from '../../shared/body';
import { MatrixError } from '../../shared/errors';
import type { HomeserverBindings, HomeserverEnv } from '../env';
import { mapLimited } from './sync';

/** Spec: `limit` "Defaults to 10"; Synapse caps it at 50. */
const DEFAULT_LIMIT = 10;
const MAX_LIMIT = 50;
/** Candidates examined per search at most, asked from the index in batches. */
const MAX_CANDIDATES = 200;
const CANDIDATE_BATCH = 25;
/** User and Room objects asked at once (Workers allow six simultaneous subrequests). */
const CONCURRENCY = 6;

/** The index entry of a local user from their profile (`displayname`, `avatar_url`). */
function entryOf(userId: string, profile: JsonObject): UserDirectoryEntry {
  const entry: UserDirectoryEntry = { user_id: userId };
  if (typeof profile.displayname === 'string') entry.display_name = profile.displayname;
  if (typeof profile.avatar_url === 'string') entry.avatar_url = profile.avatar_url;
  return entry;
}

/**
 * Put a local user's current profile into the index (after registration and profile changes).
 * The account is already written when this runs, so a failure is logged, not returned: the
 * request itself succeeded, and the next profile change writes the entry again.
 */
export async function indexUser(env: Pick<HomeserverBindings, 'DIRECTORY'>, userId: string, profile: JsonObject): Promise<void> {
  try {
    await directoryApi(env.DIRECTORY).performUpdateUser(entryOf(userId, profile));
  } catch (e) {
    console.error(`user directory: indexing ${userId} failed:`, e);
  }
}

/** Take a deactivated user out of the index (failures logged, as for `indexUser`). */
export async function unindexUser(env: Pick<HomeserverBindings, 'DIRECTORY'>, userId: string): Promise<void> {
  try {
    await directoryApi(env.DIRECTORY).performRemoveUser(userId);
  } catch (e) {
    console.error(`user directory: removing ${userId} failed:`, e);
  }
}

/** Who `searcher` may find: the visibility rule of the module note, with per-request caches. */
function visibilityFor(env: HomeserverBindings, searcherRooms: ReadonlySet<string>) {
  const opens = new Map<string, Promise<boolean>>();
  /** Whether a room makes its members visible to everyone: public join rule or world-readable history. */
  const opensToAll = (roomId: string): Promise<boolean> => {
    let p = opens.get(roomId);
    if (!p) {
      p = roomApi(env.ROOM, roomId).getRoomSummary().then((s) => !!s && (s.join_rule === 'public' || s.world_readable));
      opens.set(roomId, p);
    }
    return p;
  };
  return async (userId: string): Promise<boolean> => {
    const rooms = await userApi(env.USER, userId).getJoinedRooms();
    if (rooms.some((r) => searcherRooms.has(r))) return true;
    for (const r of rooms) if (await opensToAll(r)) return true;
    return false;
  };
}

export const userDirectory = new Hono<HomeserverEnv>().post('/v3/user_directory/search', requireAccessToken(), async (c) => {
  const body = await readJsonBody(c);
  const searchTerm = requiredString(body, 'search_term');
  const requested = optionalInteger(body, 'limit') ?? DEFAULT_LIMIT;
  if (requested < 0) throw new MatrixError(400, 'M_BAD_JSON', '"limit" must not be negative.');
  const limit = Math.min(requested, MAX_LIMIT);

  const searcherRooms = new Set(await userApi(c.env.USER, c.var.auth.userId).getJoinedRooms());
  const isVisible = visibilityFor(c.env, searcherRooms);
  const directory = directoryApi(c.env.DIRECTORY);
  const results: UserDirectoryEntry[] = [];
  let examined = 0;
  let exhausted = false;
  // One result beyond the limit tells whether the list was cut (`limited`).
  while (results.length <= limit && examined < MAX_CANDIDATES) {
    const want = Math.min(CANDIDATE_BATCH, MAX_CANDIDATES - examined);
    const batch = await directory.queryUsers({ search_term: searchTerm, offset: examined, limit: want });
    examined += batch.length;
    const visible = await mapLimited(batch, CONCURRENCY, (u) => isVisible(u.user_id));
    batch.forEach((u, i) => {
      if (visible[i]) results.push(u);
    });
    if (batch.length < want) {
      exhausted = true;
      break;
    }
  }
  return c.json({ results: results.slice(0, limit), limited: results.length > limit || !exhausted });
});
