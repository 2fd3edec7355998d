/**
 * @module Memberships of a local user in rooms this server does not have (spec v1.16,
 * Server-Server API "Inviting to a room" and "Leaving Rooms (Rejecting Invites)"): an invite
 * that another server sent through `PUT /_matrix/federation/v2/invite`, and the leave that
 * rejected it through that server. No Room object holds these rooms, so the user's object keeps
 * the member event and the stripped state the invite came with, and /sync shows them from here
 * (workers/homeserver/client/sync.ts asks when the Room object does not know the room). Once
 * the user joins, the room is here and its Room object reports as for any room.
 */
import type { RemoteMembership } from './api';
import type { UserStore } from './store';

/**
 * Record `m` and put it on the user's room stream (inside a transaction). Such a room reports
 * no positions of its own: the entry reuses the last position seen of it (at least 1: /sync
 * skips rooms at 0), and the changed membership is what makes /sync report it. Returns false
 * when `m` is already recorded (a retried request), and nothing was written.
 */
export function recordRemoteMembership(store: UserStore, m: RemoteMembership): boolean {
  const known = store.getRoomMembership(m.room_id);
  const recorded = store.remoteMemberships([m.room_id])[0];
  if (recorded && recorded.event_id === m.event_id && recorded.membership === m.membership && known?.membership === m.membership) return false;
  const ordering = Math.max(known?.stream_ordering ?? 0, 1);
  const ephemeral = known?.ephemeral ?? 0;
  // A new invite to a forgotten room is news again (as a new membership in `notifyRoom`).
  if (known?.forgotten_at != null) store.unforgetRoom(m.room_id);
  store.putRemoteMembership(m);
  store.setRoomMembership(m.room_id, m.membership, ordering, ephemeral);
  store.appendRoomStream(m.room_id, ordering, ephemeral);
  return true;
}
