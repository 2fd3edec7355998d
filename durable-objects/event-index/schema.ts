/** The EventIndex object's schema; migrations append, never edit (durable-objects/shared/migrations.ts). */
export const MIGRATIONS: readonly string[] = [
  `
  -- One row per event of a room shared with other servers, in this shard (see api.ts).
  CREATE TABLE event_rooms (event_id TEXT PRIMARY KEY, room_id TEXT NOT NULL) WITHOUT ROWID;
  `,
];
