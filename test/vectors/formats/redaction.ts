/**
 * Runner for `matrix-redaction-vectors`: (1) our table's redaction rules agree
 * with the file's `rules_by_room_version`; (2) every case under every room
 * version it lists; and (3) every case under each OTHER room version whose
 * rules in the file are identical to a listed one (the expectation carries
 * over because redaction depends only on those rules).
 */
import { isJsonObject, type JsonObject, type JsonValue } from '../../../core/canonical-json';
import { redactEvent } from '../../../core/events/redaction';
import { getRoomVersionRules, type RedactionRules } from '../../../core/room-versions';
import type { CaseResult, VectorFormat } from '../types';
import { caseId, type Checks, jsonEqual, listOf, obj, recogniseBy, runCase, str } from './core-vector-helpers';

const sortedSet = (v: readonly JsonValue[]): string[] => [...new Set(v.map((x) => str(x, 'key')))].sort();

/**
 * Compares our rules with the file's. Our nested paths (`a.b`) are compared
 * with the file's prose field `<type>_<a>` ("removed", or a description that
 * names the kept path).
 */
function compareRules(rv: string, ours: RedactionRules, theirs: JsonObject, check: Checks): void {
  const top = listOf(theirs, 'preserved_top_level_keys');
  check.equal([...ours.preserved_top_level_keys].sort(), sortedSet(top), `v${rv} preserved_top_level_keys`);
  const theirContent = obj(theirs.preserved_content_keys, 'preserved_content_keys');
  const types = new Set([...Object.keys(ours.preserved_content_keys), ...Object.keys(theirContent)]);
  for (const type of types) {
    const mine = ours.preserved_content_keys[type];
    const other = theirContent[type];
    if (mine === undefined || other === undefined) {
      check.expect(false, `v${rv} ${type}: only in ${mine === undefined ? 'the vector file' : 'our table'}`);
      continue;
    }
    if (mine === 'ALL' || other === 'ALL') {
      check.equal(mine, other, `v${rv} ${type} content keys`);
      continue;
    }
    const otherList = sortedSet(Array.isArray(other) ? other : []);
    const nested = mine.filter((k) => k.includes('.') && !otherList.includes(k));
    check.equal(mine.filter((k) => !nested.includes(k)).sort(), otherList, `v${rv} ${type} content keys`);
    const heads = new Set(nested.map((k) => k.split('.')[0] ?? ''));
    for (const [field, prose] of Object.entries(theirs)) {
      if (field.startsWith(`${type}_`) && typeof prose === 'string') heads.add(field.slice(type.length + 1));
    }
    for (const head of heads) {
      const prose = theirs[`${type}_${head}`];
      const paths = nested.filter((k) => k.startsWith(`${head}.`));
      if (typeof prose !== 'string') {
        check.expect(false, `v${rv} ${type}: our nested keys ${paths.join(', ')} have no rule in the file`);
      } else if (/^removed/i.test(prose)) {
        check.expect(paths.length === 0, `v${rv} ${type}: file says ${head} is removed, we keep ${paths.join(', ')}`);
      } else {
        check.expect(paths.length > 0 && paths.every((p) => prose.includes(p)), `v${rv} ${type}: file keeps "${prose}", we keep [${paths.join(', ')}]`);
      }
    }
  }
}

export const format: VectorFormat = {
  name: 'redaction',
  recognise: (fileName, json) => recogniseBy('matrix-redaction-vectors', fileName, json, ['redaction.json']),
  async run(json) {
    const file = obj(json, 'vector file');
    const results: CaseResult[] = [];
    const fileRules = isJsonObject(file.rules_by_room_version) ? file.rules_by_room_version : {};
    for (const [rv, theirs] of Object.entries(fileRules)) {
      results.push(await runCase(`rules_by_room_version/${rv}`, (check) => {
        const ours = getRoomVersionRules(rv);
        if (!ours) throw new TypeError(`unknown room version ${rv}`);
        compareRules(rv, ours.redaction, obj(theirs, `rules_by_room_version.${rv}`), check);
      }));
    }
    for (const [i, c] of listOf(file, 'cases').entries()) {
      const id = caseId(c, `cases[${i}]`);
      let expectedBy: JsonObject;
      let input: JsonObject;
      try {
        input = obj(obj(c, 'case').input, 'input');
        expectedBy = obj(obj(c, 'case').expected_by_room_version, 'expected_by_room_version');
      } catch (e) {
        results.push({ id, ok: false, detail: `cannot run: ${(e as Error).message}` });
        continue;
      }
      if (Object.keys(expectedBy).length === 0) results.push({ id, ok: false, detail: 'case has no expectation' });
      const plan = new Map<string, { expected: JsonValue; from: string }>();
      for (const [rv, expected] of Object.entries(expectedBy)) plan.set(rv, { expected, from: rv });
      for (const rv of Object.keys(fileRules)) {
        if (plan.has(rv)) continue;
        const twin = Object.keys(expectedBy).find((listed) => fileRules[listed] !== undefined && jsonEqual(fileRules[listed], fileRules[rv]));
        if (twin !== undefined) plan.set(rv, { expected: expectedBy[twin] as JsonValue, from: twin });
      }
      for (const [rv, { expected, from }] of plan) {
        const label = from === rv ? `${id}@v${rv}` : `${id}@v${rv} (rules identical to v${from})`;
        results.push(await runCase(label, (check) => {
          const rules = getRoomVersionRules(rv);
          if (!rules) throw new TypeError(`unknown room version ${rv}`);
          check.equal(redactEvent(input, rules), expected, 'redacted event');
        }));
      }
    }
    return results;
  },
};
