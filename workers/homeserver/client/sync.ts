/**
 * `GET /_matrix/client/v3/sync` (spec v1.16, Client-Server API "Syncing"):
 * https://spec.matrix.org/v1.16/client-server-api/#get_matrixclientv3sync
 *
 * The token `s<n>` is a position in the user's room stream (durable-objects/user): the user's
 * object records, for every notification a room sent it, the room's stream position. A sync
 * from `s<a>` to `s<b>` asks each room that changed for its events between the positions the
 * user had seen at a and at b, so consecutive syncs cover consecutive ranges with no gap and no
 * repeat; a timeline cut short by the limit says `limited` and gives `prev_batch` for /messages.
 * Long-polls wait in the user's object and are woken by the next notification (no polling).
 *
 * This increment covers rooms (join, invite, leave) with their timelines and state. Filters:
 * inline JSON `room.timeline.limit` and `room.include_leave`; stored filter IDs, ephemeral
 * events, account data, presence, to-device and device lists come with their own increments.
 */
import { Hono } from 'hono';
import { isJsonObject, type JsonObject } from '../../../core/canonical-json';
import { roomApi, type SyncRoomResponse } from '../../../durable-objects/room/api';
import { userApi, type SyncRoom } from '../../../durable-objects/user/api';
import { requireAccessToken } from '../../shared/auth';
import { MatrixError } from '../../shared/errors';
import type { HomeserverEnv } from '../env';
import { toClientEvent } from './client-event';
import { streamToken } from './messages';

const DEFAULT_TIMELINE_LIMIT = 10;
const MAX_TIMELINE_LIMIT = 100;
/** Clients ask for 30 s; the user's object caps any wait at 60 s. */
const MAX_TIMEOUT_MS = 60_000;
/** Room objects asked at once (Workers allow six simultaneous subrequests per request). */
const ROOM_CONCURRENCY = 6;

const invalid = (message: string) => new MatrixError(400, 'M_INVALID_PARAM', message);

function parseSince(raw: string | undefined): number {
  if (raw === undefined || raw === '') return 0;
  const m = /^s(\d{1,15})$/.exec(raw);
  if (!m) throw invalid('Invalid "since" token.');
  return Number(m[1]);
}

function parseTimeout(raw: string | undefined): number {
  if (raw === undefined) return 0;
  if (!/^\d{1,10}$/.test(raw)) throw invalid('"timeout" must be a non-negative integer of milliseconds.');
  return Math.min(Number(raw), MAX_TIMEOUT_MS);
}

interface SyncFilter {
  timelineLimit: number;
  includeLeave: boolean;
}

/** The inline filter's parts this increment applies; stored filter IDs are not supported yet. */
function parseFilter(raw: string | undefined): SyncFilter {
  const out: SyncFilter = { timelineLimit: DEFAULT_TIMELINE_LIMIT, includeLeave: false };
  if (raw === undefined || raw === '') return out;
  if (!raw.trimStart().startsWith('{')) throw invalid('Stored filters are not supported yet; pass the filter as JSON.');
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    throw new MatrixError(400, 'M_NOT_JSON', 'filter is not valid JSON.');
  }
  if (!isJsonObject(value)) throw invalid('filter must be an object.');
  const room = isJsonObject(value.room) ? value.room : {};
  const timeline = isJsonObject(room.timeline) ? room.timeline : {};
  if (timeline.limit !== undefined) {
    if (typeof timeline.limit !== 'number' || !Number.isInteger(timeline.limit) || timeline.limit < 0) throw invalid('filter.room.timeline.limit must be a non-negative integer.');
    out.timelineLimit = Math.min(timeline.limit, MAX_TIMELINE_LIMIT);
  }
  if (room.include_leave === true) out.includeLeave = true;
  return out;
}

/** Run `task` over `items`, at most `limit` at a time, keeping order. */
async function mapLimited<T, R>(items: readonly T[], limit: number, task: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await task(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

function joinedRoom(roomId: string, r: SyncRoomResponse): JsonObject {
  return {
    timeline: { events: r.events.map((e) => toClientEvent(e, roomId)), limited: r.limited, prev_batch: streamToken(r.prev_batch) },
    state: { events: r.state.map((e) => toClientEvent(e, roomId)) },
    ephemeral: { events: [] },
    account_data: { events: [] },
  };
}

export const sync = new Hono<HomeserverEnv>().get('/v3/sync', requireAccessToken(), async (c) => {
  const since = parseSince(c.req.query('since'));
  const timeout = parseTimeout(c.req.query('timeout'));
  const fullState = c.req.query('full_state') === 'true';
  const filter = parseFilter(c.req.query('filter'));
  const userId = c.var.auth.userId;
  const user = userApi(c.env.USER, userId);

  // An initial sync answers at once; an incremental one waits for news up to `timeout`.
  const upTo = since > 0 && timeout > 0 ? await user.waitForRoomActivity(since, timeout) : await user.getRoomStreamPosition();
  const initial = since === 0;
  const rooms: SyncRoom[] = (await user.getSyncRooms(since, upTo, initial || fullState)).filter(
    (r) => r.to > 0 && (r.membership !== 'leave' && r.membership !== 'ban' ? true : !initial || filter.includeLeave),
  );

  const parts = await mapLimited(rooms, ROOM_CONCURRENCY, (r) =>
    roomApi(c.env.ROOM, r.room_id).getSyncRoom({
      user_id: userId,
      membership: r.membership,
      from: fullState ? 0 : r.from,
      to: r.to,
      limit: filter.timelineLimit,
      full_state: fullState,
    }),
  );

  const join: JsonObject = {};
  const invite: JsonObject = {};
  const leave: JsonObject = {};
  rooms.forEach((r, i) => {
    const part = parts[i];
    if (!part) return;
    if (r.membership === 'join') join[r.room_id] = joinedRoom(r.room_id, part);
    else if (r.membership === 'invite') invite[r.room_id] = { invite_state: { events: (part.invite_state ?? []) as JsonObject[] } };
    else if (r.membership === 'leave' || r.membership === 'ban') {
      const { timeline, state } = joinedRoom(r.room_id, part);
      leave[r.room_id] = { timeline: timeline!, state: state! };
    }
  });

  return c.json({
    next_batch: `s${upTo}`,
    rooms: { join, invite, leave, knock: {} },
    account_data: { events: [] },
    presence: { events: [] },
    to_device: { events: [] },
    device_lists: { changed: [], left: [] },
    device_one_time_keys_count: {},
  });
});
