/**
 * Reading the timeline: which stored events a reader sees, in stream order, under a client's
 * event filter (spec v1.16, Client-Server API "Filtering", `RoomEventFilter`) and the reader's
 * history visibility (visibility.ts). The Room object's `getTimeline` pages through its store
 * with `timelinePage`; `matchesFilter` is pure and shared with /sync.
 */
import type { TimelineFilter, TimelineQuery } from './api';
import type { RoomStore, StoredEvent } from './store';

/**
 * Spec (`EventFilter.types`): "A '*' can be used as a wildcard to match any sequence of
 * characters."
 */
function matchesPattern(pattern: string, value: string): boolean {
  if (!pattern.includes('*')) return pattern === value;
  const parts = pattern.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(`^${parts.join('.*')}$`, 's').test(value);
}

/**
 * Whether an event of `type` from `sender` passes the filter. Spec: a `not_*` list takes
 * precedence over its positive list, and an omitted positive list means "everything".
 */
export function matchesFilter(filter: TimelineFilter | undefined, type: string, sender: string): boolean {
  if (!filter) return true;
  if (filter.not_types?.some((p) => matchesPattern(p, type))) return false;
  if (filter.types && !filter.types.some((p) => matchesPattern(p, type))) return false;
  if (filter.not_senders?.includes(sender)) return false;
  if (filter.senders && !filter.senders.includes(sender)) return false;
  return true;
}

/** Rows one read looks at, at most: a narrow filter over a long room pages on from `end`. */
const MAX_TIMELINE_SCAN = 5000;
/** Rows read at a time once events are being skipped. */
const SKIPPING_BATCH = 200;

export interface TimelineSlice {
  events: StoredEvent[];
  start: number;
  /** Absent when nothing is left in that direction. */
  end?: number;
}

/**
 * A page of accepted events in stream order (see `TimelineQuery`) that pass the filter and,
 * when given, `visible`. Unfiltered, one row beyond the limit tells whether more follow; when
 * events may be skipped, later batches read more rows at once.
 */
export function timelinePage(store: RoomStore, query: TimelineQuery, visible?: (e: StoredEvent) => boolean): TimelineSlice {
  const back = query.dir === 'b';
  const start = query.from ?? (back ? store.maxStreamOrdering() : 0);
  const limit = Math.min(Math.max(query.limit, 0), 1000);
  const events: StoredEvent[] = [];
  let batch = query.filter ? Math.max(limit + 1, SKIPPING_BATCH) : limit + 1;
  let pos = start;
  let scanned = 0;
  let exhausted = false;
  while (events.length < limit && scanned < MAX_TIMELINE_SCAN) {
    const rows = back
      ? store.acceptedEventsDescending(pos, query.to ?? 0, batch)
      : store.acceptedEventsAscending(pos, query.to ?? Number.MAX_SAFE_INTEGER, batch);
    let used = 0;
    for (const e of rows) {
      used++;
      scanned++;
      pos = back ? e.stream_ordering - 1 : e.stream_ordering;
      if (matchesFilter(query.filter, e.type, e.sender) && (!visible || visible(e))) events.push(e);
      if (events.length === limit) break;
    }
    if (rows.length < batch && used === rows.length) {
      exhausted = true;
      break;
    }
    batch = Math.max(limit + 1, SKIPPING_BATCH);
  }
  if (limit === 0) exhausted = false;
  return exhausted ? { events, start } : { events, start, end: pos };
}
