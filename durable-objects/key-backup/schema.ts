/** The KeyBackup object's schema; migrations append, never edit (durable-objects/shared/migrations.ts). */
export const MIGRATIONS: readonly string[] = [
  `
  -- One row per backup version the user ever created. Deleted versions keep their row (deleted
  -- = 1) so their numbers are never handed out again; their keys are gone. etag counts changes
  -- to the version's keys; key_count is kept with every write so reads need no COUNT(*).
  CREATE TABLE backup_versions (
    version INTEGER PRIMARY KEY,
    algorithm TEXT NOT NULL,
    auth_data TEXT NOT NULL,
    etag INTEGER NOT NULL DEFAULT 0,
    key_count INTEGER NOT NULL DEFAULT 0,
    deleted INTEGER NOT NULL DEFAULT 0
  );

  -- The backed-up key of one Megolm session (spec KeyBackupData), session_data as JSON text.
  CREATE TABLE room_keys (
    version INTEGER NOT NULL,
    room_id TEXT NOT NULL,
    session_id TEXT NOT NULL,
    first_message_index INTEGER NOT NULL,
    forwarded_count INTEGER NOT NULL,
    is_verified INTEGER NOT NULL,
    session_data TEXT NOT NULL,
    PRIMARY KEY (version, room_id, session_id)
  ) WITHOUT ROWID;
  `,
];
