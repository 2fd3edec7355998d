/**
 * @module The draining skeleton shared by the room's outboxes towards RemoteServer objects
 * (federation-outbox.ts, remote-members.ts): rows are written in the transaction of what they
 * announce and handed over afterwards, a batch per round, grouped per server. One drain runs
 * at a time; a drain asked for meanwhile makes the running one go another round. A failed
 * hand-over leaves its rows in storage and is retried from the alarm, so an unreachable server
 * delays delivery but never loses it.
 */
import type { RoomDag } from './dag';
import type { RoomStore } from './store';

/** What the Room gives an outbox towards RemoteServer objects. */
export interface HandOverHost {
  store: RoomStore;
  dag: RoomDag;
  /** `env.REMOTE_SERVER`, asked for only when there is something to hand over. */
  remoteServers(): DurableObjectNamespace;
  transaction<T>(fn: () => T): T;
  scheduleAlarm(at: number): Promise<void>;
}

/** What one round did: how many rows it read, and whether every hand-over succeeded. */
export interface HandOverRound {
  rows: number;
  complete: boolean;
}

/** How a drain paces itself. */
export interface HandOverPolicy {
  /** Rows read per round: a full round means more may be waiting. */
  batch: number;
  /** The retry delay after a failed hand-over. */
  retryMs: number;
  /** Logged when a round fails. */
  failure: string;
}

/**
 * One round: read up to `batch` due rows, hand them over and record (in a transaction) which
 * were handed over.
 */
export type HandOverRoundFn = (batch: number) => Promise<HandOverRound>;

export class HandOverLoop {
  private draining = false;
  private again = false;

  constructor(
    private readonly policy: HandOverPolicy,
    private readonly host: { scheduleAlarm(at: number): Promise<void> },
    private readonly round: HandOverRoundFn,
  ) {}

  /** Run rounds until one is short (and nothing was asked for meanwhile), empty or failed. */
  async drain(): Promise<void> {
    if (this.draining) {
      this.again = true;
      return;
    }
    this.draining = true;
    const { batch, retryMs, failure } = this.policy;
    try {
      for (;;) {
        this.again = false;
        const { rows, complete } = await this.round(batch);
        if (rows === 0) return;
        if (!complete) {
          console.error(failure);
          await this.host.scheduleAlarm(Date.now() + retryMs);
          return;
        }
        if (rows < batch && !this.again) return;
      }
    } finally {
      this.draining = false;
    }
  }
}

/** Hand each server's items over at once; the servers whose hand-over succeeded. */
export async function handOverPerServer<T>(byServer: ReadonlyMap<string, T>, handOver: (server: string, items: T) => Promise<unknown>): Promise<Set<string>> {
  const entries = [...byServer];
  const results = await Promise.allSettled(entries.map(([server, items]) => handOver(server, items)));
  return new Set(entries.filter((_, i) => results[i]!.status === 'fulfilled').map(([server]) => server));
}
