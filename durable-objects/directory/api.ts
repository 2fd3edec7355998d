/**
 * What callers see of the Directory object: the one object (`env.DIRECTORY.getByName('directory')`,
 * reached through `directoryApi()`) holding this server's room aliases, its published room
 * directory and the user directory's index of local users. Commands are `perform*`, reads
 * `get*` / `query*`; expected failures come back as values.
 *
 * Everything here is server-wide, so it cannot live in a Room or User object: an alias or a
 * search term names no room or user beforehand. Writes are rare (alias changes, publishing,
 * profile changes); reads are one indexed lookup, except the user search (see `queryUsers`).
 */

/** Expected failures cross RPC as values: thrown errors would lose their errcode. */
export type DirectoryFailure = {
  ok: false;
  errcode: 'M_ROOM_IN_USE' | 'M_NOT_FOUND';
  error: string;
};
export type DirectoryResult<T = object> = ({ ok: true } & T) | DirectoryFailure;

/** One local room alias. */
export interface RoomAliasEntry {
  alias: string;
  room_id: string;
  /** The user who created the alias. */
  creator: string;
}

export type Visibility = 'public' | 'private';

/**
 * Which published room list: the server's own (`main`), one application service's network list,
 * or all of them together (spec `POST /publicRooms`: `third_party_instance_id`,
 * `include_all_networks`).
 */
export type RoomList =
  | { kind: 'main' }
  | { kind: 'all' }
  | { kind: 'network'; appservice_id: string; network_id: string };

/** One user of the user directory, in the spec's response shape (`display_name`, `avatar_url`). */
export interface UserDirectoryEntry {
  user_id: string;
  display_name?: string;
  avatar_url?: string;
}

export interface UserSearchQuery {
  /** The client's `search_term`; split into words here, each matched as a word prefix. */
  search_term: string;
  /** Candidates to skip (the caller pages through them while filtering by visibility). */
  offset: number;
  limit: number;
}

/** The directory's one object's name. */
export const DIRECTORY_OBJECT = 'directory';

export interface DirectoryApi {
  /** Map `alias` to a room; fails `M_ROOM_IN_USE` when the alias is taken. */
  performCreateAlias(entry: RoomAliasEntry, now: number): Promise<DirectoryResult>;
  /** Remove the alias; `M_NOT_FOUND` when there is none. Returns what it pointed to. */
  performDeleteAlias(alias: string): Promise<DirectoryResult<{ entry: RoomAliasEntry }>>;
  getAlias(alias: string): Promise<RoomAliasEntry | undefined>;
  /** The local aliases of a room, sorted. */
  getAliasesOfRoom(roomId: string): Promise<string[]>;

  /**
   * A room upgrade (spec "Room upgrades": "Moves any local aliases to the new room"): the old
   * room's aliases now point to the new room, owned by `upgrader`, and the new room takes the
   * old one's places in the published lists (as Synapse). Returns the aliases moved.
   */
  performMoveRoom(oldRoomId: string, newRoomId: string, upgrader: string): Promise<{ aliases: string[]; published: boolean }>;

  /** Publish the room in (or remove it from) the server's list, or an appservice network's list. */
  performSetVisibility(roomId: string, visibility: Visibility, network?: { appservice_id: string; network_id: string }): Promise<void>;
  /** The room's visibility in the server's own list. */
  getVisibility(roomId: string): Promise<Visibility>;
  /** Room IDs published in `list`, at most `limit`, in room ID order. */
  getPublishedRooms(list: RoomList, limit: number): Promise<string[]>;

  /** Add or update a local user in the user directory's index (registration, profile change). */
  performUpdateUser(entry: UserDirectoryEntry): Promise<void>;
  /** Remove a user from the index (deactivation). */
  performRemoveUser(userId: string): Promise<void>;
  /**
   * Users whose user ID or display name has a word starting with each word of the search term
   * (case-insensitive), best matches first. Visibility to the searcher is the caller's filter.
   */
  queryUsers(query: UserSearchQuery): Promise<UserDirectoryEntry[]>;
}

/** The Directory object, typed by `DirectoryApi` (the interface is the contract, as for rooms). */
export function directoryApi(namespace: DurableObjectNamespace): DirectoryApi {
  return namespace.getByName(DIRECTORY_OBJECT) as unknown as DirectoryApi;
}
