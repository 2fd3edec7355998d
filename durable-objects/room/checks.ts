/**
 * The room's view for the WASM core: auth events selection, authorisation against a given
 * state, and state resolution over prev states. The rules themselves live in the crate; this
 * module gathers the events each call needs (the selected auth events, auth chains).
 */
import type { JsonObject } from '../../core/canonical-json';
import type { RoomVersionRules } from '../../core/room-versions';
import type { MatrixCore } from '../../wasm/index';
import { authCheck, authTypes, resolveState, type AuthScope, type AuthVerdict, type ThirdPartyVerified } from '../../wasm/ops';
import { fromTriples, stateKey, toTriples, type StateMap } from './state';
import type { EventStatus } from './store';

/** What the checks read from the room (the Room object backs it with SQLite and caches). */
export interface RoomView {
  readonly rules: RoomVersionRules;
  readonly core: MatrixCore;
  /** An event's PDU with `event_id` set, or undefined when unknown. */
  event(eventId: string): JsonObject | undefined;
  status(eventId: string): EventStatus | undefined;
  /** The room's create event ID (known once the room has one). */
  createEventId(): string | undefined;
}

export function stringList(value: unknown): string[] {
  if (!Array.isArray(value)) return [];
  // v1–v2 references are [id, hashes] pairs.
  return value.map((r) => (Array.isArray(r) ? r[0] : r)).filter((r): r is string => typeof r === 'string');
}

/** Auth events selection (spec "Auth events selection") from `state`, via the crate's rule. */
export function selectAuthEvents(view: RoomView, event: JsonObject, state: StateMap): string[] {
  const out: string[] = [];
  for (const [type, key] of authTypes(view.core, { rules: view.rules, event })) {
    // v12: the create event is never listed (the room ID designates it).
    if (type === 'm.room.create' && !view.rules.create_in_auth_events) continue;
    const id = state.get(stateKey(type, key));
    if (id !== undefined && !out.includes(id)) out.push(id);
  }
  return out;
}

function known(view: RoomView, ids: Iterable<string>): JsonObject[] {
  const out: JsonObject[] = [];
  for (const id of ids) {
    const e = view.event(id);
    if (e) out.push(e);
  }
  return out;
}

/** The create event joins every auth state: v12 never lists it, yet the rules read it. */
function withCreate(view: RoomView, ids: string[]): string[] {
  const create = view.createEventId();
  return create && !ids.includes(create) ? [...ids, create] : ids;
}

/**
 * Check `event` against its own auth events (spec "Checks performed on receipt of a PDU",
 * step 4): state-independent checks plus the rules with the auth events as the state.
 */
export function checkAgainstAuthEvents(view: RoomView, event: JsonObject, thirdParty: ThirdPartyVerified = {}): AuthVerdict {
  const ids = withCreate(view, stringList(event.auth_events));
  const rejected = ids.filter((id) => view.status(id) === 'rejected');
  return authCheck(view.core, {
    rules: view.rules,
    scope: 'full',
    event,
    auth_state: known(view, ids),
    rejected_event_ids: rejected,
    third_party_verified: thirdParty,
  });
}

/** The auth event types the rules read for `event` (spec "Auth events selection"). */
type AuthTypes = ReturnType<typeof authTypes>;

/** The IDs of the events of `types` in `state`, plus the create event (what a check against `state` reads). */
function authStateIds(view: RoomView, types: AuthTypes, state: StateMap): string[] {
  const ids: string[] = [];
  for (const [type, key] of types) {
    const id = state.get(stateKey(type, key));
    if (id !== undefined && !ids.includes(id)) ids.push(id);
  }
  return withCreate(view, ids);
}

function checkAgainstIds(view: RoomView, event: JsonObject, ids: string[], thirdParty: ThirdPartyVerified, scope: AuthScope): AuthVerdict {
  return authCheck(view.core, { rules: view.rules, scope, event, auth_state: known(view, ids), third_party_verified: thirdParty });
}

/** Check `event` against a room state (state before it, or current state for soft-fail). */
export function checkAgainstState(
  view: RoomView,
  event: JsonObject,
  state: StateMap,
  thirdParty: ThirdPartyVerified = {},
  scope: AuthScope = 'state_dependent',
): AuthVerdict {
  return checkAgainstIds(view, event, authStateIds(view, authTypes(view.core, { rules: view.rules, event }), state), thirdParty, scope);
}

const sameIds = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((id) => b.includes(id));

/**
 * Steps 4–6 of "Checks performed on receipt of a PDU" (spec v1.16, Server-Server API): against
 * the event's own auth events, against the state before it, and against the current state
 * (failing only the last soft-fails it). The rules read nothing of a state but the events its
 * auth selection picks, so a step whose selection is the same events as the step before it
 * has that step's verdict and is not run again. That is the usual case — an event on the
 * room's one forward extremity citing the state's own auth events — and saves two of the
 * three calls into the rules.
 */
export function checkOnReceipt(
  view: RoomView,
  event: JsonObject,
  before: StateMap,
  current: StateMap,
  thirdParty: ThirdPartyVerified = {},
): { byAuthEvents: AuthVerdict; byStateBefore: AuthVerdict; byCurrent: AuthVerdict } {
  const byAuthEvents = checkAgainstAuthEvents(view, event, thirdParty);
  if (!byAuthEvents.allowed) return { byAuthEvents, byStateBefore: byAuthEvents, byCurrent: byAuthEvents };
  const types = authTypes(view.core, { rules: view.rules, event });
  const beforeIds = authStateIds(view, types, before);
  // A passed step 4 read exactly its listed auth events (the rules reject any beyond the selection).
  const byStateBefore = sameIds(beforeIds, withCreate(view, stringList(event.auth_events)))
    ? byAuthEvents
    : checkAgainstIds(view, event, beforeIds, thirdParty, 'state_dependent');
  if (!byStateBefore.allowed) return { byAuthEvents, byStateBefore, byCurrent: byStateBefore };
  const currentIds = current === before ? beforeIds : authStateIds(view, types, current);
  const byCurrent = sameIds(currentIds, beforeIds) ? byStateBefore : checkAgainstIds(view, event, currentIds, thirdParty, 'state_dependent');
  return { byAuthEvents, byStateBefore, byCurrent };
}

/** Every event reachable through `auth_events` from `start` (the auth chains), plus `start`. */
export function withAuthChains(view: RoomView, start: Iterable<string>): Map<string, JsonObject> {
  const out = new Map<string, JsonObject>();
  const queue = [...start];
  while (queue.length > 0) {
    const id = queue.pop()!;
    if (out.has(id)) continue;
    const e = view.event(id);
    if (!e) continue;
    out.set(id, e);
    for (const a of stringList(e.auth_events)) if (!out.has(a)) queue.push(a);
  }
  return out;
}

/**
 * Resolve several states into one (spec "State resolution", by the room version's algorithm).
 * One state needs no resolution.
 */
export function resolve(view: RoomView, states: readonly StateMap[], thirdParty: ThirdPartyVerified = {}): StateMap {
  if (states.length === 1) return states[0]!;
  const ids = new Set<string>();
  for (const s of states) for (const id of s.values()) ids.add(id);
  const events = withAuthChains(view, ids);
  const rejected = [...events.keys()].filter((id) => view.status(id) === 'rejected');
  const resolved = resolveState(view.core, {
    rules: view.rules,
    state_sets: states.map(toTriples),
    events: [...events.values()],
    third_party_verified: thirdParty,
    rejected,
  });
  return fromTriples(resolved);
}
