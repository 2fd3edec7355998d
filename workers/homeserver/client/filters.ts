/**
 * @module Filters (spec v1.16, Client-Server API "Filtering"):
 * `POST /_matrix/client/v3/user/{userId}/filter` and
 * `GET /_matrix/client/v3/user/{userId}/filter/{filterId}`.
 * https://spec.matrix.org/v1.16/client-server-api/#filtering
 *
 * Filters are stored in the user's object and read back as they were given. The shape is
 * checked field by field (wrong types are `400 M_BAD_JSON`; unknown fields are kept and
 * ignored), so /sync and /messages can read a stored filter without checking it again.
 * `loadFilter` resolves the `filter` query parameter of those endpoints: inline JSON (starting
 * with `{`, spec: "filter_id ... Cannot start with a { as this character is used to determine
 * if the filter provided is inline JSON or a previously declared filter") or a stored ID.
 */
import { Hono } from 'hono';
import { isJsonObject, type JsonObject, type JsonValue } from '../../../core/canonical-json';
import type { TimelineFilter } from '../../../durable-objects/room/api';
import { userApi } from '../../../durable-objects/user/api';
import { requireAccessToken } from '../../shared/auth';
import { readJsonBody } from '../../shared/body';
import { MatrixError, matrixErrorOf, type Errcode } from '../../shared/errors';
import type { HomeserverEnv } from '../env';

type Check = (value: JsonValue, path: string, fail: (path: string, what: string) => never) => void;

const stringArray: Check = (v, path, fail) => {
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) fail(path, 'an array of strings');
};
const boolean: Check = (v, path, fail) => {
  if (typeof v !== 'boolean') fail(path, 'a boolean');
};
const nonNegativeInteger: Check = (v, path, fail) => {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) fail(path, 'a non-negative integer');
};
const object = (fields: Record<string, Check>): Check => (v, path, fail) => {
  if (!isJsonObject(v)) return fail(path, 'an object');
  for (const [key, check] of Object.entries(fields)) {
    const field = v[key];
    if (field !== undefined) check(field, path ? `${path}.${key}` : key, fail);
  }
};

/** Spec `EventFilter`. */
const EVENT_FILTER = { limit: nonNegativeInteger, types: stringArray, not_types: stringArray, senders: stringArray, not_senders: stringArray };
/** Spec `RoomEventFilter`: an `EventFilter` with room and member options. */
const ROOM_EVENT_FILTER = {
  ...EVENT_FILTER,
  rooms: stringArray,
  not_rooms: stringArray,
  contains_url: boolean,
  include_redundant_members: boolean,
  lazy_load_members: boolean,
  unread_thread_notifications: boolean,
};
const FILTER = object({
  event_fields: stringArray,
  event_format: (v, path, fail) => {
    if (v !== 'client' && v !== 'federation') fail(path, '"client" or "federation"');
  },
  presence: object(EVENT_FILTER),
  account_data: object(EVENT_FILTER),
  room: object({
    rooms: stringArray,
    not_rooms: stringArray,
    include_leave: boolean,
    ephemeral: object(ROOM_EVENT_FILTER),
    state: object(ROOM_EVENT_FILTER),
    timeline: object(ROOM_EVENT_FILTER),
    account_data: object(ROOM_EVENT_FILTER),
  }),
});
const ROOM_EVENT_FILTER_CHECK = object(ROOM_EVENT_FILTER);

/** `value` checked by `check`, or throw `400 errcode` naming the first wrong field. */
function validateWith(check: typeof FILTER, value: unknown, errcode: Errcode): JsonObject {
  const fail = (path: string, what: string): never => {
    throw new MatrixError(400, errcode, path ? `filter field "${path}" must be ${what}.` : `The filter must be ${what}.`);
  };
  if (!isJsonObject(value)) return fail('', 'an object');
  check(value, '', fail);
  return value;
}

/** `value` as a `Filter`, or throw `400 errcode` naming the first wrong field. */
export const validateFilter = (value: unknown, errcode: Errcode = 'M_BAD_JSON'): JsonObject => validateWith(FILTER, value, errcode);

/** `value` as a `RoomEventFilter` (the /messages form), or throw `400 errcode`. */
export const validateRoomEventFilter = (value: unknown, errcode: Errcode = 'M_BAD_JSON'): JsonObject =>
  validateWith(ROOM_EVENT_FILTER_CHECK, value, errcode);

/** Whether the `filter` parameter is inline JSON rather than a filter ID. */
export const isInlineFilter = (raw: string) => raw.trimStart().startsWith('{');

/** Parse inline filter JSON (`400 M_NOT_JSON` if it is not JSON); the caller checks the shape. */
export function parseInlineFilter(raw: string): unknown {
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    throw new MatrixError(400, 'M_NOT_JSON', 'filter is not valid JSON.');
  }
}

/** The stored filter `filterId` of `userId`; `400 M_INVALID_PARAM` when there is none. */
export async function storedFilter(users: DurableObjectNamespace, userId: string, filterId: string): Promise<JsonObject> {
  const filter = await userApi(users, userId).getFilter(filterId);
  if (!filter) throw new MatrixError(400, 'M_INVALID_PARAM', `Unknown filter ID: ${filterId}`);
  return filter;
}

/**
 * The `filter` query parameter as a `Filter`: inline JSON (checked, wrong types are
 * `400 M_INVALID_PARAM`) or the ID of one of the user's stored filters.
 */
export async function loadFilter(users: DurableObjectNamespace, userId: string, raw: string): Promise<JsonObject> {
  if (isInlineFilter(raw)) return validateFilter(parseInlineFilter(raw), 'M_INVALID_PARAM');
  return storedFilter(users, userId, raw);
}

/** The `types`/`not_types`/`senders`/`not_senders` of a (validated) event filter, if any. */
export function eventFilterOf(value: JsonValue | undefined): TimelineFilter | undefined {
  if (!isJsonObject(value)) return undefined;
  const out: TimelineFilter = {};
  for (const key of ['types', 'not_types', 'senders', 'not_senders'] as const) {
    const list = value[key];
    if (Array.isArray(list)) out[key] = list.filter((x): x is string => typeof x === 'string');
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

/** Spec: "The user ID ... must be the same as the user ID for the access token." */
function requireSelf(pathUserId: string, userId: string): void {
  if (pathUserId !== userId) throw new MatrixError(403, 'M_FORBIDDEN', 'Cannot use filters of other users.');
}

export const filters = new Hono<HomeserverEnv>()
  .post('/v3/user/:userId/filter', requireAccessToken(), async (c) => {
    const { userId } = c.var.auth;
    requireSelf(c.req.param('userId'), userId);
    const filter = validateFilter(await readJsonBody(c));
    const result = await userApi(c.env.USER, userId).performCreateFilter(filter);
    if (!result.ok) throw matrixErrorOf(result);
    return c.json({ filter_id: result.filter_id });
  })

  .get('/v3/user/:userId/filter/:filterId', requireAccessToken(), async (c) => {
    const { userId } = c.var.auth;
    requireSelf(c.req.param('userId'), userId);
    const filter = await userApi(c.env.USER, userId).getFilter(c.req.param('filterId'));
    if (!filter) throw new MatrixError(404, 'M_NOT_FOUND', 'Unknown filter.');
    return c.json(filter);
  });
