/**
 * The resident server's side of joining, leaving and knocking over federation (spec v1.16,
 * Server-Server API "Joining Rooms", "Leaving Rooms (Rejecting Invites)", "Knocking upon a room";
 * https://spec.matrix.org/v1.16/server-server-api/#joining-rooms):
 * - `GET /v1/make_join/{roomId}/{userId}?ver=…`, `GET /v1/make_leave/…`, `GET /v1/make_knock/…?ver=…`:
 *   an unsigned event template for a user of the requesting server;
 * - `PUT /v2/send_join/{roomId}/{eventId}` (and v1, the same body wrapped as `[200, body]`),
 *   `PUT /v2/send_leave/…` (and v1), `PUT /v1/send_knock/…`: the signed event, checked and
 *   accepted into the room.
 * The Room object does the room's part (durable-objects/room/federation-join.ts); here are the
 * request's own checks: the path's event ID is the body's, and the event's signatures verify.
 */
import { Hono, type Context } from 'hono';
import type { JsonObject } from '../../../core/canonical-json';
import { computeEventId } from '../../../core/events/hashes';
import { isValidRoomId, isValidUserId } from '../../../core/ids';
import { getRoomVersionRules } from '../../../core/room-versions';
import { roomApi, type MakeMembershipResult, type RoomApi } from '../../../durable-objects/room/api';
import { readJsonBody } from '../../shared/body';
import { MatrixError, matrixErrorOf } from '../../shared/errors';
import { verifyEventSignatures } from '../../shared/server-keys';
import type { HomeserverEnv } from '../env';
import { requireServerAuth } from './auth';

type Ctx = Context<HomeserverEnv>;

function roomOfPath(c: Ctx): RoomApi {
  const roomId = c.req.param('roomId') ?? '';
  if (!isValidRoomId(roomId)) throw new MatrixError(400, 'M_INVALID_PARAM', `Invalid room ID: ${roomId}`);
  return roomApi(c.env.ROOM, roomId);
}

/** The template, or the spec's error (`M_INCOMPATIBLE_ROOM_VERSION` carries the room's version). */
function templateResponse(c: Ctx, made: MakeMembershipResult): Response {
  if (made.ok) return c.json({ room_version: made.room_version, event: made.event });
  if (made.errcode === 'M_INCOMPATIBLE_ROOM_VERSION') throw new MatrixError(400, made.errcode, made.error, { room_version: made.room_version });
  throw matrixErrorOf(made);
}

type MakeKind = 'getMakeJoinTemplate' | 'getMakeLeaveTemplate' | 'getMakeKnockTemplate';

async function make(c: Ctx, kind: MakeKind): Promise<Response> {
  const room = roomOfPath(c);
  const userId = c.req.param('userId') ?? '';
  if (!isValidUserId(userId)) throw new MatrixError(400, 'M_INVALID_PARAM', `Invalid user ID: ${userId}`);
  const ver = c.req.queries('ver');
  return templateResponse(c, await room[kind]({ user_id: userId, origin: c.var.origin!, ...(ver ? { supported_versions: ver } : {}) }));
}

/** The body of a send_* request: the path's event, with the signatures it must carry. */
async function signedEvent(c: Ctx, room: RoomApi): Promise<JsonObject> {
  const info = await room.getRoomInfo();
  if (!info) throw new MatrixError(404, 'M_NOT_FOUND', 'Unknown room.');
  const rules = getRoomVersionRules(info.room_version)!;
  const pdu = await readJsonBody(c);
  let eventId: string;
  try {
    eventId = computeEventId(pdu, rules);
  } catch (e) {
    throw new MatrixError(400, 'M_BAD_JSON', `Malformed event: ${(e as Error).message}`);
  }
  if (eventId !== c.req.param('eventId')) throw new MatrixError(400, 'M_BAD_JSON', 'The event ID does not match the path.');
  // Spec "Checks performed on receipt of a PDU", step 2: a PDU without valid signatures is dropped.
  const signatures = await verifyEventSignatures(c.env, pdu, rules);
  if (!signatures.ok) throw new MatrixError(403, 'M_FORBIDDEN', `Event signature check failed: ${signatures.reason}`);
  return pdu;
}

async function sendJoin(c: Ctx): Promise<JsonObject> {
  const room = roomOfPath(c);
  const pdu = await signedEvent(c, room);
  const joined = await room.performSendJoin(pdu, c.var.origin!);
  if (!joined.ok) throw matrixErrorOf(joined);
  return { state: joined.state, auth_chain: joined.auth_chain, event: joined.event, members_omitted: false };
}

async function sendLeave(c: Ctx): Promise<JsonObject> {
  const room = roomOfPath(c);
  const left = await room.performSendLeave(await signedEvent(c, room), c.var.origin!);
  if (!left.ok) throw matrixErrorOf(left);
  return {};
}

export const federationMembership = new Hono<HomeserverEnv>()
  .get('/v1/make_join/:roomId/:userId', requireServerAuth(), (c) => make(c, 'getMakeJoinTemplate'))
  .get('/v1/make_leave/:roomId/:userId', requireServerAuth(), (c) => make(c, 'getMakeLeaveTemplate'))
  .get('/v1/make_knock/:roomId/:userId', requireServerAuth(), (c) => make(c, 'getMakeKnockTemplate'))

  .put('/v2/send_join/:roomId/:eventId', requireServerAuth(), async (c) => c.json(await sendJoin(c)))
  // v1 (deprecated): the same body, wrapped as `[200, body]`.
  .put('/v1/send_join/:roomId/:eventId', requireServerAuth(), async (c) => c.json([200, await sendJoin(c)]))
  .put('/v2/send_leave/:roomId/:eventId', requireServerAuth(), async (c) => c.json(await sendLeave(c)))
  .put('/v1/send_leave/:roomId/:eventId', requireServerAuth(), async (c) => c.json([200, await sendLeave(c)]))

  .put('/v1/send_knock/:roomId/:eventId', requireServerAuth(), async (c) => {
    const room = roomOfPath(c);
    const knocked = await room.performSendKnock(await signedEvent(c, room), c.var.origin!);
    if (!knocked.ok) throw matrixErrorOf(knocked);
    return c.json({ knock_room_state: knocked.knock_room_state });
  });
