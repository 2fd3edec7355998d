/**
 * Federation endpoints about this server's users and third-party invites (spec v1.16,
 * Server-Server API, https://spec.matrix.org/v1.16/server-server-api/):
 * - "Device Management": `GET /_matrix/federation/v1/user/devices/{userId}`;
 * - "End-to-End Encryption": `POST /_matrix/federation/v1/user/keys/query` and `…/keys/claim`;
 * - "OpenID": `GET /_matrix/federation/v1/openid/userinfo` (no X-Matrix: the token is the proof);
 * - "Third-party invites": `PUT /_matrix/federation/v1/3pid/onbind` (from identity servers,
 *   unauthenticated) and `PUT /_matrix/federation/v1/exchange_third_party_invite/{roomId}`.
 *
 * Keys come from the users' UserKeys objects (durable-objects/user-keys), read as for the
 * client `keys/query` (workers/homeserver/client/keys.ts) but without device display names,
 * which stay private as with Synapse's default (`allow_device_name_lookup_over_federation:
 * false`): they often name people and places. `stream_id` is the user's device-list stream
 * position, the one `m.device_list_update` EDUs carry (workers/shared/device-lists.ts).
 */
import { Hono } from 'hono';
import { isJsonObject, type JsonObject } from '../../../core/canonical-json';
import { isValidRoomId, isValidUserId } from '../../../core/ids';
import { roomApi } from '../../../durable-objects/room/api';
import { userApi } from '../../../durable-objects/user/api';
import { userKeysApi } from '../../../durable-objects/user-keys/api';
import { hashAccessToken } from '../../shared/access-token';
import { noAuth } from '../../shared/auth';
import { optionalString, readJsonBody, requiredString } from '../../shared/body';
import type { HomeserverConfig } from '../../shared/config';
import { MatrixError, matrixErrorOf } from '../../shared/errors';
import { federationRequest, federationSender } from '../../shared/federation-client';
import { claimMaps, deviceIdLists, localUserKeys } from '../client/keys';
import { userIdOfOpenIdToken } from '../client/openid';
import type { HomeserverBindings, HomeserverEnv } from '../env';
import { requireServerAuth } from './auth';

const serverOf = (id: string) => id.slice(id.indexOf(':') + 1);
const isLocalUser = (userId: string, serverName: string) => isValidUserId(userId) && serverOf(userId) === serverName;

const badJson = (message: string) => new MatrixError(400, 'M_BAD_JSON', message);

/** `user/keys/query` for this server's users of `requested` (user → device IDs; others are left out). */
async function queryLocalKeys(env: HomeserverBindings, requested: Map<string, string[]>, serverName: string): Promise<JsonObject> {
  const deviceKeys: JsonObject = {};
  const masterKeys: JsonObject = {};
  const selfSigningKeys: JsonObject = {};
  await Promise.all(
    [...requested].map(async ([userId, deviceIds]) => {
      if (!isLocalUser(userId, serverName)) return;
      const k = await localUserKeys(env, userId, deviceIds, { displayNames: false, userSigning: false });
      deviceKeys[userId] = k.device_keys;
      if (k.master_key) masterKeys[userId] = k.master_key;
      if (k.self_signing_key) selfSigningKeys[userId] = k.self_signing_key;
    }),
  );
  return {
    device_keys: deviceKeys,
    ...(Object.keys(masterKeys).length > 0 ? { master_keys: masterKeys } : {}),
    ...(Object.keys(selfSigningKeys).length > 0 ? { self_signing_keys: selfSigningKeys } : {}),
  };
}

/** `user/keys/claim` for this server's users of `requested` (user → device → algorithm; others are left out). */
async function claimLocalKeys(env: HomeserverBindings, requested: Map<string, Record<string, string>>, serverName: string): Promise<JsonObject> {
  const out: JsonObject = {};
  await Promise.all(
    [...requested].map(async ([userId, devices]) => {
      if (!isLocalUser(userId, serverName)) return;
      const claims = Object.entries(devices).map(([device_id, algorithm]) => ({ device_id, algorithm }));
      out[userId] = await userKeysApi(env.USER_KEYS, userId).performClaim(claims);
    }),
  );
  return out;
}

/** The partial `m.room.member` event of an exchange request, checked for the spec's shape. */
interface ThirdPartyMember {
  sender: string;
  state_key: string;
  content: JsonObject;
  token: string;
}

function thirdPartyMemberOf(body: JsonObject, roomId: string): ThirdPartyMember {
  if (body.type !== 'm.room.member') throw badJson('"type" must be m.room.member.');
  if (body.room_id !== roomId) throw badJson('"room_id" must be the room of the path.');
  const sender = requiredString(body, 'sender');
  const stateKey = requiredString(body, 'state_key');
  if (!isValidUserId(sender) || !isValidUserId(stateKey)) throw badJson('"sender" and "state_key" must be user IDs.');
  const content = body.content;
  if (!isJsonObject(content) || content.membership !== 'invite') throw badJson('"content.membership" must be invite.');
  const invite = content.third_party_invite;
  const signed = isJsonObject(invite) ? invite.signed : undefined;
  if (!isJsonObject(signed) || typeof signed.token !== 'string' || typeof signed.mxid !== 'string' || !isJsonObject(signed.signatures)) {
    throw badJson('"content.third_party_invite.signed" must hold mxid, token and signatures.');
  }
  return { sender, state_key: stateKey, content, token: signed.token };
}

/**
 * Turn a third-party invite into an invite member event in a room this server has (spec
 * "Third-party invites": the room's server "will verify the partial m.room.member event ... If
 * valid, the receiving server will issue an invite"). The Room object checks it with its auth
 * rules, the signed block verified against the room's `m.room.third_party_invite` keys.
 *
 * The event's sender is the user who made the third-party invite. Only events of this
 * server's users can be authored here: an event of another server's user must carry that
 * server's signature (spec "Validating hashes and signatures on received events"), which this
 * server cannot make. Such requests are refused with 403; the other server should be asked.
 * The written invite reaches the servers in the room through the room's federation outbox;
 * sending it to the invitee's server with `PUT /v2/invite` comes with the client side of
 * remote invites.
 */
async function exchangeThirdPartyInvite(env: HomeserverBindings, config: HomeserverConfig, roomId: string, member: ThirdPartyMember, origin?: string): Promise<void> {
  const room = roomApi(env.ROOM, roomId);
  const access = origin === undefined ? await room.getRoomInfo() : await room.queryServerAccess(origin);
  if (!access) throw new MatrixError(404, 'M_NOT_FOUND', 'Room not found.');
  if ('acl_allows' in access && !access.acl_allows) throw new MatrixError(403, 'M_FORBIDDEN', 'Server is denied by the room\'s server ACL.');
  if (!isLocalUser(member.sender, config.serverName)) {
    throw new MatrixError(403, 'M_FORBIDDEN', `Cannot issue the invite for ${member.sender}: only events of this server's users (${config.serverName}) can be signed here.`);
  }
  // Synapse adds the invite's display name from the `m.room.third_party_invite` event.
  const thirdPartyInvite = await room.getStateEvent('m.room.third_party_invite', member.token);
  const displayName = isJsonObject(thirdPartyInvite?.pdu.content) ? thirdPartyInvite.pdu.content.display_name : undefined;
  const invite = member.content.third_party_invite as JsonObject;
  const content: JsonObject = {
    ...member.content,
    third_party_invite: { ...invite, ...(typeof displayName === 'string' ? { display_name: displayName } : {}) },
  };
  const sent = await room.performSend({ type: 'm.room.member', sender: member.sender, state_key: member.state_key, content });
  if (!sent.ok) throw matrixErrorOf(sent);
}

/**
 * Spec `3pid/onbind`: each pending invite of the newly bound address becomes an invite member
 * event, through `exchange_third_party_invite` — done here for rooms this server has and
 * senders that are its users, asked of the sender's server otherwise (as Synapse). Failures are
 * logged: the identity server cannot act on them. This server keeps no store of third-party
 * bindings (it has no identity service of its own), so nothing else is recorded.
 */
async function onBind(env: HomeserverBindings, config: HomeserverConfig, body: JsonObject): Promise<void> {
  requiredString(body, 'medium');
  requiredString(body, 'address');
  const mxid = requiredString(body, 'mxid');
  if (!isValidUserId(mxid)) throw badJson('"mxid" must be a user ID.');
  const invites = body.invites ?? [];
  if (!Array.isArray(invites) || !invites.every(isJsonObject)) throw badJson('"invites" must be an array of objects.');
  for (const invite of invites as JsonObject[]) {
    const roomId = optionalString(invite, 'room_id');
    const sender = optionalString(invite, 'sender');
    const signed = invite.signed;
    if (!roomId || !isValidRoomId(roomId) || !sender || !isValidUserId(sender) || !isJsonObject(signed)) {
      console.warn('3pid/onbind: an invite without room_id, sender or signed is skipped');
      continue;
    }
    const event: JsonObject = { type: 'm.room.member', room_id: roomId, sender, state_key: mxid, content: { membership: 'invite', third_party_invite: { signed } } };
    try {
      if (isLocalUser(sender, config.serverName)) {
        await exchangeThirdPartyInvite(env, config, roomId, thirdPartyMemberOf(event, roomId));
      } else {
        await federationRequest(federationSender(config), serverOf(sender), 'PUT', `/_matrix/federation/v1/exchange_third_party_invite/${encodeURIComponent(roomId)}`, event);
      }
    } catch (e) {
      console.warn(`3pid/onbind: the invite of ${mxid} to ${roomId} was not exchanged: ${(e as Error).message}`);
    }
  }
}

export const federationUsers = new Hono<HomeserverEnv>()
  .get('/v1/user/devices/:userId', requireServerAuth(), async (c) => {
    const userId = c.req.param('userId');
    // Synapse: 400 "User is not hosted on this homeserver".
    if (!isLocalUser(userId, c.var.config.serverName)) throw new MatrixError(400, 'M_INVALID_PARAM', 'User is not hosted on this homeserver.');
    // Spec: each listed device has `keys` (its signed `DeviceKeys`), so only devices that uploaded
    // keys are listed (as Synapse).
    const k = await localUserKeys(c.env, userId, [], { displayNames: false, userSigning: false });
    return c.json({
      user_id: userId,
      stream_id: k.stream_id,
      devices: Object.entries(k.device_keys).map(([device_id, keys]) => ({ device_id, keys })),
      ...(k.master_key ? { master_key: k.master_key } : {}),
      ...(k.self_signing_key ? { self_signing_key: k.self_signing_key } : {}),
    });
  })

  .post('/v1/user/keys/query', requireServerAuth(), async (c) => {
    const requested = deviceIdLists(await readJsonBody(c));
    return c.json(await queryLocalKeys(c.env, requested, c.var.config.serverName));
  })

  .post('/v1/user/keys/claim', requireServerAuth(), async (c) => {
    const requested = claimMaps(await readJsonBody(c));
    return c.json({ one_time_keys: await claimLocalKeys(c.env, requested, c.var.config.serverName) });
  })

  // Spec: no request authentication; the OpenID token in the query is checked.
  .get('/v1/openid/userinfo', noAuth(), async (c) => {
    const token = c.req.query('access_token') ?? '';
    const claimed = userIdOfOpenIdToken(token);
    const userId = claimed && isLocalUser(claimed, c.var.config.serverName) ? await userApi(c.env.USER, claimed).getOpenIdTokenUser(await hashAccessToken(token), Date.now()) : undefined;
    if (!userId) throw new MatrixError(401, 'M_UNKNOWN_TOKEN', 'Access token unknown or expired.');
    return c.json({ sub: userId });
  })

  // Spec: called by identity servers, which have no server keys: no request authentication.
  .put('/v1/3pid/onbind', noAuth(), async (c) => {
    await onBind(c.env, c.var.config, await readJsonBody(c));
    return c.json({});
  })

  .put('/v1/exchange_third_party_invite/:roomId', requireServerAuth(), async (c) => {
    const roomId = c.req.param('roomId');
    const member = thirdPartyMemberOf(await readJsonBody(c), roomId);
    await exchangeThirdPartyInvite(c.env, c.var.config, roomId, member, c.var.origin);
    return c.json({});
  });
