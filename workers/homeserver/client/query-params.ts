/**
 * @module Query parameters the room read endpoints share (`limit`, `dir`, `filter` as a
 * `RoomEventFilter`), each failing with `400 M_INVALID_PARAM` naming the parameter.
 */
import { isJsonObject } from '../../../core/canonical-json';
import type { TimelineFilter } from '../../../durable-objects/room/api';
import { MatrixError } from '../../shared/errors';
import { eventFilterOf, isInlineFilter, parseInlineFilter, storedFilter, validateRoomEventFilter } from './filters';

export const invalidParam = (message: string) => new MatrixError(400, 'M_INVALID_PARAM', message);

/** A non-negative integer `limit`, `fallback` when absent, capped at `max`. */
export function parseLimit(raw: string | undefined, fallback: number, max: number): number {
  if (raw === undefined) return fallback;
  if (!/^\d{1,9}$/.test(raw)) throw invalidParam('"limit" must be a non-negative integer.');
  return Math.min(Number(raw), max);
}

/** `dir`: `b` or `f`; `fallback` when absent (undefined: required). */
export function parseDir(raw: string | undefined, fallback?: 'b' | 'f'): 'b' | 'f' {
  const dir = raw ?? fallback;
  if (dir !== 'b' && dir !== 'f') throw invalidParam('"dir" must be "b" or "f".');
  return dir;
}

export interface RoomEventFilterParam {
  filter?: TimelineFilter;
  lazyLoadMembers: boolean;
}

/** The `filter` parameter: a `RoomEventFilter` as JSON, or a stored filter's ID (its `room.timeline`). */
export async function roomEventFilterParam(raw: string | undefined, users: DurableObjectNamespace, userId: string): Promise<RoomEventFilterParam> {
  if (raw === undefined) return { lazyLoadMembers: false };
  let value;
  if (isInlineFilter(raw)) {
    value = validateRoomEventFilter(parseInlineFilter(raw), 'M_INVALID_PARAM');
  } else {
    const stored = await storedFilter(users, userId, raw);
    value = isJsonObject(stored.room) && isJsonObject(stored.room.timeline) ? stored.room.timeline : {};
  }
  const filter = eventFilterOf(value);
  return { ...(filter ? { filter } : {}), lazyLoadMembers: value.lazy_load_members === true };
}
