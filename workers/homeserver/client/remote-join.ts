/**
 * Joining a room this server is not in (spec v1.16, Server-Server API "Joining Rooms", the
 * joining server's side; https://spec.matrix.org/v1.16/server-server-api/#joining-rooms):
 * make_join at a resident server (the client's `via` / `server_name`, then the room ID's or
 * alias's server), our join built from the template and signed, send_join v2, the response's
 * events' signatures verified (those failing are dropped), and the Room object started from
 * the response (durable-objects/room/federation-join.ts).
 */
import { isJsonObject, type JsonObject } from '../../../core/canonical-json';
import { webCryptoEd25519 } from '../../../core/crypto/ed25519-webcrypto';
import { signEvent } from '../../../core/crypto/signing';
import { computeEventId } from '../../../core/events/hashes';
import { getRoomVersionRules, KNOWN_ROOM_VERSIONS, type RoomVersionRules } from '../../../core/room-versions';
import { roomApi } from '../../../durable-objects/room/api';
import type { HomeserverConfig } from '../../shared/config';
import { MatrixError, matrixErrorOf } from '../../shared/errors';
import { federationRequest, federationSender, FederationError } from '../../shared/federation-client';
import { verifyEventSignatures, verifyManyEventSignatures } from '../../shared/server-keys';
import type { HomeserverBindings } from '../env';

interface SendJoinResponse {
  state: JsonObject[];
  auth_chain: JsonObject[];
  event?: JsonObject;
}

function isSendJoinResponse(body: unknown): body is SendJoinResponse {
  return isJsonObject(body) && Array.isArray(body.state) && Array.isArray(body.auth_chain) && body.state.every(isJsonObject) && body.auth_chain.every(isJsonObject);
}

const serverOf = (id: string): string | undefined => (id.includes(':') ? id.slice(id.indexOf(':') + 1) : undefined);

/**
 * The servers to ask, in order: the client's (`via`, or the deprecated `server_name`), then the
 * server in the room ID (room versions before 12) or alias; never this server.
 */
export function joinCandidates(config: HomeserverConfig, roomIdOrAlias: string, roomId: string, given: readonly string[]): string[] {
  const out: string[] = [];
  for (const s of [...given, serverOf(roomIdOrAlias), serverOf(roomId)]) {
    if (s && s !== config.serverName && !out.includes(s)) out.push(s);
  }
  return out;
}

/** Only the signed events are used (spec: a PDU whose signatures do not verify is dropped). */
async function verified(env: HomeserverBindings, rules: RoomVersionRules, events: JsonObject[]): Promise<JsonObject[]> {
  const checks = await verifyManyEventSignatures(env, events, rules);
  return events.filter((_, i) => checks[i]!.ok);
}

/**
 * Join `userId` to `roomId` through the first of `servers` that lets them in; `content` is the
 * join's content besides `membership` (profile, reason). Returns when the room is here.
 */
export async function joinRemoteRoom(env: HomeserverBindings, config: HomeserverConfig, userId: string, roomId: string, servers: readonly string[], content: JsonObject): Promise<void> {
  if (servers.length === 0) throw new MatrixError(404, 'M_NOT_FOUND', 'No known servers to join the room through.');
  const sender = federationSender(config);
  const ver = KNOWN_ROOM_VERSIONS.map((v) => `ver=${encodeURIComponent(v)}`).join('&');
  let lastError: MatrixError | undefined;
  for (const server of servers) {
    try {
      const made = await federationRequest(sender, server, 'GET', `/_matrix/federation/v1/make_join/${encodeURIComponent(roomId)}/${encodeURIComponent(userId)}?${ver}`);
      const roomVersion = typeof made.room_version === 'string' ? made.room_version : '1';
      const rules = getRoomVersionRules(roomVersion);
      if (!rules || rules.event_refs_include_hashes) {
        // v1–v2 events need a server-chosen event ID format this server does not author.
        throw new MatrixError(400, 'M_INCOMPATIBLE_ROOM_VERSION', `Room version ${roomVersion} is not supported for joining.`, { room_version: roomVersion });
      }
      if (!isJsonObject(made.event)) throw new MatrixError(502, 'M_UNKNOWN', `${server} answered make_join without an event.`);
      const { origin: _o, hashes: _h, signatures: _s, unsigned: _u, ...template } = made.event;
      if (template.type !== 'm.room.member' || template.sender !== userId || template.state_key !== userId || template.room_id !== roomId) {
        throw new MatrixError(502, 'M_UNKNOWN', `${server} answered make_join with another event.`);
      }
      const templateContent = isJsonObject(template.content) ? template.content : {};
      // A restricted room's authoriser (`join_authorised_via_users_server`) is the resident's to name.
      const event: JsonObject = { ...template, content: { ...templateContent, ...content, membership: 'join' } };
      const signed = await signEvent(event, rules, config.serverName, config.signingKey.keyId, config.signingKey.seed, webCryptoEd25519);
      const eventId = computeEventId(signed, rules);
      const response = await federationRequest<unknown>(sender, server, 'PUT', `/_matrix/federation/v2/send_join/${encodeURIComponent(roomId)}/${encodeURIComponent(eventId)}`, signed);
      if (!isSendJoinResponse(response)) throw new MatrixError(502, 'M_UNKNOWN', `${server} answered send_join with something else.`);
      // The resident's copy (countersigned in restricted rooms) if it is our event, else ours.
      const returned = response.event;
      const joinEvent = returned && safeEventId(returned, rules) === eventId && (await verifyEventSignatures(env, returned, rules)).ok ? returned : signed;
      const state = await verified(env, rules, response.state);
      const authChain = await verified(env, rules, response.auth_chain);
      const started = await roomApi(env.ROOM, roomId).performJoinFromResponse({ room_id: roomId, room_version: roomVersion, join_event: joinEvent, state, auth_chain: authChain });
      if (!started.ok) throw matrixErrorOf(started);
      return;
    } catch (e) {
      if (e instanceof MatrixError) lastError = e;
      else if (e instanceof FederationError) lastError = remoteError(server, e);
      else throw e;
    }
  }
  throw lastError ?? new MatrixError(404, 'M_NOT_FOUND', 'No server could be reached to join the room.');
}

/** A resident's refusal passes through to the client (spec make_join 400/403/404: "should be passed through"). */
function remoteError(server: string, e: FederationError): MatrixError {
  const body = e.body;
  const errcode = typeof body?.errcode === 'string' ? body.errcode : undefined;
  const message = typeof body?.error === 'string' ? body.error : e.message;
  if (e.status === 403) return new MatrixError(403, 'M_FORBIDDEN', message);
  if (errcode === 'M_INCOMPATIBLE_ROOM_VERSION') return new MatrixError(400, 'M_INCOMPATIBLE_ROOM_VERSION', message, { room_version: body?.room_version });
  if (e.status === 404) return new MatrixError(404, 'M_NOT_FOUND', message);
  return new MatrixError(502, 'M_UNKNOWN', `Joining through ${server} failed: ${message}`);
}

function safeEventId(pdu: JsonObject, rules: RoomVersionRules): string | undefined {
  try {
    return computeEventId(pdu, rules);
  } catch {
    return undefined;
  }
}
