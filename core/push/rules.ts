/**
 * @module Push rule wire types (spec v1.16, Client-Server API "Push Notifications" / "Push
 * Rules"), the five rule kinds in evaluation order, and lookup of one rule in a ruleset.
 * https://spec.matrix.org/v1.16/client-server-api/#push-rules
 *
 * Field names are the spec's (`rule_id`, `set_tweak`); these objects go over the wire as they are.
 */
import type { JsonValue } from '../canonical-json';

/**
 * > The different `kind`s of rule, in the order that they are checked, are: override, content,
 * > room, sender, underride.
 */
export const PUSH_RULE_KINDS = ['override', 'content', 'room', 'sender', 'underride'] as const;

/** One of the five rule kinds. */
export type PushRuleKind = (typeof PUSH_RULE_KINDS)[number];

/** True when `s` names a rule kind (the `{kind}` path parameter of the push rules API). */
export function isPushRuleKind(s: string): s is PushRuleKind {
  return (PUSH_RULE_KINDS as readonly string[]).includes(s);
}

/**
 * > only supports non-compound canonical JSON values: strings, integers in the range of
 * > `[-(2**53)+1, (2**53)-1]`, booleans, and `null`.
 */
export type PushConditionValue = string | number | boolean | null;

/** The conditions the spec defines (section "Conditions"). */
export type KnownPushCondition =
  | { readonly kind: 'event_match'; readonly key: string; readonly pattern: string }
  | { readonly kind: 'event_property_is'; readonly key: string; readonly value: PushConditionValue }
  | { readonly kind: 'event_property_contains'; readonly key: string; readonly value: PushConditionValue }
  | { readonly kind: 'contains_display_name' }
  | { readonly kind: 'room_member_count'; readonly is: string }
  | { readonly kind: 'sender_notification_permission'; readonly key: string };

/** The `kind`s of `KnownPushCondition`. */
export const KNOWN_CONDITION_KINDS: readonly KnownPushCondition['kind'][] = [
  'event_match', 'event_property_is', 'event_property_contains', 'contains_display_name', 'room_member_count', 'sender_notification_permission',
];

/**
 * A condition of a kind this server does not know (a newer spec's or an MSC's), kept as the
 * client sent it:
 *
 * > Unrecognised conditions MUST NOT match any events, effectively making the push rule
 * > disabled.
 */
export type CustomPushCondition = { readonly kind: string; readonly [key: string]: JsonValue };

/** A rule condition: one the spec defines, or an unknown one kept as sent. */
export type PushCondition = KnownPushCondition | CustomPushCondition;

/** True when `c` is one of the spec's conditions (narrows away `CustomPushCondition`). */
export function isKnownCondition(c: PushCondition): c is KnownPushCondition {
  return (KNOWN_CONDITION_KINDS as readonly string[]).includes(c.kind);
}

/**
 * A tweak (`{ "set_tweak": "sound", "value": "default" }`). A `highlight` tweak without `value`
 * means `true`; other tweaks pass through the homeserver to the push gateway unchanged, so
 * their values may be any JSON.
 */
export type SetTweakAction = { readonly set_tweak: string; readonly value?: JsonValue };

/**
 * > Actions that have no parameters are represented as a string. Otherwise, they are represented
 * > as a dictionary with a key equal to their name and other keys as their parameters.
 *
 * The historical `dont_notify` and `coalesce` actions are not part of the type: the spec says
 * they MUST be ignored (stripped), which the parser of user-defined rules will do.
 */
export type PushAction = 'notify' | SetTweakAction;

type RuleBase = {
  readonly rule_id: string;
  /** Whether this is a server-default rule (`rule_id` starting with "."). */
  readonly default: boolean;
  readonly enabled: boolean;
  readonly actions: readonly PushAction[];
};

/** An `override` or `underride` rule: all `conditions` must hold (none: always matches). */
export type ConditionalPushRule = RuleBase & { readonly conditions: readonly PushCondition[] };
/** A `content` rule: a glob `pattern` against `content.body`, at word boundaries. */
export type PatternPushRule = RuleBase & { readonly pattern: string };
/** A `room` or `sender` rule: its `rule_id` (a room ID or user ID) is its condition. */
export type SimplePushRule = RuleBase;

/** Any push rule, as the API returns it. */
export type PushRule = ConditionalPushRule | PatternPushRule | SimplePushRule;

/** A ruleset (the spec's `Ruleset`, the value of `global`), one list per kind, in priority order. */
export type PushRuleset = {
  readonly override: readonly ConditionalPushRule[];
  readonly content: readonly PatternPushRule[];
  readonly room: readonly SimplePushRule[];
  readonly sender: readonly SimplePushRule[];
  readonly underride: readonly ConditionalPushRule[];
};

/**
 * The rule of `kind` with `ruleId` in a ruleset.
 * @returns the rule, or undefined when the ruleset has none by that ID.
 */
export function findPushRule(ruleset: PushRuleset, kind: PushRuleKind, ruleId: string): PushRule | undefined {
  const rules: readonly PushRule[] = ruleset[kind];
  return rules.find((r) => r.rule_id === ruleId);
}
