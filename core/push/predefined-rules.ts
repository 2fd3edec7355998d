/**
 * @module The predefined ("server-default") push rules of spec v1.16, as data.
 * https://spec.matrix.org/v1.16/client-server-api/#predefined-rules
 *
 * `PREDEFINED_RULES` lists every rule exactly as the spec's "Definition" blocks do, in the
 * spec's order, with the spec's own placeholders for the per-user parts. `predefinedRuleset()`
 * fills those in for one user. Nothing here evaluates rules against events.
 *
 * > Homeservers can specify "server-default rules". They operate at a lower priority than
 * > "user-defined rules", except for the `.m.rule.master` rule which has always a higher
 * > priority than any other rule. The `rule_id` for all server-default rules MUST start with a
 * > dot (".") to identify them as "server-default".
 *
 * So when user-defined rules arrive, `.m.rule.master` stays first in `override`, the user's
 * override rules come next, then the other server-default overrides; likewise user rules go
 * before the server-default rules of every other kind.
 *
 * Three rules are deprecated since v1.7 (`.m.rule.contains_display_name`, `.m.rule.roomnotif`,
 * `.m.rule.contains_user_name`): the spec keeps them `enabled: true` and says they "should only
 * be enabled if the event does not have an `m.mentions` property", which is a condition on
 * evaluation, not on the listed rule, so they are listed enabled.
 */
import { localpartOf, parseUserId } from '../ids';
import { isKnownCondition, type ConditionalPushRule, type PatternPushRule, type PushCondition, type PushRuleset } from './rules';

/** The spec's placeholder for the user's own Matrix ID (in `.m.rule.invite_for_me` and `.m.rule.is_user_mention`). */
export const USER_ID_PLACEHOLDER = "[the user's Matrix ID]";
/** The spec's placeholder for the user's localpart (in `.m.rule.contains_user_name`). */
export const LOCALPART_PLACEHOLDER = "[the local part of the user's Matrix ID]";

const SOUND_DEFAULT = { set_tweak: 'sound', value: 'default' } as const;
// > If a `highlight` tweak is given with no value, its value is defined to be `true`.
const HIGHLIGHT = { set_tweak: 'highlight' } as const;

/** Default override rules, in the spec's order. */
const OVERRIDE: readonly ConditionalPushRule[] = [
  { rule_id: '.m.rule.master', default: true, enabled: false, conditions: [], actions: [] },
  {
    rule_id: '.m.rule.suppress_notices',
    default: true,
    enabled: true,
    conditions: [{ kind: 'event_match', key: 'content.msgtype', pattern: 'm.notice' }],
    actions: [],
  },
  {
    rule_id: '.m.rule.invite_for_me',
    default: true,
    enabled: true,
    conditions: [
      { kind: 'event_match', key: 'type', pattern: 'm.room.member' },
      { kind: 'event_match', key: 'content.membership', pattern: 'invite' },
      { kind: 'event_match', key: 'state_key', pattern: USER_ID_PLACEHOLDER },
    ],
    actions: ['notify', SOUND_DEFAULT],
  },
  {
    rule_id: '.m.rule.member_event',
    default: true,
    enabled: true,
    conditions: [{ kind: 'event_match', key: 'type', pattern: 'm.room.member' }],
    actions: [],
  },
  {
    rule_id: '.m.rule.is_user_mention',
    default: true,
    enabled: true,
    // The key is the JSON string "content.m\\.mentions.user_ids": an escaped dot inside a path segment.
    conditions: [{ kind: 'event_property_contains', key: 'content.m\\.mentions.user_ids', value: USER_ID_PLACEHOLDER }],
    actions: ['notify', SOUND_DEFAULT, HIGHLIGHT],
  },
  {
    rule_id: '.m.rule.contains_display_name',
    default: true,
    enabled: true,
    conditions: [{ kind: 'contains_display_name' }],
    actions: ['notify', SOUND_DEFAULT, HIGHLIGHT],
  },
  {
    rule_id: '.m.rule.is_room_mention',
    default: true,
    enabled: true,
    conditions: [
      { kind: 'event_property_is', key: 'content.m\\.mentions.room', value: true },
      { kind: 'sender_notification_permission', key: 'room' },
    ],
    actions: ['notify', HIGHLIGHT],
  },
  {
    rule_id: '.m.rule.roomnotif',
    default: true,
    enabled: true,
    conditions: [
      { kind: 'event_match', key: 'content.body', pattern: '@room' },
      { kind: 'sender_notification_permission', key: 'room' },
    ],
    actions: ['notify', HIGHLIGHT],
  },
  {
    rule_id: '.m.rule.tombstone',
    default: true,
    enabled: true,
    conditions: [
      { kind: 'event_match', key: 'type', pattern: 'm.room.tombstone' },
      { kind: 'event_match', key: 'state_key', pattern: '' },
    ],
    actions: ['notify', HIGHLIGHT],
  },
  {
    rule_id: '.m.rule.reaction',
    default: true,
    enabled: true,
    conditions: [{ kind: 'event_match', key: 'type', pattern: 'm.reaction' }],
    actions: [],
  },
  {
    // The spec's heading and definition both spell this ID `.m.rule.room.server_acl`.
    rule_id: '.m.rule.room.server_acl',
    default: true,
    enabled: true,
    conditions: [
      { kind: 'event_match', key: 'type', pattern: 'm.room.server_acl' },
      { kind: 'event_match', key: 'state_key', pattern: '' },
    ],
    actions: [],
  },
  {
    rule_id: '.m.rule.suppress_edits',
    default: true,
    enabled: true,
    conditions: [{ kind: 'event_property_is', key: 'content.m\\.relates_to.rel_type', value: 'm.replace' }],
    actions: [],
  },
];

/** Default content rules. */
const CONTENT: readonly PatternPushRule[] = [
  {
    rule_id: '.m.rule.contains_user_name',
    default: true,
    enabled: true,
    pattern: LOCALPART_PLACEHOLDER,
    actions: ['notify', SOUND_DEFAULT, HIGHLIGHT],
  },
];

/** Default underride rules, in the spec's order. */
const UNDERRIDE: readonly ConditionalPushRule[] = [
  {
    rule_id: '.m.rule.call',
    default: true,
    enabled: true,
    conditions: [{ kind: 'event_match', key: 'type', pattern: 'm.call.invite' }],
    actions: ['notify', { set_tweak: 'sound', value: 'ring' }],
  },
  {
    rule_id: '.m.rule.encrypted_room_one_to_one',
    default: true,
    enabled: true,
    conditions: [
      { kind: 'room_member_count', is: '2' },
      { kind: 'event_match', key: 'type', pattern: 'm.room.encrypted' },
    ],
    actions: ['notify', SOUND_DEFAULT],
  },
  {
    rule_id: '.m.rule.room_one_to_one',
    default: true,
    enabled: true,
    conditions: [
      { kind: 'room_member_count', is: '2' },
      { kind: 'event_match', key: 'type', pattern: 'm.room.message' },
    ],
    actions: ['notify', SOUND_DEFAULT],
  },
  {
    rule_id: '.m.rule.message',
    default: true,
    enabled: true,
    conditions: [{ kind: 'event_match', key: 'type', pattern: 'm.room.message' }],
    actions: ['notify'],
  },
  {
    rule_id: '.m.rule.encrypted',
    default: true,
    enabled: true,
    conditions: [{ kind: 'event_match', key: 'type', pattern: 'm.room.encrypted' }],
    actions: ['notify'],
  },
];

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/**
 * The predefined rules with the spec's placeholders still in place. The spec defines no
 * server-default `room` or `sender` rules.
 */
export const PREDEFINED_RULES: PushRuleset = deepFreeze({ override: OVERRIDE, content: CONTENT, room: [], sender: [], underride: UNDERRIDE });

/**
 * The predefined ruleset of one user: the spec's placeholders replaced by the user's Matrix ID
 * and its localpart. Rules without a placeholder are shared with `PREDEFINED_RULES` (frozen).
 *
 * The localpart goes into a glob pattern unescaped, as the spec's definition does; the glob
 * metacharacters `*` and `?` cannot occur in a localpart of the current grammar (only in
 * historical ones, which no local account has).
 * @param userId the owner of the ruleset, `@localpart:server`.
 * @returns the user's server-default ruleset, kinds in evaluation order.
 * @throws TypeError when `userId` is not a valid user ID.
 */
export function predefinedRuleset(userId: string): PushRuleset {
  const localpart = localpartOf(parseUserId(userId));
  const fill = (s: string): string => (s === USER_ID_PLACEHOLDER ? userId : s === LOCALPART_PLACEHOLDER ? localpart : s);
  const fillCondition = (c: PushCondition): PushCondition => {
    if (!isKnownCondition(c)) return c;
    switch (c.kind) {
      case 'event_match':
        return c.pattern === fill(c.pattern) ? c : { ...c, pattern: fill(c.pattern) };
      case 'event_property_is':
      case 'event_property_contains':
        return typeof c.value === 'string' && c.value !== fill(c.value) ? { ...c, value: fill(c.value) } : c;
      default:
        return c;
    }
  };
  const fillConditional = (r: ConditionalPushRule): ConditionalPushRule => {
    const conditions = r.conditions.map(fillCondition);
    return conditions.every((c, i) => c === r.conditions[i]) ? r : { ...r, conditions };
  };
  const fillPattern = (r: PatternPushRule): PatternPushRule => (r.pattern === fill(r.pattern) ? r : { ...r, pattern: fill(r.pattern) });
  return {
    override: PREDEFINED_RULES.override.map(fillConditional),
    content: PREDEFINED_RULES.content.map(fillPattern),
    room: [],
    sender: [],
    underride: PREDEFINED_RULES.underride.map(fillConditional),
  };
}
