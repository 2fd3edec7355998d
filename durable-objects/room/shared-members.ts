/**
 * Whom a user shares a room with, and how that changed over one /sync range: what the room
 * contributes to /sync `device_lists` (spec v1.16, Client-Server API "Tracking the device list
 * for a user", https://spec.matrix.org/v1.16/client-server-api/#tracking-the-device-list-for-a-user;
 * the endpoint's side is workers/homeserver/client/sync-device-lists.ts).
 *
 * Read off the room's state at the two positions rather than off the events the sync returns:
 * a limited timeline leaves out the events of the gap, lazy-loading leaves member events out
 * of `state`, and the client's filter may drop them from both. Comparing two state maps costs
 * one pass over their keys in memory; only the member events that differ are loaded (all of
 * one side's when the user shares the room at one end only).
 */
import type { SharedMembersChange } from './api';
import { MEMBER_KEY_PREFIX } from './members';
import { parseStateKey, stateKey, type StateGroups, type StateMap } from './state';
import type { RoomStore } from './store';
import { stateAt } from './sync';
import { membershipOf } from './visibility';

const EMPTY: StateMap = new Map();

/**
 * Users other than `userId` whose member event differs between `before` and `after`, split by
 * whether they are joined in `after` (`joined`) or were joined in `before` and are not in
 * `after` (`left`). A member event that changed while the user stayed joined (a profile
 * change, or a leave and a join again in between) counts as joined: like Synapse, which reports
 * every join member event of the range, so that keys a user changed while away are fetched again.
 */
function diff(store: RoomStore, before: StateMap, after: StateMap, userId: string): SharedMembersChange {
  const keys: string[] = [];
  for (const [key, id] of after) if (key.startsWith(MEMBER_KEY_PREFIX) && before.get(key) !== id) keys.push(key);
  for (const key of before.keys()) if (key.startsWith(MEMBER_KEY_PREFIX) && !after.has(key)) keys.push(key);
  const ids = keys.flatMap((key) => [before.get(key), after.get(key)]).filter((id): id is string => id !== undefined);
  const events = store.getEvents(ids);
  const joinedBy = (id: string | undefined) => id !== undefined && membershipOf(events.get(id)?.pdu.content) === 'join';
  const out: SharedMembersChange = { joined: [], left: [] };
  for (const key of keys) {
    const member = parseStateKey(key)[1];
    if (member === userId) continue;
    if (joinedBy(after.get(key))) out.joined.push(member);
    else if (joinedBy(before.get(key))) out.left.push(member);
  }
  return out;
}

function isJoined(store: RoomStore, state: StateMap, userId: string): boolean {
  const id = state.get(stateKey('m.room.member', userId));
  return id !== undefined && membershipOf(store.getEvent(id)?.pdu.content) === 'join';
}

/**
 * How the members `userId` shares the room with changed from position `since` to `to`. The set
 * at either end is empty when the user was not joined there: a room the user joined in between
 * reports every member joined at `to`; a room the user left reports as `left` everyone joined
 * at `since` and everyone who joined after it and was still there at the user's leave (`to`).
 */
export function sharedMembersChange(store: RoomStore, groups: StateGroups, userId: string, since: number, to: number): SharedMembersChange {
  const atSince = since > 0 ? stateAt(store, groups, since) : EMPTY;
  const had = isJoined(store, atSince, userId) ? atSince : EMPTY;
  const atTo = stateAt(store, groups, to);
  if (isJoined(store, atTo, userId)) return diff(store, had, atTo, userId);
  const left = new Set([...diff(store, EMPTY, had, userId).joined, ...diff(store, had, atTo, userId).joined]);
  return { joined: [], left: [...left] };
}
