/**
 * Queries other servers make about this server's users and aliases (spec v1.16, Server-Server
 * API "Query API"): `GET /_matrix/federation/v1/query/profile` and `…/query/directory`.
 */
import { Hono } from 'hono';
import { isValidRoomAlias, isValidUserId } from '../../../core/ids';
import { directoryApi } from '../../../durable-objects/directory/api';
import { userApi } from '../../../durable-objects/user/api';
import { MatrixError } from '../../shared/errors';
import type { HomeserverEnv } from '../env';
import { requireServerAuth } from './auth';

const isOurs = (id: string, serverName: string) => id.slice(id.indexOf(':') + 1) === serverName;

export const federationQuery = new Hono<HomeserverEnv>()
  .get('/v1/query/profile', requireServerAuth(), async (c) => {
    const userId = c.req.query('user_id') ?? '';
    const field = c.req.query('field');
    if (!isValidUserId(userId)) throw new MatrixError(400, 'M_INVALID_PARAM', 'Invalid user_id.');
    if (!isOurs(userId, c.var.config.serverName)) throw new MatrixError(404, 'M_NOT_FOUND', 'User is not on this server.');
    const profile = await userApi(c.env.USER, userId).getProfile();
    if (!profile) throw new MatrixError(404, 'M_NOT_FOUND', 'Profile not found.');
    // Spec: with `field`, only that field; absent fields are left out.
    if (field === undefined) return c.json(profile);
    return c.json(field in profile ? { [field]: profile[field]! } : {});
  })

  .get('/v1/query/directory', requireServerAuth(), async (c) => {
    const alias = c.req.query('room_alias') ?? '';
    if (!isValidRoomAlias(alias)) throw new MatrixError(400, 'M_INVALID_PARAM', 'Invalid room_alias.');
    const entry = isOurs(alias, c.var.config.serverName) ? await directoryApi(c.env.DIRECTORY).getAlias(alias) : undefined;
    if (!entry) throw new MatrixError(404, 'M_NOT_FOUND', 'Room alias not found.');
    return c.json({ room_id: entry.room_id, servers: [c.var.config.serverName] });
  });
