/**
 * Server signing keys as another server publishes them (spec v1.16, Server-Server API
 * "Retrieving server keys", https://spec.matrix.org/v1.16/server-server-api/#retrieving-server-keys),
 * and which servers must have signed a received event ("Validating hashes and signatures on
 * received events"). Pure: fetching and storing are the caller's.
 */
import { decodeBase64 } from '../base64';
import { isJsonObject, type JsonObject } from '../canonical-json';
import type { Ed25519 } from '../crypto/ed25519';
import { verifyJsonSignature } from '../crypto/signing';
import { isValidUserId } from '../ids';
import type { RoomVersionRules } from '../room-versions';

/** Spec: "Servers MUST use the lesser of this field and 7 days into the future". */
export const MAX_KEY_VALIDITY_MS = 7 * 24 * 3600_000;

const ED25519_KEY_ID = /^ed25519:[A-Za-z0-9_]+$/;

export interface PublishedKey {
  key_id: string;
  /** Unpadded base64, as published. */
  public_key: string;
  /** Capped at fetch time + 7 days. */
  valid_until_ts: number;
  /** For keys under `old_verify_keys`: events after this time may not use it. */
  expired_ts: number | null;
}

export type KeyResponseCheck = { ok: true; keys: PublishedKey[]; valid_until_ts: number } | { ok: false; error: string };

function publicKeyOf(entry: unknown): string | undefined {
  if (!isJsonObject(entry) || typeof entry.key !== 'string') return undefined;
  try {
    return decodeBase64(entry.key).length === 32 ? entry.key : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Check a `/_matrix/key/v2/server` answer (direct, or one `server_keys` entry of a notary):
 * it names `serverName`, and every Ed25519 key under `verify_keys` has signed it (as Synapse
 * requires). Keys of other algorithms are ignored.
 */
export async function checkKeyResponse(body: unknown, serverName: string, now: number, ed: Ed25519): Promise<KeyResponseCheck> {
  if (!isJsonObject(body)) return { ok: false, error: 'key response is not a JSON object' };
  if (body.server_name !== serverName) return { ok: false, error: `key response is for ${JSON.stringify(body.server_name)}, not ${serverName}` };
  if (typeof body.valid_until_ts !== 'number' || !Number.isSafeInteger(body.valid_until_ts)) return { ok: false, error: 'key response has no valid_until_ts' };
  if (!isJsonObject(body.verify_keys)) return { ok: false, error: 'key response has no verify_keys' };
  const validUntil = Math.min(body.valid_until_ts, now + MAX_KEY_VALIDITY_MS);
  const keys: PublishedKey[] = [];
  for (const [keyId, entry] of Object.entries(body.verify_keys)) {
    if (!ED25519_KEY_ID.test(keyId)) continue;
    const publicKey = publicKeyOf(entry);
    if (!publicKey) return { ok: false, error: `verify key ${keyId} is not a 32-byte base64 key` };
    if (!(await verifyJsonSignature(body, serverName, keyId, decodeBase64(publicKey), ed))) {
      return { ok: false, error: `key response is not signed by ${serverName}'s key ${keyId}` };
    }
    keys.push({ key_id: keyId, public_key: publicKey, valid_until_ts: validUntil, expired_ts: null });
  }
  if (keys.length === 0) return { ok: false, error: 'key response has no ed25519 verify key' };
  const old = isJsonObject(body.old_verify_keys) ? body.old_verify_keys : {};
  for (const [keyId, entry] of Object.entries(old)) {
    if (!ED25519_KEY_ID.test(keyId) || keys.some((k) => k.key_id === keyId)) continue;
    const publicKey = publicKeyOf(entry);
    const expired = isJsonObject(entry) ? entry.expired_ts : undefined;
    if (!publicKey || typeof expired !== 'number') continue;
    keys.push({ key_id: keyId, public_key: publicKey, valid_until_ts: expired, expired_ts: expired });
  }
  return { ok: true, keys, valid_until_ts: validUntil };
}

/**
 * Whether a stored key may check a signature made at `validAt` (spec: room versions with
 * enforced key validity need a key valid at the event's `origin_server_ts`; request
 * authentication needs one valid now). Without `validAt` any known key will do.
 */
export function keyUsableAt(key: Pick<PublishedKey, 'valid_until_ts' | 'expired_ts'>, validAt: number | undefined): boolean {
  if (validAt === undefined) return true;
  return key.expired_ts === null ? key.valid_until_ts >= validAt : key.expired_ts > validAt;
}

const serverOf = (id: string) => id.slice(id.indexOf(':') + 1);

/**
 * The servers whose signatures a received event needs (spec "Validating hashes and signatures
 * on received events"): the sender's; for room versions 1–2, the event ID's; for a restricted
 * join, the server of `join_authorised_via_users_server`.
 */
export function requiredSigners(pdu: JsonObject, rules: RoomVersionRules): string[] {
  const out = new Set<string>();
  if (typeof pdu.sender === 'string') out.add(serverOf(pdu.sender));
  if (rules.event_id_format === 'event_id_field' && typeof pdu.event_id === 'string') out.add(serverOf(pdu.event_id));
  const content = isJsonObject(pdu.content) ? pdu.content : {};
  if (
    rules.restricted_join_rule && pdu.type === 'm.room.member' && content.membership === 'join' &&
    typeof content.join_authorised_via_users_server === 'string' && isValidUserId(content.join_authorised_via_users_server)
  ) {
    out.add(serverOf(content.join_authorised_via_users_server));
  }
  return [...out];
}

/** The Ed25519 key IDs `server` signed `pdu` with. */
export function signatureKeyIds(pdu: JsonObject, server: string): string[] {
  const sigs = isJsonObject(pdu.signatures) ? pdu.signatures[server] : undefined;
  return isJsonObject(sigs) ? Object.keys(sigs).filter((k) => ED25519_KEY_ID.test(k)) : [];
}
