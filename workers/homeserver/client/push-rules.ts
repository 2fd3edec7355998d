/**
 * @module Push rules (spec v1.16, Client-Server API "Push Rules: API"):
 * `GET /_matrix/client/v3/pushrules/`, `GET /_matrix/client/v3/pushrules/global/`,
 * `GET`/`PUT`/`DELETE /_matrix/client/v3/pushrules/global/{kind}/{ruleId}` and
 * `GET`/`PUT` of its `/enabled` and `/actions`.
 * https://spec.matrix.org/v1.16/client-server-api/#push-rules-api
 *
 * The user's ruleset is the global account data `m.push_rules` (`{"global": Ruleset}`), as
 * Synapse keeps it and as clients read it from /sync; the account-data API refuses to write it
 * (account-data.ts), so only this API changes it, each change one read-modify-write in the
 * user's object (durable-objects/user/push-rules.ts). Reads merge it with the predefined rules
 * (core/push/ruleset.ts), so a user who never changed anything sees the predefined ruleset,
 * and /sync does the same (`withPushRules`): an initial sync always carries `m.push_rules`.
 *
 * Requests are checked here before any call: the kind, the rule ID (no leading ".", no "/" or
 * "\\"; a room or user ID for `room`/`sender` rules) and the body (`actions`, `conditions`,
 * `pattern`; core/push/parse.ts).
 */
import { Hono, type Context } from 'hono';
import type { JsonObject } from '../../../core/canonical-json';
import { newUserPushRule, parsePushActions, type NewPushRule } from '../../../core/push/parse';
import { predefinedRuleset } from '../../../core/push/predefined-rules';
import { PUSH_RULES_EVENT_TYPE, effectivePushRuleset, pushRulesContent, type PushRuleUpdate } from '../../../core/push/ruleset';
import { findPushRule, isPushRuleKind, type PushRule, type PushRuleKind, type PushRuleset } from '../../../core/push/rules';
import { userApi, type AccountDataEntry } from '../../../durable-objects/user/api';
import { requireAccessToken, type Auth } from '../../shared/auth';
import { optionalBoolean, readJsonBody } from '../../shared/body';
import { MatrixError, matrixErrorOf } from '../../shared/errors';
import type { HomeserverEnv } from '../env';

type AuthedContext = Context<HomeserverEnv & { Variables: { auth: Auth } }>;

/** The spec's `{kind}` is an enum of the five kinds; anything else is a bad parameter, not a missing rule. */
function kindOf(c: AuthedContext): PushRuleKind {
  const kind = c.req.param('kind') ?? '';
  if (!isPushRuleKind(kind)) throw new MatrixError(400, 'M_INVALID_PARAM', `Unknown push rule kind "${kind}".`);
  return kind;
}

/** The caller's ruleset: the predefined rules merged with what they stored. */
async function rulesetOf(c: AuthedContext): Promise<PushRuleset> {
  const { userId } = c.var.auth;
  return effectivePushRuleset(userId, await userApi(c.env.USER, userId).getAccountData(null, PUSH_RULES_EVENT_TYPE));
}

/** The rule named by the `{kind}`/`{ruleId}` path, or 404: "The push rule does not exist." */
async function ruleOf(c: AuthedContext): Promise<PushRule> {
  const kind = kindOf(c);
  const rule = findPushRule(await rulesetOf(c), kind, c.req.param('ruleId') ?? '');
  if (!rule) throw new MatrixError(404, 'M_NOT_FOUND', 'Unknown push rule.');
  return rule;
}

/** Run a core parser on request input: a malformed body is `M_BAD_JSON`, a refused rule ID `M_INVALID_PARAM`. */
function parsed<T>(parse: () => T): T {
  try {
    return parse();
  } catch (e) {
    if (e instanceof TypeError) throw new MatrixError(400, 'M_BAD_JSON', e.message);
    if (e instanceof RangeError) throw new MatrixError(400, 'M_INVALID_PARAM', e.message);
    throw e;
  }
}

function requireActions(body: JsonObject): void {
  if (body.actions === undefined) throw new MatrixError(400, 'M_MISSING_PARAM', '"actions" is required.');
}

async function update(c: AuthedContext, change: PushRuleUpdate): Promise<Response> {
  const result = await userApi(c.env.USER, c.var.auth.userId).performPushRuleUpdate(change);
  if (!result.ok) throw matrixErrorOf(result);
  return c.json({});
}

/**
 * The global account data for a /sync, with `m.push_rules` as the merged ruleset: added on an
 * initial sync when the user never changed a rule (clients such as matrix-js-sdk read their
 * rules only from there), and brought up to date with the server's predefined rules otherwise.
 */
export function withPushRules(userId: string, global: readonly AccountDataEntry[], initial: boolean): AccountDataEntry[] {
  if (!global.some((e) => e.type === PUSH_RULES_EVENT_TYPE)) {
    return initial ? [...global, { room_id: null, type: PUSH_RULES_EVENT_TYPE, content: pushRulesContent(predefinedRuleset(userId)) }] : [...global];
  }
  return global.map((e) => (e.type === PUSH_RULES_EVENT_TYPE ? { ...e, content: pushRulesContent(effectivePushRuleset(userId, e.content)) } : e));
}

const RULE = '/v3/pushrules/global/:kind/:ruleId';

export const pushRules = new Hono<HomeserverEnv>()
  // "Currently the only push ruleset defined is `global`."
  .get('/v3/pushrules/', requireAccessToken(), async (c) => c.json({ global: await rulesetOf(c) }))

  .get('/v3/pushrules/global/', requireAccessToken(), async (c) => c.json(await rulesetOf(c)))

  .get(RULE, requireAccessToken(), async (c) => c.json(await ruleOf(c)))

  .get(`${RULE}/enabled`, requireAccessToken(), async (c) => c.json({ enabled: (await ruleOf(c)).enabled }))

  .get(`${RULE}/actions`, requireAccessToken(), async (c) => c.json({ actions: (await ruleOf(c)).actions }))

  // Spec: "If a rule with the same `rule_id` already exists among rules of the same kind, it is
  // updated with the new parameters, otherwise a new rule is created."
  .put(RULE, requireAccessToken(), async (c) => {
    const kind = kindOf(c);
    const body = await readJsonBody(c);
    requireActions(body);
    const rule: NewPushRule = parsed(() => newUserPushRule(kind, c.req.param('ruleId'), body));
    const before = c.req.query('before');
    const after = c.req.query('after');
    return update(c, { op: 'put', rule, ...(before !== undefined ? { before } : {}), ...(after !== undefined ? { after } : {}) });
  })

  // Server-default rules cannot be deleted (400, from the object); a missing user rule is 404.
  .delete(RULE, requireAccessToken(), async (c) => update(c, { op: 'delete', kind: kindOf(c), rule_id: c.req.param('ruleId') }))

  // Both apply to server-default rules too: the user's choice is stored over the default.
  .put(`${RULE}/enabled`, requireAccessToken(), async (c) => {
    const kind = kindOf(c);
    const enabled = optionalBoolean(await readJsonBody(c), 'enabled');
    if (enabled === undefined) throw new MatrixError(400, 'M_MISSING_PARAM', '"enabled" is required.');
    return update(c, { op: 'set_enabled', kind, rule_id: c.req.param('ruleId'), enabled });
  })

  .put(`${RULE}/actions`, requireAccessToken(), async (c) => {
    const kind = kindOf(c);
    const body = await readJsonBody(c);
    requireActions(body);
    const actions = parsed(() => parsePushActions(body.actions));
    return update(c, { op: 'set_actions', kind, rule_id: c.req.param('ruleId'), actions });
  });
