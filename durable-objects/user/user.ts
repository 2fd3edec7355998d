/**
 * One Durable Object per local user: the account (password hash, creation, deactivation), its
 * devices, the SHA-256 hashes of its access tokens, its user-interactive auth sessions, its
 * profile, stored filters, account data with its stream (the second /sync stream), and the
 * device stream of to-device messages and device-list changes (the third; to-device.ts,
 * device-lists.ts).
 * Because every operation on one user runs in this one object, registration of a user ID is
 * race-free without any global table.
 *
 * An object that holds no account writes nothing until it must: the auth gate and
 * `/register/available` may reach objects for user IDs that were never registered, and those
 * must not leave a database behind.
 */
import { DurableObject } from 'cloudflare:workers';
import type { JsonObject, JsonValue } from '../../core/canonical-json';
import type { HomeserverBindings } from '../../workers/homeserver/env';
import { verifyPassword } from '../../workers/shared/password';
import {
  MAX_PROFILE_BYTES,
  type AccountDataEntry, type AccountStatus, type ChangePasswordInput, type Device, type ForgetRoomInput, type LoginInput, type NewLogin, type RegisterInput,
  type RoomNotification, type StreamPositions, type SyncRoom, type UiaSession, type UserApi, type UserFailure, type UserResult,
  type PresenceState, type PresenceStatus, type ToDeviceBatch, type ToDeviceInput,
} from './api';
import { deviceListChanged } from './device-lists';
import { UserPresence } from './presence';
import { UserStore } from './store';
import type { PushRuleUpdate } from '../../core/push/ruleset';
import type { UserRateLimitClass } from './api';
import { updatePushRules } from './push-rules';
import { UserRateLimits } from './rate-limits';
import type { RemoteMembership } from './api';
import { recordRemoteMembership } from './remote-invites';
import { enqueueToDevice, syncToDevice } from './to-device';

/** `last_seen_*` is written at most this often per device. */
const LAST_SEEN_INTERVAL_MS = 60_000;
/** The longest a /sync long-poll may wait (clients usually ask for 30 s). */
const MAX_WAIT_MS = 60_000;
/** UIA sessions older than this are forgotten. */
export const UIA_SESSION_TTL_MS = 30 * 60_000;
const DEVICE_ID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';

const isObject = (v: JsonValue | undefined): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);
const fail = (errcode: UserFailure['errcode'], error: string): UserFailure => ({ ok: false, errcode, error });
const OK = { ok: true } as const;

function newDeviceId(): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(10)), (b) => DEVICE_ID_ALPHABET[b % 26]).join('');
}

export class User extends DurableObject<HomeserverBindings> implements UserApi {
  private readonly store: UserStore;
  private ready: boolean;
  /** Long-polls waiting for activity; woken by `notifyRoom`, account-data writes and the device stream. */
  private readonly waiters = new Set<() => void>();
  /** Token buckets of the user's rate-limited actions (rate-limits.ts), in memory. */
  private readonly rateLimits = new UserRateLimits(this.env);
  /** The user's presence (presence.ts); used only with an active account. */
  private readonly presence: UserPresence;

  constructor(ctx: DurableObjectState, env: HomeserverBindings) {
    super(ctx, env);
    this.store = new UserStore(ctx.storage.sql);
    this.presence = new UserPresence({
      store: this.store,
      rooms: env.ROOM,
      storage: ctx.storage,
      userId: () => this.store.getAccount()!.user_id,
      transaction: (fn) => this.transaction(fn),
      wake: () => this.wakeWaiters(),
    });
    this.ready = this.store.hasSchema();
    if (this.ready) ctx.blockConcurrencyWhile(async () => ctx.storage.transactionSync(() => this.store.migrate()));
  }

  /**
   * One atomic write. The store keeps copies of some rows in memory (store.ts); should the
   * transaction roll back, they are dropped, so memory never runs ahead of the database.
   */
  private transaction<T>(fn: () => T): T {
    try {
      return this.ctx.storage.transactionSync(fn);
    } catch (e) {
      this.store.forgetCache();
      throw e;
    }
  }

  /** Create the schema on the first write. */
  private writable(): UserStore {
    if (!this.ready) {
      this.transaction(() => this.store.migrate());
      this.ready = true;
    }
    return this.store;
  }

  private activeAccount() {
    const account = this.ready ? this.store.getAccount() : undefined;
    return account && account.deactivated_ts === null ? account : undefined;
  }

  /** Create or reuse the device and store the token hash; the device's older tokens go. */
  private addLogin(login: NewLogin, now: number): string {
    const deviceId = login.device_id ?? newDeviceId();
    this.store.deleteTokensOfDevice(deviceId);
    this.store.upsertDevice(deviceId, login.display_name ?? null, now);
    this.store.insertToken(login.token_hash, deviceId, now);
    return deviceId;
  }

  // ---- RPC: account -------------------------------------------------------------------------

  async getAccountStatus(): Promise<AccountStatus> {
    const account = this.ready ? this.store.getAccount() : undefined;
    if (!account) return 'none';
    return account.deactivated_ts === null ? 'active' : 'deactivated';
  }

  async performRegister(input: RegisterInput): Promise<UserResult<{ device_id?: string }>> {
    const store = this.writable();
    if (store.getAccount()) return fail('M_USER_IN_USE', 'User ID already taken.');
    let deviceId: string | undefined;
    this.transaction(() => {
      store.insertAccount(input.user_id, input.password_hash, input.now);
      if (input.login) deviceId = this.addLogin(input.login, input.now);
    });
    return deviceId === undefined ? OK : { ok: true, device_id: deviceId };
  }

  async performLogin(input: LoginInput): Promise<UserResult<{ user_id: string; device_id: string }>> {
    const denied = fail('M_FORBIDDEN', 'Invalid username or password');
    // Failed logins are rate-limited per account. The attempt takes its token before the
    // password check, so concurrent guesses cannot all pass; a right password gives it back.
    const limited = this.rateLimits.take('login_failed', input.now);
    if (limited) return limited;
    const account = this.activeAccount();
    // Unknown, deactivated and password-less accounts all look like a wrong password.
    if (!account?.password_hash) return denied;
    if (!(await verifyPassword(input.password, account.password_hash))) return denied;
    // The await above let other calls in: the account may have changed meanwhile.
    const now = this.activeAccount();
    if (now?.password_hash !== account.password_hash) return denied;
    this.rateLimits.refund('login_failed', input.now);
    let deviceId = '';
    this.transaction(() => {
      deviceId = this.addLogin(input, input.now);
    });
    return { ok: true, user_id: account.user_id, device_id: deviceId };
  }

  async performLogout(deviceId: string): Promise<UserResult> {
    if (this.ready) this.transaction(() => this.store.deleteDevice(deviceId));
    return OK;
  }

  async performLogoutAll(): Promise<UserResult> {
    if (this.ready) this.transaction(() => this.store.deleteDevicesExcept(null));
    return OK;
  }

  async authenticate(
    tokenHash: string,
    seen: { now: number; ip: string | null },
    rateLimit?: UserRateLimitClass,
  ): Promise<UserResult<{ user_id: string; device_id: string }>> {
    const account = this.activeAccount();
    const device = account && this.store.tokenDevice(tokenHash);
    if (!account || !device) return fail('M_UNKNOWN_TOKEN', 'Unknown access token');
    const limited = rateLimit && this.rateLimits.take(rateLimit, seen.now);
    if (limited) return limited;
    if (device.last_seen_ts === null || seen.now - device.last_seen_ts >= LAST_SEEN_INTERVAL_MS || (seen.ip !== null && seen.ip !== device.last_seen_ip)) {
      this.store.touchDevice(device.device_id, seen.now, seen.ip);
    }
    return { ok: true, user_id: account.user_id, device_id: device.device_id };
  }

  async checkPassword(password: string): Promise<boolean> {
    const account = this.activeAccount();
    return !!account?.password_hash && (await verifyPassword(password, account.password_hash));
  }

  async performChangePassword(input: ChangePasswordInput): Promise<UserResult> {
    if (!this.activeAccount()) return fail('M_FORBIDDEN', 'No such account');
    this.transaction(() => {
      this.store.setPasswordHash(input.password_hash);
      if (input.logout_devices) this.store.deleteDevicesExcept(input.keep_device_id);
    });
    return OK;
  }

  async performDeactivate(now: number): Promise<UserResult> {
    if (!this.activeAccount()) return fail('M_FORBIDDEN', 'No such account');
    this.transaction(() => {
      this.store.deleteDevicesExcept(null);
      this.store.setDeactivated(now);
    });
    return OK;
  }

  // ---- RPC: devices -------------------------------------------------------------------------

  async getDevices(): Promise<Device[]> {
    return this.activeAccount() ? this.store.listDevices() : [];
  }

  async getDevice(deviceId: string): Promise<Device | undefined> {
    return this.activeAccount() ? this.store.getDevice(deviceId) : undefined;
  }

  async performUpdateDevice(deviceId: string, displayName: string | null): Promise<UserResult> {
    if (!this.activeAccount() || !this.store.setDeviceDisplayName(deviceId, displayName)) return fail('M_NOT_FOUND', 'Unknown device');
    return OK;
  }

  async performDeleteDevice(deviceId: string): Promise<UserResult> {
    return this.performDeleteDevices([deviceId]);
  }

  async performDeleteDevices(deviceIds: string[]): Promise<UserResult> {
    if (!this.activeAccount()) return fail('M_FORBIDDEN', 'No such account');
    this.transaction(() => {
      for (const id of deviceIds) this.store.deleteDevice(id);
    });
    return OK;
  }

  // ---- RPC: user-interactive auth sessions ----------------------------------------------------

  async performUiaBegin(sessionId: string, operation: string, now: number): Promise<void> {
    const store = this.writable();
    this.transaction(() => {
      store.deleteUiaSessionsBefore(now - UIA_SESSION_TTL_MS);
      store.insertUiaSession(sessionId, operation, now);
    });
    // A registration that is never finished must not leave its object's database behind.
    if (!store.getAccount() && (await this.ctx.storage.getAlarm()) === null) await this.ctx.storage.setAlarm(now + UIA_SESSION_TTL_MS);
  }

  /** Forget an object that holds no account once its last registration session has expired. */
  override async alarm(): Promise<void> {
    if (!this.ready) return;
    // An account's alarm serves its presence (timeouts, retries; see presence.ts).
    if (this.store.getAccount()) {
      if (this.activeAccount()) await this.presence.alarm(Date.now());
      return;
    }
    const newest = this.store.newestUiaSessionTs();
    if (newest !== null && Date.now() - newest < UIA_SESSION_TTL_MS) {
      await this.ctx.storage.setAlarm(newest + UIA_SESSION_TTL_MS);
      return;
    }
    await this.ctx.storage.deleteAll();
    this.ready = false;
  }

  async getUiaSession(sessionId: string, now: number): Promise<UiaSession | undefined> {
    const session = this.ready ? this.store.getUiaSession(sessionId) : undefined;
    if (!session || now - session.created_ts > UIA_SESSION_TTL_MS) return undefined;
    return { operation: session.operation, completed: session.completed };
  }

  async performUiaComplete(sessionId: string, stage: string): Promise<string[]> {
    const session = this.ready ? this.store.getUiaSession(sessionId) : undefined;
    if (!session) return [];
    const completed = session.completed.includes(stage) ? session.completed : [...session.completed, stage];
    this.store.setUiaCompleted(sessionId, completed);
    return completed;
  }

  async performUiaEnd(sessionId: string): Promise<void> {
    if (this.ready) this.store.deleteUiaSession(sessionId);
  }

  // ---- RPC: room activity -------------------------------------------------------------------

  async notifyRoom(n: RoomNotification): Promise<void> {
    // Rooms tell every local user they know of; an ID with no account keeps no database.
    if (!this.activeAccount()) return;
    const store = this.store;
    const known = store.getRoomMembership(n.room_id);
    const membership = n.membership ?? known?.membership;
    const ephemeral = Math.max(n.ephemeral ?? 0, known?.ephemeral ?? 0);
    const newEvents = !known || n.stream_ordering > known.stream_ordering || membership !== known.membership;
    // Ephemeral news (typing, receipts) matters only to a joined member.
    const newEphemeral = membership === 'join' && ephemeral > (known?.ephemeral ?? 0);
    if (!membership || (!newEvents && !newEphemeral)) return;
    this.transaction(() => {
      // A forgotten room is news again once its membership changes: a user not in the room is
      // told only of their own member events, so anything beyond the forgotten one is one.
      if (known?.forgotten_at != null && n.stream_ordering > known.forgotten_at) store.unforgetRoom(n.room_id);
      store.setRoomMembership(n.room_id, membership, Math.max(n.stream_ordering, known?.stream_ordering ?? 0), ephemeral);
      store.appendRoomStream(n.room_id, n.stream_ordering, ephemeral);
    });
    this.wakeWaiters();
    // A room the user just joined learns their presence from them (see presence.ts).
    if (membership === 'join' && known?.membership !== 'join') this.presence.joined(n.room_id);
  }

  async performForgetRoom(input: ForgetRoomInput): Promise<UserResult> {
    if (!this.activeAccount()) return fail('M_FORBIDDEN', 'No such account');
    // A notification beyond the membership forgotten already told of a newer one (the user
    // rejoined meanwhile): that membership is not forgotten.
    const known = this.store.getRoomMembership(input.room_id);
    if (known && known.stream_ordering > input.stream_ordering) return OK;
    this.transaction(() => this.store.forgetRoom(input.room_id, input.membership, input.stream_ordering));
    return OK;
  }

  async getJoinedRooms(): Promise<string[]> {
    return this.ready ? this.store.roomsWithMembership('join') : [];
  }

  async getRoomStreamPosition(): Promise<number> {
    return this.ready ? this.store.roomStreamPosition() : 0;
  }

  async waitForRoomActivity(since: number, timeoutMs: number): Promise<number> {
    const position = () => (this.ready ? this.store.roomStreamPosition() : 0);
    return this.waitUntil(() => position() > since, timeoutMs, position);
  }

  /**
   * Resolve with `result()` once `moved()` holds, or after `timeoutMs` (capped at
   * `MAX_WAIT_MS`). Every change to either stream calls the waiters, which re-check.
   */
  private waitUntil<T>(moved: () => boolean, timeoutMs: number, result: () => T): Promise<T> {
    if (moved() || timeoutMs <= 0) return Promise.resolve(result());
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(wake);
        resolve(result());
      };
      const wake = () => {
        if (moved()) done();
      };
      const timer = setTimeout(done, Math.min(timeoutMs, MAX_WAIT_MS));
      this.waiters.add(wake);
    });
  }

  private wakeWaiters(): void {
    for (const wake of [...this.waiters]) wake();
  }

  async getStreamPositions(): Promise<StreamPositions> {
    return this.positions();
  }

  private positions(): StreamPositions {
    if (!this.ready) return { rooms: 0, account_data: 0, device: 0 };
    return { rooms: this.store.roomStreamPosition(), account_data: this.store.accountDataPosition(), device: this.store.deviceStreamPosition() };
  }

  async waitForActivity(since: StreamPositions, timeoutMs: number, deviceId?: string): Promise<StreamPositions> {
    return this.waitUntil(
      () => {
        const now = this.positions();
        if (now.rooms > since.rooms || now.account_data > since.account_data) return true;
        if (now.device <= since.device) return false;
        return deviceId === undefined || this.store.hasDeviceStreamNews(deviceId, since.device);
      },
      timeoutMs,
      () => this.positions(),
    );
  }

  async getSyncRooms(since: number, upTo: number, all: boolean): Promise<SyncRoom[]> {
    return this.ready ? this.store.syncRooms(since, upTo, all) : [];
  }

  // ---- RPC: the device stream (to-device.ts, device-lists.ts) --------------------------------

  async performEnqueueToDevice(input: ToDeviceInput): Promise<void> {
    // Anyone may send to any user ID; one with no account keeps no database.
    if (!this.activeAccount()) return;
    if (this.transaction(() => enqueueToDevice(this.store, input, Date.now()))) this.wakeWaiters();
  }

  async performDeviceListChanged(userIds: string[]): Promise<void> {
    if (!this.activeAccount()) return;
    if (this.transaction(() => deviceListChanged(this.store, userIds))) this.wakeWaiters();
  }

  async getDeviceListChanges(from: number, to: number): Promise<string[]> {
    return this.ready ? this.store.deviceListChanges(from, to) : [];
  }

  async performSyncToDevice(deviceId: string, since: number, upTo: number, limit: number, deviceLists = false): Promise<ToDeviceBatch> {
    if (!this.activeAccount()) return { events: [], position: upTo, ...(deviceLists ? { device_lists_changed: [] } : {}) };
    const batch = syncToDevice(this.store, deviceId, since, upTo, limit, (fn) => this.transaction(fn));
    return deviceLists ? { ...batch, device_lists_changed: this.store.deviceListChanges(since, batch.position) } : batch;
  }

  // ---- RPC: filters -------------------------------------------------------------------------

  async performCreateFilter(filter: JsonObject): Promise<UserResult<{ filter_id: string }>> {
    if (!this.activeAccount()) return fail('M_FORBIDDEN', 'No such account');
    return { ok: true, filter_id: this.store.insertFilter(filter) };
  }

  async getFilter(filterId: string): Promise<JsonObject | undefined> {
    return this.activeAccount() ? this.store.getFilter(filterId) : undefined;
  }

  // ---- RPC: profile -------------------------------------------------------------------------

  async getProfile(): Promise<JsonObject | undefined> {
    return this.activeAccount() ? this.store.getProfile() : undefined;
  }

  async performSetProfileField(key: string, value: JsonValue | undefined): Promise<UserResult<{ profile: JsonObject }>> {
    if (!this.activeAccount()) return fail('M_FORBIDDEN', 'No such account');
    const profile = this.store.getProfile();
    if (value === undefined) delete profile[key];
    else profile[key] = value;
    if (new TextEncoder().encode(JSON.stringify(profile)).byteLength >= MAX_PROFILE_BYTES) {
      return fail('M_PROFILE_TOO_LARGE', 'The profile would exceed 64 KiB.');
    }
    this.store.setProfileField(key, value);
    return { ok: true, profile };
  }

  // ---- RPC: account data --------------------------------------------------------------------

  async getAccountData(roomId: string | null, type: string): Promise<JsonObject | undefined> {
    return this.activeAccount() ? this.store.getAccountData(roomId ?? '', type) : undefined;
  }

  async performSetAccountData(roomId: string | null, type: string, content: JsonObject): Promise<UserResult> {
    if (!this.activeAccount()) return fail('M_FORBIDDEN', 'No such account');
    this.store.setAccountData(roomId ?? '', type, content);
    this.wakeWaiters();
    return OK;
  }

  async performSetTag(roomId: string, tag: string, content: JsonObject | null): Promise<UserResult> {
    if (!this.activeAccount()) return fail('M_FORBIDDEN', 'No such account');
    const current = this.store.getAccountData(roomId, 'm.tag');
    const tags: JsonObject = current && isObject(current.tags) ? { ...current.tags } : {};
    if (content === null) {
      // Removing a tag that is not there changes nothing, and so writes nothing.
      if (!(tag in tags)) return OK;
      delete tags[tag];
    } else {
      tags[tag] = content;
    }
    this.store.setAccountData(roomId, 'm.tag', { tags });
    this.wakeWaiters();
    return OK;
  }

  async performPushRuleUpdate(update: PushRuleUpdate): Promise<UserResult> {
    const account = this.activeAccount();
    if (!account) return fail('M_FORBIDDEN', 'No such account');
    const result = updatePushRules(this.store, account.user_id, update);
    if (result.ok) this.wakeWaiters();
    return result;
  }

  async getAccountDataChanges(since: number, upTo: number): Promise<AccountDataEntry[]> {
    return this.ready ? this.store.accountDataChanges(since, upTo) : [];
  }

  // ---- RPC: presence (presence.ts) ------------------------------------------------------------

  async performSetPresence(presence: PresenceState, statusMsg: string | null): Promise<UserResult> {
    if (!this.activeAccount()) return fail('M_FORBIDDEN', 'No such account');
    this.presence.set(presence, statusMsg, Date.now());
    return OK;
  }

  async performSyncPresence(presence: 'online' | 'unavailable', timeoutMs: number): Promise<void> {
    if (this.activeAccount()) this.presence.synced(presence, Math.min(timeoutMs, MAX_WAIT_MS), Date.now());
  }

  async getPresence(): Promise<PresenceStatus | undefined> {
    return this.activeAccount() ? this.presence.get() : undefined;
  }

  async getPresenceChange(since: number, upTo: number): Promise<PresenceStatus | undefined> {
    return this.activeAccount() ? this.presence.changeBetween(since, upTo) : undefined;
  }

  // ---- RPC: memberships in rooms this server does not have (remote-invites.ts) ---------------

  async performRemoteMembership(m: RemoteMembership): Promise<UserResult> {
    if (!this.activeAccount()) return fail('M_NOT_FOUND', 'No such account');
    if (this.transaction(() => recordRemoteMembership(this.store, m))) this.wakeWaiters();
    return OK;
  }

  async getRemoteMemberships(roomIds: string[]): Promise<RemoteMembership[]> {
    return this.ready ? this.store.remoteMemberships(roomIds) : [];
  }

  // ---- RPC: OpenID tokens -------------------------------------------------------------------

  async performCreateOpenIdToken(tokenHash: string, expiresTs: number, now: number): Promise<UserResult> {
    if (!this.activeAccount()) return fail('M_FORBIDDEN', 'No such account');
    this.transaction(() => this.store.insertOpenIdToken(tokenHash, expiresTs, now));
    return OK;
  }

  async getOpenIdTokenUser(tokenHash: string, now: number): Promise<string | undefined> {
    const account = this.activeAccount();
    if (!account) return undefined;
    const expires = this.store.openIdTokenExpiry(tokenHash);
    return expires !== undefined && expires > now ? account.user_id : undefined;
  }
}
