/**
 * @module The user's to-device inboxes (spec v1.16, Client-Server API "Send-to-Device
 * messaging", https://spec.matrix.org/v1.16/client-server-api/#send-to-device-messaging).
 *
 * A message is queued per recipient device at its own position of the user's device stream
 * (store.ts `device_stream`), and /sync of that device returns the messages between the
 * device-stream positions of its `since` and the sync's end. Inboxes are per device while the
 * token is per user, so a sync returns at most `limit` messages (Synapse: 100) and, when more
 * remain, hands back the last one's position for the token instead of the stream's: the next
 * sync starts there and gets the rest, with no gap. The spec has the client acknowledge
 * messages by passing `next_batch` as the next `since`, so a sync deletes its device's
 * messages at or below its `since`: a sync repeated with the same `since` gets them again.
 *
 * Idempotency: the (sender, message_id) of every message received is kept for
 * `RECEIVED_TTL_MS` after it arrived (Synapse also keeps its federation inbox's for a while),
 * so a retry delivers nothing twice: a server retrying its transaction, or a client retrying
 * `PUT /sendToDevice` (whose message_id the worker derives from the txn ID; see
 * workers/homeserver/client/to-device.ts).
 */
import type { ToDeviceBatch, ToDeviceInput } from './api';
import type { UserStore } from './store';

/** How long a received (sender, message_id) is remembered: beyond any sender's retries. */
export const RECEIVED_TTL_MS = 7 * 24 * 60 * 60_000;

/**
 * Queue `input` for the devices it names (inside a transaction): `'*'` is every device the user
 * has now; a device the user does not have gets nothing (as Synapse). Returns whether anything
 * was queued (false for a retry).
 */
export function enqueueToDevice(store: UserStore, input: ToDeviceInput, now: number): boolean {
  store.deleteToDeviceReceivedBefore(now - RECEIVED_TTL_MS);
  if (!store.markToDeviceReceived(input.sender, input.message_id, now)) return false;
  const devices = store.deviceIds();
  let queued = false;
  for (const [target, content] of Object.entries(input.messages)) {
    for (const deviceId of target === '*' ? devices : devices.includes(target) ? [target] : []) {
      store.insertToDevice(store.nextDeviceStreamPosition(), deviceId, { sender: input.sender, type: input.type, content });
      queued = true;
    }
  }
  return queued;
}

/**
 * See `UserApi.performSyncToDevice`. The acknowledgement writes only when there is something to
 * delete: a write would make this sync wait for its commit (an fsync on disk), and most syncs
 * acknowledge nothing.
 */
export function syncToDevice(
  store: UserStore, deviceId: string, since: number, upTo: number, limit: number, transaction: (fn: () => void) => void,
): ToDeviceBatch {
  if (since > 0 && store.hasToDeviceUpTo(deviceId, since)) transaction(() => store.deleteToDeviceUpTo(deviceId, since));
  // One more than asked for tells whether more remain.
  const rows = store.toDeviceMessages(deviceId, since, upTo, limit + 1);
  const delivered = rows.slice(0, limit);
  const position = rows.length > limit ? delivered.at(-1)?.pos ?? since : upTo;
  return { events: delivered.map((r) => r.event), position };
}
