/**
 * What callers see of a Room object (Dendrite's per-consumer room API): commands named
 * `perform*`, received PDUs `ingest*`, reads `get*`. Workers reach a room only through
 * `roomApi()`, never through its storage.
 */
import type { JsonObject } from '../../core/canonical-json';
import type { StateTriple } from '../../wasm/ops';
import type { EventTemplate } from './builder';
import type { PresenceStatus } from '../user/api';
import type { EventStatus } from './store';

/** Expected failures cross RPC as values: thrown errors would lose their errcode. */
export type RoomFailure = {
  ok: false;
  errcode: 'M_FORBIDDEN' | 'M_BAD_JSON' | 'M_NOT_FOUND' | 'M_TOO_LARGE' | 'M_UNSUPPORTED_ROOM_VERSION' | 'M_UNKNOWN';
  error: string;
};
export type RoomResult<T> = ({ ok: true } & T) | RoomFailure;

export interface CreateRoomInput {
  room_id: string;
  room_version: string;
  creator: string;
  content?: JsonObject;
  origin_server_ts?: number;
}

/**
 * The client endpoint a transaction ID came with. Spec "Transaction identifiers": the scope of
 * a transaction ID is one device and one endpoint, so `/send/…/x` and `/redact/…/x` are two
 * transactions.
 */
export type TxnEndpoint = 'send' | 'redact';

export interface SendInput extends EventTemplate {
  /** Client transaction ID (spec: idempotent per access token's device). */
  txn?: { device_id: string; txn_id: string; endpoint: TxnEndpoint };
  origin_server_ts?: number;
}

export type SendResult = RoomResult<{ event_id: string; stream_ordering: number }>;

export type IngestResult =
  | { event_id: string; status: 'accepted' | 'soft_failed' | 'rejected' | 'duplicate'; reason?: string }
  | { event_id?: string; status: 'dropped'; reason: string }
  | { event_id: string; status: 'missing'; reason: string; missing: string[] };

/**
 * What fills a gap before a received PDU that "Retrieving missing events" could not close (spec
 * Server-Server API "Retrieving events"; Synapse's /state_ids fallback): the state at the prev
 * events this room lacks, as the origin gave it (durable-objects/room/missing-state.ts).
 */
export interface PrevStatesFill {
  /**
   * For each prev event of the PDU without state here: the IDs of the state before it (its
   * `/state_ids` `pdu_ids`). The prev event itself is added when it is a state event.
   */
  state_before: Record<string, string[]>;
  /**
   * The events this room lacks among those states, their auth chains, the prev events and the
   * PDU's auth events, as fetched (format and signatures checked by the caller). They are
   * checked against their own auth events and stored as outliers.
   */
  events: JsonObject[];
}

export interface EventRecord {
  event_id: string;
  stream_ordering: number;
  pdu: JsonObject;
  status: EventStatus;
  rejection: string | null;
  redacted_by: string | null;
  /** The event that redacted this one (spec `UnsignedData.redacted_because`). */
  redacted_because?: { event_id: string; pdu: JsonObject };
  /** For the device that sent it, its transaction ID (spec `UnsignedData.transaction_id`). */
  transaction_id?: string;
}

export interface RoomInfo {
  room_id: string;
  room_version: string;
  create_event_id: string;
  stream_ordering: number;
  forward_extremities: string[];
}

/** What the Room object applies of a client's `RoomEventFilter` (spec: "Filtering"). */
export interface TimelineFilter {
  types?: string[];
  not_types?: string[];
  senders?: string[];
  not_senders?: string[];
}

/**
 * A page of the timeline. Positions sit between events: position `n` has the events with stream
 * ordering ≤ n before it. Backwards (`b`) returns events before `from`, newest first; forwards
 * (`f`) those after it, oldest first; `to` bounds the walk the same way.
 */
export interface TimelineQuery {
  /** Defaults to the newest position going backwards, to 0 going forwards. */
  from?: number;
  to?: number;
  dir: 'b' | 'f';
  limit: number;
  filter?: TimelineFilter;
  /** The reader: only the events their history visibility lets them see (visibility.ts). */
  user_id?: string;
  /** Lazy-loading (spec "Lazy-loading room members"): return the events' senders' member events as `state`. */
  lazy_load_members?: boolean;
}

export interface TimelinePage {
  /** Accepted events only (never soft-failed, rejected or outliers). */
  events: EventRecord[];
  start: number;
  /** Where the next page starts; absent when nothing is left in that direction. */
  end?: number;
  /** With `lazy_load_members`: each sender's member event at their newest event of the page. */
  state?: EventRecord[];
}

/** A user's membership in the current state, with what a reader check needs besides. */
export interface MembershipInfo {
  room_id: string;
  /** `content.membership` of the user's current member event; null without one. */
  membership: string | null;
  /** `m.room.history_visibility` (spec default when absent: `shared`). */
  history_visibility: string;
}

/** `MembershipInfo`, and whether the user may see any event of the room (visibility.ts). */
export interface HistoryAccess extends MembershipInfo {
  sees_history: boolean;
}

/** One room's part of a /sync; see sync.ts. */
export interface SyncRoomRequest {
  user_id: string;
  /** The syncing device: its own events carry their transaction ID. */
  device_id?: string;
  membership: string;
  from: number;
  to: number;
  limit: number;
  full_state: boolean;
  /** Ephemeral positions (typing, receipts, presence; see ephemeral.ts): changes in (from, to]; joined rooms only. */
  ephemeral_from?: number;
  ephemeral_to?: number;
  /** Lazy-loading (spec "Lazy-loading room members"): `state` holds only the member events the timeline needs. */
  lazy_load_members?: boolean;
  /**
   * Incremental syncs: the room position the user had (their `from`, also under `full_state`).
   * The response then carries `shared_members` since it (/sync `device_lists`).
   */
  shared_members_since?: number;
}

/**
 * How the other users a user shares a room with (both joined) changed between two positions
 * (shared-members.ts): for /sync `device_lists` (workers/homeserver/client/sync-device-lists.ts).
 */
export interface SharedMembersChange {
  /** Joined at the end, and their member event changed in between (or the room is new to the user). */
  joined: string[];
  /** Joined with the user at the start, and no longer at the end (or the user is no longer joined). */
  left: string[];
}

/** Spec (/sync `RoomSummary`): what a client needs to name and count a joined room. */
export interface SyncRoomSummary {
  'm.heroes': string[];
  'm.joined_member_count': number;
  'm.invited_member_count': number;
}

export interface SyncRoomResponse {
  events: EventRecord[];
  limited: boolean;
  prev_batch: number;
  state: EventRecord[];
  /** For invites and knocks: stripped state (spec "Stripped state"). */
  invite_state?: { type: string; state_key: string; sender: string; content: unknown }[];
  /** `m.typing` and `m.receipt` events, when asked for with `ephemeral_to`. */
  ephemeral?: JsonObject[];
  /** Other local members' presence changed in the ephemeral range (see ephemeral.ts), when asked for with `ephemeral_to`. */
  presence?: PresenceStatus[];
  /** Joined rooms: the summary at the end of the timeline. */
  summary?: SyncRoomSummary;
  /** When asked for with `shared_members_since`. */
  shared_members?: SharedMembersChange;
}

// ---- ephemeral data: typing, receipts, presence (ephemeral.ts) ----------------------------------

export interface TypingInput {
  user_id: string;
  typing: boolean;
  timeout_ms: number;
}

export interface ReceiptCommand {
  user_id: string;
  receipt_type: 'm.read' | 'm.read.private';
  event_id: string;
  /** `main` or a thread root's event ID; absent for an unthreaded receipt. */
  thread_id?: string;
  /** When it was sent: a remote server's `data.ts` (spec `m.receipt` EDU); now by default. */
  ts?: number;
}

export interface RoomApi {
  /** Set or clear the user's typing (joined members only); kept in memory, expires after `timeout_ms`. */
  performTyping(input: TypingInput): Promise<RoomResult<object>>;
  /** Store a receipt (joined members only, on an accepted event of the room); older ones are ignored. */
  performReceipt(input: ReceiptCommand): Promise<RoomResult<object>>;
  /**
   * A local member's object publishing their presence (durable-objects/user/presence.ts), or a
   * remote member's from an `m.presence` EDU: recorded for joined members only; a copy no newer than the stored one (by `version`) is ignored.
   */
  performPresence(input: PresenceStatus): Promise<RoomResult<object>>;
}

export interface RoomApi {
  performCreate(input: CreateRoomInput): Promise<SendResult>;
  performSend(input: SendInput): Promise<SendResult>;
  /** Whether the room would accept `input` now (its auth rules and limits); nothing is sent. */
  queryMaySend(input: SendInput): Promise<RoomResult<object>>;
  /** A PDU from another server; `fill` gives the state at prev events this room lacks (see `PrevStatesFill`). */
  ingestPdu(pdu: JsonObject, fill?: PrevStatesFill): Promise<IngestResult>;
  /** Those of `eventIds` this room has not stored (neither in its DAG nor as outliers). */
  getUnknownEventIds(eventIds: string[]): Promise<string[]>;
  getRoomInfo(): Promise<RoomInfo | undefined>;
  getEvent(eventId: string): Promise<EventRecord | undefined>;
  getEventsAfter(since: number, limit?: number): Promise<EventRecord[]>;
  getCurrentState(): Promise<StateTriple[]>;
  getStateAfter(eventId: string): Promise<StateTriple[] | undefined>;
  getStateBefore(eventId: string): Promise<StateTriple[] | undefined>;
  /** The current state event at `(type, stateKey)`. */
  getStateEvent(type: string, stateKey: string): Promise<EventRecord | undefined>;
  /** The current state's events, all or those of one type. */
  getCurrentStateEvents(type?: string): Promise<EventRecord[]>;
  /** The local users joined in the current state (whom news about a member concerns). */
  getLocalJoinedMembers(): Promise<string[]>;
  /** The user's current membership and the history visibility; undefined if the room is unknown. */
  queryMembership(userId: string): Promise<MembershipInfo | undefined>;
  /** `queryMembership`, and whether the user may see any of the room's history. */
  queryHistoryAccess(userId: string): Promise<HistoryAccess | undefined>;
  /** An accepted event `userId`'s history visibility lets them see; undefined otherwise. */
  getVisibleEvent(eventId: string, userId: string): Promise<EventRecord | undefined>;
  getTimeline(query: TimelineQuery): Promise<TimelinePage>;
  getSyncRoom(request: SyncRoomRequest): Promise<SyncRoomResponse | undefined>;
  /** Those of `userIds` whose membership is `join` in the current state. */
  queryJoined(userIds: string[]): Promise<string[]>;
}

/**
 * The room `roomId`'s object, typed by `RoomApi`. (The generated stub type of a class whose
 * methods carry recursive JSON types is too deep for the compiler; the interface is the contract.)
 */
export function roomApi(namespace: DurableObjectNamespace, roomId: string): RoomApi {
  return namespace.getByName(roomId) as unknown as RoomApi;
}

// ---- reads: event context, relations, threads, timestamps ---------------------------------
// Declared as a merge into `RoomApi` so this group stays in one place.

/** Spec "Retrieving events around an event" (`/context`): the split of `limit` is the caller's. */
export interface EventContextQuery {
  event_id: string;
  before: number;
  after: number;
  filter?: TimelineFilter;
  /** The reader: the event must be visible to them, and only visible events come around it. */
  user_id?: string;
}

export interface EventContext {
  event: EventRecord;
  /** Newest first. */
  events_before: EventRecord[];
  /** Oldest first. */
  events_after: EventRecord[];
  /** Positions (`r<n>` on the wire): page backwards from `start`, forwards from `end`. */
  start: number;
  end: number;
  /** The state after the last event returned (the last of `events_after`, else the event). */
  state: EventRecord[];
}

/**
 * Child events of `event_id` (spec "Relationships"), paged like the timeline: positions in
 * stream order, `b` newest first from `from` (inclusive), `f` oldest first after `from`.
 */
export interface RelationsQuery {
  event_id: string;
  rel_type?: string;
  event_type?: string;
  dir: 'b' | 'f';
  from?: number;
  to?: number;
  limit: number;
  /** The reader: the parent must be visible to them, and only visible children are returned. */
  user_id?: string;
}

/** Undefined when the parent is no accepted event of the room (or not visible to the reader). */
export interface RelationsPage {
  events: EventRecord[];
  /** Where the next page starts; absent when nothing is left. */
  next?: number;
}

export interface ThreadsQuery {
  /** The reader: whose participation counts, and whose history visibility applies. */
  user_id: string;
  include: 'all' | 'participated';
  /** Threads whose latest reply has stream ordering ≤ `from`; default all. */
  from?: number;
  limit: number;
}

export interface ThreadSummary {
  root: EventRecord;
  latest_event: EventRecord;
  count: number;
  participated: boolean;
}

export interface ThreadsPage {
  threads: ThreadSummary[];
  next?: number;
}

export interface RoomApi {
  /** The event with events around it; undefined if it is no accepted event of the room. */
  getEventContext(query: EventContextQuery): Promise<EventContext | undefined>;
  getRelations(query: RelationsQuery): Promise<RelationsPage | undefined>;
  getThreads(query: ThreadsQuery): Promise<ThreadsPage>;
  /** The accepted event closest to `ts` in direction `dir`. */
  getEventNearTimestamp(ts: number, dir: 'f' | 'b'): Promise<EventRecord | undefined>;
}

// ---- the room's summary (summary.ts) --------------------------------------------------------

/**
 * What the room directory and the user directory show of a room, from its current state: the
 * spec's `PublishedRoomsChunk` fields (`POST /publicRooms`), with the room version and the
 * encryption algorithm besides. Absent fields are unset in the room.
 */
export interface RoomSummary {
  room_id: string;
  room_version: string;
  name?: string;
  /** The plain-text topic (spec `m.room.topic`: the `text/plain` entry of `m.topic`, else `topic`). */
  topic?: string;
  avatar_url?: string;
  canonical_alias?: string;
  num_joined_members: number;
  /** `m.room.history_visibility` is `world_readable`. */
  world_readable: boolean;
  /** `m.room.guest_access` is `can_join`. */
  guest_can_join: boolean;
  /** Absent without an `m.room.join_rules` event. */
  join_rule?: string;
  /** `type` of `m.room.create`. */
  room_type?: string;
  /** `algorithm` of `m.room.encryption`. */
  encryption?: string;
}

export interface RoomApi {
  /** The room's summary; undefined if the room is unknown. */
  getRoomSummary(): Promise<RoomSummary | undefined>;
}

// ---- joining, leaving and knocking over federation (federation-join.ts) ---------------------

/** A make_join / make_leave / make_knock request (spec v1.16 Server-Server API "Joining Rooms"). */
export interface MakeMembershipInput {
  user_id: string;
  /** The requesting server (the HTTP layer's authenticated origin): the user must be one of its users. */
  origin?: string;
  /** The `ver` query parameters: room versions the requesting server supports (spec default `["1"]`). */
  supported_versions?: string[];
}

/** The spec's make_* response (`{event, room_version}`: an unsigned template event), or a failure. */
export type MakeMembershipResult =
  | RoomResult<{ room_version: string; event: JsonObject }>
  | { ok: false; errcode: 'M_INCOMPATIBLE_ROOM_VERSION'; error: string; room_version: string };

/** The spec's v2 send_join response: the state before the join, its auth chain, and the join as stored. */
export type SendJoinResult = RoomResult<{ state: JsonObject[]; auth_chain: JsonObject[]; event: JsonObject }>;

/** The spec's send_knock response: stripped state for the knocking user's client. */
export type SendKnockResult = RoomResult<{ knock_room_state: { type: string; state_key: string; sender: string; content: unknown }[] }>;

/** A send_join response the joining server starts (or resumes) the room from; signatures already verified. */
export interface JoinFromResponseInput {
  room_id: string;
  room_version: string;
  /** Our join, signed by us (and by the resident, when it returned its copy). */
  join_event: JsonObject;
  state: JsonObject[];
  auth_chain: JsonObject[];
}

export interface RoomApi {
  /** make_join: the join template for a user of another server, if the join would pass auth now. */
  getMakeJoinTemplate(input: MakeMembershipInput): Promise<MakeMembershipResult>;
  getMakeLeaveTemplate(input: MakeMembershipInput): Promise<MakeMembershipResult>;
  getMakeKnockTemplate(input: MakeMembershipInput): Promise<MakeMembershipResult>;
  /** send_join: accept `origin`'s signed join through the receipt checks; the state before it and its auth chain. */
  performSendJoin(pdu: JsonObject, origin: string): Promise<SendJoinResult>;
  performSendLeave(pdu: JsonObject, origin: string): Promise<RoomResult<object>>;
  performSendKnock(pdu: JsonObject, origin: string): Promise<SendKnockResult>;
  /** Joining side: start the room here from a send_join response (state and auth chain stored as outliers). */
  performJoinFromResponse(input: JoinFromResponseInput): Promise<SendResult>;
}

// ---- the DAG as other servers read it (federation-reads.ts) ---------------------------------

/** What a federation endpoint checks of the requesting server before it touches the room. */
export interface ServerAccess {
  /** The room's `m.room.server_acl` lets the server take part. */
  acl_allows: boolean;
  /** One of its users is joined in the current state. */
  joined: boolean;
  /** One of its users has a member event in the current state (of any membership). */
  ever_member: boolean;
}

export interface RoomApi {
  /** Undefined if the room is unknown. */
  queryServerAccess(serverName: string): Promise<ServerAccess | undefined>;
  /** Spec `/state`: the state before the event and its auth chain; undefined if the event or its state is unknown. */
  getStatePdus(eventId: string): Promise<{ pdus: JsonObject[]; auth_chain: JsonObject[] } | undefined>;
  /** Spec `/state_ids`: the same as IDs. */
  getStateIds(eventId: string): Promise<{ pdu_ids: string[]; auth_chain_ids: string[] } | undefined>;
  /** Spec `/event_auth`: the event's auth chain; undefined if the event is unknown. */
  getAuthChainPdus(eventId: string): Promise<JsonObject[] | undefined>;
  /** Spec `/backfill`, events `serverName` may not see redacted. */
  getBackfill(eventIds: string[], limit: number, serverName: string): Promise<JsonObject[]>;
  /** Spec `/get_missing_events`, oldest first, events `serverName` may not see redacted. */
  getMissingEvents(query: { earliest_events: string[]; latest_events: string[]; limit: number; min_depth: number }, serverName: string): Promise<JsonObject[]>;
}

// ---- inviting users of other servers, and single events for servers (federation-invite.ts) --

/** An invite planned against the room now (auth rules checked), not committed; see federation-invite.ts. */
export type InviteDraftResult = RoomResult<{
  room_version: string;
  /** The PDU without signatures (hashes set): the inviting server signs it. */
  event: JsonObject;
  /** Spec `invite_room_state` (v1.16): the stripped-state events as PDUs, `m.room.create` first. */
  invite_room_state: JsonObject[];
}>;

export interface RoomApi {
  /** Plan the invite `input` (an `m.room.member` invite of a remote user) without writing it. */
  getInviteDraft(input: SendInput): Promise<InviteDraftResult>;
  /**
   * The invite countersigned by the invitee's server (signatures checked by the caller): into
   * the room through the receipt checks, then to the other servers in the room.
   */
  performCommitInvite(pdu: JsonObject): Promise<RoomResult<{ event_id: string }>>;
  /** Spec `GET /event/{eventId}`: the stored PDU if `serverName` may see it (history visibility); undefined otherwise. */
  getEventForServer(eventId: string, serverName: string): Promise<JsonObject | undefined>;
}
