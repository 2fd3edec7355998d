/**
 * @module Reporting the room's members of other servers to the index their server's
 * RemoteServer object keeps (durable-objects/remote-server/api.ts `RemoteMembershipIndex`):
 * which rooms here a remote user is joined to. EDUs about a remote user carry no room (spec
 * v1.16, Server-Server API "Presence", "Device Management"), so it is this index that takes
 * their presence to the rooms they are in, and their device-list changes to the local users
 * they share a room with.
 *
 * The source is the room's current state, whatever changed it: a remote join or leave
 * received, a local kick or ban, state resolution, or a room joined through send_join (whose
 * state lists the room's remote members at once). Each change is compared member by member
 * (RoomDag.onStateChange, inside the write transaction), and a user whose being joined differs
 * gets a row in `outbox_remote_members` in that same transaction — the pattern of the other
 * outboxes (outbox.ts, federation-outbox.ts): a crash neither loses a report nor makes one for
 * a change that was not stored. Rows are handed over after the commit, grouped per server; a
 * failed hand-over is retried from the alarm (hand-over.ts, as federation-outbox.ts does). Reports are idempotent (joined or not), so one
 * repeated after a crash is harmless.
 */
import { remoteServerApi, type MembershipChange } from '../remote-server/api';
import { HandOverLoop, handOverPerServer, type HandOverHost, type HandOverPolicy, type HandOverRound } from './hand-over';
import { parseStateKey, type StateMap } from './state';

/** Rows reported per round; after a failed hand-over, the retry delay and what is logged. */
const REPORTING: HandOverPolicy = { batch: 500, retryMs: 1_000, failure: "room: reporting remote members to their servers' index failed; retrying by alarm" };
/** Set once the room has reported its whole membership (see `noteChange`). */
const INDEXED = 'remote_members_indexed';
/** Member state keys are JSON `["m.room.member", userId]` (state.ts): test cheaply before parsing. */
const MEMBER_KEY_PREFIX = '["m.room.member",';

const serverOf = (userId: string): string => userId.slice(userId.indexOf(':') + 1);

export class RemoteMembers {
  private readonly loop: HandOverLoop;
  private timer: ReturnType<typeof setTimeout> | undefined;
  /** Whether the room reported its membership before (undefined: not read yet). */
  private indexed: boolean | undefined;

  constructor(private readonly host: HandOverHost) {
    host.dag.onStateChange = (from, to) => this.noteChange(from, to);
    this.loop = new HandOverLoop(REPORTING, host, (batch) => this.report(batch));
  }

  /** Whether reports wait in storage (at start, the Room sets its alarm for them). */
  waiting(): boolean {
    return this.host.store.hasRemoteMembershipOutbox();
  }

  /**
   * The current state changes from `from` to `to` (inside the write transaction): queue the
   * remote users whose being joined differs. A room that never reported (one that existed
   * before this index) compares against the empty state once, so all its remote members are
   * reported.
   */
  private noteChange(from: StateMap, to: StateMap): void {
    const { store, dag } = this.host;
    this.indexed ??= store.getMeta(INDEXED) === '1';
    if (!this.indexed) {
      from = new Map();
      store.setMeta(INDEXED, '1');
      this.indexed = true;
    }
    // The member entries that differ, as [state key, event before, event after].
    const changed: [string, string | undefined, string | undefined][] = [];
    let added = 0;
    for (const [key, id] of to) {
      const old = from.get(key);
      if (old === id) continue;
      if (old === undefined) added++;
      if (key.startsWith(MEMBER_KEY_PREFIX)) changed.push([key, old, id]);
    }
    // Keys of `from` missing from `to` (rare: a state replaced as a whole, as by a rejoin).
    if (from.size > to.size - added) {
      for (const [key, id] of from) if (!to.has(key) && key.startsWith(MEMBER_KEY_PREFIX)) changed.push([key, id, undefined]);
    }
    if (changed.length === 0) return;
    // Memberships read in bulk from storage: a room joined through send_join brings thousands
    // of member events at once, and loading and parsing each would cost seconds.
    const joined = store.joinedEventIds(changed.flatMap(([, old, id]) => [old, id].filter((e): e is string => e !== undefined)));
    let queued = false;
    for (const [key, old, id] of changed) {
      const isJoined = id !== undefined && joined.has(id);
      if ((old !== undefined && joined.has(old)) === isJoined) continue;
      const userId = parseStateKey(key)[1];
      if (serverOf(userId) === dag.serverName) continue;
      store.queueRemoteMembership(userId, isJoined);
      queued = true;
    }
    if (queued) this.schedule();
  }

  /** Report after the running write transaction has committed. */
  private schedule(): void {
    if (this.timer !== undefined) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.drain();
    }, 0);
  }

  /**
   * Hand the due rows to their users' servers' RemoteServer objects. A server whose hand-over
   * failed keeps its rows; the alarm retries.
   */
  drain(): Promise<void> {
    return this.loop.drain();
  }

  private async report(batch: number): Promise<HandOverRound> {
    const { store, dag } = this.host;
    const roomId = dag.roomId;
    if (roomId === undefined) return { rows: 0, complete: true };
    const rows = store.dueRemoteMemberships(batch);
    if (rows.length === 0) return { rows: 0, complete: true };
    const byServer = new Map<string, MembershipChange[]>();
    for (const r of rows) {
      const server = serverOf(r.user_id);
      let changes = byServer.get(server);
      if (!changes) byServer.set(server, (changes = []));
      changes.push({ user_id: r.user_id, joined: r.joined });
    }
    const namespace = this.host.remoteServers();
    const reported = await handOverPerServer(byServer, (server, changes) => remoteServerApi(namespace, server).performRecordMemberships(roomId, changes));
    this.host.transaction(() => store.remoteMembershipsReported(rows.filter((r) => reported.has(serverOf(r.user_id)))));
    return { rows: rows.length, complete: reported.size === byServer.size };
  }
}
