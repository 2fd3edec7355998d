/**
 * PDU wire types (spec "Server-Server API" / "PDUs" and "Room Versions" event
 * formats). Field names are the spec's snake_case. Three formats exist:
 *  - v1-v2: `event_id` is a field; prev/auth refs are `[event_id, {sha256}]`.
 *  - v3+:   no `event_id` field (it is the reference hash); refs are IDs.
 *  - v12:   as v3+, and `m.room.create` has no `room_id` (the room ID is
 *           derived from the create event's ID).
 */
import { isJsonObject, type JsonObject, type JsonValue } from '../canonical-json';
import type { RoomVersionRules } from '../room-versions';

/** `hashes` of a PDU: the content hash (spec "Calculating the content hash"). */
export type EventHashes = JsonObject & { sha256: string };
/** `signatures`: server name -> key ID -> unpadded base64 signature. */
export type EventSignatures = { [server: string]: { [keyId: string]: string } };
/** v1-v2 event reference: `[event_id, {"sha256": hash}]`. */
export type EventReferenceWithHash = [string, JsonObject];

/** Fields common to every PDU format. */
export type PduCommon = JsonObject & {
  type: string;
  sender: string;
  content: JsonObject;
  origin_server_ts: number;
  depth: number;
  hashes: EventHashes;
  signatures: EventSignatures;
  state_key?: string;
  redacts?: string;
  origin?: string;
  unsigned?: JsonObject;
};

/** Room v1-v2 PDU. */
export type PduV1 = PduCommon & {
  event_id: string;
  room_id: string;
  prev_events: EventReferenceWithHash[];
  auth_events: EventReferenceWithHash[];
};

/** Room v3+ PDU (every room version where event IDs are reference hashes). */
export type PduV3 = PduCommon & {
  room_id: string;
  prev_events: string[];
  auth_events: string[];
};

/** Room v12 `m.room.create`: no `room_id`. */
export type PduV12Create = PduCommon & {
  type: 'm.room.create';
  prev_events: string[];
  auth_events: string[];
};

/** Any PDU. */
export type Pdu = PduV1 | PduV3 | PduV12Create;

function fail(msg: string): never {
  throw new TypeError(`invalid PDU: ${msg}`);
}

function requireString(o: JsonObject, key: string): void {
  if (typeof o[key] !== 'string') fail(`"${key}" must be a string`);
}

function isInt(v: JsonValue | undefined): boolean {
  return typeof v === 'number' && Number.isSafeInteger(v);
}

function checkRefs(o: JsonObject, key: string, withHashes: boolean): void {
  const refs = o[key];
  if (!Array.isArray(refs)) fail(`"${key}" must be an array`);
  refs.forEach((ref, i) => {
    if (withHashes) {
      if (!Array.isArray(ref) || typeof ref[0] !== 'string' || !isJsonObject(ref[1])) {
        fail(`"${key}[${i}]" must be [event_id, {hashes}] in this room version`);
      }
    } else if (typeof ref !== 'string') {
      fail(`"${key}[${i}]" must be an event ID string in this room version`);
    }
  });
}

/**
 * Minimal structural check of a received PDU for a room version. It checks
 * the fields every later stage relies on (types, reference format, room_id
 * presence); identifier grammars, sizes and auth rules are checked elsewhere.
 * Returns the same object typed as a Pdu; throws TypeError on violations.
 */
export function parsePdu(value: unknown, rules: RoomVersionRules): Pdu {
  if (!isJsonObject(value)) fail('must be a JSON object');
  const o = value;
  requireString(o, 'type');
  requireString(o, 'sender');
  if (!isJsonObject(o.content)) fail('"content" must be an object');
  if (!isInt(o.origin_server_ts)) fail('"origin_server_ts" must be an integer');
  if (!isInt(o.depth)) fail('"depth" must be an integer');
  if (!isJsonObject(o.hashes) || typeof o.hashes.sha256 !== 'string') fail('"hashes.sha256" must be a string');
  const sigs = o.signatures;
  if (!isJsonObject(sigs)) fail('"signatures" must be an object');
  for (const [server, keys] of Object.entries(sigs)) {
    if (!isJsonObject(keys) || !Object.values(keys).every((s) => typeof s === 'string')) {
      fail(`"signatures.${server}" must map key IDs to strings`);
    }
  }
  for (const key of ['state_key', 'redacts', 'origin'] as const) {
    if (o[key] !== undefined) requireString(o, key);
  }
  if (o.unsigned !== undefined && !isJsonObject(o.unsigned)) fail('"unsigned" must be an object');
  checkRefs(o, 'prev_events', rules.event_refs_include_hashes);
  checkRefs(o, 'auth_events', rules.event_refs_include_hashes);
  if (rules.event_id_format === 'event_id_field') requireString(o, 'event_id');
  const isCreate = o.type === 'm.room.create';
  if (isCreate && !rules.create_has_room_id) {
    if (o.room_id !== undefined) fail('"m.room.create" must not have "room_id" in this room version');
  } else {
    requireString(o, 'room_id');
  }
  return o as Pdu;
}
