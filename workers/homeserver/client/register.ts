/**
 * Account registration (spec v1.16, Client-Server API "Account registration"):
 * `POST /_matrix/client/v3/register`, `GET /_matrix/client/v3/register/available`,
 * `GET /_matrix/client/v1/register/m.login.registration_token/validity`.
 * https://spec.matrix.org/v1.16/client-server-api/#account-registration
 *
 * Who may register is configuration (REGISTRATION): closed (the deployed default), open (one
 * `m.login.dummy` stage) or token (one `m.login.registration_token` stage). The user ID being
 * registered owns the UIA session: the session ID is `<base64url(user ID)>.<random>`, so a
 * follow-up request finds the same User object, which also makes "taken" race-free.
 */
import { Hono } from 'hono';
import { isValidUserId } from '../../../core/ids';
import { utf8Encode } from '../../../core/utf8';
import { userApi } from '../../../durable-objects/user/api';
import { decodeUserIdPart, encodeUserIdPart, hashAccessToken, mintAccessToken, randomId } from '../../shared/access-token';
import { noAuth } from '../../shared/auth';
import { optionalBoolean, optionalObject, optionalString, readJsonBody } from '../../shared/body';
import type { HomeserverConfig } from '../../shared/config';
import { MatrixError, matrixErrorOf } from '../../shared/errors';
import { constantTimeEqual, hashPassword } from '../../shared/password';
import type { HomeserverEnv } from '../env';
import { dummyStage, userInteractiveAuth, type StageCheck, type UiaFlow } from './uia';
import { indexUser } from './user-directory';

const REGISTRATION_TOKEN = 'm.login.registration_token';

function registrationStages(config: HomeserverConfig): { flows: UiaFlow[]; stages: Record<string, StageCheck> } {
  const reg = config.registration;
  if (reg.mode === 'token') {
    return {
      flows: [{ stages: [REGISTRATION_TOKEN] }],
      stages: {
        [REGISTRATION_TOKEN]: async (auth) => {
          if (!tokenIsValid(config, optionalString(auth, 'token'))) throw new MatrixError(401, 'M_FORBIDDEN', 'Invalid registration token.');
        },
      },
    };
  }
  return { flows: [{ stages: ['m.login.dummy'] }], stages: { 'm.login.dummy': dummyStage } };
}

function tokenIsValid(config: HomeserverConfig, token: string | undefined): boolean {
  if (config.registration.mode !== 'token' || token === undefined) return false;
  const given = utf8Encode(token);
  // Compare with every configured token, in time independent of where a match is.
  let valid = false;
  for (const t of config.registration.tokens) valid = constantTimeEqual(utf8Encode(t), given) || valid;
  return valid;
}

/** The user ID for `username` (spec grammar for new users; lower-cased as Synapse does). */
function userIdFor(username: string, serverName: string): string {
  const userId = `@${username.toLowerCase()}:${serverName}`;
  if (username === '' || !isValidUserId(userId, { strict: true })) {
    throw new MatrixError(400, 'M_INVALID_USERNAME', 'User ID may only contain a-z, 0-9, ".", "_", "=", "-", "/" and "+", and must fit in 255 bytes.');
  }
  return userId;
}

/** A localpart for a registration that names none: 12 random characters of [a-z0-9]. */
function generatedLocalpart(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  return Array.from(crypto.getRandomValues(new Uint8Array(12)), (b) => alphabet[b % alphabet.length]).join('');
}

function userIdOfSession(session: string): string | undefined {
  const dot = session.indexOf('.');
  return dot > 0 ? decodeUserIdPart(session.slice(0, dot)) : undefined;
}

export const register = new Hono<HomeserverEnv>()
  .post('/v3/register', noAuth({ rateLimit: 'registration' }), async (c) => {
    const { config } = c.var;
    const kind = c.req.query('kind') ?? 'user';
    if (kind === 'guest') throw new MatrixError(403, 'M_GUEST_ACCESS_FORBIDDEN', 'Guest access is not enabled.');
    if (kind !== 'user') throw new MatrixError(400, 'M_INVALID_PARAM', `Unknown kind ${JSON.stringify(kind)}.`);
    if (config.registration.mode === 'closed') throw new MatrixError(403, 'M_FORBIDDEN', 'Registration is disabled.');

    const body = await readJsonBody(c);
    const username = optionalString(body, 'username');
    const password = optionalString(body, 'password');
    const deviceId = optionalString(body, 'device_id');
    const displayName = optionalString(body, 'initial_device_display_name');
    const inhibitLogin = optionalBoolean(body, 'inhibit_login') ?? false;
    const session = optionalString(optionalObject(body, 'auth') ?? {}, 'session');

    // The spec asks for the username checks before UIA, and again after it (a race): the User
    // object's performRegister is that second check.
    let userId: string;
    if (session !== undefined) {
      const sessionUser = userIdOfSession(session);
      if (!sessionUser) throw new MatrixError(400, 'M_UNKNOWN', 'Unknown or expired authentication session.');
      if (username !== undefined && userIdFor(username, config.serverName) !== sessionUser) {
        throw new MatrixError(400, 'M_INVALID_PARAM', 'The username changed during registration.');
      }
      userId = sessionUser;
    } else {
      userId = userIdFor(username ?? generatedLocalpart(), config.serverName);
    }
    if (deviceId === '') throw new MatrixError(400, 'M_INVALID_PARAM', 'device_id must not be empty.');
    const user = userApi(c.env.USER, userId);
    if ((await user.getAccountStatus()) !== 'none') throw new MatrixError(400, 'M_USER_IN_USE', 'User ID already taken.');

    await userInteractiveAuth(body, {
      ...registrationStages(config),
      operation: 'POST /register',
      sessions: user,
      newSessionId: () => `${encodeUserIdPart(userId)}.${randomId()}`,
    });

    const passwordHash = password === undefined ? null : await hashPassword(password);
    const accessToken = inhibitLogin ? undefined : mintAccessToken(userId);
    const login = accessToken === undefined ? undefined : {
      token_hash: await hashAccessToken(accessToken),
      ...(deviceId !== undefined ? { device_id: deviceId } : {}),
      ...(displayName !== undefined ? { display_name: displayName } : {}),
    };
    const result = await user.performRegister({ user_id: userId, password_hash: passwordHash, now: Date.now(), ...(login ? { login } : {}) });
    if (!result.ok) throw matrixErrorOf(result);
    // Every local user is in the user directory's index (spec "User directory").
    await indexUser(c.env, userId, {});
    if (accessToken === undefined || result.device_id === undefined) return c.json({ user_id: userId });
    return c.json({ user_id: userId, access_token: accessToken, device_id: result.device_id });
  })

  .get('/v3/register/available', noAuth(), async (c) => {
    const username = c.req.query('username');
    if (username === undefined) throw new MatrixError(400, 'M_MISSING_PARAM', 'username is required.');
    const userId = userIdFor(username, c.var.config.serverName);
    if ((await userApi(c.env.USER, userId).getAccountStatus()) !== 'none') {
      throw new MatrixError(400, 'M_USER_IN_USE', 'User ID already taken.');
    }
    return c.json({ available: true });
  })

  .get('/v1/register/m.login.registration_token/validity', noAuth(), (c) => {
    const { config } = c.var;
    if (config.registration.mode !== 'token') throw new MatrixError(403, 'M_FORBIDDEN', 'Registration tokens are not enabled.');
    const token = c.req.query('token');
    if (token === undefined) throw new MatrixError(400, 'M_MISSING_PARAM', 'token is required.');
    return c.json({ valid: tokenIsValid(config, token) });
  });
