/**
 * What callers see of a RemoteServer object: one per destination server name
 * (`env.REMOTE_SERVER.getByName(serverName)`), reached through `remoteServerApi()`. It holds
 * the durable queue of PDUs and EDUs for that server and sends them as transactions (spec
 * v1.16, Server-Server API "Transactions"), one at a time, retrying with backoff.
 */
import type { JsonObject } from '../../core/canonical-json';

/** An EDU as a transaction carries it (spec "EDUs"). */
export type Edu = { edu_type: string; content: JsonObject };

export interface EnqueueInput {
  /** PDUs in the order they must reach the destination (the spec's PDU format, no `event_id` from v3). */
  pdus?: JsonObject[];
  edus?: Edu[];
}

export interface QueueState {
  destination: string | undefined;
  /** Rows queued, including those of the transaction in flight. */
  pending_pdus: number;
  pending_edus: number;
  /** The transaction in flight (sent or waiting for its retry). */
  transaction?: {
    txn_id: string;
    pdus: number;
    edus: number;
    /** Consecutive failures of this transaction. */
    failures: number;
    /** When it is retried (ms since the epoch); null: not waiting. */
    retry_at: number | null;
    last_error: string | null;
  };
}

/** A change of one of the server's users' membership in a room here, as the room reports it. */
export interface MembershipChange {
  user_id: string;
  /** Joined in the room's current state now (false: left, kicked or banned). */
  joined: boolean;
}

/**
 * The index of the rooms here in which each user of this server is joined (the rooms' current
 * state): inbound EDUs about a remote user (spec Server-Server API "Presence", "Device
 * Management") reach the rooms and local members the user shares. Rooms report each change
 * through their outbox after the commit (durable-objects/room/remote-members.ts); a repeated
 * report is harmless.
 */
export interface RemoteMembershipIndex {
  performRecordMembership(userId: string, roomId: string, joined: boolean): Promise<void>;
  /** Several changes of one room at once (a room joined over federation reports all its members). */
  performRecordMemberships(roomId: string, changes: MembershipChange[]): Promise<void>;
  /** The rooms here in which `userId` is joined. */
  getJoinedRoomsOf(userId: string): Promise<string[]>;
}

/** The object's RPC methods; `remoteServerApi()` binds the destination. */
export interface RemoteServerRpc extends RemoteMembershipIndex {
  performEnqueue(destination: string, input: EnqueueInput): Promise<{ queued_pdus: number; queued_edus: number }>;
  /** Try the transaction in flight now with a fresh backoff (the destination is reachable again). */
  performWake(destination: string): Promise<void>;
  getQueueState(): Promise<QueueState>;
}

export interface RemoteServerApi extends RemoteMembershipIndex {
  /** Queue PDUs (in order; one already queued is not queued again) and EDUs, and start sending. */
  performEnqueue(input: EnqueueInput): Promise<{ queued_pdus: number; queued_edus: number }>;
  /**
   * Retry now: spec "Transactions" lets a server that receives a request from a destination it
   * was backing off from retry at once.
   */
  performWake(): Promise<void>;
  getQueueState(): Promise<QueueState>;
}

/**
 * The RemoteServer object of `destination`. The object learns its server name from the calls
 * (an alarm after a restart has no caller to ask), so the accessor passes it along.
 */
export function remoteServerApi(namespace: DurableObjectNamespace, destination: string): RemoteServerApi {
  const stub = namespace.getByName(destination) as unknown as RemoteServerRpc;
  return {
    performEnqueue: (input) => stub.performEnqueue(destination, input),
    performWake: () => stub.performWake(destination),
    getQueueState: () => stub.getQueueState(),
    performRecordMembership: (userId, roomId, joined) => stub.performRecordMembership(userId, roomId, joined),
    performRecordMemberships: (roomId, changes) => stub.performRecordMemberships(roomId, changes),
    getJoinedRoomsOf: (userId) => stub.getJoinedRoomsOf(userId),
  };
}
