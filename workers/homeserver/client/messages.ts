/**
 * `GET /_matrix/client/v3/rooms/{roomId}/messages` (spec v1.16, Client-Server API "Getting
 * events for a room"): https://spec.matrix.org/v1.16/client-server-api/#get_matrixclientv3roomsroomidmessages
 *
 * Pagination tokens are positions in the room's stream order: `r<n>` sits after the event with
 * stream ordering n (`r0` is before the first event). Going backwards from `r<n>` returns the
 * events with ordering ≤ n, newest first; forwards, those after n. Only accepted events are
 * returned. The filter applies `types`, `not_types`, `senders` and `not_senders`; with
 * `lazy_load_members` the response's `state` holds the senders' member events — from the
 * current state, where the spec asks for the state at the events (a simplification). `filter`
 * is inline JSON or the ID of one of the user's stored filters, whose `room.timeline` applies.
 */
import { Hono } from 'hono';
import { isJsonObject, type JsonObject } from '../../../core/canonical-json';
import type { TimelineFilter } from '../../../durable-objects/room/api';
import { requireAccessToken } from '../../shared/auth';
import { MatrixError } from '../../shared/errors';
import type { HomeserverEnv } from '../env';
import { toClientEvent } from './client-event';
import { isInlineFilter, storedFilter } from './filters';
import { requireReader, roomOf } from './room-access';

const DEFAULT_LIMIT = 10;
const MAX_LIMIT = 1000;

const invalid = (message: string) => new MatrixError(400, 'M_INVALID_PARAM', message);

/** `r<n>` → n; undefined stays undefined. */
export function parseStreamToken(token: string | undefined, name: string): number | undefined {
  if (token === undefined) return undefined;
  const m = /^r(\d{1,15})$/.exec(token);
  if (!m) throw invalid(`Invalid "${name}" token.`);
  return Number(m[1]);
}

export const streamToken = (position: number) => `r${position}`;

interface ParsedFilter {
  filter?: TimelineFilter;
  lazyLoadMembers: boolean;
}

function stringList(f: JsonObject, key: string): string[] | undefined {
  const v = f[key];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || !v.every((x): x is string => typeof x === 'string')) throw invalid(`filter.${key} must be an array of strings.`);
  return v;
}

/** The `filter` parameter: a `RoomEventFilter` as JSON, or a stored filter's ID (its `room.timeline`). */
async function parseFilter(raw: string | undefined, users: DurableObjectNamespace, userId: string): Promise<ParsedFilter> {
  if (raw === undefined) return { lazyLoadMembers: false };
  let value: unknown;
  if (!isInlineFilter(raw)) {
    const stored = await storedFilter(users, userId, raw);
    value = isJsonObject(stored.room) && isJsonObject(stored.room.timeline) ? stored.room.timeline : {};
  } else {
    try {
      value = JSON.parse(raw);
    } catch {
      throw invalid('"filter" must be a RoomEventFilter as JSON or a filter ID.');
    }
  }
  if (!isJsonObject(value)) throw invalid('"filter" must be a JSON object.');
  const filter: TimelineFilter = {};
  for (const key of ['types', 'not_types', 'senders', 'not_senders'] as const) {
    const list = stringList(value, key);
    if (list) filter[key] = list;
  }
  const lazy = value.lazy_load_members;
  if (lazy !== undefined && typeof lazy !== 'boolean') throw invalid('filter.lazy_load_members must be a boolean.');
  return { ...(Object.keys(filter).length > 0 ? { filter } : {}), lazyLoadMembers: lazy === true };
}

function parseLimit(raw: string | undefined): number {
  if (raw === undefined) return DEFAULT_LIMIT;
  if (!/^\d{1,9}$/.test(raw)) throw invalid('"limit" must be a non-negative integer.');
  return Math.min(Number(raw), MAX_LIMIT);
}

export const messages = new Hono<HomeserverEnv>().get('/v3/rooms/:roomId/messages', requireAccessToken(), async (c) => {
  const dir = c.req.query('dir');
  if (dir !== 'b' && dir !== 'f') throw invalid('"dir" must be "b" or "f".');
  const from = parseStreamToken(c.req.query('from'), 'from');
  const to = parseStreamToken(c.req.query('to'), 'to');
  const limit = parseLimit(c.req.query('limit'));
  const { filter, lazyLoadMembers } = await parseFilter(c.req.query('filter'), c.env.USER, c.var.auth.userId);

  const room = roomOf(c.env.ROOM, c.req.param('roomId'));
  const { room_id: roomId } = await requireReader(room, c.var.auth.userId);
  const page = await room.getTimeline({
    dir,
    limit,
    ...(from !== undefined ? { from } : {}),
    ...(to !== undefined ? { to } : {}),
    ...(filter ? { filter } : {}),
  });
  const body: JsonObject = { chunk: page.events.map((e) => toClientEvent(e, roomId)), start: streamToken(page.start) };
  if (page.end !== undefined) body.end = streamToken(page.end);
  if (lazyLoadMembers) {
    const senders = new Set(page.events.map((e) => e.pdu.sender));
    const members = await room.getCurrentStateEvents('m.room.member');
    body.state = members.filter((e) => senders.has(e.pdu.state_key ?? null)).map((e) => toClientEvent(e, roomId));
  }
  return c.json(body);
});
