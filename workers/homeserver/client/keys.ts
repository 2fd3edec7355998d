/**
 * End-to-end encryption keys (spec v1.16, Client-Server API "End-to-End Encryption",
 * https://spec.matrix.org/v1.16/client-server-api/#end-to-end-encryption):
 * `POST /_matrix/client/v3/keys/upload`, `…/keys/query`, `…/keys/claim`,
 * `…/keys/device_signing/upload` and `…/keys/signatures/upload`.
 *
 * Keys of this server's users live in their UserKeys objects (durable-objects/user-keys);
 * other servers' users are asked of their server each time (`user/keys/query`,
 * `user/keys/claim`; spec Server-Server API "End-to-End Encryption"), one request per server,
 * and an unreachable server is listed in `failures`. Changes are announced through
 * workers/shared/device-lists.ts. `GET /keys/changes` reads the User object's device stream and
 * lives with /sync.
 */
import { Hono } from 'hono';
import { encodeCanonicalJson, isJsonObject, type JsonObject, type JsonValue } from '../../../core/canonical-json';
import { isValidUserId, serverNameOf, type UserId } from '../../../core/ids';
import { userApi } from '../../../durable-objects/user/api';
import { crossSigningPublicKey, userKeysApi, type CrossSigningUsage, type QueriedKeys, type UploadedKey } from '../../../durable-objects/user-keys/api';
import { requireAccessToken } from '../../shared/auth';
import { optionalInteger, optionalObject, readJsonBody } from '../../shared/body';
import type { HomeserverConfig } from '../../shared/config';
import { announceDeviceListChange, announceToOwnDevices } from '../../shared/device-lists';
import { MatrixError, matrixErrorOf } from '../../shared/errors';
import { federationRequest, federationSender, FederationError } from '../../shared/federation-client';
import type { HomeserverBindings, HomeserverEnv } from '../env';
import { checkCrossSigningUpload, checkSignatureUpload, CROSS_SIGNING_FIELDS, signedKeysOf } from './cross-signing';
import { passwordAuth } from './uia';

const badJson = (message: string) => new MatrixError(400, 'M_BAD_JSON', message);

/** Spec keys/query and keys/claim `timeout`: "10 seconds is the recommended default". */
const DEFAULT_TIMEOUT_MS = 10_000;
const MAX_TIMEOUT_MS = 60_000;

// ---- request bodies ---------------------------------------------------------------------------

/** `body[key]`, an object keyed by user ID whose values pass `check`; invalid user IDs are skipped (as Synapse). */
function userMap<T>(body: JsonObject, key: string, check: (v: JsonValue) => T | undefined, what: string): Map<string, T> {
  const v = body[key];
  if (v === undefined) throw new MatrixError(400, 'M_MISSING_PARAM', `"${key}" is required.`);
  if (!isJsonObject(v)) throw badJson(`"${key}" must be an object keyed by user ID.`);
  const out = new Map<string, T>();
  for (const [userId, value] of Object.entries(v)) {
    const checked = check(value);
    if (checked === undefined) throw badJson(`"${key}" values must be ${what}.`);
    if (isValidUserId(userId)) out.set(userId, checked);
  }
  return out;
}

/** keys/query `device_keys`: user ID → device IDs (empty: all). */
export const deviceIdLists = (body: JsonObject) =>
  userMap(body, 'device_keys', (v) => (Array.isArray(v) && v.every((d): d is string => typeof d === 'string') ? v : undefined), 'arrays of device IDs');

/** keys/claim `one_time_keys`: user ID → device ID → algorithm. */
export const claimMaps = (body: JsonObject) =>
  userMap(body, 'one_time_keys', (v) => (isJsonObject(v) && Object.values(v).every((a) => typeof a === 'string') ? (v as Record<string, string>) : undefined), 'objects of device ID to algorithm');

function timeoutOf(body: JsonObject): number {
  return Math.min(Math.max(optionalInteger(body, 'timeout') ?? DEFAULT_TIMEOUT_MS, 0), MAX_TIMEOUT_MS);
}

const isStringMap = (v: JsonValue | undefined): v is Record<string, string> => isJsonObject(v) && Object.values(v).every((s) => typeof s === 'string');
const isSignatures = (v: JsonValue | undefined): boolean => isJsonObject(v) && Object.values(v).every(isStringMap);

/**
 * keys/upload `device_keys` (spec DeviceKeys): all fields present and typed, and the user and
 * device those of the access token (Synapse answers a mismatch `400 M_BAD_JSON` too).
 */
function checkDeviceKeys(keys: JsonObject, userId: string, deviceId: string): JsonObject {
  const { algorithms } = keys;
  if (typeof keys.user_id !== 'string' || typeof keys.device_id !== 'string' || !Array.isArray(algorithms) || !algorithms.every((a) => typeof a === 'string') || !isStringMap(keys.keys) || !isSignatures(keys.signatures)) {
    throw badJson('"device_keys" must hold user_id, device_id, algorithms, keys and signatures (DeviceKeys).');
  }
  if (keys.user_id !== userId) throw badJson('"device_keys.user_id" does not match the authenticated user.');
  if (keys.device_id !== deviceId) throw badJson('"device_keys.device_id" does not match the authenticated device.');
  return keys;
}

/**
 * keys/upload `one_time_keys` / `fallback_keys`: `<algorithm>:<key_id>` → an unpadded base64
 * key, or a KeyObject (`key`, `signatures`, and `fallback` for fallback keys).
 */
function uploadedKeys(body: JsonObject, field: string): UploadedKey[] {
  const map = optionalObject(body, field);
  if (!map) return [];
  return Object.entries(map).map(([name, key]) => {
    const parts = name.split(':');
    if (parts.length !== 2 || parts[0] === '' || parts[1] === '') throw badJson(`"${field}" key names must be <algorithm>:<key_id>, got ${JSON.stringify(name)}.`);
    const isKeyObject = isJsonObject(key) && typeof key.key === 'string' && isSignatures(key.signatures) && (key.fallback === undefined || typeof key.fallback === 'boolean');
    if (typeof key !== 'string' && !isKeyObject) throw badJson(`"${field}.${name}" must be a key string or a KeyObject with key and signatures.`);
    return { algorithm: parts[0]!, key_id: parts[1]!, key };
  });
}

// ---- keys of this server's users --------------------------------------------------------------

/**
 * The keys of a local user for a query (client `keys/query`, federation `user/keys/query` and
 * `user/devices`): of existing devices only, with `unsigned.device_display_name` for clients
 * (spec: "the same as uploaded via /keys/upload, with the addition of an unsigned property").
 * Over federation display names stay private, as with Synapse's default.
 */
export async function localUserKeys(env: HomeserverBindings, userId: string, deviceIds: string[], o: { displayNames: boolean; userSigning: boolean }): Promise<QueriedKeys> {
  const [keys, devices] = await Promise.all([userKeysApi(env.USER_KEYS, userId).getKeys(deviceIds, o.userSigning), userApi(env.USER, userId).getDevices()]);
  const names = new Map(devices.map((d) => [d.device_id, d.display_name]));
  const deviceKeys: Record<string, JsonObject> = {};
  for (const [deviceId, k] of Object.entries(keys.device_keys)) {
    // Keys outlive their device only if its deletion was cut short between the two objects.
    if (!names.has(deviceId)) continue;
    const name = names.get(deviceId);
    deviceKeys[deviceId] = o.displayNames ? { ...k, unsigned: name !== undefined ? { device_display_name: name } : {} } : k;
  }
  return { ...keys, device_keys: deviceKeys };
}

/** `users` split into this server's and, per other server, that server's. */
function byRemoteServer<T>(users: Map<string, T>, serverName: string): { local: Map<string, T>; remote: Map<string, Record<string, T>> } {
  const local = new Map<string, T>();
  const remote = new Map<string, Record<string, T>>();
  for (const [userId, value] of users) {
    const server = serverNameOf(userId as UserId)!;
    if (server === serverName) local.set(userId, value);
    else {
      let part = remote.get(server);
      if (!part) remote.set(server, (part = {}));
      part[userId] = value;
    }
  }
  return { local, remote };
}

/** One request to another server, given up after `timeoutMs` (spec keys/query `timeout`). */
async function askServer(config: HomeserverConfig, server: string, uri: string, content: JsonObject, timeoutMs: number): Promise<JsonObject> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new FederationError(`${server} did not answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([federationRequest(federationSender(config), server, 'POST', uri, content), timeout]);
  } finally {
    if (timer !== undefined) clearTimeout(timer);
  }
}

/** A `failures` entry (Synapse's shape: the status, 503 when the server was not reached, and a message). */
function failureOf(e: unknown): JsonObject {
  if (e instanceof FederationError) return { status: e.status ?? 503, message: e.message };
  return { status: 503, message: (e as Error)?.message ?? String(e) };
}

/** `answer[field][userId]` for the users asked, as objects (of the user, for cross-signing keys). */
function answeredFor(answer: JsonObject, field: string, users: string[], ofUser: boolean): [string, JsonObject][] {
  const map = answer[field];
  if (!isJsonObject(map)) return [];
  const out: [string, JsonObject][] = [];
  for (const userId of users) {
    const v = map[userId];
    if (isJsonObject(v) && (!ofUser || v.user_id === userId)) out.push([userId, v]);
  }
  return out;
}

// ---- routes -----------------------------------------------------------------------------------

type QueryResult = Record<'device_keys' | 'master_keys' | 'self_signing_keys' | 'user_signing_keys' | 'failures', JsonObject>;

export const keys = new Hono<HomeserverEnv>()
  .post('/v3/keys/upload', requireAccessToken(), async (c) => {
    const { userId, deviceId } = c.var.auth;
    const body = await readJsonBody(c);
    if (body.device_keys === null) throw badJson('"device_keys" must be an object when present.');
    const deviceKeys = optionalObject(body, 'device_keys');
    const fallbackKeys = uploadedKeys(body, 'fallback_keys');
    // Spec fallback_keys: "There can only be at most one key per algorithm uploaded".
    if (new Set(fallbackKeys.map((k) => k.algorithm)).size !== fallbackKeys.length) throw new MatrixError(400, 'M_INVALID_PARAM', 'At most one fallback key per algorithm.');
    const result = await userKeysApi(c.env.USER_KEYS, userId).performUploadKeys({
      device_id: deviceId,
      ...(deviceKeys ? { device_keys: checkDeviceKeys(deviceKeys, userId, deviceId) } : {}),
      one_time_keys: uploadedKeys(body, 'one_time_keys'),
      fallback_keys: fallbackKeys,
    });
    if (!result.ok) throw matrixErrorOf(result);
    if (result.device_list_update) await announceDeviceListChange(c.env, userId, { device_updates: [result.device_list_update] });
    return c.json({ one_time_key_counts: result.one_time_key_counts });
  })

  .post('/v3/keys/query', requireAccessToken(), async (c) => {
    const { userId } = c.var.auth;
    const body = await readJsonBody(c);
    const { local, remote } = byRemoteServer(deviceIdLists(body), c.var.config.serverName);
    const timeoutMs = timeoutOf(body);
    const out: QueryResult = { device_keys: {}, master_keys: {}, self_signing_keys: {}, user_signing_keys: {}, failures: {} };
    await Promise.all([
      ...[...local].map(async ([target, deviceIds]) => {
        // Spec: a user-signing key is seen only by its owner.
        const k = await localUserKeys(c.env, target, deviceIds, { displayNames: true, userSigning: target === userId });
        out.device_keys[target] = k.device_keys;
        if (k.master_key) out.master_keys[target] = k.master_key;
        if (k.self_signing_key) out.self_signing_keys[target] = k.self_signing_key;
        if (k.user_signing_key) out.user_signing_keys[target] = k.user_signing_key;
      }),
      ...[...remote].map(async ([server, users]) => {
        try {
          const answer = await askServer(c.var.config, server, '/_matrix/federation/v1/user/keys/query', { device_keys: users }, timeoutMs);
          const asked = Object.keys(users);
          for (const [u, v] of answeredFor(answer, 'device_keys', asked, false)) out.device_keys[u] = v;
          for (const [u, v] of answeredFor(answer, 'master_keys', asked, true)) out.master_keys[u] = v;
          for (const [u, v] of answeredFor(answer, 'self_signing_keys', asked, true)) out.self_signing_keys[u] = v;
        } catch (e) {
          out.failures[server] = failureOf(e);
        }
      }),
    ]);
    // Spec master_keys: "along with the signatures uploaded via /keys/signatures/upload that the
    // requesting user is allowed to see": their own user-signing signatures on others' keys.
    const others = Object.keys(out.master_keys).filter((u) => u !== userId);
    const mySignatures = others.length > 0 ? await userKeysApi(c.env.USER_KEYS, userId).getSignaturesOn(others) : {};
    for (const [target, byKey] of Object.entries(mySignatures)) {
      const master = out.master_keys[target] as JsonObject;
      const signatures = byKey[crossSigningPublicKey(master) ?? ''];
      if (!signatures) continue;
      const all = isJsonObject(master.signatures) ? master.signatures : {};
      out.master_keys[target] = { ...master, signatures: { ...all, [userId]: { ...(isJsonObject(all[userId]) ? all[userId] : {}), ...signatures } } };
    }
    return c.json(out);
  })

  .post('/v3/keys/claim', requireAccessToken(), async (c) => {
    const body = await readJsonBody(c);
    const { local, remote } = byRemoteServer(claimMaps(body), c.var.config.serverName);
    const timeoutMs = timeoutOf(body);
    const out: { one_time_keys: JsonObject; failures: JsonObject } = { one_time_keys: {}, failures: {} };
    await Promise.all([
      ...[...local].map(async ([target, devices]) => {
        const claims = Object.entries(devices).map(([device_id, algorithm]) => ({ device_id, algorithm }));
        out.one_time_keys[target] = await userKeysApi(c.env.USER_KEYS, target).performClaim(claims);
      }),
      ...[...remote].map(async ([server, users]) => {
        try {
          const answer = await askServer(c.var.config, server, '/_matrix/federation/v1/user/keys/claim', { one_time_keys: users }, timeoutMs);
          for (const [u, v] of answeredFor(answer, 'one_time_keys', Object.keys(users), false)) out.one_time_keys[u] = v;
        } catch (e) {
          out.failures[server] = failureOf(e);
        }
      }),
    ]);
    return c.json(out);
  })

  .post('/v3/keys/device_signing/upload', requireAccessToken(), async (c) => {
    const { userId } = c.var.auth;
    const body = await readJsonBody(c);
    const given: Partial<Record<CrossSigningUsage, JsonObject>> = {};
    for (const [usage, field] of Object.entries(CROSS_SIGNING_FIELDS) as [CrossSigningUsage, string][]) {
      const key = optionalObject(body, field);
      if (key) given[usage] = key;
    }
    const userKeys = userKeysApi(c.env.USER_KEYS, userId);
    const stored = await userKeys.getCrossSigningKeys();
    // Spec (v1.11+): uploading exactly the stored keys again succeeds without anything done.
    const changes = (Object.keys(given) as CrossSigningUsage[]).some((u) => !stored[u] || encodeCanonicalJson(stored[u]) !== encodeCanonicalJson(given[u]!));
    if (!changes) return c.json({});
    const user = userApi(c.env.USER, userId);
    // Spec: user-interactive auth, except when the user has no master key yet.
    if (stored.master) await passwordAuth(body, user, userId, c.var.config.serverName, 'POST /keys/device_signing/upload');
    const devices = await user.getDevices();
    const upload = await checkCrossSigningUpload(userId, given, stored.master, devices.map((d) => d.device_id));
    const result = await userKeys.performUploadCrossSigningKeys(upload);
    if (!result.ok) throw matrixErrorOf(result);
    if (result.signing_key_update) await announceDeviceListChange(c.env, userId, { signing_key_update: result.signing_key_update });
    if (result.user_signing_changed) await announceToOwnDevices(c.env, userId, [userId]);
    return c.json({});
  })

  .post('/v3/keys/signatures/upload', requireAccessToken(), async (c) => {
    const { userId } = c.var.auth;
    const body = await readJsonBody(c);
    const checked = await checkSignatureUpload(c.env, c.var.config, userId, signedKeysOf(body));
    if (checked.items.length > 0) {
      const stored = await userKeysApi(c.env.USER_KEYS, userId).performStoreSignatures(checked.items);
      if (!stored.ok) throw matrixErrorOf(stored);
      await announceDeviceListChange(c.env, userId, {
        device_updates: stored.device_list_updates,
        ...(stored.signing_key_update ? { signing_key_update: stored.signing_key_update } : {}),
      });
      await announceToOwnDevices(c.env, userId, stored.signed_users);
    }
    return c.json({ failures: checked.failures });
  });
