/**
 * What the client API asks other servers (spec v1.16, Server-Server API "Query API" and "Public
 * Room Directory"): remote users' profiles (`GET /_matrix/federation/v1/query/profile`),
 * remote room aliases (`…/query/directory`) and remote room directories (`…/v1/publicRooms`).
 * https://spec.matrix.org/v1.16/server-server-api/#query-api
 *
 * Failures follow Synapse: the remote's 404 is the client's 404 `M_NOT_FOUND`; an unreachable
 * server, any other error status or a malformed answer is `502 M_UNKNOWN` (the client API has
 * no errcode of its own for a failed remote; Synapse answers 502 "Failed to fetch profile").
 */
import { isJsonObject, type JsonObject } from '../../../core/canonical-json';
import { isValidRoomId } from '../../../core/ids';
import type { HomeserverConfig } from '../../shared/config';
import { MatrixError } from '../../shared/errors';
import { FederationError, federationRequest, federationSender } from '../../shared/federation-client';
import type { ResolvedRoom } from './directory';

const serverOf = (id: string) => id.slice(id.indexOf(':') + 1);

/** Ask `server`; its 404 becomes `notFound`, anything else that fails a 502 saying `what` failed. */
async function query(config: HomeserverConfig, server: string, method: 'GET' | 'POST', uri: string, what: string, notFound: string, body?: JsonObject): Promise<JsonObject> {
  let answer: unknown;
  try {
    answer = await federationRequest(federationSender(config), server, method, uri, body);
  } catch (e) {
    if (e instanceof FederationError && e.status === 404) throw new MatrixError(404, 'M_NOT_FOUND', notFound);
    console.warn(`${what} from ${server}: ${(e as Error).message}`);
    throw new MatrixError(502, 'M_UNKNOWN', `Failed to fetch ${what} from ${server}.`);
  }
  if (!isJsonObject(answer)) throw new MatrixError(502, 'M_UNKNOWN', `${server} answered no ${what}.`);
  return answer;
}

/**
 * A remote user's profile, or one `key` of it: `displayname` and `avatar_url` are the spec's
 * `field` values; for other keys the whole profile is asked for and the caller picks the key.
 */
export async function remoteProfile(config: HomeserverConfig, userId: string, key?: string): Promise<JsonObject> {
  const field = key === 'displayname' || key === 'avatar_url' ? `&field=${key}` : '';
  return query(config, serverOf(userId), 'GET', `/_matrix/federation/v1/query/profile?user_id=${encodeURIComponent(userId)}${field}`, 'profile', 'Profile not found.');
}

/** A remote room alias resolved by its server (Synapse keeps the answer's servers, deduplicated). */
export async function remoteAlias(config: HomeserverConfig, alias: string): Promise<ResolvedRoom> {
  const answer = await query(config, serverOf(alias), 'GET', `/_matrix/federation/v1/query/directory?room_alias=${encodeURIComponent(alias)}`, 'room alias', `Room alias ${alias} not found.`);
  const { room_id: roomId, servers } = answer;
  if (typeof roomId !== 'string' || !isValidRoomId(roomId) || !Array.isArray(servers) || !servers.every((s) => typeof s === 'string')) {
    throw new MatrixError(502, 'M_UNKNOWN', `${serverOf(alias)} answered a malformed room alias entry.`);
  }
  return { room_id: roomId, servers: [...new Set(servers as string[])] };
}

/**
 * A page of `server`'s published rooms (client `publicRooms` with `server`): `GET` with
 * `limit`/`since`, or `POST` with the client's body (filter and lists pass through).
 */
export async function remotePublicRooms(config: HomeserverConfig, server: string, request: { method: 'GET'; limit?: string; since?: string } | { method: 'POST'; body: JsonObject }): Promise<JsonObject> {
  let answer: JsonObject;
  if (request.method === 'GET') {
    const params = new URLSearchParams();
    if (request.limit !== undefined) params.set('limit', request.limit);
    if (request.since !== undefined) params.set('since', request.since);
    const qs = params.size > 0 ? `?${params}` : '';
    answer = await query(config, server, 'GET', `/_matrix/federation/v1/publicRooms${qs}`, 'room directory', `${server} has no room directory.`);
  } else {
    answer = await query(config, server, 'POST', '/_matrix/federation/v1/publicRooms', 'room directory', `${server} has no room directory.`, request.body);
  }
  if (!Array.isArray(answer.chunk)) throw new MatrixError(502, 'M_UNKNOWN', `${server} answered a malformed room directory.`);
  return answer;
}
