/**
 * The events of `POST /_matrix/client/v3/createRoom` (spec v1.16, Client-Server API "Creation"):
 * https://spec.matrix.org/v1.16/client-server-api/#creation
 *
 * `planCreateRoom` checks the request and lists the events in the spec's order; `performCreateRoom`
 * derives the room ID and sends them through the Room object. Everything that can be refused
 * for the request's shape is refused before the room exists.
 */
import { isJsonObject, type JsonObject } from '../../../core/canonical-json';
import { isValidUserId } from '../../../core/ids';
import { DEFAULT_ROOM_VERSION, getRoomVersionRules, type RoomVersionRules } from '../../../core/room-versions';
import { directoryApi } from '../../../durable-objects/directory/api';
import { roomApi } from '../../../durable-objects/room/api';
import { newRoomId, type EventTemplate } from '../../../durable-objects/room/builder';
import { optionalBoolean, optionalObject, optionalString } from '../../shared/body';
import { MatrixError, matrixErrorOf } from '../../shared/errors';
import { newLocalAlias } from './directory';
import { sendEvent } from './room-access';

type Preset = 'private_chat' | 'trusted_private_chat' | 'public_chat';

/** Spec table: the state each preset sets. */
const PRESETS: Record<Preset, { join_rule: string; history_visibility: string; guest_access: string }> = {
  private_chat: { join_rule: 'invite', history_visibility: 'shared', guest_access: 'can_join' },
  trusted_private_chat: { join_rule: 'invite', history_visibility: 'shared', guest_access: 'can_join' },
  public_chat: { join_rule: 'public', history_visibility: 'shared', guest_access: 'forbidden' },
};

export interface CreateRoomPlan {
  rules: RoomVersionRules;
  creator: string;
  creationContent: JsonObject;
  /** The events after `m.room.create`, in the spec's order. */
  events: EventTemplate[];
  /** `room_alias_name` as the full local alias, created in the directory before the room. */
  alias?: string;
  /** `visibility: public`: published in the room directory once created. */
  publish?: boolean;
  /**
   * Invites of users of other servers: not part of `events`, as each needs the invitee's
   * server's countersignature (client/remote-invite.ts); sent once the room exists.
   */
  remoteInvites?: EventTemplate[];
}

const badJson = (message: string) => new MatrixError(400, 'M_BAD_JSON', message);

function stringArray(body: JsonObject, key: string): string[] {
  const v = body[key];
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || !v.every((x): x is string => typeof x === 'string')) throw badJson(`"${key}" must be an array of strings.`);
  return v;
}

function initialState(body: JsonObject): EventTemplate[] {
  const v = body.initial_state;
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw badJson('"initial_state" must be an array.');
  return v.map((e, i) => {
    if (!isJsonObject(e) || typeof e.type !== 'string' || !isJsonObject(e.content) || (e.state_key !== undefined && typeof e.state_key !== 'string')) {
      throw badJson(`"initial_state"[${i}] must be {type, state_key?, content}.`);
    }
    return { type: e.type, state_key: typeof e.state_key === 'string' ? e.state_key : '', content: e.content, sender: '' };
  });
}

/** Synapse's defaults, with the spec's v12 rule for `m.room.tombstone` (above `state_default`). */
function defaultPowerLevels(rules: RoomVersionRules, creator: string, preset: Preset, invitees: string[]): JsonObject {
  const users: JsonObject = {};
  if (!rules.creators_have_infinite_power) {
    users[creator] = 100;
    // Spec: trusted_private_chat gives invitees the creator's power (v12: additional creators).
    if (preset === 'trusted_private_chat') for (const u of invitees) users[u] = 100;
  }
  return {
    users,
    users_default: 0,
    events: {
      'm.room.name': 50,
      'm.room.power_levels': 100,
      'm.room.history_visibility': 100,
      'm.room.canonical_alias': 50,
      'm.room.avatar': 50,
      'm.room.tombstone': rules.creators_have_infinite_power ? 150 : 100,
      'm.room.server_acl': 100,
      'm.room.encryption': 100,
    },
    events_default: 0,
    state_default: 50,
    ban: 50,
    kick: 50,
    redact: 50,
    invite: preset === 'public_chat' ? 50 : 0,
    historical: 100,
  };
}

/** The rules of a room version this server can create rooms of. @throws MatrixError (400 M_UNSUPPORTED_ROOM_VERSION) */
export function creatableRoomVersion(version: string): RoomVersionRules {
  const rules = getRoomVersionRules(version);
  // Rooms of versions 1–2 can be joined, not authored here (see builder.ts).
  if (!rules || rules.event_refs_include_hashes) {
    throw new MatrixError(400, 'M_UNSUPPORTED_ROOM_VERSION', `Room version ${version} is not supported.`);
  }
  return rules;
}

/** Check a createRoom body and list its events. @throws MatrixError (400) */
export function planCreateRoom(body: JsonObject, creator: string, serverName: string): CreateRoomPlan {
  const version = optionalString(body, 'room_version') ?? DEFAULT_ROOM_VERSION;
  const rules = creatableRoomVersion(version);
  const visibility = optionalString(body, 'visibility') ?? 'private';
  if (visibility !== 'public' && visibility !== 'private') throw badJson('"visibility" must be "public" or "private".');
  const presetName = optionalString(body, 'preset') ?? (visibility === 'public' ? 'public_chat' : 'private_chat');
  if (!(presetName in PRESETS)) throw badJson(`Unknown preset ${presetName}.`);
  const preset = presetName as Preset;
  const name = optionalString(body, 'name');
  const topic = optionalString(body, 'topic');
  const isDirect = optionalBoolean(body, 'is_direct') ?? false;
  const override = optionalObject(body, 'power_level_content_override') ?? {};
  const invitees = [...new Set(stringArray(body, 'invite'))];
  for (const u of invitees) {
    if (!isValidUserId(u)) throw new MatrixError(400, 'M_INVALID_PARAM', `Invalid user ID in "invite": ${u}`);
  }
  const state = initialState(body);
  const alias = roomAliasOf(body, serverName);

  // Spec: the server overwrites `creator` and `room_version` (createTemplate sets what applies).
  const { creator: _c, room_version: _v, ...creationContent } = optionalObject(body, 'creation_content') ?? {};
  if (preset === 'trusted_private_chat' && rules.additional_creators && invitees.length > 0) {
    const given = Array.isArray(creationContent.additional_creators) ? creationContent.additional_creators : [];
    creationContent.additional_creators = [...new Set([...given.filter((x): x is string => typeof x === 'string'), ...invitees])];
  }

  const powerLevels = { ...defaultPowerLevels(rules, creator, preset, invitees), ...override };
  if (rules.power_levels_users_must_not_contain_creators && isJsonObject(powerLevels.users) && creator in powerLevels.users) {
    throw badJson(`In room version ${version} the creator may not be listed in the power levels' "users".`);
  }

  const has = (type: string, key = '') => state.some((e) => e.type === type && e.state_key === key);
  const p = PRESETS[preset];
  const presetState: EventTemplate[] = [
    { type: 'm.room.join_rules', state_key: '', content: { join_rule: p.join_rule }, sender: creator },
    { type: 'm.room.history_visibility', state_key: '', content: { history_visibility: p.history_visibility }, sender: creator },
    { type: 'm.room.guest_access', state_key: '', content: { guest_access: p.guest_access }, sender: creator },
  ];
  const events: EventTemplate[] = [
    { type: 'm.room.member', state_key: creator, content: { membership: 'join' }, sender: creator },
    { type: 'm.room.power_levels', state_key: '', content: powerLevels, sender: creator },
    // Spec: "An `m.room.canonical_alias` event if `room_alias_name` is given", before the preset's events.
    ...(alias !== undefined ? [{ type: 'm.room.canonical_alias', state_key: '', content: { alias }, sender: creator }] : []),
    // Spec: initial_state "takes precedence over events set by preset".
    ...presetState.filter((e) => !has(e.type)),
    // Spec: name and topic overwrite the same events in initial_state.
    ...state.filter((e) => !(name !== undefined && e.type === 'm.room.name' && e.state_key === '') && !(topic !== undefined && e.type === 'm.room.topic' && e.state_key === '')).map((e) => ({ ...e, sender: creator })),
  ];
  if (name !== undefined) events.push({ type: 'm.room.name', state_key: '', content: { name }, sender: creator });
  if (topic !== undefined) {
    events.push({ type: 'm.room.topic', state_key: '', content: { topic, 'm.topic': { 'm.text': [{ body: topic, mimetype: 'text/plain' }] } }, sender: creator });
  }
  const remoteInvites: EventTemplate[] = [];
  for (const u of invitees) {
    const invite: EventTemplate = { type: 'm.room.member', state_key: u, content: isDirect ? { membership: 'invite', is_direct: true } : { membership: 'invite' }, sender: creator };
    (u.endsWith(`:${serverName}`) ? events : remoteInvites).push(invite);
  }
  return {
    rules, creator, creationContent, events, ...(alias !== undefined ? { alias } : {}), ...(visibility === 'public' ? { publish: true } : {}),
    ...(remoteInvites.length > 0 ? { remoteInvites } : {}),
  };
}

/**
 * Spec `room_alias_name`: "The desired room alias **local part**", the alias being on this
 * server (`#<name>:<server>`). `400 M_INVALID_PARAM` when it makes no valid alias.
 */
function roomAliasOf(body: JsonObject, serverName: string): string | undefined {
  const name = optionalString(body, 'room_alias_name');
  if (name === undefined) return undefined;
  if (name.includes(':')) throw new MatrixError(400, 'M_INVALID_PARAM', 'Invalid character in room alias localpart: ":".');
  return newLocalAlias(`#${name}:${serverName}`, serverName);
}

/** A random opaque part of a room ID (`!<opaque>:<server>` before room version 12). */
export function newOpaqueRoomIdPart(): string {
  return [...crypto.getRandomValues(new Uint8Array(18))].map((b) => 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'[b % 52]).join('');
}

/**
 * Create the room and send the plan's events in order; returns the room ID. A caller that must
 * know the ID beforehand (room upgrades, before version 12) chooses `opaque` itself. A plan
 * with an alias or to publish needs the `directory` namespace.
 */
export async function performCreateRoom(
  rooms: DurableObjectNamespace, plan: CreateRoomPlan, serverName: string, opaque = newOpaqueRoomIdPart(), directory?: DurableObjectNamespace,
): Promise<string> {
  const ts = Date.now();
  // v12 derives the ID from the create event, so it must be built from the same content and ts.
  const roomId = newRoomId(plan.rules, plan.creator, plan.creationContent, ts, serverName, opaque);
  const room = roomApi(rooms, roomId);
  const dir = plan.alias !== undefined || plan.publish ? directoryApi(required(directory)) : undefined;
  if (dir && plan.alias !== undefined) {
    // Taken before the room exists, so a taken alias creates nothing, and no one can take it
    // between this check and the canonical alias event. Spec: "The room alias specified is
    // already taken (`errcode` set to `M_ROOM_IN_USE`)".
    const reserved = await dir.performCreateAlias({ alias: plan.alias, room_id: roomId, creator: plan.creator }, ts);
    if (!reserved.ok) throw new MatrixError(400, 'M_ROOM_IN_USE', reserved.error);
  }
  const created = await room.performCreate({
    room_id: roomId,
    room_version: plan.rules.room_version,
    creator: plan.creator,
    content: plan.creationContent,
    origin_server_ts: ts,
  });
  if (!created.ok) {
    if (dir && plan.alias !== undefined) await dir.performDeleteAlias(plan.alias);
    throw matrixErrorOf(created);
  }
  for (const e of plan.events) await sendEvent(room, e);
  if (dir && plan.publish) await dir.performSetVisibility(roomId, 'public');
  return roomId;
}

function required(directory: DurableObjectNamespace | undefined): DurableObjectNamespace {
  if (!directory) throw new Error('createRoom: a plan with an alias or visibility "public" needs the DIRECTORY namespace');
  return directory;
}
