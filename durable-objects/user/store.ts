/**
 * The only file with SQL for a user. Typed row mappers over the User object's SQLite storage;
 * callers group writes inside `ctx.storage.transactionSync`.
 */
import type { JsonObject, JsonValue } from '../../core/canonical-json';
import { applyMigrations } from '../shared/migrations';
import { MIGRATIONS } from './schema';
import type { AccountDataEntry, Device, PresenceState, PresenceStatus, SyncRoom } from './api';
import type { RemoteMembership, StrippedStateEvent, ToDeviceEvent } from './api';

export interface AccountRow extends Record<string, SqlStorageValue> {
  user_id: string;
  password_hash: string | null;
  created_ts: number;
  deactivated_ts: number | null;
}

interface DeviceRow extends Record<string, SqlStorageValue> {
  device_id: string;
  display_name: string | null;
  last_seen_ts: number | null;
  last_seen_ip: string | null;
}

export interface UiaSessionRow {
  operation: string;
  completed: string[];
  created_ts: number;
}

function toDevice(row: DeviceRow): Device {
  const device: Device = { device_id: row.device_id };
  if (row.display_name !== null) device.display_name = row.display_name;
  if (row.last_seen_ts !== null) device.last_seen_ts = row.last_seen_ts;
  if (row.last_seen_ip !== null) device.last_seen_ip = row.last_seen_ip;
  return device;
}

type TokenDeviceRow = { device_id: string; last_seen_ts: number | null; last_seen_ip: string | null };
type RoomMembershipRow = { membership: string; stream_ordering: number; ephemeral: number; forgotten_at: number | null };

/** Token hashes kept in memory at most (a user with more devices than this just reads more). */
const MAX_CACHED_TOKENS = 256;

export class UserStore {
  /** Token hash → its device row as last read (null: no such token); see `tokenDevice`. */
  private readonly tokens = new Map<string, TokenDeviceRow | null>();
  /** Room ID → its `room_memberships` row as last read or written (null: none). */
  private readonly memberships = new Map<string, RoomMembershipRow | null>();

  /** The account row as last read (null: none); undefined until read and after a write. */
  private account: AccountRow | null | undefined;

  constructor(private readonly sql: SqlStorage) {}

  /** Whether this object's database was ever initialised (reading this writes nothing). */
  hasSchema(): boolean {
    return this.sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_schema'").toArray().length > 0;
  }

  /** Apply pending migrations (call inside `transactionSync`). */
  migrate(): void {
    applyMigrations(this.sql, MIGRATIONS);
  }

  // ---- account ------------------------------------------------------------------------------

  /**
   * The account row, read once and kept: every call of the object asks for it (the auth gate,
   * room notifications). Each write below drops the copy; none reads it back before its
   * transaction commits, so a rollback cannot leave a stale copy behind.
   */
  getAccount(): AccountRow | undefined {
    if (this.account === undefined) {
      this.account = this.sql.exec<AccountRow>('SELECT user_id, password_hash, created_ts, deactivated_ts FROM account WHERE id = 1').toArray()[0] ?? null;
    }
    return this.account ?? undefined;
  }

  insertAccount(userId: string, passwordHash: string | null, now: number): void {
    this.account = undefined;
    this.sql.exec('INSERT INTO account (id, user_id, password_hash, created_ts) VALUES (1, ?, ?, ?)', userId, passwordHash, now);
  }

  setPasswordHash(passwordHash: string | null): void {
    this.account = undefined;
    this.sql.exec('UPDATE account SET password_hash = ? WHERE id = 1', passwordHash);
  }

  setDeactivated(now: number): void {
    this.account = undefined;
    this.sql.exec('UPDATE account SET deactivated_ts = ?, password_hash = NULL WHERE id = 1', now);
  }

  // ---- devices and tokens -------------------------------------------------------------------

  getDevice(deviceId: string): Device | undefined {
    const row = this.sql
      .exec<DeviceRow>('SELECT device_id, display_name, last_seen_ts, last_seen_ip FROM devices WHERE device_id = ?', deviceId)
      .toArray()[0];
    return row ? toDevice(row) : undefined;
  }

  listDevices(): Device[] {
    return this.sql
      .exec<DeviceRow>('SELECT device_id, display_name, last_seen_ts, last_seen_ip FROM devices ORDER BY created_ts, device_id')
      .toArray()
      .map(toDevice);
  }

  /** Create the device, or keep an existing one with that ID (and set its name if given). */
  upsertDevice(deviceId: string, displayName: string | null, now: number): void {
    this.sql.exec(
      `INSERT INTO devices (device_id, display_name, created_ts) VALUES (?, ?, ?)
       ON CONFLICT (device_id) DO UPDATE SET display_name = COALESCE(excluded.display_name, display_name)`,
      deviceId, displayName, now,
    );
  }

  setDeviceDisplayName(deviceId: string, displayName: string | null): boolean {
    return this.sql.exec('UPDATE devices SET display_name = ? WHERE device_id = ?', displayName, deviceId).rowsWritten > 0;
  }

  touchDevice(deviceId: string, now: number, ip: string | null): void {
    this.sql.exec('UPDATE devices SET last_seen_ts = ?, last_seen_ip = COALESCE(?, last_seen_ip) WHERE device_id = ?', now, ip, deviceId);
    for (const entry of this.tokens.values()) {
      if (entry?.device_id === deviceId) {
        entry.last_seen_ts = now;
        if (ip !== null) entry.last_seen_ip = ip;
      }
    }
  }

  /** Delete a device, every token of it and its to-device inbox. */
  deleteDevice(deviceId: string): void {
    this.tokens.clear();
    this.sql.exec('DELETE FROM access_tokens WHERE device_id = ?', deviceId);
    this.sql.exec('DELETE FROM to_device_inbox WHERE device_id = ?', deviceId);
    this.sql.exec('DELETE FROM devices WHERE device_id = ?', deviceId);
  }

  /** Delete every device, token and to-device inbox, except those of `keepDeviceId` when given. */
  deleteDevicesExcept(keepDeviceId: string | null): void {
    this.tokens.clear();
    this.sql.exec('DELETE FROM access_tokens WHERE device_id IS NOT ?', keepDeviceId);
    this.sql.exec('DELETE FROM to_device_inbox WHERE device_id IS NOT ?', keepDeviceId);
    this.sql.exec('DELETE FROM devices WHERE device_id IS NOT ?', keepDeviceId);
  }

  deviceIds(): string[] {
    return this.sql.exec<{ device_id: string }>('SELECT device_id FROM devices ORDER BY device_id').toArray().map((r) => r.device_id);
  }

  insertToken(tokenHash: string, deviceId: string, now: number): void {
    this.tokens.clear();
    this.sql.exec('INSERT INTO access_tokens (token_hash, device_id, created_ts) VALUES (?, ?, ?)', tokenHash, deviceId, now);
  }

  deleteTokensOfDevice(deviceId: string): void {
    this.tokens.clear();
    this.sql.exec('DELETE FROM access_tokens WHERE device_id = ?', deviceId);
  }

  /**
   * The device a token hash belongs to, with when that device was last seen. Kept in memory:
   * every request asks, and every write to tokens or devices above drops or updates the copies
   * (a deleted token is never answered from memory).
   */
  tokenDevice(tokenHash: string): TokenDeviceRow | undefined {
    let row = this.tokens.get(tokenHash);
    if (row === undefined) {
      row = this.sql
        .exec<TokenDeviceRow>(
          `SELECT t.device_id, d.last_seen_ts, d.last_seen_ip FROM access_tokens t JOIN devices d ON d.device_id = t.device_id
           WHERE t.token_hash = ?`,
          tokenHash,
        )
        .toArray()[0] ?? null;
      if (this.tokens.size >= MAX_CACHED_TOKENS) this.tokens.clear();
      this.tokens.set(tokenHash, row);
    }
    return row ? { ...row } : undefined;
  }

  // ---- user-interactive auth sessions -------------------------------------------------------

  insertUiaSession(sessionId: string, operation: string, now: number): void {
    this.sql.exec('INSERT INTO uia_sessions (session_id, operation, completed, created_ts) VALUES (?, ?, ?, ?)', sessionId, operation, '[]', now);
  }

  getUiaSession(sessionId: string): UiaSessionRow | undefined {
    const row = this.sql
      .exec<{ operation: string; completed: string; created_ts: number }>(
        'SELECT operation, completed, created_ts FROM uia_sessions WHERE session_id = ?',
        sessionId,
      )
      .toArray()[0];
    return row && { operation: row.operation, completed: JSON.parse(row.completed) as string[], created_ts: row.created_ts };
  }

  setUiaCompleted(sessionId: string, completed: readonly string[]): void {
    this.sql.exec('UPDATE uia_sessions SET completed = ? WHERE session_id = ?', JSON.stringify(completed), sessionId);
  }

  deleteUiaSession(sessionId: string): void {
    this.sql.exec('DELETE FROM uia_sessions WHERE session_id = ?', sessionId);
  }

  newestUiaSessionTs(): number | null {
    return this.sql.exec<{ ts: number | null }>('SELECT MAX(created_ts) AS ts FROM uia_sessions').one().ts;
  }

  deleteUiaSessionsBefore(ts: number): void {
    this.sql.exec('DELETE FROM uia_sessions WHERE created_ts < ?', ts);
  }

  // ---- room activity ------------------------------------------------------------------------

  /**
   * The room's latest reported position and membership, if it ever reported (or was forgotten).
   * Kept in memory (every room notification asks): `setRoomMembership` writes through, the
   * forget methods drop the copy, and `forgetCache` drops all after a rolled-back transaction.
   */
  getRoomMembership(roomId: string): RoomMembershipRow | undefined {
    let row = this.memberships.get(roomId);
    if (row === undefined) {
      row = this.sql
        .exec<RoomMembershipRow>('SELECT membership, stream_ordering, ephemeral, forgotten_at FROM room_memberships WHERE room_id = ?', roomId)
        .toArray()[0] ?? null;
      this.memberships.set(roomId, row);
    }
    return row ? { ...row } : undefined;
  }

  /** Drop what is kept in memory of rows (after a transaction that rolled back). */
  forgetCache(): void {
    this.account = undefined;
    this.tokens.clear();
    this.memberships.clear();
  }

  /**
   * Mark the room forgotten as of the room position `at` (of the membership forgotten). A room
   * that never reported gets a row, so that its late notifications stay hidden too.
   */
  forgetRoom(roomId: string, membership: string, at: number): void {
    this.memberships.delete(roomId);
    this.sql.exec(
      `INSERT INTO room_memberships (room_id, membership, stream_ordering, forgotten_at) VALUES (?, ?, 0, ?)
       ON CONFLICT (room_id) DO UPDATE SET forgotten_at = excluded.forgotten_at`,
      roomId, membership, at,
    );
  }

  unforgetRoom(roomId: string): void {
    this.memberships.delete(roomId);
    this.sql.exec('UPDATE room_memberships SET forgotten_at = NULL WHERE room_id = ?', roomId);
  }

  setRoomMembership(roomId: string, membership: string, streamOrdering: number, ephemeral = 0): void {
    this.sql.exec(
      `INSERT INTO room_memberships (room_id, membership, stream_ordering, ephemeral) VALUES (?, ?, ?, ?)
       ON CONFLICT (room_id) DO UPDATE SET membership = excluded.membership, stream_ordering = excluded.stream_ordering,
         ephemeral = excluded.ephemeral`,
      roomId, membership, streamOrdering, ephemeral,
    );
    // The upsert keeps `forgotten_at`: write through only when the copy knows it.
    const known = this.memberships.get(roomId);
    if (known === undefined) this.memberships.delete(roomId);
    else this.memberships.set(roomId, { membership, stream_ordering: streamOrdering, ephemeral, forgotten_at: known ? known.forgotten_at : null });
  }

  /** Append a notification to the user's room stream; returns its position. */
  appendRoomStream(roomId: string, roomStreamOrdering: number, ephemeral = 0): number {
    return this.sql
      .exec<{ pos: number }>(
        'INSERT INTO room_stream (room_id, room_stream_ordering, ephemeral) VALUES (?, ?, ?) RETURNING pos',
        roomId, roomStreamOrdering, ephemeral,
      )
      .one().pos;
  }

  roomStreamPosition(): number {
    return this.sql.exec<{ m: number | null }>('SELECT MAX(pos) AS m FROM room_stream').one().m ?? 0;
  }

  /** Per room changed after `since`: the newest room position reported. */
  roomChangesSince(since: number): { room_id: string; room_stream_ordering: number }[] {
    return this.sql
      .exec<{ room_id: string; room_stream_ordering: number }>(
        'SELECT room_id, MAX(room_stream_ordering) AS room_stream_ordering FROM room_stream WHERE pos > ? GROUP BY room_id',
        since,
      )
      .toArray();
  }

  roomsWithMembership(membership: string): string[] {
    return this.sql
      .exec<{ room_id: string }>('SELECT room_id FROM room_memberships WHERE membership = ? ORDER BY room_id', membership)
      .toArray()
      .map((r) => r.room_id);
  }

  /**
   * For /sync: every room with a membership, with the room position the user had seen at
   * `since` (0 if none) and the newest one reported up to `upTo`; only rooms that changed in
   * (since, upTo] unless `all`. Forgotten rooms are left out.
   */
  syncRooms(since: number, upTo: number, all: boolean): SyncRoom[] {
    return this.sql
      .exec<{ room_id: string; membership: string; from_ordering: number | null; to_ordering: number | null; from_ephemeral: number | null; to_ephemeral: number | null }>(
        `SELECT m.room_id AS room_id, m.membership AS membership,
           (SELECT MAX(room_stream_ordering) FROM room_stream s WHERE s.room_id = m.room_id AND s.pos <= ?) AS from_ordering,
           (SELECT MAX(room_stream_ordering) FROM room_stream s WHERE s.room_id = m.room_id AND s.pos <= ?) AS to_ordering,
           (SELECT MAX(ephemeral) FROM room_stream s WHERE s.room_id = m.room_id AND s.pos <= ?) AS from_ephemeral,
           (SELECT MAX(ephemeral) FROM room_stream s WHERE s.room_id = m.room_id AND s.pos <= ?) AS to_ephemeral
         FROM room_memberships m
         WHERE m.forgotten_at IS NULL
           AND (? OR EXISTS (SELECT 1 FROM room_stream s WHERE s.room_id = m.room_id AND s.pos > ? AND s.pos <= ?))
         ORDER BY m.room_id`,
        since, upTo, since, upTo, all ? 1 : 0, since, upTo,
      )
      .toArray()
      .map((r) => ({
        room_id: r.room_id, membership: r.membership, from: r.from_ordering ?? 0, to: r.to_ordering ?? 0,
        ephemeral_from: r.from_ephemeral ?? 0, ephemeral_to: r.to_ephemeral ?? 0,
      }));
  }

  // ---- memberships in rooms this server does not have (remote-invites.ts) --------------------

  putRemoteMembership(m: RemoteMembership): void {
    this.sql.exec(
      `INSERT INTO remote_memberships (room_id, membership, event_id, event, invite_state) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (room_id) DO UPDATE SET membership = excluded.membership, event_id = excluded.event_id, event = excluded.event,
         invite_state = excluded.invite_state`,
      m.room_id, m.membership, m.event_id, JSON.stringify(m.event), JSON.stringify(m.invite_state),
    );
  }

  remoteMemberships(roomIds: readonly string[]): RemoteMembership[] {
    return roomIds.flatMap((roomId) =>
      this.sql
        .exec<{ room_id: string; membership: string; event_id: string; event: string; invite_state: string }>(
          'SELECT room_id, membership, event_id, event, invite_state FROM remote_memberships WHERE room_id = ?',
          roomId,
        )
        .toArray()
        .map((r) => ({
          room_id: r.room_id, membership: r.membership as RemoteMembership['membership'], event_id: r.event_id,
          event: JSON.parse(r.event) as JsonObject, invite_state: JSON.parse(r.invite_state) as StrippedStateEvent[],
        })),
    );
  }

  // ---- filters ------------------------------------------------------------------------------

  insertFilter(filter: JsonObject): string {
    return String(this.sql.exec<{ filter_id: number }>('INSERT INTO filters (filter) VALUES (?) RETURNING filter_id', JSON.stringify(filter)).one().filter_id);
  }

  getFilter(filterId: string): JsonObject | undefined {
    if (!/^\d{1,15}$/.test(filterId)) return undefined;
    const row = this.sql.exec<{ filter: string }>('SELECT filter FROM filters WHERE filter_id = ?', Number(filterId)).toArray()[0];
    return row && (JSON.parse(row.filter) as JsonObject);
  }

  // ---- profile ------------------------------------------------------------------------------

  getProfile(): JsonObject {
    const out: JsonObject = {};
    for (const row of this.sql.exec<{ key: string; value: string }>('SELECT key, value FROM profile ORDER BY key')) {
      out[row.key] = JSON.parse(row.value) as JsonValue;
    }
    return out;
  }

  /** Set (or, with `undefined`, delete) one profile field. */
  setProfileField(key: string, value: JsonValue | undefined): void {
    if (value === undefined) this.sql.exec('DELETE FROM profile WHERE key = ?', key);
    else this.sql.exec('INSERT INTO profile (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value', key, JSON.stringify(value));
  }

  // ---- OpenID tokens ------------------------------------------------------------------------

  /** Store a new OpenID token's hash, and forget the tokens expired by `now`. */
  insertOpenIdToken(tokenHash: string, expiresTs: number, now: number): void {
    this.sql.exec('DELETE FROM openid_tokens WHERE expires_ts <= ?', now);
    this.sql.exec('INSERT INTO openid_tokens (token_hash, expires_ts) VALUES (?, ?)', tokenHash, expiresTs);
  }

  /** When the OpenID token with this hash expires; undefined for an unknown token. */
  openIdTokenExpiry(tokenHash: string): number | undefined {
    return this.sql.exec<{ expires_ts: number }>('SELECT expires_ts FROM openid_tokens WHERE token_hash = ?', tokenHash).toArray()[0]?.expires_ts;
  }

  // ---- account data -------------------------------------------------------------------------

  /** The account-data stream position: the newest row's (rows are never deleted). */
  accountDataPosition(): number {
    return this.sql.exec<{ m: number | null }>('SELECT MAX(pos) AS m FROM account_data').one().m ?? 0;
  }

  /** `roomId` '' is global account data. */
  getAccountData(roomId: string, type: string): JsonObject | undefined {
    const row = this.sql.exec<{ content: string }>('SELECT content FROM account_data WHERE room_id = ? AND type = ?', roomId, type).toArray()[0];
    return row && (JSON.parse(row.content) as JsonObject);
  }

  /** Store the content at the next stream position; returns it. */
  setAccountData(roomId: string, type: string, content: JsonObject): number {
    const pos = this.accountDataPosition() + 1;
    this.sql.exec(
      `INSERT INTO account_data (room_id, type, content, pos) VALUES (?, ?, ?, ?)
       ON CONFLICT (room_id, type) DO UPDATE SET content = excluded.content, pos = excluded.pos`,
      roomId, type, JSON.stringify(content), pos,
    );
    return pos;
  }

  /** Rows written in (since, upTo], in stream order; each row once, with its latest content. */
  accountDataChanges(since: number, upTo: number): AccountDataEntry[] {
    return this.sql
      .exec<{ room_id: string; type: string; content: string }>(
        'SELECT room_id, type, content FROM account_data WHERE pos > ? AND pos <= ? ORDER BY pos',
        since, upTo,
      )
      .toArray()
      .map((r) => ({ room_id: r.room_id === '' ? null : r.room_id, type: r.type, content: JSON.parse(r.content) as JsonObject }));
  }

  // ---- the device stream (to-device.ts, device-lists.ts) --------------------------------------

  deviceStreamPosition(): number {
    return this.sql.exec<{ pos: number }>('SELECT pos FROM device_stream WHERE id = 1').one().pos;
  }

  /** Take the next device-stream position. */
  nextDeviceStreamPosition(): number {
    return this.sql.exec<{ pos: number }>('UPDATE device_stream SET pos = pos + 1 WHERE id = 1 RETURNING pos').one().pos;
  }

  /** Record (sender, message_id) as received at `now`; false when it already was. */
  markToDeviceReceived(sender: string, messageId: string, now: number): boolean {
    return this.sql.exec('INSERT INTO to_device_received (sender, message_id, received_ts) VALUES (?, ?, ?) ON CONFLICT DO NOTHING', sender, messageId, now)
      .rowsWritten > 0;
  }

  deleteToDeviceReceivedBefore(ts: number): void {
    this.sql.exec('DELETE FROM to_device_received WHERE received_ts < ?', ts);
  }

  insertToDevice(pos: number, deviceId: string, event: ToDeviceEvent): void {
    this.sql.exec(
      'INSERT INTO to_device_inbox (pos, device_id, sender, type, content) VALUES (?, ?, ?, ?, ?)',
      pos, deviceId, event.sender, event.type, JSON.stringify(event.content),
    );
  }

  /** Delete the device's messages at or below `pos` (acknowledged). */
  hasToDeviceUpTo(deviceId: string, pos: number): boolean {
    return this.sql.exec('SELECT 1 FROM to_device_inbox WHERE device_id = ? AND pos <= ? LIMIT 1', deviceId, pos).toArray().length > 0;
  }

  deleteToDeviceUpTo(deviceId: string, pos: number): void {
    this.sql.exec('DELETE FROM to_device_inbox WHERE device_id = ? AND pos <= ?', deviceId, pos);
  }

  /** The device's messages in (after, upTo], oldest first, at most `limit`, with their positions. */
  toDeviceMessages(deviceId: string, after: number, upTo: number, limit: number): { pos: number; event: ToDeviceEvent }[] {
    return this.sql
      .exec<{ pos: number; sender: string; type: string; content: string }>(
        'SELECT pos, sender, type, content FROM to_device_inbox WHERE device_id = ? AND pos > ? AND pos <= ? ORDER BY pos LIMIT ?',
        deviceId, after, upTo, limit,
      )
      .toArray()
      .map((r) => ({ pos: r.pos, event: { sender: r.sender, type: r.type, content: JSON.parse(r.content) as JsonObject } }));
  }

  /** Move each user's device-list change row to `pos`. */
  setDeviceListChanged(userIds: readonly string[], pos: number): void {
    for (const userId of userIds) {
      this.sql.exec('INSERT INTO device_list_changes (user_id, pos) VALUES (?, ?) ON CONFLICT (user_id) DO UPDATE SET pos = excluded.pos', userId, pos);
    }
  }

  /** Users whose latest device-list change is in (after, upTo]. */
  deviceListChanges(after: number, upTo: number): string[] {
    return this.sql
      .exec<{ user_id: string }>('SELECT user_id FROM device_list_changes WHERE pos > ? AND pos <= ? ORDER BY pos, user_id', after, upTo)
      .toArray()
      .map((r) => r.user_id);
  }

  /** Whether anything for `deviceId` is on the device stream beyond `after`: a device-list change or a message of its own. */
  hasDeviceStreamNews(deviceId: string, after: number): boolean {
    return this.sql
      .exec<{ news: number }>(
        `SELECT EXISTS (SELECT 1 FROM device_list_changes WHERE pos > ?)
           OR EXISTS (SELECT 1 FROM to_device_inbox WHERE device_id = ? AND pos > ?) AS news`,
        after, deviceId, after,
      )
      .one().news === 1;
  }

  // ---- presence -----------------------------------------------------------------------------

  /** The user's stored presence, if it was ever set. */
  getPresence(): Omit<PresenceStatus, 'user_id'> | undefined {
    const row = this.sql
      .exec<{ presence: string; status_msg: string | null; last_active_ts: number | null; currently_active: number; version: number }>(
        'SELECT presence, status_msg, last_active_ts, currently_active, version FROM presence WHERE id = 1',
      )
      .toArray()[0];
    return row && { ...row, presence: row.presence as PresenceState, currently_active: row.currently_active === 1 };
  }

  /** Whether the stored presence is published to every joined room (see `setPresenceTold`). */
  presenceTold(): boolean {
    return this.sql.exec<{ told: number }>('SELECT COUNT(*) AS told FROM presence WHERE told_version >= version').one().told > 0;
  }

  /** Every joined room confirmed `version` (a no-op once a newer one is stored); 0: tell them all again. */
  setPresenceTold(version: number): void {
    if (version === 0) this.sql.exec('UPDATE presence SET told_version = 0 WHERE id = 1');
    else this.sql.exec('UPDATE presence SET told_version = ? WHERE id = 1 AND version = ?', version, version);
  }

  setPresence(p: Omit<PresenceStatus, 'user_id'>): void {
    this.sql.exec(
      `INSERT INTO presence (id, presence, status_msg, last_active_ts, currently_active, version) VALUES (1, ?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET presence = excluded.presence, status_msg = excluded.status_msg,
         last_active_ts = excluded.last_active_ts, currently_active = excluded.currently_active, version = excluded.version`,
      p.presence, p.status_msg, p.last_active_ts, p.currently_active ? 1 : 0, p.version,
    );
  }
}
