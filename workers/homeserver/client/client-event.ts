/**
 * Room events as clients see them (spec v1.16, Client-Server API "Room Events", `ClientEvent`):
 * https://spec.matrix.org/v1.16/client-server-api/#room-event-format
 *
 * The one PDU → client event conversion; /messages, /state, /event and later /sync share it.
 * Server-only fields (`auth_events`, `prev_events`, `depth`, `hashes`, `signatures`) stay out.
 */
import { isJsonObject, type JsonObject } from '../../../core/canonical-json';
import type { EventRecord } from '../../../durable-objects/room/api';

/**
 * The client format of a stored event of `roomId`. Redacted events are stored redacted, so
 * their content is already what clients may see. Callers pass only accepted events: soft-failed
 * and rejected ones never reach a client.
 */
export function toClientEvent(e: EventRecord, roomId: string): JsonObject {
  const { pdu } = e;
  const out: JsonObject = {
    // A v12 create event carries no room_id (it is derived from the event); clients still get it.
    event_id: e.event_id,
    room_id: roomId,
    type: pdu.type ?? '',
    sender: pdu.sender ?? '',
    content: pdu.content ?? {},
    origin_server_ts: pdu.origin_server_ts ?? 0,
  };
  if (typeof pdu.state_key === 'string') out.state_key = pdu.state_key;
  // Room versions 1–10 keep `redacts` at the top level; v11+ moved it into content, and servers
  // should copy it back to the top level for clients that only read it there, as matrix-js-sdk
  // does (https://spec.matrix.org/v1.16/rooms/v11/#moving-the-redacts-property-of-mroomredaction-events-to-a-content-property).
  if (typeof pdu.redacts === 'string') out.redacts = pdu.redacts;
  else if (pdu.type === 'm.room.redaction' && isJsonObject(pdu.content) && typeof pdu.content.redacts === 'string') out.redacts = pdu.content.redacts;
  const unsigned: JsonObject = {};
  if (e.redacted_because) {
    const { room_id: _, ...because } = toClientEvent({ ...e.redacted_because, stream_ordering: 0, status: 'accepted', rejection: null, redacted_by: null }, roomId);
    unsigned.redacted_because = because;
  }
  if (e.transaction_id !== undefined) unsigned.transaction_id = e.transaction_id;
  if (Object.keys(unsigned).length > 0) out.unsigned = unsigned;
  return out;
}
