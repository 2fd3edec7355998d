/**
 * The User object's push rules (spec v1.16, Client-Server API "Push Rules: API"): one change
 * applied to the `m.push_rules` global account data as a single read-modify-write. It runs
 * synchronously inside the object, so two concurrent changes cannot lose each other, and it
 * moves the account-data stream, so /sync carries the new ruleset to every device.
 * https://spec.matrix.org/v1.16/client-server-api/#push-rules-api
 *
 * The rules themselves (merging, placing, what may change) are core/push/ruleset.ts.
 */
import {
  PUSH_RULES_EVENT_TYPE,
  applyPushRuleUpdate,
  effectivePushRuleset,
  pushRulesContent,
  type PushRuleUpdate,
} from '../../core/push/ruleset';
import type { UserResult } from './api';
import type { UserStore } from './store';

/** Global account data is stored under room ID ''. */
const GLOBAL = '';

/**
 * Apply `update` to the user's ruleset and store the whole ruleset again.
 * @param userId the account's user ID (fills in the predefined rules).
 * @returns `{ ok: true }`, or `M_NOT_FOUND` / `M_INVALID_PARAM` with nothing written.
 */
export function updatePushRules(store: UserStore, userId: string, update: PushRuleUpdate): UserResult {
  const current = effectivePushRuleset(userId, store.getAccountData(GLOBAL, PUSH_RULES_EVENT_TYPE));
  const result = applyPushRuleUpdate(current, update);
  if (!result.ok) return { ok: false, errcode: result.reason === 'not_found' ? 'M_NOT_FOUND' : 'M_INVALID_PARAM', error: result.error };
  store.setAccountData(GLOBAL, PUSH_RULES_EVENT_TYPE, pushRulesContent(result.ruleset));
  return { ok: true };
}
