/**
 * Request bodies: `readJsonBody` parses the body as a JSON object (`400 M_NOT_JSON` when it is
 * not JSON at all, `400 M_BAD_JSON` when it is JSON of the wrong shape), and the field readers
 * check one field each, naming it in the `M_BAD_JSON` message. Handlers read wire fields only
 * through these, so no wire object is cast (`as`) into shape.
 */
import type { Context } from 'hono';
import { isJsonObject, type JsonObject } from '../../core/canonical-json';
import { MatrixError } from './errors';

/** The request body as a JSON object; an empty body counts as `{}` (clients omit it on POSTs without fields). */
export async function readJsonBody(c: Context): Promise<JsonObject> {
  const text = await c.req.text();
  if (text.trim() === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new MatrixError(400, 'M_NOT_JSON', 'Content not JSON.');
  }
  if (!isJsonObject(value)) throw new MatrixError(400, 'M_BAD_JSON', 'The request body must be a JSON object.');
  return value;
}

const badJson = (key: string, what: string) => new MatrixError(400, 'M_BAD_JSON', `"${key}" must be ${what}.`);

export function optionalString(body: JsonObject, key: string): string | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw badJson(key, 'a string');
  return v;
}

export function requiredString(body: JsonObject, key: string): string {
  const v = optionalString(body, key);
  if (v === undefined) throw new MatrixError(400, 'M_MISSING_PARAM', `"${key}" is required.`);
  return v;
}

export function optionalBoolean(body: JsonObject, key: string): boolean | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw badJson(key, 'a boolean');
  return v;
}

/** An integer (a JSON number without fraction; canonical JSON's range). */
export function optionalInteger(body: JsonObject, key: string): number | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw badJson(key, 'an integer');
  return v;
}

export function optionalObject(body: JsonObject, key: string): JsonObject | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (!isJsonObject(v)) throw badJson(key, 'an object');
  return v;
}

export function requiredStringArray(body: JsonObject, key: string): string[] {
  const v = body[key];
  if (v === undefined) throw new MatrixError(400, 'M_MISSING_PARAM', `"${key}" is required.`);
  if (!Array.isArray(v) || !v.every((x): x is string => typeof x === 'string')) throw badJson(key, 'an array of strings');
  return v;
}
