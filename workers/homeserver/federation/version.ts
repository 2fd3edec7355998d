/** `GET /_matrix/federation/v1/version` (spec: Server-Server API, "Server implementation"). */
import { Hono } from 'hono';
import type { HomeserverEnv } from '../env';

export const SERVER_SOFTWARE = { name: 'edge-matrix', version: '0.1.0' } as const;

export const federationVersion = new Hono<HomeserverEnv>().get('/v1/version', (c) =>
  c.json({ server: SERVER_SOFTWARE }),
);
