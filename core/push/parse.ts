/**
 * @module Parsing push rules from JSON (spec v1.16, Client-Server API "Push Rules: API" and
 * "Push Rules"): the body of `PUT /pushrules/global/{kind}/{ruleId}` and of its `/actions`,
 * and rules read back from the `m.push_rules` account data.
 * https://spec.matrix.org/v1.16/client-server-api/#put_matrixclientv3pushrulesglobalkindruleid
 *
 * Invalid input throws: `TypeError` for a malformed body (a wrong or missing field), and
 * `RangeError` for a rule ID the kind does not allow. Callers turn both into 400s.
 */
import { MAX_CANONICAL_INT, isJsonObject, type JsonObject, type JsonValue } from '../canonical-json';
import { isValidRoomId, isValidUserId } from '../ids';
import {
  type ConditionalPushRule,
  type PatternPushRule,
  type PushAction,
  type PushCondition,
  type PushConditionValue,
  type PushRuleKind,
  type SimplePushRule,
} from './rules';

/**
 * A user-defined rule for one kind, as `PUT` creates it. The kind and the rule's shape go
 * together, so code that switches on `kind` gets the right rule type.
 */
export type NewPushRule =
  | { readonly kind: 'override' | 'underride'; readonly rule: ConditionalPushRule }
  | { readonly kind: 'content'; readonly rule: PatternPushRule }
  | { readonly kind: 'room' | 'sender'; readonly rule: SimplePushRule };

const bad = (what: string) => new TypeError(what);

/**
 * > Actions that have no parameters are represented as a string. Otherwise, they are
 * > represented as a dictionary with a key equal to their name and other keys as their
 * > parameters
 *
 * and (section "Historical Actions") `dont_notify` and `coalesce` "should both be considered
 * no-ops (ignored, not rejected) if received from a client": they are dropped here. A tweak
 * keeps only `set_tweak` and `value`; `highlight` takes a boolean and `sound` a string, as
 * the spec defines them.
 * @param value the `actions` field.
 * @returns the actions, historical ones removed.
 * @throws TypeError when `actions` is not an array of known actions.
 */
export function parsePushActions(value: JsonValue | undefined): PushAction[] {
  if (!Array.isArray(value)) throw bad('"actions" must be an array.');
  const out: PushAction[] = [];
  for (const a of value) {
    if (a === 'notify') out.push(a);
    else if (a === 'dont_notify' || a === 'coalesce') continue;
    else if (isJsonObject(a) && typeof a.set_tweak === 'string') out.push(tweakOf(a, a.set_tweak));
    else throw bad(`Unknown push rule action ${JSON.stringify(a)}.`);
  }
  return out;
}

function tweakOf(a: JsonObject, tweak: string): PushAction {
  const value = a.value;
  if (value === undefined) return { set_tweak: tweak };
  if (tweak === 'highlight' && typeof value !== 'boolean') throw bad('The "highlight" tweak takes a boolean value.');
  if (tweak === 'sound' && typeof value !== 'string') throw bad('The "sound" tweak takes a string value.');
  return { set_tweak: tweak, value };
}

const isNonCompound = (v: JsonValue | undefined): v is PushConditionValue =>
  v === null || typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isInteger(v) && Math.abs(v) <= MAX_CANONICAL_INT);

/** Spec (`room_member_count`): "A decimal integer optionally prefixed by one of, ==, <, >, >= or <=." */
const MEMBER_COUNT = /^(==|<=|>=|<|>)?[0-9]+$/;

/**
 * One condition (spec section "Conditions"). The spec's kinds are checked field by field;
 * a kind it does not define is kept as sent (it never matches; see `CustomPushCondition`).
 * @throws TypeError when the condition is not an object with a string `kind`, or a known
 * kind lacks a field it requires.
 */
export function parsePushCondition(value: JsonValue): PushCondition {
  if (!isJsonObject(value) || typeof value.kind !== 'string') throw bad('Each condition must be an object with a string "kind".');
  const kind = value.kind;
  const str = (key: string): string => {
    const v = value[key];
    if (typeof v !== 'string') throw bad(`A "${kind}" condition needs a string "${key}".`);
    return v;
  };
  switch (kind) {
    case 'event_match':
      return { kind, key: str('key'), pattern: str('pattern') };
    case 'event_property_is':
    case 'event_property_contains': {
      const key = str('key');
      const v = value.value;
      if (!isNonCompound(v)) throw bad(`A "${kind}" condition needs a "value" that is a string, an integer, a boolean or null.`);
      return { kind, key, value: v };
    }
    case 'contains_display_name':
      return { kind };
    case 'room_member_count': {
      const is = str('is');
      if (!MEMBER_COUNT.test(is)) throw bad('"is" must be a decimal integer, optionally prefixed by ==, <, >, >= or <=.');
      return { kind, is };
    }
    case 'sender_notification_permission':
      return { kind, key: str('key') };
    default:
      return { ...value, kind };
  }
}

/**
 * The `conditions` of an override or underride rule. Absent means none: "A rule with no
 * conditions always matches."
 * @throws TypeError when present but not an array of conditions.
 */
export function parsePushConditions(value: JsonValue | undefined): PushCondition[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw bad('"conditions" must be an array.');
  return value.map(parsePushCondition);
}

/**
 * Check the `{ruleId}` of a user-defined rule:
 *
 * > If the string starts with a dot ("."), the request MUST be rejected as this is reserved
 * > for server-default rules. Slashes ("/") and backslashes ("\\") are also not allowed.
 *
 * and a `room` rule's ID is the room ID it applies to, a `sender` rule's the user ID
 * (section "Push Rules": "The `rule_id` of Sender rules is always the Matrix user ID").
 * @throws RangeError naming what is wrong with the ID.
 */
export function checkUserRuleId(kind: PushRuleKind, ruleId: string): void {
  if (ruleId === '') throw new RangeError('The rule ID must not be empty.');
  if (ruleId.startsWith('.')) throw new RangeError('Rule IDs starting with "." are reserved for server-default rules.');
  if (ruleId.includes('/') || ruleId.includes('\\')) throw new RangeError('Rule IDs must not contain "/" or "\\".');
  if (kind === 'room' && !isValidRoomId(ruleId)) throw new RangeError('The ID of a room rule must be a room ID.');
  if (kind === 'sender' && !isValidUserId(ruleId)) throw new RangeError('The ID of a sender rule must be a user ID.');
}

/**
 * The rule a `PUT /pushrules/global/{kind}/{ruleId}` body describes, enabled ("When creating
 * push rules, they MUST be enabled by default"). `conditions` applies to override and
 * underride rules only and `pattern` to content rules only; fields of other kinds are ignored.
 * @param kind the `{kind}` path parameter.
 * @param ruleId the `{ruleId}` path parameter.
 * @param body the request body; `actions` is required.
 * @throws RangeError for a rule ID the kind does not allow (see `checkUserRuleId`).
 * @throws TypeError for a malformed body.
 */
export function newUserPushRule(kind: PushRuleKind, ruleId: string, body: JsonObject): NewPushRule {
  checkUserRuleId(kind, ruleId);
  const base = { rule_id: ruleId, default: false, enabled: true } as const;
  switch (kind) {
    case 'override':
    case 'underride': {
      const conditions = parsePushConditions(body.conditions);
      return { kind, rule: { ...base, conditions, actions: parsePushActions(body.actions) } };
    }
    case 'content': {
      if (typeof body.pattern !== 'string') throw bad('A content rule needs a string "pattern".');
      return { kind, rule: { ...base, pattern: body.pattern, actions: parsePushActions(body.actions) } };
    }
    case 'room':
    case 'sender':
      return { kind, rule: { ...base, actions: parsePushActions(body.actions) } };
  }
}

/** A rule as stored in `m.push_rules`, or undefined when it does not parse (it is then dropped). */
function storedBase(value: JsonValue): { rule_id: string; default: boolean; enabled: boolean; actions: PushAction[] } | undefined {
  if (!isJsonObject(value) || typeof value.rule_id !== 'string' || typeof value.enabled !== 'boolean') return undefined;
  try {
    return { rule_id: value.rule_id, default: value.default === true, enabled: value.enabled, actions: parsePushActions(value.actions) };
  } catch {
    return undefined;
  }
}

/** A stored override or underride rule (see `storedBase`). */
export function parseStoredConditionalRule(value: JsonValue): ConditionalPushRule | undefined {
  const base = storedBase(value);
  if (!base || !isJsonObject(value)) return undefined;
  try {
    return { ...base, conditions: parsePushConditions(value.conditions) };
  } catch {
    return undefined;
  }
}

/** A stored content rule (see `storedBase`). */
export function parseStoredPatternRule(value: JsonValue): PatternPushRule | undefined {
  const base = storedBase(value);
  return base && isJsonObject(value) && typeof value.pattern === 'string' ? { ...base, pattern: value.pattern } : undefined;
}

/** A stored room or sender rule (see `storedBase`). */
export function parseStoredSimpleRule(value: JsonValue): SimplePushRule | undefined {
  return storedBase(value);
}
