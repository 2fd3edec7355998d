/**
 * @module A user's push ruleset: the predefined rules merged with the user's own, kept as the
 * global account data `m.push_rules`, and the changes the push rules API makes to it
 * (spec v1.16, Client-Server API "Push Rules: API").
 * https://spec.matrix.org/v1.16/client-server-api/#push-rules-api
 *
 * The account data holds the whole ruleset, `{"global": Ruleset}`, as Synapse keeps it and as
 * clients read it from /sync. Only the user's part is taken from it, though: their own rules
 * (`default: false`) and the `enabled` and `actions` they set on server-default rules. The
 * server-default rules themselves always come from `predefinedRuleset`, so a server that
 * changes its defaults changes them for every user.
 *
 * Order, from section "Predefined Rules": server-default rules "operate at a lower priority
 * than 'user-defined rules', except for the `.m.rule.master` rule which has always a higher
 * priority than any other rule". So each kind lists the user's rules first, then the
 * server-default ones, except that `.m.rule.master` leads the override rules.
 */
import { isJsonObject, type JsonObject, type JsonValue } from '../canonical-json';
import { predefinedRuleset } from './predefined-rules';
import { parseStoredConditionalRule, parseStoredPatternRule, parseStoredSimpleRule, type NewPushRule } from './parse';
import { PUSH_RULE_KINDS, type PushAction, type PushCondition, type PushRule, type PushRuleKind, type PushRuleset } from './rules';

/** The account-data type that holds the ruleset (as Synapse and matrix-js-sdk use it). */
export const PUSH_RULES_EVENT_TYPE = 'm.push_rules';

const MASTER_RULE_ID = '.m.rule.master';

/** A change the push rules API makes, as one value (it crosses RPC to the user's object). */
export type PushRuleUpdate =
  /** Create or update a user-defined rule, placed by `before` or `after` (user rule IDs). */
  | { readonly op: 'put'; readonly rule: NewPushRule; readonly before?: string; readonly after?: string }
  | { readonly op: 'delete'; readonly kind: PushRuleKind; readonly rule_id: string }
  | { readonly op: 'set_enabled'; readonly kind: PushRuleKind; readonly rule_id: string; readonly enabled: boolean }
  | { readonly op: 'set_actions'; readonly kind: PushRuleKind; readonly rule_id: string; readonly actions: readonly PushAction[] };

/** The ruleset after an update, or why it was refused: no such rule, or an invalid request. */
export type PushRuleUpdateResult =
  | { readonly ok: true; readonly ruleset: PushRuleset }
  | { readonly ok: false; readonly reason: 'not_found' | 'invalid'; readonly error: string };

/** One kind's rules: the user's first, then the server's, with `.m.rule.master` leading override. */
function assemble<R extends PushRule>(kind: PushRuleKind, user: readonly R[], server: readonly R[]): R[] {
  if (kind !== 'override') return [...user, ...server];
  return [...server.filter((r) => r.rule_id === MASTER_RULE_ID), ...user, ...server.filter((r) => r.rule_id !== MASTER_RULE_ID)];
}

/** One kind merged from the predefined rules and the stored ones (see the module comment). */
function mergeKind<R extends PushRule>(kind: PushRuleKind, predefined: readonly R[], stored: readonly R[]): R[] {
  const user = stored.filter((r) => !r.default && !r.rule_id.startsWith('.'));
  const changed = new Map(stored.filter((r) => r.default).map((r) => [r.rule_id, r]));
  const server = predefined.map((r) => {
    const c = changed.get(r.rule_id);
    return c ? { ...r, enabled: c.enabled, actions: c.actions } : r;
  });
  return assemble(kind, user, server);
}

function storedRules<R>(global: JsonObject | undefined, kind: PushRuleKind, parse: (v: JsonValue) => R | undefined): R[] {
  const list = global?.[kind];
  if (!Array.isArray(list)) return [];
  return list.flatMap((v) => {
    const r = parse(v);
    return r === undefined ? [] : [r];
  });
}

/**
 * The user's effective ruleset.
 * @param userId the owner (fills in the predefined rules' placeholders).
 * @param stored the content of their `m.push_rules` account data, or undefined when unset.
 * @returns the predefined rules, with the user's `enabled`/`actions`, merged with the
 * user-defined rules in priority order. Stored entries that do not parse are ignored.
 */
export function effectivePushRuleset(userId: string, stored: JsonObject | undefined): PushRuleset {
  const predefined = predefinedRuleset(userId);
  if (!stored) return predefined;
  const global = isJsonObject(stored.global) ? stored.global : undefined;
  return {
    override: mergeKind('override', predefined.override, storedRules(global, 'override', parseStoredConditionalRule)),
    content: mergeKind('content', predefined.content, storedRules(global, 'content', parseStoredPatternRule)),
    room: mergeKind('room', predefined.room, storedRules(global, 'room', parseStoredSimpleRule)),
    sender: mergeKind('sender', predefined.sender, storedRules(global, 'sender', parseStoredSimpleRule)),
    underride: mergeKind('underride', predefined.underride, storedRules(global, 'underride', parseStoredConditionalRule)),
  };
}

const actionToJson = (a: PushAction): JsonValue => (typeof a === 'string' ? a : a.value === undefined ? { set_tweak: a.set_tweak } : { set_tweak: a.set_tweak, value: a.value });

const conditionToJson = (c: PushCondition): JsonObject => ({ ...c });

/** A rule as JSON, with the fields of its kind only (as the API returns it). */
export function pushRuleToJson(rule: PushRule): JsonObject {
  const out: JsonObject = { rule_id: rule.rule_id, default: rule.default, enabled: rule.enabled };
  if ('conditions' in rule) out.conditions = rule.conditions.map(conditionToJson);
  if ('pattern' in rule) out.pattern = rule.pattern;
  out.actions = rule.actions.map(actionToJson);
  return out;
}

/** The `m.push_rules` account-data content for a ruleset: `{"global": {kind: [rules]}}`. */
export function pushRulesContent(ruleset: PushRuleset): JsonObject {
  const global: JsonObject = {};
  for (const kind of PUSH_RULE_KINDS) {
    const rules: readonly PushRule[] = ruleset[kind];
    global[kind] = rules.map(pushRuleToJson);
  }
  return { global };
}

/** The ruleset with one kind's rules replaced, or the refusal computing them gave. */
function withKind<K extends PushRuleKind>(ruleset: PushRuleset, kind: K, rules: PushRuleset[K] | PushRuleUpdateResult): PushRuleUpdateResult {
  if ('ok' in rules) return rules;
  return { ok: true, ruleset: { ...ruleset, [kind]: rules } };
}

/** Apply `f` to the rules of one kind, whatever their type. */
function mapKind(ruleset: PushRuleset, kind: PushRuleKind, f: <R extends PushRule>(rules: readonly R[]) => R[] | PushRuleUpdateResult): PushRuleUpdateResult {
  switch (kind) {
    case 'override':
      return withKind(ruleset, kind, f(ruleset.override));
    case 'content':
      return withKind(ruleset, kind, f(ruleset.content));
    case 'room':
      return withKind(ruleset, kind, f(ruleset.room));
    case 'sender':
      return withKind(ruleset, kind, f(ruleset.sender));
    case 'underride':
      return withKind(ruleset, kind, f(ruleset.underride));
  }
}

const notFound = (): PushRuleUpdateResult => ({ ok: false, reason: 'not_found', error: 'The push rule was not found.' });
const invalid = (error: string): PushRuleUpdateResult => ({ ok: false, reason: 'invalid', error });

/**
 * Place a user-defined rule: an existing rule of that ID keeps its `enabled` (it is "updated
 * with the new parameters") and, without `before`/`after`, its place; a new one goes first
 * ("it should be added as the most important user defined rule among rules of the same
 * kind"). `before` wins over `after`: "If both `after` and `before` are provided, the new or
 * updated rule must be the next most important rule with respect to the rule identified by
 * `before`." Neither may name a server-default rule ("It is not possible to add a rule
 * relative to a predefined server rule").
 */
function placeRule<R extends PushRule>(kind: PushRuleKind, rules: readonly R[], rule: R, before?: string, after?: string): R[] | PushRuleUpdateResult {
  const user = rules.filter((r) => !r.default);
  const server = rules.filter((r) => r.default);
  const at = user.findIndex((r) => r.rule_id === rule.rule_id);
  const placed = { ...rule, enabled: at >= 0 ? user[at]!.enabled : true };
  const rest = user.filter((r) => r.rule_id !== rule.rule_id);
  let index = at >= 0 ? at : 0;
  const anchor = before ?? after;
  if (anchor !== undefined) {
    if (anchor.startsWith('.')) return invalid('A rule cannot be placed relative to a server-default rule.');
    const i = rest.findIndex((r) => r.rule_id === anchor);
    if (i < 0) return invalid(`before/after rule not found: ${anchor}`);
    index = before !== undefined ? i : i + 1;
  }
  rest.splice(index, 0, placed);
  return assemble(kind, rest, server);
}

/**
 * Apply one change of the push rules API to a ruleset (pure; the caller stores the result).
 * Server-default rules cannot be created, replaced or deleted (only enabled, disabled and
 * given new actions); user rules can be changed in every way.
 * @returns the new ruleset, or `not_found` for a missing rule and `invalid` for a refused change.
 */
export function applyPushRuleUpdate(ruleset: PushRuleset, update: PushRuleUpdate): PushRuleUpdateResult {
  switch (update.op) {
    case 'put':
      return putRule(ruleset, update.rule, update.before, update.after);
    case 'delete': {
      if (update.rule_id.startsWith('.')) return invalid('Server-default rules cannot be deleted.');
      return mapKind(ruleset, update.kind, (rules) => {
        const rest = rules.filter((r) => r.default || r.rule_id !== update.rule_id);
        return rest.length === rules.length ? notFound() : rest;
      });
    }
    case 'set_enabled':
      return mapKind(ruleset, update.kind, (rules) =>
        rules.some((r) => r.rule_id === update.rule_id) ? rules.map((r) => (r.rule_id === update.rule_id ? { ...r, enabled: update.enabled } : r)) : notFound(),
      );
    case 'set_actions':
      return mapKind(ruleset, update.kind, (rules) =>
        rules.some((r) => r.rule_id === update.rule_id) ? rules.map((r) => (r.rule_id === update.rule_id ? { ...r, actions: update.actions } : r)) : notFound(),
      );
  }
}

/** `placeRule` on the kind the new rule is of (the switch gives each kind its rule type). */
function putRule(ruleset: PushRuleset, n: NewPushRule, before?: string, after?: string): PushRuleUpdateResult {
  switch (n.kind) {
    case 'override':
      return withKind(ruleset, 'override', placeRule('override', ruleset.override, n.rule, before, after));
    case 'underride':
      return withKind(ruleset, 'underride', placeRule('underride', ruleset.underride, n.rule, before, after));
    case 'content':
      return withKind(ruleset, 'content', placeRule('content', ruleset.content, n.rule, before, after));
    case 'room':
      return withKind(ruleset, 'room', placeRule('room', ruleset.room, n.rule, before, after));
    case 'sender':
      return withKind(ruleset, 'sender', placeRule('sender', ruleset.sender, n.rule, before, after));
  }
}
