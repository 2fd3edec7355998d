/**
 * Account management (spec v1.16, Client-Server API "Account registration and management"):
 * `GET /_matrix/client/v3/account/whoami`, `POST /_matrix/client/v3/account/password`,
 * `POST /_matrix/client/v3/account/deactivate`.
 * https://spec.matrix.org/v1.16/client-server-api/#account-registration-and-management
 *
 * The spec lets password change and deactivation run without an access token (a password
 * reset proven by email); there is no email here, so both require one.
 */
import { Hono } from 'hono';
import { userApi } from '../../../durable-objects/user/api';
import { requireAccessToken } from '../../shared/auth';
import { optionalBoolean, readJsonBody, requiredString } from '../../shared/body';
import { forgetDeviceKeys } from '../../shared/device-lists';
import { matrixErrorOf } from '../../shared/errors';
import { hashPassword } from '../../shared/password';
import type { HomeserverEnv } from '../env';
import { passwordAuth } from './uia';
import { unindexUser } from './user-directory';

export const account = new Hono<HomeserverEnv>()
  .get('/v3/account/whoami', requireAccessToken(), (c) =>
    c.json({ user_id: c.var.auth.userId, device_id: c.var.auth.deviceId, is_guest: false }),
  )

  .post('/v3/account/password', requireAccessToken(), async (c) => {
    const { userId, deviceId } = c.var.auth;
    const body = await readJsonBody(c);
    const newPassword = requiredString(body, 'new_password');
    const logoutDevices = optionalBoolean(body, 'logout_devices') ?? true;
    const user = userApi(c.env.USER, userId);
    await passwordAuth(body, user, userId, c.var.config.serverName, 'POST /account/password');
    const result = await user.performChangePassword({
      password_hash: await hashPassword(newPassword),
      logout_devices: logoutDevices,
      keep_device_id: deviceId,
    });
    if (!result.ok) throw matrixErrorOf(result);
    if (logoutDevices) await forgetDeviceKeys(c.env, userId, { except: [deviceId] });
    return c.json({});
  })

  .post('/v3/account/deactivate', requireAccessToken(), async (c) => {
    const { userId } = c.var.auth;
    const body = await readJsonBody(c);
    const user = userApi(c.env.USER, userId);
    await passwordAuth(body, user, userId, c.var.config.serverName, 'POST /account/deactivate');
    const result = await user.performDeactivate(Date.now());
    if (!result.ok) throw matrixErrorOf(result);
    // Every device is gone, and their keys with them.
    await forgetDeviceKeys(c.env, userId, { except: [] });
    // A deactivated user is no longer found in the user directory (as in Synapse).
    await unindexUser(c.env, userId);
    // No identity server bindings are ever made, so there is nothing to unbind.
    return c.json({ id_server_unbind_result: 'no-support' });
  });
