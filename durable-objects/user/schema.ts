/**
 * The User object's SQLite schema, as ordered migrations (same mechanism as the Room's).
 * Access tokens are stored only as SHA-256 hashes; passwords only as PBKDF2 hash strings.
 */
export const MIGRATIONS: readonly string[] = [
  `
  -- At most one row: the account this object holds (absent until registration).
  CREATE TABLE account (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    user_id TEXT NOT NULL,
    password_hash TEXT,
    created_ts INTEGER NOT NULL,
    deactivated_ts INTEGER
  );

  CREATE TABLE devices (
    device_id TEXT PRIMARY KEY,
    display_name TEXT,
    created_ts INTEGER NOT NULL,
    last_seen_ts INTEGER,
    last_seen_ip TEXT
  );

  -- token_hash: unpadded base64 of SHA-256(access token). The token itself is never stored.
  CREATE TABLE access_tokens (
    token_hash TEXT PRIMARY KEY,
    device_id TEXT NOT NULL,
    created_ts INTEGER NOT NULL
  );
  CREATE INDEX access_tokens_by_device ON access_tokens(device_id);

  -- User-interactive auth sessions (spec "User-interactive authentication API"), bound to the
  -- operation that started them; completed is a JSON array of stage types.
  CREATE TABLE uia_sessions (
    session_id TEXT PRIMARY KEY,
    operation TEXT NOT NULL,
    completed TEXT NOT NULL,
    created_ts INTEGER NOT NULL
  );
  `,
  `
  -- The rooms this user is in, and their latest membership as the rooms reported it.
  CREATE TABLE room_memberships (room_id TEXT PRIMARY KEY, membership TEXT NOT NULL, stream_ordering INTEGER NOT NULL);

  -- This user's view of room activity: one row per notification from a room, in arrival order.
  -- pos is the user's own stream position (the basis of sync tokens); room_stream_ordering is
  -- the room's position the notification covers.
  CREATE TABLE room_stream (
    pos INTEGER PRIMARY KEY AUTOINCREMENT,
    room_id TEXT NOT NULL,
    room_stream_ordering INTEGER NOT NULL
  );
  CREATE INDEX room_stream_by_room ON room_stream(room_id, pos);
  `,
  `
  -- Stored filters (spec "Filtering"); filter_id is handed out as its decimal string.
  CREATE TABLE filters (filter_id INTEGER PRIMARY KEY AUTOINCREMENT, filter TEXT NOT NULL);

  -- Profile fields (displayname, avatar_url, custom keys), each value as JSON text.
  CREATE TABLE profile (key TEXT PRIMARY KEY, value TEXT NOT NULL);

  -- Account data, global (room_id '') and per room, one row per (room, type) with its latest
  -- content. pos is the row's position in the user's account-data stream: every write moves the
  -- row to the next position, so "changed since p" is "pos > p" and rows are never deleted.
  CREATE TABLE account_data (
    room_id TEXT NOT NULL,
    type TEXT NOT NULL,
    content TEXT NOT NULL,
    pos INTEGER NOT NULL,
    PRIMARY KEY (room_id, type)
  );
  CREATE UNIQUE INDEX account_data_by_pos ON account_data(pos);
  `,
  `
  -- The room's ephemeral position (typing, receipts) each notification reported, alongside its
  -- event position: /sync asks a room for ephemeral changes between the two positions seen.
  ALTER TABLE room_memberships ADD COLUMN ephemeral INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE room_stream ADD COLUMN ephemeral INTEGER NOT NULL DEFAULT 0;
  `,
  `
  -- Forgotten rooms (spec "Leaving rooms", POST /rooms/{roomId}/forget): the room's stream
  -- ordering of the membership the user forgot, NULL when not forgotten. /sync leaves such
  -- rooms out; a notification beyond that position (a new membership) un-forgets the room.
  ALTER TABLE room_memberships ADD COLUMN forgotten_at INTEGER;
  `,
  `
  -- The user's presence (spec "Presence"; see presence.ts), at most one row. version is the
  -- room-stream position of its last published change: the user's own presence changes ride the
  -- room stream as rows with room_id '', so /sync finds them between two of its positions.
  -- told_version is the version every joined room has confirmed (the outbox of publication:
  -- below version, the rooms are told again).
  CREATE TABLE presence (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    presence TEXT NOT NULL,
    status_msg TEXT,
    last_active_ts INTEGER,
    currently_active INTEGER NOT NULL,
    version INTEGER NOT NULL,
    told_version INTEGER NOT NULL DEFAULT 0
  );
  `,
  `
  -- OpenID tokens (spec "OpenID", POST /user/{userId}/openid/request_token): only the SHA-256
  -- of each token, with when it expires; other servers check them through
  -- GET /_matrix/federation/v1/openid/userinfo. Expired rows are deleted as new ones are issued.
  CREATE TABLE openid_tokens (token_hash TEXT PRIMARY KEY, expires_ts INTEGER NOT NULL);
  `,
  `
  -- Memberships in rooms this server does not have (see remote-invites.ts): an invite received
  -- over federation (PUT /_matrix/federation/v2/invite) with the stripped state it came with,
  -- or its rejection through another server. event is the member event (JSON PDU), invite_state
  -- a JSON array of stripped state events. The room_memberships row carries the membership for
  -- /sync; this row carries what the absent Room object would have answered.
  CREATE TABLE remote_memberships (
    room_id TEXT PRIMARY KEY,
    membership TEXT NOT NULL,
    event_id TEXT NOT NULL,
    event TEXT NOT NULL,
    invite_state TEXT NOT NULL
  );
  `,
  `
  -- The device stream (see to-device.ts, device-lists.ts): one counter for to-device messages
  -- and device-list changes, the third part of the /sync token. Its own row, because the rows it
  -- numbers are deleted (delivered messages) or moved (a user's newest change), and the
  -- position must never go back.
  CREATE TABLE device_stream (id INTEGER PRIMARY KEY CHECK (id = 1), pos INTEGER NOT NULL);
  INSERT INTO device_stream (id, pos) VALUES (1, 0);

  -- Send-to-device messages waiting for one of this user's devices (spec "Send-to-Device
  -- messaging"), at their device-stream position; deleted once a /sync of that device passes
  -- a since at or beyond it (the client's acknowledgement), or with the device.
  CREATE TABLE to_device_inbox (
    pos INTEGER PRIMARY KEY,
    device_id TEXT NOT NULL,
    sender TEXT NOT NULL,
    type TEXT NOT NULL,
    content TEXT NOT NULL
  );
  CREATE INDEX to_device_inbox_by_device ON to_device_inbox(device_id, pos);

  -- The (sender, message_id) of every to-device message received lately, so a retry (a client
  -- retrying its txn, a server retrying its transaction) delivers nothing twice. Kept for a
  -- while after the message itself is delivered and deleted; see to-device.ts.
  CREATE TABLE to_device_received (
    sender TEXT NOT NULL,
    message_id TEXT NOT NULL,
    received_ts INTEGER NOT NULL,
    PRIMARY KEY (sender, message_id)
  );
  CREATE INDEX to_device_received_by_ts ON to_device_received(received_ts);

  -- Users whose device lists (or cross-signing keys) changed, one row per user at the position
  -- of its latest change: the changes in (a, b] are the rows with a < pos <= b, as for account data.
  CREATE TABLE device_list_changes (user_id TEXT PRIMARY KEY, pos INTEGER NOT NULL);
  CREATE INDEX device_list_changes_by_pos ON device_list_changes(pos);
  `,
];
