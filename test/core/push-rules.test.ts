/** The predefined push rules of spec v1.16: structure, order, and the per-user substitution. */
import { describe, expect, it } from 'vitest';
import { LOCALPART_PLACEHOLDER, PREDEFINED_RULES, USER_ID_PLACEHOLDER, predefinedRuleset } from '../../core/push/predefined-rules';
import { PUSH_RULE_KINDS, findPushRule, isPushRuleKind, type PushRule } from '../../core/push/rules';

const ids = (rules: readonly PushRule[]) => rules.map((r) => r.rule_id);
const ALICE = '@alice:example.org';

describe('predefined push rules', () => {
  it('lists the kinds in evaluation order', () => {
    expect(PUSH_RULE_KINDS).toEqual(['override', 'content', 'room', 'sender', 'underride']);
    expect(Object.keys(predefinedRuleset(ALICE))).toEqual([...PUSH_RULE_KINDS]);
    expect(isPushRuleKind('underride')).toBe(true);
    expect(isPushRuleKind('global')).toBe(false);
  });

  it('has every rule of the spec, in the spec order', () => {
    expect(ids(PREDEFINED_RULES.override)).toEqual([
      '.m.rule.master',
      '.m.rule.suppress_notices',
      '.m.rule.invite_for_me',
      '.m.rule.member_event',
      '.m.rule.is_user_mention',
      '.m.rule.contains_display_name',
      '.m.rule.is_room_mention',
      '.m.rule.roomnotif',
      '.m.rule.tombstone',
      '.m.rule.reaction',
      '.m.rule.room.server_acl',
      '.m.rule.suppress_edits',
    ]);
    expect(ids(PREDEFINED_RULES.content)).toEqual(['.m.rule.contains_user_name']);
    expect(PREDEFINED_RULES.room).toEqual([]);
    expect(PREDEFINED_RULES.sender).toEqual([]);
    expect(ids(PREDEFINED_RULES.underride)).toEqual([
      '.m.rule.call',
      '.m.rule.encrypted_room_one_to_one',
      '.m.rule.room_one_to_one',
      '.m.rule.message',
      '.m.rule.encrypted',
    ]);
  });

  it('marks every rule as a default with a dotted ID; only the master rule is disabled', () => {
    const all = PUSH_RULE_KINDS.flatMap((k) => [...PREDEFINED_RULES[k]]);
    expect(all).toHaveLength(18);
    for (const r of all) {
      expect(r.default, r.rule_id).toBe(true);
      expect(r.rule_id.startsWith('.'), r.rule_id).toBe(true);
      expect(r.enabled, r.rule_id).toBe(r.rule_id !== '.m.rule.master');
    }
    expect(new Set(all.map((r) => r.rule_id)).size).toBe(all.length);
  });

  it('gives conditions only to override and underride rules, a pattern only to content rules', () => {
    for (const r of [...PREDEFINED_RULES.override, ...PREDEFINED_RULES.underride]) {
      expect(r, r.rule_id).toHaveProperty('conditions');
      expect(r, r.rule_id).not.toHaveProperty('pattern');
    }
    for (const r of PREDEFINED_RULES.content) {
      expect(r).toHaveProperty('pattern');
      expect(r).not.toHaveProperty('conditions');
    }
  });

  it('matches the spec definitions of a few rules exactly', () => {
    const rules = predefinedRuleset(ALICE);
    expect(findPushRule(rules, 'override', '.m.rule.master')).toEqual({
      rule_id: '.m.rule.master', default: true, enabled: false, conditions: [], actions: [],
    });
    expect(findPushRule(rules, 'override', '.m.rule.is_room_mention')).toEqual({
      rule_id: '.m.rule.is_room_mention',
      default: true,
      enabled: true,
      conditions: [
        { kind: 'event_property_is', key: 'content.m\\.mentions.room', value: true },
        { kind: 'sender_notification_permission', key: 'room' },
      ],
      actions: ['notify', { set_tweak: 'highlight' }],
    });
    expect(findPushRule(rules, 'override', '.m.rule.tombstone')).toMatchObject({
      conditions: [
        { kind: 'event_match', key: 'type', pattern: 'm.room.tombstone' },
        { kind: 'event_match', key: 'state_key', pattern: '' },
      ],
      actions: ['notify', { set_tweak: 'highlight' }],
    });
    expect(findPushRule(rules, 'override', '.m.rule.suppress_edits')).toMatchObject({
      conditions: [{ kind: 'event_property_is', key: 'content.m\\.relates_to.rel_type', value: 'm.replace' }],
      actions: [],
    });
    expect(findPushRule(rules, 'underride', '.m.rule.call')).toMatchObject({
      conditions: [{ kind: 'event_match', key: 'type', pattern: 'm.call.invite' }],
      actions: ['notify', { set_tweak: 'sound', value: 'ring' }],
    });
    expect(findPushRule(rules, 'underride', '.m.rule.encrypted_room_one_to_one')).toMatchObject({
      conditions: [
        { kind: 'room_member_count', is: '2' },
        { kind: 'event_match', key: 'type', pattern: 'm.room.encrypted' },
      ],
      actions: ['notify', { set_tweak: 'sound', value: 'default' }],
    });
    expect(findPushRule(rules, 'underride', '.m.rule.message')).toMatchObject({ actions: ['notify'] });
  });

  it('is frozen', () => {
    expect(Object.isFrozen(PREDEFINED_RULES.override[0])).toBe(true);
    expect(Object.isFrozen(PREDEFINED_RULES.underride)).toBe(true);
  });
});

describe('predefinedRuleset(userId)', () => {
  const rules = predefinedRuleset(ALICE);

  it('puts the user ID into .m.rule.invite_for_me and .m.rule.is_user_mention', () => {
    expect(findPushRule(rules, 'override', '.m.rule.invite_for_me')).toEqual({
      rule_id: '.m.rule.invite_for_me',
      default: true,
      enabled: true,
      conditions: [
        { kind: 'event_match', key: 'type', pattern: 'm.room.member' },
        { kind: 'event_match', key: 'content.membership', pattern: 'invite' },
        { kind: 'event_match', key: 'state_key', pattern: ALICE },
      ],
      actions: ['notify', { set_tweak: 'sound', value: 'default' }],
    });
    expect(findPushRule(rules, 'override', '.m.rule.is_user_mention')).toEqual({
      rule_id: '.m.rule.is_user_mention',
      default: true,
      enabled: true,
      conditions: [{ kind: 'event_property_contains', key: 'content.m\\.mentions.user_ids', value: ALICE }],
      actions: ['notify', { set_tweak: 'sound', value: 'default' }, { set_tweak: 'highlight' }],
    });
  });

  it('puts the localpart into .m.rule.contains_user_name', () => {
    expect(rules.content).toEqual([
      {
        rule_id: '.m.rule.contains_user_name',
        default: true,
        enabled: true,
        pattern: 'alice',
        actions: ['notify', { set_tweak: 'sound', value: 'default' }, { set_tweak: 'highlight' }],
      },
    ]);
    expect(findPushRule(predefinedRuleset('@bob.smith:example.com:8448'), 'content', '.m.rule.contains_user_name')).toMatchObject({
      pattern: 'bob.smith',
    });
  });

  it('leaves no placeholder behind and changes nothing else', () => {
    const text = JSON.stringify(rules);
    expect(text).not.toContain(USER_ID_PLACEHOLDER);
    expect(text).not.toContain(LOCALPART_PLACEHOLDER);
    const back = text.replaceAll(JSON.stringify(ALICE), JSON.stringify(USER_ID_PLACEHOLDER)).replaceAll('"alice"', JSON.stringify(LOCALPART_PLACEHOLDER));
    expect(JSON.parse(back)).toEqual(PREDEFINED_RULES);
  });

  it('does not touch the shared templates', () => {
    predefinedRuleset('@carol:example.net');
    expect(JSON.stringify(PREDEFINED_RULES)).toContain(USER_ID_PLACEHOLDER);
    expect(JSON.stringify(predefinedRuleset(ALICE))).toBe(JSON.stringify(rules));
  });

  it('rejects an invalid user ID', () => {
    expect(() => predefinedRuleset('alice')).toThrow(TypeError);
    expect(() => predefinedRuleset('@:example.org')).toThrow(TypeError);
  });

  it('finds rules by kind and ID only', () => {
    expect(findPushRule(rules, 'override', '.m.rule.message')).toBeUndefined();
    expect(findPushRule(rules, 'underride', '.m.rule.message')?.rule_id).toBe('.m.rule.message');
    expect(findPushRule(rules, 'room', '!room:example.org')).toBeUndefined();
  });
});
