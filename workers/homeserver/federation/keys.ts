/**
 * The key server: `GET /_matrix/key/v2/server` (spec: Server-Server API, "Publishing Keys").
 * The response is the server's own verify key, signed with that key, valid until
 * now + KEY_VALIDITY_MS so other servers know when to fetch it again.
 */
import { Hono } from 'hono';
import { encodeBase64 } from '../../../core/base64';
import { signJson } from '../../../core/crypto/signing';
import { webCryptoEd25519 } from '../../../core/crypto/ed25519-webcrypto';
import type { HomeserverEnv } from '../env';

export const keyServer = new Hono<HomeserverEnv>().get('/v2/server', async (c) => {
  const { serverName, signingKey, keyValidityMs } = c.var.config;
  const publicKey = await webCryptoEd25519.publicKey(signingKey.seed);
  const keys = {
    server_name: serverName,
    verify_keys: { [signingKey.keyId]: { key: encodeBase64(publicKey) } },
    old_verify_keys: {},
    valid_until_ts: Date.now() + keyValidityMs,
  };
  return c.json(await signJson(keys, serverName, signingKey.keyId, signingKey.seed, webCryptoEd25519));
});
