/**
 * Runner for `matrix-room-version-table`: our core/room-versions.json agrees
 * with the file's table: every boolean property, the state resolution
 * algorithm and its switches, the redaction keys, the event format (mapped
 * from its prose onto our rule fields), stability, the default version and
 * the spec's feature matrix.
 */
import { isJsonObject, type JsonObject, type JsonValue } from '../../../core/canonical-json';
import { ALL_ROOM_VERSIONS, DEFAULT_ROOM_VERSION, getRoomVersionRules, KNOWN_ROOM_VERSIONS, type RoomVersionRules } from '../../../core/room-versions';
import type { CaseResult, VectorFormat } from '../types';
import { type Checks, jsonEqual, obj, recogniseBy, runCase, str } from './core-vector-helpers';

/** Feature-matrix names in the file -> our boolean rule. */
const FEATURES: Readonly<Record<string, keyof RoomVersionRules>> = {
  knocking: 'knock_join_rule',
  restricted_join_rules: 'restricted_join_rule',
  knock_restricted_join_rule: 'knock_restricted_join_rule',
  additional_room_creators: 'additional_creators',
};

const normalise = (v: JsonValue | undefined): JsonValue | undefined => {
  if (Array.isArray(v)) return [...v].map(String).sort();
  if (isJsonObject(v)) return Object.fromEntries(Object.entries(v).filter(([k]) => k !== 'spec_fragment').map(([k, x]) => [k, normalise(x) as JsonValue]));
  return v;
};

function eventIdFormatFromProse(prose: string): RoomVersionRules['event_id_format'] | undefined {
  if (/field/i.test(prose)) return 'event_id_field';
  if (/url-safe/i.test(prose)) return 'reference_hash_url_safe_base64';
  if (/standard base64/i.test(prose)) return 'reference_hash_base64';
  return undefined;
}

function checkEventFormat(ours: RoomVersionRules, ef: JsonObject, check: Checks): void {
  for (const [key, value] of Object.entries(ef)) {
    switch (key) {
      case 'event_id_format': {
        const fmt = eventIdFormatFromProse(str(value, key));
        check.expect(fmt !== undefined, `cannot read event_id_format "${String(value)}"`);
        if (fmt) check.equal(ours.event_id_format, fmt, 'event_id_format');
        break;
      }
      case 'event_id_field_in_pdu':
        check.equal(ours.event_id_format === 'event_id_field', value, key);
        break;
      case 'prev_events_auth_events_format':
        check.equal(ours.event_refs_include_hashes, /sha256|hash/.test(str(value, key)), `${key} (event_refs_include_hashes)`);
        break;
      case 'room_id_format':
        check.equal(ours.room_id_is_create_event_hash, /create event/i.test(str(value, key)), `${key} (room_id_is_create_event_hash)`);
        break;
      case 'm.room.redaction_redacts_location':
        check.equal(ours.redacts_in_content, /content/.test(str(value, key)), `${key} (redacts_in_content)`);
        break;
      case 'depth_limit':
        // The 2^53-1 depth cap comes from the v6 canonical JSON integer rules.
        check.equal(ours.strict_canonical_json, value !== null, `${key} (strict_canonical_json)`);
        break;
      default: {
        const ourKey = key.replace(/^m\.room\./, '') as keyof RoomVersionRules;
        if (typeof value === 'boolean') check.equal(ours[ourKey], value, `event_format.${key}`);
        else check.expect(false, `unknown event_format property ${key}`);
      }
    }
  }
}

function checkVersion(rv: string, v: JsonObject, check: Checks): void {
  const ours = getRoomVersionRules(rv);
  if (!ours) throw new TypeError(`room version ${rv} is not in our table`);
  for (const [key, value] of Object.entries(v)) {
    if (typeof value === 'boolean') check.equal((ours as Record<string, unknown>)[key], value, key);
  }
  if (v.stability !== undefined) check.equal(ours.stability, v.stability, 'stability');
  if (v.room_version !== undefined) check.equal(ours.room_version, v.room_version, 'room_version');
  const sr = v.state_resolution;
  if (isJsonObject(sr)) {
    check.equal(ours.state_resolution, sr.algorithm, 'state_resolution.algorithm');
    for (const [key, value] of Object.entries(sr)) {
      if (typeof value === 'boolean') check.equal((ours as Record<string, unknown>)[key], value, `state_resolution.${key}`);
    }
  } else if (sr !== undefined) {
    check.equal(ours.state_resolution, sr, 'state_resolution');
  }
  if (isJsonObject(v.redaction)) check.equal(normalise(ours.redaction as unknown as JsonObject), normalise(v.redaction), 'redaction');
  if (isJsonObject(v.event_format)) checkEventFormat(ours, v.event_format, check);
}

export const format: VectorFormat = {
  name: 'room-versions',
  recognise: (fileName, json) => recogniseBy('matrix-room-version-table', fileName, json, ['room_versions.json']),
  async run(json) {
    const file = obj(json, 'vector file');
    const versions = obj(file.versions, 'versions');
    const results: CaseResult[] = [];
    for (const [rv, v] of Object.entries(versions)) {
      results.push(await runCase(`versions/${rv}`, (check) => checkVersion(rv, obj(v, `versions.${rv}`), check)));
    }
    results.push(await runCase('versions/coverage', (check) => {
      const stable = Object.entries(versions).filter(([, v]) => isJsonObject(v) && v.stability === 'stable').map(([k]) => k);
      check.equal([...KNOWN_ROOM_VERSIONS].sort(), stable.sort(), 'stable versions');
      for (const rv of Object.keys(versions)) check.expect(ALL_ROOM_VERSIONS.includes(rv), `version ${rv} missing from our table`);
    }));
    const def = file.default_room_version_for_new_rooms;
    if (def !== undefined) {
      results.push(await runCase('default_room_version_for_new_rooms', (check) => {
        check.equal(DEFAULT_ROOM_VERSION, isJsonObject(def) ? def.value : def, 'default room version');
      }));
    }
    const matrix = file.feature_matrix_from_spec;
    if (isJsonObject(matrix)) {
      for (const [feature, list] of Object.entries(matrix)) {
        results.push(await runCase(`feature_matrix_from_spec/${feature}`, (check) => {
          const rule = FEATURES[feature];
          if (rule === undefined) throw new TypeError(`no rule mapped for feature "${feature}"`);
          const expected = (Array.isArray(list) ? list : []).map(String).sort();
          const actual = KNOWN_ROOM_VERSIONS.filter((rv) => getRoomVersionRules(rv)?.[rule] === true).sort();
          check.expect(jsonEqual(actual, expected), `${feature} (${rule}): ours ${actual.join(',')}, file ${expected.join(',')}`);
        }));
      }
    }
    return results;
  },
};
