/**
 * The room's summary (`getRoomSummary`): name, topic, avatar, canonical alias, join rule,
 * history visibility, guest access, room type and the number of joined members, read from the
 * current state. The published room directory lists one per room
 * (spec v1.16 "Listing rooms": https://spec.matrix.org/v1.16/client-server-api/#listing-rooms).
 *
 * Counting members reads every member event of the state, so a summary is kept until the room
 * changes: keyed by the current state map (replaced, never mutated, when the state moves) and
 * the newest stream ordering (a redaction rewrites a state event's content in place).
 */
import { isJsonObject, type JsonObject } from '../../core/canonical-json';
import { isValidRoomAlias } from '../../core/ids';
import type { RoomSummary } from './api';
import { stateKey, type StateMap } from './state';
import type { RoomStore } from './store';

/** State map keys are JSON `["m.room.member",<user ID>]`: test cheaply before parsing (as dag.ts). */
const MEMBER_KEY_PREFIX = '["m.room.member",';

const cache = new WeakMap<StateMap, { at: number; summary: RoomSummary }>();

/** `content[key]` when it is a non-empty string. */
function stringField(content: JsonObject | undefined, key: string): string | undefined {
  const v = content?.[key];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/**
 * The plain-text topic: spec `m.room.topic` — `m.topic` holds representations, of which the
 * `text/plain` one (the mimetype's default) is the topic; `topic` is its fallback.
 */
function plainTopic(content: JsonObject | undefined): string | undefined {
  const rich = content?.['m.topic'];
  const texts = isJsonObject(rich) ? rich['m.text'] : undefined;
  if (Array.isArray(texts)) {
    for (const t of texts) {
      if (isJsonObject(t) && typeof t.body === 'string' && (t.mimetype === undefined || t.mimetype === 'text/plain')) return t.body;
    }
  }
  return stringField(content, 'topic');
}

export function roomSummary(store: RoomStore, roomId: string, roomVersion: string, state: StateMap): RoomSummary {
  const at = store.maxStreamOrdering();
  const hit = cache.get(state);
  if (hit && hit.at === at) return hit.summary;

  const memberIds: string[] = [];
  for (const [key, eventId] of state) if (key.startsWith(MEMBER_KEY_PREFIX)) memberIds.push(eventId);
  const types = ['m.room.create', 'm.room.name', 'm.room.topic', 'm.room.avatar', 'm.room.canonical_alias', 'm.room.join_rules', 'm.room.history_visibility', 'm.room.guest_access', 'm.room.encryption'];
  const stateIds = types.flatMap((t) => state.get(stateKey(t, '')) ?? []);
  const events = store.getEvents([...stateIds, ...memberIds]);
  const content = (type: string): JsonObject | undefined => {
    const id = state.get(stateKey(type, ''));
    const c = id === undefined ? undefined : events.get(id)?.pdu.content;
    return isJsonObject(c) ? c : undefined;
  };

  let joined = 0;
  for (const id of memberIds) {
    const c = events.get(id)?.pdu.content;
    if (isJsonObject(c) && c.membership === 'join') joined++;
  }
  const alias = stringField(content('m.room.canonical_alias'), 'alias');
  const summary: RoomSummary = {
    room_id: roomId,
    room_version: roomVersion,
    num_joined_members: joined,
    world_readable: content('m.room.history_visibility')?.history_visibility === 'world_readable',
    guest_can_join: content('m.room.guest_access')?.guest_access === 'can_join',
  };
  const name = stringField(content('m.room.name'), 'name');
  const topic = plainTopic(content('m.room.topic'));
  const avatarUrl = stringField(content('m.room.avatar'), 'url');
  const joinRule = stringField(content('m.room.join_rules'), 'join_rule');
  const roomType = stringField(content('m.room.create'), 'type');
  const encryption = stringField(content('m.room.encryption'), 'algorithm');
  if (name !== undefined) summary.name = name;
  if (topic !== undefined) summary.topic = topic;
  if (avatarUrl !== undefined) summary.avatar_url = avatarUrl;
  if (alias !== undefined && isValidRoomAlias(alias)) summary.canonical_alias = alias;
  if (joinRule !== undefined) summary.join_rule = joinRule;
  if (roomType !== undefined) summary.room_type = roomType;
  if (encryption !== undefined) summary.encryption = encryption;
  cache.set(state, { at, summary });
  return summary;
}
