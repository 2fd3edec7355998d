/**
 * Device management (spec v1.16, Client-Server API "Device management"):
 * `GET /_matrix/client/v3/devices`, `GET`/`PUT`/`DELETE /_matrix/client/v3/devices/{deviceId}`,
 * `POST /_matrix/client/v3/delete_devices`.
 * https://spec.matrix.org/v1.16/client-server-api/#device-management
 *
 * Deleting devices needs user-interactive auth (`m.login.password`); deleting a device also
 * revokes its access tokens and forgets its end-to-end encryption keys.
 */
import { Hono } from 'hono';
import { userApi } from '../../../durable-objects/user/api';
import { requireAccessToken } from '../../shared/auth';
import { optionalString, readJsonBody, requiredStringArray } from '../../shared/body';
import { forgetDeviceKeys } from '../../shared/device-lists';
import { MatrixError, matrixErrorOf } from '../../shared/errors';
import type { HomeserverEnv } from '../env';
import { passwordAuth } from './uia';

export const devices = new Hono<HomeserverEnv>()
  .get('/v3/devices', requireAccessToken(), async (c) =>
    c.json({ devices: await userApi(c.env.USER, c.var.auth.userId).getDevices() }),
  )

  .get('/v3/devices/:deviceId', requireAccessToken(), async (c) => {
    const device = await userApi(c.env.USER, c.var.auth.userId).getDevice(c.req.param('deviceId'));
    if (!device) throw new MatrixError(404, 'M_NOT_FOUND', 'Unknown device.');
    return c.json(device);
  })

  .put('/v3/devices/:deviceId', requireAccessToken(), async (c) => {
    const body = await readJsonBody(c);
    const deviceId = c.req.param('deviceId');
    const user = userApi(c.env.USER, c.var.auth.userId);
    // Spec: "If not given, the display name is unchanged."
    const displayName = optionalString(body, 'display_name');
    if (displayName === undefined) {
      if (!(await user.getDevice(deviceId))) throw new MatrixError(404, 'M_NOT_FOUND', 'Unknown device.');
      return c.json({});
    }
    const result = await user.performUpdateDevice(deviceId, displayName);
    if (!result.ok) throw matrixErrorOf(result);
    return c.json({});
  })

  .delete('/v3/devices/:deviceId', requireAccessToken(), async (c) => {
    const { userId } = c.var.auth;
    const deviceId = c.req.param('deviceId');
    const body = await readJsonBody(c);
    const user = userApi(c.env.USER, userId);
    await passwordAuth(body, user, userId, c.var.config.serverName, `DELETE /devices/${deviceId}`);
    const result = await user.performDeleteDevice(deviceId);
    if (!result.ok) throw matrixErrorOf(result);
    await forgetDeviceKeys(c.env, userId, { only: [deviceId] });
    return c.json({});
  })

  .post('/v3/delete_devices', requireAccessToken(), async (c) => {
    const { userId } = c.var.auth;
    const body = await readJsonBody(c);
    const deviceIds = requiredStringArray(body, 'devices');
    const user = userApi(c.env.USER, userId);
    await passwordAuth(body, user, userId, c.var.config.serverName, 'POST /delete_devices');
    const result = await user.performDeleteDevices(deviceIds);
    if (!result.ok) throw matrixErrorOf(result);
    await forgetDeviceKeys(c.env, userId, { only: deviceIds });
    return c.json({});
  });
