/** The UserKeys object's schema; migrations append, never edit (durable-objects/shared/migrations.ts). */
export const MIGRATIONS: readonly string[] = [
  `
  -- Single facts: user_id (the owner, learnt from the first write), device_list_stream (the
  -- user's device-list stream position: user/devices stream_id, m.device_list_update stream_id).
  CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;

  -- Each device's signed DeviceKeys as uploaded (canonical JSON, without unsigned).
  CREATE TABLE device_keys (device_id TEXT PRIMARY KEY, key_json TEXT NOT NULL) WITHOUT ROWID;

  -- Unclaimed one-time keys. The rowid grows with each upload, so claims hand out the oldest
  -- first (spec keys/claim: "in the order that they were uploaded").
  CREATE TABLE one_time_keys (
    device_id TEXT NOT NULL,
    algorithm TEXT NOT NULL,
    key_id TEXT NOT NULL,
    key_json TEXT NOT NULL,
    UNIQUE (device_id, algorithm, key_id)
  );
  CREATE INDEX one_time_keys_claim ON one_time_keys (device_id, algorithm);

  -- One fallback key per device and algorithm; used once it has been handed out by a claim.
  CREATE TABLE fallback_keys (
    device_id TEXT NOT NULL,
    algorithm TEXT NOT NULL,
    key_id TEXT NOT NULL,
    key_json TEXT NOT NULL,
    used INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (device_id, algorithm)
  ) WITHOUT ROWID;

  -- The user's cross-signing keys as uploaded; usage is master, self_signing or user_signing,
  -- public_key the key's unpadded base64 public key.
  CREATE TABLE cross_signing_keys (usage TEXT PRIMARY KEY, public_key TEXT NOT NULL, key_json TEXT NOT NULL) WITHOUT ROWID;

  -- Cross-signing signatures this user made: on their own devices (target_key_id a device ID)
  -- and master key (its public key), seen by everyone, and on other users' master keys, seen
  -- only by this user.
  CREATE TABLE signatures (
    target_user_id TEXT NOT NULL,
    target_key_id TEXT NOT NULL,
    signer_key_id TEXT NOT NULL,
    signature TEXT NOT NULL,
    PRIMARY KEY (target_user_id, target_key_id, signer_key_id)
  ) WITHOUT ROWID;
  `,
];
