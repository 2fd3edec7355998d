/**
 * The room's in-memory view over its store: room metadata, the current state and forward
 * extremities, an LRU of events, and the events planned in the running batch. It also holds
 * the write steps that every path shares (inserting an event, applying redactions, moving the
 * forward extremities). Only the Room object's write queue calls the mutating methods.
 */
import type { JsonObject } from '../../core/canonical-json';
import { redactEvent } from '../../core/events/redaction';
import { getRoomVersionRules, type RoomVersionRules } from '../../core/room-versions';
import type { MatrixCore } from '../../wasm/index';
import { redactsOf, withEventId } from './builder';
import { resolve, stringList, type RoomView } from './checks';
import { mayRedact } from './redactions';
import type { StateGroups, StateMap } from './state';
import type { EventStatus, RoomStore } from './store';

const EVENT_CACHE_SIZE = 4096;

export interface EventInfo {
  /** The PDU with `event_id` set. */
  pdu: JsonObject;
  status: EventStatus;
  /** State group after the event; null for an event planned but not written yet. */
  group: number | null;
  depth: number;
}

/** A local event of the running batch, visible to the checks of later events in it. */
export interface PlannedEvent {
  event_id: string;
  pdu: JsonObject;
  after: StateMap;
  depth: number;
  isCreate: boolean;
}

export interface Current {
  state: StateMap;
  group: number | null;
  extremities: string[];
}

export class RoomDag {
  rules: RoomVersionRules | undefined;
  roomId: string | undefined;
  createId: string | undefined;
  current: Current = { state: new Map(), group: null, extremities: [] };
  readonly planned = new Map<string, PlannedEvent>();
  /** Told of each change of the current state, inside its write transaction (remote-members.ts). */
  onStateChange: ((from: StateMap, to: StateMap) => void) | undefined;
  private readonly cache = new Map<string, EventInfo>();

  /** Local users whose membership is `join` in `localMembersOf`'s state. */
  private localJoined: string[] = [];
  private localMembersOf: StateMap | undefined;

  constructor(
    readonly store: RoomStore,
    readonly groups: StateGroups,
    readonly core: MatrixCore,
    /** This homeserver's name: which members are local users. */
    readonly serverName: string,
    /** The ID of the key local events are signed with (their signature's place in size checks). */
    readonly signingKeyId: string,
  ) {}

  /** (Re)load metadata and current state from storage, e.g. after a rolled-back write. */
  load(): void {
    this.groups.clear();
    this.cache.clear();
    this.localMembersOf = undefined;
    const version = this.store.getMeta('room_version');
    this.rules = version ? getRoomVersionRules(version) : undefined;
    this.roomId = this.store.getMeta('room_id');
    this.createId = this.store.getMeta('create_event_id');
    const group = this.store.getMeta('current_state_group');
    const groupId = group && group !== 'null' ? Number(group) : null;
    this.current = {
      state: groupId === null ? new Map() : this.groups.load(groupId),
      group: groupId,
      extremities: this.store.getForwardExtremities(),
    };
  }

  /** Record the room's identity when its create event is written. */
  setRoom(rules: RoomVersionRules, roomId: string, createId: string): void {
    this.rules = rules;
    this.roomId = roomId;
    this.createId = createId;
    this.store.setMeta('room_id', roomId);
    this.store.setMeta('room_version', rules.room_version);
    this.store.setMeta('create_event_id', createId);
  }

  /** Make `eventId` the forward extremity in place of `prevEvents`, with its state as current. */
  setSoleExtremity(eventId: string, prevEvents: readonly string[], state: StateMap, group: number | null): void {
    this.store.updateForwardExtremities([eventId], prevEvents);
    this.store.setMeta('current_state_group', String(group));
    this.noteStateChange(state, group);
    this.current = { state, group, extremities: [eventId] };
  }

  /**
   * A new accepted event replaces its prev events among the forward extremities; the current
   * state is the state after the only extremity, or the resolution of all of theirs.
   */
  advanceExtremities(eventId: string, prevEvents: readonly string[], after: StateMap, group: number | null): void {
    const extremities = [...this.current.extremities.filter((id) => !prevEvents.includes(id)), eventId];
    if (extremities.length === 1) {
      this.setSoleExtremity(eventId, prevEvents, after, group);
      return;
    }
    this.store.updateForwardExtremities([eventId], prevEvents);
    const state = resolve(this.view, this.prevStates(extremities)!);
    const currentGroup = this.groups.save(state, group);
    this.store.setMeta('current_state_group', String(currentGroup));
    this.noteStateChange(state, currentGroup);
    this.current = { state, group: currentGroup, extremities };
  }

  /**
   * Tell `onStateChange` of a new current state, unless it is the same one: the same map or the
   * same state group (a message keeps its prev event's group). Watchers compare the states entry
   * by entry, which in a room of thousands of members is not to be done for every message.
   */
  private noteStateChange(state: StateMap, group: number | null): void {
    if (state === this.current.state || (group !== null && group === this.current.group)) return;
    this.onStateChange?.(this.current.state, state);
  }

  /** Insert an event and apply the redactions that concern it, in both directions. */
  insert(eventId: string, pdu: JsonObject, status: EventStatus, rejection: string | null, group: number | null, prevEvents: readonly string[]): number {
    const rules = this.rules!;
    let stored = pdu;
    // A redaction that arrived before its target applies now.
    for (const redactionId of this.store.takePendingRedactions(eventId)) {
      const redaction = this.event(redactionId);
      if (redaction && mayRedact(this.view, redaction, withEventId(pdu, eventId))) {
        stored = redactEvent(pdu, rules);
        break;
      }
    }
    const ordering = this.store.insertEvent({
      event_id: eventId,
      type: pdu.type as string,
      state_key: typeof pdu.state_key === 'string' ? pdu.state_key : null,
      sender: pdu.sender as string,
      depth: pdu.depth as number,
      origin_server_ts: pdu.origin_server_ts as number,
      pdu: stored,
      status,
      rejection,
      state_group: group,
      prev_events: prevEvents,
      auth_events: stringList(pdu.auth_events),
    });
    this.remember(eventId, { pdu: withEventId(stored, eventId), status, group, depth: pdu.depth as number });
    if (status === 'accepted' && pdu.type === 'm.room.redaction') this.applyRedaction(withEventId(pdu, eventId));
    return ordering;
  }

  /**
   * Redact the target of an accepted `m.room.redaction` (spec: "Redactions") when the room
   * version's rule allows it, or keep it until the target arrives.
   */
  private applyRedaction(redaction: JsonObject): void {
    const targetId = redactsOf(this.rules!, redaction);
    if (!targetId) return;
    const target = this.store.getEvent(targetId);
    if (!target) {
      this.store.addPendingRedaction(targetId, redaction.event_id as string);
      return;
    }
    if (target.redacted_by || !mayRedact(this.view, redaction, withEventId(target.pdu, targetId))) return;
    this.store.replaceEventJson(targetId, redactEvent(target.pdu, this.rules!), redaction.event_id as string);
    this.cache.delete(targetId);
  }

  /**
   * Queue notifications for the local users an accepted event concerns (inside the write
   * transaction, after the current state moved): every local member joined in the current
   * state, and the local target of a member event with its new membership.
   */
  queueNotifications(pdu: JsonObject, streamOrdering: number): void {
    const rows = this.localJoinedMembers().map((user_id) => ({ user_id, stream_ordering: streamOrdering, membership: null as string | null }));
    const target = pdu.type === 'm.room.member' && typeof pdu.state_key === 'string' ? pdu.state_key : undefined;
    if (target && this.isLocal(target)) {
      const content = pdu.content as JsonObject;
      rows.push({ user_id: target, stream_ordering: streamOrdering, membership: typeof content.membership === 'string' ? content.membership : null });
    }
    this.store.queueUserNotifications(rows);
  }

  private isLocal(userId: string): boolean {
    return userId.slice(userId.indexOf(':') + 1) === this.serverName;
  }

  /** Local joined members of the current state, recomputed only when that state changes. */
  localJoinedMembers(): string[] {
    if (this.localMembersOf !== this.current.state) {
      const joined: string[] = [];
      for (const [key, eventId] of this.current.state) {
        // Keys are JSON ["m.room.member", userId]; test cheaply before parsing.
        if (!key.startsWith('["m.room.member",')) continue;
        const userId = (JSON.parse(key) as [string, string])[1];
        if (!this.isLocal(userId)) continue;
        const content = this.event(eventId)?.content as JsonObject | undefined;
        if (content?.membership === 'join') joined.push(userId);
      }
      this.localJoined = joined;
      this.localMembersOf = this.current.state;
    }
    return this.localJoined;
  }

  eventInfo(eventId: string): EventInfo | undefined {
    // Written events are cached with their state group; planned ones have none yet.
    const hit = this.cache.get(eventId);
    if (hit) return hit;
    const planned = this.planned.get(eventId);
    if (planned) return { pdu: withEventId(planned.pdu, eventId), status: 'accepted', group: null, depth: planned.depth };
    const e = this.store.getEvent(eventId);
    if (!e) return undefined;
    const info = { pdu: withEventId(e.pdu, eventId), status: e.status, group: e.state_group, depth: e.depth };
    this.remember(eventId, info);
    return info;
  }

  readonly event = (eventId: string): JsonObject | undefined => this.eventInfo(eventId)?.pdu;

  /** The states after each of `eventIds`; undefined if one is unknown or has no state. */
  prevStates(eventIds: readonly string[]): StateMap[] | undefined {
    const states: StateMap[] = [];
    for (const id of eventIds) {
      const planned = this.planned.get(id);
      if (planned && !this.cache.has(id)) {
        states.push(planned.after);
        continue;
      }
      const info = this.eventInfo(id);
      if (!info || info.group === null) return undefined;
      states.push(this.groups.load(info.group));
    }
    return states;
  }

  viewFor(rules: RoomVersionRules): RoomView {
    return {
      rules,
      core: this.core,
      event: this.event,
      status: (id) => this.eventInfo(id)?.status,
      createEventId: () => this.createId ?? [...this.planned.values()].find((p) => p.isCreate)?.event_id,
    };
  }

  get view(): RoomView {
    return this.viewFor(this.rules!);
  }

  private remember(eventId: string, info: EventInfo): void {
    this.cache.delete(eventId);
    this.cache.set(eventId, info);
    while (this.cache.size > EVENT_CACHE_SIZE) this.cache.delete(this.cache.keys().next().value!);
  }
}
