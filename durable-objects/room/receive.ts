/**
 * Received PDUs: the receipt checks (spec: Server-Server API, "Checks performed on receipt of
 * a PDU") from step 3 on — the caller has checked the format on the raw text and the
 * signatures. No step awaits, so the whole of it runs inside one transaction.
 */
import { isJsonObject, type JsonObject } from '../../core/canonical-json';
import { computeEventId, contentHash } from '../../core/events/hashes';
import { pduSizeProblem } from '../../core/events/limits';
import { parsePdu } from '../../core/events/pdu';
import { redactEvent } from '../../core/events/redaction';
import { getRoomVersionRules } from '../../core/room-versions';
import type { ThirdPartyVerified } from '../../wasm/ops';
import type { IngestResult } from './api';
import { withEventId } from './builder';
import { checkAgainstAuthEvents, checkOnReceipt, resolve, stringList } from './checks';
import type { RoomDag } from './dag';
import { stateKey, type StateMap } from './state';
import type { EventStatus } from './store';

/**
 * `given`: the state after prev events this room lacks, as another server gave it (see
 * missing-state.ts); with it the PDU is received on that state instead of being `missing`.
 */
export function receivePdu(
  dag: RoomDag, received: JsonObject, thirdParty: ThirdPartyVerified, transaction: <T>(fn: () => T) => T, given?: ReadonlyMap<string, StateMap>,
): IngestResult {
  const isCreate = received.type === 'm.room.create';
  const rules = dag.rules ?? (isCreate && isJsonObject(received.content) ? getRoomVersionRules(String(received.content.room_version ?? '1')) : undefined);
  if (!rules) return { status: 'dropped', reason: dag.rules || isCreate ? 'unknown room version' : 'the room has no create event here yet' };
  let pdu: JsonObject;
  let eventId: string;
  try {
    pdu = parsePdu(received, rules);
    eventId = computeEventId(pdu, rules);
  } catch (e) {
    return { status: 'dropped', reason: `malformed PDU: ${(e as Error).message}` };
  }
  const tooLarge = pduSizeProblem(received);
  if (tooLarge) return { event_id: eventId, status: 'dropped', reason: tooLarge };
  if (dag.eventInfo(eventId)) return { event_id: eventId, status: 'duplicate' };
  if (isCreate && dag.rules) return { event_id: eventId, status: 'rejected', reason: 'the room already has a create event' };
  if (!isCreate && pdu.room_id !== dag.roomId) return { event_id: eventId, status: 'dropped', reason: 'the PDU is for another room' };

  // Step 3: an event whose content hash does not match is processed, and kept, redacted.
  if ((pdu.hashes as JsonObject).sha256 !== contentHash(pdu)) pdu = redactEvent(pdu, rules);

  const prevEvents = stringList(pdu.prev_events);
  if (!isCreate && prevEvents.length === 0) return { event_id: eventId, status: 'dropped', reason: 'only a create event has no prev events' };
  // An outlier (federation-join.ts) has no state here, so as a prev event it counts as missing.
  const missing = [
    ...stringList(pdu.auth_events).filter((id) => !dag.eventInfo(id)),
    ...prevEvents.filter((id) => !given?.has(id) && (dag.eventInfo(id)?.group ?? null) === null),
  ];
  if (missing.length > 0) return { event_id: eventId, status: 'missing', reason: 'prev or auth events are unknown', missing };

  const view = dag.viewFor(rules);
  const event = withEventId(pdu, eventId);
  if (isCreate) {
    const verdict = checkAgainstAuthEvents(view, event, thirdParty);
    if (!verdict.allowed) return { event_id: eventId, status: 'rejected', reason: verdict.message };
    return transaction(() => {
      // v12 rooms have no room_id on the create event: the room ID is derived from its ID.
      dag.setRoom(rules, (pdu.room_id as string | undefined) ?? `!${eventId.slice(1)}`, eventId);
      const after = new Map([[stateKey('m.room.create', ''), eventId]]);
      const group = dag.groups.save(after, null);
      const ordering = dag.insert(eventId, pdu, 'accepted', null, group, []);
      dag.setSoleExtremity(eventId, [], after, group);
      dag.queueNotifications(pdu, ordering);
      return { event_id: eventId, status: 'accepted' as const };
    });
  }

  // Steps 4–6: against its own auth events, the state before it (its prev events' states,
  // resolved) and the current state (failing only this soft-fails the event).
  const known = prevEvents.filter((id) => !given?.has(id));
  const prevStates = prevEvents.map((id) => given?.get(id) ?? dag.prevStates([id])![0]!);
  const before = resolve(view, prevStates, thirdParty);
  const { byStateBefore, byCurrent } = checkOnReceipt(view, event, before, dag.current.state, thirdParty);
  const status: EventStatus = !byStateBefore.allowed ? 'rejected' : !byCurrent.allowed ? 'soft_failed' : 'accepted';
  const reason = byCurrent.allowed ? undefined : byCurrent.message;

  return transaction(() => {
    const firstPrevGroup = known.length > 0 ? dag.eventInfo(known[0]!)!.group : dag.current.group;
    const beforeGroup = prevStates.length === 1 && known.length === 1 ? firstPrevGroup : dag.groups.save(before, firstPrevGroup);
    const isState = typeof pdu.state_key === 'string';
    // A rejected event's state is the state before it.
    const after = status !== 'rejected' && isState ? new Map(before).set(stateKey(pdu.type as string, pdu.state_key as string), eventId) : before;
    const group = after === before ? beforeGroup : dag.groups.save(after, beforeGroup);
    const ordering = dag.insert(eventId, pdu, status, reason ?? null, group, prevEvents);
    // Its prev events' states cannot be derived here: keep the state before it (Room.getStateBefore).
    if (known.length < prevEvents.length) dag.store.insertStateBefore(eventId, ordering, beforeGroup!);
    if (status === 'accepted') {
      dag.advanceExtremities(eventId, prevEvents, after, group);
      // Soft-failed and rejected events are never shown to clients, so nobody hears of them.
      dag.queueNotifications(pdu, ordering);
    }
    return { event_id: eventId, status, ...(reason ? { reason } : {}) };
  });
}
