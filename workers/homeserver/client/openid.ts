/**
 * OpenID (spec v1.16, Client-Server API "OpenID",
 * https://spec.matrix.org/v1.16/client-server-api/#openid):
 * `POST /_matrix/client/v3/user/{userId}/openid/request_token`. The token lets a third party
 * (an integration manager, a widget) learn who the user is by asking this server's
 * `GET /_matrix/federation/v1/openid/userinfo` (federation/users.ts); it grants nothing else.
 *
 * Tokens are shaped like access tokens (workers/shared/access-token.ts), with their own prefix:
 * `syo_<base64url(user ID)>_<base64url(32 random bytes)>`, so userinfo finds the user's
 * object without a global table. Only the token's SHA-256 is stored there, with its expiry.
 */
import { Hono } from 'hono';
import { userApi } from '../../../durable-objects/user/api';
import { decodeUserIdPart, encodeUserIdPart, hashAccessToken } from '../../shared/access-token';
import { encodeBase64Url } from '../../../core/base64';
import { requireAccessToken } from '../../shared/auth';
import { readJsonBody } from '../../shared/body';
import { MatrixError, matrixErrorOf } from '../../shared/errors';
import type { HomeserverEnv } from '../env';

const PREFIX = 'syo_';
/** Length of the unpadded base64url form of 32 bytes. */
const SECRET_CHARS = 43;
const B64URL = /^[A-Za-z0-9_-]+$/;
/** How long a token is valid (Synapse's default `openid_token_lifetime`, one hour). */
export const OPENID_TOKEN_LIFETIME_MS = 3600_000;

/** A new OpenID token for `userId`. */
export function mintOpenIdToken(userId: string): string {
  return `${PREFIX}${encodeUserIdPart(userId)}_${encodeBase64Url(crypto.getRandomValues(new Uint8Array(32)))}`;
}

/** The user an OpenID token claims to be for (a routing hint only: the user's object checks the hash). */
export function userIdOfOpenIdToken(token: string): string | undefined {
  if (!token.startsWith(PREFIX) || token.length < PREFIX.length + SECRET_CHARS + 3 || !B64URL.test(token.slice(PREFIX.length))) return undefined;
  // The user part may contain "_": the secret has a fixed length, so split from the end.
  const split = token.length - SECRET_CHARS - 1;
  return token[split] === '_' ? decodeUserIdPart(token.slice(PREFIX.length, split)) : undefined;
}

export const openId = new Hono<HomeserverEnv>().post('/v3/user/:userId/openid/request_token', requireAccessToken(), async (c) => {
  const { userId } = c.var.auth;
  // Spec: 403 "The user is not allowed to request a token for this user ID" — only one's own.
  if (c.req.param('userId') !== userId) throw new MatrixError(403, 'M_FORBIDDEN', 'Cannot request OpenID tokens for other users.');
  // Spec: the body is "an empty object"; it must still be JSON.
  await readJsonBody(c);
  const token = mintOpenIdToken(userId);
  const now = Date.now();
  const created = await userApi(c.env.USER, userId).performCreateOpenIdToken(await hashAccessToken(token), now + OPENID_TOKEN_LIFETIME_MS, now);
  if (!created.ok) throw matrixErrorOf(created);
  return c.json({
    access_token: token,
    token_type: 'Bearer',
    matrix_server_name: c.var.config.serverName,
    expires_in: OPENID_TOKEN_LIFETIME_MS / 1000,
  });
});
