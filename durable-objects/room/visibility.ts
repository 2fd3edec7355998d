/**
 * History visibility: which events of the room a user may see (spec v1.16, Client-Server API
 * "Room History Visibility", https://spec.matrix.org/v1.16/client-server-api/#room-history-visibility).
 *
 * Spec, "Server behaviour": the rules "depend on the state of the room *at that event*":
 *
 * 1. `history_visibility` was `world_readable` → allow;
 * 2. the user's `membership` was `join` → allow;
 * 3. `history_visibility` was `shared` and the user joined the room at any point after the event
 *    was sent → allow;
 * 4. the user's `membership` was `invite` and `history_visibility` was `invited` → allow;
 * 5. otherwise deny.
 *
 * An `m.room.history_visibility` event, and the user's own `m.room.member` event, are visible
 * if the state before *or* after it allows them. So a user who left or was banned keeps the
 * events up to and including their leave, and none after it (unless `world_readable`, or they
 * joined again in a `shared` room).
 *
 * "At that event" is the state after it (the state group every accepted event records): for a
 * non-state event it equals the state before, and the two event types whose own change matters
 * are checked both ways. "Before" is each prev event's state (with several prev events, any of
 * them allowing counts; their resolution is one of them for these keys in all but contrived
 * forks). "Joined after" is the stream order: the user's latest accepted `join` member event
 * comes later than the event. Absent or unknown values count as `shared` (spec: "if the value is
 * not understood, the visibility is assumed to be `shared`").
 *
 * Efficiency: a read checks each event against the two keys it needs, looked up per state group
 * along the group's delta chain (`StateLookup`) and cached for the call; consecutive events
 * usually share a group, so a page costs a few primary-key probes, never a whole state map.
 */
import { isJsonObject } from '../../core/canonical-json';
import { stringList } from './checks';
import type { RoomDag } from './dag';
import { stateKey } from './state';
import type { StoredEvent } from './store';

export type HistoryVisibility = 'world_readable' | 'shared' | 'invited' | 'joined';
const VISIBILITIES: readonly string[] = ['world_readable', 'shared', 'invited', 'joined'];

/** The `history_visibility` of an `m.room.history_visibility` content; `shared` when absent or unknown. */
export function historyVisibilityOf(content: unknown): HistoryVisibility {
  const value = isJsonObject(content) ? content.history_visibility : undefined;
  return typeof value === 'string' && VISIBILITIES.includes(value) ? (value as HistoryVisibility) : 'shared';
}

/** `content.membership` of a member event's content, if it is a string. */
export function membershipOf(content: unknown): string | undefined {
  const value = isJsonObject(content) ? content.membership : undefined;
  return typeof value === 'string' ? value : undefined;
}

/**
 * A few keys of state groups, read without loading their maps, cached for one call. The
 * current state's group is answered from memory.
 */
export class StateLookup {
  private readonly chains = new Map<number, number[]>();
  private readonly values = new Map<number, Map<string, string | undefined>>();

  constructor(readonly dag: RoomDag) {}

  /** The event ID at `(type, key)` in the state of `group`; null is the empty state before the room. */
  get(group: number | null, type: string, key: string): string | undefined {
    if (group === null) return undefined;
    const k = stateKey(type, key);
    if (group === this.dag.current.group) return this.dag.current.state.get(k);
    let values = this.values.get(group);
    if (!values) this.values.set(group, (values = new Map()));
    if (values.has(k)) return values.get(k);
    let chain = this.chains.get(group);
    if (!chain) this.chains.set(group, (chain = this.dag.store.stateGroupChain(group)));
    const id = this.dag.store.stateGroupValue(chain, type, key) ?? undefined;
    values.set(k, id);
    return id;
  }

  /** The content of the event at `(type, key)` in `group`, if any. */
  content(group: number | null, type: string, key: string): unknown {
    const id = this.get(group, type, key);
    return id === undefined ? undefined : this.dag.event(id)?.content;
  }
}

/** What the rules read of one state: its history visibility and the user's membership. */
interface Facts {
  visibility: HistoryVisibility;
  membership: string | undefined;
}

/** One user's view of the room's history, for one read (it caches what it looked up). */
export class VisibilityFilter {
  private readonly facts = new Map<number | null, Facts>();
  private lastJoin: number | undefined;

  constructor(
    private readonly dag: RoomDag,
    readonly userId: string,
    private readonly lookup = new StateLookup(dag),
  ) {}

  /** Whether the user may see `e` (only accepted events are ever visible). */
  readonly sees = (e: StoredEvent): boolean => {
    if (e.status !== 'accepted') return false;
    if (this.allowedAt(e.state_group, e.stream_ordering)) return true;
    const ownChange = (e.type === 'm.room.history_visibility' && e.state_key === '') || (e.type === 'm.room.member' && e.state_key === this.userId);
    if (!ownChange) return false;
    // Spec: "if the `history_visibility` [or their `membership`] before *or* after the event would allow them to see it".
    const prevs = stringList(e.pdu.prev_events);
    if (prevs.length === 0) return this.allowedAt(null, e.stream_ordering);
    return prevs.some((id) => {
      const group = this.dag.eventInfo(id)?.group;
      return group !== undefined && this.allowedAt(group, e.stream_ordering);
    });
  };

  filter<T extends StoredEvent>(events: readonly T[]): T[] {
    return events.filter(this.sees);
  }

  /**
   * Whether the user may see any event of the room: what the history endpoints require before
   * paging (`403` otherwise). The rules only ever open up at a history visibility event or at
   * one of the user's own member events (an invite, a join), and each of those is then visible
   * itself, so checking them is enough.
   */
  seesAnything(): boolean {
    const current = this.dag.current;
    const contentAt = (type: string, key: string) => {
      const id = current.state.get(stateKey(type, key));
      return id === undefined ? undefined : this.dag.event(id)?.content;
    };
    if (membershipOf(contentAt('m.room.member', this.userId)) === 'join') return true;
    if (historyVisibilityOf(contentAt('m.room.history_visibility', '')) === 'world_readable') return true;
    const { store } = this.dag;
    const ids = [...store.eventIdsOfState('m.room.member', this.userId), ...store.eventIdsOfState('m.room.history_visibility', '')];
    return [...store.getEvents(ids).values()].some(this.sees);
  }

  /** Rules 1–5 against the state of `group`, for an event at stream position `ordering`. */
  private allowedAt(group: number | null, ordering: number): boolean {
    const { visibility, membership } = this.factsAt(group);
    if (visibility === 'world_readable' || membership === 'join') return true;
    if (visibility === 'shared') return this.latestJoin() > ordering;
    return visibility === 'invited' && membership === 'invite';
  }

  private factsAt(group: number | null): Facts {
    let f = this.facts.get(group);
    if (!f) {
      f = {
        visibility: historyVisibilityOf(this.lookup.content(group, 'm.room.history_visibility', '')),
        membership: membershipOf(this.lookup.content(group, 'm.room.member', this.userId)),
      };
      this.facts.set(group, f);
    }
    return f;
  }

  /** Stream ordering of the user's latest accepted `join`; 0 if they never joined. */
  private latestJoin(): number {
    if (this.lastJoin === undefined) {
      const { store } = this.dag;
      const own = store.getEvents(store.eventIdsOfState('m.room.member', this.userId));
      this.lastJoin = 0;
      for (const e of own.values()) {
        if (e.status === 'accepted' && membershipOf(e.pdu.content) === 'join') this.lastJoin = Math.max(this.lastJoin, e.stream_ordering);
      }
    }
    return this.lastJoin;
  }
}
