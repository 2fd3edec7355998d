/**
 * What callers see of the event index: which room an event of a room shared with other servers
 * belongs to, for `GET /_matrix/federation/v1/event/{eventId}` (spec v1.16, Server-Server API
 * "Retrieving events"), whose request names no room. Event IDs of room versions 3+ are hashes
 * with nothing of the room in them, and each room keeps its events in its own object, so the
 * mapping lives here: sharded over objects by the first two characters after the `$` (4096
 * shards of base64url hashes; v1–v2 IDs spread by their opaque part), so no object is hot.
 *
 * Room objects write it (durable-objects/room/event-index.ts) only for rooms with other
 * servers in them: rooms of local users only cost nothing.
 */
export interface EventRoom {
  event_id: string;
  room_id: string;
}

export interface EventIndexApi {
  /** Record where events are (idempotent: an event is in one room). */
  performRecord(entries: EventRoom[]): Promise<void>;
  /** The room of `eventId`, if it was recorded. */
  getRoomOf(eventId: string): Promise<string | undefined>;
}

/**
 * Shards of the index. Few enough that a batch of a transaction's events (up to 50 PDUs) costs
 * at most this many calls; each shard's writes are small batched inserts.
 */
export const EVENT_INDEX_SHARDS = 16;

/** The shard an event ID lives in (by its first character after the sigil: spread by the hash). */
export function eventIndexShard(eventId: string): string {
  return `shard-${(eventId.charCodeAt(1) || 0) % EVENT_INDEX_SHARDS}`;
}

export function eventIndexApi(namespace: DurableObjectNamespace, eventId: string): EventIndexApi {
  return namespace.getByName(eventIndexShard(eventId)) as unknown as EventIndexApi;
}
