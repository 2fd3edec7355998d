/**
 * PDU size limits (spec v1.16, Client-Server API "Size limits"):
 *
 * > The complete event MUST NOT be larger than 65536 bytes, when formatted with the federation
 * > event format, including any signatures, and encoded as Canonical JSON.
 *
 * and `sender`, `room_id`, `state_key`, `type` and `event_id` at most 255 bytes each.
 */
import { encodeCanonicalJsonBytes, type JsonObject } from '../canonical-json';
import { utf8Encode } from '../utf8';

export const MAX_PDU_BYTES = 65_536;
export const MAX_KEY_BYTES = 255;

const LIMITED_KEYS = ['sender', 'room_id', 'state_key', 'type', 'event_id'] as const;

/** Why `pdu` (as it will be sent, signatures included) is too large, or undefined if it is not. */
export function pduSizeProblem(pdu: JsonObject): string | undefined {
  for (const key of LIMITED_KEYS) {
    const value = pdu[key];
    if (typeof value === 'string' && utf8Encode(value).length > MAX_KEY_BYTES) return `"${key}" is longer than ${MAX_KEY_BYTES} bytes`;
  }
  const size = encodeCanonicalJsonBytes(pdu).length;
  return size > MAX_PDU_BYTES ? `the event is ${size} bytes, more than ${MAX_PDU_BYTES}` : undefined;
}
