/**
 * The key server (spec v1.16, Server-Server API "Publishing Keys" and "Querying Keys Through
 * Another Server"):
 * - `GET /_matrix/key/v2/server`: this server's verify key, signed with that key, valid until
 *   now + KEY_VALIDITY_MS so other servers know when to fetch it again;
 * - `POST /_matrix/key/v2/query` and `GET /_matrix/key/v2/query/{serverName}`: acting as a
 *   notary, the keys of other servers as they published them (fetched and checked through their
 *   ServerKeys objects), each response countersigned by this server.
 */
import { Hono, type Context } from 'hono';
import { encodeBase64 } from '../../../core/base64';
import { isJsonObject, type JsonObject } from '../../../core/canonical-json';
import { webCryptoEd25519 } from '../../../core/crypto/ed25519-webcrypto';
import { signJson } from '../../../core/crypto/signing';
import { isValidServerName } from '../../../core/ids';
import { serverKeysApi } from '../../../durable-objects/server-keys/api';
import { noAuth } from '../../shared/auth';
import { readJsonBody } from '../../shared/body';
import { MatrixError } from '../../shared/errors';
import type { HomeserverEnv } from '../env';

/** Servers one notary query may ask about. */
const MAX_QUERY_SERVERS = 100;

async function ownKeyResponse(c: Context<HomeserverEnv>): Promise<JsonObject> {
  const { serverName, signingKey, keyValidityMs } = c.var.config;
  const publicKey = await webCryptoEd25519.publicKey(signingKey.seed);
  const keys = {
    server_name: serverName,
    verify_keys: { [signingKey.keyId]: { key: encodeBase64(publicKey) } },
    old_verify_keys: {},
    valid_until_ts: Date.now() + keyValidityMs,
  };
  return signJson(keys, serverName, signingKey.keyId, signingKey.seed, webCryptoEd25519);
}

/** `serverName`'s key response, countersigned by this server; undefined when it cannot be had. */
async function notarised(c: Context<HomeserverEnv>, serverName: string, minimumValidUntil: number): Promise<JsonObject | undefined> {
  const { serverName: self, signingKey } = c.var.config;
  if (serverName === self) return ownKeyResponse(c);
  const json = await serverKeysApi(c.env.SERVER_KEYS, serverName).getKeyResponse(serverName, minimumValidUntil);
  if (json === undefined) return undefined;
  return signJson(JSON.parse(json) as JsonObject, self, signingKey.keyId, signingKey.seed, webCryptoEd25519);
}

function minimumValidUntil(raw: unknown): number {
  return typeof raw === 'number' && Number.isSafeInteger(raw) ? raw : 0;
}

export const keyServer = new Hono<HomeserverEnv>()
  .get('/v2/server', noAuth(), async (c) => c.json(await ownKeyResponse(c)))

  .post('/v2/query', noAuth(), async (c) => {
    const body = await readJsonBody(c);
    if (!isJsonObject(body.server_keys)) throw new MatrixError(400, 'M_BAD_JSON', '"server_keys" must be an object.');
    const servers = Object.entries(body.server_keys);
    if (servers.length > MAX_QUERY_SERVERS) throw new MatrixError(400, 'M_LIMIT_EXCEEDED', `At most ${MAX_QUERY_SERVERS} servers per query.`);
    const out: JsonObject[] = [];
    for (const [serverName, keyIds] of servers) {
      if (!isValidServerName(serverName) || !isJsonObject(keyIds)) continue;
      // Spec: the latest `minimum_valid_until_ts` of the requested keys applies to the response.
      const minimum = Math.max(0, ...Object.values(keyIds).map((k) => (isJsonObject(k) ? minimumValidUntil(k.minimum_valid_until_ts) : 0)));
      const response = await notarised(c, serverName, minimum);
      if (response) out.push(response);
    }
    return c.json({ server_keys: out });
  })

  .get('/v2/query/:serverName', noAuth(), async (c) => {
    const serverName = c.req.param('serverName');
    if (!isValidServerName(serverName)) throw new MatrixError(400, 'M_INVALID_PARAM', `Invalid server name ${serverName}.`);
    const raw = c.req.query('minimum_valid_until_ts');
    const response = await notarised(c, serverName, raw === undefined ? 0 : minimumValidUntil(Number(raw)));
    return c.json({ server_keys: response ? [response] : [] });
  });
