/**
 * Member events a response needs besides its events: lazy-loaded members (spec v1.16,
 * Client-Server API "Lazy-loading room members",
 * https://spec.matrix.org/v1.16/client-server-api/#lazy-loading-room-members) and the /sync
 * room summary (`m.heroes`, `m.joined_member_count`, `m.invited_member_count`).
 */
import { isJsonObject } from '../../core/canonical-json';
import type { SyncRoomSummary } from './api';
import { parseStateKey, type StateMap } from './state';
import type { RoomStore, StoredEvent } from './store';
import { membershipOf, type StateLookup } from './visibility';

export const MEMBER_KEY_PREFIX = '["m.room.member",';
/** Spec (`m.heroes`): "This should be the first 5 members of the room". */
const HEROES = 5;

/** The member events of `userIds` in the state of `group` (users without one are left out). */
export function membersAt(lookup: StateLookup, group: number | null, userIds: Iterable<string>): StoredEvent[] {
  const ids = new Set<string>();
  for (const userId of userIds) {
    const id = lookup.get(group, 'm.room.member', userId);
    if (id !== undefined) ids.add(id);
  }
  return [...lookup.dag.store.getEvents([...ids]).values()];
}

/**
 * For a page of events (/messages, spec: "only include membership events for the `sender` of
 * events being included in the response"): each sender's member event in the state at their
 * newest event of the page, so a sender who joined within the page is covered.
 */
export function sendersMembers(lookup: StateLookup, events: readonly StoredEvent[]): StoredEvent[] {
  const newest = new Map<string, StoredEvent>();
  for (const e of events) {
    const seen = newest.get(e.sender);
    if (!seen || seen.stream_ordering < e.stream_ordering) newest.set(e.sender, e);
  }
  const ids = new Set<string>();
  for (const [sender, e] of newest) {
    const id = lookup.get(e.state_group, 'm.room.member', sender);
    if (id !== undefined) ids.add(id);
  }
  return [...lookup.dag.store.getEvents([...ids]).values()];
}

export interface LazySyncQuery {
  userId: string;
  /** The timeline as the user sees it. */
  timeline: readonly StoredEvent[];
  /** State group at the start of the timeline (`prev_batch`). */
  startGroup: number | null;
  /** State group at `from` for an incremental sync; undefined when `state` starts from nothing. */
  fromGroup?: number | null;
  /** Heroes whose member events the client needs (the room has no name or alias); else empty. */
  heroes: readonly string[];
}

/**
 * The member events a lazy-loading /sync room part puts in `state` (its other state comes from
 * `syncRoom` without member events): those of the timeline's senders at its start, and the
 * user's own and the heroes' (spec `m.heroes`: "the membership events for the heroes MUST be
 * included in the `state`, unless they are redundant") when the client cannot have them: in a
 * sync that starts from nothing, or when they changed since `from`.
 *
 * Senders' member events are sent on every sync that shows them, even when an earlier one
 * already did: without remembering per device what was sent, the server cannot know what is
 * redundant, and the spec allows it ("it is valid for the server to send redundant membership
 * events to the client to ease implementation"). So `include_redundant_members: true` is met
 * as well, and `false` is met as far as the spec requires.
 */
export function lazySyncMembers(lookup: StateLookup, q: LazySyncQuery): StoredEvent[] {
  const users = new Set(q.timeline.map((e) => e.sender));
  for (const userId of [q.userId, ...q.heroes]) {
    const atStart = lookup.get(q.startGroup, 'm.room.member', userId);
    if (q.fromGroup === undefined || atStart !== lookup.get(q.fromGroup, 'm.room.member', userId)) users.add(userId);
  }
  return membersAt(lookup, q.startGroup, users);
}

interface Member {
  membership: string;
  /** The member event's stream ordering: heroes come in this order. */
  ordering: number;
}

interface Index {
  state: StateMap;
  members: Map<string, Member>;
  joined: number;
  invited: number;
  /** The first HEROES + 1 joined or invited members by ordering (one may be the reader). */
  present: string[];
  /** Likewise the left and banned ones. */
  gone: string[];
}

/**
 * Room summaries of state maps. The last map's member index is kept, and a new map's is derived
 * from it by the member keys that differ, so a large room loads only the member events that
 * changed since the previous summary (state maps are immutable once made, see state.ts).
 */
export class SyncSummaries {
  private last: Index | undefined;

  constructor(private readonly store: RoomStore) {}

  /**
   * The summary of `state` for `userId`. Spec: `m.heroes` are the
   * first members by stream ordering who are joined or invited, never the user themselves; when
   * there are none, the left and banned ones.
   */
  summary(state: StateMap, userId: string): SyncRoomSummary {
    const index = this.index(state);
    const others = (list: string[]) => list.filter((u) => u !== userId).slice(0, HEROES);
    const present = others(index.present);
    return {
      'm.heroes': present.length > 0 ? present : others(index.gone),
      'm.joined_member_count': index.joined,
      'm.invited_member_count': index.invited,
    };
  }

  private index(state: StateMap): Index {
    if (this.last?.state === state) return this.last;
    const base = this.last;
    const members = new Map(base?.members ?? []);
    const load: string[] = [];
    for (const [key, id] of state) {
      if (key.startsWith(MEMBER_KEY_PREFIX) && base?.state.get(key) !== id) load.push(id);
    }
    if (base) {
      for (const key of base.state.keys()) {
        if (key.startsWith(MEMBER_KEY_PREFIX) && !state.has(key)) members.delete(parseStateKey(key)[1]);
      }
    }
    for (const e of this.store.getEvents(load).values()) {
      if (e.state_key !== null) members.set(e.state_key, { membership: membershipOf(e.pdu.content) ?? 'leave', ordering: e.stream_ordering });
    }
    let joined = 0;
    let invited = 0;
    const present: [string, number][] = [];
    const gone: [string, number][] = [];
    for (const [userId, m] of members) {
      if (m.membership === 'join') joined++;
      if (m.membership === 'invite') invited++;
      if (m.membership === 'join' || m.membership === 'invite') present.push([userId, m.ordering]);
      else if (m.membership === 'leave' || m.membership === 'ban') gone.push([userId, m.ordering]);
    }
    const first = (list: [string, number][]) => list.sort((a, b) => a[1] - b[1]).slice(0, HEROES + 1).map(([u]) => u);
    this.last = { state, members, joined, invited, present: first(present), gone: first(gone) };
    return this.last;
  }
}

/**
 * Whether a client needs heroes to name the room: it has neither a non-empty `m.room.name` nor
 * a non-empty `m.room.canonical_alias` in the state of `group` (spec `m.heroes`: "Required if
 * the room's `m.room.name` or `m.room.canonical_alias` state events are unset or empty").
 */
export function heroesNeeded(lookup: StateLookup, group: number | null): boolean {
  const text = (content: unknown, field: string) => {
    const v = isJsonObject(content) ? content[field] : undefined;
    return typeof v === 'string' && v !== '';
  };
  return !text(lookup.content(group, 'm.room.name', ''), 'name') && !text(lookup.content(group, 'm.room.canonical_alias', ''), 'alias');
}
