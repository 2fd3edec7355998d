/** The ServerKeys object's schema; migrations append, never edit (durable-objects/shared/migrations.ts). */
export const MIGRATIONS: readonly string[] = [
  `
  -- One remote server's verify keys as its key server published them (spec "Retrieving
  -- server keys"): valid_until_ts already capped at fetch time + 7 days; expired_ts for keys
  -- listed under old_verify_keys (valid for events before it).
  CREATE TABLE verify_keys (
    key_id TEXT PRIMARY KEY,
    public_key TEXT NOT NULL,
    valid_until_ts INTEGER NOT NULL,
    expired_ts INTEGER,
    fetched_ts INTEGER NOT NULL
  );
  -- The last fetch attempt, so a server that does not answer is not asked on every request.
  CREATE TABLE fetch_state (id INTEGER PRIMARY KEY CHECK (id = 1), last_attempt_ts INTEGER NOT NULL, last_error TEXT);
  -- The key server's response as received, for notary answers (/_matrix/key/v2/query).
  CREATE TABLE key_responses (id INTEGER PRIMARY KEY CHECK (id = 1), json TEXT NOT NULL, valid_until_ts INTEGER NOT NULL);
  `,
];
