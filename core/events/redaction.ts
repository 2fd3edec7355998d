/**
 * Event redaction (spec "Redactions", per room version). Driven entirely by
 * `rules.redaction`: top-level keys not listed are removed (so `unsigned`
 * always goes), and `content` keeps only the listed keys of the event type,
 * or everything for "ALL". A listed key `a.b` is a nested path (room v11
 * keeps `third_party_invite.signed` of `m.room.member`): it is kept only when
 * every parent on the path is an object containing the next key.
 */
import { cloneJson, isJsonObject, setOwn, type JsonObject, type JsonValue } from '../canonical-json';
import type { RedactionRules, RoomVersionRules } from '../room-versions';

/** Returns a redacted deep copy of `event`; `content` is always present. */
export function redactEvent(event: JsonObject, rules: RoomVersionRules | { redaction: RedactionRules }): JsonObject {
  if (!isJsonObject(event)) throw new TypeError('redactEvent expects a JSON object');
  const r = rules.redaction;
  const out: JsonObject = {};
  for (const key of r.preserved_top_level_keys) {
    if (key === 'content') continue;
    const v = event[key];
    if (v !== undefined && Object.prototype.hasOwnProperty.call(event, key)) setOwn(out, key, cloneJson(v));
  }
  out.content = redactContent(event, r);
  return out;
}

function redactContent(event: JsonObject, r: RedactionRules): JsonObject {
  const content = event.content;
  if (!isJsonObject(content)) return {};
  const type = event.type;
  const keep = typeof type === 'string' && Object.prototype.hasOwnProperty.call(r.preserved_content_keys, type)
    ? r.preserved_content_keys[type]
    : undefined;
  if (keep === undefined) return {};
  if (keep === 'ALL') return cloneJson(content);
  const out: JsonObject = {};
  for (const path of keep) copyPath(content, out, path.split('.'));
  return out;
}

function copyPath(from: JsonObject, to: JsonObject, path: readonly string[]): void {
  const [head, ...rest] = path;
  if (head === undefined || !Object.prototype.hasOwnProperty.call(from, head)) return;
  const value = from[head] as JsonValue;
  if (rest.length === 0) {
    setOwn(to, head, cloneJson(value));
    return;
  }
  if (!isJsonObject(value)) return;
  const existing = to[head];
  const child: JsonObject = isJsonObject(existing) ? existing : {};
  copyPath(value, child, rest);
  // Only materialise the parent when something below it was kept.
  if (Object.keys(child).length > 0) setOwn(to, head, child);
}
