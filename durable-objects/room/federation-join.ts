/**
 * Joining, leaving and knocking over federation (spec v1.16, Server-Server API "Joining Rooms",
 * "Leaving Rooms (Rejecting Invites)", "Knocking upon a room";
 * https://spec.matrix.org/v1.16/server-server-api/#joining-rooms).
 *
 * Resident side: the checks of a make_* request and of a send_* PDU before it goes through the
 * normal receipt checks (receive.ts), and the send_join response (the state before the join and
 * its auth chain).
 *
 * Joining side: a room this server is not in starts from a send_join response. Its state and
 * auth chain become outliers (spec glossary: events known but not part of the DAG here), each
 * checked against its own auth events in auth order — a rejected one is stored rejected and
 * left out of the state — and the join becomes the room's first timeline event on top of the
 * state the resident gave (recorded as the state before it, since its prev events are unknown).
 */
import { isJsonObject, type JsonObject } from '../../core/canonical-json';
import { computeEventId, contentHash, roomIdFromCreateEventId } from '../../core/events/hashes';
import { parsePdu } from '../../core/events/pdu';
import { redactEvent } from '../../core/events/redaction';
import { getRoomVersionRules, type RoomVersionRules } from '../../core/room-versions';
import type { JoinFromResponseInput, MakeMembershipResult, RoomFailure, SendResult } from './api';
import { withEventId } from './builder';
import { checkAgainstAuthEvents, checkAgainstState, stringList, type RoomView } from './checks';
import type { RoomDag } from './dag';
import { stateKey, type StateMap } from './state';
import type { EventStatus } from './store';
import { authChainIds, pdusOf } from './federation-reads';

export type FederatedMembership = 'join' | 'leave' | 'knock';

const fail = (errcode: RoomFailure['errcode'], error: string): RoomFailure => ({ ok: false, errcode, error });

const serverOf = (userId: string): string => userId.slice(userId.indexOf(':') + 1);

/**
 * make_*: whether the requesting server can take part in this room (spec: the `ver` query
 * parameter, "Defaults to `[1]`"; `400 M_INCOMPATIBLE_ROOM_VERSION` with the room's version
 * otherwise). Knocking needs a room version that has it.
 */
export function makeMembershipProblem(
  rules: RoomVersionRules,
  membership: FederatedMembership,
  userId: string,
  origin: string | undefined,
  supportedVersions: readonly string[] | undefined,
): Extract<MakeMembershipResult, { ok: false }> | undefined {
  if (origin !== undefined && serverOf(userId) !== origin) return fail('M_FORBIDDEN', `${userId} does not belong to ${origin}`);
  if (membership === 'knock' && !rules.knock_join_rule) {
    return { ok: false, errcode: 'M_INCOMPATIBLE_ROOM_VERSION', error: `room version ${rules.room_version} does not support knocking`, room_version: rules.room_version };
  }
  if (membership !== 'leave' && !(supportedVersions?.length ? supportedVersions : ['1']).includes(rules.room_version)) {
    return { ok: false, errcode: 'M_INCOMPATIBLE_ROOM_VERSION', error: `your server does not support room version ${rules.room_version}`, room_version: rules.room_version };
  }
  return undefined;
}

/**
 * The make_* event template from a planned (unsigned) event: the spec's "unsigned template
 * event" carries no hashes or signatures (the joining server signs its own event), and names
 * the resident server as `origin`.
 */
export function membershipTemplate(planned: JsonObject, origin: string): JsonObject {
  const { hashes: _hashes, signatures: _signatures, unsigned: _unsigned, ...event } = planned;
  return { ...event, origin };
}

/**
 * send_*: what the resident server checks of the PDU before the receipt checks (spec "Joining
 * Rooms": the event must be the membership the endpoint is for, of the sender itself, from the
 * server that sent it, in this room).
 */
export function sendMembershipProblem(pdu: JsonObject, membership: FederatedMembership, origin: string, roomId: string): string | undefined {
  if (pdu.type !== 'm.room.member') return 'the event is not an m.room.member event';
  if (!isJsonObject(pdu.content) || pdu.content.membership !== membership) return `the event's membership is not ${membership}`;
  if (typeof pdu.sender !== 'string' || pdu.state_key !== pdu.sender) return 'the state_key is not the sender';
  if (serverOf(pdu.sender) !== origin) return `the sender does not belong to ${origin}`;
  if (pdu.room_id !== roomId) return 'the event is for another room';
  return undefined;
}

/**
 * The send_join response's body for a join in the room: the state before it, and the auth
 * chain of that state (spec v2 send_join: "The auth chain for the entire current room state
 * prior to the join event"), as PDUs.
 */
export function sendJoinResponse(dag: RoomDag, before: StateMap): { state: JsonObject[]; auth_chain: JsonObject[] } {
  const stateIds = [...new Set(before.values())];
  return { state: pdusOf(dag, stateIds), auth_chain: pdusOf(dag, authChainIds(dag, stateIds)) };
}

/** One event of a send_join response (or of another server's answer), parsed. */
export interface ResponseEvent {
  id: string;
  /** As stored: redacted when its content hash did not match (spec: checks on receipt, step 3). */
  pdu: JsonObject;
  status?: EventStatus;
  rejection?: string;
}

/**
 * Parse the response's events: malformed ones, and those of another room, are dropped (and so
 * never used); duplicates are merged.
 */
export function parseResponseEvents(rules: RoomVersionRules, roomId: string, events: readonly JsonObject[], out: Map<string, ResponseEvent>): string[] {
  const ids: string[] = [];
  for (const raw of events) {
    let pdu: JsonObject;
    let id: string;
    try {
      pdu = parsePdu(raw, rules);
      id = computeEventId(pdu, rules);
    } catch {
      continue;
    }
    const isV12Create = pdu.type === 'm.room.create' && !rules.create_has_room_id;
    if (!isV12Create && pdu.room_id !== roomId) continue;
    if ((pdu.hashes as JsonObject).sha256 !== contentHash(pdu)) pdu = redactEvent(pdu, rules);
    if (!out.has(id)) out.set(id, { id, pdu });
    ids.push(id);
  }
  return ids;
}

/**
 * The events in auth order: every event after the events it lists in `auth_events` (those of
 * the response; others must already be known), lowest depth first among the ready ones. Events
 * on an auth cycle never become ready and are returned in `cyclic`.
 */
function authOrder(events: Map<string, ResponseEvent>): { ordered: ResponseEvent[]; cyclic: ResponseEvent[] } {
  // Linear in the events and their auth references, plus a heap of the ready ones: a
  // send_join response of a big room holds tens of thousands of members that all cite the
  // same few auth events.
  const waiting = new Map<ResponseEvent, number>();
  const dependants = new Map<string, ResponseEvent[]>();
  for (const e of events.values()) {
    const deps = new Set(stringList(e.pdu.auth_events).filter((a) => a !== e.id && events.has(a)));
    waiting.set(e, deps.size);
    for (const a of deps) {
      const list = dependants.get(a);
      if (list) list.push(e);
      else dependants.set(a, [e]);
    }
  }
  const ready = new ReadyHeap();
  for (const [e, n] of waiting) if (n === 0) ready.push(e);
  const ordered: ResponseEvent[] = [];
  for (let e = ready.pop(); e; e = ready.pop()) {
    ordered.push(e);
    for (const d of dependants.get(e.id) ?? []) {
      const n = waiting.get(d)! - 1;
      waiting.set(d, n);
      if (n === 0) ready.push(d);
    }
  }
  return { ordered, cyclic: [...waiting].filter(([, n]) => n > 0).map(([e]) => e) };
}

/** A binary min-heap of events ready to be checked: lowest depth first, then event ID. */
class ReadyHeap {
  private readonly items: ResponseEvent[] = [];

  private static before(a: ResponseEvent, b: ResponseEvent): boolean {
    const da = a.pdu.depth as number;
    const db = b.pdu.depth as number;
    return da !== db ? da < db : a.id < b.id;
  }

  push(e: ResponseEvent): void {
    const h = this.items;
    let i = h.push(e) - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!ReadyHeap.before(h[i]!, h[parent]!)) break;
      [h[i], h[parent]] = [h[parent]!, h[i]!];
      i = parent;
    }
  }

  pop(): ResponseEvent | undefined {
    const h = this.items;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0 && last) {
      h[0] = last;
      for (let i = 0; ; ) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && ReadyHeap.before(h[l]!, h[m]!)) m = l;
        if (r < h.length && ReadyHeap.before(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }
}

/**
 * Bootstrap (or rejoin) the room from a send_join response. Everything is checked before
 * anything is written, and written in one transaction: a response whose join would fail auth
 * leaves the room untouched.
 */
export function joinFromResponse(dag: RoomDag, input: JoinFromResponseInput, transaction: <T>(fn: () => T) => T): SendResult {
  const rules = getRoomVersionRules(input.room_version);
  if (!rules) return fail('M_UNSUPPORTED_ROOM_VERSION', `room version ${input.room_version} is not supported`);
  if (dag.rules && dag.rules.room_version !== rules.room_version) return fail('M_BAD_JSON', 'the room has another version here');
  if (dag.roomId && dag.roomId !== input.room_id) return fail('M_BAD_JSON', 'this object holds another room');

  // Our own join, as the resident returned or as we signed it.
  let join: JsonObject;
  let joinId: string;
  try {
    join = parsePdu(input.join_event, rules);
    joinId = computeEventId(join, rules);
  } catch (e) {
    return fail('M_BAD_JSON', `malformed join event: ${(e as Error).message}`);
  }
  const joinContent = join.content;
  if (join.type !== 'm.room.member' || !isJsonObject(joinContent) || joinContent.membership !== 'join' || join.state_key !== join.sender) {
    return fail('M_BAD_JSON', 'the join event is not a join of its sender');
  }
  if (serverOf(join.sender as string) !== dag.serverName) return fail('M_BAD_JSON', 'the join event is not of a local user');
  if (join.room_id !== input.room_id) return fail('M_BAD_JSON', 'the join event is for another room');
  if ((join.hashes as JsonObject).sha256 !== contentHash(join)) return fail('M_BAD_JSON', "the join event's content hash does not match");
  const known = dag.eventInfo(joinId);
  if (known?.status === 'accepted') return { ok: true, event_id: joinId, stream_ordering: dag.store.getEvent(joinId)?.stream_ordering ?? 0 };

  const events = new Map<string, ResponseEvent>();
  parseResponseEvents(rules, input.room_id, input.auth_chain, events);
  const stateIds = parseResponseEvents(rules, input.room_id, input.state, events).filter((id) => id !== joinId);
  events.delete(joinId);

  // The create event designates the room (spec v12: the room ID is its reference hash).
  const creates = [...events.values()].filter((e) => e.pdu.type === 'm.room.create' && e.pdu.state_key === '');
  const create = dag.createId ? (events.get(dag.createId) ?? { id: dag.createId, pdu: dag.event(dag.createId)! }) : creates[0];
  if (!create || creates.some((c) => c.id !== create.id)) return fail('M_BAD_JSON', 'the response has no single create event');
  const createRoomId = rules.room_id_is_create_event_hash ? roomIdFromCreateEventId(create.id) : create.pdu.room_id;
  if (createRoomId !== input.room_id) return fail('M_BAD_JSON', "the create event is not the room's");
  const createContent = create.pdu.content;
  if (!isJsonObject(createContent) || String(createContent.room_version ?? '1') !== rules.room_version) {
    return fail('M_BAD_JSON', "the create event's room version is not the room's");
  }

  const { view, fresh } = checkOutliers(dag, rules, events, create.id);
  if (view.status(create.id) === 'rejected') return fail('M_BAD_JSON', 'the create event fails the auth rules');

  // The state before the join: the response's state events that passed.
  const state = new Map<string, string>();
  for (const id of stateIds) {
    if (view.status(id) === 'rejected' || view.status(id) === undefined) continue;
    const pdu = view.event(id)!;
    if (typeof pdu.state_key !== 'string') continue;
    const key = stateKey(pdu.type as string, pdu.state_key);
    if (!state.has(key)) state.set(key, id);
  }
  if (state.get(stateKey('m.room.create', '')) !== create.id) return fail('M_BAD_JSON', "the state lacks the room's create event");

  // The join, against its own auth events and against the state before it.
  const joinEvent = withEventId(join, joinId);
  const missingAuth = stringList(join.auth_events).filter((a) => view.status(a) === undefined);
  if (missingAuth.length > 0) return fail('M_FORBIDDEN', `the join's auth events are unknown: ${missingAuth.join(', ')}`);
  const byAuthEvents = checkAgainstAuthEvents(view, joinEvent);
  const byState = byAuthEvents.allowed ? checkAgainstState(view, joinEvent, state) : byAuthEvents;
  if (!byState.allowed) return fail('M_FORBIDDEN', `the join fails the auth rules: ${byState.message}`);

  return transaction(() => {
    if (!dag.rules) dag.setRoom(rules, input.room_id, create.id);
    insertOutliers(dag, fresh);
    const beforeGroup = dag.groups.save(state, null);
    const after = new Map(state).set(stateKey('m.room.member', join.state_key as string), joinId);
    const group = dag.groups.save(after, beforeGroup);
    const prevEvents = stringList(join.prev_events);
    const ordering = dag.insert(joinId, join, 'accepted', null, group, prevEvents);
    dag.store.insertStateBefore(joinId, ordering, beforeGroup);
    // The join is the room's one forward extremity here: whatever this server had of the room
    // before (a rejoin) is older than the state the resident gave.
    dag.setSoleExtremity(joinId, dag.current.extremities, after, group);
    dag.queueNotifications(join, ordering);
    return { ok: true as const, event_id: joinId, stream_ordering: ordering };
  });
}

/**
 * Step 4 of the receipt checks (against its own auth events) for each of `events` this room
 * does not have, in auth order, over the events checked so far: each gets status `outlier` or
 * `rejected`. Returns those events and a view of the room that includes them, for the checks
 * that follow before they are written (`insertOutliers`).
 */
export function checkOutliers(dag: RoomDag, rules: RoomVersionRules, events: ReadonlyMap<string, ResponseEvent>, createId: string): { view: RoomView; fresh: ResponseEvent[] } {
  const fresh = new Map([...events].filter(([id]) => !dag.eventInfo(id)));
  const view: RoomView = {
    ...dag.viewFor(rules),
    event: (id) => {
      const e = fresh.get(id);
      return e ? withEventId(e.pdu, id) : dag.event(id);
    },
    status: (id) => (fresh.has(id) ? fresh.get(id)!.status : dag.eventInfo(id)?.status),
    createEventId: () => createId,
  };
  const { ordered, cyclic } = authOrder(fresh);
  for (const e of cyclic) Object.assign(e, { status: 'rejected', rejection: 'its auth events form a cycle' });
  for (const e of ordered) {
    const missing = stringList(e.pdu.auth_events).filter((a) => view.status(a) === undefined);
    const verdict = missing.length > 0 ? { allowed: false, message: `unknown auth events ${missing.join(', ')}` } : checkAgainstAuthEvents(view, withEventId(e.pdu, e.id));
    e.status = verdict.allowed ? 'outlier' : 'rejected';
    if (!verdict.allowed) e.rejection = verdict.message;
  }
  return { view, fresh: [...ordered, ...cyclic] };
}

/** Write events checked by `checkOutliers` (inside the write transaction). */
export function insertOutliers(dag: RoomDag, events: readonly ResponseEvent[]): void {
  for (const e of events) {
    dag.store.insertEvent({
      event_id: e.id,
      type: e.pdu.type as string,
      state_key: typeof e.pdu.state_key === 'string' ? e.pdu.state_key : null,
      sender: e.pdu.sender as string,
      depth: e.pdu.depth as number,
      origin_server_ts: e.pdu.origin_server_ts as number,
      pdu: e.pdu,
      status: e.status!,
      rejection: e.rejection ?? null,
      state_group: null,
      // Outliers stay out of the DAG: their prev events are not ours to follow.
      prev_events: [],
      auth_events: stringList(e.pdu.auth_events),
      outlier: true,
    });
  }
}
