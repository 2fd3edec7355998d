/**
 * User-defined push rules (core/push/parse.ts, core/push/ruleset.ts): parsing request bodies,
 * merging the stored `m.push_rules` with the predefined rules, and the API's changes.
 */
import { describe, expect, it } from 'vitest';
import { checkUserRuleId, newUserPushRule, parsePushActions, parsePushCondition, parsePushConditions } from '../../core/push/parse';
import { predefinedRuleset } from '../../core/push/predefined-rules';
import { applyPushRuleUpdate, effectivePushRuleset, pushRulesContent, type PushRuleUpdate } from '../../core/push/ruleset';
import { findPushRule, type PushRule, type PushRuleset } from '../../core/push/rules';

const ALICE = '@alice:example.org';
const ids = (rules: readonly PushRule[]) => rules.map((r) => r.rule_id);

function apply(ruleset: PushRuleset, ...updates: PushRuleUpdate[]): PushRuleset {
  let out = ruleset;
  for (const u of updates) {
    const r = applyPushRuleUpdate(out, u);
    if (!r.ok) throw new Error(`${u.op}: ${r.reason} ${r.error}`);
    out = r.ruleset;
  }
  return out;
}

const put = (kind: 'override' | 'underride', ruleId: string, pos: { before?: string; after?: string } = {}): PushRuleUpdate => ({
  op: 'put',
  rule: newUserPushRule(kind, ruleId, { conditions: [{ kind: 'event_match', key: 'type', pattern: ruleId }], actions: ['notify'] }),
  ...pos,
});

describe('parsing push rule bodies', () => {
  it('keeps notify and tweaks, drops the historical actions, refuses anything else', () => {
    expect(parsePushActions(['notify', 'dont_notify', 'coalesce', { set_tweak: 'sound', value: 'default', extra: 1 }, { set_tweak: 'highlight' }])).toEqual([
      'notify',
      { set_tweak: 'sound', value: 'default' },
      { set_tweak: 'highlight' },
    ]);
    expect(parsePushActions([{ set_tweak: 'custom', value: { any: ['json'] } }])).toEqual([{ set_tweak: 'custom', value: { any: ['json'] } }]);
    expect(parsePushActions([])).toEqual([]);
    for (const bad of [undefined, 'notify', ['notify_loudly'], [{ value: 1 }], [{ set_tweak: 'highlight', value: 'yes' }], [{ set_tweak: 'sound', value: 1 }], [3]]) {
      expect(() => parsePushActions(bad as never), JSON.stringify(bad)).toThrow(TypeError);
    }
  });

  it('checks each known condition kind and keeps unknown kinds as sent', () => {
    expect(parsePushCondition({ kind: 'event_match', key: 'content.body', pattern: 'cake*', extra: true })).toEqual({
      kind: 'event_match', key: 'content.body', pattern: 'cake*',
    });
    expect(parsePushCondition({ kind: 'event_property_is', key: 'content.m\\.mentions.room', value: true })).toMatchObject({ value: true });
    expect(parsePushCondition({ kind: 'event_property_contains', key: 'content.tags', value: null })).toMatchObject({ value: null });
    expect(parsePushCondition({ kind: 'room_member_count', is: '>=3' })).toEqual({ kind: 'room_member_count', is: '>=3' });
    expect(parsePushCondition({ kind: 'contains_display_name' })).toEqual({ kind: 'contains_display_name' });
    expect(parsePushCondition({ kind: 'sender_notification_permission', key: 'room' })).toEqual({ kind: 'sender_notification_permission', key: 'room' });
    expect(parsePushCondition({ kind: 'org.example.future', foo: [1] })).toEqual({ kind: 'org.example.future', foo: [1] });
    const bad = [
      { kind: 'event_match', key: 'type' },
      { kind: 'event_property_is', key: 'a', value: 1.5 },
      { kind: 'event_property_is', key: 'a', value: [1] },
      { kind: 'event_property_contains', key: 'a' },
      { kind: 'room_member_count', is: '=>2' },
      { kind: 'room_member_count', is: 2 },
      { kind: 'sender_notification_permission' },
      { key: 'type' },
      'event_match',
    ];
    for (const c of bad) expect(() => parsePushCondition(c as never), JSON.stringify(c)).toThrow(TypeError);
    expect(parsePushConditions(undefined)).toEqual([]);
    expect(() => parsePushConditions({} as never)).toThrow(TypeError);
  });

  it('refuses rule IDs the spec reserves or forbids, and wrong IDs for room and sender rules', () => {
    for (const id of ['', '.m.rule.master', '.mine', 'a/b', 'a\\b']) expect(() => checkUserRuleId('override', id), id).toThrow(RangeError);
    expect(() => checkUserRuleId('room', 'nocake')).toThrow(RangeError);
    expect(() => checkUserRuleId('sender', '!room:example.org')).toThrow(RangeError);
    expect(() => checkUserRuleId('room', '!room:example.org')).not.toThrow();
    expect(() => checkUserRuleId('sender', '@bob:example.org')).not.toThrow();
  });

  it('builds an enabled rule of the kind, with only the fields of that kind', () => {
    const body = { pattern: 'cake*lie', conditions: [{ kind: 'contains_display_name' }], actions: ['notify'] };
    expect(newUserPushRule('content', 'nocake', body)).toEqual({
      kind: 'content', rule: { rule_id: 'nocake', default: false, enabled: true, pattern: 'cake*lie', actions: ['notify'] },
    });
    expect(newUserPushRule('underride', 'u', body).rule).toEqual({
      rule_id: 'u', default: false, enabled: true, conditions: [{ kind: 'contains_display_name' }], actions: ['notify'],
    });
    expect(newUserPushRule('override', 'o', { actions: [] }).rule).toEqual({ rule_id: 'o', default: false, enabled: true, conditions: [], actions: [] });
    expect(newUserPushRule('room', '!r:example.org', body).rule).toEqual({ rule_id: '!r:example.org', default: false, enabled: true, actions: ['notify'] });
    expect(() => newUserPushRule('content', 'nocake', { actions: ['notify'] })).toThrow(TypeError);
    expect(() => newUserPushRule('override', 'o', { actions: ['notify'], conditions: 'all' })).toThrow(TypeError);
  });
});

describe('the effective ruleset', () => {
  it('is the predefined ruleset when nothing is stored, or nothing usable', () => {
    expect(effectivePushRuleset(ALICE, undefined)).toEqual(predefinedRuleset(ALICE));
    expect(effectivePushRuleset(ALICE, { global: 'x' })).toEqual(predefinedRuleset(ALICE));
    expect(effectivePushRuleset(ALICE, { global: { override: [{ rule_id: 'broken' }, 7] } })).toEqual(predefinedRuleset(ALICE));
  });

  it('round-trips through the account-data content, keeping the user rules and their changes to defaults', () => {
    const changed = apply(
      predefinedRuleset(ALICE),
      put('override', 'mine'),
      { op: 'set_enabled', kind: 'override', rule_id: '.m.rule.master', enabled: true },
      { op: 'set_actions', kind: 'underride', rule_id: '.m.rule.message', actions: [] },
    );
    const content = pushRulesContent(changed);
    expect(Object.keys(content)).toEqual(['global']);
    expect(JSON.parse(JSON.stringify(content))).toEqual(content);
    expect(effectivePushRuleset(ALICE, content)).toEqual(changed);
  });

  it('takes the server-default rules from the server, only enabled and actions from the store', () => {
    const content = pushRulesContent(predefinedRuleset(ALICE));
    const global = content.global as Record<string, Record<string, unknown>[]>;
    // A stale stored copy: a rule the server no longer has, and a default rule with other conditions.
    global.override!.push({ rule_id: '.m.rule.gone', default: true, enabled: true, conditions: [], actions: ['notify'] });
    const message = global.underride!.find((r) => r.rule_id === '.m.rule.message')!;
    message.conditions = [];
    message.enabled = false;
    const merged = effectivePushRuleset(ALICE, content);
    expect(findPushRule(merged, 'override', '.m.rule.gone')).toBeUndefined();
    expect(findPushRule(merged, 'underride', '.m.rule.message')).toEqual({
      ...findPushRule(predefinedRuleset(ALICE), 'underride', '.m.rule.message'),
      enabled: false,
    });
  });
});

describe('changes', () => {
  const base = predefinedRuleset(ALICE);

  it('puts user override rules after .m.rule.master and before the other defaults; new ones first', () => {
    const r = apply(base, put('override', 'one'), put('override', 'two'));
    expect(ids(r.override).slice(0, 4)).toEqual(['.m.rule.master', 'two', 'one', '.m.rule.suppress_notices']);
    const u = apply(base, put('underride', 'low'));
    expect(ids(u.underride)[0]).toBe('low');
  });

  it('places by before and after (before wins), relative to user rules only', () => {
    const r = apply(base, put('override', 'a'), put('override', 'b'), put('override', 'c', { after: 'a' }), put('override', 'd', { before: 'b', after: 'a' }));
    expect(ids(r.override).slice(0, 5)).toEqual(['.m.rule.master', 'd', 'b', 'a', 'c']);
    for (const pos of [{ before: '.m.rule.master' }, { after: '.m.rule.suppress_notices' }, { before: 'missing' }]) {
      const res = applyPushRuleUpdate(r, put('override', 'e', pos));
      expect(res, JSON.stringify(pos)).toMatchObject({ ok: false, reason: 'invalid' });
    }
  });

  it('updates an existing rule in place, keeping whether it is enabled', () => {
    let r = apply(base, put('override', 'a'), put('override', 'b'), { op: 'set_enabled', kind: 'override', rule_id: 'a', enabled: false });
    r = apply(r, { op: 'put', rule: newUserPushRule('override', 'a', { conditions: [], actions: [{ set_tweak: 'highlight' }] }) });
    expect(ids(r.override).slice(0, 3)).toEqual(['.m.rule.master', 'b', 'a']);
    expect(findPushRule(r, 'override', 'a')).toEqual({ rule_id: 'a', default: false, enabled: false, conditions: [], actions: [{ set_tweak: 'highlight' }] });
    // Moving it with `after`.
    r = apply(r, put('override', 'b', { after: 'a' }));
    expect(ids(r.override).slice(0, 3)).toEqual(['.m.rule.master', 'a', 'b']);
  });

  it('keeps the same rule ID apart in different kinds', () => {
    const r = apply(base, put('override', 'x'), put('underride', 'x'), { op: 'delete', kind: 'underride', rule_id: 'x' });
    expect(findPushRule(r, 'override', 'x')).toBeDefined();
    expect(findPushRule(r, 'underride', 'x')).toBeUndefined();
  });

  it('deletes user rules only; missing rules are not_found', () => {
    const r = apply(base, put('override', 'a'));
    expect(ids(apply(r, { op: 'delete', kind: 'override', rule_id: 'a' }).override)).toEqual(ids(base.override));
    expect(applyPushRuleUpdate(r, { op: 'delete', kind: 'override', rule_id: '.m.rule.master' })).toMatchObject({ ok: false, reason: 'invalid' });
    expect(applyPushRuleUpdate(r, { op: 'delete', kind: 'override', rule_id: 'b' })).toMatchObject({ ok: false, reason: 'not_found' });
    expect(applyPushRuleUpdate(r, { op: 'delete', kind: 'underride', rule_id: 'a' })).toMatchObject({ ok: false, reason: 'not_found' });
  });

  it('sets enabled and actions of default and user rules, in their kind only', () => {
    const r = apply(
      base,
      { op: 'set_enabled', kind: 'override', rule_id: '.m.rule.master', enabled: true },
      { op: 'set_actions', kind: 'content', rule_id: '.m.rule.contains_user_name', actions: ['notify'] },
    );
    expect(findPushRule(r, 'override', '.m.rule.master')?.enabled).toBe(true);
    expect(findPushRule(r, 'content', '.m.rule.contains_user_name')).toMatchObject({ actions: ['notify'], pattern: 'alice', default: true });
    expect(applyPushRuleUpdate(r, { op: 'set_enabled', kind: 'underride', rule_id: '.m.rule.master', enabled: false })).toMatchObject({ ok: false, reason: 'not_found' });
    expect(applyPushRuleUpdate(r, { op: 'set_actions', kind: 'room', rule_id: '!r:example.org', actions: [] })).toMatchObject({ ok: false, reason: 'not_found' });
  });
});
