/**
 * @module Receiving a PDU across a gap in the DAG (spec v1.16, Server-Server API "Retrieving
 * events": when "Retrieving missing events" cannot reach the events the room has, the state
 * at the missing prev events is asked for with `/state_ids`). The worker
 * (workers/homeserver/federation/missing-events.ts) fetches that state and the events this
 * room lacks; here, as Synapse's `_get_state_ids_after_missing_prev_event` does:
 *
 * - the fetched events are checked against their own auth events, in auth order, and stored
 *   as outliers (federation-join.ts `checkOutliers`): known, but not part of the DAG here;
 * - the state after each missing prev event is the state before it (the `/state_ids` answer,
 *   without events that failed their checks) plus the prev event itself when it is a state
 *   event; a state that is not of this room (another create event) is not used;
 * - the PDU then goes through the usual receipt checks (receive.ts) with those states standing
 *   for its missing prev events' states: it is checked against the state before it as resolved
 *   from them and from the states of the prev events the room has, and against the current
 *   state; once accepted it is a forward extremity, so the current state is resolved over it too.
 *
 * All of it is one write transaction.
 */
import type { JsonObject } from '../../core/canonical-json';
import type { ThirdPartyVerified } from '../../wasm/ops';
import type { IngestResult, PrevStatesFill } from './api';
import type { RoomDag } from './dag';
import { checkOutliers, insertOutliers, parseResponseEvents, type ResponseEvent } from './federation-join';
import { receivePdu } from './receive';
import { stateKey, type StateMap } from './state';

export function receiveWithPrevStates(
  dag: RoomDag, pdu: JsonObject, thirdParty: ThirdPartyVerified, fill: PrevStatesFill, transaction: <T>(fn: () => T) => T,
): IngestResult {
  const { rules, roomId, createId } = dag;
  if (!rules || !roomId || !createId) return { status: 'dropped', reason: 'the room has no create event here yet' };
  const events = new Map<string, ResponseEvent>();
  parseResponseEvents(rules, roomId, fill.events, events);
  const { view, fresh } = checkOutliers(dag, rules, events, createId);
  // Events that failed their checks stay out of any state (as in a send_join response).
  const usable = (id: string): JsonObject | undefined => {
    const status = view.status(id);
    return status === undefined || status === 'rejected' ? undefined : view.event(id);
  };

  const given = new Map<string, StateMap>();
  for (const [prevId, ids] of Object.entries(fill.state_before)) {
    const state = new Map<string, string>();
    for (const id of ids) {
      const e = usable(id);
      if (!e || typeof e.state_key !== 'string') continue;
      const key = stateKey(e.type as string, e.state_key);
      if (!state.has(key)) state.set(key, id);
    }
    // A prev event unknown here cannot be placed: it stays missing.
    if (view.status(prevId) === undefined) continue;
    const prev = usable(prevId);
    if (prev && typeof prev.state_key === 'string') state.set(stateKey(prev.type as string, prev.state_key), prevId);
    if (state.get(stateKey('m.room.create', '')) !== createId) continue;
    given.set(prevId, state);
  }

  return transaction(() => {
    insertOutliers(dag, fresh);
    return receivePdu(dag, pdu, thirdParty, (fn) => fn(), given);
  });
}
