/**
 * The RemoteServer object's SQLite schema, as ordered migrations (the runner shared by every
 * object: durable-objects/shared/migrations.ts). Append; never edit an applied migration.
 */
export const MIGRATIONS: readonly string[] = [
  `
  -- destination (the server name, recorded by the first enqueue), last_txn_id.
  CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);

  -- PDUs waiting for the destination, in the order they were queued (id). queue_key (see
  -- batch.ts pduQueueKey) makes a repeated hand-over a no-op. txn_id: the transaction in flight
  -- that carries the row; rows leave only when the destination answered it with 200.
  CREATE TABLE queued_pdus (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    queue_key TEXT NOT NULL UNIQUE,
    json TEXT NOT NULL,
    txn_id TEXT
  );

  -- EDUs waiting for the destination (spec "EDUs"); queued_ts lets old ones be dropped.
  CREATE TABLE queued_edus (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    edu_type TEXT NOT NULL,
    content TEXT NOT NULL,
    queued_ts INTEGER NOT NULL,
    txn_id TEXT
  );

  -- The one transaction in flight (spec "Transactions": one at a time per destination), with
  -- the exact body sent, so a retry (also after a restart) repeats the same ID and body and the
  -- destination can deduplicate it. failures/retry_at: the backoff.
  CREATE TABLE pending_transaction (
    txn_id TEXT PRIMARY KEY,
    body TEXT NOT NULL,
    failures INTEGER NOT NULL,
    retry_at INTEGER,
    last_error TEXT
  );
  `,
  `
  -- The rooms here in which a user of this server is joined, as the rooms' current state says
  -- (each Room object reports its changes after the commit: durable-objects/room/remote-members.ts).
  -- Inbound EDUs about the user (presence, device lists) reach these rooms and their members.
  CREATE TABLE joined_rooms (
    user_id TEXT NOT NULL,
    room_id TEXT NOT NULL,
    PRIMARY KEY (user_id, room_id)
  );
  `,
];
