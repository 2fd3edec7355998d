/**
 * Local events: planning one on top of the room (and of the batch planned so far), and writing
 * it once signed. Planning does everything that can fail — prev events, depth, auth events
 * selection, hashes, event ID, authorisation — so that signing and writing cannot.
 */
import type { JsonObject } from '../../core/canonical-json';
import { pduSizeProblem } from '../../core/events/limits';
import { getRoomVersionRules, type RoomVersionRules } from '../../core/room-versions';
import type { CreateRoomInput, RoomFailure, SendInput } from './api';
import { buildPdu, createTemplate, withEventId, type EventTemplate } from './builder';
import { checkAgainstAuthEvents, resolve, selectAuthEvents } from './checks';
import type { PlannedEvent, RoomDag } from './dag';
import { stateKey, type StateMap } from './state';

/** Extremities referenced by one new event (the spec suggests a bound; Synapse uses 10). */
const MAX_PREV_EVENTS = 10;

export type LocalRequest =
  | { kind: 'create'; input: CreateRoomInput }
  /** `third_party_keys`: the keys that verify `content.third_party_invite.signed` (room.ts computes them before the queue). */
  | { kind: 'send'; input: SendInput; third_party_keys?: string[] };

/** A local event checked and ready to sign and write. */
export interface Planned extends PlannedEvent {
  request: LocalRequest;
  rules: RoomVersionRules;
  prev_events: string[];
  before: StateMap;
  /** Where `before` is stored: the prev event's group, a known group, or not yet (null). */
  beforeGroup: number | null | 'prev';
  /** The bytes to sign (see builder.ts). */
  signingInput: Uint8Array;
}

export const fail = (errcode: RoomFailure['errcode'], error: string): RoomFailure => ({ ok: false, errcode, error });

/** Where the next local event goes: prev events, the state before it, and the depth. */
function tip(dag: RoomDag): { prevEvents: string[]; before: StateMap; beforeGroup: number | null | 'prev'; depth: number } {
  const last = [...dag.planned.values()].at(-1);
  if (last) return { prevEvents: [last.event_id], before: last.after, beforeGroup: 'prev', depth: last.depth };
  const extremities = dag.current.extremities
    .map((id) => ({ id, depth: dag.eventInfo(id)?.depth ?? 0 }))
    .sort((a, b) => b.depth - a.depth || (a.id < b.id ? -1 : 1));
  const chosen = extremities.slice(0, MAX_PREV_EVENTS);
  const depth = Math.max(0, ...chosen.map((e) => e.depth));
  const prevEvents = chosen.map((e) => e.id);
  if (chosen.length === extremities.length) {
    return { prevEvents, before: dag.current.state, beforeGroup: extremities.length === 1 ? 'prev' : dag.current.group, depth };
  }
  const states = dag.prevStates(prevEvents) ?? [dag.current.state];
  return { prevEvents, before: resolve(dag.view, states), beforeGroup: null, depth };
}

/** Build and authorise one local event on top of the room and the batch planned so far. */
export function planLocal(dag: RoomDag, request: LocalRequest, now: number): Planned | RoomFailure {
  let rules = dag.rules;
  let template: EventTemplate;
  let roomId = dag.roomId;
  if (request.kind === 'create') {
    if (dag.rules || [...dag.planned.values()].some((p) => p.isCreate)) return fail('M_FORBIDDEN', 'the room already exists');
    rules = getRoomVersionRules(request.input.room_version);
    if (!rules) return fail('M_UNSUPPORTED_ROOM_VERSION', `room version ${request.input.room_version} is not supported`);
    template = createTemplate(rules, request.input.creator, request.input.content);
    roomId = request.input.room_id;
  } else {
    if (!rules || !roomId) return fail('M_NOT_FOUND', 'the room does not exist here');
    const { txn: _txn, origin_server_ts: _ts, ...rest } = request.input;
    template = rest;
  }
  const isCreate = request.kind === 'create';
  const at = isCreate ? { prevEvents: [], before: new Map<string, string>() as StateMap, beforeGroup: null, depth: 0 } : tip(dag);
  const view = dag.viewFor(rules);
  const draft: JsonObject = { type: template.type, sender: template.sender, content: template.content };
  if (template.state_key !== undefined) draft.state_key = template.state_key;
  let built;
  try {
    built = buildPdu(rules, template, {
      room_id: roomId,
      prev_events: at.prevEvents,
      auth_events: selectAuthEvents(view, draft, at.before),
      depth: at.depth + 1,
      origin_server_ts: request.input.origin_server_ts ?? now,
    });
  } catch (e) {
    return fail('M_BAD_JSON', (e as Error).message);
  }
  // The size limit counts the signature the event will carry (Ed25519: 86 base64 characters).
  const tooLarge = pduSizeProblem({ ...built.pdu, signatures: { [dag.serverName]: { [dag.signingKeyId]: 'A'.repeat(86) } } });
  if (tooLarge) return fail('M_TOO_LARGE', tooLarge);
  if (isCreate && rules.room_id_is_create_event_hash && `!${built.event_id.slice(1)}` !== roomId) {
    return fail('M_BAD_JSON', `a room version ${rules.room_version} room's ID is !${built.event_id.slice(1)}`);
  }
  const thirdParty = request.kind === 'send' && request.third_party_keys ? { [built.event_id]: request.third_party_keys } : {};
  const verdict = checkAgainstAuthEvents(view, withEventId(built.pdu, built.event_id), thirdParty);
  if (!verdict.allowed) return fail('M_FORBIDDEN', `${verdict.message} (${verdict.reason})`);
  const after = template.state_key === undefined ? at.before : new Map(at.before).set(stateKey(template.type, template.state_key), built.event_id);
  return {
    request,
    rules,
    isCreate,
    event_id: built.event_id,
    pdu: built.pdu,
    signingInput: built.signingInput,
    prev_events: at.prevEvents,
    before: at.before,
    beforeGroup: at.beforeGroup,
    after,
    depth: at.depth + 1,
  };
}

/** Write one planned, signed local event (inside the batch transaction); returns its stream order. */
export function writeLocal(dag: RoomDag, p: Planned): number {
  if (p.request.kind === 'create') dag.setRoom(p.rules, p.request.input.room_id, p.event_id);
  const beforeGroup =
    p.beforeGroup === 'prev' ? (p.prev_events[0] ? dag.eventInfo(p.prev_events[0])!.group : null) : p.beforeGroup ?? dag.groups.save(p.before, dag.current.group);
  const group = p.after === p.before ? beforeGroup : dag.groups.save(p.after, beforeGroup);
  const ordering = dag.insert(p.event_id, p.pdu, 'accepted', null, group, p.prev_events);
  if (p.request.kind === 'send' && p.request.input.txn) {
    const { sender, txn } = p.request.input;
    dag.store.insertTransaction(sender, txn.device_id, txn.endpoint, txn.txn_id, p.event_id);
  }
  // Its prev events leave the extremities; with more than MAX_PREV_EVENTS forks some stay, and
  // the current state is then resolved over all of them (advanceExtremities).
  dag.advanceExtremities(p.event_id, p.prev_events, p.after, group);
  dag.queueNotifications(p.pdu, ordering);
  return ordering;
}
