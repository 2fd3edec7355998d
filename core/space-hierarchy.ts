/**
 * Spaces (spec v1.16, Client-Server API "Spaces",
 * https://spec.matrix.org/v1.16/client-server-api/#spaces): which `m.space.child` events make a
 * room a child of a space, their order, and the stripped form the hierarchy endpoints return.
 * Pure: the handlers (workers/homeserver/client/hierarchy.ts) read the events from rooms.
 */
import { isJsonObject, type JsonObject } from './canonical-json';
import { isValidRoomId } from './ids';

/** An `m.space.child` state event as the room stores it (the fields this module reads). */
export interface SpaceChildEvent {
  state_key: string;
  sender: string;
  origin_server_ts: number;
  content: JsonObject;
}

/** Spec `StrippedChildStateEvent`: a stripped state event with its `origin_server_ts`. */
export type StrippedChildState = {
  type: 'm.space.child';
  state_key: string;
  sender: string;
  content: JsonObject;
  origin_server_ts: number;
};

/** Spec `m.space.child` `order`: "ASCII characters within the range \x20 (space) and \x7E (~)", at most 50. */
const VALID_ORDER = /^[\x20-\x7E]{0,50}$/;

/** The child's `order`, when valid (spec: invalid ones "are to be ignored for ordering purposes"). */
function orderOf(content: JsonObject): string | undefined {
  const order = content.order;
  return typeof order === 'string' && VALID_ORDER.test(order) ? order : undefined;
}

/**
 * Whether the event makes its state key a child (spec `m.space.child`: "Children where `via` is
 * not present or invalid (not an array) are ignored", as are empty lists — the event content is
 * emptied to remove a child). The state key must be a room ID.
 */
export function isSpaceChild(e: SpaceChildEvent): boolean {
  const via = e.content.via;
  return isValidRoomId(e.state_key) && Array.isArray(via) && via.length > 0 && via.every((s) => typeof s === 'string');
}

/** Spec `m.space.child` `suggested`. */
export const isSuggested = (e: SpaceChildEvent): boolean => e.content.suggested === true;

/**
 * Spec "Ordering of children within a space": by `order` (code points), children without a
 * valid one after those with; then by the event's `origin_server_ts`; then by room ID.
 */
export function compareSpaceChildren(a: SpaceChildEvent, b: SpaceChildEvent): number {
  const oa = orderOf(a.content);
  const ob = orderOf(b.content);
  if (oa !== ob) {
    if (oa === undefined) return 1;
    if (ob === undefined) return -1;
    return oa < ob ? -1 : 1;
  }
  if (a.origin_server_ts !== b.origin_server_ts) return a.origin_server_ts - b.origin_server_ts;
  return a.state_key < b.state_key ? -1 : a.state_key > b.state_key ? 1 : 0;
}

/** The space's children, in spec order; only suggested ones with `suggestedOnly`. */
export function spaceChildren(events: readonly SpaceChildEvent[], suggestedOnly: boolean): SpaceChildEvent[] {
  return events.filter((e) => isSpaceChild(e) && (!suggestedOnly || isSuggested(e))).sort(compareSpaceChildren);
}

export function strippedChildState(e: SpaceChildEvent): StrippedChildState {
  return { type: 'm.space.child', state_key: e.state_key, sender: e.sender, content: e.content, origin_server_ts: e.origin_server_ts };
}

/** A space child event from a stored PDU; undefined when the PDU is not one. */
export function spaceChildOf(pdu: JsonObject): SpaceChildEvent | undefined {
  const { state_key: stateKey, sender, origin_server_ts: ts, content } = pdu;
  if (pdu.type !== 'm.space.child' || typeof stateKey !== 'string' || typeof sender !== 'string' || typeof ts !== 'number' || !isJsonObject(content)) return undefined;
  return { state_key: stateKey, sender, origin_server_ts: ts, content };
}

/**
 * Spec `m.room.join_rules` `allow` (restricted rooms): the rooms whose members may join,
 * the `allowed_room_ids` of a hierarchy entry.
 */
export function allowedRoomIds(joinRules: JsonObject | undefined): string[] {
  const rule = joinRules?.join_rule;
  if (rule !== 'restricted' && rule !== 'knock_restricted') return [];
  const allow = joinRules?.allow;
  if (!Array.isArray(allow)) return [];
  const out: string[] = [];
  for (const a of allow) {
    if (isJsonObject(a) && a.type === 'm.room_membership' && typeof a.room_id === 'string' && isValidRoomId(a.room_id) && !out.includes(a.room_id)) out.push(a.room_id);
  }
  return out;
}
