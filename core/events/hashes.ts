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

/** Reference hash: SHA-256 of the redacted event minus signatures/unsigned. */
export function referenceHash(event: JsonObject, rules: RoomVersionRules): Uint8Array {
  return sha256(encodeCanonicalJsonBytes(referenceHashInput(event, rules)));
}

/**
 * The event ID per `rules.event_id_format`: the event's own `event_id`
 * (v1-v2), or "$" + the reference hash in standard (v3) or URL-safe (v4+)
 * unpadded base64.
 */
export function computeEventId(event: JsonObject, rules: RoomVersionRules): EventId {
  switch (rules.event_id_format) {
    case 'event_id_field': {
      const id = event.event_id;
      if (typeof id !== 'string') throw new TypeError(`room version ${rules.room_version} events carry their ID in "event_id", which is missing`);
      return id as EventId;
    }
    case 'reference_hash_base64':
      return ('$' + encodeBase64(referenceHash(event, rules))) as EventId;
    case 'reference_hash_url_safe_base64':
      return ('$' + encodeBase64Url(referenceHash(event, rules))) as EventId;
  }
}

/** Room v12 (MSC4291): the room ID is "!" + the create event's ID without "$". */
export function roomIdFromCreateEventId(eventId: string): RoomId {
  if (typeof eventId !== 'string' || !/^\$[A-Za-z0-9_-]{43}$/.test(eventId)) {
    throw new TypeError(`a v12 room ID derives from a create event ID "$" + 43 URL-safe base64 chars, got ${JSON.stringify(eventId)}`);
  }
  return ('!' + eventId.slice(1)) as RoomId;
}
