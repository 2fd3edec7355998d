/**
 * Paging child events and threads (spec v1.16, Client-Server API "Relationships" and
 * "Threading"): https://spec.matrix.org/v1.16/client-server-api/#relationships
 *
 * Positions are the timeline's: position n sits after the event with stream ordering n.
 * Children are ordered by stream order, which the spec's "topologically" ordering approximates
 * the same way /messages does. Threads are ordered by their latest reply, newest first, and
 * paged by that reply's position (each reply belongs to one thread, so positions never tie).
 * Only accepted events count, as children and as roots, and only those the reader's history
 * visibility lets them see (visibility.ts): an invisible parent is unknown, invisible children
 * are left out of a page (which may then hold fewer than `limit`), a thread whose root is
 * invisible is left out, and one whose latest reply is invisible shows the latest visible
 * reply. A thread's `count` stays the number of all its replies.
 */
import type { RelationsQuery, ThreadsQuery } from './api';
import type { RoomStore, StoredEvent } from './store';

const NEWEST = Number.MAX_SAFE_INTEGER;
/** Replies looked through, newest first, for a visible one when the latest is not. */
const LATEST_VISIBLE_SCAN = 100;

/** What a reader may see; everything when no reader is given. */
export type Visible = (e: StoredEvent) => boolean;
const everything: Visible = () => true;

export interface RelationsSlice {
  events: StoredEvent[];
  next?: number;
}

/** The children of an accepted parent, or undefined when there is no such parent. */
export function relationsPage(store: RoomStore, q: RelationsQuery, visible: Visible = everything): RelationsSlice | undefined {
  const parent = store.getEvent(q.event_id);
  if (!parent || parent.status !== 'accepted' || !visible(parent)) return undefined;
  const back = q.dir === 'b';
  const rows = store.relatedEvents(
    q.event_id, q.rel_type ?? null, q.event_type ?? null,
    back ? (q.to ?? 0) : (q.from ?? 0),
    back ? (q.from ?? NEWEST) : (q.to ?? NEWEST),
    back ? 'desc' : 'asc',
    q.limit + 1,
  );
  const page = rows.slice(0, q.limit);
  const events = page.filter(visible);
  const last = page.at(-1);
  if (rows.length <= q.limit || !last) return { events };
  return { events, next: back ? last.stream_ordering - 1 : last.stream_ordering };
}

export interface ThreadSlice {
  threads: { root: StoredEvent; latest_event: StoredEvent; count: number; participated: boolean }[];
  next?: number;
}

export function threadsPage(store: RoomStore, q: ThreadsQuery, visible: Visible = everything): ThreadSlice {
  const rows = store.threads(q.user_id, q.include === 'participated', q.from ?? NEWEST, q.limit + 1);
  const page = rows.slice(0, q.limit);
  const events = store.getEvents(page.flatMap((r) => [r.root_id, r.latest_event_id]));
  const threads = page.flatMap((r) => {
    const root = events.get(r.root_id);
    let latest = events.get(r.latest_event_id);
    if (!root || !latest || !visible(root)) return [];
    if (!visible(latest)) latest = store.relatedEvents(r.root_id, 'm.thread', null, 0, r.latest - 1, 'desc', LATEST_VISIBLE_SCAN).find(visible);
    return latest ? [{ root, latest_event: latest, count: r.count, participated: r.participated === 1 }] : [];
  });
  const last = page.at(-1);
  return rows.length > q.limit && last ? { threads, next: last.latest - 1 } : { threads };
}
