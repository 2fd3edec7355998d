/**
 * Send-to-device messaging and device-list changes (spec v1.16, Client-Server API):
 * - `PUT /_matrix/client/v3/sendToDevice/{eventType}/{txnId}` ("Send-to-Device messaging",
 *   https://spec.matrix.org/v1.16/client-server-api/#put_matrixclientv3sendtodeviceeventtypetxnid)
 * - `GET /_matrix/client/v3/keys/changes` ("End-to-End Encryption",
 *   https://spec.matrix.org/v1.16/client-server-api/#get_matrixclientv3keyschanges)
 *
 * `messages` maps user IDs to device IDs (or `*`, every device) to contents. Local recipients'
 * objects queue the message for their devices (durable-objects/user/to-device.ts); remote ones
 * are grouped per server into one `m.direct_to_device` EDU each (spec Server-Server API
 * "Send-to-device messaging") on that server's RemoteServer queue.
 *
 * Transaction IDs are scoped to the device (spec "Transaction identifiers"). Every message has
 * a `message_id`, and every recipient already ignores a second message with the same
 * (sender, message_id) (a retried federation transaction must deliver nothing twice). So the
 * message ID is derived from (user, device, txn ID): a retried request carries the same ID and
 * delivers nothing new, locally or at a Synapse-like remote server (which ignores a repeated
 * (origin, message_id)), and a request that failed half-way finishes on its retry. The ID is a
 * hash, so it does not reveal the device or txn ID to remote servers.
 *
 * `GET /keys/changes` reports the users whose device lists changed between two /sync tokens
 * (their device-stream positions; sync-token.ts). Without `to` (Synapse ignores it), up to now.
 * `left` stays empty, as in /sync (see durable-objects/user/device-lists.ts).
 */
import { Hono } from 'hono';
import { encodeBase64Url } from '../../../core/base64';
import { isJsonObject, type JsonObject } from '../../../core/canonical-json';
import { isValidUserId, serverNameOf, type UserId } from '../../../core/ids';
import { remoteServerApi, type Edu } from '../../../durable-objects/remote-server/api';
import { userApi } from '../../../durable-objects/user/api';
import { requireAccessToken } from '../../shared/auth';
import { readJsonBody } from '../../shared/body';
import { MatrixError } from '../../shared/errors';
import type { HomeserverEnv } from '../env';
import { mapLimited } from './sync';
import { requireSyncToken } from './sync-token';

/** Local users' objects asked at once (Workers allow six simultaneous subrequests). */
const USER_CONCURRENCY = 6;

/** A recipient user's share of `messages`: device ID (or `*`) → content. */
type DeviceMessages = Record<string, JsonObject>;

/** The request's `messages`, checked: every key a user ID, every value a map of device to content object. */
function parseMessages(body: JsonObject): Map<UserId, DeviceMessages> {
  const messages = body.messages;
  if (messages === undefined) throw new MatrixError(400, 'M_MISSING_PARAM', '"messages" is required.');
  if (!isJsonObject(messages)) throw new MatrixError(400, 'M_BAD_JSON', '"messages" must be an object.');
  const out = new Map<UserId, DeviceMessages>();
  for (const [userId, devices] of Object.entries(messages)) {
    if (!isValidUserId(userId)) throw new MatrixError(400, 'M_INVALID_PARAM', `Invalid user ID ${JSON.stringify(userId)} in "messages".`);
    if (!isJsonObject(devices)) throw new MatrixError(400, 'M_BAD_JSON', `"messages.${userId}" must be an object of device IDs.`);
    const contents: DeviceMessages = {};
    for (const [deviceId, content] of Object.entries(devices)) {
      if (!isJsonObject(content)) throw new MatrixError(400, 'M_BAD_JSON', `"messages.${userId}.${deviceId}" must be an object.`);
      contents[deviceId] = content;
    }
    out.set(userId, contents);
  }
  return out;
}

/** The message ID of a device's transaction: the same for every retry of it (see the module note). */
async function messageIdOf(userId: string, deviceId: string, txnId: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(JSON.stringify([userId, deviceId, txnId])));
  return encodeBase64Url(new Uint8Array(digest));
}

export const toDevice = new Hono<HomeserverEnv>()
  .put('/v3/sendToDevice/:eventType/:txnId', requireAccessToken(), async (c) => {
    const { userId, deviceId } = c.var.auth;
    const type = c.req.param('eventType');
    const messages = parseMessages(await readJsonBody(c));
    const messageId = await messageIdOf(userId, deviceId, c.req.param('txnId'));
    const serverName = c.var.config.serverName;

    const local: [string, DeviceMessages][] = [];
    const remote = new Map<string, JsonObject>();
    for (const [recipient, contents] of messages) {
      const server = serverNameOf(recipient)!;
      if (server === serverName) local.push([recipient, contents]);
      else remote.set(server, { ...remote.get(server), [recipient]: contents });
    }
    await mapLimited(local, USER_CONCURRENCY, ([recipient, contents]) =>
      userApi(c.env.USER, recipient).performEnqueueToDevice({ sender: userId, type, message_id: messageId, messages: contents }),
    );
    await mapLimited([...remote], USER_CONCURRENCY, ([server, byUser]) => {
      const edu: Edu = { edu_type: 'm.direct_to_device', content: { sender: userId, type, message_id: messageId, messages: byUser } };
      return remoteServerApi(c.env.REMOTE_SERVER, server).performEnqueue({ edus: [edu] });
    });
    return c.json({});
  })

  .get('/v3/keys/changes', requireAccessToken(), async (c) => {
    const rawFrom = c.req.query('from');
    if (rawFrom === undefined) throw new MatrixError(400, 'M_MISSING_PARAM', '"from" is required.');
    const from = requireSyncToken(rawFrom, 'from');
    const rawTo = c.req.query('to');
    const user = userApi(c.env.USER, c.var.auth.userId);
    const to = rawTo === undefined || rawTo === '' ? await user.getStreamPositions() : requireSyncToken(rawTo, 'to');
    return c.json({ changed: await user.getDeviceListChanges(from.device, to.device), left: [] });
  });
