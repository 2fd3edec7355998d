/**
 * The one Directory object (`env.DIRECTORY.getByName('directory')`): room aliases of this
 * server, the published room directory and the user directory's index. A thin class over
 * store.ts; no method awaits, so concurrent calls never interleave inside one, and the one
 * method of several statements (`performMoveRoom`) runs them in one transaction.
 *
 * Who may change what (joined, power levels, alias creator) is checked by the worker before
 * the call (workers/homeserver/client/directory.ts): it needs the rooms, which this object
 * never reaches.
 */
import { DurableObject } from 'cloudflare:workers';
import type { HomeserverVars } from '../../workers/shared/config';
import type { DirectoryApi, DirectoryResult, RoomAliasEntry, RoomList, UserDirectoryEntry, UserSearchQuery, Visibility } from './api';
import { MAX_SEARCH_WORDS, searchText, searchWords } from './search';
import { DirectoryStore } from './store';

/** The most rows one read returns. */
const MAX_ROWS = 1000;

const OK = { ok: true } as const;

export class Directory extends DurableObject<HomeserverVars> implements DirectoryApi {
  private readonly store: DirectoryStore;

  constructor(ctx: DurableObjectState, env: HomeserverVars) {
    super(ctx, env);
    this.store = new DirectoryStore(ctx.storage.sql);
    ctx.blockConcurrencyWhile(async () => ctx.storage.transactionSync(() => this.store.migrate()));
  }

  // ---- room aliases -------------------------------------------------------------------------

  async performCreateAlias(entry: RoomAliasEntry, now: number): Promise<DirectoryResult> {
    if (!this.store.insertAlias(entry, now)) return { ok: false, errcode: 'M_ROOM_IN_USE', error: `Room alias ${entry.alias} already exists.` };
    return OK;
  }

  async performDeleteAlias(alias: string): Promise<DirectoryResult<{ entry: RoomAliasEntry }>> {
    const entry = this.store.deleteAlias(alias);
    return entry ? { ok: true, entry } : { ok: false, errcode: 'M_NOT_FOUND', error: `Room alias ${alias} not found.` };
  }

  async getAlias(alias: string): Promise<RoomAliasEntry | undefined> {
    return this.store.getAlias(alias);
  }

  async getAliasesOfRoom(roomId: string): Promise<string[]> {
    return this.store.aliasesOfRoom(roomId);
  }

  async performMoveRoom(oldRoomId: string, newRoomId: string, upgrader: string): Promise<{ aliases: string[]; published: boolean }> {
    return this.ctx.storage.transactionSync(() => ({
      aliases: this.store.moveAliases(oldRoomId, newRoomId, upgrader),
      published: this.store.movePublished(oldRoomId, newRoomId),
    }));
  }

  // ---- published rooms ----------------------------------------------------------------------

  async performSetVisibility(roomId: string, visibility: Visibility, network?: { appservice_id: string; network_id: string }): Promise<void> {
    this.store.setPublished(roomId, network?.appservice_id ?? '', network?.network_id ?? '', visibility === 'public');
  }

  async getVisibility(roomId: string): Promise<Visibility> {
    return this.store.isPublished(roomId, '', '') ? 'public' : 'private';
  }

  async getPublishedRooms(list: RoomList, limit: number): Promise<string[]> {
    return this.store.publishedRooms(list, Math.min(Math.max(limit, 0), MAX_ROWS));
  }

  // ---- user directory -----------------------------------------------------------------------

  async performUpdateUser(entry: UserDirectoryEntry): Promise<void> {
    this.store.upsertUser(entry, searchText(entry.user_id, entry.display_name));
  }

  async performRemoveUser(userId: string): Promise<void> {
    this.store.deleteUser(userId);
  }

  async queryUsers(query: UserSearchQuery): Promise<UserDirectoryEntry[]> {
    const words = [...new Set(searchWords(query.search_term))].slice(0, MAX_SEARCH_WORDS);
    return this.store.searchUsers(words, Math.max(query.offset, 0), Math.min(Math.max(query.limit, 0), MAX_ROWS));
  }
}
