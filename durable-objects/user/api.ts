/**
 * What callers see of a User object: one object per local user ID (`env.USER.getByName(userId)`),
 * holding the account, its devices, the hashes of its access tokens and its user-interactive
 * auth sessions. Commands are `perform*`, reads `get*`; `authenticate` is the auth gate's.
 */

/** Expected failures cross RPC as values: thrown errors would lose their errcode. */
export type UserFailure = {
  ok: false;
  errcode: 'M_FORBIDDEN' | 'M_USER_IN_USE' | 'M_USER_DEACTIVATED' | 'M_NOT_FOUND' | 'M_UNKNOWN_TOKEN' | 'M_INVALID_PARAM';
  error: string;
};
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
}

export interface UserApi {
  getAccountStatus(): Promise<AccountStatus>;
  performRegister(input: RegisterInput): Promise<UserResult<{ device_id?: string }>>;
  /** `m.login.password`: check the password, then create the device and token. */
  performLogin(input: LoginInput): Promise<UserResult<{ user_id: string; device_id: string }>>;
  /** Delete the device (and so every token of it). */
  performLogout(deviceId: string): Promise<UserResult>;
  performLogoutAll(): Promise<UserResult>;
  /** Resolve a token hash to its device; records `last_seen` at most once a minute. */
  authenticate(tokenHash: string, seen: { now: number; ip: string | null }): Promise<UserResult<{ user_id: string; device_id: string }>>;
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
}

export interface SyncRoom {
  room_id: string;
  membership: string;
  /** Room stream ordering already delivered at `since` (exclusive start of the timeline). */
  from: number;
  /** Room stream ordering reported at `upTo` (inclusive end of the timeline). */
  to: number;
}

/** The user `userId`'s object, typed by `UserApi` (the interface is the contract, as for rooms). */
export function userApi(namespace: DurableObjectNamespace, userId: string): UserApi {
  return namespace.getByName(userId) as unknown as UserApi;
}
