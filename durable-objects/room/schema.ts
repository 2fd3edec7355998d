/**
 * The Room object's SQLite schema, as ordered migrations. `migrate()` runs at construction under
 * `blockConcurrencyWhile`, applying those above the stored version inside one transaction.
 *
 * State is stored as state groups (Synapse's term): a group is either a snapshot (no
 * `prev_group`) or a delta on its `prev_group`; an entry with a NULL `event_id` removes a key.
 * Delta chains are bounded (see state.ts), so no event carries a full copy of the state.
 */
export const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);

  -- Every event the room knows. status: accepted | soft_failed | rejected | outlier.
  -- state_group is the state AFTER the event (for rejected ones: the state before it).
  CREATE TABLE events (
    stream_ordering INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL UNIQUE,
    type TEXT NOT NULL,
    state_key TEXT,
    sender TEXT NOT NULL,
    depth INTEGER NOT NULL,
    origin_server_ts INTEGER NOT NULL,
    json TEXT NOT NULL,
    status TEXT NOT NULL,
    rejection TEXT,
    state_group INTEGER,
    redacted_by TEXT
  );
  CREATE INDEX events_by_type ON events(type, state_key);

  CREATE TABLE event_edges (event_id TEXT NOT NULL, prev_event_id TEXT NOT NULL, PRIMARY KEY (event_id, prev_event_id));
  CREATE INDEX event_edges_by_prev ON event_edges(prev_event_id);
  CREATE TABLE event_auth (event_id TEXT NOT NULL, auth_event_id TEXT NOT NULL, PRIMARY KEY (event_id, auth_event_id));

  CREATE TABLE forward_extremities (event_id TEXT PRIMARY KEY);

  CREATE TABLE state_groups (id INTEGER PRIMARY KEY AUTOINCREMENT, prev_group INTEGER, chain_length INTEGER NOT NULL);
  CREATE TABLE state_group_entries (
    group_id INTEGER NOT NULL, type TEXT NOT NULL, state_key TEXT NOT NULL, event_id TEXT,
    PRIMARY KEY (group_id, type, state_key)
  );

  -- Client transaction IDs, scoped per device (spec: "Transaction identifiers").
  CREATE TABLE transactions (
    user_id TEXT NOT NULL, device_id TEXT NOT NULL, txn_id TEXT NOT NULL, event_id TEXT NOT NULL,
    PRIMARY KEY (user_id, device_id, txn_id)
  );

  -- Redactions whose target has not arrived yet, applied when it does.
  CREATE TABLE pending_redactions (target_event_id TEXT NOT NULL, redaction_event_id TEXT NOT NULL, PRIMARY KEY (target_event_id, redaction_event_id));
  `,
  `
  -- Local users to tell about new events, written in the same transaction as the events and
  -- drained afterwards (so a crash can neither lose a notification nor hide that one is due).
  -- One row per user: later events raise stream_ordering; membership is their latest one.
  CREATE TABLE outbox_users (
    user_id TEXT PRIMARY KEY,
    stream_ordering INTEGER NOT NULL,
    membership TEXT
  );
  `,
  `
  -- Receipts (spec "Receipts"): the latest of each (user, receipt type, thread); thread_id ''
  -- is an unthreaded receipt. event_ordering is the receipt's event's stream ordering (receipts
  -- only move forwards); serial is the room's ephemeral stream position of the last change.
  CREATE TABLE receipts (
    user_id TEXT NOT NULL,
    receipt_type TEXT NOT NULL,
    thread_id TEXT NOT NULL,
    event_id TEXT NOT NULL,
    event_ordering INTEGER NOT NULL,
    ts INTEGER NOT NULL,
    serial INTEGER NOT NULL,
    PRIMARY KEY (user_id, receipt_type, thread_id)
  );
  CREATE INDEX receipts_by_serial ON receipts(serial);

  -- The ephemeral position (typing, receipts) a local user still has to be told about.
  ALTER TABLE outbox_users ADD COLUMN ephemeral INTEGER NOT NULL DEFAULT 0;
  `,
  `
  -- Presence of the local joined members (spec "Presence"), as their objects published it: the
  -- latest per user. version orders a user's publications (older ones are ignored); serial is
  -- the room's ephemeral stream position of the last change (see ephemeral.ts).
  CREATE TABLE presence (
    user_id TEXT PRIMARY KEY,
    presence TEXT NOT NULL,
    status_msg TEXT,
    last_active_ts INTEGER,
    currently_active INTEGER NOT NULL,
    version INTEGER NOT NULL,
    serial INTEGER NOT NULL
  );
  CREATE INDEX presence_by_serial ON presence(serial);
  `,
  `
  -- Outliers (spec glossary): events known only as the state or auth chain of a send_join
  -- response, not part of the room's DAG here — no state group, no edges, never in a timeline.
  -- An accepted outlier has status 'outlier'; a rejected one keeps status 'rejected'.
  ALTER TABLE events ADD COLUMN outlier INTEGER NOT NULL DEFAULT 0;

  -- The state before an event whose prev events this room does not have (the join that
  -- bootstrapped the room from a send_join response): the state the resident server gave.
  -- stream_ordering is the event's, so readers of "the state at a position" find it.
  CREATE TABLE state_before (
    event_id TEXT PRIMARY KEY,
    stream_ordering INTEGER NOT NULL,
    state_group INTEGER NOT NULL
  );
  CREATE INDEX state_before_by_ordering ON state_before(stream_ordering);
  `,
  `
  -- The federation outbox (federation-outbox.ts): local events (pdu) and local users' typing and
  -- receipts (edu, {edu_type, content}) to hand to the RemoteServer objects of destinations (a
  -- JSON array of server names not handed over yet), written in the same transaction as what
  -- they carry. id is the order each destination receives them in.
  CREATE TABLE outbox_federation (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    pdu TEXT,
    edu TEXT,
    destinations TEXT NOT NULL
  );
  `,
  `
  -- Transaction keys name their endpoint ('send:' or 'redact:', then the client's ID; see
  -- store.ts). Redactions were stored as 'm.redact/' + ID, sends as the bare ID.
  UPDATE transactions SET txn_id = CASE
    WHEN substr(txn_id, 1, 9) = 'm.redact/' THEN 'redact:' || substr(txn_id, 10)
    ELSE 'send:' || txn_id END;
  `,
  `
  -- Users of other servers whose being joined changed in the current state, to report to their
  -- server's RemoteServer object (remote-members.ts), written in the same transaction as the
  -- change: the latest per user. seq grows with each rewrite, so a row changed while its
  -- earlier value was being reported stays due.
  CREATE TABLE outbox_remote_members (
    user_id TEXT PRIMARY KEY,
    joined INTEGER NOT NULL,
    seq INTEGER NOT NULL
  );
  `,
];
