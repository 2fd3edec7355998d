/**
 * Canonical JSON (spec appendix "Canonical JSON") and the strict number rules
 * that room versions 6+ apply to received events (spec "Room Versions" /
 * room v6 "Canonical JSON").
 */
import { utf8Encode } from './utf8';

/** A JSON value as produced by JSON.parse. Wire objects keep their snake_case keys. */
export type JsonValue = null | boolean | number | string | JsonValue[] | JsonObject;
/** A JSON object. */
export type JsonObject = { [key: string]: JsonValue };

/** Largest integer canonical JSON allows: 2^53 − 1 (appendix "Canonical JSON"). */
export const MAX_CANONICAL_INT = Number.MAX_SAFE_INTEGER;
/** Nesting deeper than this is rejected rather than risking a stack overflow (and cycles). */
export const MAX_JSON_DEPTH = 512;

/** True for a plain JSON object (not an array, not a class instance). */
export function isJsonObject(value: unknown): value is JsonObject {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * Compares two strings by Unicode code point. JavaScript's default sort
 * compares UTF-16 code units, which puts U+10000.. (surrogates D800–DFFF)
 * before U+E000–U+FFFF; the spec orders keys by code point (equivalently by
 * UTF-8 bytes), so units at or above D800 are remapped before comparing.
 */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return remap(x) - remap(y);
  }
  return a.length - b.length;
}

function remap(unit: number): number {
  if (unit >= 0xd800 && unit <= 0xdfff) return unit + 0x2000;
  if (unit >= 0xe000) return unit - 0x800;
  return unit;
}

/**
 * Encodes a value as canonical JSON text: keys sorted by code point, no
 * insignificant whitespace, integers only (−0 → 0), shortest escapes.
 * Throws RangeError for non-integers, integers outside ±(2^53−1), lone
 * surrogates and excessive depth; TypeError for non-JSON values.
 */
export function encodeCanonicalJson(value: JsonValue): string {
  const parts: string[] = [];
  write(value, parts, 0);
  return parts.join('');
}

/** Canonical JSON as UTF-8 bytes: the input to hashing and signing. */
export function encodeCanonicalJsonBytes(value: JsonValue): Uint8Array {
  return utf8Encode(encodeCanonicalJson(value));
}

function write(value: unknown, out: string[], depth: number): void {
  if (depth > MAX_JSON_DEPTH) throw new RangeError(`JSON nesting exceeds ${MAX_JSON_DEPTH} levels`);
  if (value === null) { out.push('null'); return; }
  switch (typeof value) {
    case 'boolean': out.push(value ? 'true' : 'false'); return;
    case 'number': out.push(encodeNumber(value)); return;
    case 'string': out.push(encodeString(value)); return;
    case 'object': break;
    default: throw new TypeError(`canonical JSON cannot encode a value of type ${typeof value}`);
  }
  if (Array.isArray(value)) {
    out.push('[');
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out.push(',');
      write(value[i], out, depth + 1);
    }
    out.push(']');
    return;
  }
  if (!isJsonObject(value)) throw new TypeError('canonical JSON can only encode plain objects and arrays');
  const keys = Object.keys(value).sort(compareCodePoints);
  out.push('{');
  keys.forEach((key, i) => {
    if (i > 0) out.push(',');
    out.push(encodeString(key), ':');
    write(value[key], out, depth + 1);
  });
  out.push('}');
}

function encodeNumber(n: number): string {
  if (!Number.isInteger(n)) throw new RangeError(`canonical JSON allows integers only, got ${n}`);
  if (!Number.isSafeInteger(n)) throw new RangeError(`integer ${n} is outside [-(2^53)+1, 2^53-1]`);
  // Object.is(-0, 0) is false; String(-0) is already "0", but be explicit.
  return n === 0 ? '0' : String(n);
}

const SHORT_ESCAPES: Readonly<Record<number, string>> = {
  0x08: '\\b', 0x09: '\\t', 0x0a: '\\n', 0x0c: '\\f', 0x0d: '\\r', 0x22: '\\"', 0x5c: '\\\\',
};

function encodeString(s: string): string {
  let out = '"';
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdfff) {
      const isHigh = c <= 0xdbff;
      const next = i + 1 < s.length ? s.charCodeAt(i + 1) : 0;
      if (!isHigh || next < 0xdc00 || next > 0xdfff) {
        throw new RangeError(`lone surrogate U+${c.toString(16).toUpperCase()} at index ${i} is not a Unicode scalar value`);
      }
      i++;
      continue;
    }
    if (c >= 0x20 && c !== 0x22 && c !== 0x5c) continue;
    out += s.slice(start, i);
    out += SHORT_ESCAPES[c] ?? '\\u00' + c.toString(16).padStart(2, '0');
    start = i + 1;
  }
  return out + s.slice(start) + '"';
}

/** Parses JSON text into a JsonValue; throws TypeError on invalid JSON. */
export function parseJson(text: string): JsonValue {
  if (typeof text !== 'string') throw new TypeError('parseJson expects a string');
  try {
    return JSON.parse(text) as JsonValue;
  } catch (e) {
    throw new TypeError(`invalid JSON: ${(e as Error).message}`);
  }
}

/** Why strict validation rejected a text. */
export type StrictJsonRejection = 'invalid_json' | 'float' | 'exponent' | 'out_of_range' | 'negative_zero';

/** Result of {@link validateStrictJsonText}. */
export type StrictJsonResult =
  | { ok: true }
  | { ok: false; kind: StrictJsonRejection; reason: string };

/**
 * Checks the RAW text of a received event against the room v6+ rules: no
 * fractions, no exponents, integers within ±(2^53−1). JSON.parse cannot be
 * used alone because `1e5` and `1.0` parse to integers. `-0` is rejected too
 * (gomatrixserverlib behaviour; Synapse accepts it; the spec forbids it in
 * canonical form), which is the conservative choice for a value that can
 * never appear in a correctly signed event.
 */
export function validateStrictJsonText(text: string): StrictJsonResult {
  if (typeof text !== 'string') throw new TypeError('validateStrictJsonText expects a string');
  try {
    JSON.parse(text);
  } catch (e) {
    return { ok: false, kind: 'invalid_json', reason: `invalid JSON: ${(e as Error).message}` };
  }
  // The text is valid JSON, so a number token starts at '-' or a digit that
  // is outside a string literal; strings are skipped with their escapes.
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      for (i++; i < text.length; i++) {
        const d = text.charCodeAt(i);
        if (d === 0x5c) i++;
        else if (d === 0x22) break;
      }
      continue;
    }
    if (c !== 0x2d && (c < 0x30 || c > 0x39)) continue;
    let j = i;
    while (j < text.length && /[-+0-9.eE]/.test(text[j] as string)) j++;
    const token = text.slice(i, j);
    const failure = checkNumberToken(token, i);
    if (failure) return failure;
    i = j - 1;
  }
  return { ok: true };
}

function checkNumberToken(token: string, at: number): StrictJsonResult | undefined {
  if (token.includes('.')) return { ok: false, kind: 'float', reason: `number ${token} at offset ${at} has a fraction` };
  if (/[eE]/.test(token)) return { ok: false, kind: 'exponent', reason: `number ${token} at offset ${at} uses an exponent` };
  if (token === '-0') return { ok: false, kind: 'negative_zero', reason: `-0 at offset ${at} is not canonical` };
  const digits = token.startsWith('-') ? token.slice(1) : token;
  // More than 16 digits is always out of range; up to 16, Number() rounding is
  // monotonic and 2^53 is exact, so the comparison below is exact enough.
  if (digits.length > 16 || Math.abs(Number(token)) > MAX_CANONICAL_INT) {
    return { ok: false, kind: 'out_of_range', reason: `integer ${token} at offset ${at} is outside [-(2^53)+1, 2^53-1]` };
  }
  return undefined;
}

/** Deep-copies a JSON value, defining keys as own properties (safe for "__proto__"). */
export function cloneJson<T extends JsonValue>(value: T): T {
  return cloneInner(value, 0) as T;
}

function cloneInner(value: JsonValue, depth: number): JsonValue {
  if (depth > MAX_JSON_DEPTH) throw new RangeError(`JSON nesting exceeds ${MAX_JSON_DEPTH} levels`);
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => cloneInner(v, depth + 1));
  const out: JsonObject = {};
  for (const key of Object.keys(value)) setOwn(out, key, cloneInner(value[key] as JsonValue, depth + 1));
  return out;
}

/** Sets an own enumerable property, even for the key "__proto__". */
export function setOwn(obj: JsonObject, key: string, value: JsonValue): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}
