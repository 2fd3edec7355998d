/**
 * The room's DAG as other servers read it (spec v1.16, Server-Server API "Retrieving events",
 * "Backfilling and retrieving missing events", "Authentication" endpoints): single events,
 * the state at an event with its auth chain, an event's auth chain, backfill and missing
 * events. Always the stored signed PDUs (never client events).
 *
 * What a server may see (spec "Server behaviour" of history visibility, as Synapse's
 * `filter_events_for_server` applies it): at the state of the event, `world_readable` is
 * visible to every server; `shared` to a server that had a member in the room at some point
 * (a member event of one of its users is in the current state); `invited` and `joined` only
 * to a server with a user joined at the event (or invited, for `invited`). Events a server may
 * not see are served redacted where leaving them out would break the DAG (backfill, missing
 * events), and not at all by `/event`.
 *
 * Only events in the DAG are served (accepted or soft-failed: other servers' events may build
 * on a soft-failed one); rejected events and outliers are not.
 */
import type { JsonObject } from '../../core/canonical-json';
import { serverAclAllows } from '../../core/federation/acl';
import { redactEvent } from '../../core/events/redaction';
import type { ServerAccess } from './api';
import { stringList } from './checks';
import type { RoomDag } from './dag';
import { parseStateKey, stateKey, type StateMap } from './state';
import type { StoredEvent } from './store';
import { historyVisibilityOf, membershipOf, StateLookup } from './visibility';

/** Upper bounds of one answer (the spec leaves them to the server). */
const MAX_BACKFILL = 100;
const MAX_MISSING_EVENTS = 50;

const serverOf = (userId: string): string => userId.slice(userId.indexOf(':') + 1);

/** Whether other servers may be served `e` at all (see the module comment). */
export const inDag = (e: StoredEvent | undefined): e is StoredEvent => e !== undefined && (e.status === 'accepted' || e.status === 'soft_failed') && e.state_group !== null;

/** The memberships of `serverName`'s users in `state`. */
function serverMemberships(dag: RoomDag, state: StateMap, serverName: string): string[] {
  const out: string[] = [];
  for (const [key, eventId] of state) {
    if (!key.startsWith('["m.room.member",')) continue;
    const [, userId] = parseStateKey(key);
    if (serverOf(userId) !== serverName) continue;
    const membership = membershipOf(dag.event(eventId)?.content);
    if (membership) out.push(membership);
  }
  return out;
}

/** The access checks every endpoint makes for `serverName` (ACL, joined now, ever a member). */
export function serverAccess(dag: RoomDag, serverName: string): ServerAccess {
  const { state } = dag.current;
  const aclId = state.get(stateKey('m.room.server_acl', ''));
  const acl = aclId === undefined ? undefined : (dag.event(aclId)?.content as JsonObject | undefined);
  const memberships = serverMemberships(dag, state, serverName);
  return { acl_allows: serverAclAllows(acl, serverName), joined: memberships.includes('join'), ever_member: memberships.length > 0 };
}

/** One server's view of the room's history, for one read (it caches per state group). */
export class ServerVisibility {
  private readonly byGroup = new Map<number, boolean>();
  private readonly everMember: boolean;

  constructor(
    private readonly dag: RoomDag,
    private readonly serverName: string,
    private readonly lookup = new StateLookup(dag),
  ) {
    this.everMember = serverAccess(dag, serverName).ever_member;
  }

  readonly sees = (e: StoredEvent): boolean => {
    if (!inDag(e)) return false;
    const group = e.state_group!;
    let allowed = this.byGroup.get(group);
    if (allowed === undefined) {
      allowed = this.allowedAt(group);
      this.byGroup.set(group, allowed);
    }
    return allowed;
  };

  private allowedAt(group: number): boolean {
    const visibility = historyVisibilityOf(this.lookup.content(group, 'm.room.history_visibility', ''));
    if (visibility === 'world_readable') return true;
    if (visibility === 'shared') return this.everMember;
    const memberships = serverMemberships(this.dag, this.dag.groups.load(group), this.serverName);
    return memberships.includes('join') || (visibility === 'invited' && memberships.includes('invite'));
  }
}

/**
 * The auth chain of `eventIds` (spec glossary: their auth events, and theirs, recursively),
 * as IDs of stored events.
 */
export function authChainIds(dag: RoomDag, eventIds: Iterable<string>): string[] {
  const chain = new Set<string>();
  const queue = [...eventIds].flatMap((id) => stringList(dag.event(id)?.auth_events));
  while (queue.length > 0) {
    const id = queue.pop()!;
    if (chain.has(id) || !dag.event(id)) continue;
    chain.add(id);
    queue.push(...stringList(dag.event(id)?.auth_events));
  }
  return [...chain];
}

/** The stored PDUs of `ids`, in that order, skipping unknown ones. */
export function pdusOf(dag: RoomDag, ids: readonly string[]): JsonObject[] {
  const events = dag.store.getEvents(ids);
  return ids.flatMap((id) => {
    const e = events.get(id);
    return e ? [e.pdu] : [];
  });
}

/** An event as `serverName` may receive it in a walk of the DAG: whole, or redacted. */
function forServer(dag: RoomDag, visibility: ServerVisibility, e: StoredEvent): JsonObject {
  return visibility.sees(e) ? e.pdu : redactEvent(e.pdu, dag.rules!);
}

/**
 * Spec "GET /backfill": up to `limit` events at and before `from`, walking prev events, the
 * deepest first (as Synapse does, so the newest history comes first).
 */
export function backfill(dag: RoomDag, serverName: string, from: readonly string[], limit: number): JsonObject[] {
  const max = Math.min(Math.max(limit, 0), MAX_BACKFILL);
  const visibility = new ServerVisibility(dag, serverName);
  const seen = new Set<string>();
  const frontier: StoredEvent[] = [];
  const out: JsonObject[] = [];
  const push = (ids: readonly string[]) => {
    for (const e of dag.store.getEvents(ids.filter((id) => !seen.has(id))).values()) {
      seen.add(e.event_id);
      if (inDag(e)) frontier.push(e);
    }
    frontier.sort((a, b) => a.depth - b.depth || (a.stream_ordering - b.stream_ordering));
  };
  push(from);
  while (out.length < max && frontier.length > 0) {
    const e = frontier.pop()!;
    out.push(forServer(dag, visibility, e));
    push(stringList(e.pdu.prev_events));
  }
  return out;
}

export interface MissingEventsQuery {
  earliest_events: readonly string[];
  latest_events: readonly string[];
  limit: number;
  min_depth: number;
}

/**
 * Spec "POST /get_missing_events": the prev events of `latest_events`, breadth first, stopping
 * at `earliest_events` and below `min_depth`, at most `limit`; oldest first, so the caller can
 * apply them in order.
 */
export function missingEvents(dag: RoomDag, serverName: string, q: MissingEventsQuery): JsonObject[] {
  const max = Math.min(Math.max(q.limit, 0), MAX_MISSING_EVENTS);
  const visibility = new ServerVisibility(dag, serverName);
  const seen = new Set<string>([...q.earliest_events, ...q.latest_events]);
  const found: StoredEvent[] = [];
  let front = [...dag.store.getEvents(q.latest_events).values()].flatMap((e) => stringList(e.pdu.prev_events));
  while (front.length > 0 && found.length < max) {
    const next: string[] = [];
    const events = dag.store.getEvents(front.filter((id) => !seen.has(id)));
    for (const id of front) {
      if (seen.has(id)) continue;
      seen.add(id);
      const e = events.get(id);
      if (!inDag(e) || e.depth < q.min_depth) continue;
      found.push(e);
      if (found.length >= max) break;
      next.push(...stringList(e.pdu.prev_events));
    }
    front = next;
  }
  found.sort((a, b) => a.depth - b.depth || a.stream_ordering - b.stream_ordering);
  return found.map((e) => forServer(dag, visibility, e));
}
