/**
 * JSON and event signing (spec appendix "Signing JSON", and Server-Server
 * API "Signing Events"). Functions never mutate their inputs.
 */
import { decodeBase64, encodeBase64 } from '../base64';
import { cloneJson, encodeCanonicalJsonBytes, isJsonObject, setOwn, type JsonObject } from '../canonical-json';
import { contentHash } from '../events/hashes';
import { redactEvent } from '../events/redaction';
import type { RoomVersionRules } from '../room-versions';
import type { Ed25519 } from './ed25519';

const KEY_ID = /^ed25519:[A-Za-z0-9_]+$/;

function checkSigner(serverName: string, keyId: string): void {
  if (typeof serverName !== 'string' || serverName === '') throw new TypeError('serverName must be a non-empty string');
  // Spec "Signing Key": key IDs are "algorithm:identifier", identifier [a-zA-Z0-9_].
  if (typeof keyId !== 'string' || !KEY_ID.test(keyId)) throw new TypeError(`key ID ${JSON.stringify(keyId)} must match ed25519:[A-Za-z0-9_]+`);
}

/** The bytes that are signed: canonical JSON of `obj` minus `signatures` and `unsigned`. */
export function signingInput(obj: JsonObject): Uint8Array {
  if (!isJsonObject(obj)) throw new TypeError('can only sign JSON objects');
  const stripped: JsonObject = {};
  for (const key of Object.keys(obj)) {
    if (key !== 'signatures' && key !== 'unsigned') setOwn(stripped, key, obj[key] as JsonObject);
  }
  return encodeCanonicalJsonBytes(stripped);
}

/**
 * Signs a JSON object: signs canonical JSON without `signatures`/`unsigned`
 * and returns a copy with the signature added under
 * `signatures[serverName][keyId]` (existing signatures and `unsigned` kept).
 */
export async function signJson(obj: JsonObject, serverName: string, keyId: string, seed: Uint8Array, ed: Ed25519): Promise<JsonObject> {
  const sig = await signBytes(signingInput(obj), serverName, keyId, seed, ed);
  const out = cloneJson(obj);
  const existing = out.signatures;
  if (existing !== undefined && !isJsonObject(existing)) throw new TypeError('"signatures" must be an object');
  const signatures: JsonObject = existing ?? {};
  const forServer = signatures[serverName];
  if (forServer !== undefined && !isJsonObject(forServer)) throw new TypeError(`"signatures.${serverName}" must be an object`);
  const serverSigs: JsonObject = forServer ?? {};
  setOwn(serverSigs, keyId, sig);
  setOwn(signatures, serverName, serverSigs);
  setOwn(out, 'signatures', signatures);
  return out;
}

/**
 * The signature (unpadded standard base64) of bytes already in signing form, e.g. an event's
 * reference hash input (see `eventIdAndSigningInput`).
 */
export async function signBytes(input: Uint8Array, serverName: string, keyId: string, seed: Uint8Array, ed: Ed25519): Promise<string> {
  checkSigner(serverName, keyId);
  return encodeBase64(await ed.sign(seed, input));
}

/**
 * Verifies `signatures[serverName][keyId]` of `obj` with a 32-byte public
 * key. Resolves false (never throws) when the signature is absent,
 * malformed or wrong.
 */
export async function verifyJsonSignature(obj: JsonObject, serverName: string, keyId: string, publicKey: Uint8Array, ed: Ed25519): Promise<boolean> {
  if (!isJsonObject(obj)) return false;
  const sigs = obj.signatures;
  if (!isJsonObject(sigs) || !Object.prototype.hasOwnProperty.call(sigs, serverName)) return false;
  const forServer = sigs[serverName];
  if (!isJsonObject(forServer) || !Object.prototype.hasOwnProperty.call(forServer, keyId)) return false;
  const encoded = forServer[keyId];
  if (typeof encoded !== 'string') return false;
  let sig: Uint8Array;
  let input: Uint8Array;
  try {
    sig = decodeBase64(encoded);
    input = signingInput(obj);
  } catch {
    return false;
  }
  return ed.verify(publicKey, input, sig);
}

/**
 * Signs an event (Server-Server API "Signing Events"): sets
 * `hashes.sha256` to the content hash, redacts per `rules`, signs the
 * redacted copy, and copies its `signatures` back onto the full event.
 */
export async function signEvent(
  event: JsonObject,
  rules: RoomVersionRules,
  serverName: string,
  keyId: string,
  seed: Uint8Array,
  ed: Ed25519,
): Promise<JsonObject> {
  if (!isJsonObject(event)) throw new TypeError('signEvent expects an event object');
  const out = cloneJson(event);
  const hashes = out.hashes;
  if (hashes !== undefined && !isJsonObject(hashes)) throw new TypeError('"hashes" must be an object');
  const newHashes: JsonObject = hashes ?? {};
  setOwn(newHashes, 'sha256', contentHash(event));
  setOwn(out, 'hashes', newHashes);
  const signedRedacted = await signJson(redactEvent(out, rules), serverName, keyId, seed, ed);
  setOwn(out, 'signatures', signedRedacted.signatures as JsonObject);
  return out;
}

/** Verifies one server's signature on an event (over its redacted form). */
export async function verifyEventSignature(
  event: JsonObject,
  rules: RoomVersionRules,
  serverName: string,
  keyId: string,
  publicKey: Uint8Array,
  ed: Ed25519,
): Promise<boolean> {
  let redacted: JsonObject;
  try {
    redacted = redactEvent(event, rules);
  } catch {
    return false;
  }
  return verifyJsonSignature(redacted, serverName, keyId, publicKey, ed);
}
