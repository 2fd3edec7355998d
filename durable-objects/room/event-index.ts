/**
 * @module The Room's writes to the event → room index (durable-objects/event-index), which lets
 * `GET /_matrix/federation/v1/event/{eventId}` find the room of an event. Only rooms with other
 * servers in them write: the events other servers can know of are those of rooms they share
 * (received PDUs, and local events sent while a remote server is joined); rooms of local users
 * only write nothing.
 *
 * Best effort, after commit: entries are grouped by shard and handed over in the background;
 * a failed hand-over stays in memory and goes with the next one. An entry lost with the object
 * (evicted before a retry) only makes `/event` answer 404 for that event; the other server
 * still reaches it through `/backfill`, `/get_missing_events` or `/state`, which name the room.
 * (A durable outbox row per event would cost every federated event one more write for a
 * read that servers rarely make.)
 */
import { eventIndexApi, eventIndexShard, type EventRoom } from '../event-index/api';

/** How long notes gather before they are handed over. */
const FLUSH_DELAY_MS = 25;

export class EventIndexWriter {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private pending: EventRoom[] = [];
  private flushing = false;

  /** `namespace`: `env.EVENT_INDEX`, asked for only when something is written. */
  constructor(private readonly namespace: () => DurableObjectNamespace) {}

  /** Record that `eventIds` are events of `roomId`. */
  note(roomId: string, eventIds: readonly string[]): void {
    if (eventIds.length === 0) return;
    for (const event_id of eventIds) this.pending.push({ event_id, room_id: roomId });
    // Wait a moment, so the events of one inbound transaction (or batch) go in one call per shard.
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, FLUSH_DELAY_MS);
  }

  private async flush(): Promise<void> {
    if (this.flushing) return;
    this.flushing = true;
    try {
      while (this.pending.length > 0) {
        const batch = this.pending;
        this.pending = [];
        const byShard = new Map<string, EventRoom[]>();
        for (const e of batch) {
          const shard = eventIndexShard(e.event_id);
          byShard.set(shard, [...(byShard.get(shard) ?? []), e]);
        }
        const groups = [...byShard.values()];
        const results = await Promise.allSettled(groups.map((g) => eventIndexApi(this.namespace(), g[0]!.event_id).performRecord(g)));
        const failed = groups.filter((_, i) => results[i]!.status === 'rejected').flat();
        if (failed.length > 0) {
          // Kept for the next note(); not retried in a loop against a failing shard.
          console.error('room: recording events in the event index failed; kept for the next write');
          this.pending.unshift(...failed);
          return;
        }
      }
    } finally {
      this.flushing = false;
    }
  }
}
