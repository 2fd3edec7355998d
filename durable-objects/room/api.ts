/**
 * What callers see of a Room object (Dendrite's per-consumer room API): commands named
 * `perform*`, received PDUs `ingest*`, reads `get*`. Workers reach a room only through
 * `roomApi()`, never through its storage.
 */
import type { JsonObject } from '../../core/canonical-json';
import type { StateTriple } from '../../wasm/ops';
import type { EventTemplate } from './builder';
import type { EventStatus } from './store';

/** Expected failures cross RPC as values: thrown errors would lose their errcode. */
export type RoomFailure = {
  ok: false;
  errcode: 'M_FORBIDDEN' | 'M_BAD_JSON' | 'M_NOT_FOUND' | 'M_UNSUPPORTED_ROOM_VERSION' | 'M_UNKNOWN';
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

export interface SendInput extends EventTemplate {
  /** Client transaction ID (spec: idempotent per access token's device). */
  txn?: { device_id: string; txn_id: string };
  origin_server_ts?: number;
}

export type SendResult = RoomResult<{ event_id: string; stream_ordering: number }>;

export type IngestResult =
  | { event_id: string; status: 'accepted' | 'soft_failed' | 'rejected' | 'duplicate'; reason?: string }
  | { event_id?: string; status: 'dropped'; reason: string }
  | { event_id: string; status: 'missing'; reason: string; missing: string[] };

export interface EventRecord {
  event_id: string;
  stream_ordering: number;
  pdu: JsonObject;
  status: EventStatus;
  rejection: string | null;
  redacted_by: string | null;
}

export interface RoomInfo {
  room_id: string;
  room_version: string;
  create_event_id: string;
  stream_ordering: number;
  forward_extremities: string[];
}

export interface RoomApi {
  performCreate(input: CreateRoomInput): Promise<SendResult>;
  performSend(input: SendInput): Promise<SendResult>;
  ingestPdu(pdu: JsonObject): Promise<IngestResult>;
  getRoomInfo(): Promise<RoomInfo | undefined>;
  getEvent(eventId: string): Promise<EventRecord | undefined>;
  getEventsAfter(since: number, limit?: number): Promise<EventRecord[]>;
  getCurrentState(): Promise<StateTriple[]>;
  getStateAfter(eventId: string): Promise<StateTriple[] | undefined>;
  getStateBefore(eventId: string): Promise<StateTriple[] | undefined>;
}

/**
 * The room `roomId`'s object, typed by `RoomApi`. (The generated stub type of a class whose
 * methods carry recursive JSON types is too deep for the compiler; the interface is the contract.)
 */
export function roomApi(namespace: DurableObjectNamespace, roomId: string): RoomApi {
  return namespace.getByName(roomId) as unknown as RoomApi;
}
