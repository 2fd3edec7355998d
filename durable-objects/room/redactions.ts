/**
 * When a redaction may be applied to its target (spec: room versions 3+, "Handling
 * redactions"); the rule itself is the crate's (`redaction_allowed`).
 */
import type { JsonObject } from '../../core/canonical-json';
import { redactionAllowed } from '../../wasm/ops';
import { stringList, type RoomView } from './checks';

/**
 * Whether `redaction` (accepted, with `event_id`) may redact `target`. Its own auth events
 * carry the power levels and membership that applied when it was sent.
 */
export function mayRedact(view: RoomView, redaction: JsonObject, target: JsonObject): boolean {
  // A redaction only ever applies to an event of the same room.
  if (target.room_id !== redaction.room_id && target.type !== 'm.room.create') return false;
  const authState: JsonObject[] = [];
  const ids = stringList(redaction.auth_events);
  const create = view.createEventId();
  if (create && !ids.includes(create)) ids.push(create);
  for (const id of ids) {
    const e = view.event(id);
    if (e) authState.push(e);
  }
  return redactionAllowed(view.core, {
    rules: view.rules,
    redaction,
    target_sender: String(target.sender),
    auth_state: authState,
  }).allowed;
}
