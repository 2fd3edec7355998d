/**
 * The `m.direct_to_device` EDU (spec v1.16, Server-Server API "Send-to-device messaging",
 * https://spec.matrix.org/v1.16/server-server-api/#send-to-device-messaging): content
 * `{sender, type, message_id, messages: {user_id: {device_id or "*": content}}}`.
 *
 * The sender must be a user of the origin server (an EDU about anyone else is ignored, as every
 * EDU here). Each local recipient's object queues the message for the named devices
 * (durable-objects/user/to-device.ts), ignoring a (sender, message_id) it already received, so
 * a retried transaction delivers nothing twice. Recipients of other servers are ignored.
 */
import { isJsonObject, type JsonObject } from '../../../core/canonical-json';
import { isValidUserId, serverNameOf } from '../../../core/ids';
import { userApi } from '../../../durable-objects/user/api';
import { homeserverConfig } from '../../shared/config';
import type { HomeserverBindings } from '../env';

/** `ofOrigin`: whether a user ID is of the origin server (edus.ts). */
export async function receiveDirectToDevice(
  env: HomeserverBindings,
  content: JsonObject,
  ofOrigin: (userId: unknown) => userId is string,
): Promise<void> {
  const { sender, type, message_id: messageId, messages } = content;
  if (!ofOrigin(sender)) return;
  if (typeof type !== 'string' || typeof messageId !== 'string' || !isJsonObject(messages)) return;
  const serverName = homeserverConfig(env).serverName;
  for (const [userId, devices] of Object.entries(messages)) {
    if (!isValidUserId(userId) || serverNameOf(userId) !== serverName || !isJsonObject(devices)) continue;
    const contents: Record<string, JsonObject> = {};
    for (const [deviceId, body] of Object.entries(devices)) if (isJsonObject(body)) contents[deviceId] = body;
    await userApi(env.USER, userId).performEnqueueToDevice({ sender, type, message_id: messageId, messages: contents });
  }
}
