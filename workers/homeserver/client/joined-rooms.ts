/**
 * @module `GET /_matrix/client/v3/joined_rooms` (spec v1.16, Client-Server API "Room
 * membership"): https://spec.matrix.org/v1.16/client-server-api/#get_matrixclientv3joined_rooms
 *
 * The rooms whose latest membership, as the rooms reported it to the user's object, is `join`.
 */
import { Hono } from 'hono';
import { userApi } from '../../../durable-objects/user/api';
import { requireAccessToken } from '../../shared/auth';
import type { HomeserverEnv } from '../env';

export const joinedRooms = new Hono<HomeserverEnv>().get('/v3/joined_rooms', requireAccessToken(), async (c) =>
  c.json({ joined_rooms: await userApi(c.env.USER, c.var.auth.userId).getJoinedRooms() }),
);
