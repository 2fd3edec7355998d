/**
 * Runner for `matrix-canonical-json-vectors`: encode cases (bytes must match),
 * must-fail cases, and strict (room v6+) received-event validation.
 */
import { encodeCanonicalJson, validateStrictJsonText, type JsonValue } from '../../../core/canonical-json';
import { getRoomVersionRules } from '../../../core/room-versions';
import { bytesToHex, utf8Encode } from '../../../core/utf8';
import type { CaseResult, VectorFormat } from '../types';
import { caseId, listOf, obj, recogniseBy, runCase, str } from './core-vector-helpers';

/**
 * Whether encoding the text's value canonically must fail. The encoder sees
 * parsed values, where `1.0` is already 1, so fractions are also detected
 * on the raw text.
 */
function encodingFails(text: string): boolean {
  try {
    encodeCanonicalJson(JSON.parse(text) as JsonValue);
  } catch {
    return true;
  }
  const strict = validateStrictJsonText(text);
  return !strict.ok && (strict.kind === 'float' || strict.kind === 'invalid_json' || strict.kind === 'out_of_range');
}

export const format: VectorFormat = {
  name: 'canonical-json',
  recognise: (fileName, json) => recogniseBy('matrix-canonical-json-vectors', fileName, json, ['canonical_json.json']),
  async run(json) {
    const file = obj(json, 'vector file');
    const results: CaseResult[] = [];
    for (const [i, c] of listOf(file, 'encode_cases').entries()) {
      results.push(await runCase(caseId(c, `encode_cases[${i}]`), (check) => {
        const o = obj(c, 'case');
        const text = str(o.input_json_text, 'input_json_text');
        const encoded = encodeCanonicalJson(JSON.parse(text) as JsonValue);
        if (o.expected_canonical !== undefined) check.equal(encoded, str(o.expected_canonical, 'expected_canonical'), 'canonical text');
        if (o.expected_utf8_hex !== undefined) check.equal(bytesToHex(utf8Encode(encoded)), str(o.expected_utf8_hex, 'expected_utf8_hex').toLowerCase(), 'UTF-8 bytes');
        check.expect(o.expected_canonical !== undefined || o.expected_utf8_hex !== undefined, 'case has no expectation');
      }));
    }
    for (const [i, c] of listOf(file, 'encode_must_fail').entries()) {
      results.push(await runCase(caseId(c, `encode_must_fail[${i}]`), (check) => {
        const text = str(obj(c, 'case').input_json_text, 'input_json_text');
        check.expect(encodingFails(text), 'canonical encoding succeeded but must fail');
      }));
    }
    const strictSection = file.strict_event_validation;
    const strictCases = strictSection === undefined ? [] : listOf(obj(strictSection, 'strict_event_validation'), 'cases');
    for (const [i, c] of strictCases.entries()) {
      results.push(await runCase(caseId(c, `strict_event_validation.cases[${i}]`), (check) => {
        const o = obj(c, 'case');
        const text = str(o.input_json_text, 'input_json_text');
        const expected = obj(o.expected_valid_by_room_version, 'expected_valid_by_room_version');
        check.expect(Object.keys(expected).length > 0, 'case has no expectation');
        for (const [rv, valid] of Object.entries(expected)) {
          const rules = getRoomVersionRules(rv);
          if (!rules) throw new TypeError(`unknown room version ${rv}`);
          let actual: boolean;
          let why = '';
          if (rules.strict_canonical_json) {
            const r = validateStrictJsonText(text);
            actual = r.ok;
            if (!r.ok) why = ` (${r.reason})`;
          } else {
            try {
              JSON.parse(text);
              actual = true;
            } catch {
              actual = false;
            }
          }
          check.expect(actual === valid, `room v${rv}: valid=${actual}${why}, expected ${String(valid)}`);
        }
      }));
    }
    return results;
  },
};
