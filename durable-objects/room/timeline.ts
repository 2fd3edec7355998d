/**
 * Reading the timeline: which stored events a reader sees, in stream order, under a client's
 * event filter (spec v1.16, Client-Server API "Filtering", `RoomEventFilter`). Pure; the Room
 * object pages through its store and asks `matchesFilter` about each event.
 */
import type { TimelineFilter } from './api';

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
