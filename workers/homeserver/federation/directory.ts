/**
 * This server's room directory and space hierarchies as other servers read them (spec v1.16,
 * Server-Server API "Public Room Directory" and "Spaces"):
 * `GET`/`POST /_matrix/federation/v1/publicRooms` and `GET /_matrix/federation/v1/hierarchy/{roomId}`.
 * https://spec.matrix.org/v1.16/server-server-api/#public-room-directory
 * https://spec.matrix.org/v1.16/server-server-api/#spaces
 *
 * The same published rooms as the client `publicRooms` (client/public-rooms.ts: "This SHOULD
 * not return rooms that are listed on another homeserver's directory") and the same walk and
 * access rules as the client hierarchy (client/hierarchy.ts), for the requesting server.
 */
import { Hono } from 'hono';
import { readJsonBody } from '../../shared/body';
import { federationHierarchy, suggestedOnlyParam } from '../client/hierarchy';
import { publicRooms, publicRoomsQueryOfBody, publicRoomsQueryOfParams } from '../client/public-rooms';
import type { HomeserverEnv } from '../env';
import { requireServerAuth } from './auth';

export const federationDirectory = new Hono<HomeserverEnv>()
  .get('/v1/publicRooms', requireServerAuth(), async (c) => c.json(await publicRooms(c.env, publicRoomsQueryOfParams((name) => c.req.query(name)))))

  .post('/v1/publicRooms', requireServerAuth(), async (c) => c.json(await publicRooms(c.env, publicRoomsQueryOfBody(await readJsonBody(c)))))

  .get('/v1/hierarchy/:roomId', requireServerAuth(), async (c) =>
    c.json(await federationHierarchy(c.env, c.var.config, c.req.param('roomId'), c.var.origin!, suggestedOnlyParam(c.req.query('suggested_only')))));
