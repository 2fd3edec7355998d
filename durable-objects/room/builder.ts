/**
 * Building a local PDU (spec: Server-Server API "PDUs" and the room version's event format):
 * the fields a client cannot choose (room_id, prev_events, auth_events, depth, hashes) are set
 * here, then the content hash and the event ID. Signing is separate (async, WebCrypto).
 */
import { isJsonObject, setOwn, type JsonObject } from '../../core/canonical-json';
import { contentHash, eventIdAndSigningInput, roomIdFromCreateEventId } from '../../core/events/hashes';
import type { RoomVersionRules } from '../../core/room-versions';

/** What a local sender chooses about an event. */
export interface EventTemplate {
  type: string;
  sender: string;
  content: JsonObject;
  state_key?: string;
  /** The redacted event, for `m.room.redaction` (placed by the room version's rules). */
  redacts?: string;
}

/** The spec caps `depth` at 2^53 − 1 (room version 6+ canonical JSON range; all versions here). */
export const MAX_DEPTH = Number.MAX_SAFE_INTEGER;

export interface BuiltEvent {
  event_id: string;
  /** The PDU without signatures (they are added after the async signing step). */
  pdu: JsonObject;
  /** The bytes to sign: the reference hash input, encoded once for both. */
  signingInput: Uint8Array;
}

/**
 * Build an unsigned PDU with its content hash and event ID.
 * @param roomId the room's ID; ignored for a v12 `m.room.create` (which has none)
 */
export function buildPdu(
  rules: RoomVersionRules,
  template: EventTemplate,
  placement: { room_id: string; prev_events: readonly string[]; auth_events: readonly string[]; depth: number; origin_server_ts: number },
): BuiltEvent {
  if (rules.event_refs_include_hashes) {
    // v1–v2 events reference others as [id, hashes] and carry a server-chosen event_id; we
    // join and receive such rooms but do not author events in them.
    throw new RangeError(`creating events in room version ${rules.room_version} is not supported`);
  }
  const isV12Create = template.type === 'm.room.create' && !rules.create_has_room_id;
  const content = structuredClone(template.content);
  const pdu: JsonObject = {};
  if (!isV12Create) pdu.room_id = placement.room_id;
  pdu.type = template.type;
  pdu.sender = template.sender;
  if (template.state_key !== undefined) pdu.state_key = template.state_key;
  if (template.redacts !== undefined) {
    // v11+ moved `redacts` into content (spec: room version 11, "Redactions").
    if (rules.redacts_in_content) setOwn(content, 'redacts', template.redacts);
    else pdu.redacts = template.redacts;
  }
  pdu.content = content;
  pdu.origin_server_ts = placement.origin_server_ts;
  pdu.depth = Math.min(placement.depth, MAX_DEPTH);
  pdu.prev_events = [...placement.prev_events];
  pdu.auth_events = [...placement.auth_events];
  pdu.hashes = { sha256: contentHash(pdu) };
  const { eventId, signingInput } = eventIdAndSigningInput(pdu, rules);
  return { event_id: eventId, pdu, signingInput };
}

/** The `m.room.create` a local user authors (spec: m.room.create; v1–v10 name the creator). */
export function createTemplate(rules: RoomVersionRules, creator: string, content: JsonObject = {}): EventTemplate {
  const full: JsonObject = { ...content, room_version: rules.room_version };
  if (rules.create_content_creator_required) full.creator = creator;
  return { type: 'm.room.create', sender: creator, state_key: '', content: full };
}

/**
 * The ID of a new room. Room version 12 derives it from the create event's reference hash
 * (spec: room version 12, "Room IDs"), so the caller builds that event first with the same
 * inputs the Room object will use; older versions take `!<opaque>:<server>`.
 */
export function newRoomId(
  rules: RoomVersionRules,
  creator: string,
  content: JsonObject,
  originServerTs: number,
  serverName: string,
  opaque: string,
): string {
  if (!rules.room_id_is_create_event_hash) return `!${opaque}:${serverName}`;
  const create = buildPdu(rules, createTemplate(rules, creator, content), {
    room_id: '',
    prev_events: [],
    auth_events: [],
    depth: 1,
    origin_server_ts: originServerTs,
  });
  return roomIdFromCreateEventId(create.event_id);
}

/** The PDU as the WASM core and federation see it: v3+ formats get their `event_id` added. */
export function withEventId(pdu: JsonObject, eventId: string): JsonObject {
  if (pdu.event_id === eventId) return pdu;
  return { ...pdu, event_id: eventId };
}

/** `content.redacts` (v11+) or top-level `redacts`, whichever the room version uses. */
export function redactsOf(rules: RoomVersionRules, pdu: JsonObject): string | undefined {
  const holder = rules.redacts_in_content ? pdu.content : pdu;
  const value = isJsonObject(holder) ? holder.redacts : undefined;
  return typeof value === 'string' ? value : undefined;
}
