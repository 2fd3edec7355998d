/**
 * `POST /_matrix/client/v3/rooms/{roomId}/upgrade` (spec v1.16, Client-Server API "Room Upgrades"):
 * https://spec.matrix.org/v1.16/client-server-api/#room-upgrades
 *
 * The spec's server behaviour, in this order:
 * 1. the user must be allowed to send `m.room.tombstone` in the old room (asked of the Room
 *    object without sending anything: `403 M_FORBIDDEN` with the auth rules' reason);
 * 2. the replacement room is created with `predecessor` (and the old room's `type`) in its
 *    create event, through createRoom's own plan (create-room.ts);
 * 3. the recommended state is copied, with the old power levels (Synapse's choices: the local
 *    part of the canonical alias, a space's children, and the bans come too);
 * 5. the tombstone `{body, replacement_room}` goes into the old room;
 * 6. the old room's `events_default` and `invite` go up to max(50, users_default + 1);
 * 4. this server's aliases and the room-directory listing move to the new room, and the moved
 *    aliases leave the old room's canonical alias (`moveRoomDirectoryEntries`, as Synapse does).
 *
 * Room version 12 derives the room ID from the create event, which therefore cannot name the
 * tombstone: the new room comes first and `predecessor` is `{room_id}` only (spec: "the
 * `event_id` property inside `predecessor` MAY be omitted"). Before version 12 `predecessor`
 * also names the tombstone's event ID, so the tombstone is sent first, naming a room ID chosen
 * beforehand. In v12 rooms the creators have infinite power and may not be listed in the power
 * levels (MSC4289): the upgrader and the body's `additional_creators` are its creators, taken
 * out of the copied `users`; the old room's additional creators are not carried over (spec
 * note). Before v12 the upgrader is raised, while the state is copied, to the level every copied
 * event needs, and put back after (as Synapse does), unless they were a creator of a v12 room.
 */
import { Hono } from 'hono';
import { isJsonObject, type JsonObject, type JsonValue } from '../../../core/canonical-json';
import { isValidUserId } from '../../../core/ids';
import { getRoomVersionRules, type RoomVersionRules } from '../../../core/room-versions';
import { roomApi, type EventRecord, type RoomApi, type SendInput } from '../../../durable-objects/room/api';
import { newRoomId, type EventTemplate } from '../../../durable-objects/room/builder';
import { requireAccessToken } from '../../shared/auth';
import { readJsonBody, requiredString } from '../../shared/body';
import { MatrixError, matrixErrorOf } from '../../shared/errors';
import type { HomeserverEnv } from '../env';
import { creatableRoomVersion, newOpaqueRoomIdPart, performCreateRoom, planCreateRoom, type CreateRoomPlan } from './create-room';
import { moveRoomDirectoryEntries } from './directory';
import { withProfile } from './profile';
import { roomOf, sendEvent } from './room-access';

const TOMBSTONE_BODY = 'This room has been replaced';

/** Spec step 3's recommended state (besides the power levels), copied as it is. */
const COPIED_STATE = ['m.room.join_rules', 'm.room.name', 'm.room.topic', 'm.room.history_visibility', 'm.room.guest_access', 'm.room.avatar', 'm.room.encryption', 'm.room.server_acl'];

/** The old room as the upgrade reads it. */
export interface OldRoom {
  room_id: string;
  rules: RoomVersionRules;
  /** Its current state events. */
  state: EventRecord[];
}

export interface UpgradeRequest {
  rules: RoomVersionRules;
  upgrader: string;
  /** The body's `additional_creators`, for room versions that have them. */
  additional_creators?: string[];
  server_name: string;
}

export interface UpgradePlan {
  /** The replacement room, as createRoom would make it (its creation content is completed when sent). */
  create: CreateRoomPlan;
  /** Bans carried over, sent once the room exists; each may be refused alone. */
  bans: EventTemplate[];
  /** The new room's power levels to set after the copied state, when the upgrader was raised for it. */
  restore_power_levels?: JsonObject;
}

const contentOf = (e: EventRecord | undefined): JsonObject => (e && isJsonObject(e.pdu.content) ? e.pdu.content : {});

/** A level as an integer; room versions before 10 also allowed integer strings. */
function asLevel(v: JsonValue | undefined): number | undefined {
  if (typeof v === 'number') return Number.isSafeInteger(v) ? v : undefined;
  if (typeof v !== 'string' || !/^\s*[+-]?\d+\s*$/.test(v)) return undefined;
  const n = Number(v.trim());
  return Number.isSafeInteger(n) ? n : undefined;
}

/**
 * Power levels content with every level an integer, so that it is valid in any room version
 * (versions 10+ reject the integer strings older ones accepted); values that are no level at
 * all are dropped.
 */
export function integerPowerLevels(content: JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(content)) {
    if (isJsonObject(value)) {
      const levels: JsonObject = {};
      for (const [k, v] of Object.entries(value)) {
        const level = asLevel(v);
        if (level !== undefined) levels[k] = level;
      }
      out[key] = levels;
    } else {
      const level = asLevel(value);
      if (level !== undefined) out[key] = level;
    }
  }
  return out;
}

/** The level sending every copied event needs: state_default, ban and every event level (Synapse's bound). */
function levelToCopyState(pl: JsonObject): number {
  const events = isJsonObject(pl.events) ? Object.values(pl.events).map((v) => asLevel(v) ?? 0) : [];
  return Math.max(asLevel(pl.state_default) ?? 50, asLevel(pl.ban) ?? 50, ...events);
}

/**
 * Spec step 6: "the power levels in the old room should also be modified to prevent sending of
 * events and inviting new users. For example, setting `events_default` and `invite` to the
 * greater of `50` and `users_default + 1`." Undefined when they are that high already.
 */
export function restrictedPowerLevels(content: JsonObject): JsonObject | undefined {
  const pl = integerPowerLevels(content);
  const level = Math.max(50, (asLevel(pl.users_default) ?? 0) + 1);
  let changed = false;
  for (const key of ['events_default', 'invite']) {
    if ((asLevel(pl[key]) ?? 0) < level) {
      pl[key] = level;
      changed = true;
    }
  }
  return changed ? pl : undefined;
}

/** The local part of an `m.room.canonical_alias` (remote aliases cannot move); undefined if none is local. */
function localCanonicalAlias(content: JsonObject, serverName: string): JsonObject | undefined {
  const local = (a: JsonValue | undefined): a is string => typeof a === 'string' && a.endsWith(`:${serverName}`);
  const out: JsonObject = {};
  if (local(content.alias)) out.alias = content.alias;
  const alt = Array.isArray(content.alt_aliases) ? content.alt_aliases.filter(local) : [];
  if (alt.length > 0) out.alt_aliases = alt;
  return Object.keys(out).length > 0 ? out : undefined;
}

/** Plan the replacement room of `old`. @throws MatrixError (400) when createRoom would refuse it */
export function planUpgrade(old: OldRoom, req: UpgradeRequest): UpgradePlan {
  const stateEvent = (type: string, key = '') => old.state.find((e) => e.pdu.type === type && e.pdu.state_key === key);
  const create = stateEvent('m.room.create');
  const oldCreate = contentOf(create);

  // Spec step 2: `predecessor` and the old room's `type`; Synapse keeps `m.federate: false` too.
  const creationContent: JsonObject = { predecessor: { room_id: old.room_id } };
  if (typeof oldCreate.type === 'string') creationContent.type = oldCreate.type;
  if (oldCreate['m.federate'] === false) creationContent['m.federate'] = false;
  const additional = req.rules.additional_creators ? (req.additional_creators ?? []).filter((u) => u !== req.upgrader) : [];
  if (req.rules.additional_creators && req.additional_creators !== undefined) creationContent.additional_creators = additional;

  const initialState: JsonObject[] = [];
  for (const e of old.state) {
    const type = typeof e.pdu.type === 'string' ? e.pdu.type : '';
    const stateKey = typeof e.pdu.state_key === 'string' ? e.pdu.state_key : '';
    const content = contentOf(e);
    if (COPIED_STATE.includes(type) && stateKey === '') initialState.push({ type, state_key: '', content });
    // A space's children stay its children (Synapse); an emptied one was removed.
    if (type === 'm.space.child' && oldCreate.type === 'm.space' && Object.keys(content).length > 0) initialState.push({ type, state_key: stateKey, content });
  }
  const alias = localCanonicalAlias(contentOf(stateEvent('m.room.canonical_alias')), req.server_name);
  if (alias) initialState.push({ type: 'm.room.canonical_alias', state_key: '', content: alias });

  // The preset is overridden by the copied state wherever the old room had some.
  const plan = planCreateRoom(
    { room_version: req.rules.room_version, preset: 'private_chat', creation_content: creationContent, initial_state: initialState },
    req.upgrader,
    req.server_name,
  );

  let restore: JsonObject | undefined;
  const oldPowerLevels = stateEvent('m.room.power_levels');
  if (oldPowerLevels) {
    const copied = integerPowerLevels(contentOf(oldPowerLevels));
    const users: JsonObject = isJsonObject(copied.users) ? { ...copied.users } : {};
    let initial = copied;
    if (req.rules.creators_have_infinite_power) {
      // MSC4289 (v12): the creators outrank every level, and may not be listed.
      for (const creator of [req.upgrader, ...additional]) delete users[creator];
      if (isJsonObject(copied.users)) initial = { ...copied, users };
    } else {
      const needed = levelToCopyState(copied);
      if ((asLevel(users[req.upgrader]) ?? asLevel(copied.users_default) ?? 0) < needed) {
        initial = { ...copied, users: { ...users, [req.upgrader]: needed } };
        // A creator of a v12 room had infinite power there: they keep what they were given.
        const oldCreators = old.rules.creators_have_infinite_power
          ? [create?.pdu.sender, ...(Array.isArray(oldCreate.additional_creators) ? oldCreate.additional_creators : [])]
          : [];
        if (!oldCreators.includes(req.upgrader)) restore = copied;
      }
    }
    plan.events = plan.events.map((e) => (e.type === 'm.room.power_levels' ? { ...e, content: initial } : e));
  }

  const creators = req.rules.creators_have_infinite_power ? [req.upgrader, ...additional] : [req.upgrader];
  const bans = old.state.flatMap((e): EventTemplate[] => {
    const target = e.pdu.state_key;
    if (e.pdu.type !== 'm.room.member' || contentOf(e).membership !== 'ban' || typeof target !== 'string' || creators.includes(target)) return [];
    return [{ type: 'm.room.member', state_key: target, sender: req.upgrader, content: contentOf(e) }];
  });

  return { create: plan, bans, ...(restore ? { restore_power_levels: restore } : {}) };
}

const tombstone = (sender: string, replacementRoom: string): SendInput => ({
  type: 'm.room.tombstone',
  state_key: '',
  sender,
  content: { body: TOMBSTONE_BODY, replacement_room: replacementRoom },
});

/** The body's `additional_creators`: user IDs, without duplicates. */
function additionalCreatorsOf(body: JsonObject): string[] | undefined {
  const v = body.additional_creators;
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || !v.every((u): u is string => typeof u === 'string')) throw new MatrixError(400, 'M_BAD_JSON', '"additional_creators" must be an array of user IDs.');
  for (const u of v) if (!isValidUserId(u)) throw new MatrixError(400, 'M_INVALID_PARAM', `Invalid user ID in "additional_creators": ${u}`);
  return [...new Set(v)];
}

/** Create the replacement room with its state; returns its ID. The tombstone is sent here too (see the module note). */
async function createReplacement(rooms: DurableObjectNamespace, oldRoom: RoomApi, old: OldRoom, plan: UpgradePlan, upgrader: string, serverName: string): Promise<string> {
  const { rules } = plan.create;
  let roomId: string;
  if (rules.room_id_is_create_event_hash) {
    roomId = await performCreateRoom(rooms, plan.create, serverName);
  } else {
    // The ID of a room before version 12 does not depend on its create event (nor on a timestamp).
    const opaque = newOpaqueRoomIdPart();
    roomId = newRoomId(rules, upgrader, plan.create.creationContent, 0, serverName, opaque);
    const tombstoneId = await sendEvent(oldRoom, tombstone(upgrader, roomId));
    plan.create.creationContent = { ...plan.create.creationContent, predecessor: { room_id: old.room_id, event_id: tombstoneId } };
    await performCreateRoom(rooms, plan.create, serverName, opaque);
  }
  const room = roomApi(rooms, roomId);
  for (const ban of plan.bans) {
    const sent = await room.performSend(ban);
    if (!sent.ok) console.warn(`room upgrade: ban of ${ban.state_key} not carried to ${roomId}: ${sent.error}`);
  }
  if (plan.restore_power_levels) await sendEvent(room, { type: 'm.room.power_levels', state_key: '', sender: upgrader, content: plan.restore_power_levels });
  if (rules.room_id_is_create_event_hash) await sendEvent(oldRoom, tombstone(upgrader, roomId));
  return roomId;
}

export const roomUpgrade = new Hono<HomeserverEnv>().post('/v3/rooms/:roomId/upgrade', requireAccessToken(), async (c) => {
  const body = await readJsonBody(c);
  const rules = creatableRoomVersion(requiredString(body, 'new_version'));
  const additionalCreators = rules.additional_creators ? additionalCreatorsOf(body) : undefined;
  const oldRoomId = c.req.param('roomId');
  const oldRoom = roomOf(c.env.ROOM, oldRoomId);
  const { userId } = c.var.auth;
  const { serverName } = c.var.config;
  const info = await oldRoom.getRoomInfo();
  const oldRules = info && getRoomVersionRules(info.room_version);
  if (!oldRules) throw new MatrixError(404, 'M_NOT_FOUND', `Unknown room ${oldRoomId}`);

  // Step 1. The auth rules read no tombstone content: the replacement's ID is not known yet.
  const allowed = await oldRoom.queryMaySend(tombstone(userId, oldRoomId));
  if (!allowed.ok) throw matrixErrorOf(allowed);

  const old: OldRoom = { room_id: oldRoomId, rules: oldRules, state: await oldRoom.getCurrentStateEvents() };
  const plan = planUpgrade(old, { rules, upgrader: userId, server_name: serverName, ...(additionalCreators ? { additional_creators: additionalCreators } : {}) });
  // As in createRoom, the creator's join carries their profile.
  plan.create.events = await Promise.all(
    plan.create.events.map(async (e) =>
      e.type === 'm.room.member' && e.state_key === userId && e.content.membership === 'join' ? { ...e, content: await withProfile(c.env.USER, serverName, userId, e.content) } : e,
    ),
  );
  const replacement = await createReplacement(c.env.ROOM, oldRoom, old, plan, userId, serverName);

  // Step 6 (a room without power levels has nothing to raise: Synapse leaves it as it is).
  const oldPowerLevels = old.state.find((e) => e.pdu.type === 'm.room.power_levels' && e.pdu.state_key === '');
  const restricted = oldPowerLevels && restrictedPowerLevels(contentOf(oldPowerLevels));
  if (restricted) {
    const sent = await oldRoom.performSend({ type: 'm.room.power_levels', state_key: '', sender: userId, content: restricted });
    // Like Synapse: an upgrader who may send the tombstone yet not the power levels still upgrades.
    if (!sent.ok) console.warn(`room upgrade: power levels of ${oldRoomId} not restricted: ${sent.error}`);
  }
  await moveRoomDirectoryEntries(c.env, oldRoomId, replacement, c.var.auth.userId);
  return c.json({ replacement_room: replacement });
});
