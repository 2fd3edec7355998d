/**
 * The room's part of inviting a user of another server (spec v1.16, Server-Server API "Inviting
 * to a room"; https://spec.matrix.org/v1.16/server-server-api/#inviting-to-a-room): the
 * inviting server builds the invite like any local event but does not commit it; it signs it,
 * has the invitee's server countersign it (`PUT /v2/invite`), and only then sends the returned
 * event into the room (room.ts `performCommitInvite`: through the receipt checks, then to the
 * servers in the room). The request carries `invite_room_state`: since v1.16, the room's
 * stripped-state events as full PDUs, the `m.room.create` event among them.
 */
import type { JsonObject } from '../../core/canonical-json';
import type { RoomDag } from './dag';
import { stateKey } from './state';
import { STRIPPED_TYPES } from './sync';

/** The current state events a client sees of a room it is invited to, as stored PDUs (create first). */
export function inviteRoomState(dag: RoomDag): JsonObject[] {
  const ids = STRIPPED_TYPES.flatMap((type) => {
    const id = dag.current.state.get(stateKey(type, ''));
    return id === undefined ? [] : [id];
  });
  const events = dag.store.getEvents(ids);
  return ids.flatMap((id) => {
    const e = events.get(id);
    return e ? [e.pdu] : [];
  });
}
