/**
 * Login and logout (spec v1.16, Client-Server API "Login"): `GET`/`POST /_matrix/client/v3/login`,
 * `POST /_matrix/client/v3/logout`, `POST /_matrix/client/v3/logout/all`.
 * https://spec.matrix.org/v1.16/client-server-api/#login
 *
 * The only login type is `m.login.password` (`m.login.dummy` is a UIA stage, never a login).
 */
import { Hono } from 'hono';
import { userApi } from '../../../durable-objects/user/api';
import { hashAccessToken, mintAccessToken } from '../../shared/access-token';
import { noAuth, requireAccessToken } from '../../shared/auth';
import { optionalString, readJsonBody, requiredString } from '../../shared/body';
import { forgetDeviceKeys } from '../../shared/device-lists';
import { MatrixError, matrixErrorOf } from '../../shared/errors';
import type { HomeserverEnv } from '../env';
import { identifiedUser } from './user-identifier';

export const login = new Hono<HomeserverEnv>()
  .get('/v3/login', noAuth(), (c) => c.json({ flows: [{ type: 'm.login.password' }] }))

  .post('/v3/login', noAuth(), async (c) => {
    const body = await readJsonBody(c);
    const type = requiredString(body, 'type');
    if (type !== 'm.login.password') throw new MatrixError(400, 'M_UNKNOWN', `Unsupported login type ${JSON.stringify(type)}.`);
    const userId = identifiedUser(body, c.var.config.serverName);
    const password = requiredString(body, 'password');
    const deviceId = optionalString(body, 'device_id');
    if (deviceId === '') throw new MatrixError(400, 'M_INVALID_PARAM', 'device_id must not be empty.');
    const displayName = optionalString(body, 'initial_device_display_name');
    const accessToken = mintAccessToken(userId);
    const result = await userApi(c.env.USER, userId).performLogin({
      password,
      token_hash: await hashAccessToken(accessToken),
      now: Date.now(),
      ...(deviceId !== undefined ? { device_id: deviceId } : {}),
      ...(displayName !== undefined ? { display_name: displayName } : {}),
    });
    if (!result.ok) throw matrixErrorOf(result);
    return c.json({ user_id: result.user_id, access_token: accessToken, device_id: result.device_id });
  })

  // Spec: the access token is invalidated and the device it belonged to is deleted (with its keys).
  .post('/v3/logout', requireAccessToken(), async (c) => {
    const { userId, deviceId } = c.var.auth;
    const result = await userApi(c.env.USER, userId).performLogout(deviceId);
    if (!result.ok) throw matrixErrorOf(result);
    await forgetDeviceKeys(c.env, userId, { only: [deviceId] });
    return c.json({});
  })

  .post('/v3/logout/all', requireAccessToken(), async (c) => {
    const result = await userApi(c.env.USER, c.var.auth.userId).performLogoutAll();
    if (!result.ok) throw matrixErrorOf(result);
    await forgetDeviceKeys(c.env, c.var.auth.userId, { except: [] });
    return c.json({});
  });
