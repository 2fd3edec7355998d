/** Helpers shared by the core format modules (no case ids anywhere). */
import { isJsonObject, type JsonObject, type JsonValue } from '../../../core/canonical-json';
import type { CaseResult } from '../types';

/** True when the file's `format` field equals `format`, or (no format field) its name matches. */
export function recogniseBy(format: string, fileName: string, json: unknown, fileNames: readonly string[]): boolean {
  if (isJsonObject(json) && typeof json.format === 'string') return json.format === format;
  const base = fileName.split(/[\\/]/).pop() ?? fileName;
  return fileNames.includes(base);
}

/** JSON equality ignoring key order. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== 'object') return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((v, i) => jsonEqual(v, b[i]));
  }
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  const ak = Object.keys(ao);
  if (ak.length !== Object.keys(bo).length) return false;
  return ak.every((k) => Object.prototype.hasOwnProperty.call(bo, k) && jsonEqual(ao[k], bo[k]));
}

/** A short JSON rendering for failure details. */
export function show(v: unknown): string {
  const s = JSON.stringify(v);
  return s === undefined ? String(v) : s.length > 300 ? s.slice(0, 300) + '…' : s;
}

/** The case's `id`, or a positional fallback. */
export function caseId(c: unknown, fallback: string): string {
  return isJsonObject(c) && typeof c.id === 'string' ? c.id : fallback;
}

/** The list at `obj[key]`, or [] when absent; throws when present but not a list. */
export function listOf(obj: JsonObject, key: string): JsonValue[] {
  const v = obj[key];
  if (v === undefined) return [];
  if (!Array.isArray(v)) throw new TypeError(`"${key}" must be a list`);
  return v;
}

/** Collects failures of a check list into one result. */
export class Checks {
  private readonly failures: string[] = [];
  /** Records a failure unless `ok`. */
  expect(ok: boolean, what: string): void {
    if (!ok) this.failures.push(what);
  }
  /** Records a failure when `actual` and `expected` differ as JSON. */
  equal(actual: unknown, expected: unknown, what: string): void {
    if (!jsonEqual(actual, expected)) this.failures.push(`${what}: got ${show(actual)}, expected ${show(expected)}`);
  }
  /** The result for case `id`. */
  result(id: string): CaseResult {
    return this.failures.length === 0 ? { id, ok: true } : { id, ok: false, detail: this.failures.join('; ') };
  }
}

/** Runs one case, turning exceptions into a failed result. */
export async function runCase(id: string, fn: (checks: Checks) => void | Promise<void>): Promise<CaseResult> {
  const checks = new Checks();
  try {
    await fn(checks);
  } catch (e) {
    return { id, ok: false, detail: `cannot run: ${(e as Error).message}` };
  }
  return checks.result(id);
}

/** Narrows to a JSON object or throws a TypeError naming `what`. */
export function obj(v: unknown, what: string): JsonObject {
  if (!isJsonObject(v)) throw new TypeError(`${what} must be an object`);
  return v;
}

/** Narrows to a string or throws a TypeError naming `what`. */
export function str(v: unknown, what: string): string {
  if (typeof v !== 'string') throw new TypeError(`${what} must be a string`);
  return v;
}
