/**
 * The client side of invites that cross servers (spec v1.16, Server-Server API "Inviting to a
 * room" and "Leaving Rooms (Rejecting Invites)";
 * https://spec.matrix.org/v1.16/server-server-api/#inviting-to-a-room):
 * - inviting a user of another server: the Room object plans the invite without writing it,
 *   we sign it, the invitee's server countersigns it (`PUT /v2/invite`), and the Room object
 *   takes the returned event in and sends it to the servers in the room;
 * - rejecting an invite to a room this server does not have: make_leave / send_leave at the
 *   inviting server, recorded in the user's object so /sync moves the room to `leave`
 *   (durable-objects/user/remote-invites.ts);
 * - the server a user invited that way joins through (the inviter's).
 */
import { encodeBase64Url } from '../../../core/base64';
import { isJsonObject, type JsonObject } from '../../../core/canonical-json';
import { webCryptoEd25519 } from '../../../core/crypto/ed25519-webcrypto';
import { signEvent, verifyEventSignature } from '../../../core/crypto/signing';
import { computeEventId } from '../../../core/events/hashes';
import { signatureKeyIds } from '../../../core/federation/server-keys';
import { getRoomVersionRules, type RoomVersionRules } from '../../../core/room-versions';
import { roomApi, type SendInput } from '../../../durable-objects/room/api';
import { userApi } from '../../../durable-objects/user/api';
import type { HomeserverConfig } from '../../shared/config';
import { MatrixError, matrixErrorOf } from '../../shared/errors';
import { federationRequest, federationSender, FederationError } from '../../shared/federation-client';
import { getServerVerifyKey, verifyEventSignatures } from '../../shared/server-keys';
import type { HomeserverBindings } from '../env';

const serverOf = (id: string): string => id.slice(id.indexOf(':') + 1);
const enc = encodeURIComponent;

/** Whether `server` signed `pdu` with a key of its that verifies. */
async function signedBy(env: HomeserverBindings, pdu: JsonObject, rules: RoomVersionRules, server: string): Promise<boolean> {
  for (const keyId of signatureKeyIds(pdu, server)) {
    const key = await getServerVerifyKey(env, server, keyId).catch(() => undefined);
    if (key && (await verifyEventSignature(pdu, rules, server, keyId, key, webCryptoEd25519))) return true;
  }
  return false;
}

/**
 * The invitee's server's refusal, for the client (spec: a 403 or 400 "should be passed
 * through", but `M_MISSING_PARAM` is our request's fault: a 5xx).
 */
function inviteError(server: string, e: FederationError): MatrixError {
  const errcode = typeof e.body?.errcode === 'string' ? e.body.errcode : undefined;
  const message = typeof e.body?.error === 'string' ? e.body.error : e.message;
  if (e.status === 403) return new MatrixError(403, 'M_FORBIDDEN', message);
  if (e.status === 400 && errcode === 'M_INCOMPATIBLE_ROOM_VERSION') return new MatrixError(400, 'M_INCOMPATIBLE_ROOM_VERSION', message, { room_version: e.body?.room_version });
  return new MatrixError(502, 'M_UNKNOWN', `Inviting through ${server} failed: ${message}`);
}

/**
 * Invite `invitee` (a user of another server) into `roomId` as `sender`; `content` is the
 * member event's content (`membership: invite`, reason, profile, is_direct). Returns the event ID.
 */
export async function inviteRemoteUser(env: HomeserverBindings, config: HomeserverConfig, roomId: string, sender: string, invitee: string, content: JsonObject): Promise<string> {
  const room = roomApi(env.ROOM, roomId);
  const input: SendInput = { type: 'm.room.member', sender, state_key: invitee, content: { ...content, membership: 'invite' } };
  const draft = await room.getInviteDraft(input);
  if (!draft.ok) throw matrixErrorOf(draft);
  const rules = getRoomVersionRules(draft.room_version)!;
  const signed = await signEvent(draft.event, rules, config.serverName, config.signingKey.keyId, config.signingKey.seed, webCryptoEd25519);
  const eventId = computeEventId(signed, rules);
  const server = serverOf(invitee);
  let response: JsonObject;
  try {
    response = await federationRequest(federationSender(config), server, 'PUT', `/_matrix/federation/v2/invite/${enc(roomId)}/${enc(eventId)}`, {
      room_version: draft.room_version, event: signed, invite_room_state: draft.invite_room_state,
    });
  } catch (e) {
    if (e instanceof FederationError) throw inviteError(server, e);
    throw e;
  }
  // The same event (its ID covers every field but signatures), signed by us and by the invitee's server.
  const returned = response.event;
  if (!isJsonObject(returned) || safeEventId(returned, rules) !== eventId) throw new MatrixError(502, 'M_UNKNOWN', `${server} answered the invite with another event.`);
  if (!(await signedBy(env, returned, rules, server)) || !(await verifyEventSignatures(env, returned, rules)).ok) {
    throw new MatrixError(502, 'M_UNKNOWN', `${server} did not countersign the invite.`);
  }
  const committed = await room.performCommitInvite(returned);
  if (!committed.ok) throw matrixErrorOf(committed);
  return committed.event_id;
}

/** The servers to join a room through that only an invite over federation told us of: the inviter's. */
export async function remoteInviteServers(env: HomeserverBindings, userId: string, roomId: string): Promise<string[]> {
  const [invite] = await userApi(env.USER, userId).getRemoteMemberships([roomId]);
  if (invite?.membership !== 'invite' || typeof invite.event.sender !== 'string') return [];
  return [serverOf(invite.event.sender)];
}

/**
 * Reject the invite to `roomId`, a room this server does not have: make_leave / send_leave at
 * the inviter's server. Should that server refuse or be unreachable, the invite is rejected
 * here alone (as Synapse does), so that the user is not stuck with it. Returns false when the
 * user has no such invite.
 */
export async function rejectRemoteInvite(env: HomeserverBindings, config: HomeserverConfig, userId: string, roomId: string, reason: string | undefined): Promise<boolean> {
  const user = userApi(env.USER, userId);
  const [invite] = await user.getRemoteMemberships([roomId]);
  if (invite?.membership !== 'invite' || typeof invite.event.sender !== 'string') return false;
  const server = serverOf(invite.event.sender);
  let leave: { event_id: string; event: JsonObject };
  try {
    leave = await sendLeave(env, config, server, userId, roomId, reason);
  } catch (e) {
    if (!(e instanceof FederationError) && !(e instanceof MatrixError)) throw e;
    console.error(`rejecting the invite to ${roomId} through ${server} failed; rejecting it here only:`, e.message);
    // An out-of-band leave: no room holds it, only this user's /sync shows it.
    const event: JsonObject = {
      type: 'm.room.member', room_id: roomId, sender: userId, state_key: userId, origin_server_ts: Date.now(),
      content: reason === undefined ? { membership: 'leave' } : { membership: 'leave', reason },
    };
    leave = { event_id: `$${encodeBase64Url(crypto.getRandomValues(new Uint8Array(32)))}`, event };
  }
  const recorded = await user.performRemoteMembership({ room_id: roomId, membership: 'leave', event_id: leave.event_id, event: leave.event, invite_state: [] });
  if (!recorded.ok) throw matrixErrorOf(recorded);
  return true;
}

async function sendLeave(env: HomeserverBindings, config: HomeserverConfig, server: string, userId: string, roomId: string, reason: string | undefined): Promise<{ event_id: string; event: JsonObject }> {
  const sender = federationSender(config);
  const made = await federationRequest(sender, server, 'GET', `/_matrix/federation/v1/make_leave/${enc(roomId)}/${enc(userId)}`);
  const rules = getRoomVersionRules(typeof made.room_version === 'string' ? made.room_version : '');
  if (!rules || rules.event_refs_include_hashes || !isJsonObject(made.event)) throw new MatrixError(502, 'M_UNKNOWN', `${server} answered make_leave with no usable template.`);
  const { origin: _o, hashes: _h, signatures: _s, unsigned: _u, ...template } = made.event;
  if (template.type !== 'm.room.member' || template.sender !== userId || template.state_key !== userId || template.room_id !== roomId) {
    throw new MatrixError(502, 'M_UNKNOWN', `${server} answered make_leave with another event.`);
  }
  const event: JsonObject = { ...template, content: reason === undefined ? { membership: 'leave' } : { membership: 'leave', reason } };
  const signed = await signEvent(event, rules, config.serverName, config.signingKey.keyId, config.signingKey.seed, webCryptoEd25519);
  const eventId = computeEventId(signed, rules);
  await federationRequest(sender, server, 'PUT', `/_matrix/federation/v2/send_leave/${enc(roomId)}/${enc(eventId)}`, signed);
  return { event_id: eventId, event: signed };
}

function safeEventId(pdu: JsonObject, rules: RoomVersionRules): string | undefined {
  try {
    return computeEventId(pdu, rules);
  } catch {
    return undefined;
  }
}
