/**
 * Content hashes, reference hashes and event IDs (spec "Server-Server API" /
 * "Calculating the content hash for an event", "Calculating the reference
 * hash for an event", and "Room Versions" event ID formats). SHA-256 is
 * synchronous (@noble/hashes) so it can run inside synchronous Durable Object
 * storage transactions.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { encodeBase64, encodeBase64Url } from '../base64';
import { encodeCanonicalJsonBytes, isJsonObject, setOwn, type JsonObject, type JsonValue } from '../canonical-json';
import type { EventId, RoomId } from '../ids';
import type { RoomVersionRules } from '../room-versions';
import { redactEvent } from './redaction';

function without(event: JsonObject, keys: readonly string[]): JsonObject {
  if (!isJsonObject(event)) throw new TypeError('expected an event object');
  const out: JsonObject = {};
  for (const key of Object.keys(event)) {
    if (!keys.includes(key)) setOwn(out, key, event[key] as JsonValue);
  }
  return out;
}

/** Canonical JSON bytes over which the content hash is computed. */
export function contentHashInput(event: JsonObject): Uint8Array {
  return encodeCanonicalJsonBytes(without(event, ['unsigned', 'signatures', 'hashes']));
}

/** SHA-256 content hash as unpadded standard base64 (the value of `hashes.sha256`). */
export function contentHash(event: JsonObject): string {
  return encodeBase64(sha256(contentHashInput(event)));
}

/** The object whose canonical JSON is hashed for the reference hash. */
export function referenceHashInput(event: JsonObject, rules: RoomVersionRules): JsonObject {
  return without(redactEvent(event, rules), ['signatures', 'unsigned']);
}

/**
 * Canonical JSON bytes of the reference hash input. They are also exactly the bytes a server
 * signs for the event (its redacted form minus `signatures` and `unsigned`, spec "Signing
 * Events"), so an event's author hashes and signs one encoding.
 */
export function referenceHashInputBytes(event: JsonObject, rules: RoomVersionRules): Uint8Array {
  return encodeCanonicalJsonBytes(referenceHashInput(event, rules));
}

/** Reference hash: SHA-256 of the redacted event minus signatures/unsigned. */
export function referenceHash(event: JsonObject, rules: RoomVersionRules): Uint8Array {
  return sha256(referenceHashInputBytes(event, rules));
}

/** "$" + the hash of `input` (from `referenceHashInputBytes`) in the room version's encoding. */
function hashEventId(input: Uint8Array, rules: RoomVersionRules): EventId {
  const hash = sha256(input);
  return ('$' + (rules.event_id_format === 'reference_hash_base64' ? encodeBase64(hash) : encodeBase64Url(hash))) as EventId;
}

/**
 * The event ID per `rules.event_id_format`: the event's own `event_id`
 * (v1-v2), or "$" + the reference hash in standard (v3) or URL-safe (v4+)
 * unpadded base64.
 */
export function computeEventId(event: JsonObject, rules: RoomVersionRules): EventId {
  if (rules.event_id_format === 'event_id_field') {
    const id = event.event_id;
    if (typeof id !== 'string') throw new TypeError(`room version ${rules.room_version} events carry their ID in "event_id", which is missing`);
    return id as EventId;
  }
  return hashEventId(referenceHashInputBytes(event, rules), rules);
}

/**
 * For an event this server authors in a reference-hash room version: its ID and the bytes to
 * sign, from one redaction and one canonical encoding.
 */
export function eventIdAndSigningInput(event: JsonObject, rules: RoomVersionRules): { eventId: EventId; signingInput: Uint8Array } {
  if (rules.event_id_format === 'event_id_field') throw new RangeError(`room version ${rules.room_version} events carry their own ID`);
  const signingInput = referenceHashInputBytes(event, rules);
  return { eventId: hashEventId(signingInput, rules), signingInput };
}

/** Room v12 (MSC4291): the room ID is "!" + the create event's ID without "$". */
export function roomIdFromCreateEventId(eventId: string): RoomId {
  if (typeof eventId !== 'string' || !/^\$[A-Za-z0-9_-]{43}$/.test(eventId)) {
    throw new TypeError(`a v12 room ID derives from a create event ID "$" + 43 URL-safe base64 chars, got ${JSON.stringify(eventId)}`);
  }
  return ('!' + eventId.slice(1)) as RoomId;
}
