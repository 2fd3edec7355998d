/** `GET /_matrix/client/versions` (spec: Client-Server API, "API Standards"). */
import { Hono } from 'hono';
import type { HomeserverEnv } from '../env';

/**
 * Spec versions whose Client-Server surface is implemented. Advertising a version promises
 * every endpoint in it, so this stays empty until the Client-Server issue lands the surface an
 * Element client needs; clients then see a homeserver that honestly supports nothing yet.
 */
export const SUPPORTED_CLIENT_VERSIONS: readonly string[] = [];

export const clientVersions = new Hono<HomeserverEnv>().get('/versions', (c) =>
  c.json({ versions: SUPPORTED_CLIENT_VERSIONS, unstable_features: {} }),
);
