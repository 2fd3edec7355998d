/**
 * What callers see of a User object: one object per local user ID (`env.USER.getByName(userId)`),
 * holding the account, its devices, the hashes of its access tokens, its user-interactive
 * auth sessions, its profile, stored filters and account data. Commands are `perform*`, reads
 * `get*`; `authenticate` is the auth gate's.
 */
import type { JsonObject, JsonValue } from '../../core/canonical-json';
import type { PushRuleUpdate } from '../../core/push/ruleset';
import type { RateLimitClass } from '../../workers/shared/config';


/** Expected failures cross RPC as values: thrown errors would lose their errcode. */
export type UserFailure = {
  ok: false;
  errcode: 'M_FORBIDDEN' | 'M_USER_IN_USE' | 'M_USER_DEACTIVATED' | 'M_NOT_FOUND' | 'M_UNKNOWN_TOKEN' | 'M_INVALID_PARAM' | 'M_PROFILE_TOO_LARGE' | 'M_LIMIT_EXCEEDED';
  error: string;
  /** With `M_LIMIT_EXCEEDED`: how long to wait (spec "Rate limiting"). */
  retry_after_ms?: number;
};

/** The rate-limit classes a user's object counts in `authenticate` (the auth gate names one per route). */
export type UserRateLimitClass = Extract<RateLimitClass, 'message'>;
export type UserResult<T = object> = ({ ok: true } & T) | UserFailure;

/** A device as the spec's `Device` object (absent fields are unknown). */
export interface Device {
  device_id: string;
  display_name?: string;
  last_seen_ts?: number;
  last_seen_ip?: string;
}

export type AccountStatus = 'none' | 'active' | 'deactivated';

/** A new login session: the device to create or reuse and the hash of its new access token. */
export interface NewLogin {
  /** Reuse this device (its older tokens are revoked) or create it; generated when absent. */
  device_id?: string;
  display_name?: string;
  token_hash: string;
}

export interface RegisterInput {
  user_id: string;
  /** PBKDF2 hash string (hashed by the caller, before the call), or null for no password. */
  password_hash: string | null;
  /** Absent with `inhibit_login`. */
  login?: NewLogin;
  now: number;
}

export interface LoginInput extends NewLogin {
  password: string;
  now: number;
}

export interface ChangePasswordInput {
  password_hash: string;
  /** Spec `logout_devices` (default true): revoke every device but `keep_device_id`. */
  logout_devices: boolean;
  keep_device_id: string;
}

export interface UiaSession {
  operation: string;
  completed: string[];
}

/** A room telling a local user that it has new events (and, for their own member event, the new membership). */
export interface RoomNotification {
  room_id: string;
  /** The room's stream ordering the notification covers (the newest event written). */
  stream_ordering: number;
  /** The user's membership after that event, when it changed or is known. */
  membership?: string;
  /** The room's ephemeral position (typing, receipts) at the time; see durable-objects/room/ephemeral.ts. */
  ephemeral?: number;
}

export interface ForgetRoomInput {
  room_id: string;
  /** The user's membership in the room's current state (`leave` or `ban`). */
  membership: string;
  /** The room's stream ordering of that membership event. */
  stream_ordering: number;
}

/** One account-data event: global when `room_id` is null. */
export interface AccountDataEntry {
  room_id: string | null;
  type: string;
  content: JsonObject;
}

/** A /sync position: one per stream the user's object keeps. */
export interface StreamPositions {
  /** The room stream (notifications from rooms). */
  rooms: number;
  /** The account-data stream (every account-data write). */
  account_data: number;
  /** The device stream (to-device messages and device-list changes; to-device.ts, device-lists.ts). */
  device: number;
}

/** Spec (`PUT /profile/{userId}/{keyName}`): "the total profile MUST be under 64 KiB". */
export const MAX_PROFILE_BYTES = 64 * 1024;

export interface UserApi {
  getAccountStatus(): Promise<AccountStatus>;
  performRegister(input: RegisterInput): Promise<UserResult<{ device_id?: string }>>;
  /**
   * `m.login.password`: check the password, then create the device and token. Failed attempts
   * count against the account's `login_failed` rate; while it is used up every attempt, right
   * or wrong, fails `M_LIMIT_EXCEEDED`.
   */
  performLogin(input: LoginInput): Promise<UserResult<{ user_id: string; device_id: string }>>;
  /** Delete the device (and so every token of it). */
  performLogout(deviceId: string): Promise<UserResult>;
  performLogoutAll(): Promise<UserResult>;
  /**
   * Resolve a token hash to its device; records `last_seen` at most once a minute. With
   * `rateLimit`, the request also counts against the user's bucket of that class and fails
   * `M_LIMIT_EXCEEDED` (with `retry_after_ms`) when it is empty.
   */
  authenticate(
    tokenHash: string,
    seen: { now: number; ip: string | null },
    rateLimit?: UserRateLimitClass,
  ): Promise<UserResult<{ user_id: string; device_id: string }>>;
  /** Whether `password` is the account's password (UIA `m.login.password`). */
  checkPassword(password: string): Promise<boolean>;
  getDevices(): Promise<Device[]>;
  getDevice(deviceId: string): Promise<Device | undefined>;
  performUpdateDevice(deviceId: string, displayName: string | null): Promise<UserResult>;
  performDeleteDevice(deviceId: string): Promise<UserResult>;
  performDeleteDevices(deviceIds: string[]): Promise<UserResult>;
  performChangePassword(input: ChangePasswordInput): Promise<UserResult>;
  /** Deactivate: every device and token is deleted, the password forgotten, the ID kept taken. */
  performDeactivate(now: number): Promise<UserResult>;

  performUiaBegin(sessionId: string, operation: string, now: number): Promise<void>;
  getUiaSession(sessionId: string, now: number): Promise<UiaSession | undefined>;
  performUiaComplete(sessionId: string, stage: string): Promise<string[]>;
  performUiaEnd(sessionId: string): Promise<void>;

  /**
   * Record activity in a room (called by Room objects, through their outbox, after commit).
   * Idempotent: a notification at or below the room's last reported position with the same
   * membership changes nothing, so the outbox may deliver twice.
   */
  notifyRoom(notification: RoomNotification): Promise<void>;
  /**
   * Forget a room (spec "Leaving rooms"): /sync leaves it out until a notification beyond
   * `input.stream_ordering` (the room position of the membership forgotten) brings a new
   * membership. The caller has checked with the room that the membership is `leave` or `ban`.
   */
  performForgetRoom(input: ForgetRoomInput): Promise<UserResult>;
  /** Room IDs where the user's membership is `join`. */
  getJoinedRooms(): Promise<string[]>;
  /** The user's room stream position. */
  getRoomStreamPosition(): Promise<number>;
  /**
   * Resolve with the room stream position once it is beyond `since`, or after `timeoutMs`
   * (spec: /sync `timeout`), whichever is first. No polling: notifications wake waiters.
   */
  waitForRoomActivity(since: number, timeoutMs: number): Promise<number>;
  /**
   * The rooms a /sync covers between the user's stream positions `since` and `upTo`: each with
   * the user's membership and the room positions seen at `since` (`from`) and at `upTo` (`to`);
   * every room with a membership when `all` (initial or full-state sync), else changed ones.
   */
  getSyncRooms(since: number, upTo: number, all: boolean): Promise<SyncRoom[]>;

  /** Both stream positions now. */
  getStreamPositions(): Promise<StreamPositions>;
  /**
   * Resolve with the positions once any stream is beyond `since`, or after `timeoutMs`,
   * whichever is first (the /sync long-poll). Room notifications, account-data writes and the
   * device stream wake it. With `deviceId`, the device stream counts only with news for that
   * device (a device-list change, or a to-device message for it), not another device's messages.
   */
  waitForActivity(since: StreamPositions, timeoutMs: number, deviceId?: string): Promise<StreamPositions>;

  /** Store a filter (already validated by the caller); returns its ID. */
  performCreateFilter(filter: JsonObject): Promise<UserResult<{ filter_id: string }>>;
  getFilter(filterId: string): Promise<JsonObject | undefined>;

  /** The profile's fields; undefined when there is no active account. */
  getProfile(): Promise<JsonObject | undefined>;
  /**
   * Set one profile field, or delete it with `undefined`. Fails `M_PROFILE_TOO_LARGE` when the
   * whole profile would reach `MAX_PROFILE_BYTES`. `profile` is the profile after the change.
   */
  performSetProfileField(key: string, value: JsonValue | undefined): Promise<UserResult<{ profile: JsonObject }>>;

  /** Account data of `type`, global (`roomId` null) or for a room; undefined when unset. */
  getAccountData(roomId: string | null, type: string): Promise<JsonObject | undefined>;
  performSetAccountData(roomId: string | null, type: string, content: JsonObject): Promise<UserResult>;
  /**
   * Add (`tag` content) or remove (null) one tag of the room's `m.tag` account data, as one
   * read-modify-write in the object.
   */
  performSetTag(roomId: string, tag: string, content: JsonObject | null): Promise<UserResult>;
  /** Account data written in (since, upTo] of the account-data stream (since 0: all of it). */
  getAccountDataChanges(since: number, upTo: number): Promise<AccountDataEntry[]>;
}

export interface SyncRoom {
  room_id: string;
  membership: string;
  /** Room stream ordering already delivered at `since` (exclusive start of the timeline). */
  from: number;
  /** Room stream ordering reported at `upTo` (inclusive end of the timeline). */
  to: number;
  /** The room's ephemeral positions reported at `since` and at `upTo` (typing, receipts in between). */
  ephemeral_from: number;
  ephemeral_to: number;
}

/** The user `userId`'s object, typed by `UserApi` (the interface is the contract, as for rooms). */
export function userApi(namespace: DurableObjectNamespace, userId: string): UserApi {
  return namespace.getByName(userId) as unknown as UserApi;
}

// ---- presence (presence.ts) -----------------------------------------------------------------
// Declared as a merge into `UserApi` so this group stays in one place.

/** Spec `m.presence` `presence`: the user's presence state. */
export type PresenceState = 'online' | 'unavailable' | 'offline';

/**
 * A user's presence as their object publishes it, rooms keep it and /sync reports it (spec
 * "Presence"). `last_active_ts` becomes `last_active_ago` when read.
 */
export interface PresenceStatus {
  user_id: string;
  presence: PresenceState;
  status_msg: string | null;
  /** When the user was last active (ms since the epoch); null if never. */
  last_active_ts: number | null;
  currently_active: boolean;
  /** Grows with every published change of the user's presence: of two copies, the higher is the newer. */
  version: number;
}

export interface UserApi {
  /**
   * `PUT /presence/{userId}/status`: set the state and the status message (null clears it);
   * `online` counts as activity. Fails `M_FORBIDDEN` without an active account.
   */
  performSetPresence(presence: PresenceState, statusMsg: string | null): Promise<UserResult>;
  /**
   * A /sync with `set_presence` `online` (activity) or `unavailable`, waiting up to `timeoutMs`:
   * the user counts as syncing until then. Writes only when the state changes, or at most once
   * a minute to refresh `last_active_ts`.
   */
  performSyncPresence(presence: 'online' | 'unavailable', timeoutMs: number): Promise<void>;
  /** The presence now (`offline` if never set); undefined without an active account. */
  getPresence(): Promise<PresenceStatus | undefined>;
  /**
   * The user's own presence for their /sync from room-stream position `since` to `upTo`: when
   * its last published change lies in (since, upTo]; for `since` 0, when it is not `offline`.
   */
  getPresenceChange(since: number, upTo: number): Promise<PresenceStatus | undefined>;
}

// ---- push rules (push-rules.ts) -------------------------------------------------------------

export interface UserApi {
  /**
   * Change the user's push rules (spec "Push Rules: API") as one read-modify-write of the
   * `m.push_rules` account data. Fails `M_NOT_FOUND` for a missing rule and `M_INVALID_PARAM`
   * for a refused change (see core/push/ruleset.ts), `M_FORBIDDEN` without an active account.
   */
  performPushRuleUpdate(update: PushRuleUpdate): Promise<UserResult>;
}

// ---- OpenID tokens (client/openid.ts, federation/users.ts) ----------------------------------

export interface UserApi {
  /**
   * Spec "OpenID": store the hash of a new OpenID token valid until `expires_ts`. Fails
   * `M_FORBIDDEN` without an active account.
   */
  performCreateOpenIdToken(tokenHash: string, expiresTs: number, now: number): Promise<UserResult>;
  /** The user's ID when `tokenHash` is an OpenID token of theirs not expired at `now` (and the account is active). */
  getOpenIdTokenUser(tokenHash: string, now: number): Promise<string | undefined>;
}

// ---- memberships in rooms this server does not have (remote-invites.ts) ---------------------

/** Spec "Stripped state": what a client sees of a room it is invited to. */
export interface StrippedStateEvent {
  type: string;
  state_key: string;
  sender: string;
  content: JsonObject;
}

/**
 * An invite received over federation to a room this server does not have, or its rejection
 * (a leave sent through another server): the member event and the stripped state to show.
 */
export interface RemoteMembership {
  room_id: string;
  membership: 'invite' | 'leave';
  event_id: string;
  /** The member event as a PDU (for an invite: countersigned by this server). */
  event: JsonObject;
  invite_state: StrippedStateEvent[];
}

export interface UserApi {
  /**
   * Record the membership and tell /sync (as a room notification would). Fails `M_NOT_FOUND`
   * without an active account.
   */
  performRemoteMembership(m: RemoteMembership): Promise<UserResult>;
  /** The recorded remote memberships of those of `roomIds` that have one. */
  getRemoteMemberships(roomIds: string[]): Promise<RemoteMembership[]>;
}

// ---- the device stream (to-device.ts, device-lists.ts) ---------------------------------------

/** A send-to-device event as /sync delivers it (spec "Send-to-Device messaging", "Extensions to /sync"). */
export interface ToDeviceEvent {
  sender: string;
  type: string;
  content: JsonObject;
}

/** A to-device message for some of a user's devices, from a local client or a remote server. */
export interface ToDeviceInput {
  sender: string;
  type: string;
  /** Unique per sender: a second message with the same (sender, message_id) is a retry. */
  message_id: string;
  /** Device ID (or `'*'`, every device the user has now) → the message content. */
  messages: Record<string, JsonObject>;
}

/** One device's share of a /sync: its to-device events and how far they reach. */
export interface ToDeviceBatch {
  events: ToDeviceEvent[];
  /**
   * The device-stream position the sync token may carry: `upTo`, or the last event's when more
   * remain (so the next sync, from there, gets the rest).
   */
  position: number;
  /** With `device_lists`: the users whose device lists changed in (since, position]. */
  device_lists_changed?: string[];
}

export interface UserApi {
  /** Queue a to-device message for this user's devices (`'*'` = every device), idempotent per (sender, message_id). */
  performEnqueueToDevice(input: ToDeviceInput): Promise<void>;
  /** These users' device lists or cross-signing keys changed: /sync device_lists.changed and keys/changes report them. */
  performDeviceListChanged(userIds: string[]): Promise<void>;
  /** Users whose device lists changed in (from, to] of the device stream (keys/changes). */
  getDeviceListChanges(from: number, to: number): Promise<string[]>;
  /**
   * The to-device part of a /sync of `deviceId` from the device-stream position `since` to
   * `upTo`: the device's messages at or below `since` are acknowledged and deleted (spec: the
   * client acknowledges by passing `next_batch` as `since`), and those in (since, upTo] are
   * returned, at most `limit`. With `deviceLists`, also the device-list changes up to the
   * position returned (one call for both parts of the device stream a sync reads).
   */
  performSyncToDevice(deviceId: string, since: number, upTo: number, limit: number, deviceLists?: boolean): Promise<ToDeviceBatch>;
}
