/**
 * The only file with SQL for the Directory object: typed row mappers over its SQLite storage.
 */
import { applyMigrations } from '../shared/migrations';
import type { RoomAliasEntry, RoomList, UserDirectoryEntry } from './api';
import { MIGRATIONS } from './schema';

interface AliasRow extends Record<string, SqlStorageValue> {
  alias: string;
  room_id: string;
  creator: string;
}

interface UserRow extends Record<string, SqlStorageValue> {
  user_id: string;
  displayname: string | null;
  avatar_url: string | null;
}

const toAlias = (row: AliasRow): RoomAliasEntry => ({ alias: row.alias, room_id: row.room_id, creator: row.creator });

function toUser(row: UserRow): UserDirectoryEntry {
  const entry: UserDirectoryEntry = { user_id: row.user_id };
  if (row.displayname !== null) entry.display_name = row.displayname;
  if (row.avatar_url !== null) entry.avatar_url = row.avatar_url;
  return entry;
}

export class DirectoryStore {
  constructor(private readonly sql: SqlStorage) {}

  /** Apply pending migrations (call inside `transactionSync`). */
  migrate(): void {
    applyMigrations(this.sql, MIGRATIONS);
  }

  // ---- room aliases -------------------------------------------------------------------------

  getAlias(alias: string): RoomAliasEntry | undefined {
    const row = this.sql.exec<AliasRow>('SELECT alias, room_id, creator FROM room_aliases WHERE alias = ?', alias).toArray()[0];
    return row && toAlias(row);
  }

  /** Insert the alias unless it exists; whether it was inserted. */
  insertAlias(entry: RoomAliasEntry, now: number): boolean {
    return this.sql.exec(
      'INSERT INTO room_aliases (alias, room_id, creator, created_ts) VALUES (?, ?, ?, ?) ON CONFLICT (alias) DO NOTHING',
      entry.alias, entry.room_id, entry.creator, now,
    ).rowsWritten > 0;
  }

  /** Delete the alias; what it was, if it existed. */
  deleteAlias(alias: string): RoomAliasEntry | undefined {
    const row = this.sql.exec<AliasRow>('DELETE FROM room_aliases WHERE alias = ? RETURNING alias, room_id, creator', alias).toArray()[0];
    return row && toAlias(row);
  }

  aliasesOfRoom(roomId: string): string[] {
    return this.sql.exec<{ alias: string }>('SELECT alias FROM room_aliases WHERE room_id = ? ORDER BY alias', roomId).toArray().map((r) => r.alias);
  }

  /** Point every alias of `oldRoomId` at `newRoomId` (now `creator`'s); the aliases moved. */
  moveAliases(oldRoomId: string, newRoomId: string, creator: string): string[] {
    return this.sql
      .exec<{ alias: string }>('UPDATE room_aliases SET room_id = ?, creator = ? WHERE room_id = ? RETURNING alias', newRoomId, creator, oldRoomId)
      .toArray()
      .map((r) => r.alias)
      .sort();
  }

  // ---- published rooms ----------------------------------------------------------------------

  setPublished(roomId: string, appserviceId: string, networkId: string, published: boolean): void {
    if (published) {
      this.sql.exec(
        'INSERT INTO published_rooms (room_id, appservice_id, network_id) VALUES (?, ?, ?) ON CONFLICT DO NOTHING',
        roomId, appserviceId, networkId,
      );
    } else {
      this.sql.exec('DELETE FROM published_rooms WHERE room_id = ? AND appservice_id = ? AND network_id = ?', roomId, appserviceId, networkId);
    }
  }

  /** Move the room's entries in every published list to `newRoomId`; whether it was in the server's own. */
  movePublished(oldRoomId: string, newRoomId: string): boolean {
    const wasPublic = this.isPublished(oldRoomId, '', '');
    this.sql.exec(
      `INSERT INTO published_rooms (room_id, appservice_id, network_id)
       SELECT ?, appservice_id, network_id FROM published_rooms WHERE room_id = ? ON CONFLICT DO NOTHING`,
      newRoomId, oldRoomId,
    );
    this.sql.exec('DELETE FROM published_rooms WHERE room_id = ?', oldRoomId);
    return wasPublic;
  }

  isPublished(roomId: string, appserviceId: string, networkId: string): boolean {
    return this.sql.exec(
      'SELECT 1 FROM published_rooms WHERE room_id = ? AND appservice_id = ? AND network_id = ?',
      roomId, appserviceId, networkId,
    ).toArray().length > 0;
  }

  publishedRooms(list: RoomList, limit: number): string[] {
    const rows =
      list.kind === 'all'
        ? this.sql.exec<{ room_id: string }>('SELECT DISTINCT room_id FROM published_rooms ORDER BY room_id LIMIT ?', limit)
        : this.sql.exec<{ room_id: string }>(
            'SELECT room_id FROM published_rooms WHERE appservice_id = ? AND network_id = ? ORDER BY room_id LIMIT ?',
            list.kind === 'main' ? '' : list.appservice_id, list.kind === 'main' ? '' : list.network_id, limit,
          );
    return rows.toArray().map((r) => r.room_id);
  }

  // ---- user directory -----------------------------------------------------------------------

  upsertUser(entry: UserDirectoryEntry, searchText: string): void {
    this.sql.exec(
      `INSERT INTO user_directory (user_id, displayname, avatar_url, search_text) VALUES (?, ?, ?, ?)
       ON CONFLICT (user_id) DO UPDATE SET displayname = excluded.displayname, avatar_url = excluded.avatar_url,
         search_text = excluded.search_text`,
      entry.user_id, entry.display_name ?? null, entry.avatar_url ?? null, searchText,
    );
  }

  deleteUser(userId: string): void {
    this.sql.exec('DELETE FROM user_directory WHERE user_id = ?', userId);
  }

  /**
   * Users whose search text has a word starting with each of `words` (letters and digits only,
   * so no LIKE escaping is needed). Ranked by how many words match whole, then users with a
   * display name and avatar first (as Synapse), then by display name and user ID. A scan of
   * the table: see workers/homeserver/client/user-directory.ts for the bounds.
   */
  searchUsers(words: readonly string[], offset: number, limit: number): UserDirectoryEntry[] {
    if (words.length === 0) return [];
    const prefix = words.map(() => 'search_text LIKE ?').join(' AND ');
    const exact = words.map(() => '(search_text LIKE ?)').join(' + ');
    return this.sql
      .exec<UserRow>(
        `SELECT user_id, displayname, avatar_url FROM user_directory WHERE ${prefix}
         ORDER BY ${exact} DESC, displayname IS NULL, avatar_url IS NULL, lower(displayname), user_id LIMIT ? OFFSET ?`,
        ...words.map((w) => `% ${w}%`), ...words.map((w) => `% ${w} %`), limit, offset,
      )
      .toArray()
      .map(toUser);
  }
}
