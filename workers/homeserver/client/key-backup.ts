/**
 * @module Server-side key backups (spec v1.16, Client-Server API "Server-side key backups"):
 * `POST`/`GET /_matrix/client/v3/room_keys/version`,
 * `GET`/`PUT`/`DELETE /_matrix/client/v3/room_keys/version/{version}`, and
 * `GET`/`PUT`/`DELETE /_matrix/client/v3/room_keys/keys[/{roomId}[/{sessionId}]]?version=`.
 * https://spec.matrix.org/v1.16/client-server-api/#server-side-key-backups
 *
 * Each user's backups live in their own KeyBackup object (durable-objects/key-backup), which
 * owns versioning and the rule for which key of a session is kept. This router checks the
 * request shapes and turns the three nested forms of the keys endpoints into one: a room's
 * sessions, or one session's key, are uploaded and read as `rooms` holding just them.
 */
import { Hono, type Context } from 'hono';
import { isJsonObject, type JsonObject, type JsonValue } from '../../../core/canonical-json';
import { isValidRoomId } from '../../../core/ids';
import {
  keyBackupApi,
  type BackupConfig,
  type KeyBackupApi,
  type KeyBackupData,
  type KeyBackupFailure,
  type KeyBackupResult,
  type RoomKeyBackup,
  type RoomKeys,
  type RoomKeysScope,
} from '../../../durable-objects/key-backup/api';
import { requireAccessToken, type Auth } from '../../shared/auth';
import { optionalBoolean, optionalInteger, optionalObject, optionalString, readJsonBody, requiredString } from '../../shared/body';
import { MatrixError, matrixErrorOf } from '../../shared/errors';
import type { HomeserverEnv } from '../env';

type AuthedContext = Context<HomeserverEnv & { Variables: { auth: Auth } }>;

const backupOf = (c: AuthedContext): KeyBackupApi => keyBackupApi(c.env.KEY_BACKUP, c.var.auth.userId);

/** The object's failure as the spec's error; a wrong version also names the current one. */
function backupError(failure: KeyBackupFailure): MatrixError {
  if (failure.errcode === 'M_WRONG_ROOM_KEYS_VERSION') {
    return new MatrixError(403, failure.errcode, failure.error, { current_version: failure.current_version });
  }
  return matrixErrorOf(failure);
}

/** The value of a successful result without its `ok` flag; a failure is thrown. */
function settled<T extends object>(result: KeyBackupResult<T>): Omit<{ ok: true } & T, 'ok'> {
  if (!result.ok) throw backupError(result);
  const { ok: _ok, ...value } = result;
  return value;
}

// ---- request shapes ------------------------------------------------------------------------

const missing = (what: string) => new MatrixError(400, 'M_MISSING_PARAM', `${what} is required.`);
const badJson = (what: string, shape: string) => new MatrixError(400, 'M_BAD_JSON', `${what} must be ${shape}.`);

function requiredObject(body: JsonObject, key: string): JsonObject {
  const v = optionalObject(body, key);
  if (v === undefined) throw missing(`"${key}"`);
  return v;
}

/** `algorithm` and `auth_data`, required in `POST /room_keys/version` and `PUT .../{version}`. */
function backupConfigOf(body: JsonObject): BackupConfig {
  const algorithm = requiredString(body, 'algorithm');
  if (algorithm === '') throw new MatrixError(400, 'M_INVALID_PARAM', '"algorithm" must not be empty.');
  return { algorithm, auth_data: requiredObject(body, 'auth_data') };
}

/** A non-negative integer field of `KeyBackupData` (an index and a count). */
function countField(key: JsonObject, field: string, where: string): number {
  const v = optionalInteger(key, field);
  if (v === undefined) throw missing(`${where}.${field}`);
  if (v < 0) throw new MatrixError(400, 'M_INVALID_PARAM', `${where}.${field} must not be negative.`);
  return v;
}

/** Spec `KeyBackupData`: all four fields required; `where` names the key in errors. */
function keyBackupDataOf(value: JsonValue | undefined, where: string): KeyBackupData {
  if (!isJsonObject(value)) throw badJson(where, 'an object');
  const isVerified = optionalBoolean(value, 'is_verified');
  if (isVerified === undefined) throw missing(`${where}.is_verified`);
  const sessionData = optionalObject(value, 'session_data');
  if (sessionData === undefined) throw missing(`${where}.session_data`);
  return {
    first_message_index: countField(value, 'first_message_index', where),
    forwarded_count: countField(value, 'forwarded_count', where),
    is_verified: isVerified,
    session_data: sessionData,
  };
}

/** Spec `RoomKeyBackup`: `{sessions: {sessionId: KeyBackupData}}`. */
function roomKeyBackupOf(value: JsonValue | undefined, where: string): RoomKeyBackup {
  if (!isJsonObject(value)) throw badJson(where, 'an object');
  const sessions = value.sessions;
  if (sessions === undefined) throw missing(`${where}.sessions`);
  if (!isJsonObject(sessions)) throw badJson(`${where}.sessions`, 'an object');
  const out: RoomKeyBackup = { sessions: {} };
  for (const [sessionId, key] of Object.entries(sessions)) out.sessions[sessionId] = keyBackupDataOf(key, `${where}.sessions.${sessionId}`);
  return out;
}

function roomIdOf(raw: string): string {
  if (!isValidRoomId(raw)) throw new MatrixError(400, 'M_INVALID_PARAM', `Invalid room ID: ${raw}`);
  return raw;
}

/** The request body of the three `PUT /room_keys/keys` forms, as `rooms`. */
async function uploadedKeys(c: AuthedContext): Promise<RoomKeys> {
  const body = await readJsonBody(c);
  const roomId = c.req.param('roomId');
  const sessionId = c.req.param('sessionId');
  if (roomId !== undefined) {
    const room = roomIdOf(roomId);
    if (sessionId !== undefined) return { [room]: { sessions: { [sessionId]: keyBackupDataOf(body, 'The key') } } };
    return { [room]: roomKeyBackupOf(body, 'The body') };
  }
  const rooms = requiredObject(body, 'rooms');
  const out: RoomKeys = {};
  for (const [id, room] of Object.entries(rooms)) out[roomIdOf(id)] = roomKeyBackupOf(room, `rooms.${id}`);
  return out;
}

/** Which keys the path names: all, one room's, or one session's. */
function scopeOf(c: AuthedContext): RoomKeysScope {
  const roomId = c.req.param('roomId');
  if (roomId === undefined) return {};
  const sessionId = c.req.param('sessionId');
  return sessionId === undefined ? { room_id: roomIdOf(roomId) } : { room_id: roomIdOf(roomId), session_id: sessionId };
}

/** The `version` query parameter the keys endpoints require. */
function versionParam(c: AuthedContext): string {
  const version = c.req.query('version');
  if (version === undefined) throw missing('The "version" query parameter');
  return version;
}

// ---- handlers ------------------------------------------------------------------------------

async function putKeys(c: AuthedContext): Promise<Response> {
  const version = versionParam(c);
  const rooms = await uploadedKeys(c);
  return c.json(settled(await backupOf(c).performPutRoomKeys(version, rooms)));
}

/**
 * The stored keys in the shape of the path: `{rooms}`, a room's `{sessions}` (empty when the
 * room has none, spec: "an object with an empty `sessions` property will be returned"), or one
 * session's key (404 when it is not backed up, as Synapse answers).
 */
async function getKeys(c: AuthedContext): Promise<Response> {
  const version = versionParam(c);
  const scope = scopeOf(c);
  const { rooms } = settled(await backupOf(c).getRoomKeys(version, scope));
  if (scope.room_id === undefined) return c.json({ rooms });
  const room = rooms[scope.room_id] ?? { sessions: {} };
  if (scope.session_id === undefined) return c.json(room);
  const key = room.sessions[scope.session_id];
  if (!key) throw new MatrixError(404, 'M_NOT_FOUND', 'No key backed up for this session.');
  return c.json(key);
}

async function deleteKeys(c: AuthedContext): Promise<Response> {
  const version = versionParam(c);
  return c.json(settled(await backupOf(c).performDeleteRoomKeys(version, scopeOf(c))));
}

export const keyBackup = new Hono<HomeserverEnv>()
  .post('/v3/room_keys/version', requireAccessToken(), async (c) => {
    const config = backupConfigOf(await readJsonBody(c));
    return c.json(await backupOf(c).performCreateVersion(config));
  })

  .get('/v3/room_keys/version', requireAccessToken(), async (c) => {
    const current = await backupOf(c).getVersion();
    if (!current) throw new MatrixError(404, 'M_NOT_FOUND', 'No current backup version.');
    return c.json(current);
  })

  .get('/v3/room_keys/version/:version', requireAccessToken(), async (c) => {
    const info = await backupOf(c).getVersion(c.req.param('version'));
    if (!info) throw new MatrixError(404, 'M_NOT_FOUND', 'Unknown backup version.');
    return c.json(info);
  })

  .put('/v3/room_keys/version/:version', requireAccessToken(), async (c) => {
    const version = c.req.param('version');
    const body = await readJsonBody(c);
    const config = backupConfigOf(body);
    // Spec: "`version`: The backup version. If present, must be the same as the version in the path parameter."
    const bodyVersion = optionalString(body, 'version');
    if (bodyVersion !== undefined && bodyVersion !== version) throw new MatrixError(400, 'M_INVALID_PARAM', 'The version in the body does not match the path.');
    settled(await backupOf(c).performUpdateVersion(version, config));
    return c.json({});
  })

  .delete('/v3/room_keys/version/:version', requireAccessToken(), async (c) => {
    settled(await backupOf(c).performDeleteVersion(c.req.param('version')));
    return c.json({});
  })

  .put('/v3/room_keys/keys', requireAccessToken(), putKeys)
  .get('/v3/room_keys/keys', requireAccessToken(), getKeys)
  .delete('/v3/room_keys/keys', requireAccessToken(), deleteKeys)
  .put('/v3/room_keys/keys/:roomId', requireAccessToken(), putKeys)
  .get('/v3/room_keys/keys/:roomId', requireAccessToken(), getKeys)
  .delete('/v3/room_keys/keys/:roomId', requireAccessToken(), deleteKeys)
  .put('/v3/room_keys/keys/:roomId/:sessionId', requireAccessToken(), putKeys)
  .get('/v3/room_keys/keys/:roomId/:sessionId', requireAccessToken(), getKeys)
  .delete('/v3/room_keys/keys/:roomId/:sessionId', requireAccessToken(), deleteKeys);
