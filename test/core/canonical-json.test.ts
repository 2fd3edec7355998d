import { describe, expect, it } from 'vitest';
import { cloneJson, compareCodePoints, encodeCanonicalJson, parseJson, validateStrictJsonText, type JsonValue } from '../../core/canonical-json';
import { utf8Encode } from '../../core/utf8';

describe('encodeCanonicalJson', () => {
  it('sorts keys by code point, not UTF-16 unit', () => {
    expect(encodeCanonicalJson({ '\uFFFF': 1, '\u{10000}': 2, a: 0 })).toBe('{"a":0,"\uFFFF":1,"\u{10000}":2}');
    expect(['\u{10000}', '\uFFFF'].sort(compareCodePoints)).toEqual(['\uFFFF', '\u{10000}']);
  });
  it('uses the shortest escapes and lowercase \\u00XX', () => {
    expect(encodeCanonicalJson('\b\t\n\f\r"\\\u0000\u001f\u000b')).toBe('"\\b\\t\\n\\f\\r\\"\\\\\\u0000\\u001f\\u000b"');
    expect(encodeCanonicalJson('/\u007f\u2028\u2029é')).toBe('"/\u007f\u2028\u2029é"');
  });
  it('writes -0 as 0 and rejects non-integers and unsafe integers', () => {
    expect(encodeCanonicalJson({ a: -0 })).toBe('{"a":0}');
    expect(() => encodeCanonicalJson(1.5)).toThrow(RangeError);
    expect(() => encodeCanonicalJson(Number.NaN)).toThrow(RangeError);
    expect(() => encodeCanonicalJson(2 ** 53)).toThrow(RangeError);
    expect(encodeCanonicalJson([-(2 ** 53 - 1), 2 ** 53 - 1])).toBe('[-9007199254740991,9007199254740991]');
  });
  it('rejects lone surrogates in values and keys', () => {
    expect(() => encodeCanonicalJson('\ud800')).toThrow(RangeError);
    expect(() => encodeCanonicalJson({ '\udc00x': 1 })).toThrow(RangeError);
    expect(() => utf8Encode('a\ud800')).toThrow(RangeError);
  });
  it('rejects non-JSON values with TypeError', () => {
    expect(() => encodeCanonicalJson(undefined as unknown as JsonValue)).toThrow(TypeError);
    expect(() => encodeCanonicalJson({ d: new Date(0) } as unknown as JsonValue)).toThrow(TypeError);
    expect(() => encodeCanonicalJson(1n as unknown as JsonValue)).toThrow(TypeError);
  });
  it('keeps a "__proto__" key as data', () => {
    const v = parseJson('{"__proto__":{"x":1},"a":2}');
    expect(encodeCanonicalJson(v)).toBe('{"__proto__":{"x":1},"a":2}');
    expect(encodeCanonicalJson(cloneJson(v))).toBe('{"__proto__":{"x":1},"a":2}');
  });
  it('rejects cycles via the depth limit', () => {
    const a: JsonValue[] = [];
    a.push(a);
    expect(() => encodeCanonicalJson(a)).toThrow(RangeError);
  });
});

describe('validateStrictJsonText', () => {
  const reject = (text: string, kind: string) => {
    const r = validateStrictJsonText(text);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.kind).toBe(kind);
  };
  it('rejects floats, exponents, out-of-range integers and -0', () => {
    reject('{"a":1.0}', 'float');
    reject('[1E2]', 'exponent');
    reject('{"a":-9007199254740992}', 'out_of_range');
    reject('{"a":123456789012345678901234}', 'out_of_range');
    reject('{"a":-0}', 'negative_zero');
    reject('{"a":', 'invalid_json');
  });
  it('ignores digits, dots and exponents inside strings (with escapes)', () => {
    expect(validateStrictJsonText('{"1.5e10":"9007199254740993 \\" 1.5","b":[0,-1,9007199254740991]}')).toEqual({ ok: true });
    expect(validateStrictJsonText('{"a\\\\":1}')).toEqual({ ok: true });
    expect(validateStrictJsonText(' [ -9007199254740991 , 0 ] ')).toEqual({ ok: true });
  });
});
