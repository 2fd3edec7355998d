/**
 * Checking other servers' signatures: finding a server's verify key (this server's own from
 * the configuration, others' through their ServerKeys object), and the signatures a received
 * event must carry (spec v1.16, Server-Server API "Validating hashes and signatures on received
 * events": a PDU without them is dropped).
 */
import { decodeBase64, encodeBase64 } from '../../core/base64';
import type { JsonObject } from '../../core/canonical-json';
import { webCryptoEd25519 } from '../../core/crypto/ed25519-webcrypto';
import { verifyEventSignature } from '../../core/crypto/signing';
import { requiredSigners, signatureKeyIds } from '../../core/federation/server-keys';
import type { RoomVersionRules } from '../../core/room-versions';
import { serverKeysApi } from '../../durable-objects/server-keys/api';
import { homeserverConfig, type HomeserverVars } from './config';

export interface ServerKeysBindings extends HomeserverVars {
  SERVER_KEYS: DurableObjectNamespace;
}

/** This server's public key, computed once per isolate and seed. */
const ownKeys = new WeakMap<Uint8Array, Promise<string>>();

/** `serverName`'s key `keyId` (32 bytes), valid at `validAt` when given; undefined if there is none. */
export async function getServerVerifyKey(env: ServerKeysBindings, serverName: string, keyId: string, validAt?: number): Promise<Uint8Array | undefined> {
  const config = homeserverConfig(env);
  if (serverName === config.serverName) {
    if (keyId !== config.signingKey.keyId) return undefined;
    let own = ownKeys.get(config.signingKey.seed);
    if (!own) {
      own = webCryptoEd25519.publicKey(config.signingKey.seed).then(encodeBase64);
      ownKeys.set(config.signingKey.seed, own);
    }
    return decodeBase64(await own);
  }
  const key = await serverKeysApi(env.SERVER_KEYS, serverName).getVerifyKey({ server_name: serverName, key_id: keyId, ...(validAt !== undefined ? { valid_at: validAt } : {}) });
  return key === undefined ? undefined : decodeBase64(key);
}

/** Finds `server`'s key `keyId` usable at `validAt` (see getServerVerifyKey). */
export type KeyLookup = (server: string, keyId: string, validAt: number | undefined) => Promise<Uint8Array | undefined>;

/** The time a signing key must be valid at for `pdu`: its `origin_server_ts` where the room version enforces key validity (v5+). */
const keyValidAt = (pdu: JsonObject, rules: RoomVersionRules): number | undefined =>
  rules.enforce_key_validity && typeof pdu.origin_server_ts === 'number' ? pdu.origin_server_ts : undefined;

/** Signatures checked at once by verifyManyEventSignatures (WebCrypto verifies asynchronously). */
const VERIFY_CHUNK = 256;

/**
 * verifyEventSignatures for many events (a transaction, a send_join response): each server's
 * key is looked up once, at the latest time any of the events needs it — a key usable at a time
 * is usable at every earlier one (core/federation/server-keys.ts `keyUsableAt`) — and only
 * where that fails per event; the signatures are checked in bounded parallel chunks.
 */
export async function verifyManyEventSignatures(env: ServerKeysBindings, pdus: readonly JsonObject[], rules: RoomVersionRules): Promise<SignatureCheck[]> {
  const latest = new Map<string, { server: string; keyId: string; validAt: number | undefined }>();
  for (const pdu of pdus) {
    const validAt = keyValidAt(pdu, rules);
    for (const server of requiredSigners(pdu, rules)) {
      for (const keyId of signatureKeyIds(pdu, server)) {
        const k = `${server}\n${keyId}`;
        const seen = latest.get(k);
        if (!seen) latest.set(k, { server, keyId, validAt });
        else if (validAt !== undefined && (seen.validAt === undefined || validAt > seen.validAt)) seen.validAt = validAt;
      }
    }
  }
  const found = new Map<string, Promise<Uint8Array | undefined>>();
  for (const [k, q] of latest) found.set(k, getServerVerifyKey(env, q.server, q.keyId, q.validAt).catch(() => undefined));
  const lookup: KeyLookup = async (server, keyId, validAt) => (await found.get(`${server}\n${keyId}`)) ?? getServerVerifyKey(env, server, keyId, validAt);
  const out: SignatureCheck[] = [];
  for (let i = 0; i < pdus.length; i += VERIFY_CHUNK) {
    const chunk = pdus.slice(i, i + VERIFY_CHUNK).map((pdu) => verifyEventSignatures(env, pdu, rules, lookup).catch((e: unknown) => ({ ok: false as const, reason: (e as Error).message })));
    out.push(...(await Promise.all(chunk)));
  }
  return out;
}

export type SignatureCheck = { ok: true } | { ok: false; reason: string };

/**
 * Whether every server that must sign `pdu` did, with a key valid at the event's
 * `origin_server_ts` where the room version enforces key validity (v5+). One good signature
 * per server suffices.
 */
export async function verifyEventSignatures(env: ServerKeysBindings, pdu: JsonObject, rules: RoomVersionRules, lookup: KeyLookup = (s, k, t) => getServerVerifyKey(env, s, k, t)): Promise<SignatureCheck> {
  const validAt = keyValidAt(pdu, rules);
  for (const server of requiredSigners(pdu, rules)) {
    let verified = false;
    for (const keyId of signatureKeyIds(pdu, server)) {
      const key = await lookup(server, keyId, validAt);
      if (key && (await verifyEventSignature(pdu, rules, server, keyId, key, webCryptoEd25519))) {
        verified = true;
        break;
      }
    }
    if (!verified) return { ok: false, reason: `no valid signature of ${server}` };
  }
  return { ok: true };
}
