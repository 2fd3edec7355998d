/**
 * The only file with SQL for a room. Typed row mappers over the Durable Object's SQLite
 * storage; callers group writes inside `ctx.storage.transactionSync`.
 */
import type { JsonObject } from '../../core/canonical-json';
import type { TxnEndpoint } from './api';
import { getMeta, setMeta } from '../shared/meta';
import { applyMigrations } from '../shared/migrations';
import { MIGRATIONS } from './schema';

export type EventStatus = 'accepted' | 'soft_failed' | 'rejected' | 'outlier';

export interface StoredEvent {
  stream_ordering: number;
  event_id: string;
  type: string;
  state_key: string | null;
  sender: string;
  depth: number;
  origin_server_ts: number;
  /** The PDU as stored (redacted in place once a redaction applies). */
  pdu: JsonObject;
  status: EventStatus;
  rejection: string | null;
  state_group: number | null;
  redacted_by: string | null;
}

export interface ReceiptRow extends Record<string, SqlStorageValue> {
  user_id: string;
  receipt_type: string;
  /** '' for an unthreaded receipt. */
  thread_id: string;
  event_id: string;
  event_ordering: number;
  ts: number;
  serial: number;
}

/** A local member's presence as their object published it (`currently_active` 0 or 1). */
export interface PresenceRow extends Record<string, SqlStorageValue> {
  user_id: string;
  presence: string;
  status_msg: string | null;
  last_active_ts: number | null;
  currently_active: number;
  version: number;
  serial: number;
}

/** What inserting an event takes: the stored fields it starts with, and its edges. */
export type NewEvent = Omit<StoredEvent, 'stream_ordering' | 'redacted_by'> & {
  prev_events: readonly string[];
  auth_events: readonly string[];
  /** Known only from a send_join response, outside the DAG (see schema.ts). */
  outlier?: boolean;
};

/** One `(type, state_key) -> event_id | null` change of a state group. */
export type StateEntry = [type: string, stateKey: string, eventId: string | null];

/** An `events` row: the stored fields, with the PDU as JSON text. */
type EventRow = Omit<StoredEvent, 'pdu' | 'status'> & { json: string; status: string } & Record<string, SqlStorageValue>;

/** SQLite in Durable Objects allows 100 bound parameters per statement. */
const MAX_PARAMS = 90;

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

function toStoredEvent(row: EventRow): StoredEvent {
  return {
    stream_ordering: row.stream_ordering,
    event_id: row.event_id,
    type: row.type,
    state_key: row.state_key,
    sender: row.sender,
    depth: row.depth,
    origin_server_ts: row.origin_server_ts,
    pdu: JSON.parse(row.json) as JsonObject,
    status: row.status as EventStatus,
    rejection: row.rejection,
    state_group: row.state_group,
    redacted_by: row.redacted_by,
  };
}

export class RoomStore {
  /** Bumped by every outbox write, so the outbox can tell when nothing new was queued. */
  outboxVersion = 0;

  constructor(private readonly sql: SqlStorage) {}

  /** Apply pending migrations (call inside `blockConcurrencyWhile` + `transactionSync`). */
  migrate(): void {
    applyMigrations(this.sql, MIGRATIONS);
  }

  getMeta(key: string): string | undefined {
    return getMeta(this.sql, key);
  }

  setMeta(key: string, value: string): void {
    setMeta(this.sql, key, value);
  }

  getEvent(eventId: string): StoredEvent | undefined {
    const row = this.sql.exec<EventRow>('SELECT * FROM events WHERE event_id = ?', eventId).toArray()[0];
    return row ? toStoredEvent(row) : undefined;
  }

  getEvents(eventIds: readonly string[]): Map<string, StoredEvent> {
    const out = new Map<string, StoredEvent>();
    for (const chunk of chunks([...new Set(eventIds)], MAX_PARAMS)) {
      const marks = chunk.map(() => '?').join(',');
      for (const row of this.sql.exec<EventRow>(`SELECT * FROM events WHERE event_id IN (${marks})`, ...chunk)) {
        out.set(row.event_id, toStoredEvent(row));
      }
    }
    return out;
  }

  /** Which of `eventIds` are stored (any status). */
  knownEventIds(eventIds: readonly string[]): Set<string> {
    const out = new Set<string>();
    for (const chunk of chunks([...new Set(eventIds)], MAX_PARAMS)) {
      const marks = chunk.map(() => '?').join(',');
      for (const row of this.sql.exec<{ event_id: string }>(`SELECT event_id FROM events WHERE event_id IN (${marks})`, ...chunk)) {
        out.add(row.event_id);
      }
    }
    return out;
  }

  /** IDs of every stored event with this `(type, state_key)`, whatever its status. */
  eventIdsOfState(type: string, stateKey: string): string[] {
    return this.sql
      .exec<{ event_id: string }>('SELECT event_id FROM events WHERE type = ? AND state_key = ?', type, stateKey)
      .toArray()
      .map((r) => r.event_id);
  }

  /** Insert an event with its edges; returns its stream ordering. */
  insertEvent(e: NewEvent): number {
    const row = this.sql
      .exec<{ stream_ordering: number }>(
        `INSERT INTO events (event_id, type, state_key, sender, depth, origin_server_ts, json, status, rejection, state_group, outlier)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING stream_ordering`,
        e.event_id, e.type, e.state_key, e.sender, e.depth, e.origin_server_ts, JSON.stringify(e.pdu),
        e.status, e.rejection, e.state_group, e.outlier ? 1 : 0,
      )
      .one();
    // One statement per table (an event has a handful of each; every statement costs a call).
    this.insertPairs('event_edges (event_id, prev_event_id)', e.event_id, [...new Set(e.prev_events)]);
    this.insertPairs('event_auth (event_id, auth_event_id)', e.event_id, [...new Set(e.auth_events)]);
    return row.stream_ordering;
  }

  /** Those of `eventIds` that are stored member events with membership `join`. */
  joinedEventIds(eventIds: readonly string[]): Set<string> {
    const out = new Set<string>();
    for (const part of chunks([...new Set(eventIds)], MAX_PARAMS)) {
      const rows = this.sql.exec<{ event_id: string }>(
        `SELECT event_id FROM events WHERE event_id IN (${part.map(() => '?').join(',')}) AND json_extract(json, '$.content.membership') = 'join'`,
        ...part,
      );
      for (const r of rows) out.add(r.event_id);
    }
    return out;
  }

  /** `(eventId, other)` rows into `table`, ignoring existing ones. */
  private insertPairs(table: string, eventId: string, others: readonly string[]): void {
    for (const part of chunks(others, Math.floor(MAX_PARAMS / 2))) {
      this.sql.exec(`INSERT OR IGNORE INTO ${table} VALUES ${part.map(() => '(?, ?)').join(', ')}`, ...part.flatMap((o) => [eventId, o]));
    }
  }

  replaceEventJson(eventId: string, pdu: JsonObject, redactedBy: string): void {
    this.sql.exec('UPDATE events SET json = ?, redacted_by = ? WHERE event_id = ?', JSON.stringify(pdu), redactedBy, eventId);
  }

  /** Events in stream order after `since` (exclusive), for readers that page through the room. */
  eventsAfter(since: number, limit: number): StoredEvent[] {
    return this.sql
      .exec<EventRow>('SELECT * FROM events WHERE stream_ordering > ? ORDER BY stream_ordering LIMIT ?', since, limit)
      .toArray()
      .map(toStoredEvent);
  }

  maxStreamOrdering(): number {
    return this.sql.exec<{ m: number | null }>('SELECT MAX(stream_ordering) AS m FROM events').one().m ?? 0;
  }

  countEvents(): number {
    return this.sql.exec<{ n: number }>('SELECT COUNT(*) AS n FROM events').one().n;
  }

  getForwardExtremities(): string[] {
    return this.sql.exec<{ event_id: string }>('SELECT event_id FROM forward_extremities').toArray().map((r) => r.event_id);
  }

  /** Replace the forward extremities: add `added`, remove `removed`. */
  updateForwardExtremities(added: readonly string[], removed: readonly string[]): void {
    for (const id of removed) this.sql.exec('DELETE FROM forward_extremities WHERE event_id = ?', id);
    for (const id of added) this.sql.exec('INSERT OR IGNORE INTO forward_extremities (event_id) VALUES (?)', id);
  }

  /** Whether any stored event lists `eventId` as a prev event. */
  hasChildren(eventId: string): boolean {
    return this.sql.exec('SELECT 1 FROM event_edges WHERE prev_event_id = ? LIMIT 1', eventId).toArray().length > 0;
  }

  insertStateGroup(prevGroup: number | null, chainLength: number, entries: readonly StateEntry[]): number {
    const { id } = this.sql
      .exec<{ id: number }>('INSERT INTO state_groups (prev_group, chain_length) VALUES (?, ?) RETURNING id', prevGroup, chainLength)
      .one();
    for (const [type, stateKey, eventId] of entries) {
      this.sql.exec('INSERT INTO state_group_entries (group_id, type, state_key, event_id) VALUES (?, ?, ?, ?)', id, type, stateKey, eventId);
    }
    return id;
  }

  stateGroup(id: number): { prev_group: number | null; chain_length: number } | undefined {
    return this.sql
      .exec<{ prev_group: number | null; chain_length: number }>('SELECT prev_group, chain_length FROM state_groups WHERE id = ?', id)
      .toArray()[0];
  }

  /** The delta chain from `id` back to its snapshot, newest first. */
  stateGroupChain(id: number): number[] {
    return this.sql
      .exec<{ id: number }>(
        `WITH RECURSIVE chain(id, prev_group) AS (
           SELECT id, prev_group FROM state_groups WHERE id = ?
           UNION ALL SELECT g.id, g.prev_group FROM state_groups g JOIN chain c ON g.id = c.prev_group)
         SELECT id FROM chain`,
        id,
      )
      .toArray()
      .map((r) => r.id);
  }

  stateGroupEntries(id: number): StateEntry[] {
    return this.sql
      .exec<{ type: string; state_key: string; event_id: string | null }>(
        'SELECT type, state_key, event_id FROM state_group_entries WHERE group_id = ?',
        id,
      )
      .toArray()
      .map((r) => [r.type, r.state_key, r.event_id]);
  }

  /**
   * One key of a group's state, read along its delta chain (`stateGroupChain`, newest first)
   * without loading the whole map: the newest group that names the key decides. Returns the
   * event ID, null when that group removed the key, undefined when no group of the chain names it.
   * Each lookup is a primary-key probe per chain group.
   */
  stateGroupValue(chain: readonly number[], type: string, stateKey: string): string | null | undefined {
    let best: { at: number; event_id: string | null } | undefined;
    for (const part of chunks(chain, MAX_PARAMS - 2)) {
      const marks = part.map(() => '?').join(',');
      for (const row of this.sql.exec<{ group_id: number; event_id: string | null }>(
        `SELECT group_id, event_id FROM state_group_entries WHERE type = ? AND state_key = ? AND group_id IN (${marks})`,
        type, stateKey, ...part,
      )) {
        const at = chain.indexOf(row.group_id);
        if (!best || at < best.at) best = { at, event_id: row.event_id };
      }
    }
    return best?.event_id;
  }

  getTransaction(userId: string, deviceId: string, endpoint: TxnEndpoint, txnId: string): string | undefined {
    return this.sql
      .exec<{ event_id: string }>('SELECT event_id FROM transactions WHERE user_id = ? AND device_id = ? AND txn_id = ?', userId, deviceId, txnKey(endpoint, txnId))
      .toArray()[0]?.event_id;
  }

  /** The transaction IDs (as the client gave them) `deviceId` of `userId` sent any of `eventIds` with. */
  transactionIds(userId: string, deviceId: string, eventIds: readonly string[]): Map<string, string> {
    const out = new Map<string, string>();
    for (const part of chunks(eventIds, MAX_PARAMS - 2)) {
      const marks = part.map(() => '?').join(',');
      for (const row of this.sql.exec<{ event_id: string; txn_id: string }>(
        `SELECT event_id, txn_id FROM transactions WHERE user_id = ? AND device_id = ? AND event_id IN (${marks})`, userId, deviceId, ...part,
      )) out.set(row.event_id, row.txn_id.slice(row.txn_id.indexOf(':') + 1));
    }
    return out;
  }

  insertTransaction(userId: string, deviceId: string, endpoint: TxnEndpoint, txnId: string, eventId: string): void {
    this.sql.exec('INSERT INTO transactions (user_id, device_id, txn_id, event_id) VALUES (?, ?, ?, ?)', userId, deviceId, txnKey(endpoint, txnId), eventId);
  }

  addPendingRedaction(targetEventId: string, redactionEventId: string): void {
    this.sql.exec('INSERT OR IGNORE INTO pending_redactions (target_event_id, redaction_event_id) VALUES (?, ?)', targetEventId, redactionEventId);
  }

  takePendingRedactions(targetEventId: string): string[] {
    const ids = this.sql
      .exec<{ redaction_event_id: string }>('SELECT redaction_event_id FROM pending_redactions WHERE target_event_id = ?', targetEventId)
      .toArray()
      .map((r) => r.redaction_event_id);
    if (ids.length > 0) this.sql.exec('DELETE FROM pending_redactions WHERE target_event_id = ?', targetEventId);
    return ids;
  }

  // ---- outbox of local-user notifications ---------------------------------------------------

  /** Due: tell `userId` about events up to `streamOrdering` (and its membership, if given). */
  /**
   * Due: tell each user that the room moved to `stream_ordering` (with their new membership, or
   * null). One statement for all of an event's local members; a user listed twice gets both
   * rows applied in order (the conflict clause merges them).
   */
  queueUserNotifications(rows: readonly { user_id: string; stream_ordering: number; membership: string | null }[]): void {
    if (rows.length === 0) return;
    this.outboxVersion++;
    for (const chunk of chunks(rows, MAX_PARAMS / 3)) {
      this.sql.exec(
        `INSERT INTO outbox_users (user_id, stream_ordering, membership) VALUES ${chunk.map(() => '(?, ?, ?)').join(', ')}
         ON CONFLICT (user_id) DO UPDATE SET stream_ordering = MAX(stream_ordering, excluded.stream_ordering),
           membership = COALESCE(excluded.membership, membership)`,
        ...chunk.flatMap((r) => [r.user_id, r.stream_ordering, r.membership]),
      );
    }
  }

  /** Due: tell `userId` that the room's ephemeral data (typing, receipts) moved to `serial`. */
  queueUserEphemeral(userId: string, serial: number): void {
    this.outboxVersion++;
    this.sql.exec(
      `INSERT INTO outbox_users (user_id, stream_ordering, membership, ephemeral) VALUES (?, 0, NULL, ?)
       ON CONFLICT (user_id) DO UPDATE SET ephemeral = MAX(ephemeral, excluded.ephemeral)`,
      userId, serial,
    );
  }

  dueUserNotifications(limit: number): { user_id: string; stream_ordering: number; membership: string | null; ephemeral: number }[] {
    return this.sql
      .exec<{ user_id: string; stream_ordering: number; membership: string | null; ephemeral: number }>(
        'SELECT user_id, stream_ordering, membership, ephemeral FROM outbox_users ORDER BY stream_ordering LIMIT ?',
        limit,
      )
      .toArray();
  }

  /** Remove delivered notifications, each unless a newer one (events or ephemeral) replaced it meanwhile. */
  deliveredUserNotifications(rows: readonly { user_id: string; stream_ordering: number; ephemeral: number }[]): void {
    for (const chunk of chunks(rows, MAX_PARAMS / 3)) {
      this.sql.exec(
        `DELETE FROM outbox_users WHERE (user_id, stream_ordering, ephemeral) IN (VALUES ${chunk.map(() => '(?, ?, ?)').join(', ')})`,
        ...chunk.flatMap((r) => [r.user_id, r.stream_ordering, r.ephemeral]),
      );
    }
  }

  // ---- federation outbox (federation-outbox.ts) ----------------------------------------------

  /** Due: hand a local event or EDU to the RemoteServer objects of `destinations`. */
  queueFederation(row: { pdu?: JsonObject; edu?: { edu_type: string; content: JsonObject }; destinations: readonly string[] }): void {
    this.sql.exec(
      'INSERT INTO outbox_federation (pdu, edu, destinations) VALUES (?, ?, ?)',
      row.pdu ? JSON.stringify(row.pdu) : null, row.edu ? JSON.stringify(row.edu) : null, JSON.stringify(row.destinations),
    );
  }

  hasFederationOutbox(): boolean {
    return this.sql.exec('SELECT 1 FROM outbox_federation LIMIT 1').toArray().length > 0;
  }

  /** The oldest rows of the federation outbox, in order. */
  dueFederation(limit: number): { id: number; pdu?: JsonObject; edu?: { edu_type: string; content: JsonObject }; destinations: string[] }[] {
    return this.sql
      .exec<{ id: number; pdu: string | null; edu: string | null; destinations: string }>('SELECT id, pdu, edu, destinations FROM outbox_federation ORDER BY id LIMIT ?', limit)
      .toArray()
      .map((r) => ({
        id: r.id,
        ...(r.pdu !== null ? { pdu: JSON.parse(r.pdu) as JsonObject } : {}),
        ...(r.edu !== null ? { edu: JSON.parse(r.edu) as { edu_type: string; content: JsonObject } } : {}),
        destinations: JSON.parse(r.destinations) as string[],
      }));
  }

  /** After a hand-over: each row keeps the destinations still `remaining`, or goes when none are. */
  federationHandedOver(rows: readonly { id: number; remaining: readonly string[] }[]): void {
    for (const r of rows) {
      if (r.remaining.length === 0) this.sql.exec('DELETE FROM outbox_federation WHERE id = ?', r.id);
      else this.sql.exec('UPDATE outbox_federation SET destinations = ? WHERE id = ?', JSON.stringify(r.remaining), r.id);
    }
  }

  // ---- remote members' joins and leaves for their servers' index (remote-members.ts) --------

  /** Due: report that `userId` (of another server) is now joined or not. */
  queueRemoteMembership(userId: string, joined: boolean): void {
    this.sql.exec(
      `INSERT INTO outbox_remote_members (user_id, joined, seq) VALUES (?, ?, 1)
       ON CONFLICT (user_id) DO UPDATE SET joined = excluded.joined, seq = seq + 1`,
      userId, joined ? 1 : 0,
    );
  }

  hasRemoteMembershipOutbox(): boolean {
    return this.sql.exec('SELECT 1 FROM outbox_remote_members LIMIT 1').toArray().length > 0;
  }

  dueRemoteMemberships(limit: number): { user_id: string; joined: boolean; seq: number }[] {
    return this.sql
      .exec<{ user_id: string; joined: number; seq: number }>('SELECT user_id, joined, seq FROM outbox_remote_members LIMIT ?', limit)
      .toArray()
      .map((r) => ({ user_id: r.user_id, joined: r.joined === 1, seq: r.seq }));
  }

  /** Remove reported rows, each unless it was rewritten meanwhile. */
  remoteMembershipsReported(rows: readonly { user_id: string; seq: number }[]): void {
    for (const r of rows) this.sql.exec('DELETE FROM outbox_remote_members WHERE user_id = ? AND seq = ?', r.user_id, r.seq);
  }

  // ---- receipts -----------------------------------------------------------------------------

  getReceipt(userId: string, receiptType: string, threadId: string): ReceiptRow | undefined {
    return this.sql
      .exec<ReceiptRow>('SELECT * FROM receipts WHERE user_id = ? AND receipt_type = ? AND thread_id = ?', userId, receiptType, threadId)
      .toArray()[0];
  }

  putReceipt(r: ReceiptRow): void {
    this.sql.exec(
      `INSERT INTO receipts (user_id, receipt_type, thread_id, event_id, event_ordering, ts, serial) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (user_id, receipt_type, thread_id) DO UPDATE SET event_id = excluded.event_id,
         event_ordering = excluded.event_ordering, ts = excluded.ts, serial = excluded.serial`,
      r.user_id, r.receipt_type, r.thread_id, r.event_id, r.event_ordering, r.ts, r.serial,
    );
  }

  /** Receipts changed in (after, upTo] of the ephemeral stream. */
  receiptsBetween(after: number, upTo: number): ReceiptRow[] {
    return this.sql.exec<ReceiptRow>('SELECT * FROM receipts WHERE serial > ? AND serial <= ? ORDER BY serial', after, upTo).toArray();
  }

  // ---- presence of local members (ephemeral.ts) ---------------------------------------------

  getPresenceVersion(userId: string): number | undefined {
    return this.sql.exec<{ version: number }>('SELECT version FROM presence WHERE user_id = ?', userId).toArray()[0]?.version;
  }

  putPresence(p: PresenceRow): void {
    this.sql.exec(
      `INSERT INTO presence (user_id, presence, status_msg, last_active_ts, currently_active, version, serial) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (user_id) DO UPDATE SET presence = excluded.presence, status_msg = excluded.status_msg,
         last_active_ts = excluded.last_active_ts, currently_active = excluded.currently_active, version = excluded.version,
         serial = excluded.serial`,
      p.user_id, p.presence, p.status_msg, p.last_active_ts, p.currently_active, p.version, p.serial,
    );
  }

  /** Presence changed in (after, upTo] of the ephemeral stream. */
  presenceBetween(after: number, upTo: number): PresenceRow[] {
    return this.sql.exec<PresenceRow>('SELECT * FROM presence WHERE serial > ? AND serial <= ? ORDER BY serial', after, upTo).toArray();
  }

  // ---- timeline reads (accepted events only) ------------------------------------------------

  /** Accepted events with `downTo < stream_ordering <= atOrBelow`, newest first. */
  acceptedEventsDescending(atOrBelow: number, downTo: number, limit: number): StoredEvent[] {
    return this.sql
      .exec<EventRow>(
        `SELECT * FROM events WHERE stream_ordering <= ? AND stream_ordering > ? AND status = 'accepted'
         ORDER BY stream_ordering DESC LIMIT ?`,
        atOrBelow, downTo, limit,
      )
      .toArray()
      .map(toStoredEvent);
  }

  /** Accepted events with `after < stream_ordering <= upTo`, oldest first. */
  acceptedEventsAscending(after: number, upTo: number, limit: number): StoredEvent[] {
    return this.sql
      .exec<EventRow>(
        `SELECT * FROM events WHERE stream_ordering > ? AND stream_ordering <= ? AND status = 'accepted'
         ORDER BY stream_ordering LIMIT ?`,
        after, upTo, limit,
      )
      .toArray()
      .map(toStoredEvent);
  }

  /**
   * The state group at stream position `position`: after the last accepted event at or before
   * it — unless an event right after that one had its state before given rather than derived
   * (`state_before`, a join from send_join), which then is the state up to that event.
   */
  stateGroupAtPosition(position: number): number | null {
    const last = this.sql
      .exec<{ stream_ordering: number; state_group: number | null }>(
        `SELECT stream_ordering, state_group FROM events WHERE stream_ordering <= ? AND status = 'accepted'
         ORDER BY stream_ordering DESC LIMIT 1`,
        position,
      )
      .toArray()[0];
    const given = this.sql
      .exec<{ stream_ordering: number; state_group: number }>(
        'SELECT stream_ordering, state_group FROM state_before WHERE stream_ordering <= ? ORDER BY stream_ordering DESC LIMIT 1',
        position + 1,
      )
      .toArray()[0];
    if (given && (!last || given.stream_ordering > last.stream_ordering)) return given.state_group;
    return last?.state_group ?? null;
  }

  /** Record the state before `eventId` as given (its prev events are not in the DAG here). */
  insertStateBefore(eventId: string, streamOrdering: number, stateGroup: number): void {
    this.sql.exec('INSERT OR REPLACE INTO state_before (event_id, stream_ordering, state_group) VALUES (?, ?, ?)', eventId, streamOrdering, stateGroup);
  }

  /** The state group recorded as the state before `eventId`, if one was given. */
  stateBeforeGroup(eventId: string): number | undefined {
    return this.sql.exec<{ state_group: number }>('SELECT state_group FROM state_before WHERE event_id = ?', eventId).toArray()[0]?.state_group;
  }

  // ---- relations, threads, timestamps (reads over the stored JSON) --------------------------
  // No index table yet: these read `content.m.relates_to` with json_extract, a scan of the
  // room's events. Redacted events are stored redacted, so they drop out of relations by themselves.

  /**
   * Accepted events whose `content.m.relates_to.event_id` is `parentId` (optionally with this
   * `rel_type` and event type), with `after < stream_ordering <= upTo`, in `order`.
   */
  relatedEvents(
    parentId: string, relType: string | null, eventType: string | null,
    after: number, upTo: number, order: 'asc' | 'desc', limit: number,
  ): StoredEvent[] {
    return this.sql
      .exec<EventRow>(
        `SELECT * FROM events WHERE status = 'accepted'
           AND json_extract(json, '$.content."m.relates_to".event_id') = ?
           AND (? IS NULL OR json_extract(json, '$.content."m.relates_to".rel_type') = ?)
           AND (? IS NULL OR type = ?)
           AND stream_ordering > ? AND stream_ordering <= ?
         ORDER BY stream_ordering ${order === 'asc' ? 'ASC' : 'DESC'} LIMIT ?`,
        parentId, relType, relType, eventType, eventType, after, upTo, limit,
      )
      .toArray()
      .map(toStoredEvent);
  }

  /**
   * Threads (accepted roots with accepted `m.thread` children) whose latest child has stream
   * ordering ≤ `atOrBelow`, latest first; only those `userId` took part in when `participatedOnly`.
   */
  threads(userId: string, participatedOnly: boolean, atOrBelow: number, limit: number): ThreadRow[] {
    return this.sql
      .exec<ThreadRow>(
        `SELECT t.root_id AS root_id, t.latest AS latest, t.count AS count,
                (SELECT event_id FROM events WHERE stream_ordering = t.latest) AS latest_event_id,
                (t.replied OR r.sender = ?) AS participated
         FROM (SELECT json_extract(json, '$.content."m.relates_to".event_id') AS root_id,
                      MAX(stream_ordering) AS latest, COUNT(*) AS count, MAX(sender = ?) AS replied
               FROM events
               WHERE status = 'accepted' AND json_extract(json, '$.content."m.relates_to".rel_type') = 'm.thread'
               GROUP BY root_id) t
         JOIN events r ON r.event_id = t.root_id AND r.status = 'accepted'
         WHERE t.latest <= ? AND (? = 0 OR t.replied OR r.sender = ?)
         ORDER BY t.latest DESC LIMIT ?`,
        userId, userId, atOrBelow, participatedOnly ? 1 : 0, userId, limit,
      )
      .toArray()
      .map((r) => ({ ...r, participated: Number(r.participated) }));
  }

  /** The accepted event closest to `ts` at or after it (`f`) or at or before it (`b`). */
  eventNearTimestamp(ts: number, dir: 'f' | 'b'): StoredEvent | undefined {
    const row = this.sql
      .exec<EventRow>(
        dir === 'f'
          ? `SELECT * FROM events WHERE status = 'accepted' AND origin_server_ts >= ? ORDER BY origin_server_ts, stream_ordering LIMIT 1`
          : `SELECT * FROM events WHERE status = 'accepted' AND origin_server_ts <= ? ORDER BY origin_server_ts DESC, stream_ordering DESC LIMIT 1`,
        ts,
      )
      .toArray()[0];
    return row ? toStoredEvent(row) : undefined;
  }
}

/** One thread of `RoomStore.threads`. */
export interface ThreadRow extends Record<string, SqlStorageValue> {
  root_id: string;
  /** Stream ordering of the latest child. */
  latest: number;
  count: number;
  latest_event_id: string;
  /** 1 if the user sent the root or a child. */
  participated: number;
}

/** A stored transaction key: the endpoint, then the client's ID (an endpoint name has no ':'). */
function txnKey(endpoint: TxnEndpoint, txnId: string): string {
  return `${endpoint}:${txnId}`;
}
