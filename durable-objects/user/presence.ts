/**
 * @module A local user's presence (spec v1.16, Client-Server API "Presence"):
 * https://spec.matrix.org/v1.16/client-server-api/#presence
 *
 * The user's object holds their presence: the state (`online`, `unavailable`, `offline`), the
 * status message, when they were last active and whether they are currently active. Clients set
 * it with `PUT /presence/{userId}/status` and, by default, by syncing (`/sync?set_presence=`);
 * timeouts move it on (below). The rules are Synapse's (synapse/handlers/presence.py), since
 * the spec leaves them to the server:
 *
 * - Activity (setting `online`, or syncing with `online`) sets `last_active_ts`, and a user
 *   active within the last minute is `currently_active`.
 * - A change is *published* only when others would notice it (`worthTelling`): another state
 *   or status message, `currently_active` flipping, or a jump of `last_active_ts` while not
 *   currently active. Anything else stays in memory, stored at most once a minute, so a /sync
 *   from a steadily active client writes (almost) nothing.
 * - Timeouts, from the object's alarm: no /sync (and no activity) for 30 s after the last one's
 *   long-poll makes the user `offline`; `online` without activity for 5 minutes becomes
 *   `unavailable`; `currently_active` ends a minute after the last activity.
 *
 * Publishing numbers the change with a new position of the user's room stream (the row has no
 * room, `room_id` ''), so the user's own /sync finds it between two of its positions and is
 * woken by it, and that position is the presence's `version`. Then every joined room hears of
 * it (`performPresence`; see durable-objects/room/ephemeral.ts), which records it on its
 * ephemeral stream and tells its other local members, so their /sync gets it gap-free like
 * typing and receipts; of copies from several rooms the highest `version` wins. A room the user
 * joins later is told the current presence when its notification of the join arrives.
 * Telling the rooms happens after the commit; the stored `told_version` is its outbox: until
 * every joined room has confirmed the current version, the alarm (set with each publication)
 * tells them all again, which rooms ignore for versions they already have.
 */
import { roomApi } from '../room/api';
import type { PresenceState, PresenceStatus } from './api';
import type { UserStore } from './store';

/** Active within this long is `currently_active`; also the throttle of `last_active_ts` writes. */
export const LAST_ACTIVE_GRANULARITY_MS = 60_000;
/** An `online` user inactive this long becomes `unavailable`. */
export const IDLE_TIMEOUT_MS = 5 * 60_000;
/** A user who neither synced nor was active for this long (after their last long-poll) goes `offline`. */
export const SYNC_ONLINE_TIMEOUT_MS = 30_000;
/** Rooms told at once (Workers allow six simultaneous subrequests). */
const ROOM_CONCURRENCY = 6;
/** Delay before the rooms are told again when some could not be reached. */
const RETRY_MS = 5_000;
/** The user's room-stream rows that carry their own presence changes have this room ID. */
export const OWN_PRESENCE_ROOM = '';

/** A presence without its user: what the user's object keeps. */
export type Presence = Omit<PresenceStatus, 'user_id' | 'version'>;
type Versioned = Presence & { version: number };

/** Everybody's presence until they set one (Synapse's default state). */
const NEVER_SET: Versioned = { presence: 'offline', status_msg: null, last_active_ts: null, currently_active: false, version: 0 };

/** Whether others should hear of the change from `old` to `next` (Synapse's `should_notify`). */
export function worthTelling(old: Presence, next: Presence): boolean {
  if (old.presence !== next.presence || old.status_msg !== next.status_msg) return true;
  const bumped = (next.last_active_ts ?? 0) - (old.last_active_ts ?? 0) > LAST_ACTIVE_GRANULARITY_MS;
  // While currently active, newer activity says nothing new.
  if (old.presence === 'online') return old.currently_active !== next.currently_active || (bumped && !next.currently_active);
  return bumped;
}

/** `p` at `now` after the timeouts, given that a /sync keeps the user syncing until `syncingUntil`. */
export function afterTimeouts(p: Presence, now: number, syncingUntil: number): Presence {
  if (p.presence === 'offline') return p;
  const active = p.last_active_ts ?? 0;
  if (now - Math.max(syncingUntil, active) > SYNC_ONLINE_TIMEOUT_MS) return { ...p, presence: 'offline', currently_active: false };
  let next = p;
  if (next.presence === 'online' && now - active > IDLE_TIMEOUT_MS) next = { ...next, presence: 'unavailable', currently_active: false };
  if (next.currently_active && now - active > LAST_ACTIVE_GRANULARITY_MS) next = { ...next, currently_active: false };
  return next;
}

/** When the next timeout of `p` is due; undefined when none can be. */
export function nextTimeout(p: Presence, syncingUntil: number): number | undefined {
  if (p.presence === 'offline') return undefined;
  const active = p.last_active_ts ?? 0;
  let at = Math.max(syncingUntil, active) + SYNC_ONLINE_TIMEOUT_MS;
  if (p.presence === 'online') at = Math.min(at, active + IDLE_TIMEOUT_MS);
  if (p.currently_active) at = Math.min(at, active + LAST_ACTIVE_GRANULARITY_MS);
  return at + 1;
}

/** What presence needs of the User object. */
export interface PresenceHost {
  store: UserStore;
  rooms: DurableObjectNamespace;
  storage: DurableObjectStorage;
  /** The account's user ID; presence is only ever used with an active account. */
  userId(): string;
  transaction<T>(fn: () => T): T;
  /** Wake the user's /sync long-polls. */
  wake(): void;
}

export class UserPresence {
  /** The presence now, `last_active_ts` kept fresh in memory; read from storage on first use. */
  private current: Versioned | undefined;
  /** `last_active_ts` as stored, to write refreshes at most once a minute. */
  private storedActiveTs: number | null = null;
  /** Until when the user counts as syncing: the end of their latest /sync's long-poll. */
  private syncingUntil = 0;
  /** When the alarm is set for (null: none); undefined until read from storage. */
  private alarmAt: number | null | undefined;

  constructor(private readonly host: PresenceHost) {}

  private state(): Versioned {
    if (!this.current) {
      this.current = this.host.store.getPresence() ?? NEVER_SET;
      this.storedActiveTs = this.current.last_active_ts;
    }
    return this.current;
  }

  /** `PUT /presence/{userId}/status`: the state and status message as given; `online` is activity. */
  set(presence: PresenceState, statusMsg: string | null, now: number): void {
    // The client setting it is evidently there: it counts as a sync, so what it set holds until
    // the sync timeout even if it never syncs (Synapse would turn a non-syncing user offline at once).
    this.syncingUntil = Math.max(this.syncingUntil, now);
    const online = presence === 'online';
    this.apply({ presence, status_msg: statusMsg, last_active_ts: online ? now : this.state().last_active_ts, currently_active: online });
  }

  /** A /sync with `set_presence` `presence`, waiting up to `timeoutMs`; the status message stays. */
  synced(presence: 'online' | 'unavailable', timeoutMs: number, now: number): void {
    this.syncingUntil = Math.max(this.syncingUntil, now + Math.max(timeoutMs, 0));
    const prev = this.state();
    const online = presence === 'online';
    this.apply({ presence, status_msg: prev.status_msg, last_active_ts: online ? now : prev.last_active_ts, currently_active: online });
  }

  get(): PresenceStatus {
    return { user_id: this.host.userId(), ...this.state() };
  }

  /** The presence for the user's /sync from `since` to `upTo` (room-stream positions); see `UserApi.getPresenceChange`. */
  changeBetween(since: number, upTo: number): PresenceStatus | undefined {
    const p = this.state();
    if (p.version === 0 || p.version > upTo) return undefined;
    if (since === 0 ? p.presence === 'offline' : p.version <= since) return undefined;
    return this.get();
  }

  /** The user joined `roomId`: tell it their presence, if they ever had one. */
  joined(roomId: string): void {
    if (this.state().version > 0) void this.tellRooms([roomId]);
  }

  /** The object's alarm: tell the rooms again if some missed the presence, then apply due timeouts. */
  async alarm(now: number): Promise<void> {
    this.alarmAt = null;
    if (this.state().version > 0 && !this.host.store.presenceTold()) void this.tellRooms(this.host.store.roomsWithMembership('join'), true);
    const prev = this.state();
    const next = afterTimeouts(prev, now, this.syncingUntil);
    if (next !== prev) this.apply(next);
    else this.scheduleTimeout();
  }

  private apply(next: Presence): void {
    const prev = this.state();
    if (worthTelling(prev, next)) {
      this.publish(next);
    } else {
      this.current = { ...next, version: prev.version };
      // Only activity changed, unnoticed: store it now and then, so a restart keeps it roughly.
      if (prev.version > 0 && (next.last_active_ts ?? 0) - (this.storedActiveTs ?? 0) >= LAST_ACTIVE_GRANULARITY_MS) {
        this.host.store.setPresence(this.current);
        this.storedActiveTs = next.last_active_ts;
      }
    }
    this.scheduleTimeout();
  }

  private publish(next: Presence): void {
    const { store } = this.host;
    const version = this.host.transaction(() => {
      const pos = store.appendRoomStream(OWN_PRESENCE_ROOM, 0, 0);
      store.setPresence({ ...next, version: pos });
      return pos;
    });
    this.current = { ...next, version };
    this.storedActiveTs = next.last_active_ts;
    this.host.wake();
    // Should the object stop before every room has confirmed, the alarm tells them again.
    void this.setAlarmBy(Date.now() + RETRY_MS);
    void this.tellRooms(store.roomsWithMembership('join'), true);
  }

  /**
   * Tell `roomIds` the current presence, a few at a time. When `all` joined rooms confirmed,
   * the version is marked told; when some could not be reached, all are told again by alarm.
   */
  private async tellRooms(roomIds: readonly string[], all = false): Promise<void> {
    const status = this.get();
    let missed = 0;
    for (let i = 0; i < roomIds.length; i += ROOM_CONCURRENCY) {
      const batch = roomIds.slice(i, i + ROOM_CONCURRENCY);
      const results = await Promise.allSettled(batch.map((id) => roomApi(this.host.rooms, id).performPresence(status)));
      missed += results.filter((r) => r.status === 'rejected').length;
    }
    if (missed === 0) {
      if (all) this.host.store.setPresenceTold(status.version);
      return;
    }
    console.error(`user: presence did not reach ${missed} room(s); telling them again by alarm`);
    this.host.store.setPresenceTold(0);
    await this.setAlarmBy(Date.now() + RETRY_MS);
  }

  private scheduleTimeout(): void {
    const at = nextTimeout(this.state(), this.syncingUntil);
    if (at !== undefined) void this.setAlarmBy(at);
  }

  /** Have the alarm fire at `at` at the latest (it re-checks everything when it fires). */
  private async setAlarmBy(at: number): Promise<void> {
    if (this.alarmAt === undefined) this.alarmAt = await this.host.storage.getAlarm();
    // An alarm already due by then serves; one in the past has fired or is about to.
    if (this.alarmAt !== null && this.alarmAt <= at && this.alarmAt >= Date.now()) return;
    this.alarmAt = at;
    await this.host.storage.setAlarm(at);
  }
}
