/**
 * The Directory object's SQLite schema, as ordered migrations (the same runner as the Room's
 * and User's: durable-objects/shared/migrations.ts). Append; never edit an applied migration.
 */
export const MIGRATIONS: readonly string[] = [
  `
  -- Room aliases of this server (spec "Room aliases"): one row per local alias. creator is the
  -- user who made it (it may delete it without any power in the room, as in Synapse).
  CREATE TABLE room_aliases (
    alias TEXT PRIMARY KEY,
    room_id TEXT NOT NULL,
    creator TEXT NOT NULL,
    created_ts INTEGER NOT NULL
  );
  CREATE INDEX room_aliases_by_room ON room_aliases(room_id);

  -- The published room directory (spec "Room directory", "visibility"). The server's own list
  -- is appservice_id = network_id = ''; application services publish into their own
  -- (appservice_id, network_id) lists (spec "Application service room directory management").
  CREATE TABLE published_rooms (
    room_id TEXT NOT NULL,
    appservice_id TEXT NOT NULL DEFAULT '',
    network_id TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (room_id, appservice_id, network_id)
  );

  -- The user directory's index of local users (spec "User directory"). search_text is the
  -- lower-cased words of the user ID and display name, each preceded by one space, so a word
  -- prefix is the pattern '% <prefix>%'.
  CREATE TABLE user_directory (
    user_id TEXT PRIMARY KEY,
    displayname TEXT,
    avatar_url TEXT,
    search_text TEXT NOT NULL
  );
  `,
];
