/**
 * @module The federation outbox: handing this server's own events and its users' typing and
 * receipts to the servers in the room (spec v1.16, Server-Server API "Transactions": a server
 * sends its PDUs and EDUs to every other server "in the room", those with a joined member).
 *
 * Same pattern as the user outbox (outbox.ts): rows are written in the same transaction as the
 * event or ephemeral change (so a crash neither loses a delivery nor announces what was not
 * stored) and drained afterwards (hand-over.ts) into the destinations' RemoteServer objects,
 * which queue durably and send the transactions. A failed hand-over is retried from the alarm; a repeated
 * one is harmless (a RemoteServer queues a PDU once; EDUs are idempotent updates).
 *
 * Only events created here go out: servers do not forward the events they receive (spec
 * "Transactions": each server sends its own). A local event goes to the servers joined in the
 * state before it or after it, so that a kicked or banned server still hears of its removal.
 * Rooms without remote members write nothing here.
 */
import type { JsonObject } from '../../core/canonical-json';
import { remoteServerApi, type Edu } from '../remote-server/api';
import { HandOverLoop, handOverPerServer, type HandOverHost, type HandOverPolicy, type HandOverRound } from './hand-over';
import { parseStateKey, stateKey, type StateMap } from './state';

/** Rows handed over per round; after a failed hand-over, the retry delay and what is logged. */
const HANDING_OVER: HandOverPolicy = { batch: 100, retryMs: 1_000, failure: 'room: handing events to some remote servers failed; retrying by alarm' };

/** Joined members per server (ours excluded) of a state. */
type ServerCounts = ReadonlyMap<string, number>;

const serverOf = (userId: string): string => userId.slice(userId.indexOf(':') + 1);

export class FederationOutbox {
  private readonly counts = new WeakMap<StateMap, ServerCounts>();
  /** Rows may be waiting (set by queueing, and at start; cleared when a drain finds none). */
  private pending = true;
  private readonly loop: HandOverLoop;

  constructor(private readonly host: HandOverHost) {
    this.loop = new HandOverLoop(HANDING_OVER, host, (batch) => this.handOver(batch));
  }

  /** Whether rows wait in storage (at start, the Room sets its alarm for them). */
  waiting(): boolean {
    return this.host.store.hasFederationOutbox();
  }

  /** Other servers with a joined member in `state`. */
  serversIn(state: StateMap): string[] {
    return [...this.serverCounts(state).keys()];
  }

  /**
   * Queue a local event (inside its write transaction) for the servers in the room before or
   * after it. `after` is `before` with the event's own state key set, as local.ts plans it.
   */
  queueLocalEvent(pdu: JsonObject, before: StateMap, after: StateMap): void {
    const beforeCounts = this.serverCounts(before);
    const afterCounts = after === before ? beforeCounts : this.countsAfter(beforeCounts, pdu, before, after);
    const destinations = new Set([...beforeCounts.keys(), ...afterCounts.keys()]);
    if (destinations.size === 0) return;
    this.host.store.queueFederation({ pdu, destinations: [...destinations] });
    this.pending = true;
  }

  /**
   * Queue a PDU for `destinations` (inside a write transaction) when it is not simply a local
   * event: e.g. a resident server passing on a join it accepted through send_join (spec
   * "Joining Rooms") to the other servers in the room.
   */
  queuePdu(pdu: JsonObject, destinations: readonly string[]): void {
    const to = destinations.filter((d) => d !== this.host.dag.serverName);
    if (to.length === 0) return;
    this.host.store.queueFederation({ pdu, destinations: to });
    this.pending = true;
  }

  /**
   * Queue an EDU about a local user (inside the transaction of the ephemeral change) for the
   * servers in the room now. Changes of remote users are their own servers' to send.
   */
  queueLocalEdu(userId: string, edu: Edu): void {
    if (serverOf(userId) !== this.host.dag.serverName) return;
    const destinations = this.serversIn(this.host.dag.current.state);
    if (destinations.length === 0) return;
    this.host.store.queueFederation({ edu, destinations });
    this.pending = true;
  }

  /** Hand over what is queued, unless nothing is. */
  schedule(): void {
    if (this.pending) void this.drain();
  }

  /**
   * Hand the oldest rows to their destinations' RemoteServer objects, each destination's in
   * queue order. A destination whose hand-over failed keeps its rows (and stops the round, so
   * nothing later overtakes them); the alarm retries.
   */
  drain(): Promise<void> {
    return this.loop.drain();
  }

  private async handOver(batch: number): Promise<HandOverRound> {
    const rows = this.host.store.dueFederation(batch);
    if (rows.length === 0) {
      this.pending = false;
      return { rows: 0, complete: true };
    }
    const byDestination = new Map<string, { pdus: JsonObject[]; edus: Edu[] }>();
    for (const row of rows) {
      for (const d of row.destinations) {
        let items = byDestination.get(d);
        if (!items) byDestination.set(d, (items = { pdus: [], edus: [] }));
        if (row.pdu) items.pdus.push(row.pdu);
        if (row.edu) items.edus.push(row.edu);
      }
    }
    const namespace = this.host.remoteServers();
    const handedOver = await handOverPerServer(byDestination, (d, items) => remoteServerApi(namespace, d).performEnqueue(items));
    this.host.transaction(() =>
      this.host.store.federationHandedOver(rows.map((r) => ({ id: r.id, remaining: r.destinations.filter((d) => !handedOver.has(d)) }))),
    );
    return { rows: rows.length, complete: handedOver.size === byDestination.size };
  }

  private serverCounts(state: StateMap): ServerCounts {
    const cached = this.counts.get(state);
    if (cached) return cached;
    const counts = new Map<string, number>();
    for (const [key, eventId] of state) {
      // Keys are JSON ["m.room.member", userId]; test cheaply before parsing.
      if (!key.startsWith('["m.room.member",')) continue;
      const server = serverOf(parseStateKey(key)[1]);
      if (server === this.host.dag.serverName) continue;
      const content = this.host.dag.event(eventId)?.content as JsonObject | undefined;
      if (content?.membership === 'join') counts.set(server, (counts.get(server) ?? 0) + 1);
    }
    this.counts.set(state, counts);
    return counts;
  }

  /** The counts of `after`, from `before`'s and the one membership the event changes. */
  private countsAfter(before: ServerCounts, pdu: JsonObject, beforeState: StateMap, after: StateMap): ServerCounts {
    let counts = before;
    if (pdu.type === 'm.room.member' && typeof pdu.state_key === 'string') {
      const server = serverOf(pdu.state_key);
      if (server !== this.host.dag.serverName) {
        const oldId = beforeState.get(stateKey('m.room.member', pdu.state_key));
        const oldContent = oldId === undefined ? undefined : this.host.dag.event(oldId)?.content;
        const wasJoined = (oldContent as JsonObject | undefined)?.membership === 'join';
        const isJoined = (pdu.content as JsonObject | undefined)?.membership === 'join';
        if (wasJoined !== isJoined) {
          const next = new Map(before);
          const n = (next.get(server) ?? 0) + (isJoined ? 1 : -1);
          if (n > 0) next.set(server, n);
          else next.delete(server);
          counts = next;
        }
      }
    }
    this.counts.set(after, counts);
    return counts;
  }
}
