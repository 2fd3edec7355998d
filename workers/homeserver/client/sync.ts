/**
 * `GET /_matrix/client/v3/sync` (spec v1.16, Client-Server API "Syncing"):
 * https://spec.matrix.org/v1.16/client-server-api/#get_matrixclientv3sync
 *
 * The token `s<rooms>_<accountData>_<device>` (sync-token.ts) holds one position per stream of
 * the user's object (durable-objects/user). The room stream records, for every notification a
 * room sent the user, the room's stream position: a sync from rooms position a to b asks each
 * room that changed for its events between the positions the user had seen at a and at b, so
 * consecutive syncs cover consecutive ranges with no gap and no repeat; a timeline cut short
 * by the limit says `limited` and gives `prev_batch` for /messages. The account-data stream
 * numbers every account-data write; a sync from a to b returns each (room, type) written in
 * (a, b] once, with its latest content. The older forms `s<rooms>_<accountData>` and `s<rooms>`
 * are still accepted (missing positions count as 0: all account data once more, every pending
 * to-device message and device-list change). Long-polls wait in the user's object and are woken
 * by the next room notification, account-data write, or device-stream news for the syncing
 * device (no polling).
 *
 * End-to-end encryption (spec "Send-to-Device messaging" and "End-to-End Encryption",
 * "Extensions to /sync"): the device stream numbers to-device messages (queued per recipient
 * device) and device-list changes (per user). `to_device.events` are the syncing device's
 * messages in (since, upTo] of that stream, at most `MAX_TO_DEVICE_PER_SYNC`; when more remain,
 * the token's device position is the last one delivered, so the next sync starts there and
 * returns at once with the rest. A sync deletes the device's messages at or below its `since`
 * (the spec's acknowledgement), so repeating a sync with the same `since` returns them again
 * (durable-objects/user/to-device.ts). `device_lists.changed` are the users whose device lists
 * changed in the same range (durable-objects/user/device-lists.ts), on incremental syncs only,
 * with the users who now share a room with the user; `device_lists.left` the users who no longer
 * share any (from this sync's membership changes, sync-device-lists.ts).
 * `device_one_time_keys_count` and `device_unused_fallback_key_types` come from the user's key
 * object (durable-objects/user-keys) for the syncing device, on every sync.
 *
 * Ephemeral events (`m.typing`, `m.receipt`) ride on the room stream (no token part of their
 * own). Each Room object numbers its typing and receipt changes with its own ephemeral
 * position (durable-objects/room/ephemeral.ts) and tells its local joined members through the
 * same outbox as events; every notification carries the room's current ephemeral position and
 * the user's object records it in its room stream next to the event position. A sync from a to
 * b therefore also knows, per room, the ephemeral positions seen at a and at b, and the room
 * returns the receipts changed in between (each once, at its latest; `m.read.private` only to
 * its owner) and the typing set if it changed in between. A first sync of a room (position 0)
 * gets the current typing set and the latest receipts. Typing or a receipt wakes long-polls
 * like an event does, since it appends to the same stream.
 *
 * Presence (spec "Presence") rides on the same ephemeral positions: a user's object publishes
 * each change of their presence to their joined rooms (durable-objects/user/presence.ts), and a
 * room returns its other local members' presence changed in the ephemeral range (a first sync
 * of the room: every joined member's latest, but `offline`). This endpoint lifts those out of
 * the rooms into the top-level `presence.events`, one `m.presence` event per user (the copy
 * with the highest version; `last_active_ago` computed now), with the user's own presence when
 * it changed in the room-stream range (their object numbers own changes on that stream, so it
 * needs no rooms), under the filter's `presence` part (types, senders, `limit`). Presence of a
 * room the room filter leaves out is not collected. `set_presence` (default `online`) reports
 * the sync to the user's object first, as activity for `online`; `offline` leaves presence
 * alone (spec: the client "is not marked as being online"; Synapse does the same). The object
 * writes and publishes only on a change that others would notice, so a steady client's syncs
 * cost no writes.
 *
 * Covered: rooms (join, invite, knock, leave) with their timelines and state, global and per-room
 * account data. Filters, inline JSON or a stored filter ID: `room.rooms`/`not_rooms`,
 * `room.include_leave`, `room.timeline.limit`, and the `types`/`not_types`/`senders`/
 * `not_senders` of `room.timeline`, `room.state`, `room.account_data` and `account_data`.
 * The Room object applies only the limit; the event filters are applied here, after the
 * fetch, so a filtered timeline may hold fewer than `limit` events while `limited` and
 * `prev_batch` still describe the unfiltered page. `room.ephemeral` filters by type only.
 * The Room object also applies history visibility to the timelines (spec "Room History
 * Visibility": a left room's timeline stops at the leave, earlier events show as the rules
 * allow) and, with `room.state.lazy_load_members` (spec "Lazy-loading room members"), puts in
 * `state` only the member events of the timeline's senders, the user's own and the heroes'
 * (see durable-objects/room/members.ts for what counts as redundant); joined rooms carry a
 * `summary` (`m.heroes`, `m.joined_member_count`, `m.invited_member_count`) on every sync.
 * `event_fields` and `event_format` come with their own increments.
 */
import { Hono } from 'hono';
import { isJsonObject, type JsonObject } from '../../../core/canonical-json';
import { roomApi, type EventRecord, type SyncRoomResponse, type TimelineFilter } from '../../../durable-objects/room/api';
import { matchesFilter } from '../../../durable-objects/room/timeline';
import { userKeysApi } from '../../../durable-objects/user-keys/api';
import { userApi, type AccountDataEntry, type PresenceState, type PresenceStatus, type StreamPositions, type SyncRoom } from '../../../durable-objects/user/api';
import { requireAccessToken } from '../../shared/auth';
import { MatrixError } from '../../shared/errors';
import type { HomeserverEnv } from '../env';
import { toClientEvent } from './client-event';
import { eventFilterOf, loadFilter } from './filters';
import { streamToken } from './messages';
import { requireSyncToken, syncToken } from './sync-token';
import { withPushRules } from './push-rules';
import { isPresenceState, presenceEvent } from './presence';
import { syncDeviceLists } from './sync-device-lists';

const DEFAULT_TIMELINE_LIMIT = 10;
const MAX_TIMELINE_LIMIT = 100;
/** Clients ask for 30 s; the user's object caps any wait at 60 s. */
const MAX_TIMEOUT_MS = 60_000;
/** Room objects asked at once (Workers allow six simultaneous subrequests per request). */
const ROOM_CONCURRENCY = 6;
/** To-device messages per sync at most (Synapse's limit); the rest come with the next syncs. */
export const MAX_TO_DEVICE_PER_SYNC = 100;

const invalid = (message: string) => new MatrixError(400, 'M_INVALID_PARAM', message);

/** The `since` token (sync-token.ts); absent or empty: an initial sync. */
function parseSince(raw: string | undefined): StreamPositions | undefined {
  return raw === undefined || raw === '' ? undefined : requireSyncToken(raw, 'since');
}

function parseTimeout(raw: string | undefined): number {
  if (raw === undefined) return 0;
  if (!/^\d{1,10}$/.test(raw)) throw invalid('"timeout" must be a non-negative integer of milliseconds.');
  return Math.min(Number(raw), MAX_TIMEOUT_MS);
}

/** Spec `set_presence`: `online` when absent. */
function parseSetPresence(raw: string | undefined): PresenceState {
  if (raw === undefined) return 'online';
  if (!isPresenceState(raw)) throw invalid('"set_presence" must be one of online, unavailable, offline.');
  return raw;
}

interface SyncFilter {
  timelineLimit: number;
  includeLeave: boolean;
  rooms?: string[];
  notRooms?: string[];
  timeline?: TimelineFilter;
  state?: TimelineFilter;
  accountData?: TimelineFilter;
  roomAccountData?: TimelineFilter;
  ephemeral?: TimelineFilter;
  presence?: TimelineFilter;
  /** `presence.limit`: the most presence events to return. */
  presenceLimit?: number;
  /** `room.state.lazy_load_members` (spec: lazy-loading is enabled on the state filter). */
  lazyLoadMembers?: boolean;
}

/** The parts of a (validated) `Filter` this endpoint applies. */
function syncFilterOf(filter: JsonObject | undefined): SyncFilter {
  const out: SyncFilter = { timelineLimit: DEFAULT_TIMELINE_LIMIT, includeLeave: false };
  if (!filter) return out;
  const room = isJsonObject(filter.room) ? filter.room : {};
  const timeline = isJsonObject(room.timeline) ? room.timeline : {};
  if (typeof timeline.limit === 'number') out.timelineLimit = Math.min(timeline.limit, MAX_TIMELINE_LIMIT);
  if (room.include_leave === true) out.includeLeave = true;
  if (isJsonObject(room.state) && room.state.lazy_load_members === true) out.lazyLoadMembers = true;
  const strings = (v: unknown) => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : undefined);
  const rooms = strings(room.rooms);
  const notRooms = strings(room.not_rooms);
  if (rooms) out.rooms = rooms;
  if (notRooms) out.notRooms = notRooms;
  const parts = {
    timeline: room.timeline, state: room.state, roomAccountData: room.account_data, accountData: filter.account_data, ephemeral: room.ephemeral,
    presence: filter.presence,
  } as const;
  for (const [key, value] of Object.entries(parts) as [keyof typeof parts, (typeof parts)[keyof typeof parts]][]) {
    const f = eventFilterOf(value);
    if (f) out[key] = f;
  }
  if (isJsonObject(filter.presence) && typeof filter.presence.limit === 'number') out.presenceLimit = filter.presence.limit;
  return out;
}

/** Spec (`RoomFilter.not_rooms`): "This filter is applied before the filters in `rooms`." */
const roomPasses = (f: SyncFilter, roomId: string) => !f.notRooms?.includes(roomId) && (!f.rooms || f.rooms.includes(roomId));

const eventPasses = (f: TimelineFilter | undefined, e: EventRecord) =>
  matchesFilter(f, typeof e.pdu.type === 'string' ? e.pdu.type : '', typeof e.pdu.sender === 'string' ? e.pdu.sender : '');

/** Whether an event without a sender (account data, ephemeral) passes a filter's types. */
const typePasses = (f: TimelineFilter | undefined, e: { type?: unknown }) =>
  matchesFilter(f && { ...f, senders: undefined, not_senders: undefined }, typeof e.type === 'string' ? e.type : '', '');

/** Account data as sync events, filtered by type (account data has no sender). */
const accountDataEvents = (entries: readonly AccountDataEntry[], f: TimelineFilter | undefined) =>
  entries.filter((e) => typePasses(f, e)).map((e): JsonObject => ({ type: e.type, content: e.content }));

/**
 * `presence.events`: one `m.presence` event per user, from the copy with the highest version
 * (rooms may hold older ones), under the filter's `presence` part.
 */
function presenceEvents(statuses: readonly (PresenceStatus | undefined)[], filter: SyncFilter, now: number): JsonObject[] {
  const latest = new Map<string, PresenceStatus>();
  for (const p of statuses) {
    if (!p) continue;
    const seen = latest.get(p.user_id);
    if (!seen || p.version > seen.version) latest.set(p.user_id, p);
  }
  const events = [...latest.values()].filter((p) => matchesFilter(filter.presence, 'm.presence', p.user_id)).map((p) => presenceEvent(p, now));
  return filter.presenceLimit === undefined ? events : events.slice(0, filter.presenceLimit);
}

/** Run `task` over `items`, at most `limit` at a time, keeping order. */
export async function mapLimited<T, R>(items: readonly T[], limit: number, task: (item: T) => Promise<R>): Promise<R[]> {
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

function joinedRoom(roomId: string, r: SyncRoomResponse, filter: SyncFilter, accountData: JsonObject[]): JsonObject {
  return {
    timeline: {
      events: r.events.filter((e) => eventPasses(filter.timeline, e)).map((e) => toClientEvent(e, roomId)),
      limited: r.limited,
      prev_batch: streamToken(r.prev_batch),
    },
    state: { events: r.state.filter((e) => eventPasses(filter.state, e)).map((e) => toClientEvent(e, roomId)) },
    ephemeral: { events: (r.ephemeral ?? []).filter((e) => typePasses(filter.ephemeral, e)) },
    account_data: { events: accountData },
    ...(r.summary ? { summary: { ...r.summary } } : {}),
  };
}

/** Whether an incremental sync has nothing to say about a joined room (after filtering). */
function isEmptyJoin(room: JsonObject): boolean {
  const count = (part: unknown) => (isJsonObject(part) && Array.isArray(part.events) ? part.events.length : 0);
  return count(room.timeline) + count(room.state) + count(room.account_data) + count(room.ephemeral) === 0;
}

export const sync = new Hono<HomeserverEnv>().get('/v3/sync', requireAccessToken(), async (c) => {
  const since = parseSince(c.req.query('since'));
  const timeout = parseTimeout(c.req.query('timeout'));
  const fullState = c.req.query('full_state') === 'true';
  const setPresence = parseSetPresence(c.req.query('set_presence'));
  const userId = c.var.auth.userId;
  const user = userApi(c.env.USER, userId);
  // An initial sync answers at once; an incremental one waits for news up to `timeout`.
  const initial = since === undefined;
  // Sent before the positions are read, on the same stub (so delivered first): this sync
  // already sees the change it makes, without waiting for the call. Presence is best effort:
  // a failure here does not fail the sync.
  const presenceSet = setPresence === 'offline'
    ? undefined
    : user.performSyncPresence(setPresence, initial ? 0 : timeout).catch((e: unknown) => console.error('sync: updating presence failed:', e));
  const rawFilter = c.req.query('filter');
  const filter = syncFilterOf(rawFilter === undefined || rawFilter === '' ? undefined : await loadFilter(c.env.USER, userId, rawFilter));

  const deviceId = c.var.auth.deviceId;
  const upTo = !initial && timeout > 0 ? await user.waitForActivity(since, timeout, deviceId) : await user.getStreamPositions();
  const from: StreamPositions = since ?? { rooms: 0, account_data: 0, device: 0 };
  const [allRooms, accountData, ownPresence, toDeviceBatch, keyCounts] = await Promise.all([
    user.getSyncRooms(from.rooms, upTo.rooms, initial || fullState),
    user.getAccountDataChanges(from.account_data, upTo.account_data),
    user.getPresenceChange(from.rooms, upTo.rooms),
    // The device's to-device messages: when more remain than one sync carries, the token's device
    // position stops at the last one delivered, and the device-list changes returned with them
    // stop there too. Spec: device-list changes "since the previous sync response"; an initial
    // sync has none.
    user.performSyncToDevice(deviceId, from.device, upTo.device, MAX_TO_DEVICE_PER_SYNC, !initial),
    userKeysApi(c.env.USER_KEYS, userId).getOneTimeKeyCounts(deviceId),
    presenceSet,
  ]);
  const rooms: SyncRoom[] = allRooms.filter(
    (r) => r.to > 0 && roomPasses(filter, r.room_id) && (r.membership !== 'leave' && r.membership !== 'ban' ? true : !initial || filter.includeLeave),
  );

  // Room account data goes with joined rooms; one whose only news is account data still needs
  // its membership and position, which the changed-rooms query above does not give.
  const roomAccountData = new Map<string, AccountDataEntry[]>();
  for (const e of accountData) {
    if (e.room_id === null || !roomPasses(filter, e.room_id)) continue;
    roomAccountData.set(e.room_id, [...(roomAccountData.get(e.room_id) ?? []), e]);
  }
  const listed = new Set(rooms.map((r) => r.room_id));
  const quiet = [...roomAccountData.keys()].filter((id) => !listed.has(id));
  const quietRooms =
    quiet.length === 0 ? [] : (await user.getSyncRooms(from.rooms, upTo.rooms, true)).filter((r) => quiet.includes(r.room_id) && r.membership === 'join' && r.to > 0);

  const parts = await mapLimited(rooms, ROOM_CONCURRENCY, (r) =>
    roomApi(c.env.ROOM, r.room_id).getSyncRoom({
      user_id: userId,
      device_id: c.var.auth.deviceId,
      membership: r.membership,
      from: fullState ? 0 : r.from,
      to: r.to,
      limit: filter.timelineLimit,
      full_state: fullState,
      ephemeral_from: r.ephemeral_from,
      ephemeral_to: r.ephemeral_to,
      lazy_load_members: filter.lazyLoadMembers === true,
      // For device_lists (sync-device-lists.ts): the members the user shares the room with, since `from`.
      ...(initial ? {} : { shared_members_since: r.from }),
    }),
  );
  const deviceLists = initial ? { changed: [], left: [] } : await syncDeviceLists(c.env, userId, toDeviceBatch.device_lists_changed ?? [], parts.map((p) => p?.shared_members));

  // Rooms this server does not have: invites received over federation and their rejections,
  // which the user's object holds (durable-objects/user/remote-invites.ts).
  const absent = rooms.filter((r, i) => !parts[i] && (r.membership === 'invite' || r.membership === 'leave')).map((r) => r.room_id);
  const remote = new Map((absent.length === 0 ? [] : await user.getRemoteMemberships(absent)).map((m) => [m.room_id, m]));

  const roomAccountDataEvents = (roomId: string) => accountDataEvents(roomAccountData.get(roomId) ?? [], filter.roomAccountData);
  const join: JsonObject = {};
  const invite: JsonObject = {};
  const knock: JsonObject = {};
  const leave: JsonObject = {};
  rooms.forEach((r, i) => {
    const part = parts[i];
    if (!part) {
      const m = remote.get(r.room_id);
      if (m?.membership !== r.membership) return;
      if (m.membership === 'invite') invite[r.room_id] = { invite_state: { events: m.invite_state as unknown as JsonObject[] } };
      else {
        const own: EventRecord = { event_id: m.event_id, stream_ordering: r.to, pdu: m.event, status: 'accepted', rejection: null, redacted_by: null };
        const events = eventPasses(filter.timeline, own) ? [toClientEvent(own, r.room_id)] : [];
        leave[r.room_id] = { timeline: { events, limited: false, prev_batch: streamToken(r.to) }, state: { events: [] } };
      }
      return;
    }
    if (r.membership === 'join') {
      const room = joinedRoom(r.room_id, part, filter, roomAccountDataEvents(r.room_id));
      if (initial || fullState || !isEmptyJoin(room)) join[r.room_id] = room;
    } else if (r.membership === 'invite') invite[r.room_id] = { invite_state: { events: (part.invite_state ?? []) as JsonObject[] } };
    // Spec "Knocking on rooms": a knock shows as stripped state until it is accepted (an invite) or rejected (a leave).
    else if (r.membership === 'knock') knock[r.room_id] = { knock_state: { events: (part.invite_state ?? []) as JsonObject[] } };
    else if (r.membership === 'leave' || r.membership === 'ban') {
      const { timeline, state } = joinedRoom(r.room_id, part, filter, []);
      leave[r.room_id] = { timeline: timeline!, state: state! };
    }
  });
  for (const r of quietRooms) {
    const events = roomAccountDataEvents(r.room_id);
    if (events.length === 0) continue;
    join[r.room_id] = {
      timeline: { events: [], limited: false, prev_batch: streamToken(r.to) },
      state: { events: [] },
      ephemeral: { events: [] },
      account_data: { events },
    };
  }

  return c.json({
    next_batch: syncToken({ ...upTo, device: toDeviceBatch.position }),
    rooms: { join, invite, leave, knock },
    // `m.push_rules` is the merged ruleset, there from the first sync on (push-rules.ts).
    account_data: { events: accountDataEvents(withPushRules(userId, accountData.filter((e) => e.room_id === null), initial), filter.accountData) },
    presence: { events: presenceEvents([ownPresence, ...parts.flatMap((p) => p?.presence ?? [])], filter, Date.now()) },
    to_device: { events: toDeviceBatch.events },
    device_lists: deviceLists,
    device_one_time_keys_count: keyCounts.one_time_key_counts,
    device_unused_fallback_key_types: keyCounts.unused_fallback_key_types,
  });
});
