/**
 * Room version rules as data (spec "Room Versions"). core/room-versions.json
 * lists each version as a diff against the version named in `extends`; this
 * module resolves the chains once, validates every field, and freezes the
 * result. Code elsewhere must branch on these fields, never on the version
 * string.
 */
import table from './room-versions.json';

/** State resolution algorithm (spec "Room Versions" / "State resolution"). */
export type StateResolutionAlgorithm = 'v1' | 'v2.0' | 'v2.1';
/** How an event's ID is obtained (spec "Event IDs" per room version). */
export type EventIdFormat = 'event_id_field' | 'reference_hash_base64' | 'reference_hash_url_safe_base64';
/** Content keys kept by redaction: a list (with `a.b` nested paths) or "ALL". */
export type PreservedContentKeys = 'ALL' | readonly string[];

/** Redaction algorithm parameters (spec "Redactions" per room version). */
export type RedactionRules = {
  readonly preserved_top_level_keys: readonly string[];
  readonly preserved_content_keys: Readonly<Record<string, PreservedContentKeys>>;
};

/** Every boolean rule switch in the table; all are required after resolution. */
export const BOOLEAN_RULE_KEYS = [
  'begin_iterative_auth_checks_with_empty_state',
  'full_conflicted_set_includes_conflicted_state_subgraph',
  'event_refs_include_hashes',
  'create_in_auth_events',
  'create_has_room_id',
  'create_content_creator_required',
  'redacts_in_content',
  'enforce_key_validity',
  'special_case_aliases_auth',
  'special_case_redaction_auth',
  'strict_canonical_json',
  'limit_notifications_power_levels',
  'knock_join_rule',
  'restricted_join_rule',
  'restricted_join_rule_redaction_fix',
  'knock_restricted_join_rule',
  'integer_power_levels',
  'power_level_values_may_be_strings',
  'power_level_values_may_be_floats',
  'implicit_room_creator',
  'updated_redaction_rules_v11',
  'creators_have_infinite_power',
  'additional_creators',
  'power_levels_users_must_not_contain_creators',
  'room_id_is_create_event_hash',
] as const;

/** Name of a boolean rule switch. */
export type BooleanRuleKey = (typeof BOOLEAN_RULE_KEYS)[number];

/** Fully resolved, frozen rules of one room version. */
export type RoomVersionRules = { readonly [K in BooleanRuleKey]: boolean } & {
  readonly room_version: string;
  readonly stability: 'stable' | 'unstable';
  readonly state_resolution: StateResolutionAlgorithm;
  readonly event_id_format: EventIdFormat;
  readonly redaction: RedactionRules;
};

const STATE_RES: readonly string[] = ['v1', 'v2.0', 'v2.1'];
const EVENT_ID_FORMATS: readonly string[] = ['event_id_field', 'reference_hash_base64', 'reference_hash_url_safe_base64'];

type RawVersion = { readonly [key: string]: unknown };

function resolve(id: string, versions: Readonly<Record<string, RawVersion>>, seen: readonly string[]): Record<string, unknown> {
  const raw = versions[id];
  if (raw === undefined) throw new TypeError(`room-versions.json: unknown version "${id}" (via ${seen.join(' -> ')})`);
  if (seen.includes(id)) throw new TypeError(`room-versions.json: extends cycle ${[...seen, id].join(' -> ')}`);
  const { extends: parent, ...own } = raw;
  if (parent === undefined) return { ...own };
  if (typeof parent !== 'string') throw new TypeError(`room-versions.json: version "${id}" has a non-string extends`);
  // A child's `redaction` replaces the parent's whole object (the table repeats it in full).
  return { ...resolve(parent, versions, [...seen, id]), ...own };
}

function validate(id: string, r: Record<string, unknown>): RoomVersionRules {
  const fail = (msg: string): never => {
    throw new TypeError(`room-versions.json: version "${id}": ${msg}`);
  };
  for (const key of BOOLEAN_RULE_KEYS) if (typeof r[key] !== 'boolean') fail(`${key} must be a boolean`);
  if (r.stability !== 'stable' && r.stability !== 'unstable') fail('stability must be "stable" or "unstable"');
  if (typeof r.state_resolution !== 'string' || !STATE_RES.includes(r.state_resolution)) fail('bad state_resolution');
  if (typeof r.event_id_format !== 'string' || !EVENT_ID_FORMATS.includes(r.event_id_format)) fail('bad event_id_format');
  const red = r.redaction as { preserved_top_level_keys?: unknown; preserved_content_keys?: unknown } | undefined;
  const isStrList = (v: unknown): v is string[] => Array.isArray(v) && v.every((k) => typeof k === 'string');
  if (typeof red !== 'object' || red === null || !isStrList(red.preserved_top_level_keys)) fail('bad redaction.preserved_top_level_keys');
  const pck = red?.preserved_content_keys;
  if (typeof pck !== 'object' || pck === null || Array.isArray(pck)) fail('bad redaction.preserved_content_keys');
  for (const [type, keys] of Object.entries(pck as object)) {
    if (keys !== 'ALL' && !isStrList(keys)) fail(`bad preserved_content_keys for ${type}`);
  }
  return deepFreeze({ ...r, room_version: id }) as unknown as RoomVersionRules;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

const RAW_VERSIONS = (table as { versions: Record<string, RawVersion> }).versions;
const RULES: ReadonlyMap<string, RoomVersionRules> = new Map(
  Object.keys(RAW_VERSIONS).map((id) => [id, validate(id, resolve(id, RAW_VERSIONS, []))]),
);

/** Rules for a room version identifier, or undefined when the server does not know it. */
export function getRoomVersionRules(version: string): RoomVersionRules | undefined {
  return RULES.get(version);
}

/** The room version for new rooms (spec: servers SHOULD default to 12). */
export const DEFAULT_ROOM_VERSION: string = (() => {
  const d = (table as { default?: unknown }).default;
  if (typeof d !== 'string' || !RULES.has(d)) throw new TypeError('room-versions.json: default must name a known version');
  return d;
})();

/** Stable room versions this server supports, in table order. */
export const KNOWN_ROOM_VERSIONS: readonly string[] = Object.freeze(
  [...RULES.values()].filter((r) => r.stability === 'stable').map((r) => r.room_version),
);

/** All versions known to the table, stable or not. */
export const ALL_ROOM_VERSIONS: readonly string[] = Object.freeze([...RULES.keys()]);
