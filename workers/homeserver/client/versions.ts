/** `GET /_matrix/client/versions` (spec: Client-Server API, "API Standards"). */
import { Hono } from 'hono';
import type { HomeserverEnv } from '../env';

/**
 * Spec versions advertised to clients: v1.1 (the first `v`-numbered release, the oldest an
 * Element-family client asks for) through v1.16, the version this server is written against.
 * Clients pick features by these versions, as they do with Synapse, which advertises the same
 * range. The Client-Server modules still missing are end-to-end encryption (keys, key backup,
 * to-device) and the content repository; the endpoint probe lists them, and they answer
 * `404 M_UNRECOGNIZED`, which clients treat as "not supported by this server".
 */
export const SUPPORTED_CLIENT_VERSIONS: readonly string[] = Array.from({ length: 16 }, (_, i) => `v1.${i + 1}`);

export const clientVersions = new Hono<HomeserverEnv>().get('/versions', (c) =>
  c.json({ versions: SUPPORTED_CLIENT_VERSIONS, unstable_features: {} }),
);
