/**
 * The outbox: telling local users' objects about new events, typing and receipts. Rows are
 * written in the same transaction as what they announce (`outbox_users`, see dag.ts and
 * ephemeral.ts) and drained afterwards, so a crash can neither lose a notification nor send
 * one for something that was not stored. Delivery is idempotent on the user's side.
 */
import { userApi } from '../user/api';
import type { RoomDag } from './dag';
import type { RoomStore } from './store';

/** Notifications delivered per round, and the retry delay after a failed delivery. */
const OUTBOX_BATCH = 50;
const OUTBOX_RETRY_MS = 1_000;
/** Delivered rows are deleted with the next write, or after this long without one. */
const OUTBOX_FLUSH_MS = 2_000;
/**
 * Delivery rounds start at most this often. A room that was quiet delivers at once (a long-poll
 * wakes within milliseconds); a busy room's notifications wait up to this long and share one
 * round, so each user's object is written once for several events instead of once per event.
 */
const OUTBOX_MIN_INTERVAL_MS = 10;

export interface OutboxHost {
  store: RoomStore;
  dag: RoomDag;
  users: DurableObjectNamespace;
  /** The room's current ephemeral position (typing and receipts; see ephemeral.ts). */
  ephemeralSerial(): number;
  transaction<T>(fn: () => T): T;
  scheduleAlarm(at: number): Promise<void>;
}

export class Outbox {
  private draining = false;
  /** Rows delivered and not yet deleted: user ID -> the positions delivered. */
  private readonly delivered = new Map<string, { stream_ordering: number; ephemeral: number }>();
  private flushTimer: ReturnType<typeof setTimeout> | undefined;

  private lastRound = 0;
  private roundTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly host: OutboxHost) {}

  /** Deliver what is due: now if the last round is old enough, else with the next round. */
  schedule(): void {
    if (this.roundTimer !== undefined) return;
    const wait = this.lastRound + OUTBOX_MIN_INTERVAL_MS - Date.now();
    if (wait <= 0) {
      void this.drain();
      return;
    }
    this.roundTimer = setTimeout(() => {
      this.roundTimer = undefined;
      void this.drain();
    }, wait);
  }

  /**
   * Deliver due notifications to the users' objects, oldest first. A failure schedules a
   * retry through the alarm, so an unreachable object delays a notification but never loses it.
   */
  async drain(): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    const { store, dag } = this.host;
    let queuedMeanwhile = false;
    try {
      for (;;) {
        this.lastRound = Date.now();
        // Rows delivered but not yet deleted (see flushDelivered) are skipped.
        const version = store.outboxVersion;
        const due = store
          .dueUserNotifications(OUTBOX_BATCH + this.delivered.size)
          .filter((n) => {
            const d = this.delivered.get(n.user_id);
            return !d || d.stream_ordering !== n.stream_ordering || d.ephemeral !== n.ephemeral;
          })
          .slice(0, OUTBOX_BATCH);
        if (due.length === 0) return;
        const roomId = dag.roomId!;
        const results = await Promise.allSettled(
          due.map((n) =>
            userApi(this.host.users, n.user_id).notifyRoom({
              room_id: roomId,
              stream_ordering: n.stream_ordering,
              ...(n.membership ? { membership: n.membership } : {}),
              // Every notification carries the current ephemeral position: a joining user thus
              // learns where the room's typing and receipts stand (see ephemeral.ts).
              ephemeral: Math.max(n.ephemeral, this.host.ephemeralSerial()),
            }),
          ),
        );
        due.forEach((n, i) => {
          if (results[i]!.status === 'fulfilled') this.delivered.set(n.user_id, { stream_ordering: n.stream_ordering, ephemeral: n.ephemeral });
        });
        this.scheduleFlush();
        if (results.some((r) => r.status === 'rejected')) {
          console.error('room: some user notifications failed; retrying by alarm');
          await this.host.scheduleAlarm(Date.now() + OUTBOX_RETRY_MS);
          return;
        }
        // A full page: more is waiting, go on. A short one: what was queued while it was
        // delivered goes with the next round, paced by `schedule`.
        if (due.length < OUTBOX_BATCH) {
          queuedMeanwhile = store.outboxVersion !== version;
          return;
        }
      }
    } finally {
      this.draining = false;
      if (queuedMeanwhile) this.schedule();
    }
  }

  /**
   * Delete delivered rows. The Room calls this inside its next write transaction (or it runs
   * after a short idle delay) rather than as a write of its own after every delivery: a
   * separate write would hold back the object's next responses until it is stored. Should the
   * object stop before the deletion, the rows are delivered again, which users' objects ignore.
   */
  flushDelivered(): void {
    this.host.store.deliveredUserNotifications([...this.delivered].map(([user_id, d]) => ({ user_id, ...d })));
    this.delivered.clear();
  }

  private scheduleFlush(): void {
    if (this.flushTimer !== undefined || this.delivered.size === 0) return;
    this.flushTimer = setTimeout(() => {
      this.flushTimer = undefined;
      if (this.delivered.size > 0) this.host.transaction(() => this.flushDelivered());
    }, OUTBOX_FLUSH_MS);
  }
}
