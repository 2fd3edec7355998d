/**
 * @module The room's ephemeral data (spec v1.16, Client-Server API "Typing Notifications",
 * "Receipts" and "Presence"): who is typing, kept in memory only; the latest receipts; and the
 * latest presence of each joined member, both persisted.
 *
 * Every change takes the next position of the room's ephemeral stream (`serial`, persisted in
 * `meta`) and queues, in the same transaction, an outbox row for the local users who must hear
 * of it (every local joined member; only the owner for an `m.read.private` receipt; everyone
 * but the user for presence, who learns their own from their object). The outbox delivers the
 * serial to the users' objects, which record it in their room stream, so /sync asks the room
 * for what changed in (serial the user had, serial now]: receipts and presence whose serial is
 * in that range, and the typing set when its last change is in it. A restart forgets who was
 * typing; if anyone was, the room publishes an empty set from its next alarm.
 *
 * Presence is not the room's: a member's object publishes each change of their presence to
 * every room they are joined to (durable-objects/user/presence.ts), with a `version` that grows
 * per user so a late or repeated copy never replaces a newer one; a remote member's comes the
 * same way from their server's `m.presence` EDUs (workers/homeserver/federation/edus-presence.ts). The room keeps the latest per
 * member so that a first sync (position 0) gets every joined member's presence (but `offline`,
 * which is what a client assumes of anyone it has not heard of) and an incremental one each
 * change once. /sync lifts presence out of the rooms into its top-level `presence`, keeping the
 * highest version per user.
 */
import type { JsonObject } from '../../core/canonical-json';
import type { RoomDag } from './dag';
import type { PresenceStatus, PresenceState } from '../user/api';
import type { Edu } from '../remote-server/api';
import type { PresenceRow, ReceiptRow, RoomStore } from './store';
import { stateKey } from './state';

const SERIAL = 'ephemeral_serial';
/** Set while the typing set is non-empty, so a restart knows members may see a stale one. */
const TYPING_ACTIVE = 'typing_active';

export interface ReceiptInput {
  user_id: string;
  receipt_type: 'm.read' | 'm.read.private';
  event_id: string;
  /** Absent: unthreaded; `main` or a thread root's event ID. */
  thread_id?: string;
  ts: number;
}

/** What one room adds to a joined member's /sync `ephemeral.events`. */
export interface EphemeralQuery {
  user_id: string;
  /** Ephemeral position the user already had (exclusive); 0: everything current. */
  from: number;
  /** Ephemeral position to report up to (inclusive). */
  to: number;
}

export class RoomEphemeral {
  serial: number;
  /** user ID → when their typing expires (ms since the epoch). */
  private readonly typing = new Map<string, number>();
  /** Ephemeral position of the typing set's last change (0: none since the object started). */
  private typingSerial = 0;
  /** The typing set members may hold from before a restart, to clear. */
  staleTyping: boolean;

  constructor(
    private readonly store: RoomStore,
    private readonly dag: RoomDag,
    private readonly transaction: <T>(fn: () => T) => T,
    /**
     * Queue an EDU for the other servers in the room (federation-outbox.ts), inside the
     * change's transaction: `m.typing` and `m.receipt` of `userId` (spec Server-Server API
     * "Typing Notifications", "Receipts"); the outbox sends only local users' changes.
     */
    private readonly federate: (userId: string, edu: Edu) => void = () => {},
  ) {
    this.serial = Number(store.getMeta(SERIAL) ?? 0);
    this.staleTyping = store.getMeta(TYPING_ACTIVE) === '1';
  }

  /** Set or clear `userId`'s typing; returns whether the set changed (and members were told). */
  setTyping(userId: string, typing: boolean, expiresAt: number): boolean {
    const had = this.typing.has(userId);
    if (typing) this.typing.set(userId, expiresAt);
    else this.typing.delete(userId);
    if (had === typing) return false;
    this.publishTyping([userId]);
    return true;
  }

  /** Drop typing entries expired at `now` (and a stale set after a restart); whether anything changed. */
  expireTyping(now: number): boolean {
    let changed = this.staleTyping;
    const expired: string[] = [];
    for (const [userId, expiresAt] of this.typing) {
      if (expiresAt <= now) {
        this.typing.delete(userId);
        expired.push(userId);
        changed = true;
      }
    }
    if (changed) this.publishTyping(expired);
    return changed;
  }

  /** The earliest typing expiry, if anyone is typing. */
  nextExpiry(): number | undefined {
    let next: number | undefined;
    for (const t of this.typing.values()) if (next === undefined || t < next) next = t;
    return next;
  }

  /** Publish the typing set; `changed`: the users whose typing changed (for other servers). */
  private publishTyping(changed: readonly string[]): void {
    this.transaction(() => {
      const roomId = this.dag.roomId;
      if (roomId) for (const userId of changed) this.federate(userId, { edu_type: 'm.typing', content: { room_id: roomId, user_id: userId, typing: this.typing.has(userId) } });
      const serial = this.next();
      this.typingSerial = serial;
      this.staleTyping = false;
      this.store.setMeta(TYPING_ACTIVE, this.typing.size > 0 ? '1' : '0');
      for (const userId of this.dag.localJoinedMembers()) this.store.queueUserEphemeral(userId, serial);
    });
  }

  /**
   * Store a receipt unless the user already has one of that type and thread at or after its
   * event (receipts only move forwards); returns whether it changed anything.
   */
  putReceipt(r: ReceiptInput, eventOrdering: number): boolean {
    const threadId = r.thread_id ?? '';
    const old = this.store.getReceipt(r.user_id, r.receipt_type, threadId);
    if (old && old.event_ordering >= eventOrdering) return false;
    this.transaction(() => {
      const serial = this.next();
      this.store.putReceipt({ user_id: r.user_id, receipt_type: r.receipt_type, thread_id: threadId, event_id: r.event_id, event_ordering: eventOrdering, ts: r.ts, serial });
      // A private receipt is its owner's alone.
      const to = r.receipt_type === 'm.read.private' ? [r.user_id] : this.dag.localJoinedMembers();
      for (const userId of to) this.store.queueUserEphemeral(userId, serial);
      if (r.receipt_type === 'm.read' && this.dag.roomId) this.federate(r.user_id, receiptEdu(this.dag.roomId, r));
    });
    return true;
  }

  /**
   * Record a joined member's presence unless a copy at least as new is stored; returns whether
   * it changed anything. Everyone else local and joined hears of it.
   */
  putPresence(p: PresenceStatus): boolean {
    const known = this.store.getPresenceVersion(p.user_id);
    if (known !== undefined && known >= p.version) return false;
    this.transaction(() => {
      const serial = this.next();
      this.store.putPresence({
        user_id: p.user_id, presence: p.presence, status_msg: p.status_msg, last_active_ts: p.last_active_ts,
        currently_active: p.currently_active ? 1 : 0, version: p.version, serial,
      });
      for (const userId of this.dag.localJoinedMembers()) if (userId !== p.user_id) this.store.queueUserEphemeral(userId, serial);
    });
    return true;
  }

  /**
   * Other members' presence for `q.user_id`, changed in (from, to]; for `from` 0, the latest of
   * every member still joined, leaving out those `offline`.
   */
  presenceFor(q: EphemeralQuery): PresenceStatus[] {
    if (q.to <= q.from) return [];
    let rows = this.store.presenceBetween(q.from, q.to).filter((r) => r.user_id !== q.user_id);
    if (q.from === 0) {
      // Members of other servers too (their presence arrives by m.presence EDUs).
      const joined = (userId: string) => {
        const id = this.dag.current.state.get(stateKey('m.room.member', userId));
        return id !== undefined && (this.dag.event(id)?.content as JsonObject | undefined)?.membership === 'join';
      };
      rows = rows.filter((r) => r.presence !== 'offline' && joined(r.user_id));
    }
    return rows.map(presenceStatus);
  }

  /** `m.typing` and `m.receipt` events for `q.user_id`, for changes in (from, to]. */
  eventsFor(q: EphemeralQuery): JsonObject[] {
    const out: JsonObject[] = [];
    // The typing set is a snapshot: sent when it changed in the range (once, at its latest),
    // and on a first sync of the room when someone is typing.
    if (this.typingSerial > q.from && this.typingSerial <= q.to && (q.from > 0 || this.typing.size > 0)) {
      out.push({ type: 'm.typing', content: { user_ids: [...this.typing.keys()] } });
    }
    const receipts = q.to > q.from ? this.store.receiptsBetween(q.from, q.to) : [];
    const content = receiptContent(receipts.filter((r) => r.receipt_type !== 'm.read.private' || r.user_id === q.user_id));
    if (content) out.push({ type: 'm.receipt', content });
    return out;
  }

  private next(): number {
    this.serial += 1;
    this.store.setMeta(SERIAL, String(this.serial));
    return this.serial;
  }
}

/**
 * Spec Server-Server API "Receipts": the `m.receipt` EDU of one public read receipt,
 * `{room_id: {"m.read": {user_id: {event_ids, data: {ts, thread_id?}}}}}`.
 */
function receiptEdu(roomId: string, r: ReceiptInput): Edu {
  const data: JsonObject = r.thread_id === undefined ? { ts: r.ts } : { ts: r.ts, thread_id: r.thread_id };
  return { edu_type: 'm.receipt', content: { [roomId]: { 'm.read': { [r.user_id]: { event_ids: [r.event_id], data } } } } };
}

/** Spec `m.receipt` content: `{event_id: {receipt_type: {user_id: {ts, thread_id?}}}}`; undefined when empty. */
function receiptContent(rows: readonly ReceiptRow[]): JsonObject | undefined {
  if (rows.length === 0) return undefined;
  const content: Record<string, Record<string, Record<string, JsonObject>>> = {};
  for (const r of rows) {
    const byType = (content[r.event_id] ??= {});
    const byUser = (byType[r.receipt_type] ??= {});
    byUser[r.user_id] = r.thread_id === '' ? { ts: r.ts } : { ts: r.ts, thread_id: r.thread_id };
  }
  return content;
}

function presenceStatus(r: PresenceRow): PresenceStatus {
  return {
    user_id: r.user_id, presence: r.presence as PresenceState, status_msg: r.status_msg, last_active_ts: r.last_active_ts,
    currently_active: r.currently_active === 1, version: r.version,
  };
}
