/**
 * Paging child events and threads (spec v1.16, Client-Server API "Relationships" and
 * "Threading"): https://spec.matrix.org/v1.16/client-server-api/#relationships
 *
 * Positions are the timeline's: position n sits after the event with stream ordering n.
 * Children are ordered by stream order, which the spec's "topologically" ordering approximates
 * the same way /messages does. Threads are ordered by their latest reply, newest first, and
 * paged by that reply's position (each reply belongs to one thread, so positions never tie).
 * Only accepted events count, as children and as roots.
 */
import type { RelationsQuery, ThreadsQuery } from './api';
import type { RoomStore, StoredEvent } from './store';

const NEWEST = Number.MAX_SAFE_INTEGER;

export interface RelationsSlice {
  events: StoredEvent[];
  next?: number;
}

/** The children of an accepted parent, or undefined when there is no such parent. */
export function relationsPage(store: RoomStore, q: RelationsQuery): RelationsSlice | undefined {
  const parent = store.getEvent(q.event_id);
  if (!parent || parent.status !== 'accepted') return undefined;
  const back = q.dir === 'b';
  const rows = store.relatedEvents(
    q.event_id, q.rel_type ?? null, q.event_type ?? null,
    back ? (q.to ?? 0) : (q.from ?? 0),
    back ? (q.from ?? NEWEST) : (q.to ?? NEWEST),
    back ? 'desc' : 'asc',
    q.limit + 1,
  );
  const events = rows.slice(0, q.limit);
  const last = events.at(-1);
  if (rows.length <= q.limit || !last) return { events };
  return { events, next: back ? last.stream_ordering - 1 : last.stream_ordering };
}

export interface ThreadSlice {
  threads: { root: StoredEvent; latest_event: StoredEvent; count: number; participated: boolean }[];
  next?: number;
}

export function threadsPage(store: RoomStore, q: ThreadsQuery): ThreadSlice {
  const rows = store.threads(q.user_id, q.include === 'participated', q.from ?? NEWEST, q.limit + 1);
  const page = rows.slice(0, q.limit);
  const events = store.getEvents(page.flatMap((r) => [r.root_id, r.latest_event_id]));
  const threads = page.flatMap((r) => {
    const root = events.get(r.root_id);
    const latest = events.get(r.latest_event_id);
    return root && latest ? [{ root, latest_event: latest, count: r.count, participated: r.participated === 1 }] : [];
  });
  const last = page.at(-1);
  return rows.length > q.limit && last ? { threads, next: last.latest - 1 } : { threads };
}
