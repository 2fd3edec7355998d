/**
 * What one room contributes to a user's /sync (spec v1.16, Client-Server API "Syncing"): the
 * timeline between two of the room's stream positions, whether it was cut short, where to page
 * back from, and the state the client needs besides the timeline. Positions come from the user's
 * object, which records the position of every notification it received, so consecutive syncs
 * cover consecutive ranges: nothing is skipped and nothing is sent twice.
 */
import { isJsonObject } from '../../core/canonical-json';
import type { StateGroups, StateMap } from './state';
import { parseStateKey, stateKey } from './state';
import type { RoomStore, StoredEvent } from './store';

export interface SyncRoomQuery {
  /** Room position the user already had (exclusive); 0 for an initial sync of the room. */
  from: number;
  /** Room position to sync up to (inclusive). */
  to: number;
  /** Timeline events at most; older ones are left to /messages from `prev_batch`. */
  limit: number;
  /** Send the whole state at the start of the timeline, not only what changed since `from`. */
  full_state: boolean;
  /** Lazy-loading members: leave `m.room.member` events out of `state` (the caller adds those the timeline needs, members.ts). */
  lazy_members?: boolean;
}

export interface SyncRoomSlice {
  /** Oldest first. */
  events: StoredEvent[];
  limited: boolean;
  /** Position to page backwards from with /messages (the events before the timeline). */
  prev_batch: number;
  /** State events at the start of the timeline: all, or those that changed since `from`. */
  state: StoredEvent[];
}

/** The state after the last accepted event at or before `position` (empty before the room). */
export function stateAt(store: RoomStore, groups: StateGroups, position: number): StateMap {
  const group = position > 0 ? store.stateGroupAtPosition(position) : null;
  return group === null ? new Map() : groups.load(group);
}

/**
 * The user's membership at `position`. A room the user joined since their last sync (from an
 * invite, or after leaving) is new to them: they get its whole state, as in an initial sync.
 */
export function membershipAt(store: RoomStore, groups: StateGroups, position: number, userId: string): string | undefined {
  const id = stateAt(store, groups, position).get(stateKey('m.room.member', userId));
  const content = id === undefined ? undefined : store.getEvent(id)?.pdu.content;
  return isJsonObject(content) && typeof content.membership === 'string' ? content.membership : undefined;
}

/**
 * The user's own leave (or ban) at `position` when they were only invited or knocking just
 * before it: a knock rejected or withdrawn, an invite declined or revoked. They were not in the
 * room in between, so their /sync shows that member event alone rather than the room's
 * timeline and state up to it. History visibility (visibility.ts) would hide even that event
 * (the user was joined neither before nor after it); like Synapse, which always shows users
 * their own leave after an invite, it is shown, so that the room visibly leaves the invite or
 * knock section. Undefined otherwise.
 */
export function leaveWithoutJoin(store: RoomStore, groups: StateGroups, position: number, userId: string): StoredEvent | undefined {
  const id = stateAt(store, groups, position).get(stateKey('m.room.member', userId));
  const e = id === undefined ? undefined : store.getEvent(id);
  if (!e || e.stream_ordering <= 0) return undefined;
  const before = membershipAt(store, groups, e.stream_ordering - 1, userId);
  return before === 'invite' || before === 'knock' ? e : undefined;
}

export function syncRoom(store: RoomStore, groups: StateGroups, q: SyncRoomQuery): SyncRoomSlice {
  const newestFirst = q.to > q.from ? store.acceptedEventsDescending(q.to, q.from, q.limit + 1) : [];
  const limited = newestFirst.length > q.limit;
  const events = newestFirst.slice(0, q.limit).reverse();
  const start = events.length > 0 ? events[0]!.stream_ordering - 1 : q.to;
  const initial = q.from === 0 || q.full_state;
  // Spec: `state` holds the state up to the start of the timeline; an unlimited incremental
  // timeline already carries every state change since `from`.
  if (!initial && !limited) return { events, limited, prev_batch: start, state: [] };
  const atStart = stateAt(store, groups, start);
  const before = initial ? new Map<string, string>() : stateAt(store, groups, q.from);
  const changed = [...atStart].filter(([key, id]) => before.get(key) !== id && !(q.lazy_members && key.startsWith('["m.room.member",'))).map(([, id]) => id);
  const loaded = store.getEvents(changed);
  const state = changed.map((id) => loaded.get(id)).filter((e): e is StoredEvent => e !== undefined);
  return { events, limited, prev_batch: start, state };
}

/** Stripped state for an invite (spec "Stripped state"): enough to show the room in a list. */
export const STRIPPED_TYPES = ['m.room.create', 'm.room.join_rules', 'm.room.name', 'm.room.avatar', 'm.room.canonical_alias', 'm.room.encryption', 'm.room.topic'];

export function strippedState(store: RoomStore, current: StateMap, userId: string): { type: string; state_key: string; sender: string; content: unknown }[] {
  const ids: string[] = [];
  for (const [key, id] of current) {
    const [type, stateKey] = parseStateKey(key);
    if (STRIPPED_TYPES.includes(type) || (type === 'm.room.member' && stateKey === userId)) ids.push(id);
  }
  const loaded = store.getEvents(ids);
  return ids
    .map((id) => loaded.get(id))
    .filter((e): e is StoredEvent => e !== undefined)
    .map((e) => ({ type: e.type, state_key: e.state_key ?? '', sender: e.sender, content: isJsonObject(e.pdu.content) ? e.pdu.content : {} }));
}
