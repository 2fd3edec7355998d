/**
 * The invited server's side of an invite (spec v1.16, Server-Server API "Inviting to a room";
 * https://spec.matrix.org/v1.16/server-server-api/#put_matrixfederationv2inviteroomideventid):
 * `PUT /v2/invite/{roomId}/{eventId}` (body `{room_version, event, invite_room_state}`) and
 * the deprecated `PUT /v1/invite/{roomId}/{eventId}` (body: the event, with the stripped state
 * in `unsigned.invite_room_state`; answer `[200, {event}]`).
 *
 * The invite must be an `m.room.member` invite of one of our users, sent by a user of the
 * requesting server, with the path's event ID, a matching content hash and valid signatures.
 * We add our signature (over the redacted event, "Signing Events"), leave every other field as
 * it came, record the invite in the user's object with the room's stripped state (the room is
 * usually not here; durable-objects/user/remote-invites.ts) and return the event.
 */
import { Hono, type Context } from 'hono';
import { isJsonObject, type JsonObject } from '../../../core/canonical-json';
import { webCryptoEd25519 } from '../../../core/crypto/ed25519-webcrypto';
import { signEvent } from '../../../core/crypto/signing';
import { computeEventId, contentHash, roomIdFromCreateEventId } from '../../../core/events/hashes';
import { isValidRoomId, isValidUserId } from '../../../core/ids';
import { getRoomVersionRules, type RoomVersionRules } from '../../../core/room-versions';
import { roomApi } from '../../../durable-objects/room/api';
import { userApi, type StrippedStateEvent } from '../../../durable-objects/user/api';
import { readJsonBody } from '../../shared/body';
import { MatrixError } from '../../shared/errors';
import { verifyEventSignatures } from '../../shared/server-keys';
import type { HomeserverEnv } from '../env';
import { requireServerAuth } from './auth';

type Ctx = Context<HomeserverEnv>;

const serverOf = (id: string): string => id.slice(id.indexOf(':') + 1);
const bad = (message: string) => new MatrixError(400, 'M_BAD_JSON', message);
const missing = (message: string) => new MatrixError(400, 'M_MISSING_PARAM', message);

/** A stripped state event of `e` (a PDU or already stripped); undefined when malformed. */
function stripped(e: unknown): StrippedStateEvent | undefined {
  if (!isJsonObject(e) || typeof e.type !== 'string' || typeof e.state_key !== 'string' || typeof e.sender !== 'string' || !isJsonObject(e.content)) return undefined;
  return { type: e.type, state_key: e.state_key, sender: e.sender, content: e.content };
}

/**
 * Spec (v1.16 `invite_room_state`): it MUST hold the room's `m.room.create` event, as PDUs of
 * the room, signed; servers SHOULD check that from room version 12 on and MAY before (400
 * `M_MISSING_PARAM`). Earlier versions' senders often send stripped events, so for them only
 * well-formed entries are kept.
 */
async function inviteRoomState(c: Ctx, raw: unknown, roomId: string, rules: RoomVersionRules): Promise<StrippedStateEvent[]> {
  const entries = Array.isArray(raw) ? raw : [];
  if (!rules.room_id_is_create_event_hash) return entries.flatMap((e) => stripped(e) ?? []);
  let hasCreate = false;
  for (const e of entries) {
    if (!isJsonObject(e) || !stripped(e)) throw missing('invite_room_state holds an event that is not a PDU of the room.');
    let eventId: string;
    try {
      eventId = computeEventId(e, rules);
    } catch {
      throw missing('invite_room_state holds an event that is not a PDU of the room.');
    }
    const inRoom = e.type === 'm.room.create' ? roomIdFromCreateEventId(eventId) === roomId : e.room_id === roomId;
    if (!inRoom) throw missing('invite_room_state holds an event of another room.');
    if (!(await verifyEventSignatures(c.env, e, rules)).ok) throw missing('invite_room_state holds an event whose signatures do not verify.');
    if (e.type === 'm.room.create') hasCreate = true;
  }
  if (!hasCreate) throw missing('invite_room_state lacks the m.room.create event.');
  return entries.map((e) => stripped(e)!);
}

/** Check, countersign and record the invite; returns the event with our signature added. */
async function acceptInvite(c: Ctx, roomVersion: string, event: JsonObject, rawState: unknown): Promise<JsonObject> {
  const roomId = c.req.param('roomId') ?? '';
  if (!isValidRoomId(roomId)) throw new MatrixError(400, 'M_INVALID_PARAM', `Invalid room ID: ${roomId}`);
  const rules = getRoomVersionRules(roomVersion);
  if (!rules) throw new MatrixError(400, 'M_INCOMPATIBLE_ROOM_VERSION', `Room version ${roomVersion} is not supported.`, { room_version: roomVersion });
  const { config } = c.var;
  const origin = c.var.origin!;
  const content = isJsonObject(event.content) ? event.content : {};
  const invitee = typeof event.state_key === 'string' ? event.state_key : '';
  if (event.type !== 'm.room.member' || content.membership !== 'invite') throw bad('The event is not an m.room.member invite.');
  if (event.room_id !== roomId) throw bad('The event is for another room.');
  if (typeof event.sender !== 'string' || !isValidUserId(event.sender) || serverOf(event.sender) !== origin) {
    throw new MatrixError(403, 'M_FORBIDDEN', 'The inviter is not a user of the requesting server.');
  }
  if (!isValidUserId(invitee) || serverOf(invitee) !== config.serverName) throw new MatrixError(403, 'M_FORBIDDEN', 'The invitee is not a user of this server.');
  let eventId: string;
  try {
    eventId = computeEventId(event, rules);
  } catch (e) {
    throw bad(`Malformed event: ${(e as Error).message}`);
  }
  if (eventId !== c.req.param('eventId')) throw bad('The event ID does not match the path.');
  // Our signature covers the hashes: an event whose content does not match them is refused,
  // not signed in a form the inviting server did not send.
  if (!isJsonObject(event.hashes) || event.hashes.sha256 !== contentHash(event)) throw bad('The content hash does not match.');
  const signatures = await verifyEventSignatures(c.env, event, rules);
  if (!signatures.ok) throw new MatrixError(403, 'M_FORBIDDEN', `Event signature check failed: ${signatures.reason}`);
  // A room this server is in applies its server ACL (spec "Server Access Control Lists").
  const access = await roomApi(c.env.ROOM, roomId).queryServerAccess(origin);
  if (access && !access.acl_allows) throw new MatrixError(403, 'M_FORBIDDEN', 'Your server is denied by the room\'s server ACL.');

  const state = await inviteRoomState(c, rawState, roomId, rules);
  // Clients learn who invited them from their own member event (as the Room object's stripped state has it).
  const own = stripped(event)!;
  const inviteState = [...state.filter((e) => !(e.type === 'm.room.member' && e.state_key === invitee)), own];
  const countersigned = await signEvent(event, rules, config.serverName, config.signingKey.keyId, config.signingKey.seed, webCryptoEd25519);
  const recorded = await userApi(c.env.USER, invitee).performRemoteMembership({ room_id: roomId, membership: 'invite', event_id: eventId, event: countersigned, invite_state: inviteState });
  if (!recorded.ok) throw new MatrixError(403, 'M_FORBIDDEN', `${invitee} cannot be invited: ${recorded.error}`);
  return countersigned;
}

/** v1 (room versions 1 and 2 only): the version is the create event's in the stripped state, "1" without one. */
function v1RoomVersion(state: unknown): string {
  const create = Array.isArray(state) ? state.find((e) => isJsonObject(e) && e.type === 'm.room.create') : undefined;
  const version = isJsonObject(create) && isJsonObject(create.content) ? create.content.room_version : undefined;
  return typeof version === 'string' ? version : '1';
}

export const federationInvite = new Hono<HomeserverEnv>()
  .put('/v2/invite/:roomId/:eventId', requireServerAuth(), async (c) => {
    const body = await readJsonBody(c);
    if (typeof body.room_version !== 'string') throw missing('Missing room_version.');
    if (!isJsonObject(body.event)) throw missing('Missing event.');
    return c.json({ event: await acceptInvite(c, body.room_version, body.event, body.invite_room_state) });
  })

  .put('/v1/invite/:roomId/:eventId', requireServerAuth(), async (c) => {
    const event = await readJsonBody(c);
    const state = isJsonObject(event.unsigned) ? event.unsigned.invite_room_state : undefined;
    return c.json([200, { event: await acceptInvite(c, v1RoomVersion(state), event, state) }]);
  });
