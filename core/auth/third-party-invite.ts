/**
 * Ed25519 verdicts for third-party invites (spec: m.room.member auth rule, "third_party_invite").
 * The WASM core decides which key must verify `content.third_party_invite.signed`; Ed25519 runs
 * on the host, so the host tells it which keys of the matching `m.room.third_party_invite`
 * events verify. Shared by the Room object and the vector runner.
 */
import { decodeBase64 } from '../base64';
import { isJsonObject, type JsonObject } from '../canonical-json';
import type { Ed25519 } from '../crypto/ed25519';
import { verifyJsonSignature } from '../crypto/signing';

/** `content.third_party_invite.signed` of a member event, when present. */
export function thirdPartySigned(event: JsonObject): JsonObject | undefined {
  const content = event.content;
  if (!isJsonObject(content) || event.type !== 'm.room.member') return undefined;
  const invite = content.third_party_invite;
  if (!isJsonObject(invite)) return undefined;
  return isJsonObject(invite.signed) ? invite.signed : undefined;
}

/** Public keys an `m.room.third_party_invite` lists (`public_key`, `public_keys[].public_key`). */
function publicKeys(invite: JsonObject): string[] {
  const content = isJsonObject(invite.content) ? invite.content : {};
  const keys = typeof content.public_key === 'string' ? [content.public_key] : [];
  if (Array.isArray(content.public_keys)) {
    for (const k of content.public_keys) if (isJsonObject(k) && typeof k.public_key === 'string') keys.push(k.public_key);
  }
  return [...new Set(keys)];
}

/** Whether any `ed25519:*` signature of any server in `signed` verifies with `key`. */
async function verifiesWith(signed: JsonObject, key: string, ed: Ed25519): Promise<boolean> {
  let raw: Uint8Array;
  try {
    raw = decodeBase64(key);
  } catch {
    return false;
  }
  if (raw.length !== 32 || !isJsonObject(signed.signatures)) return false;
  for (const [server, sigs] of Object.entries(signed.signatures)) {
    if (!isJsonObject(sigs)) continue;
    for (const keyId of Object.keys(sigs)) {
      // Only Ed25519 signatures count; another algorithm's signature verifies nothing.
      if (keyId.startsWith('ed25519:') && (await verifyJsonSignature(signed, server, keyId, raw, ed))) return true;
    }
  }
  return false;
}

/**
 * The keys, among those listed by `invites` (the `m.room.third_party_invite` events with the
 * event's token), that verify the event's `content.third_party_invite.signed`.
 */
export async function thirdPartyKeyVerdicts(event: JsonObject, invites: readonly JsonObject[], ed: Ed25519): Promise<string[]> {
  const signed = thirdPartySigned(event);
  if (!signed || typeof signed.token !== 'string') return [];
  const keys = new Set<string>();
  for (const invite of invites) {
    if (invite.type === 'm.room.third_party_invite' && invite.state_key === signed.token) for (const k of publicKeys(invite)) keys.add(k);
  }
  const verified: string[] = [];
  for (const key of keys) if (await verifiesWith(signed, key, ed)) verified.push(key);
  return verified;
}

