/**
 * @module Profiles (spec v1.16, Client-Server API "Profiles"):
 * `GET /_matrix/client/v3/profile/{userId}` and
 * `GET`/`PUT`/`DELETE /_matrix/client/v3/profile/{userId}/{keyName}`
 * (`displayname`, `avatar_url`, `m.tz` and custom keys).
 * https://spec.matrix.org/v1.16/client-server-api/#profiles
 *
 * Profiles of local users live in their objects. Profiles of remote users are asked of their
 * server (`GET /_matrix/federation/v1/query/profile`, remote-queries.ts). Reads need no access
 * token (the spec leaves that to the server).
 *
 * Spec ("Events on change of profile information"): "Because the profile display name and
 * avatar information are likely to be used in many places of a client's display, changes to
 * these fields cause an automatic propagation event to occur, informing likely-interested
 * parties of the new values. This change is conveyed using two separate mechanisms: an
 * `m.room.member` event (with a `join` membership) is sent to every room the user is a member
 * of, to update the `displayname` and `avatar_url`." So a change of either field sends a new
 * member event into every room the user is joined to, before the request answers; a room that
 * refuses it is skipped.
 */
import { Hono } from 'hono';
import type { JsonObject, JsonValue } from '../../../core/canonical-json';
import { isJsonObject } from '../../../core/canonical-json';
import { isValidUserId } from '../../../core/ids';
import { roomApi } from '../../../durable-objects/room/api';
import { userApi } from '../../../durable-objects/user/api';
import { noAuth, requireAccessToken } from '../../shared/auth';
import { readJsonBody } from '../../shared/body';
import { MatrixError, matrixErrorOf } from '../../shared/errors';
import type { HomeserverEnv } from '../env';
import type { HomeserverConfig } from '../../shared/config';
import { remoteProfile } from './remote-queries';
import { mapLimited } from './sync';
import { indexUser } from './user-directory';

/** The two fields copied into member events. */
const MEMBER_FIELDS = ['displayname', 'avatar_url'] as const;
/** Spec: `keyName` "MUST be either `avatar_url`, `displayname`, `m.tz`, or a custom field following the Common Namespaced Identifier Grammar". */
const KEY_NAME = /^(avatar_url|displayname|m\.tz|[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+)$/;
/** Spec (`M_KEY_TOO_LARGE`): "the maximum allowed key length of 255 bytes". */
const MAX_KEY_BYTES = 255;
/** Rooms updated at once (Workers allow six simultaneous subrequests per request). */
const ROOM_CONCURRENCY = 6;

const notFound = () => new MatrixError(404, 'M_NOT_FOUND', 'Profile not found.');

const isLocal = (userId: string, serverName: string) => isValidUserId(userId) && userId.endsWith(`:${serverName}`);

/** A local user's profile; `404 M_NOT_FOUND` for remote, unknown or deactivated users. */
async function profileOf(users: DurableObjectNamespace, userId: string, serverName: string): Promise<JsonObject> {
  if (!isLocal(userId, serverName)) throw notFound();
  const profile = await userApi(users, userId).getProfile();
  if (!profile) throw notFound();
  return profile;
}

/**
 * `content` of a member event about `userId` with the user's displayname and avatar_url (a
 * local user's; others are left as they are). Used by joins and invites.
 */
export async function withProfile(users: DurableObjectNamespace, serverName: string, userId: string, content: JsonObject): Promise<JsonObject> {
  if (!isLocal(userId, serverName)) return content;
  const profile = await userApi(users, userId).getProfile();
  if (!profile) return content;
  const out: JsonObject = { ...content };
  for (const key of MEMBER_FIELDS) {
    const value = profile[key];
    if (typeof value === 'string') out[key] = value;
  }
  return out;
}

/** Send `userId`'s new displayname/avatar_url as a join member event into every joined room. */
async function propagate(env: HomeserverEnv['Bindings'], userId: string, profile: JsonObject): Promise<void> {
  const roomIds = await userApi(env.USER, userId).getJoinedRooms();
  await mapLimited(roomIds, ROOM_CONCURRENCY, async (roomId) => {
    const room = roomApi(env.ROOM, roomId);
    const current = await room.getStateEvent('m.room.member', userId);
    const old = current && isJsonObject(current.pdu.content) ? current.pdu.content : {};
    if (old.membership !== 'join') return;
    // Keep the rest of the content, but not what belonged to the earlier join request.
    const { reason: _r, join_authorised_via_users_server: _j, ...kept } = old;
    const content: JsonObject = { ...kept, membership: 'join' };
    for (const key of MEMBER_FIELDS) {
      const value = profile[key];
      if (typeof value === 'string') content[key] = value;
      else delete content[key];
    }
    if (MEMBER_FIELDS.every((k) => content[k] === old[k])) return;
    const sent = await room.performSend({ type: 'm.room.member', sender: userId, state_key: userId, content });
    if (!sent.ok) console.warn(`profile update of ${userId} not sent to ${roomId}: ${sent.errcode} ${sent.error}`);
  });
}

/** The path's user, who must be the requester (spec: 403 for other users' profiles). */
function requireSelf(pathUserId: string, userId: string): void {
  if (pathUserId !== userId) throw new MatrixError(403, 'M_FORBIDDEN', "Cannot change other users' profiles.");
}

function keyNameOf(raw: string): string {
  if (new TextEncoder().encode(raw).byteLength > MAX_KEY_BYTES) throw new MatrixError(400, 'M_KEY_TOO_LARGE', 'Profile keys are at most 255 bytes.');
  if (!KEY_NAME.test(raw)) throw new MatrixError(400, 'M_INVALID_PARAM', `Invalid profile key: ${raw}`);
  return raw;
}

/**
 * The value to store for `key` (undefined: delete). `displayname` and `avatar_url` must be
 * strings (an empty string removes the field, as Synapse does); `m.tz` a string; custom keys any
 * JSON, `null` included (spec: servers "SHOULD store them rather than treating null as a deletion").
 */
function valueOf(key: string, body: JsonObject): JsonValue | undefined {
  if (!(key in body)) throw new MatrixError(400, 'M_MISSING_PARAM', `"${key}" is required.`);
  const value = body[key]!;
  if (key === 'displayname' || key === 'avatar_url' || key === 'm.tz') {
    if (typeof value !== 'string') throw new MatrixError(400, 'M_BAD_JSON', `"${key}" must be a string.`);
    if (key === 'avatar_url' && value !== '' && !/^mxc:\/\/[^/]+\/[^/]+$/.test(value)) throw new MatrixError(400, 'M_BAD_JSON', '"avatar_url" must be an mxc:// URI.');
    if (value === '' && key !== 'm.tz') return undefined;
  }
  return value;
}

async function setField(env: HomeserverEnv['Bindings'], userId: string, key: string, value: JsonValue | undefined): Promise<void> {
  const result = await userApi(env.USER, userId).performSetProfileField(key, value);
  if (!result.ok) throw matrixErrorOf(result);
  if (!(MEMBER_FIELDS as readonly string[]).includes(key)) return;
  // The user directory searches display names and shows avatars (see user-directory.ts).
  await indexUser(env, userId, result.profile);
  await propagate(env, userId, result.profile);
}

/** A local user's profile, or another server's user's through a federation query (remote-queries.ts). */
async function readProfile(env: HomeserverEnv['Bindings'], config: HomeserverConfig, userId: string, key?: string): Promise<JsonObject> {
  if (isValidUserId(userId) && !isLocal(userId, config.serverName)) return remoteProfile(config, userId, key);
  return profileOf(env.USER, userId, config.serverName);
}

export const profile = new Hono<HomeserverEnv>()
  .get('/v3/profile/:userId', noAuth(), async (c) => c.json(await readProfile(c.env, c.var.config, c.req.param('userId'))))

  .get('/v3/profile/:userId/:keyName', noAuth(), async (c) => {
    const key = c.req.param('keyName');
    const value = (await readProfile(c.env, c.var.config, c.req.param('userId'), key))[key];
    if (value === undefined) throw notFound();
    return c.json({ [key]: value });
  })

  .put('/v3/profile/:userId/:keyName', requireAccessToken(), async (c) => {
    const { userId } = c.var.auth;
    requireSelf(c.req.param('userId'), userId);
    const key = keyNameOf(c.req.param('keyName'));
    await setField(c.env, userId, key, valueOf(key, await readJsonBody(c)));
    return c.json({});
  })

  .delete('/v3/profile/:userId/:keyName', requireAccessToken(), async (c) => {
    const { userId } = c.var.auth;
    requireSelf(c.req.param('userId'), userId);
    await setField(c.env, userId, keyNameOf(c.req.param('keyName')), undefined);
    return c.json({});
  });
